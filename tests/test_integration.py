"""The real workflow on the `quick` preset: Snakemake and `dvc repro` give the same bytes."""

import hashlib
import subprocess

import pytest

from jetad.data.images import read_images
from tests.conftest import copy_project

pytestmark = pytest.mark.integration
TARGETS = ["data/split/train.h5", "data/split/val.h5", "data/split/test.h5"]


def digests(workdir):
    files = sorted(p for p in (workdir / "data").rglob("*.h5"))
    return {str(p.relative_to(workdir)): hashlib.md5(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory, root):
    import os
    import sys
    from pathlib import Path

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    smk = copy_project(tmp_path_factory.mktemp("snakemake"))
    dvc = copy_project(tmp_path_factory.mktemp("dvc"))
    for workdir in (smk, dvc):
        subprocess.run(["jetad", "preset", "quick"], cwd=workdir, env=env, check=True)
    subprocess.run(["snakemake", "--cores", "2", *TARGETS], cwd=smk, env=env, check=True,
                   capture_output=True)
    subprocess.run(["git", "init", "-q"], cwd=dvc, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=dvc, env=env, check=True)
    subprocess.run(["dvc", "repro", "split"], cwd=dvc, env=env, check=True,
                   capture_output=True)
    return smk, dvc, env


def test_snakemake_and_dvc_produce_identical_bytes(quick_runs):
    smk, dvc, _ = quick_runs
    a, b = digests(smk), digests(dvc)
    assert set(TARGETS) <= set(a)
    assert a == b


def test_split_outputs_hold_what_the_preset_asks(quick_runs, root):
    smk, _, _ = quick_runs
    train, val, test = (read_images(smk / t) for t in TARGETS)
    assert (train.label == 0).all() and (val.label == 0).all()
    n_qcd = len(train) + len(val) + int((test.label == 0).sum())
    assert n_qcd == 2 * 200  # quick: 2 chunks of 200 QCD jets
    assert int((test.label == 1).sum()) == 2 * 60
    assert abs(int((test.label == 0).sum()) - 0.25 * n_qcd) <= 1
    assert train.images.shape[1:] == (40, 40)


def test_dvc_repro_on_an_unchanged_pipeline_does_nothing(quick_runs):
    _, dvc, env = quick_runs
    before = digests(dvc)
    out = subprocess.run(["dvc", "repro", "split"], cwd=dvc, env=env, check=True,
                         capture_output=True, text=True).stdout
    assert "didn't change" in out or "up to date" in out
    assert "Running stage" not in out
    assert digests(dvc) == before


def test_snakemake_reruns_nothing_when_done(quick_runs):
    smk, _, env = quick_runs
    out = subprocess.run(["snakemake", "-n", "--cores", "2", *TARGETS], cwd=smk, env=env,
                         check=True, capture_output=True, text=True)
    assert "Nothing to be done" in out.stdout + out.stderr
