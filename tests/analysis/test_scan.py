"""The scan and seed runs (jetad.analysis.scan, `jetad scan`): run parameters, tables."""

import copy
import math

import pytest

from jetad.analysis import scan
from jetad.analysis.headline import DIAGNOSTIC
from jetad.errors import ConfigError, DataError
from jetad.params import load_raw


@pytest.fixture
def params(root):
    p = load_raw(root / "params.yaml")
    p = copy.deepcopy(p)
    p["scan"] = {"points": {"b3": {"objective": "beta", "beta": 3.0},
                            "c9": {"objective": "capacity", "capacity": {"cont_max": 9.0}}},
                 "seeds": [5, 7]}
    return p


def test_a_point_changes_only_its_train_keys(params):
    run = scan.run_params(params, "scan", "c9")
    assert run["train"]["objective"] == "capacity"
    assert run["train"]["capacity"]["cont_max"] == 9.0
    # merged key by key: the default gamma, disc_max and ramp stay
    for key in ("gamma", "disc_max", "epochs"):
        assert run["train"]["capacity"][key] == params["train"]["capacity"][key]
    assert {k: v for k, v in run.items() if k != "train"} == {k: v for k, v in params.items()
                                                               if k != "train"}
    assert scan.run_params(params, "scan", "b3")["train"]["beta"] == 3.0


def test_a_seed_run_changes_only_the_seed(params):
    run = scan.run_params(params, "seeds", "7")
    assert run["seed"] == 7
    assert {k: v for k, v in run.items() if k != "seed"} == {k: v for k, v in params.items()
                                                              if k != "seed"}


def test_the_runs_with_params_yaml_own_parameters_are_the_pipeline_s(params):
    assert scan.pipeline_runs(params) == []
    params["scan"]["seeds"].append(params["seed"])
    params["scan"]["points"]["default"] = {"beta": params["train"]["beta"]}
    assert params["train"]["objective"] == "beta"
    params["scan"]["points"]["b3"]["beta"] = params["train"]["beta"]
    # b3 names the default objective and beta: the same run too
    assert scan.pipeline_runs(params) == ["scan/b3", "scan/default", f"seeds/{params['seed']}"]


def test_an_inverse_run_changes_only_the_background_and_reads_its_split(params):
    run = scan.run_params(params, "inverse", "top")
    assert run["split"]["background"] == "top"
    assert {k: v for k, v in run.items() if k != "split"} == {k: v for k, v in params.items()
                                                               if k != "split"}
    assert run["split"]["test_fraction"] == params["split"]["test_fraction"]
    assert "split" in scan.sections(run, "inverse") and "split" not in scan.sections(run)


@pytest.mark.parametrize("group, run, message", [
    ("inverse", "w", "no inverse task 'w'"),
    ("scan", "nope", "no point 'nope'"),
    ("seeds", "6", "no seed '6'"),
    ("seeds", "x", "no seed 'x'"),
])
def test_unknown_runs_are_refused(params, group, run, message):
    with pytest.raises(ConfigError, match=message):
        scan.run_params(params, group, run)


def test_a_bad_point_is_refused_naming_it(params):
    # a categorical of 20 classes carries at most log 20 = 3.0 nats
    params["scan"]["points"]["c9"]["capacity"]["disc_max"] = 4.0
    with pytest.raises(ConfigError, match="scan point c9") as err:
        scan.check(params)
    assert "disc_max" in str(err.value)
    params["scan"]["points"]["c9"] = {"betta": 1.0}
    with pytest.raises(ConfigError, match="betta"):
        scan.check(params)


def test_a_repeated_seed_is_refused(params):
    params["scan"]["seeds"] = [5, 5]
    with pytest.raises(ConfigError, match="twice"):
        scan.check(params)


def test_the_headline_leads_and_the_best_score_is_a_labelled_diagnostic(fake_run):
    run = fake_run("a", {"top": {"bce": 0.8, "kl_total": 0.9}, "w": {"bce": 0.7, "kl_total": 0.6}})
    (row,) = scan.rows([run])
    # the declared output (the schema's default, the run names none): KL total on every signal
    assert row["top_headline_score"] == row["w_headline_score"] == "kl_total"
    assert row["w_headline_auc"] == 0.6 and row["w_headline_rejection"] == 6.0
    # the diagnostic: the highest AUC per signal, under a name that says so
    assert row["top_diagnostic_best_score"] == "kl_total" and row["top_diagnostic_best_auc"] == 0.9
    assert row["w_diagnostic_best_score"] == "bce" and row["w_diagnostic_best_auc"] == 0.7
    assert row["w_diagnostic_best_auc_lo"] == pytest.approx(0.69)
    assert row["w_diagnostic_best_rejection"] == 7.0
    assert row["objective"] == "beta 3" and row["spread_ratio"] == 0.5
    (base,) = scan.baseline_rows(run)
    assert base["baseline"] == "jet_mass" and math.isinf(base["top_rejection"])
    md = scan.scan_markdown([run])
    assert md.startswith("Detector output: `kl_total`")
    assert f"highest AUC on that signal, {DIAGNOSTIC}." in md.splitlines()[0]
    head = next(line for line in md.splitlines() if line.startswith("| run"))
    cols = [c.strip() for c in head.strip("|").split("|")]
    assert cols[2:6] == ["top kl_total: AUC [68%], 1/eps_B", "w kl_total: AUC [68%], 1/eps_B",
                         "top best score (diagnostic): AUC [68%], 1/eps_B",
                         "w best score (diagnostic): AUC [68%], 1/eps_B"]
    assert "| 0.600 [0.590, 0.610], 6.0 | 0.900 [0.890, 0.910], 9.0 (kl_total) | " in md
    assert "| jet_mass | 0.600 [0.590, 0.610], inf |" in md


def test_the_tables_follow_the_declared_score_and_refuse_runs_that_differ(fake_run):
    runs = [fake_run(n, {"top": {"bce": 0.8, "kl_total": 0.9}}) for n in ("a", "b")]
    for r in runs:
        r["params"]["evaluate"] = {"headline": "bce"}
    (row, _) = scan.rows(runs)
    assert row["top_headline_score"] == "bce" and row["top_headline_auc"] == 0.8
    md = scan.seeds_markdown(runs)
    assert md.startswith("Detector output: `bce`") and f"{DIAGNOSTIC}." in md
    head = next(line for line in md.splitlines() if line.startswith("| seed"))
    assert "| top bce AUC | top best AUC (diagnostic) |" in head
    runs[1]["params"]["evaluate"]["headline"] = "kl_total"
    with pytest.raises(DataError, match="different evaluate.headline scores .a: bce, b: kl_total"):
        scan.rows(runs)


def test_the_seed_spread_is_the_mean_and_sample_std(fake_run):
    runs = [fake_run(str(s), {"top": {"kl_total": a}}, seed=s, spread=sp)
            for s, a, sp in ((1, 0.90, 0.4), (2, 0.92, 0.5), (3, 0.94, 0.6))]
    summary = scan.seed_summary(runs)
    assert summary["seeds"] == [1, 2, 3]
    assert summary["top_headline_auc"]["mean"] == pytest.approx(0.92)
    assert summary["top_headline_auc"]["std"] == pytest.approx(0.02)
    assert summary["spread_ratio"]["std"] == pytest.approx(0.1)
    assert "0.920 ± 0.020" in scan.seeds_markdown(runs)
    assert scan.seed_summary(runs[:1])["spread_ratio"]["std"] is None
