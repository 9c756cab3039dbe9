"""Speed of the compiled hls4ml emulation of the quantized reduced encoder (SPEC 4-5).

    .venv/bin/python bench/emulate.py --io-type io_parallel --n 400 --processes 2 --per-group \
        --cflags="-O1 -fPIC"

Builds the QKeras encoder (random weights: speed does not depend on them), converts it with
hls4ml (bit_exact; with --per-group the grouped convs as one conv per group, see
jetad.fpga.grouped), compiles with g++ (--cflags replaces hls4ml's "-O3 -fPIC"), emulates
`--n` random images in batches over
`--processes` worker processes, and prints images/s, the projected time for 50,000 images
(the thesis' C simulation took 31 h 53 min) and max |hls - qkeras|.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--io-type", default="io_stream", choices=("io_parallel", "io_stream"))
    ap.add_argument("--strategy", default="Latency", choices=("Latency", "Resource"))
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--out-dir", default=None)
    ap.add_argument("--target", type=int, default=50_000)
    ap.add_argument("--per-group", action="store_true", help="one conv per group (jetad hls)")
    ap.add_argument("--cflags", default=None, help='compiler flags, e.g. "-O1 -fPIC"')
    ap.add_argument("--cxx", default=None, help="compiler (default g++; e.g. clang++)")
    args = ap.parse_args()

    from jetad.fpga import grouped, hls
    from jetad.quant import encoder

    model = encoder.build(quantized=True)
    rng = np.random.default_rng(0)
    x = rng.random((args.n, 40, 40, 1), dtype=np.float32)
    x /= x.sum(axis=(1, 2, 3), keepdims=True)
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="jetad_emulate_")
    settings = hls.HLSSettings(io_type=args.io_type, strategy=args.strategy)
    t0 = time.time()
    export = grouped.per_group(model) if args.per_group else model
    hls_model = hls.convert(export, out_dir, settings, "qencoder")
    hls.write_project(hls_model, args.cflags, args.cxx)
    lib = hls.build_library(hls_model)
    t1 = time.time()
    comp = hls.Compiled.of(hls_model, lib)
    got = hls.emulate(comp, x, processes=args.processes, batch=args.batch)
    t2 = time.time()
    diff = hls.max_abs_diff(got, hls.keras_outputs(model, x))
    rate = args.n / (t2 - t1)
    print(json.dumps({
        "io_type": args.io_type, "strategy": args.strategy, "processes": args.processes,
        "per_group": args.per_group, "cflags": args.cflags or "-O3 -fPIC (hls4ml)", "cxx": args.cxx or "g++",
        "n": args.n, "compile_s": round(t1 - t0, 1), "emulate_s": round(t2 - t1, 2),
        "images_per_s": round(rate, 2), f"projected_s_{args.target}": round(args.target / rate, 1),
        "max_abs_diff_vs_qkeras": diff, "project": out_dir,
    }, indent=1))


if __name__ == "__main__":
    main()
