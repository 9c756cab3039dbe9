"""`jetad dse` end to end on a tiny model, run by DVC from the generated workflow/dse/dvc.yaml:
the QAT at one precision, the bit-exact emulation of the whole encoder, one point (its hls4ml
project and analytic row carrying the emulated AUC) and the table with its Pareto flags and
figure; Snakemake then finds nothing to do, and a grid changed without rewriting the job lists
is refused in one line."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from jetad.data.images import write_images
from jetad.pipeline.render import DSE_DVC_FILE

POINT = "results/dse/p8_3/io_stream/Resource/rf4"
DSE_RULES = ["dse_qat", "dse_emulate", "dse_point", "dse"]


def _run(cmd, cwd, env, check=True):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0 or not check, f"{cmd}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def dse_run(tmp_path_factory, copy_project, tiny_train, fake_jets, jetad):
    """A project copy holding the main pipeline's outputs the scan reads (a tiny split and
    JointVAE) as given files, the one-point grid's job lists written, and `dvc repro
    workflow/dse/dvc.yaml` run. Returns (folder, environment, DVC's output)."""
    d = copy_project(tmp_path_factory.mktemp("dse"))
    split = d / "data" / "split"
    split.mkdir(parents=True)
    write_images(split / "train.h5", fake_jets(96, 0, 1))
    write_images(split / "val.h5", fake_jets(32, 0, 2))
    write_images(split / "test.h5", fake_jets(40, 40, 3))
    params = yaml.safe_load((d / "params.yaml").read_text())
    params["train"] = {**tiny_train, "epochs": 1, "max_train_jets": 96}
    # the Snakefile checks the beta / capacity points against the train section: none for the tiny model
    params["scan"] = {"points": {}, "seeds": []}
    params["qat"].update(epochs=1, max_images=96, batch_size=32)
    params["dse"] = {**params["dse"], "precisions": [[8, 3]], "io_types": ["io_stream"],
                     "strategies": ["Resource"], "reuse_factors": [4], "n_images": 30}
    (d / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    jetad(d, "train", "--train", "data/split/train.h5", "--val", "data/split/val.h5", "--model",
          "results/model/jointvae", "--metrics", "results/training_metrics.json")
    env = dict(os.environ, PYTHONPATH=str(d / "src"),
               PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")
    _run([sys.executable, "-m", "jetad.pipeline", "--dse"], d, env)
    # the split and the model are given files here, not the main pipeline's outputs
    (d / "dvc.yaml").unlink()
    _run(["dvc", "init", "--no-scm", "-q"], d, env)
    out = _run(["dvc", "repro", DSE_DVC_FILE], d, env).stdout
    return d, env, out


@pytest.mark.build
@pytest.mark.integration
def test_dvc_runs_the_scan_from_its_own_pipeline_file(dse_run):
    d, _, out = dse_run
    ran = sorted(line.split("'")[1] for line in out.splitlines()
                 if line.startswith("Running stage"))
    assert ran == [f"{DSE_DVC_FILE}:{s}" for s in (
        "dse", "dse_emulate@p8_3", "dse_point@p8_3-io_stream-Resource-4", "dse_qat@p8_3")]
    lock = yaml.safe_load((d / "workflow/dse/dvc.lock").read_text())["stages"]
    assert set(lock) == {"dse", "dse_qat@p8_3", "dse_emulate@p8_3",
                         "dse_point@p8_3-io_stream-Resource-4"}
    # a second repro finds everything up to date
    again = _run(["dvc", "repro", DSE_DVC_FILE], d, dse_run[1]).stdout
    assert "Running stage" not in again


@pytest.mark.build
@pytest.mark.integration
def test_one_point_end_to_end(dse_run):
    from jetad.fpga.estimate.design import COLUMNS, precision_of
    from jetad.models.reduced_encoder import load_qmodel

    d = dse_run[0]
    assert precision_of(load_qmodel(str(d / "results/dse/p8_3/qencoder.h5"))) == (8, 3)
    emu = json.loads((d / "results/dse/p8_3/emulation.json").read_text())
    assert emu["n_images"] == 30 and emu["configuration"] == "io_parallel/Latency/rf1/<8,3>"
    assert set(emu["hls_emulation"]["kl_total"]) == {"all", "top"}
    # one signal: the combined AUC is that signal's
    assert emu["hls_emulation"]["kl_total"]["all"] == emu["hls_emulation"]["kl_total"]["top"]
    row = json.loads((d / POINT / "point.json").read_text())
    assert set(COLUMNS) <= set(row)
    assert (row["config"], row["source"]) == ("io_stream/Resource/rf4/<8,3>", "analytic")
    assert row["auc_top"] == emu["hls_emulation"]["kl_total"]["top"]
    assert row["LUT_pct"] > 0 and row["latency_ns"] == 5.0 * row["latency_cycles"] > 0
    # hls4ml's YAML holds its own tags (!keras_model): read as text
    config = (d / POINT / "project/hls4ml_config.yml").read_text()
    assert "IOType: io_stream" in config and "Strategy: Resource" in config
    assert (d / POINT / "project/firmware/encoder.cpp").is_file()
    (rec,) = list(csv.DictReader((d / "results/dse/dse.csv").open()))
    assert rec["pareto_LUT_pct"] == rec["pareto_latency_ns"] == "True"  # alone: on the front
    assert "io_stream/Resource/rf4/<8,3>" in (d / "results/dse/dse.md").read_text()
    assert (d / "results/dse/pareto.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.build
@pytest.mark.integration
def test_snakemake_finds_nothing_to_do_after_dvc(dse_run):
    d, env, _ = dse_run
    dry = _run(["snakemake", "-n", "--cores", "1", "dse", "--allowed-rules", *DSE_RULES], d, env)
    assert "Nothing to be done" in dry.stdout + dry.stderr


@pytest.mark.build
@pytest.mark.integration
def test_a_grid_changed_without_its_job_lists_is_refused(dse_run):
    """A reuse factor added to params.yaml but not to workflow/dse/dvc.yaml: the table (which
    depends on the whole section) reruns and refuses the old list in one line."""
    d, env, _ = dse_run
    text = (d / "params.yaml").read_text()
    params = yaml.safe_load(text)
    params["dse"]["reuse_factors"] = [4, 16]
    (d / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        r = _run(["dvc", "repro", DSE_DVC_FILE], d, env, check=False)
    finally:
        (d / "params.yaml").write_text(text)
    assert r.returncode != 0
    assert "Running stage 'workflow/dse/dvc.yaml:dse'" in r.stdout
    assert "Running stage 'workflow/dse/dvc.yaml:dse_point" not in r.stdout  # points unchanged
    (line,) = [x for x in (r.stdout + r.stderr).splitlines() if x.startswith("jetad dse: error")]
    assert line == ("jetad dse: error: params.yaml: the points given are not the dse grid: 1 of "
                    "its 2 points missing (first p8_3/io_stream/Resource/rf16); after changing "
                    "the grid, rewrite the job lists with `python -m jetad.pipeline --write`")


def test_a_point_of_another_precision_is_refused(tmp_path, jetad, root):
    d = tmp_path
    shutil.copy(root / "params.yaml", d / "params.yaml")
    (d / "other.json").write_text(json.dumps({"precision": "p16_6", "hls_emulation": {}}))
    r = jetad(d, "dse", "point", "--precision", "p8_3", "--io-type", "io_stream", "--strategy",
              "Resource", "--reuse-factor", "4", "--model", "nothing.h5", "--emulation",
              "other.json", "--project-dir", "x/project", "--out", "x/point.json", check=False)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "jetad dse: error: other.json: not the emulation of p8_3 (jetad dse emulate)")
    assert not (d / "x").exists()
