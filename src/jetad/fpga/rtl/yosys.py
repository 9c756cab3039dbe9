"""Real LUT and FF counts of small kernels: da4ml's Verilog through yosys' `synth_xilinx`.

For each conv/dense kernel with at most `resources.yosys_max_weights` nonzero weights, da4ml 0.6
solves the constant-matrix-vector product (the solution behind the `da4ml` LUT rows), writes it
as pipelined Verilog (`da4ml.codegen.VerilogModel`), and yosys maps it to Xilinx primitives
(`synth_xilinx -family xcup`: UltraScale+, as the U250). LUT counts the LUT1-6 cells plus INV
(Vivado puts an inverter in a LUT1); FF the flip-flops, i.e. the registers of da4ml's pipeline.
Like the `da4ml` rows this is one kernel application (one output pixel) of a
distributed-arithmetic architecture, not hls4ml's. Off by default (`resources.yosys`): yosys is
an optional Debian package (`apt-get install yosys`) and takes ~10 s to minutes per kernel.

da4ml 0.6 declares some adder outputs one bit wider than the sum, so its `shift_adder.v` reads
one bit past `accum`: Verilog makes that bit x, and yosys, free to pick any value for x, folds
everything downstream into constants (an empty design, 0 LUTs). The undefined bits are tied to
0 right after elaboration (`setundef -zero`); that changes one wire per such adder (a sign bit
would be exact), not the adder count.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from jetad.errors import JetadError
from jetad.fpga.estimate.resources import da4ml_solution, kernel_layers, layer_multiplications
from jetad.fpga.naming import project_name

SCRIPT = """read_verilog -defer {files}
hierarchy -top {top}
proc
setundef -zero
synth_xilinx -family xcup -noiopad -flatten -top {top}
tee -q -o stat.json stat -json
"""
LUT_CELLS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV")
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE")


def executable() -> str:
    """yosys' path, or a JetadError saying how to get it."""
    path = shutil.which("yosys")
    if path is None:
        raise JetadError("resources.yosys is true but yosys is not on PATH: install it "
                         "(Debian/Ubuntu: apt-get install yosys) or set resources.yosys: false")
    return path


def version() -> str:
    out = subprocess.run([executable(), "-V"], capture_output=True, text=True)
    return out.stdout.strip() or "yosys"


def write_verilog(kernel: np.ndarray, name: str, out_dir, bits: int | None = None,
                  integer: int | None = None):
    """da4ml's Verilog of `kernel` under `out_dir`; returns (top module name, da4ml cost)."""
    # optional and heavy: da4ml loads only on the RTL route
    from da4ml.codegen import VerilogModel

    top = project_name(name)
    sol = da4ml_solution(kernel, bits, integer)
    VerilogModel(sol, top, str(out_dir)).write()
    return top, float(sol.cost)


def synthesize(verilog_dir, top: str, label: str = "") -> dict:
    """{'LUT', 'FF', 'cells'} of da4ml's Verilog in `verilog_dir` (module `top`) after yosys
    synth_xilinx. Raises JetadError naming `label` (the layer) when yosys fails."""
    yosys = executable()
    d = Path(verilog_dir)
    files = sorted(str(p.relative_to(d)) for p in (d / "src").rglob("*.v"))
    if not files:
        raise JetadError(f"{label or d}: da4ml wrote no Verilog under {d / 'src'}")
    (d / "synth.ys").write_text(SCRIPT.format(files=" ".join(files), top=top))
    ret = subprocess.run([yosys, "-q", "-s", "synth.ys"], cwd=d, capture_output=True, text=True)
    stat = d / "stat.json"
    if ret.returncode != 0 or not stat.is_file():
        said = (ret.stderr or ret.stdout).strip().splitlines()[-5:]
        raise JetadError(f"{label or d}: yosys synth_xilinx failed ({ret.returncode}): "
                         + " | ".join(said))
    cells = json.loads(stat.read_text())["design"]["num_cells_by_type"]
    return {"LUT": sum(cells.get(c, 0) for c in LUT_CELLS),
            "FF": sum(cells.get(c, 0) for c in FF_CELLS), "cells": cells}


def estimate(model, max_weights: int, bits: int | None = None, integer: int | None = None,
             processes: int = 1, logger=None) -> list[dict]:
    """One row per conv/dense layer small enough: {'layer', 'LUT', 'FF', 'da4ml_cost',
    'nonzero_weights', 'seconds', 'source': 'yosys'}, in model order."""
    executable()  # say it is missing before any work
    todo = []
    for layer in kernel_layers(model):
        _pixels, k = layer_multiplications(layer)
        nonzero = int(np.count_nonzero(k))
        if nonzero > max_weights:
            if logger:
                logger.info("yosys: %s skipped (%d nonzero weights > resources.yosys_max_weights "
                            "%d)", layer.name, nonzero, max_weights)
            continue
        todo.append((layer.name, k, nonzero))

    def one(item):
        name, k, nonzero = item
        start = time.time()
        with tempfile.TemporaryDirectory(prefix=f"jetad-yosys-{name}-") as tmp:
            top, cost = write_verilog(k, name, tmp, bits, integer)
            got = synthesize(tmp, top, label=f"layer {name}")
        # no time in the row: the resource table must be the same bytes on every rerun
        row = {"layer": name, "LUT": got["LUT"], "FF": got["FF"], "da4ml_cost": cost,
               "nonzero_weights": nonzero, "source": "yosys"}
        if logger:
            logger.info("yosys: %s: %d LUT, %d FF (da4ml cost %.0f) in %.0f s", name,
                        row["LUT"], row["FF"], cost, time.time() - start)
        return row

    with ThreadPoolExecutor(max_workers=max(1, processes)) as pool:
        return list(pool.map(one, todo))
