"""The parts of the pipeline that depend on params.yaml (the FromParams and `when` of
jetad.pipeline.registry). Snakemake calls these on its `config` when it builds the graph
(the generated rules import them); `python -m jetad.pipeline --write` calls them on
dvc_params() to write dvc.yaml, whose stages describe one configuration.

The registry refers to these functions, and `jetad --help` imports the registry: each
function imports what it needs (jetad.params and its yaml and jsonschema, hls4ml's helpers)
when called, so that building the parser stays light (tests/test_cli.py).
"""

from __future__ import annotations

import copy
import re


def dvc_params(params: dict) -> dict:
    """The configuration dvc.yaml describes: params.yaml with the offline source and without
    HLS synthesis. DVC cannot choose stages by a parameter: the download source and the
    synthesis jobs are Snakemake's (README, "Data sources")."""
    params = copy.deepcopy(params)
    params["data"]["source"] = "generate"
    params["resources"]["synthesis"] = False
    return params


def source(params: dict) -> str:
    return params["data"]["source"]


def generated_processes(params: dict) -> list[str]:
    """generate.backgrounds and generate.signals: the processes of the generate jobs."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.data.jets import processes

    return processes("generate", params)


def jet_files(params: dict) -> list[str]:
    """data/jets/<process>.h5 of every process `jetad jets` writes for data.source."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.data.jets import processes

    return [f"data/jets/{p}.h5" for p in processes(source(params), params)]


def particle_level(params: dict) -> bool:
    """Whether the jet files keep JetNet's particle arrays (jets that came in its layout)."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.data.jets import jetnet_layout

    return jetnet_layout(source(params), params)


def jets_in(params: dict) -> str:
    """What `jetad jets --in` reads: the folder of a source's files, or the user's file."""
    if source(params) == "jetnet":
        # deferred: the registry, and so `jetad --help`, imports this module (see above)
        from jetad.params import default

        return params["data"].get("jetnet_dir", default("data", "jetnet_dir"))
    return {"generate": "data/chunks", "download": "data/download"}.get(
        source(params), params["data"]["file"])


def jets_source_files(params: dict) -> list[str]:
    """The files of jets_in that data.source uses (the generate and download jobs' outputs)."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.data.jets import input_files

    return input_files(source(params), jets_in(params), params)


def _pixelize_parts(params: dict) -> int:
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.params import default

    return int(params["pixelize"].get("parts", default("pixelize", "parts")))


def pixelize_whole(params: dict) -> bool:
    """One pixelize job (pixelize.parts 1, the default)."""
    return _pixelize_parts(params) == 1


def pixelize_scattered(params: dict) -> bool:
    """pixelize.parts jobs over the jets' rows, and one that gathers them."""
    return _pixelize_parts(params) > 1


def pixelize_parts(params: dict) -> str:
    """`jetad pixelize --parts`."""
    return str(_pixelize_parts(params))


def pixelize_part_ids(params: dict) -> list[int]:
    return list(range(_pixelize_parts(params)))


def pixelize_part_files(params: dict) -> list[str]:
    """The part files the gather reads, in order."""
    return [f"data/images/parts/{k}.h5" for k in pixelize_part_ids(params)]


def synth_projects(params: dict) -> list[str]:
    """'<mode>/<part>' of every project to synthesize; empty when synthesis is off."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.fpga.hls4ml.synth import projects

    return projects(params)


def synth_outputs(params: dict) -> list[str]:
    return [f"results/synth/{p}" for p in synth_projects(params)]


def copied_back(params: dict) -> list[str]:
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.params import default

    return list(params["resources"].get("reports", default("resources", "reports")))


def logic_synthesis(params: dict) -> str:
    """`jetad synth --logic-synthesis`: on or off, as resources.logic_synthesis says."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.params import default

    on = params["resources"].get("logic_synthesis", default("resources", "logic_synthesis"))
    return "on" if on else "off"


def gpu(params: dict) -> int:
    return 1 if params.get("preset") == "thesis" else 0


# --- the FPGA design-space scan (params.yaml's `dse:` grid) --------------------------------

def dse_precisions(params: dict) -> list[str]:
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.fpga.dse import precision_name

    return [precision_name(b, i) for b, i in params["dse"]["precisions"]]


def dse_io_types(params: dict) -> list[str]:
    return list(params["dse"]["io_types"])


def dse_strategies(params: dict) -> list[str]:
    return list(params["dse"]["strategies"])


def dse_reuse_factors(params: dict) -> list[int]:
    return [int(r) for r in params["dse"]["reuse_factors"]]


def dse_point_files(params: dict) -> list[str]:
    """results/dse/<precision>/<io_type>/<strategy>/rf<reuse>/point.json of every point."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.fpga.dse import point_path, points

    return [f"results/dse/{point_path(**p)}/point.json" for p in points(params["dse"])]


# --- the beta / capacity scan and the seed repeats (params.yaml's `scan:`) -------------------

def _runs(group: str, params: dict) -> list[str]:
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.analysis import scan

    return [f"results/{group}/{name}"
            for name in (scan.points(params) if group == "scan" else scan.seeds(params))]


def scan_runs(params: dict) -> str:
    """`jetad scan table --runs`: the folder of every scan point."""
    return " ".join(_runs("scan", params))


def seed_runs(params: dict) -> str:
    return " ".join(_runs("seeds", params))


def scan_run_files(params: dict) -> list[str]:
    """The files of every scan point that the table reads."""
    return [f"{run}/{f}" for run in _runs("scan", params) for f in RUN_FILES]


def seed_run_files(params: dict) -> list[str]:
    """The files of every seed repeat that the spread and the seed ensemble read."""
    return [f"{run}/{f}" for run in _runs("seeds", params) for f in (*RUN_FILES, "scores.h5")]


RUN_FILES = ("params.yaml", "training_metrics.json", "metrics.json")


def seed_repeats(params: dict) -> list[int]:
    """The `seeds` target exists only with seeds to run (the quick preset has none): asked
    for without, Snakemake says no rule makes it rather than writing an empty table."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.analysis import scan

    return scan.seeds(params)


def run_sections(params: dict):
    """Snakemake's params of a job of one run, a function of its wildcards: the part of the
    run's parameters its stages read, so that a change of a point, a seed or a default that a
    point keeps reruns that run only."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.analysis import scan

    return lambda wildcards: scan.sections(scan.run_params(params, wildcards.group,
                                                           wildcards.run), wildcards.group)


# --- the inverse task (trained on top, QCD the anomaly; jetad.analysis.scan.INVERSE) ---------

def inverse_runs(params: dict) -> str:
    """`jetad scan inverse --runs`: the folder of every inverse run."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.analysis import scan

    return " ".join(f"results/inverse/{run}" for run in scan.INVERSE)


def inverse_run_files(params: dict) -> list[str]:
    """The files of every inverse run that its table reads."""
    return [f"{run}/{f}" for run in inverse_runs(params).split() for f in RUN_FILES]


def inverse_sections(params: dict):
    """Snakemake's params of an inverse run's job, a function of its wildcards (see
    run_sections)."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.analysis import scan

    return lambda wildcards: scan.sections(scan.run_params(params, "inverse", wildcards.run),
                                           "inverse")


def inverse_nae_sections(params: dict):
    """Snakemake's params of an inverse run's NAE jobs: an inverse run's (inverse_sections)
    and the sections the NAE reads besides."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.analysis import scan

    def of(wildcards):
        run = scan.run_params(params, "inverse", wildcards.run)
        return {**scan.sections(run, "inverse"),
                **{k: run[k] for k in ("baseline", "nae") if k in run}}

    return of


def inverse_pattern(params: dict) -> str:
    """The backgrounds of the inverse runs, as a wildcard constraint."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.analysis import scan

    return "|".join(re.escape(r) for r in scan.INVERSE)


def pipeline_runs(params: dict) -> list[str]:
    """The runs ('<group>/<run>') that are the pipeline's own (jetad.analysis.scan)."""
    # deferred: the registry, and so `jetad --help`, imports this module (see above)
    from jetad.analysis import scan

    return scan.pipeline_runs(params)


def pipeline_run_pattern(params: dict) -> str:
    return "|".join(re.escape(r) for r in pipeline_runs(params))


# --- the external programs a stage runs (checked before it reads anything) -----------------

def hls_tools(params) -> list[str]:
    """The compiler of the emulation libraries (hls.cxx, g++ when unset)."""
    return [params["hls"]["cxx"] or "g++"]


def distill_tools(params) -> list[str]:
    """Verilator and the C++ compiler that builds its model, yosys when the student is
    synthesized (distill.synthesize)."""
    return ["verilator", "g++", *(["yosys"] if params["distill"]["synthesize"] else [])]


def resources_tools(params) -> list[str]:
    """yosys when the small kernels get real LUT/FF counts (resources.yosys)."""
    return ["yosys"] if params["resources"]["yosys"] else []
