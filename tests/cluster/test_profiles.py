"""Workflow profiles: the SLURM profile on a real single-node SLURM, HTCondor by dry run, and
profiles/default, which Snakemake loads by itself."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.slurm import Slurm, available

TARGETS = ["data/split/train.h5", "data/split/val.h5", "data/split/test.h5"]
VENV = str(Path(sys.executable).parent)


def digests(workdir: Path) -> dict[str, str]:
    return {str(p.relative_to(workdir)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted((workdir / "data").rglob("*.h5"))}


@pytest.fixture
def prepare(copy_project):
    """prepare(workdir, env): a copy of the project in workdir, on the quick preset."""

    def prepared(workdir: Path, env: dict) -> Path:
        workdir.mkdir(parents=True, exist_ok=True)
        copy_project(workdir)
        subprocess.run(["jetad", "preset", "quick"], cwd=workdir, env=env, check=True,
                       capture_output=True)
        return workdir

    return prepared


@pytest.mark.integration
@pytest.mark.cluster
@pytest.mark.skipif(not available(), reason="slurm-wlm and munge are not installed (.ci/run installs them)")
def test_slurm_profile_runs_the_quick_pipeline_with_local_bytes(tmp_path, prepare):
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
def test_htcondor_profile_is_valid(tmp_path, prepare):
    env = dict(os.environ, PATH=f"{VENV}{os.pathsep}{os.environ['PATH']}")
    workdir = prepare(tmp_path, env)
    run = subprocess.run(["snakemake", "--profile", "workflow/profiles/htcondor", "--dry-run",
                          "results/roc.pdf"], cwd=workdir, env=env, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "rule train:" in run.stdout and "This was a dry-run" in run.stdout


def test_the_workflow_profile_compares_the_content_of_large_inputs(tmp_path, env_path, root):
    """profiles/default (which Snakemake loads by itself) lifts the 1 MB limit under which
    Snakemake compares an input newer than the outputs with the content it recorded: a 3 MB
    input rewritten with the same bytes (as `dvc commit` does) reruns nothing; without the
    profile, it would rerun; changed bytes rerun."""
    shutil.copytree(root / "profiles", tmp_path / "profiles")
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
