"""Read Vivado HLS synthesis reports of hls4ml projects with hls4ml's own parser.

No Vivado runs here (proprietary, absent); a project synthesized on a node that has it can be
brought back and read: hls4ml.report.parse_vivado_report(<project dir>) reads `project.tcl`,
`<name>_prj/vivado_hls.app` (the solutions), `<name>_prj/<solution>/syn/report/<name>_csynth.xml`
and, if present, `vivado_synth.rpt`. Numbers read this way are labelled source='vivado_hls'.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from jetad.errors import DataError
from jetad.fpga.resources import U250, percentages

KEYS = {"DSP": "DSP", "LUT": "LUT", "FF": "FF", "BRAM_18K": "BRAM", "URAM": "URAM"}


def read(project_dir) -> dict:
    """{'DSP', 'LUT', 'FF', 'BRAM', latency..., 'source': 'vivado_hls', '<key>_pct'} of a project.

    Raises DataError naming the folder when the report is missing or incomplete.
    """
    from jetad.fpga.hls import _hls4ml

    hls4ml = _hls4ml()
    project_dir = Path(project_dir)
    if not (project_dir / "project.tcl").is_file():
        raise DataError(f"{project_dir}: not an hls4ml project (no project.tcl)")
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
    row: dict = {"source": "vivado_hls", "project": str(project_dir)}
    for key, name in KEYS.items():
        if key in syn:
            row[name] = int(syn[key])
    for key in ("TargetClockPeriod", "EstimatedClockPeriod"):
        if key in syn:
            row[key] = float(syn[key])
    for key in ("BestLatency", "WorstLatency", "IntervalMin", "IntervalMax"):
        if key in syn:
            row[key] = int(syn[key])
    if "VivadoSynthReport" in rep:
        row["vivado_synth"] = rep["VivadoSynthReport"]
    row.update(percentages(row, U250))
    return row
