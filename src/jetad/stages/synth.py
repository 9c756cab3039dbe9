"""`jetad synth`: Vivado HLS (or Vitis HLS) C synthesis of one hls4ml layer project.

The project (`results/hls/<mode>/<part>` of `jetad hls`) is copied to `--out` and built there by
hls4ml's own backend (`link_existing_project(...).build(csim=False, synth=True)`, which runs
`vivado_hls -f build_prj.tcl` or `vitis-run --tcl build_prj.tcl`); with
`--logic-synthesis on` (the pipeline passes `resources.logic_synthesis`, so the stage reads no
parameter section) Vivado's logic synthesis follows (`vivado_synth.rpt`). The copy,
reports included, is what `jetad resources --reports` reads. Needs the tool on PATH: without it
the command stops before any work, naming what is missing. Snakemake runs one such job per
layer when `resources.synthesis` is on (see `jetad.fpga.hls4ml.synth`).
"""

from __future__ import annotations

import time

from jetad import log
from jetad.fpga.hls4ml import synth


def run(args, params) -> None:
    logger = log.get("jetad.synth")
    start = time.time()
    row = synth.synthesize(args.project, args.out, args.logic_synthesis == "on", logger)
    numbers = ", ".join(f"{k} {row[k]}" for k in ("DSP", "LUT", "FF", "BRAM") if k in row)
    logger.info("wrote %s in %.0f s: %s (%s)", args.out, time.time() - start, numbers,
                row["source"])
    print(f"{args.out}: {numbers}")
