"""Cluster submission: the SLURM profile on a real single-node SLURM, HTCondor by dry run."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.slurm import Slurm, available
from tests.conftest import copy_project

TARGETS = ["data/split/train.h5", "data/split/val.h5", "data/split/test.h5"]
VENV = str(Path(sys.executable).parent)


def digests(workdir: Path) -> dict[str, str]:
    return {str(p.relative_to(workdir)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted((workdir / "data").rglob("*.h5"))}


def prepare(workdir: Path, env: dict) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    copy_project(workdir)
    subprocess.run(["jetad", "preset", "quick"], cwd=workdir, env=env, check=True,
                   capture_output=True)
    return workdir


@pytest.mark.integration
@pytest.mark.cluster
@pytest.mark.skipif(not available(), reason="slurm-wlm and munge are not installed (.ci/run installs them)")
def test_slurm_profile_runs_the_quick_pipeline_with_local_bytes(tmp_path):
    cluster = Slurm(tmp_path / "slurm")
    cluster.start()
    daemons = list(cluster.procs)  # stop() empties cluster.procs
    try:
        env = cluster.env()
        env["PATH"] = f"{cluster.bin}{os.pathsep}{VENV}{os.pathsep}{os.environ['PATH']}"
        local = prepare(tmp_path / "local", env)
        subprocess.run(["snakemake", "--profile", "workflow/profiles/local", *TARGETS],
                       cwd=local, env=env, check=True, capture_output=True)
        remote = prepare(tmp_path / "slurm-run", env)
        run = subprocess.run(
            ["snakemake", "--profile", "workflow/profiles/slurm", "--slurm-no-account",
             "--jobs", "4", *TARGETS],
            cwd=remote, env=env, capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stderr[-3000:] + cluster.logs()
        # the jobs really went through SLURM
        assert "Job " in run.stderr and "has been submitted with SLURM jobid" in run.stderr
        assert digests(remote) == digests(local)
        assert set(TARGETS) <= set(digests(remote))
    finally:
        cluster.stop()
    # munged, slurmctld and slurmd were started, and stop() ended all three
    assert [p.args[0] for p in daemons] == ["munged", "slurmctld", "slurmd"]
    assert all(p.poll() is not None for p in daemons)


@pytest.mark.integration
def test_htcondor_profile_is_valid(tmp_path):
    env = dict(os.environ, PATH=f"{VENV}{os.pathsep}{os.environ['PATH']}")
    workdir = prepare(tmp_path, env)
    run = subprocess.run(["snakemake", "--profile", "workflow/profiles/htcondor", "--dry-run",
                          "results/roc.pdf"], cwd=workdir, env=env, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "rule train:" in run.stdout and "This was a dry-run" in run.stdout
