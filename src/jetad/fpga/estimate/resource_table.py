"""Every per-layer FPGA resource number of the quantized encoder, each with its source (the
table `jetad resources` writes; the sources are listed in its docstring): the analytic hls4ml
model, da4ml, yosys, synthesized hls4ml projects, rho extrapolation and the thesis' Table 3.5.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from jetad import tables
from jetad.errors import DataError
from jetad.fpga.estimate import design, resources, rho
from jetad.fpga.estimate.resources import U250
from jetad.fpga.hls4ml import build
from jetad.fpga.hls4ml import vivado_report as report
from jetad.fpga.rtl import yosys

# [Valente 2022] Table 3.5 (Vivado HLS 2020.1 estimates); conv2_b0_0 was itself extrapolated.
THESIS = {
    "conv2_b0_0": {"DSP": 752, "LUT": 6_189_696, "FF": 229_536, "BRAM": 288},
    "conv2_b1_1": {"DSP": 47, "LUT": 386_856, "FF": 14_346, "BRAM": 18},
    "dconv_b2": {"DSP": 15, "LUT": 309_544, "FF": 9_352, "BRAM": 4},
    "final block": {"DSP": 851, "LUT": 91_763, "FF": 28_074, "BRAM": 377},
}
THESIS_SOURCE = "thesis_vivado_hls_2020.1"
THESIS_REFERENCE = "conv2_b1_1"
TABLE_ROWS = ("conv2_b0_0", "conv2_b1_1", "dconv_b2", "final block")
FINAL_BLOCK = ("conv_fin", "z_categorical", "z_mean", "z_var", "heads")  # heads: the 3 dense
COLUMNS = ("layer", "resource", "value", "pct_u250", "source", "reference", "rho", "note")
KEYS = ("DSP", "LUT", "FF", "BRAM")


def conv_shapes(model) -> dict[str, tuple[int, int, int, int]]:
    """(h, w, d_in, d_out) of every conv, as in the rho formula."""
    shapes = {}
    for layer in model.layers:
        if layer.__class__.__name__ in ("QConv2D", "Conv2D"):
            h, w, d_in = (int(v) for v in layer.input_shape[1:])
            shapes[layer.name] = (h, w, d_in, int(layer.filters))
    return shapes


def read_reports(dirs) -> dict[str, dict]:
    """Part name (the folder's name) -> report row; two folders of one name are refused."""
    named: dict[str, str] = {}
    for d in dirs:
        name = Path(d).name
        if name in named:
            raise DataError(f"two synthesized projects named {name}: {named[name]} and {d} "
                            "(one report per layer)")
        named[name] = str(d)
    return {name: report.read(d) for name, d in named.items()}


def long_rows(model, params, reports, logger=None) -> list[dict]:
    """One row per (layer, resource, source): the analytic model and da4ml, yosys (when
    `resources.yosys`), rho extrapolated from the measured convs, the synthesized projects of
    `reports` and `resources.reports`, and the thesis' Table 3.5 with its rho extrapolation."""
    rp = params.resources
    rows = _estimate_rows(model, params.hls.reuse_factor, rp)
    if rp.yosys:
        rows += _yosys_rows(model, rp, params.hls.processes, logger)
    shapes = conv_shapes(model)
    measured = read_reports([*reports, *rp.reports])
    rows += _rho_rows(shapes, measured, rp.rho_stride)
    rows += _measured_rows(measured)
    rows += _thesis_rows(shapes, rp.rho_stride)
    return [r for r in rows if r is not None]


def _row(layer, key, value, source, reference=None, r=None, note="") -> dict | None:
    """A row of the long table; None for a missing value."""
    if value is None:
        return None
    return {"layer": layer, "resource": key, "value": float(value),
            "pct_u250": 100.0 * float(value) / resources.U250[key]
            if key in resources.U250 else None,
            "source": source, "reference": reference, "rho": r, "note": note}


def _estimate_rows(model, reuse_factor, rp) -> list:
    """The analytic model's DSPs and da4ml's LUTs of every conv/dense kernel."""
    rows = []
    for e in resources.estimate(model, reuse_factor, rp.frac_bits, rp.dsp_min_bits, rp.da4ml):
        if e["source"] == "analytic":
            rows.append(_row(
                e["layer"], "DSP", e["DSP"], "analytic",
                note=f"{e['multipliers']} multipliers, {e['nonzero_weights']} nonzero weights, "
                     f"reuse factor {e['reuse_factor']}; hls4ml Latency, one pixel at a time"))
        else:
            rows.append(_row(
                e["layer"], "LUT", e["LUT"], "da4ml",
                note="da4ml 0.6 CMVM cost (adder_size=1: LUTs) of one kernel application "
                     "(distributed arithmetic, no DSPs), not the hls4ml architecture"))
    return rows


def _yosys_rows(model, rp, processes, logger) -> list:
    """LUT and FF of yosys' synthesis of da4ml's Verilog, per kernel small enough."""
    made_by = f"{yosys.version()} synth_xilinx -family xcup of da4ml's pipelined Verilog"
    rows = []
    for y in yosys.estimate(model, rp.yosys_max_weights,
                            processes=processes or build.default_processes(), logger=logger):
        note = (f"{made_by}, one kernel application; da4ml cost {y['da4ml_cost']:.0f}, "
                f"{y['nonzero_weights']} nonzero weights")
        rows.append(_row(y["layer"], "LUT", y["LUT"], "yosys", note=note))
        rows.append(_row(y["layer"], "FF", y["FF"], "yosys", note=note))
    return rows


def _rho_rows(shapes: dict, measured: dict, stride) -> list:
    """The convs without a report: rho x the numbers of the measured conv nearest to each."""
    convs = {k: v for k, v in measured.items() if k in shapes}
    rows = []
    for r in rho.extrapolate(shapes, convs, stride=stride) if convs else []:
        for key in KEYS:
            if r.get(key) is None or not r["extrapolated"]:
                continue
            ref = measured[r["reference"]]
            rows.append(_row(r["layer"], key, r[key], "rho_extrapolated",
                             f"{r['reference']} ({ref['source']})", r["rho"]))
    return rows


def _measured_rows(measured: dict) -> list:
    """The synthesized projects' numbers, convs and the dense heads alike."""
    rows = []
    for name, m in measured.items():
        for key in KEYS:
            rows.append(_row(name, key, m.get(key), m["source"], note=m["project"]))
        for key, value in m.get("vivado_synth", {}).items():
            rows.append(_row(name, key, value, "vivado_synth",
                             note=f"{m['project']}/vivado_synth.rpt"))
    return rows


def _thesis_rows(shapes: dict, stride) -> list:
    """The thesis' Table 3.5, and rho x its reference conv for this model's shapes."""
    rows = []
    for layer, values in THESIS.items():
        for key in KEYS:
            rows.append(_row(layer, key, values[key], THESIS_SOURCE,
                             note="thesis Table 3.5" + (" (itself extrapolated)"
                                                        if layer == "conv2_b0_0" else "")))
    ref = THESIS_REFERENCE
    if ref in shapes:
        for layer in ("conv2_b0_0", "dconv_b2"):
            if layer not in shapes:
                continue
            r = rho.rho(shapes[layer], shapes[ref], stride)
            for key in KEYS:
                rows.append(_row(layer, key, r * THESIS[ref][key], "rho_extrapolated",
                                 f"{ref} ({THESIS_SOURCE})", r,
                                 note=f"rho({shapes[layer]}, {shapes[ref]}, stride {stride})"))
    return rows


def table_markdown(rows: list[dict], shapes: dict) -> str:
    """Thesis Table 3.5 layout: one line per (row layer, source), DSP / LUT / FF / BRAM with %."""
    def cell(v, pct):
        return "" if v is None else f"{v:,.0f} ({pct:.2f}%)"

    groups: dict[tuple, dict] = {}
    for r in rows:
        layer = "final block" if r["layer"] in FINAL_BLOCK else r["layer"]
        if layer not in TABLE_ROWS:
            continue
        key = (layer, r["source"], r["reference"] or "")
        g = groups.setdefault(key, {})
        g[r["resource"]] = g.get(r["resource"], 0.0) + r["value"]

    table = [(layer, shapes.get(layer, ""), source, ref,
              *(cell(g.get(k), 100.0 * g[k] / U250[k] if k in g else 0) for k in KEYS))
             for layer in TABLE_ROWS for (lay, source, ref), g in groups.items() if lay == layer]
    lines = ["# FPGA resources of the quantized encoder (cf. thesis Table 3.5), % of U250", "",
             tables.markdown(table, ("layer", "(h, w, d_in, d_out)", "source", "reference",
                                     *KEYS))]
    lines += [
        "",
        "Sources: analytic = DSPs of hls4ml's Latency strategy from the quantized kernel; "
        "da4ml = LUT of a distributed-arithmetic solution (another architecture); "
        "yosys = LUT/FF of that solution's Verilog after yosys synth_xilinx; "
        "vivado_hls/vitis_hls = HLS reports of synthesized projects, vivado_synth = their "
        f"Vivado logic synthesis; {THESIS_SOURCE} = the thesis' numbers; "
        "rho_extrapolated = rho x reference.",
        "The thesis' conv2_b0_0 row is exactly 16x its conv2_b1_1 row, whereas rho "
        "(the formula of the thesis, ch. 3) gives 6.4 for the thesis shapes (20,20,16,10) vs (10,10,20,5); "
        "the rho rows here use this model's shapes.",
    ]
    return "\n".join(lines) + "\n"


def design_figures(model, params, reports) -> tuple[list[dict], list[dict]]:
    """Whole-design rows (jetad.fpga.estimate.design) of the configuration in params' `hls` section,
    and the analytic model's per-layer rows; `reports` adds to `resources.reports`."""
    rp = params.resources
    measured = read_reports([*reports, *rp.reports])
    return design.rows(model, params.hls, rp, measured, use_da4ml=rp.da4ml)


def rows_csv(rows: list[dict]) -> str:
    """The rows as CSV, one number per line; a missing value is an empty cell."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r[k] is None else r[k]) for k in COLUMNS})
    return buf.getvalue()
