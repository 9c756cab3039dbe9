"""pixelize spread over jobs (pixelize.parts > 1): the part jobs and their gather in both
engines' files, Snakemake's plan, and a real Snakemake run whose gathered file is the bytes of
one job's."""

from __future__ import annotations

import os
import subprocess
from collections import Counter

import pytest
import yaml

from jetad.data.layout import write_jets
from jetad.pipeline.__main__ import main as pipeline_main

pytestmark = pytest.mark.integration  # Snakemake's plan and a real run

# 23 jets, one chunk of the image file: the last part holds it, the others are empty (the
# gather's chunk by chunk copies are tested on the command, tests/stages/test_pixelize.py)
JETS = {"qcd": 7, "top": 5, "w": 5, "z": 6}
PARTS = [f"data/images/parts/{k}.h5" for k in range(3)]


@pytest.fixture
def project(tmp_path, env_path, copy_project, root):
    """A project copy with pixelize.parts 3 and its generated files rewritten for it."""
    copy_project(tmp_path)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["pixelize"]["parts"] = 3
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert pipeline_main(["--write", "--root", str(tmp_path)]) == 0
    return tmp_path


def test_three_parts_are_three_dvc_stages_and_a_gather(project, root):
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert "pixelize" not in stages
    part, gather = stages["pixelize_part"], stages["pixelize_gather"]
    assert part["matrix"] == {"part": [0, 1, 2]}
    assert "--part ${item.part} --parts 3" in part["cmd"]
    assert part["outs"] == ["data/images/parts/${item.part}.h5"]
    assert gather["cmd"].startswith("jetad pixelize --out data/images/images.h5 --gather "
                                    + " ".join(PARTS) + " ")
    assert gather["deps"][:3] == PARTS and gather["outs"] == ["data/images/images.h5"]
    # Snakemake's rules read the parameter when they build the graph: their file stays
    smk = "workflow/rules/stages.smk"
    assert (project / smk).read_text() == (root / smk).read_text()
    # the other stages as they were
    committed = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    assert {k: v for k, v in stages.items() if not k.startswith("pixelize")} == {
        k: v for k, v in committed.items() if k != "pixelize"}


def test_snakemake_plans_three_part_jobs_and_one_gather(project, snakemake_jobs):
    jobs = snakemake_jobs(project, "data/images/images.h5")
    rules = Counter(j["rule_name"] for j in jobs)
    assert rules["pixelize_part"] == 3 and rules["pixelize_gather"] == 1
    assert "pixelize" not in rules
    parts = sorted((j for j in jobs if j["rule_name"] == "pixelize_part"),
                   key=lambda j: j["output"])
    for k, job in enumerate(parts):
        assert job["output"] == [PARTS[k]]
        assert f"--part {k} --parts 3 " in job["shellcmd"]
    (gather,) = (j for j in jobs if j["rule_name"] == "pixelize_gather")
    assert [f for f in gather["input"] if f.startswith("data/")] == PARTS
    assert gather["output"] == ["data/images/images.h5"]


@pytest.fixture
def with_jets(project, make_jets, jetad):
    """The project with small jet files of the four processes, and one.h5: `jetad pixelize`
    of them in one job."""
    (project / "data/jets").mkdir(parents=True)
    for seed, (name, n) in enumerate(JETS.items()):
        jets = make_jets(n, seed)
        jets.label[:] = int(name != "qcd")
        write_jets(project / f"data/jets/{name}.h5", jets)
    jetad(project, "pixelize", "--in", *(f"data/jets/{name}.h5" for name in JETS),
          "--out", "one.h5", "--threads", "2")
    return project


def _run(workdir, *command):
    """A real engine's run in workdir, on the copy's source."""
    env = dict(os.environ, PYTHONPATH=str(workdir / "src"))
    run = subprocess.run(["nice", "-n", "10", *command], cwd=workdir, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    return run.stdout + run.stderr


def test_a_snakemake_run_of_the_parts_writes_the_bytes_of_one_job(with_jets, env_path):
    """The part jobs and the gather run by Snakemake (the rules before pixelize not allowed
    to run, so that the small jet files stand)."""
    out = _run(with_jets, str(env_path / "snakemake"), "--cores", "2", "data/images/images.h5",
               "--allowed-rules", "pixelize_part", "pixelize_gather")
    assert "4 of 4 steps (100%) done" in out
    assert (with_jets / "data/images/images.h5").read_bytes() == (
        with_jets / "one.h5").read_bytes()
    log = (with_jets / "logs/pixelize/gather.log").read_text()
    assert "wrote data/images/images.h5: 23 images (7 qcd, 5 top, 5 w, 6 z)" in log


def test_a_dvc_repro_of_the_parts_writes_the_bytes_of_one_job(with_jets, env_path):
    """The three matrix stages and the gather of dvc.yaml run by DVC (those stages only),
    then up to date."""
    dvc = str(env_path / "dvc")
    _run(with_jets, dvc, "init", "--no-scm", "-q")
    out = _run(with_jets, dvc, "repro", "--single-item", "pixelize_part", "pixelize_gather")
    assert out.count("Running stage 'pixelize_part@") == 3
    assert (with_jets / "data/images/images.h5").read_bytes() == (
        with_jets / "one.h5").read_bytes()
    assert "up to date" in _run(with_jets, dvc, "status", "pixelize_part", "pixelize_gather")
