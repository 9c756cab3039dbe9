"""HLS C synthesis of hls4ml layer projects, on machines that have the (proprietary) tool.

`resources.synthesis` switches it: true, false or auto (on when the tool of `hls.backend` is on
PATH). The projects synthesized are those `jetad hls` writes for one mode, `layer` when
`hls.parts` has it, else `block` (synthesizing both would give two reports per layer name). Each
is a separate Snakemake job, so on a cluster the layers are synthesized side by side. This module
has no heavy imports at module level: the Snakefile uses it to list the jobs.

A project is synthesized in a copy (`synthesize`), so `results/hls` stays as `jetad hls` wrote
it (Snakemake refuses outputs inside another rule's output directory, and DVC caches that
folder); the copy, with its reports, is then read like a project synthesized elsewhere.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from jetad.atomic import atomic_dir
from jetad.errors import ConfigError, DataError, JetadError
from jetad.params import default

# the command hls4ml's backend runs for `build` (hls4ml 1.3: VivadoBackend, VitisBackend)
TOOLS = {"vivado": "vivado_hls", "vitis": "vitis-run"}
LOGIC_TOOL = "vivado"  # build_prj.tcl runs `vivado -mode batch` for vsynth
MODES = ("layer", "block")


def tool(backend: str) -> str:
    try:
        return TOOLS[backend.lower()]
    except KeyError:
        raise JetadError(f"hls4ml backend {backend!r} cannot be synthesized here (known: "
                         f"{', '.join(TOOLS)})") from None


def mode(hls: dict) -> str | None:
    """The mode whose projects are synthesized, or None when hls.parts has neither."""
    return next((m for m in MODES if m in hls.get("parts", default("hls", "parts"))), None)


def enabled(params: dict) -> bool:
    """Whether to synthesize, from resources.synthesis (true/false/auto) and the PATH."""
    value = params["resources"].get("synthesis", default("resources", "synthesis"))
    hls = params["hls"]
    if value == "auto":
        backend = hls.get("backend", default("hls", "backend"))
        return mode(hls) is not None and shutil.which(tool(backend)) is not None
    if value and mode(hls) is None:
        raise ConfigError("resources.synthesis is true but hls.parts has neither 'layer' nor "
                          f"'block' (it is {hls['parts']}): there is no layer project to "
                          "synthesize")
    return bool(value)


def part_names(hls: dict) -> list[str]:
    """The layer/block parts `jetad hls` writes (`jetad.fpga.hls4ml.parts.split`), after hls.only."""
    # light: the Snakefile lists the jobs from this module; the model module's numpy waits
    from jetad.models.reduced_encoder import LAYOUT

    names = [name for name, *_ in LAYOUT] + ["heads"]
    only = hls.get("only", default("hls", "only"))
    return [n for n in names if not only or n in only]


def projects(params: dict) -> list[str]:
    """'<mode>/<part>' of every project to synthesize; empty when synthesis is off."""
    if not enabled(params):
        return []
    m = mode(params["hls"])
    return [f"{m}/{name}" for name in part_names(params["hls"])]


def missing_tools(backend: str, logic: bool) -> list[str]:
    need = [tool(backend)] + ([LOGIC_TOOL] if logic else [])
    return [t for t in need if shutil.which(t) is None]


def check_tools(project_dir, logic: bool = False) -> str:
    """The project's backend; raises JetadError naming every tool missing from PATH."""
    # light: the Snakefile lists the jobs from this module; the report reader's imports wait
    from jetad.fpga.hls4ml.vivado_report import backend

    b = backend(project_dir)
    missing = missing_tools(b, logic)
    if not missing:
        return b
    hint = ""
    other = next((k for k, t in TOOLS.items() if k != b and shutil.which(t)), None)
    if other:
        hint = (f" ({TOOLS[other]} is on PATH: write the projects for it with hls.backend: "
                f"{other.capitalize()})")
    raise JetadError(
        f"{project_dir}: synthesizing this hls4ml {b.capitalize()} project needs "
        f"{' and '.join(missing)} on PATH, not found{hint}. Run it where the Xilinx tools are "
        "installed (e.g. after `source <Xilinx>/settings64.sh`), or set resources.synthesis: "
        "false to keep the open estimates only")


def _log_tail(project_dir: Path, lines: int = 20) -> str:
    for name in ("vivado_hls.log", "build_stdout.log", "build_stderr.log"):
        log = project_dir / name
        if log.is_file():
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            return f"last lines of {name}:\n" + "\n".join(tail)
    return "the tool wrote no log"


def synthesize(project_dir, out_dir, logic: bool = False, logger=None) -> dict:
    """Copy an hls4ml project to `out_dir`, run C synthesis (and Vivado logic synthesis with
    `logic`) through hls4ml's backend build, and return its report row (`report.read`).

    `out_dir` appears only when the report is there; before any work, a missing tool or a
    folder that is not an hls4ml project is refused with a JetadError naming it.
    """
    # light: as in check_tools()
    from jetad.fpga.hls4ml import vivado_report as report
    from jetad.fpga.hls4ml.compat import import_hls4ml

    project_dir, out_dir = Path(project_dir), Path(out_dir)
    b = check_tools(project_dir, logic)
    if not (project_dir / "hls4ml_config.yml").is_file():
        raise DataError(f"{project_dir}: no hls4ml_config.yml (written by hls4ml's "
                        "ModelGraph.write; rerun jetad hls)")
    hls4ml = import_hls4ml()
    with atomic_dir(out_dir) as tmp:
        # the g++ emulation library is no HLS source and can be large
        shutil.copytree(project_dir, tmp, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.so"))
        linked = hls4ml.converters.link_existing_project(str(tmp))
        # hls4ml_config.yml holds the output dir as `jetad hls` saw it (often relative to the
        # project root); the backend's build changes into it, so point it at the copy
        linked.config.config["OutputDir"] = str(tmp.resolve())
        options = dict(reset=False, csim=False, synth=True, cosim=False, validation=False,
                       export=False, vsynth=logic)
        if b == "vitis":
            options["log_to_stdout"] = False  # keep the tool's output in the project
        if logger:
            logger.info("%s: %s synthesis of %s (%s)", project_dir, tool(b),
                        linked.config.get_project_name(),
                        "C + logic synthesis" if logic else "C synthesis")
        try:
            linked.build(**options)
        except Exception as exc:  # hls4ml raises bare Exceptions when the tool fails
            raise JetadError(f"{project_dir}: {tool(b)} failed ({exc}); "
                             f"{_log_tail(tmp)}") from exc
        try:
            row = report.read(tmp)
        except DataError as exc:
            raise JetadError(f"{project_dir}: {tool(b)} wrote no synthesis report ({exc}); "
                             f"{_log_tail(tmp)}") from exc
        if logic and "vivado_synth" not in row:
            raise JetadError(f"{project_dir}: logic synthesis wrote no vivado_synth.rpt; "
                             f"{_log_tail(tmp)}")
    row["project"] = str(out_dir)
    return row
