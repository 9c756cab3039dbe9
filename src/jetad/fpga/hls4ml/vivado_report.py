"""Read Vivado HLS synthesis reports of hls4ml projects with hls4ml's own parser.

No Vivado runs here (proprietary, absent); a project synthesized on a node that has it can be
brought back and read: hls4ml.report.parse_vivado_report(<project dir>) reads `project.tcl`,
`<name>_prj/vivado_hls.app` (the solutions), `<name>_prj/<solution>/syn/report/<name>_csynth.xml`
and, if present, `vivado_synth.rpt`. Numbers read this way are labelled source='vivado_hls'
(or 'vitis_hls' for a Vitis-backend project); those of `vivado_synth.rpt` (Vivado logic
synthesis, `resources.logic_synthesis`) are in `vivado_synth`.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from jetad.errors import DataError
from jetad.fpga.estimate.resources import U250, percentages
from jetad.fpga.hls4ml.compat import import_hls4ml

KEYS = {"DSP": "DSP", "LUT": "LUT", "FF": "FF", "BRAM_18K": "BRAM", "URAM": "URAM"}
SOURCES = {"vivado": "vivado_hls", "vitis": "vitis_hls"}


def backend(project_dir) -> str:
    """The hls4ml backend of a project ('vivado', 'vitis', ...), from its project.tcl (the file
    hls4ml's report parser reads too)."""
    tcl = Path(project_dir) / "project.tcl"
    if not tcl.is_file():
        raise DataError(f"{project_dir}: not an hls4ml project (no project.tcl)")
    m = re.search(r'^set backend "([^"]+)"', tcl.read_text(), flags=re.M)
    if not m:
        raise DataError(f"{tcl}: no `set backend` line (not written by hls4ml?)")
    return m.group(1).lower()


def read(project_dir) -> dict:
    """{'DSP', 'LUT', 'FF', 'BRAM', latency..., 'source': 'vivado_hls', '<key>_pct'} of a project.

    Raises DataError naming the folder when the report is missing or incomplete.
    """
    project_dir = Path(project_dir)
    source = SOURCES.get(backend(project_dir), "vivado_hls")
    hls4ml = import_hls4ml()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            rep = hls4ml.report.parse_vivado_report(str(project_dir))
    except Exception as exc:
        raise DataError(
            f"{project_dir}: unreadable Vivado HLS report ({type(exc).__name__}: {exc})"
        ) from exc
    if not rep or "CSynthesisReport" not in rep:
        said = out.getvalue().strip().replace("\n", "; ")
        raise DataError(f"{project_dir}: no C synthesis report found ({said})")
    syn = rep["CSynthesisReport"]
    row: dict = {"source": source, "project": str(project_dir)}
    for key, name in KEYS.items():
        if key in syn:
            row[name] = int(syn[key])
    for key in ("TargetClockPeriod", "EstimatedClockPeriod"):
        if key in syn:
            row[key] = float(syn[key])
    for key in ("BestLatency", "WorstLatency", "IntervalMin", "IntervalMax"):
        if key in syn:
            row[key] = int(syn[key])
    if rep.get("VivadoSynthReport"):
        row["vivado_synth"] = logic_synthesis(rep["VivadoSynthReport"], project_dir)
    row.update(percentages(row, U250))
    return row


def logic_synthesis(rpt: dict, project_dir) -> dict:
    """{'LUT', 'FF', 'DSP', 'BRAM'} of hls4ml's parse of vivado_synth.rpt (strings, in the
    report's units)."""
    out = {}
    for key, name in (("LUT", "LUT"), ("FF", "FF"), ("DSP48E", "DSP"), ("BRAM_18K", "BRAM")):
        if key not in rpt:
            continue
        try:
            value = float(rpt[key])
        except ValueError as exc:
            raise DataError(f"{project_dir}/vivado_synth.rpt: {key} is {rpt[key]!r}") from exc
        # hls4ml names it BRAM_18K but reads "Block RAM Tile", which counts 36 Kb tiles
        out[name] = 2 * value if name == "BRAM" else value
    return out
