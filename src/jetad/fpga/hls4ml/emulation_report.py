"""The report of `jetad hls` (results/fpga/emulation.json and .md): the settings, one row per part
(`jetad.fpga.hls4ml.verify`) and, for the whole encoder on labelled test jets, the KL scores of its
emulated outputs beside QKeras'.
"""

from __future__ import annotations

from jetad import tables
from jetad.analysis import encoder_metrics as rq
from jetad.fpga.hls4ml.project import conversion


def report(model_path, test_path, n_images: int, settings, rows: list[dict]) -> dict:
    """The report of the parts' rows (`settings`: the `hls` section); `max_abs_diff` the
    largest over every part."""
    return {"model": str(model_path), "test": test_path, "n_images": n_images,
            "settings": {**conversion(settings), "per_group": settings.per_group,
                         "cflags": settings.cflags, "cxx": settings.cxx or "g++",
                         "csim": settings.csim},
            "parts": rows, "max_abs_diff": max((r["max_abs_diff"] for r in rows), default=None)}


def kl(label, whole: tuple, eps: float) -> dict:
    """{'qkeras': ..., 'hls_emulation': ...}: the KL scores' figures of merit from the whole
    encoder's (emulated, QKeras) outputs."""
    emulated, qkeras = whole
    return {"qkeras": rq.kl_metrics(label, rq.kl_scores(qkeras, eps)),
            "hls_emulation": rq.kl_metrics(label, rq.kl_scores(emulated, eps))}


def markdown(report: dict) -> str:
    lines = ["# hls4ml emulation of the quantized encoder", "",
             f"{report['n_images']} images; settings: "
             + ", ".join(f"{k}={v}" for k, v in report["settings"].items()
                         if k != "norm_precision"), "",
             "Parts marked `norm` hold jetad's instance-norm extension layer (fixed point in "
             "hls4ml, float GroupNormalization in QKeras): they may differ by a step of the "
             "following quantized activation; every other part is expected to be bit-exact.", "",
             "Emulation rates are in the stage's log (logs/hls.log); `python bench/emulate.py` "
             "measures them against hls4ml's own C++.", "",
             tables.markdown([(r["mode"], r["part"] + (" (norm)" if r.get("extension_layers")
                                                        else ""),
                               r["n"], f"{r['max_abs_diff']:.3g}",
                               f"{100 * r['fraction_equal']:.2f}%") for r in report["parts"]],
                             ("mode", "part", "inputs", "max abs diff vs QKeras",
                              "outputs equal"))]
    if "kl" in report:
        lines += ["", rq.metrics_markdown(report["kl"], "KL scores: emulation vs QKeras")]
    return "\n".join(lines) + "\n"
