"""The FPGA design-space scan: precision x io_type x strategy x reuse factor.

One QAT of the reduced encoder per precision (`jetad.quant.qat` with `qat.bits`/`qat.integer`
replaced), one bit-exact emulation of the whole encoder per precision, and one point per
(precision, io_type, strategy, reuse factor): its hls4ml project and the analytic whole-design
row of `jetad.fpga.estimate.design` (source 'analytic', the hls4ml sources it follows in
`jetad.fpga.estimate.latency`), carrying the precision's emulated KL AUC on every signal.

Why one emulation per precision and not per point: with `bit_exact=True` hls4ml derives every
type from the QKeras quantizers (accumulators wide enough to hold every sum exactly), so the
order in which io_type, strategy and reuse factor schedule the products cannot change a bit of
the result; what they change is the hardware (partitioning, pipelining, DSP sharing).
tests/fpga/test_dse.py emulates a small model with instance norm as io_parallel/Latency/rf1
(jetad's integer C simulation) and as io_parallel/Resource and io_stream/Latency at other reuse
factors (hls4ml's own ap_fixed C++) and asserts bit-identical outputs. The emulated configuration
is io_parallel/Latency/rf1, the one whose C simulation is ~8x faster (jetad.fpga.hls4ml.csim).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np

from jetad import tables
from jetad.analysis.metrics import signal_aucs
from jetad.errors import DataError, JetadError
from jetad.fpga.estimate import design
from jetad.fpga.hls4ml import emulate, grouped, project
from jetad.fpga.hls4ml.build import compile_model

EMULATED = {"io_type": "io_parallel", "strategy": "Latency", "reuse_factor": 1}
SCORE = "kl_total"
NOT_AUC = ("auc_source", "auc_jets")
_PRECISION = re.compile(r"^p(\d+)_(\d+)$")


def precision_name(bits: int, integer: int) -> str:
    """The wildcard of a precision: <16,6> -> 'p16_6'."""
    return f"p{int(bits)}_{int(integer)}"


def parse_precision(name: str) -> tuple[int, int]:
    m = _PRECISION.match(name)
    if m is None:
        raise JetadError(f"precision {name!r}: expected p<width>_<integer>, e.g. p16_6")
    return int(m.group(1)), int(m.group(2))


def point_path(precision: str, io_type: str, strategy: str, reuse_factor: int) -> str:
    """The folder of a point under results/dse."""
    return f"{precision}/{io_type}/{strategy}/rf{int(reuse_factor)}"


def points(dse) -> list[dict]:
    """Every point of the `dse:` section, in its order (precision outermost)."""
    return [{"precision": precision_name(b, i), "io_type": io, "strategy": st,
             "reuse_factor": int(rf)}
            for b, i in dse["precisions"] for io in dse["io_types"]
            for st in dse["strategies"] for rf in dse["reuse_factors"]]


def check_precision(model, precision: str, where) -> tuple[int, int]:
    """(width, integer) of `precision`, refused unless the encoder was trained with it."""
    want = parse_precision(precision)
    got = design.precision_of(model)
    if got != want:
        raise DataError(f"{where}: a <{got[0]},{got[1]}> encoder, expected <{want[0]},{want[1]}> "
                        f"({precision})")
    return want


def qat_params(qp, precision: str):
    """The `qat:` section with the precision's width and integer bits."""
    bits, integer = parse_precision(precision)
    return replace(qp, bits=bits, integer=integer)


def emulate_encoder(model, x: np.ndarray, hp, workdir, processes: int = 1) -> list[np.ndarray]:
    """The whole encoder's outputs on x (n, h, w, 1), bit-exact C simulation of the EMULATED
    configuration (grouped convs one conv per group, as `jetad hls` converts them); the
    project and library are written under `workdir`."""
    settings = replace(hp, **EMULATED)
    hm = project.convert(grouped.per_group(model) if hp["per_group"] else model, workdir,
                         settings, "encoder")
    comp = emulate.Compiled.of(hm, compile_model(hm, hp["cflags"], hp["cxx"], hp["csim"]))
    return emulate.emulate(comp, x, processes=processes, batch=hp["batch"])


def signal_metrics(label, process, scores: dict[str, np.ndarray]) -> dict[str, dict]:
    """{score: {'all' | signal: AUC}} of the KL scores, each signal against the background."""
    return {k: signal_aucs(label, process, s) for k, s in scores.items()}


def point_row(model, point: dict, hp, resources, emulation: dict) -> dict:
    """The point's analytic whole-design row (jetad.fpga.estimate.design's columns) with the
    precision's emulated AUCs (`auc_<signal>`, KL total) and where they come from."""
    bits, integer = check_precision(model, point["precision"], f"model '{model.name}'")
    cfg = {"io_type": point["io_type"], "strategy": point["strategy"],
           "reuse_factor": int(point["reuse_factor"]), "bits": bits, "integer": integer,
           "clock_ns": float(hp["clock_period"]), "model": model.name}
    # the weight grid of this precision (resources.frac_bits is the default <16,6>'s)
    row, _layers = design.analytic(model, cfg, bits - 1 - integer, resources["dsp_min_bits"])
    row = {"precision_name": point["precision"], **row}
    for sig, auc in emulation["hls_emulation"][SCORE].items():
        row[f"auc_{sig}"] = auc
    row["auc_jets"] = int(emulation["n_images"])
    row["auc_source"] = f"bit-exact emulation, {emulation['configuration']}"
    return row


def pareto_front(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Mask of the points no other point dominates: one with cost <= and value >= and one of
    them strictly better. Lower cost, higher value; equal points are all on the front."""
    cost = np.asarray(cost, np.float64)
    value = np.asarray(value, np.float64)
    ok = np.isfinite(cost) & np.isfinite(value)
    front = np.zeros(len(cost), bool)
    for i in np.flatnonzero(ok):
        dominated = (ok & (cost <= cost[i]) & (value >= value[i])
                     & ((cost < cost[i]) | (value > value[i])))
        front[i] = not dominated.any()
    return front


AXES = {"LUT_pct": "LUT [% of U250]", "latency_ns": "Latency [ns]"}


# what a point row must hold for the table (jetad.fpga.estimate.design's columns and the emulated AUCs)
POINT_KEYS = frozenset({"config", "precision_name", "io_type", "strategy", "reuse_factor"})


def grid_mismatch(rows: list[dict], dse) -> str | None:
    """What keeps the point rows from being the `dse:` grid, each point once (None: they
    are). DVC's job list (workflow/dse/dvc.yaml) is written from the grid and goes stale when
    the grid changes without it."""
    want = [point_path(**p) for p in points(dse)]
    got = [point_path(r["precision_name"], r["io_type"], r["strategy"], r["reuse_factor"])
           for r in rows]
    if sorted(got) == sorted(want):
        return None
    extra = sorted(set(got) - set(want))
    twice = sorted({p for p in got if got.count(p) > 1})
    missing = sorted(set(want) - set(got))
    if extra:
        what = f"{extra[0]} is not a point of it"
    elif twice:
        what = f"{twice[0]} is given twice"
    else:
        what = f"{len(missing)} of its {len(want)} points missing (first {missing[0]})"
    return (f"the points given are not the dse grid: {what}; after changing the grid, "
            f"rewrite the job lists with `python -m jetad.pipeline --write`")


def table(rows: list[dict], signal: str) -> list[dict]:
    """The rows with `pareto_<axis>` flags (AUC on `signal` against each axis)."""
    key = f"auc_{signal}"
    missing = [r["config"] for r in rows if key not in r]
    if missing:
        have = sorted(k[4:] for k in rows[0] if k.startswith("auc_") and k not in NOT_AUC)
        raise DataError(f"dse.pareto_signal: no {signal} jets in the emulated test set of "
                        f"{missing[0]} (AUCs: {', '.join(have)})")
    value = np.array([r[key] for r in rows], np.float64)
    out = [dict(r) for r in rows]
    for axis in AXES:
        cost = np.array([math.nan if r[axis] is None else r[axis] for r in rows], np.float64)
        for r, f in zip(out, pareto_front(cost, value), strict=True):
            r[f"pareto_{axis}"] = bool(f)
    return out


def markdown(rows: list[dict], signal: str) -> str:
    # light: Snakemake reads the grid (points, point_path) from this module; pandas waits
    import pandas as pd

    aucs = sorted(k for k in rows[0] if k.startswith("auc_") and k not in NOT_AUC)
    df = pd.DataFrame(rows)
    show = pd.DataFrame({
        "config": df["config"],
        **{c: [f"{v:.2f}%" for v in df[f"{c}_pct"]] for c in ("LUT", "FF", "DSP", "BRAM")},
        "latency [ns]": [f"{v:,.0f}" for v in df["latency_ns"]],
        "II [cycles]": [f"{v:,.0f}" for v in df["interval_cycles"]],
        **{f"AUC {k[4:]}": [f"{v:.4f}" for v in df[k]] for k in aucs},
        "front (LUT)": ["*" if v else "" for v in df["pareto_LUT_pct"]],
        "front (latency)": ["*" if v else "" for v in df["pareto_latency_ns"]],
    })
    head = ("# FPGA design-space scan of the reduced encoder (analytic whole-design model; "
            "emulated KL-total AUC)\n\n")
    foot = ("\n\nResources and latency: source 'analytic' (jetad.fpga.estimate.latency, a model of "
            "hls4ml 1.3's conv/dense code) for the whole design, % of the U250, at the "
            "configured clock. AUC: KL total, one bit-exact hls4ml emulation per precision "
            "(io_parallel/Latency/rf1), shared by every io type, strategy and reuse factor "
            "of that precision (they do not change a bit of the output: "
            f"tests/fpga/test_dse.py), on {rows[0]['auc_jets']} test jets. Front: * on the "
            f"Pareto front of the AUC on {signal} against LUT % or against latency.\n")
    return head + tables.aligned(show) + foot


def figure(rows: list[dict], signal: str, path, note: str | None = None) -> None:
    """AUC on `signal` against LUT % and against latency, one marker per io/strategy, one
    colour per precision, the Pareto front drawn and its points ringed."""
    # light: as in markdown(); the figure's imports (h5py under the score files) wait
    from jetad.analysis.plots import add_note, pyplot

    plt = pyplot()
    key = f"auc_{signal}"
    precisions = list(dict.fromkeys(r["precision"] for r in rows))
    markers = {("io_parallel", "Latency"): "o", ("io_parallel", "Resource"): "s",
               ("io_stream", "Latency"): "^", ("io_stream", "Resource"): "v"}
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.2))
    for ax, axis in zip(axes, AXES, strict=True):
        for r in rows:
            c = f"C{precisions.index(r['precision'])}"
            ax.scatter(r[axis], r[key], marker=markers[(r["io_type"], r["strategy"])],
                       color=c, s=18 + 10 * math.log2(r["reuse_factor"] + 1), alpha=0.8)
        front = sorted((r for r in rows if r[f"pareto_{axis}"]), key=lambda r: r[axis])
        if front:
            ax.step([r[axis] for r in front], [r[key] for r in front], where="post",
                    color="0.3", lw=1, label="Pareto front" if axis == "LUT_pct" else None)
            ax.scatter([r[axis] for r in front], [r[key] for r in front], s=140,
                       facecolors="none", edgecolors="k", lw=1.2)
        # the trigger target: every resource under 30% of the U250, latency at most 200 ns
        ax.axvline(30.0 if axis == "LUT_pct" else 200.0, color="0.5", ls=":", lw=1,
                   label="target (30% / 200 ns)" if axis == "LUT_pct" else None)
        ax.set_xscale("log")
        ax.set_xlabel(AXES[axis])
        ax.set_ylabel(f"KL total AUC ({signal}, emulated)")
    for i, p in enumerate(precisions):
        axes[0].scatter([], [], color=f"C{i}", marker="o", label=p)
    for (io, st), m in markers.items():
        if any(r["io_type"] == io and r["strategy"] == st for r in rows):
            axes[0].scatter([], [], color="0.4", marker=m, label=f"{io}/{st}")
    for rf in sorted({int(r["reuse_factor"]) for r in rows}):
        axes[0].scatter([], [], color="0.7", marker="o", s=18 + 10 * math.log2(rf + 1),
                        label=f"reuse factor {rf}")
    # one legend beside the panels: inside, it hid the cheap low-AUC points (lower right)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="center left",
               bbox_to_anchor=(0.83, 0.5), fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 0.83, 1))
    add_note(fig, note)
    fig.savefig(path)
    plt.close(fig)
