"""bench/targets.py: the detector's targets judged on its declared headline score."""

import importlib.util

import pytest


@pytest.fixture(scope="module")
def bench(root):
    spec = importlib.util.spec_from_file_location("targets", root / "bench" / "targets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def e(auc, rej=10.0):
    return {"auc": auc, "auc_68": [auc - 0.01, auc + 0.01], "rejection_at_eff_s_0p3": rej}


def metrics(per: dict, score="kl_total", best=None):
    """A metrics.json whose headline score has `per` {signal: (auc, 1/eps_B)}; `best`: a
    non-headline score with a higher AUC on every signal, which must change nothing."""
    m = {"headline": {"score": score, "per_signal": {s: e(*v) for s, v in per.items()}},
         "top/baseline/conv_ae_mse": e(0.92, 100.0)}
    for s, (auc, rej) in per.items():
        m[f"{s}/jointvae/{score}"] = e(auc, rej)
        if best:
            m[f"{s}/jointvae/{best}"] = e(min(auc + 0.1, 0.999), 10 * rej)
    return m


def test_each_target_is_met_or_missed_by_the_headline_score(bench):
    m = metrics({"top": (0.94, 120.0), "w": (0.79, 5.0), "z": (0.85, 6.0)}, best="dice")
    inverse = {"headline": {"score": "kl_total", "per_signal": {"qcd": e(0.71), "w": e(0.5)}}}
    spread = {"seeds": [1, 2], "top_headline_auc": {"mean": 0.94, "std": 0.004},
              "w_headline_auc": {"mean": 0.79, "std": 0.02},
              "z_headline_auc": {"mean": 0.85, "std": None}}
    worst, top, rej, inv, s_top, s_w, s_z = bench.targets(m, inverse, spread)
    # W's 0.79 is the worst case; dice's higher AUCs are no result and change nothing
    assert worst[1:] == (False, "kl_total 0.790 (w); top 0.940, w 0.790, z 0.850")
    assert top[1:] == (True, "kl_total 0.940 [0.930, 0.950]")
    assert rej[1:] == (True, "kl_total 120.0 vs conv AE 100.0")
    assert inv[1:] == (True, "kl_total 0.710 [0.700, 0.720]")
    assert s_top[1] is True and s_w[1] is False and s_z[1] is None
    assert s_w[2] == "mean 0.790 ± 0.020 over seeds 1, 2"


def test_missing_inputs_are_not_measured(bench):
    rows = bench.targets(metrics({"top": (0.90, 50.0)}))
    assert [r[1] for r in rows] == [None, False, False, None, None]
    assert rows[0][2] == "w, z not evaluated"
    assert rows[3][2] == "no inverse run (snakemake inverse)"


def test_a_metrics_file_without_the_headline_is_refused(bench, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no results/inverse nor results/seeds here
    (tmp_path / "metrics.json").write_text('{"top/jointvae/kl_total": {"auc": 0.9}}')
    assert bench.main(["--run", str(tmp_path)]) == 2
    assert capsys.readouterr().err == ("targets.py: error: metrics.json: no headline entry "
                                       "(written by an older jetad evaluate; rerun evaluate)\n")
