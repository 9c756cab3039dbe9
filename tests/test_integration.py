"""The real workflow on the `quick` preset, end to end, through both engines.

Snakemake runs the pipeline in one copy of the project, `dvc repro` in another; the outputs
must be the same bytes, `dvc commit` after Snakemake must leave the same dvc.lock as
`dvc repro`, a second `dvc repro` must do nothing, push/pull must round-trip through the
default local remote, `dvc exp run -S` must work and `snakemake --report` must build.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jetad.data.images import read_images
from tests.conftest import copy_project

pytestmark = pytest.mark.integration
SPLIT = ["data/split/train.h5", "data/split/val.h5", "data/split/test.h5"]
TARGETS = ["results/roc.pdf", "results/metrics.json", "results/provenance.html"]
STAGES = ["evaluate", "provenance"]


def digests(workdir: Path, top: str) -> dict[str, str]:
    files = sorted(p for p in (workdir / top).rglob("*")
                   if p.is_file() and not p.name.startswith("."))
    return {str(p.relative_to(workdir)): hashlib.md5(p.read_bytes()).hexdigest() for p in files}


def run(cmd, cwd, env, **kw):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def git_dvc_init(workdir: Path, env) -> None:
    run(["git", "init", "-q"], workdir, env)
    run(["git", "config", "user.email", "ci@example.invalid"], workdir, env)
    run(["git", "config", "user.name", "ci"], workdir, env)
    run(["dvc", "init", "-q"], workdir, env)
    shutil.copy(Path(__file__).resolve().parents[1] / ".dvc" / "config",
                workdir / ".dvc" / "config")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    smk = copy_project(tmp_path_factory.mktemp("snakemake"))
    dvc = copy_project(tmp_path_factory.mktemp("dvc"))
    for workdir in (smk, dvc):
        run(["jetad", "preset", "quick"], workdir, env)
        git_dvc_init(workdir, env)
    run(["snakemake", "--cores", "2", *TARGETS], smk, env)
    run(["dvc", "repro", *STAGES], dvc, env)
    return smk, dvc, env


def test_engines_produce_identical_bytes(runs):
    smk, dvc, _ = runs
    data = digests(smk, "data")
    assert set(SPLIT) <= set(data)
    assert data == digests(dvc, "data")
    results = digests(smk, "results")
    assert set(TARGETS) <= set(results)
    assert results == digests(dvc, "results")


def test_split_outputs_hold_what_the_preset_asks(runs):
    smk, _, _ = runs
    train, val, test = (read_images(smk / t) for t in SPLIT)
    assert (train.label == 0).all() and (val.label == 0).all()
    n_qcd = len(train) + len(val) + int((test.label == 0).sum())
    assert n_qcd == 2 * 200  # quick: 2 chunks of 200 QCD jets
    assert int((test.label == 1).sum()) == 2 * 60
    assert abs(int((test.label == 0).sum()) - 0.25 * n_qcd) <= 1


def test_dvc_commit_after_snakemake_gives_the_same_lock(runs):
    smk, dvc, env = runs
    run(["dvc", "commit", "--force", "--with-deps", *STAGES], smk, env)
    lock_smk = yaml.safe_load((smk / "dvc.lock").read_text())
    lock_dvc = yaml.safe_load((dvc / "dvc.lock").read_text())
    assert set(lock_smk["stages"]) == set(lock_dvc["stages"])
    assert lock_smk == lock_dvc


def test_second_repro_does_nothing_and_snakemake_agrees(runs):
    smk, dvc, env = runs
    before = digests(dvc, "results")
    out = run(["dvc", "repro", *STAGES], dvc, env).stdout
    assert "Running stage" not in out
    assert digests(dvc, "results") == before
    dry = run(["snakemake", "-n", "--cores", "2", *TARGETS], smk, env)
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_push_and_pull_round_trip_on_a_fresh_clone(runs, tmp_path):
    _, dvc, env = runs
    run(["git", "add", "-A"], dvc, env)
    run(["git", "commit", "-qm", "quick run"], dvc, env)
    run(["dvc", "push"], dvc, env)
    assert any((dvc / ".dvc-storage").rglob("*"))
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(dvc), str(clone)], tmp_path, env)
    assert not (clone / "data" / "split" / "test.h5").exists()
    # the clone reads the first copy's storage: point the default remote at it
    run(["dvc", "remote", "modify", "--local", "local", "url", str(dvc / ".dvc-storage")],
        clone, env)
    # only the stages this test ran (the FPGA stages were not)
    run(["dvc", "pull", "--with-deps", *STAGES], clone, env)
    assert digests(clone, "data") == digests(dvc, "data")
    status = run(["dvc", "status", "--with-deps", *STAGES], clone, env).stdout
    assert "up to date" in status


def test_experiment_with_changed_epochs(runs):
    _, dvc, env = runs
    out = run(["dvc", "exp", "run", "-S", "train.epochs=1", "evaluate"], dvc, env)
    assert "Running stage 'train'" in out.stdout
    shown = run(["dvc", "exp", "show", "--json"], dvc, env).stdout
    assert '"train.epochs": 1' in shown or '"epochs": 1' in shown


def test_snakemake_report_builds(runs):
    smk, _, env = runs
    run(["snakemake", "--cores", "1", "--report", "results/report.html", *TARGETS], smk, env)
    report = (smk / "results" / "report.html").read_text()
    for piece in ("Provenance", "roc.pdf", "training.pdf"):
        assert piece in report
