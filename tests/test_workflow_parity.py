"""One declaration of each stage (jetad.pipeline.registry) gives `jetad <stage>`'s argparse,
the Snakemake rules and dvc.yaml. The generated files must be current, and each engine, asked
through its own interface, must run the same commands with the same inputs and outputs,
including the source files each stage runs (jetad.code_deps)."""

import difflib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from jetad.cli import build_parser
from jetad.code_deps import stage_files
from jetad.pipeline.__main__ import generated, main, stale
from jetad.pipeline.registry import STAGES
from jetad.pipeline.render import WRITE_COMMAND, dvc_command, sections
from jetad.pipeline.values import dvc_params
from tests.conftest import ROOT, copy_project

# Snakemake's dry run through its Python API: every job it would run, from the JOB_INFO events
# of its logging interface (the events logger plugins receive), as JSON on stdout.
SNAKEMAKE_JOBS = """
import json, logging, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import (ConfigSettings, DAGSettings, OutputSettings,
                                      ResourceSettings, StorageSettings)
from snakemake_interface_logger_plugins.common import LogEvent

jobs = []

class Jobs(logging.Handler):
    def emit(self, record):
        if getattr(record, "event", None) == LogEvent.JOB_INFO:
            jobs.append({k: getattr(record, k) for k in ("rule_name", "input", "output",
                                                         "shellcmd", "threads")})

logging.getLogger("snakemake").addHandler(Jobs())
with SnakemakeApi(OutputSettings(dryrun=True)) as api:
    workflow = api.workflow(snakefile=Path("Snakefile"), resource_settings=ResourceSettings(cores=2),
                            config_settings=ConfigSettings(), storage_settings=StorageSettings())
    workflow.dag(DAGSettings(targets={"all"}, forceall=True)).execute_workflow(
        pseudo_executor="dryrun")
json.dump(jobs, sys.stdout)
"""


def snakemake_jobs(workdir):
    """(command, inputs, outputs) of every job of `snakemake all`, and rule -> threads."""
    out = subprocess.run([sys.executable, "-c", SNAKEMAKE_JOBS], cwd=workdir,
                         capture_output=True, text=True, check=True).stdout
    jobs = [j for j in json.loads(out) if j["rule_name"] != "all"]
    return ([(j["shellcmd"].strip(), frozenset(j["input"]), frozenset(j["output"]))
             for j in jobs], {j["rule_name"]: j["threads"] for j in jobs})


def dvc_stages(workdir):
    """(command, deps, outs) of every stage of dvc.yaml as DVC resolves it (matrix, templates),
    and stage -> the params.yaml sections it depends on."""
    from dvc.repo import Repo

    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=workdir, check=True)
    with Repo(str(workdir)) as repo:
        stages = list(repo.index.stages)
        outs = {str(o.def_path) for s in stages for o in s.outs}
        result, params = [], {}
        for s in stages:
            deps = set()
            for d in s.deps:
                if d.__class__.__name__ == "ParamsDependency":
                    params[s.name.split("@")[0]] = list(d.params)
                    continue
                path = str(d.def_path)
                inside = {o for o in outs if o.startswith(path.rstrip("/") + "/")}
                deps |= inside or {path}  # a folder dep stands for the stage outs inside it
            result.append((s.cmd, frozenset(deps), frozenset(str(o.def_path) for o in s.outs)))
        return result, params


@pytest.mark.integration
@pytest.mark.parametrize("preset", ["default", "quick"])
def test_snakemake_and_dvc_run_the_same_jobs(tmp_path, env_path, preset):
    copy_project(tmp_path)
    subprocess.run(["jetad", "preset", preset], cwd=tmp_path, check=True, capture_output=True)
    # HLS synthesis is Snakemake-only (dvc.yaml cannot add stages by a parameter) and `auto`
    # turns it on wherever vivado_hls is on PATH: compare with it off on any machine
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["resources"]["synthesis"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    smk, threads = snakemake_jobs(tmp_path)
    dvc, dvc_sections = dvc_stages(tmp_path)
    assert len(smk) == len(dvc) >= 12
    assert sorted(smk, key=str) == sorted(dvc, key=str)
    dvc_declared = [s for s in STAGES if "dvc" in s.engines]
    assert dvc_sections == {s.name: sections(s, params) for s in dvc_declared}
    # the threads a rule asks for are those its DVC command passes (pixelize --threads)
    assert {s.name: threads[s.name] for s in dvc_declared} == {
        s.name: s.threads or 1 for s in dvc_declared}


def test_generated_files_are_current(root):
    assert stale(root) == [], f"run `{WRITE_COMMAND}`"
    assert main(["--root", str(root)]) == 0


def test_every_command_the_engines_run_parses(root):
    """The commands written into both engines' files are valid for the argparse built from
    the same declaration, and pass every required argument."""
    params = dvc_params(yaml.safe_load((root / "params.yaml").read_text()))
    parser = build_parser()
    for stage in STAGES:
        # a DVC matrix item as a job would have it (a chunk is a number)
        command = re.sub(r"\$\{item\.(\w+)\}",
                         lambda m: "0" if m.group(1) == "chunk" else m.group(1),
                         dvc_command(stage, params))
        words = command.split()
        args = parser.parse_args(words[1:])
        assert args.command == stage.name and args.log
        for arg in stage.args:
            if arg.required:
                assert arg.flag in words, (stage.name, arg.flag)


def test_help_imports_no_stage_module(env_path):
    """`jetad --help` builds every parser from the registry without importing a stage."""
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from jetad.cli import build_parser; "
         "build_parser().format_help(); print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True).stdout.split()
    modules = {c.module for c in STAGES}
    assert "jetad.pipeline.registry" in out
    assert not modules & set(out)
    assert not {"numpy", "tensorflow", "yaml", "h5py"} & set(out)


def test_code_deps_follow_imports_data_files_and_sections(root):
    pixelize = stage_files("pixelize", ["pixelize"], root)
    # the stage, what it imports inside run(), the entry point, parameters and their schema
    for path in ("data/pixelize.py", "data/layout.py", "data/images.py", "cli.py", "params.py",
                 "__init__.py", "data/__init__.py", "schema/top.json", "schema/pixelize.json",
                 "pipeline/registry.py"):
        assert f"src/jetad/{path}" in pixelize
    # not another stage's code, nor the schema of a section the stage does not read, nor the
    # generator (it writes the workflow files, no stage runs it)
    for path in ("data/generate.py", "stages/train.py", "schema/train.json",
                 "pipeline/render.py", "pipeline/values.py"):
        assert f"src/jetad/{path}" not in pixelize
    hls = stage_files("hls", ["hls"], root)
    assert "src/jetad/fpga/nnet_instancenorm.h" in hls  # named by fpga/instancenorm.py
    assert "src/jetad/fpga/nnet_conv2d_csim.h" in hls


def test_a_new_import_makes_dvc_yaml_stale(tmp_path, capsys):
    copy_project(tmp_path)
    module = tmp_path / "src/jetad/data/split.py"
    # an import inside a function counts as much as one at the top
    module.write_text(module.read_text() + "\n\ndef _later():\n    from jetad.analysis import metrics\n")
    assert main(["--root", str(tmp_path)]) == 1
    assert WRITE_COMMAND in capsys.readouterr().err
    assert stale(tmp_path) == ["dvc.yaml"]
    current = (tmp_path / "dvc.yaml").read_text()
    diff = difflib.unified_diff(current.splitlines(), generated(tmp_path)["dvc.yaml"].splitlines(),
                                n=0, lineterm="")
    changed = [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    # the module and its package's __init__, which Python runs first
    assert changed == ["+      - src/jetad/analysis/__init__.py", "+      - src/jetad/analysis/metrics.py"]
    assert main(["--root", str(tmp_path), "--write"]) == 0
    assert main(["--root", str(tmp_path)]) == 0
    split = yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]["split"]["deps"]
    assert "src/jetad/analysis/metrics.py" in split and "data/images/images.h5" in split


def test_dvc_generates_the_signals_of_params_yaml(tmp_path):
    """dvc.yaml's generate matrix is written from generate.signals (DVC cannot join qcd to a
    parameter's list); changing them makes dvc.yaml stale until it is rewritten."""
    copy_project(tmp_path)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["generate"]["signals"] = ["top", "w"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert stale(tmp_path) == ["dvc.yaml"]
    assert main(["--root", str(tmp_path), "--write"]) == 0
    dvc = yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]
    assert dvc["generate"]["matrix"]["process"] == ["qcd", "top", "w"]
    assert "data/jets/w.h5" in dvc["pixelize"]["cmd"].split()


def test_the_workflow_profile_compares_the_content_of_large_inputs(tmp_path, env_path):
    """profiles/default (which Snakemake loads by itself) lifts the 1 MB limit under which
    Snakemake compares an input newer than the outputs with the content it recorded: a 3 MB
    input rewritten with the same bytes (as `dvc commit` does) reruns nothing; without the
    profile, it would rerun; changed bytes rerun."""
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    (tmp_path / "Snakefile").write_text(
        'rule b:\n    input: "a.bin"\n    output: "b.bin"\n    shell: "cp {input} {output}"\n')
    (tmp_path / "a.bin").write_bytes(bytes(3 * 10**6))

    def plan(*extra):
        out = subprocess.run([str(env_path / "snakemake"), "-n", "--summary", "--cores", "1",
                              *extra, "b.bin"], cwd=tmp_path, capture_output=True, text=True,
                             check=True).stdout
        return out.strip().splitlines()[-1].split("\t")[-1]

    subprocess.run([str(env_path / "snakemake"), "--cores", "1", "b.bin"], cwd=tmp_path,
                   check=True, capture_output=True)
    later = (tmp_path / "b.bin").stat().st_mtime + 60
    os.utime(tmp_path / "a.bin", (later, later))
    assert plan() == "no update"
    assert plan("--workflow-profile", "none") == "update pending"
    (tmp_path / "a.bin").write_bytes(bytes(3 * 10**6 - 1) + b"x")
    os.utime(tmp_path / "a.bin", (later, later))
    assert plan() == "update pending"
