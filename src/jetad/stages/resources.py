"""`jetad resources`: per-layer FPGA resources of the quantized encoder without Vivado.

Every number in the CSV carries its source:
- `analytic`: DSP (and multipliers) of hls4ml's Latency strategy from the quantized kernel
  (`jetad.fpga.estimate.resources.analytic_dsp`);
- `da4ml`: LUT of da4ml 0.6's distributed-arithmetic solution of the kernel (a multiplier-free
  architecture, not hls4ml's; `resources.da4ml: true` and da4ml installed);
- `vivado_hls` (`vitis_hls`): read with hls4ml's parser from synthesized hls4ml projects: those
  of `jetad synth` (`--reports`, given by Snakemake when `resources.synthesis` is on) and those
  copied back from another machine (`resources.reports`, or `--reports`); `vivado_synth` the
  same projects' Vivado logic synthesis, when run (`resources.logic_synthesis`);
- `yosys`: LUT and FF of yosys synth_xilinx on da4ml's Verilog of the small kernels
  (`resources.yosys`, `jetad.fpga.rtl.yosys`), the same architecture as `da4ml`;
- whole-design figures (`--design`, `--design-json`, `--design-table`): totals, latency and
  initiation interval per source (`jetad.fpga.estimate.design`: reports, the analytic hls4ml model of
  `jetad.fpga.estimate.latency`, da4ml);
- `rho_extrapolated`: rho(a, b) times a reference layer's numbers ([Valente 2022] ch. 3), the reference named
  in `reference` (a `--reports` project, or the thesis' Table 3.5 Vivado HLS 2020.1 row of
  conv2_b1_1, whose numbers are listed as source `thesis_vivado_hls_2020.1`).
Percentages are of the U250 totals (LUT 1,728,000; FF 3,456,000; DSP 12,288; BRAM 5,376).
The markdown table follows thesis Table 3.5: conv2_b0_0, conv2_b1_1, dconv_b2, final block
(conv_fin + the three dense heads).
"""

from __future__ import annotations

import json
import math

import pandas as pd

from jetad import log
from jetad.atomic import write_text
from jetad.errors import JetadError
from jetad.fpga.estimate import design, resources
from jetad.fpga.estimate.resource_table import (
    conv_shapes,
    design_figures,
    long_rows,
    rows_csv,
    table_markdown,
)
from jetad.fpga.hls4ml import project
from jetad.inputs import check_quantized_encoder
from jetad.models.reduced_encoder import load_qmodel


def run(args, params) -> None:
    logger = log.get("jetad.resources")
    check_quantized_encoder(args.model)  # before TensorFlow: a bad file gives one line
    model = load_qmodel(args.model)
    project.check_quantized(model)
    logger.info("loaded the QKeras encoder %s; da4ml %s", args.model,
                "available" if resources.da4ml_available() else "not installed")
    rows = long_rows(model, params, args.reports, logger)
    bad = [r for r in rows if not math.isfinite(r["value"])]
    if bad:
        raise JetadError(f"non-finite resource estimates: {bad[:3]}")
    # computed before anything is written: a failure leaves no partial set of outputs
    design_rows = (design_figures(model, params, args.reports)
                   if args.design or args.design_json or args.design_table else None)
    if design_rows is not None:
        for path in args.extra_design or []:  # e.g. jetad distill's student netlist
            design_rows[0].extend(design.read_rows(path))
    write_text(args.out, rows_csv(rows))
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


def write_design(args, rows, layers, logger) -> None:
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
