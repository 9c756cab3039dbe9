"""`jetad dse`: the jobs of the FPGA design-space scan (jetad.fpga.dse; Snakemake target `dse`).

    jetad dse qat --precision p8_3 --train train.h5 --vae model/jointvae --out qencoder.h5
    jetad dse emulate --precision p8_3 --model qencoder.h5 --test test.h5 --out emulation.json
    jetad dse point --precision p8_3 --io-type io_stream --strategy Resource --reuse-factor 4 \\
        --model qencoder.h5 --emulation emulation.json --project-dir project --out point.json
    jetad dse table --points .../point.json ... --csv dse.csv --md dse.md --figure pareto.pdf
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from jetad import log
from jetad.analysis import encoder_metrics as rq
from jetad.analysis.plots import data_note
from jetad.atomic import atomic_path, write_text
from jetad.data.images import read_background_images, read_images, subsample
from jetad.errors import DataError, JetadError
from jetad.fpga import dse
from jetad.fpga.estimate import design
from jetad.fpga.hls4ml import emulate, grouped, project
from jetad.fpga.hls4ml.build import default_processes
from jetad.inputs import check_quantized_encoder, read_json_object, read_model_meta
from jetad.models import reduced_encoder as encoder
from jetad.models.determinism import setup_tf
from jetad.quant.qat import encoder_config, train_encoder

logger = log.get("jetad.dse")


def run(args, params) -> None:
    {"qat": _qat, "emulate": _emulate, "point": _point, "table": _table}[args.action](args, params)


def _qat(args, params) -> None:
    qp = dse.qat_params(params.qat, args.precision)
    data = read_background_images(args.train)
    read_model_meta(args.vae, "jointvae")
    setup_tf(params.seed)
    # heavy: the JointVAE module imports TensorFlow; it loads after the inputs are checked
    from jetad.models import jointvae

    x = np.asarray(data.images[subsample(len(data.images), qp.max_images, params.seed)],
                   np.float32)
    vae = jointvae.load(args.vae)
    vae.decoder.trainable = qp.train_decoder
    cfg = encoder_config(qp, vae, int(data.images.shape[1]))
    enc, losses = train_encoder(cfg, True, vae, x, qp, params.seed)
    with atomic_path(args.out, suffix=".h5") as tmp:
        enc.save(str(tmp))
    logger.info("QAT <%d,%d> on %d images: loss %.4g; wrote %s", qp.bits, qp.integer, len(x),
                losses["loss"], args.out)


def _emulate(args, params) -> None:
    shape = check_quantized_encoder(args.model)
    test = read_images(args.test, npix=shape[0], expected_by=f"the encoder {args.model} expects")
    model = encoder.load_qmodel(args.model)
    dse.check_precision(model, args.precision, args.model)
    n = params.dse.n_images
    rng = np.random.default_rng(params.seed)
    idx = np.sort(rng.permutation(len(test))[:n]) if n else np.arange(len(test))
    x = np.asarray(test.images[idx], np.float32)[..., None]
    label, process = test.label[idx].astype(int), test.process[idx]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # the project and its library are scratch: the point jobs write the projects that are kept
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.jetad-tmp.") as work:
        got = dse.emulate_encoder(model, x, params.hls, Path(work) / "encoder",
                                  processes=params.hls.processes or default_processes())
    ref = emulate.keras_outputs(model, x)
    eps = params.train.kl_eps
    doc = {"precision": args.precision, "model": str(args.model), "test": str(args.test),
           "n_images": len(x), "configuration": design.config_name(
               dse.EMULATED["io_type"], dse.EMULATED["strategy"], dse.EMULATED["reuse_factor"],
               *dse.parse_precision(args.precision)),
           "max_abs_diff_vs_qkeras": emulate.max_abs_diff(got, ref),
           "hls_emulation": dse.signal_metrics(label, process, rq.kl_scores(got, eps)),
           "qkeras": dse.signal_metrics(label, process, rq.kl_scores(ref, eps))}
    write_text(out, json.dumps(doc, indent=2) + "\n")
    logger.info("%s: emulated %d jets, KL total AUC %s (max |hls - qkeras| %g); wrote %s",
                args.precision, len(x), doc["hls_emulation"][dse.SCORE],
                doc["max_abs_diff_vs_qkeras"], out)


def _point(args, params) -> None:
    for key, value, allowed in (("--io-type", args.io_type, ("io_parallel", "io_stream")),
                                ("--strategy", args.strategy, ("Latency", "Resource"))):
        if value not in allowed:
            raise JetadError(f"{key} {value!r}: expected one of {', '.join(allowed)}")
    emulation = _read_emulation(args.emulation, args.precision)
    check_quantized_encoder(args.model)
    model = encoder.load_qmodel(args.model)
    dse.check_precision(model, args.precision, args.model)
    point = {"precision": args.precision, "io_type": args.io_type, "strategy": args.strategy,
             "reuse_factor": args.reuse_factor}
    hp = params.hls
    settings = dataclasses.replace(hp, io_type=args.io_type, strategy=args.strategy,
                                   reuse_factor=args.reuse_factor)
    # the project as `jetad hls` writes it (grouped convs one conv per group): ready for
    # vivado_hls / vitis on a machine that has them
    hm = project.convert(grouped.per_group(model) if hp.per_group else model,
                         Path(args.project_dir), settings, "encoder")
    project.write_project(hm, hp.cflags, hp.cxx, hp.csim)
    row = dse.point_row(model, point, hp, params.resources, emulation)
    write_text(args.out, json.dumps(row, indent=2) + "\n")
    logger.info("%s: LUT %.2f%%, DSP %.2f%%, latency %.0f ns, II %.0f cycles; wrote %s",
                row["config"], row["LUT_pct"], row["DSP_pct"], row["latency_ns"],
                row["interval_cycles"], args.out)


def _table(args, params) -> None:
    rows = []
    for path in args.points:
        row = read_json_object(path, "point file of jetad dse point")
        missing = sorted(dse.POINT_KEYS - row.keys())
        if missing:
            raise DataError(f"{path}: not a point file of jetad dse point (no "
                            f"{', '.join(missing)})")
        rows.append(row)
    problem = dse.grid_mismatch(rows, params.dse)
    if problem:
        raise DataError(f"{args.params or 'params.yaml'}: {problem}")
    signal = params.dse.pareto_signal
    rows = dse.table(rows, signal)
    write_text(args.csv, pd.DataFrame(rows).to_csv(index=False, float_format="%.6g"))
    write_text(args.md, dse.markdown(rows, signal))
    with atomic_path(args.figure, suffix=".pdf") as tmp:
        dse.figure(rows, signal, tmp, data_note(params))
    logger.info("wrote %d points to %s, %s and %s", len(rows), args.csv, args.md, args.figure)


def _read_emulation(path, precision: str) -> dict:
    doc = read_json_object(path, "emulation file of jetad dse emulate")
    if doc.get("precision") != precision or not {"hls_emulation", "n_images",
                                                 "configuration"} <= doc.keys():
        raise DataError(f"{path}: not the emulation of {precision} (jetad dse emulate)")
    return doc
