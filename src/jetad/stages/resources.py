"""`jetad resources`: per-layer FPGA resources of the quantized encoder without Vivado.

Every number in the CSV carries its source:
- `analytic`: DSP (and multipliers) of hls4ml's Latency strategy from the quantized kernel
  (`jetad.fpga.resources.analytic_dsp`);
- `da4ml`: LUT of da4ml 0.6's distributed-arithmetic solution of the kernel (a multiplier-free
  architecture, not hls4ml's; `resources.da4ml: true` and da4ml installed);
- `vivado_hls` (`vitis_hls`): read with hls4ml's parser from synthesized hls4ml projects: those
  of `jetad synth` (`--reports`, given by Snakemake when `resources.synthesis` is on) and those
  copied back from another machine (`resources.reports`, or `--reports`); `vivado_synth` the
  same projects' Vivado logic synthesis, when run (`resources.logic_synthesis`);
- `yosys`: LUT and FF of yosys synth_xilinx on da4ml's Verilog of the small kernels
  (`resources.yosys`, `jetad.fpga.yosys`), the same architecture as `da4ml`;
- whole-design figures (`--design`, `--design-json`, `--design-table`): totals, latency and
  initiation interval per source (`jetad.fpga.design`: reports, the analytic hls4ml model of
  `jetad.fpga.latency`, da4ml);
- `rho_extrapolated`: rho(a, b) times a reference layer's numbers (SPEC 5), the reference named
  in `reference` (a `--reports` project, or the thesis' Table 3.5 Vivado HLS 2020.1 row of
  conv2_b1_1, whose numbers are listed as source `thesis_vivado_hls_2020.1`).
Percentages are of the U250 totals (LUT 1,728,000; FF 3,456,000; DSP 12,288; BRAM 5,376).
The markdown table follows thesis Table 3.5: conv2_b0_0, conv2_b1_1, dconv_b2, final block
(conv_fin + the three dense heads).
"""

from __future__ import annotations

# Thesis Table 3.5 (Vivado HLS 2020.1 estimates, SPEC 5); conv2_b0_0 was itself extrapolated.
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
    from pathlib import Path

    from jetad.errors import DataError
    from jetad.fpga import report

    named: dict[str, str] = {}
    for d in dirs:
        name = Path(d).name
        if name in named:
            raise DataError(f"two synthesized projects named {name}: {named[name]} and {d} "
                            "(one report per layer)")
        named[name] = str(d)
    return {name: report.read(d) for name, d in named.items()}


def long_rows(model, params, reports, logger=None) -> list[dict]:
    from jetad.fpga import resources, rho

    rp = params["resources"]
    reports = [*reports, *(rp.get("reports") or [])]
    rows: list[dict] = []

    def add(layer, key, value, source, reference=None, r=None, note=""):
        if value is None:
            return
        rows.append({"layer": layer, "resource": key, "value": float(value),
                     "pct_u250": 100.0 * float(value) / resources.U250[key]
                     if key in resources.U250 else None,
                     "source": source, "reference": reference, "rho": r, "note": note})

    for e in resources.estimate(model, params["hls"]["reuse_factor"], rp["frac_bits"],
                                rp["dsp_min_bits"], rp["da4ml"]):
        if e["source"] == "analytic":
            add(e["layer"], "DSP", e["DSP"], "analytic",
                note=f"{e['multipliers']} multipliers, {e['nonzero_weights']} nonzero weights, "
                     f"reuse factor {e['reuse_factor']}; hls4ml Latency, one pixel at a time")
        else:
            add(e["layer"], "LUT", e["LUT"], "da4ml",
                note="da4ml 0.6 CMVM cost (adder_size=1: LUTs) of one kernel application "
                     "(distributed arithmetic, no DSPs), not the hls4ml architecture")
    if rp.get("yosys"):
        from jetad.fpga import hls, yosys

        made_by = f"{yosys.version()} synth_xilinx -family xcup of da4ml's pipelined Verilog"
        for y in yosys.estimate(model, rp.get("yosys_max_weights", 200),
                                processes=params["hls"].get("processes")
                                or hls.default_processes(), logger=logger):
            note = (f"{made_by}, one kernel application; da4ml cost {y['da4ml_cost']:.0f}, "
                    f"{y['nonzero_weights']} nonzero weights")
            add(y["layer"], "LUT", y["LUT"], "yosys", note=note)
            add(y["layer"], "FF", y["FF"], "yosys", note=note)
    shapes = conv_shapes(model)
    stride = rp["rho_stride"]
    measured = read_reports(reports)
    convs = {k: v for k, v in measured.items() if k in shapes}
    for r in rho.extrapolate(shapes, convs, stride=stride) if convs else []:
        for key in KEYS:
            if r.get(key) is None or not r["extrapolated"]:
                continue
            ref = measured[r["reference"]]
            add(r["layer"], key, r[key], "rho_extrapolated", f"{r['reference']} ({ref['source']})",
                r["rho"])
    for name, m in measured.items():  # convs and the dense heads alike
        for key in KEYS:
            add(name, key, m.get(key), m["source"], note=m["project"])
        for key, value in m.get("vivado_synth", {}).items():
            add(name, key, value, "vivado_synth", note=f"{m['project']}/vivado_synth.rpt")
    for layer, values in THESIS.items():
        for key in KEYS:
            add(layer, key, values[key], THESIS_SOURCE,
                note="thesis Table 3.5" + (" (itself extrapolated)" if layer == "conv2_b0_0"
                                           else ""))
    ref = THESIS_REFERENCE
    if ref in shapes:
        for layer in ("conv2_b0_0", "dconv_b2"):
            if layer not in shapes:
                continue
            r = rho.rho(shapes[layer], shapes[ref], stride)
            for key in KEYS:
                add(layer, key, r * THESIS[ref][key], "rho_extrapolated",
                    f"{ref} ({THESIS_SOURCE})", r,
                    note=f"rho({shapes[layer]}, {shapes[ref]}, stride {stride})")
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
    from jetad.fpga.resources import U250

    lines = ["# FPGA resources of the quantized encoder (cf. thesis Table 3.5), % of U250", "",
             "| layer | (h, w, d_in, d_out) | source | reference | DSP | LUT | FF | BRAM |",
             "|---|---|---|---|---|---|---|---|"]
    for layer in TABLE_ROWS:
        for (lay, source, ref), g in groups.items():
            if lay != layer:
                continue
            vals = [cell(g.get(k), 100.0 * g[k] / U250[k] if k in g else 0) for k in KEYS]
            lines.append(f"| {layer} | {shapes.get(layer, '')} | {source} | {ref} | "
                         + " | ".join(vals) + " |")
    lines += [
        "",
        "Sources: analytic = DSPs of hls4ml's Latency strategy from the quantized kernel; "
        "da4ml = LUT of a distributed-arithmetic solution (another architecture); "
        "yosys = LUT/FF of that solution's Verilog after yosys synth_xilinx; "
        "vivado_hls/vitis_hls = HLS reports of synthesized projects, vivado_synth = their "
        f"Vivado logic synthesis; {THESIS_SOURCE} = the thesis' numbers; "
        "rho_extrapolated = rho x reference.",
        "The thesis' conv2_b0_0 row is exactly 16x its conv2_b1_1 row, whereas rho "
        "(SPEC 5 formula) gives 6.4 for the thesis shapes (20,20,16,10) vs (10,10,20,5); "
        "the rho rows here use this model's shapes.",
    ]
    return "\n".join(lines) + "\n"


def run(args, params) -> None:
    import csv
    import io
    import json
    import math

    from jetad import log
    from jetad.atomic import write_text
    from jetad.errors import JetadError
    from jetad.fpga import hls, resources
    from jetad.inputs import check_quantized_encoder
    from jetad.quant.encoder import load_qmodel

    logger = log.get("jetad.resources")
    check_quantized_encoder(args.model)  # before TensorFlow: a bad file gives one line
    model = load_qmodel(args.model)
    hls._check_quantized(model)
    logger.info("loaded the QKeras encoder %s; da4ml %s", args.model,
                "available" if resources.da4ml_available() else "not installed")
    rows = long_rows(model, params, args.reports, logger)
    bad = [r for r in rows if not math.isfinite(r["value"])]
    if bad:
        raise JetadError(f"non-finite resource estimates: {bad[:3]}")
    # computed before anything is written: a failure leaves no partial set of outputs
    design_rows = (design_figures(args, params, model)
                   if args.design or args.design_json or args.design_table else None)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r[k] is None else r[k]) for k in COLUMNS})
    write_text(args.out, buf.getvalue())
    sources = sorted({r["source"] for r in rows})
    logger.info("wrote %d resource numbers of %d layers (sources: %s) to %s", len(rows),
                len({r["layer"] for r in rows}), ", ".join(sources), args.out)
    if args.json:
        write_text(args.json, json.dumps({"rows": rows, "u250": resources.U250}, indent=2) + "\n")
    if args.table:
        write_text(args.table, table_markdown(rows, conv_shapes(model)))
        logger.info("wrote %s", args.table)
    if design_rows is not None:
        write_design(args, *design_rows, logger)


def design_figures(args, params, model) -> tuple[list[dict], list[dict]]:
    """Whole-design rows (jetad.fpga.design) of the configuration in params' `hls` section,
    and the analytic model's per-layer rows."""
    from jetad.fpga import design

    rp = params["resources"]
    reports = read_reports([*args.reports, *(rp.get("reports") or [])])
    rows, layers = design.rows(model, params["hls"], rp, reports, use_da4ml=rp["da4ml"])
    for path in args.extra_design or []:
        rows += design.read_rows(path)
    return rows, layers


def write_design(args, rows, layers, logger) -> None:
    import json

    import pandas as pd

    from jetad.atomic import write_text
    from jetad.fpga import design

    if args.design:
        df = pd.DataFrame(rows, columns=list(design.COLUMNS))
        write_text(args.design, df.to_csv(index=False, lineterminator="\n"))
    if args.design_json:
        write_text(args.design_json, json.dumps({"design": rows, "analytic_layers": layers,
                                                 "u250": design.U250}, indent=2) + "\n")
    if args.design_table:
        write_text(args.design_table, design.markdown(rows))
    for r in rows:
        logger.info("design %s %s (%s): DSP %s, LUT %s, FF %s, BRAM %s, latency %s cycles, "
                    "interval %s cycles", r["config"], r["source"], r["scope"], r["DSP"],
                    r["LUT"], r["FF"], r["BRAM"], r["latency_cycles"], r["interval_cycles"])
