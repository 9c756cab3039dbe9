"""Speed of the compiled hls4ml emulation of the quantized reduced encoder ([Valente 2022] Table 3.2;
[hls4ml]).

    .venv/bin/python bench/emulate.py --n 2000 --ref-n 200 --processes 2

Builds the QKeras encoder (random weights: speed does not depend on them), converts it with
hls4ml (bit_exact; grouped convs as one conv per group unless --no-per-group, see
jetad.fpga.hls4ml.grouped), writes the project twice and compiles it (g++, --cflags) once with jetad's
integer C-simulation kernels (`hls.csim: integer`, jetad.fpga.hls4ml.csim) and once with hls4ml's
ap_fixed loops as written (`hls.csim: ap_fixed`, the reference). Both emulate the same random
images in batches over --processes worker processes (the reference only the first --ref-n, it
is ~8x slower). Prints images/s of each, their ratio, the projected time for 50,000 images (the
thesis' C simulation took 31 h 53 min; the target here is under 5 minutes on 2 cores),
whether the two agree bit for bit, and max |hls - qkeras|. --ref-n 0 skips the reference.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def build(model, out_dir, settings, csim, args):
    from jetad.fpga.hls4ml import emulate, project
    from jetad.fpga.hls4ml.build import build_library

    t0 = time.time()
    hls_model = project.convert(model, out_dir, settings, "qencoder")
    project.write_project(hls_model, args.cflags, args.cxx, csim)
    lib = build_library(hls_model)
    return emulate.Compiled.of(hls_model, lib), time.time() - t0


def run(comp, x, args):
    from jetad.fpga.hls4ml import emulate

    t0 = time.time()
    got = emulate.emulate(comp, x, processes=args.processes, batch=args.batch)
    return got, len(x) / (time.time() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--io-type", default="io_parallel", choices=("io_parallel", "io_stream"))
    ap.add_argument("--strategy", default="Latency", choices=("Latency", "Resource"))
    ap.add_argument("--n", type=int, default=2000, help="images for jetad's integer kernels")
    ap.add_argument("--ref-n", type=int, default=200, help="of those, for hls4ml's ap_fixed C++")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--out-dir", default=None)
    ap.add_argument("--target", type=int, default=50_000)
    ap.add_argument("--no-per-group", action="store_true", help="grouped convs as block-diagonal")
    ap.add_argument("--cflags", default="-O2 -fPIC", help="compiler flags (params: hls.cflags)")
    ap.add_argument("--cxx", default=None, help="compiler (default g++; e.g. clang++)")
    ap.add_argument("--params", default=None, help="parameter file (default: params.yaml)")
    args = ap.parse_args()

    from jetad.fpga.hls4ml import emulate, grouped
    from jetad.models import reduced_encoder as encoder
    from jetad.params import load

    params = load(args.params)
    model = encoder.build(encoder.EncoderConfig.from_params(
        params.qat, params.pixelize.npix, params.train.latent_cont, params.train.latent_disc),
        quantized=True)
    rng = np.random.default_rng(0)
    x = rng.random((args.n, 40, 40, 1), dtype=np.float32)
    x /= x.sum(axis=(1, 2, 3), keepdims=True)
    out = Path(args.out_dir or tempfile.mkdtemp(prefix="jetad_emulate_"))
    settings = dataclasses.replace(params.hls,
                                   io_type=args.io_type, strategy=args.strategy)
    export = model if args.no_per_group else grouped.per_group(model)

    comp, compile_s = build(export, out / "integer", settings, "integer", args)
    got, rate = run(comp, x, args)
    result = {
        "io_type": args.io_type, "strategy": args.strategy, "processes": args.processes,
        "per_group": not args.no_per_group, "cflags": args.cflags, "cxx": args.cxx or "g++",
        "integer": {"n": args.n, "compile_s": round(compile_s, 1), "images_per_s": round(rate, 1),
                    f"projected_s_{args.target}": round(args.target / rate, 1)},
        "max_abs_diff_vs_qkeras": emulate.max_abs_diff(got, emulate.keras_outputs(model, x)),
        "project": str(out),
    }
    n_ref = min(args.ref_n, args.n)
    if n_ref > 0:
        ref_comp, ref_compile = build(export, out / "ap_fixed", settings, "ap_fixed", args)
        ref, ref_rate = run(ref_comp, x[:n_ref], args)
        result["ap_fixed_hls4ml"] = {
            "n": n_ref, "compile_s": round(ref_compile, 1), "images_per_s": round(ref_rate, 1),
            f"projected_s_{args.target}": round(args.target / ref_rate, 1)}
        result["speedup_integer_vs_ap_fixed"] = round(rate / ref_rate, 2)
        result["bit_identical_on_ref_n"] = all(
            np.array_equal(a[:n_ref], b) for a, b in zip(got, ref, strict=True))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
