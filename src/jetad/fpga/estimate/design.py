"""Whole-design figures of the quantized encoder: DSP, LUT, FF, BRAM and their % of the U250,
latency (cycles, ns) and initiation interval, one row per configuration x source.

Sources (the `source` column; `scope` says what a row covers):
- `vivado_hls` / `vitis_hls`: the C-synthesis report of a synthesized hls4ml project, read with
  hls4ml's parser (`jetad.fpga.hls4ml.vivado_report`): resources, WorstLatency and IntervalMax as written
  there. A project of the whole encoder (folder `whole` or named after the model) gives scope
  'whole design'; otherwise the layer projects present are summed (latency summed, interval the
  largest: layers one after another in DATAFLOW), scope 'sum of N layer reports', and the layers
  without a report are named in the note.
- `vivado_synth`: the same projects' Vivado logic synthesis (no latency in it).
- `analytic`: `jetad.fpga.estimate.latency`, a model of hls4ml 1.3's conv/dense/activation code and of
  jetad's instance norm for the configuration's io_type, strategy and reuse factor (its
  docstring names the hls4ml sources it follows and its modelling constants).
- `da4ml`: da4ml 0.6's distributed-arithmetic solution of every conv/dense kernel (one engine per
  layer, one output pixel per cycle: the schedule of hls4ml's io_parallel with
  ParallelizationFactor 1): LUT = da4ml's cost, FF = the register bits after pipelining at
  da4ml's default 5 adder delays per 5 ns stage, latency = pixels - 1 + pipeline stages, summed
  over layers, interval = the largest layer's pixel count. Scope 'conv/dense kernels only': the
  instance norms, activations and adds are not in it (da4ml cannot trace a division or square
  root; `jetad.fpga.rtl.flow` traces whole models without normalization).
"""

from __future__ import annotations

import math

import numpy as np

from jetad import tables
from jetad.errors import DataError, JetadError
from jetad.fpga.estimate import latency
from jetad.fpga.estimate.resources import U250, da4ml_available, kernel_layers, quantized_kernel
from jetad.inputs import require_file

KEYS = ("DSP", "LUT", "FF", "BRAM")
COLUMNS = ("config", "io_type", "strategy", "reuse_factor", "precision", "source", "scope",
           "DSP", "DSP_pct", "LUT", "LUT_pct", "FF", "FF_pct", "BRAM", "BRAM_pct",
           "latency_cycles", "latency_ns", "interval_cycles", "interval_ns", "clock_ns", "note")
WHOLE_NAMES = ("whole",)


def precision_of(model) -> tuple[int, int]:
    """(bits, integer) of the model's input quantizer (QKeras quantized_bits)."""
    for layer in model.layers:
        if layer.name == "input_quant":
            cfg = layer.quantizer.get_config()
            return int(cfg["bits"]), int(cfg["integer"])
    raise JetadError(f"model '{model.name}': no input_quant layer (not a jetad QAT encoder?)")


def config_name(io_type: str, strategy: str, reuse_factor: int, bits: int, integer: int) -> str:
    return f"{io_type}/{strategy}/rf{reuse_factor}/<{bits},{integer}>"


def resource_row(cfg: dict, source: str, scope: str, values: dict, note: str = "") -> dict:
    row = {**cfg, "source": source, "scope": scope, "note": note}
    for k in KEYS:
        v = values.get(k)
        row[k] = None if v is None else float(v)
        row[f"{k}_pct"] = None if v is None else 100.0 * float(v) / U250[k]
    clock = values.get("clock_ns", cfg.get("clock_ns"))
    row["clock_ns"] = clock
    for k in ("latency", "interval"):
        c = values.get(f"{k}_cycles")
        row[f"{k}_cycles"] = None if c is None else float(c)
        row[f"{k}_ns"] = None if c is None or clock is None else float(c) * float(clock)
    return {k: row.get(k) for k in COLUMNS}


def analytic(model, cfg: dict, frac_bits: int, dsp_min_bits: int) -> tuple[dict, list[dict]]:
    """(design row, per-layer rows) of the analytic model."""
    s = latency.Settings(cfg["io_type"], cfg["strategy"], cfg["reuse_factor"], cfg["bits"],
                         cfg["clock_ns"], frac_bits, dsp_min_bits)
    layers = latency.model_layers(model, s)
    t = latency.total(layers, s)
    note = (f"hls4ml 1.3 model (jetad.fpga.estimate.latency: MULT_CYCLES {latency.MULT_CYCLES}, "
            f"ADDS_PER_CYCLE {latency.ADDS_PER_CYCLE}, RSQRT_CYCLES {latency.RSQRT_CYCLES}); "
            f"bottleneck {t['bottleneck']}; DATAFLOW: II = slowest layer")
    return (resource_row(_public(cfg), "analytic", f"whole design ({len(layers)} layers)", t, note),
            [r.row() for r in layers])


def da4ml_kernel(kernel: np.ndarray, bits: int, integer: int,
                 cutoff: float = 5.0) -> dict:
    """{'LUT', 'FF', 'stages'} of da4ml's pipelined solution of one kernel (inputs x outputs)."""
    # optional and heavy: da4ml (and its compiled kernels) only for the da4ml rows
    from da4ml.trace import FixedVariableArrayInput, comb_trace, to_pipeline

    k = np.asarray(kernel, dtype=np.float64)
    if not np.count_nonzero(k):
        return {"LUT": 0.0, "FF": 0.0, "stages": 0}
    inp = FixedVariableArrayInput((k.shape[0],))
    y = inp.quantize(1, integer, bits - 1 - integer) @ k
    comb = comb_trace(inp, y)
    pipe = to_pipeline(comb, cutoff, verbose=False)
    return {"LUT": float(comb.cost), "FF": float(pipe.reg_bits), "stages": len(pipe.solutions)}


def da4ml_design(model, cfg: dict) -> dict:
    lut = ff = cycles = 0.0
    heads = 0  # the dense heads share their input and run side by side
    interval = 0
    names = []
    for layer in kernel_layers(model):
        k = np.asarray(quantized_kernel(layer))
        pixels = int(np.prod(layer.output_shape[1:3])) if k.ndim == 4 else 1
        got = da4ml_kernel(k.reshape(-1, k.shape[-1]), cfg["bits"], cfg["integer"])
        lut += got["LUT"]
        ff += got["FF"]
        if k.ndim == 4:
            cycles += pixels - 1 + got["stages"]
        else:
            heads = max(heads, got["stages"])
        interval = max(interval, pixels)
        names.append(layer.name)
    cycles += heads
    values = {"LUT": lut, "FF": ff, "DSP": 0, "BRAM": 0, "latency_cycles": cycles,
              "interval_cycles": interval}
    note = ("da4ml 0.6 CMVM per kernel, adder_size 1 (LUT), pipelined at 5 adder delays per "
            "stage; one engine per layer, one pixel per cycle; no DSPs; the dense heads in parallel")
    return resource_row(_public(cfg), "da4ml", f"conv/dense kernels only ({len(names)} layers)",
                values, note)


def from_reports(reports: dict[str, dict], layer_names: list[str], cfg: dict) -> list[dict]:
    """Rows of synthesized projects: the whole design if present, else the sum of layers."""
    rows = []
    whole = [n for n in reports if n in WHOLE_NAMES or n == cfg.get("model")]
    if whole:
        for name in whole:
            rep = reports[name]
            rows += _report_rows(rep, cfg, "whole design", f"{rep['project']}")
        return rows
    layers = [n for n in layer_names if n in reports]
    if not layers:
        return rows
    by_source: dict[str, list[dict]] = {}
    for n in layers:
        by_source.setdefault(reports[n]["source"], []).append(reports[n])
    missing = [n for n in layer_names if n not in reports]
    for _source, reps in by_source.items():
        summed = {"source": reps[0]["source"], "project": "; ".join(r["project"] for r in reps)}
        for k in KEYS:
            if all(k in r for r in reps):
                summed[k] = sum(r[k] for r in reps)
        if all("WorstLatency" in r for r in reps):
            summed["WorstLatency"] = sum(r["WorstLatency"] for r in reps)
        if all("IntervalMax" in r for r in reps):
            summed["IntervalMax"] = max(r["IntervalMax"] for r in reps)
        clocks = [r.get("TargetClockPeriod") for r in reps]
        if all(c is not None for c in clocks):
            summed["TargetClockPeriod"] = max(clocks)
        synth = [r["vivado_synth"] for r in reps if "vivado_synth" in r]
        if len(synth) == len(reps):
            summed["vivado_synth"] = {k: sum(s.get(k, 0.0) for s in synth) for k in KEYS}
        note = (f"layers {', '.join(r['project'].rsplit('/', 1)[-1] for r in reps)}"
                + (f"; no report for {len(missing)} layers: {', '.join(missing)}"
                   if missing else ""))
        rows += _report_rows(summed, cfg, f"sum of {len(reps)} layer reports", note)
    return rows


def _report_rows(rep: dict, cfg: dict, scope: str, note: str) -> list[dict]:
    # the design runs at the target clock (the report's real-time latency uses it too)
    clock = rep.get("TargetClockPeriod", cfg["clock_ns"])
    values = {k: rep.get(k) for k in KEYS}
    values.update(latency_cycles=rep.get("WorstLatency"), interval_cycles=rep.get("IntervalMax"),
                  clock_ns=clock)
    rows = [resource_row(_public(cfg), rep["source"], scope, values,
                 note + "; latency = WorstLatency, interval = IntervalMax of the C synthesis")]
    if rep.get("vivado_synth"):
        rows.append(resource_row(_public(cfg), "vivado_synth", scope, dict(rep["vivado_synth"]),
                         note + "; Vivado logic synthesis (no timing in it)"))
    return rows


def _public(cfg: dict) -> dict:
    return {"config": config_name(cfg["io_type"], cfg["strategy"], cfg["reuse_factor"],
                                  cfg["bits"], cfg["integer"]),
            "io_type": cfg["io_type"], "strategy": cfg["strategy"],
            "reuse_factor": cfg["reuse_factor"], "precision": f"<{cfg['bits']},{cfg['integer']}>",
            "clock_ns": cfg["clock_ns"]}


def rows(model, hls: dict, resources: dict, reports: dict[str, dict],
         use_da4ml: bool = True) -> tuple[list[dict], list[dict]]:
    """(design rows, analytic per-layer rows) for the configuration in `hls` (params.yaml)."""
    bits, integer = precision_of(model)
    cfg = {"io_type": hls["io_type"], "strategy": hls["strategy"],
           "reuse_factor": int(hls["reuse_factor"]), "bits": bits, "integer": integer,
           "clock_ns": float(hls["clock_period"]), "model": model.name}
    design, layers = analytic(model, cfg, resources["frac_bits"], resources["dsp_min_bits"])
    kernels = kernel_layers(model)
    # hls4ml projects of the `layer`/`block` parts: one per conv, one for the dense heads
    parts = [la.name for la in kernels if la.__class__.__name__ in ("QConv2D", "Conv2D")]
    if len(parts) < len(kernels):
        parts.append("heads")
    out = from_reports(reports, parts, cfg) + [design]
    if use_da4ml and da4ml_available():
        out.append(da4ml_design(model, cfg))
    for r in out:
        for k, v in r.items():
            if isinstance(v, float) and not math.isfinite(v):
                raise JetadError(f"design row {r['source']}: {k} is {v}")
    return out, layers


def read_rows(path) -> list[dict]:
    """Design rows written elsewhere in these columns (e.g. `jetad distill --design`: the
    trigger student's netlist), checked: the header must be COLUMNS, numbers finite."""
    # light: jetad.fpga.dse imports this module and Snakemake reads the DSE grid from that one;
    # pandas waits for the tables
    import pandas as pd

    require_file(path, "design CSV")
    try:
        df = pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: not a design CSV ({exc})") from exc
    if tuple(df.columns) != COLUMNS:
        raise DataError(f"{path}: columns {list(df.columns)}, expected {list(COLUMNS)}")
    rows = []
    for rec in df.to_dict("records"):
        row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
        for k, v in row.items():
            if isinstance(v, float) and not math.isfinite(v):
                raise DataError(f"{path}: {k} is {v} in the row of {row['config']}")
        rows.append(row)
    return rows


def markdown(design_rows: list[dict]) -> str:
    """The design table (`jetad.tables.aligned`) between its title and its notes."""
    # light: as in read_rows
    import pandas as pd

    df = pd.DataFrame(design_rows, columns=list(COLUMNS))
    show = df[["config", "source", "scope", "DSP", "DSP_pct", "LUT", "LUT_pct", "FF", "FF_pct",
               "BRAM", "BRAM_pct", "latency_cycles", "latency_ns", "interval_cycles",
               "interval_ns"]]
    show = show.astype(object)
    for col in show.columns:
        if col.endswith("_pct"):
            show[col] = [("" if v is None or v != v else f"{v:.2f}%") for v in show[col]]
        elif col in ("DSP", "LUT", "FF", "BRAM", "latency_cycles", "latency_ns",
                     "interval_cycles", "interval_ns"):
            show[col] = [("" if v is None or v != v else f"{v:,.0f}") for v in show[col]]
    head = ("# Whole-design FPGA figures of the quantized encoder (% of the U250; latency and "
            "initiation interval at the configured clock)\n\n")
    foot = ("\n\nSources: vivado_hls/vitis_hls = C-synthesis reports (read with hls4ml's parser); "
            "vivado_synth = their logic synthesis; analytic = jetad.fpga.estimate.latency's model of "
            "hls4ml 1.3's code; da4ml = distributed-arithmetic kernels only (no norm, "
            "activations or adds); configs student/...: the distilled trigger student's whole "
            "netlist (jetad distill; da4ml's estimate and yosys synth_xilinx). Empty cells: "
            "the source has no such number. The L1 trigger sees a bunch crossing every 25 ns "
            "(5 cycles at 200 MHz).\n")
    return head + tables.aligned(show) + foot
