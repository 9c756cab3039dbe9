"""The scan and seed runs (jetad.analysis.scan, `jetad scan`): run parameters, tables."""

import copy
import math

import pytest

from jetad.analysis import scan
from jetad.errors import ConfigError
from jetad.params import load_raw


@pytest.fixture
def params(root):
    p = load_raw(root / "params.yaml")
    p = copy.deepcopy(p)
    p["scan"] = {"points": {"b1": {"objective": "beta", "beta": 1.0},
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
    assert scan.run_params(params, "scan", "b1")["train"]["beta"] == 1.0


def test_a_seed_run_changes_only_the_seed(params):
    run = scan.run_params(params, "seeds", "7")
    assert run["seed"] == 7
    assert {k: v for k, v in run.items() if k != "seed"} == {k: v for k, v in params.items()
                                                              if k != "seed"}


def test_the_runs_with_params_yaml_own_parameters_are_the_pipeline_s(params):
    assert scan.pipeline_runs(params) == []
    params["scan"]["seeds"].append(params["seed"])
    params["scan"]["points"]["default"] = {"capacity": dict(params["train"]["capacity"])}
    params["scan"]["points"]["c9"]["capacity"]["cont_max"] = params["train"]["capacity"]["cont_max"]
    # c9 names the default objective and capacities: the same run too
    assert scan.pipeline_runs(params) == ["scan/c9", "scan/default", f"seeds/{params['seed']}"]


@pytest.mark.parametrize("group, run, message", [
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


def test_the_best_score_is_the_highest_auc_per_signal(fake_run):
    run = fake_run("a", {"top": {"bce": 0.8, "kl_total": 0.9}, "w": {"bce": 0.7, "kl_total": 0.6}})
    (row,) = scan.rows([run])
    assert row["top_best_score"] == "kl_total" and row["top_best_auc"] == 0.9
    assert row["w_best_score"] == "bce" and row["w_best_auc"] == 0.7
    assert row["w_kl_total_auc"] == 0.6
    assert row["w_best_auc_lo"] == pytest.approx(0.69) and row["w_best_rejection"] == 7.0
    assert row["objective"] == "beta 3" and row["spread_ratio"] == 0.5
    (base,) = scan.baseline_rows(run)
    assert base["baseline"] == "jet_mass" and math.isinf(base["top_rejection"])
    md = scan.scan_markdown([run])
    assert "0.900 [0.890, 0.910], 9.0 (kl_total)" in md
    assert "| jet_mass | 0.600 [0.590, 0.610], inf |" in md


def test_the_seed_spread_is_the_mean_and_sample_std(fake_run):
    runs = [fake_run(str(s), {"top": {"kl_total": a}}, seed=s, spread=sp)
            for s, a, sp in ((1, 0.90, 0.4), (2, 0.92, 0.5), (3, 0.94, 0.6))]
    summary = scan.seed_summary(runs)
    assert summary["seeds"] == [1, 2, 3]
    assert summary["top_kl_total_auc"]["mean"] == pytest.approx(0.92)
    assert summary["top_kl_total_auc"]["std"] == pytest.approx(0.02)
    assert summary["spread_ratio"]["std"] == pytest.approx(0.1)
    assert "0.920 ± 0.020" in scan.seeds_markdown(runs)
    assert scan.seed_summary(runs[:1])["spread_ratio"]["std"] is None
