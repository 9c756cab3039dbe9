"""The programs a stage runs (Verilator, yosys, the C++ compiler) are checked before any work:
`jetad <stage>` says which is missing and how to install it before it reads an input, and the
workflow stops while it builds its graph, before its first job, when a rule it needs would run
one; a target that needs none (`make run`'s ROC) is not held up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jetad.pipeline import registry, values

VENV_BIN = Path(sys.executable).parent


def path_without(tmp_path: Path, *hidden: str) -> str:
    """A PATH with the venv's commands and every program of the system's PATH but `hidden`."""
    shown = tmp_path / "bin"
    shown.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not Path(folder).is_dir() or Path(folder) == VENV_BIN:
            continue
        for exe in Path(folder).iterdir():
            target = shown / exe.name
            if exe.name not in hidden and not target.exists() and os.access(exe, os.X_OK):
                target.symlink_to(exe)
    return os.pathsep.join([str(VENV_BIN), str(shown)])


@pytest.fixture
def params(root):
    return yaml.safe_load((root / "params.yaml").read_text())


def test_the_programs_follow_the_parameters(params):
    assert values.distill_tools(params) == ["verilator", "g++", "yosys"] \
        if params["distill"]["synthesize"] else ["verilator", "g++"]
    for stage in ("hls", "dse_emulate"):
        assert registry.pipeline_stage(stage).tools(params) == [params["hls"]["cxx"] or "g++"]
    assert registry.pipeline_stage("resources").tools({"resources": {"yosys": False}}) == []
    assert registry.pipeline_stage("train").tools is None


def test_a_stage_names_a_missing_program_before_it_reads_an_input(tmp_path, root):
    shutil.copy(root / "params.yaml", tmp_path)
    env = {**os.environ, "PATH": path_without(tmp_path, "verilator")}
    assert shutil.which("verilator", path=env["PATH"]) is None
    assert shutil.which("g++", path=env["PATH"]) is not None
    out = subprocess.run(
        ["jetad", "distill", "--train", "none.h5", "--val", "none.h5", "--test", "none.h5",
         "--vae", "none", "--reduced", "none", "--out", "s", "--scores", "s.h5",
         "--metrics", "m.json"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 2
    # the inputs do not exist: an error about them would mean they were read first
    assert out.stderr.strip().splitlines()[-1] == (
        "jetad distill: error: needs verilator on PATH (Debian: apt-get install verilator); "
        "nothing was read or written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "params.yaml"]


@pytest.mark.integration
def test_the_workflow_stops_before_its_first_job(tmp_path, copy_project):
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
    env = {**os.environ, "PATH": path_without(tmp_path, "verilator"),
           "PYTHONPATH": str(project / "src")}

    def dry(target):
        return subprocess.run(["snakemake", "-n", "--cores", "1", target], cwd=project,
                              env=env, capture_output=True, text=True)

    out = dry("results/trigger/metrics.json")
    assert out.returncode == 2, out.stdout + out.stderr
    assert ("jetad workflow: error: rule distill needs verilator on PATH (Debian: apt-get "
            "install verilator); no job was started") in out.stderr
    assert dry("results/roc.pdf").returncode == 0  # the ROC runs no such program
