"""The scan and seed targets of the Snakemake workflow (workflow/rules/scan.smk): one
train -> score -> evaluate chain per scan point and per seed, none of it in `all`."""

import csv
import json
import re
import subprocess

import numpy as np
import pytest
import yaml

from jetad.analysis.scores import VAL_GROUP, write_score_file

pytestmark = pytest.mark.integration  # Snakemake dry runs


def dry_run(workdir, env_path, target):
    """(returncode, {rule: [output of each job]}) of `snakemake -n <target>` from scratch."""
    r = subprocess.run([str(env_path / "snakemake"), "-n", "--forceall", "--cores", "2", target],
                       cwd=workdir, capture_output=True, text=True)
    jobs: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=rule |localrule )", r.stdout):
        head = re.match(r"(?:local)?rule (\w+):", block)
        out = re.search(r"^    output: (.*)$", block, flags=re.M)
        if head and out:
            jobs.setdefault(head.group(1), []).append(out.group(1))
    return r.returncode, jobs


@pytest.fixture
def project(tmp_path, env_path, copy_project):
    copy_project(tmp_path)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["scan"] = {"points": {"b2": {"beta": 2.0},
                                 "c7": {"objective": "capacity", "capacity": {"cont_max": 7.0}}},
                      "seeds": [11, 12, 13]}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return tmp_path


def test_the_scan_runs_each_point_into_its_folder(project, env_path):
    code, jobs = dry_run(project, env_path, "scan")
    assert code == 0
    assert sorted(jobs["scan_train"]) == sorted(
        f"results/scan/{p}/model, results/scan/{p}/training_metrics.json, "
        f"results/scan/{p}/training_history.csv" for p in ("b2", "c7"))
    assert sorted(jobs["scan_evaluate"]) == sorted(
        f"results/scan/{p}/roc.pdf, results/scan/{p}/metrics.json" for p in ("b2", "c7"))
    assert jobs["scan"] == ["results/scan/scan.csv, results/scan/scan.md"]
    # on the pipeline's split and baselines, trained once for every point
    assert len(jobs["split"]) == 1 and len(jobs["baseline"]) == 1
    assert "train" not in jobs


def test_the_seeds_expand_into_one_run_each(project, env_path):
    code, jobs = dry_run(project, env_path, "seeds")
    assert code == 0
    assert sorted(o.split(",")[0] for o in jobs["scan_train"]) == [
        f"results/seeds/{s}/model" for s in (11, 12, 13)]
    assert jobs["seeds"] == ["results/seeds/seeds.csv, results/seeds/seeds.md, "
                             "results/seeds/seeds.json, results/seeds/ensemble.h5"]
    # the ensemble reads every seed's scores, which score_scan writes
    assert sorted(o for o in jobs["scan_score"]) == [
        f"results/seeds/{s}/scores.h5" for s in (11, 12, 13)]


def test_neither_is_part_of_all_and_the_quick_preset_has_no_seeds(project, env_path):
    _, jobs = dry_run(project, env_path, "all")
    assert not {"scan", "seeds", "scan_train", "scan_params"} & set(jobs)
    subprocess.run(["jetad", "preset", "quick"], cwd=project, check=True, capture_output=True)
    code, jobs = dry_run(project, env_path, "seeds")
    assert code != 0 and "scan_train" not in jobs


def test_a_bad_point_stops_snakemake_before_any_job(project, env_path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["scan"]["points"]["c7"]["capacity"]["disc_max"] = 9.0
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    r = subprocess.run([str(env_path / "snakemake"), "-n", "--cores", "1", "scan"], cwd=project,
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "scan point c7" in r.stdout + r.stderr and "disc_max" in r.stdout + r.stderr


def test_a_run_params_file_is_the_point_applied(project, env_path):
    """The one job of a run that needs no data, run for real: its command line works and the
    file is params.yaml with the point's train keys."""
    r = subprocess.run([str(env_path / "snakemake"), "--cores", "1", "results/scan/c7/params.yaml",
                        "results/seeds/12/params.yaml"], cwd=project, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    base = yaml.safe_load((project / "params.yaml").read_text())
    point = yaml.safe_load((project / "results/scan/c7/params.yaml").read_text())
    assert point["train"] == dict(base["train"], objective="capacity",
                                  capacity=dict(base["train"]["capacity"], cont_max=7.0))
    assert point["seed"] == base["seed"]
    seed = yaml.safe_load((project / "results/seeds/12/params.yaml").read_text())
    assert seed == dict(base, seed=12)
    assert "wrote results/seeds/12/params.yaml" in (project / "logs/seeds/12/params.log").read_text()


def test_the_pipeline_seed_and_a_default_point_are_not_trained_again(project, env_path):
    """params.yaml's own seed among the repeats, a scan point that changes nothing: their
    runs are the pipeline's, copied."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["scan"]["seeds"] = [params["seed"], 12]
    params["scan"]["points"]["same"] = {"capacity": {"gamma": params["train"]["capacity"]["gamma"]}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for target, trained, own in (("seeds", "results/seeds/12", f"results/seeds/{params['seed']}"),
                                 ("scan", None, "results/scan/same")):
        code, jobs = dry_run(project, env_path, target)
        assert code == 0
        if trained:
            assert [o.split(",")[0] for o in jobs["scan_train"]] == [f"{trained}/model"]
        else:
            assert sorted(o.split(",")[0] for o in jobs["scan_train"]) == [
                "results/scan/b2/model", "results/scan/c7/model"]
        assert jobs["from_pipeline"] == [f"{own}/model, {own}/training_metrics.json, "
                                         f"{own}/training_history.csv, {own}/scores.h5, "
                                         f"{own}/roc.pdf, {own}/metrics.json"]
        assert len(jobs["train"]) == 1 and len(jobs["evaluate"]) == 1


def write_scores(path):
    """A score file of 4 QCD and 4 top test jets with validation scores, as `jetad score`'s."""
    label = np.r_[np.zeros(4), np.ones(4)].astype(int)
    write_score_file(path, {"kl_total": np.arange(8.0), "bce": np.arange(8.0)}, label,
                     np.arange(8.0), {"process": label.astype(np.int8),
                                      VAL_GROUP: {"kl_total": np.array([0.5, 1.0, 2.0]),
                                                  "bce": np.array([0.5, 1.0, 2.0])}})


def test_the_seeds_table_takes_the_pipeline_seed_from_the_pipeline(project, env_path,
                                                                   snakemake_jobs, fake_run):
    """Run for real on a pipeline whose outputs exist (made up, then marked up to date with
    --touch): `snakemake seeds` copies them and trains nothing, and the table's row is the
    pipeline's metrics."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["scan"]["seeds"] = [params["seed"]]
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run = fake_run("pipeline", {"top": {"kl_total": 0.91, "bce": 0.87}}, seed=params["seed"])
    made = {"results/metrics.json": json.dumps(run["metrics"]),
            "results/training_metrics.json": json.dumps(run["training"])}
    for job in snakemake_jobs(project, "evaluate"):  # train, score, evaluate and before
        for out in job["output"]:
            path = project / out
            if out == "results/scores.h5":  # read by the seed ensemble: a real score file
                path.parent.mkdir(parents=True, exist_ok=True)
                write_scores(path)
            elif "." not in path.name:  # directory outputs (model, figures, chunks folders)
                path.mkdir(parents=True, exist_ok=True)
                (path / "x").write_text("made up")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(made.get(out, "made up"))
    snake = [str(env_path / "snakemake"), "--cores", "1"]
    subprocess.run([*snake, "--touch", "evaluate"], cwd=project, check=True, capture_output=True)
    r = subprocess.run([*snake, "seeds"], cwd=project, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    ran = set(re.findall(r"^(?:local)?rule (\w+):", r.stdout + r.stderr, flags=re.M))
    assert ran == {"scan_params", "from_pipeline", "seeds"}
    own = project / "results/seeds" / str(params["seed"])
    assert (own / "metrics.json").read_text() == made["results/metrics.json"]
    assert (own / "model/x").read_text() == "made up"
    [row] = csv.DictReader((project / "results/seeds/seeds.csv").open())
    # the declared bce leads; kl_total, higher here, is only the diagnostic best
    assert row["top_diagnostic_best_auc"] == "0.91" and row["top_headline_auc"] == "0.87"


def test_the_inverse_task_splits_trains_and_evaluates_on_top_apart_from_all(project, env_path):
    """`snakemake inverse`: a split of its own from the pipeline's images, then train, score,
    evaluate on it into results/inverse/top/, gathered beside the main run; none of it in
    `all`, and no conv-AE baseline trained for it."""
    code, jobs = dry_run(project, env_path, "inverse")
    assert code == 0
    assert jobs["scan_params"] == ["results/inverse/top/params.yaml"]
    assert jobs["inverse_split"] == ["data/inverse/top/train.h5, data/inverse/top/val.h5, "
                                     "data/inverse/top/test.h5"]
    assert jobs["inverse_evaluate"] == [
        "results/inverse/top/roc.pdf, results/inverse/top/metrics.json, "
        "results/inverse/top/summary.md, results/inverse/top/summary.csv, "
        "results/inverse/top/headline.json"]
    assert jobs["inverse"] == ["results/inverse/inverse.csv, results/inverse/inverse.md"]
    # the main run it is set beside, from the one image file
    assert len(jobs["pixelize"]) == 1 and len(jobs["evaluate"]) == 1
    _, jobs = dry_run(project, env_path, "all")
    assert not {name for name in jobs if name.startswith("inverse")}
