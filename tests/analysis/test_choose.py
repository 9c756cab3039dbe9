"""The scan point chosen without signal labels (jetad.analysis.choose) and its place in the
scan table: the choice follows the validation background alone, whatever the signals say."""

import copy
import inspect
import math

import pytest

from jetad.analysis import choose, scan


def _training(bce, kl_cont, kl_disc=0.0, active=32, spread=0.1):
    return {"val": {"bce": bce, "kl_cont": kl_cont, "kl_disc": kl_disc},
            "collapse": {"active_dims": active, "latent_dims": 32, "spread_ratio": spread}}


def test_the_chooser_takes_no_labels_and_no_signal_scores():
    assert list(inspect.signature(choose.choose).parameters) == ["training", "tolerance"]


def test_the_lowest_negative_elbo_is_chosen_whatever_the_objective():
    runs = {"beta1": _training(6.0, 0.2, 0.05), "cap20": _training(5.9, 19.8, 2.99),
            "beta3000": _training(6.1, 0.2, 0.0, active=0)}
    c = choose.choose(runs, tolerance=0.0)
    assert c.run == "beta1" and c.tied == ("beta1",)
    assert c.neg_elbo["cap20"] == pytest.approx(5.9 + 19.8 + 2.99)
    assert "0 relative" in c.rule


def test_within_the_tolerance_the_least_collapsed_point_wins():
    runs = {"collapsed": _training(6.00, 0.10, active=0, spread=0.02),
            "active": _training(6.03, 0.10, active=32, spread=0.05),
            "far": _training(7.00, 0.10, active=32, spread=0.9)}
    # 6.13 is within 1% of 6.10; 7.10 is not, however little it collapses
    runs["collapsed"]["collapse"]["active_dims"] = 1
    c = choose.choose(runs, tolerance=0.01)
    assert (c.run, c.tied) == ("active", ("active", "collapsed"))
    assert choose.choose(runs, tolerance=0.001).run == "collapsed"
    # equal activity: the larger spread ratio
    runs["active"]["collapse"]["active_dims"] = 1
    assert choose.choose(runs, tolerance=0.01).run == "active"
    runs["active"]["collapse"]["spread_ratio"] = 0.01
    assert choose.choose(runs, tolerance=0.01).run == "collapsed"


def test_a_collapsed_latent_is_set_aside_however_low_its_elbo():
    """The ELBO prefers a collapsed posterior (it pays no KL): such a point is not chosen while
    a point with an active latent dimension is there; when all collapsed, the ELBO decides."""
    runs = {"beta10": _training(5.96, 0.19, active=0), "beta1": _training(5.98, 0.53, active=32),
            "cap5": _training(6.36, 4.81, 1.0, active=32)}
    c = choose.choose(runs, tolerance=0.01)
    assert (c.run, c.tied, c.collapsed) == ("beta1", ("beta1",), ("beta10",))
    assert c.neg_elbo["beta10"] < c.neg_elbo["beta1"]
    line = scan.chosen_line(c)
    assert "**beta1**" in line and "set aside, latent collapsed: beta10" in line
    assert "nats per jet: beta10 6.150, beta1 6.510, cap5 12.170." in line
    for t in runs.values():
        t["collapse"]["active_dims"] = 0
    c = choose.choose(runs, tolerance=0.01)
    assert (c.run, c.collapsed) == ("beta10", ())


def test_no_runs_or_a_nan_elbo_is_refused():
    with pytest.raises(ValueError, match="no runs"):
        choose.choose({}, 0.01)
    with pytest.raises(ValueError, match="no finite validation negative ELBO for b"):
        choose.choose({"a": _training(1.0, 1.0), "b": _training(float("nan"), 1.0)}, 0.01)


def test_rewriting_the_signal_aucs_leaves_the_choice(fake_run):
    """The scan table's choice and its line stay when every run's signal AUCs are swapped
    around (as a permutation of the test labels would move them), while the signal columns
    change."""
    runs = [fake_run(name, {"top": {"kl_total": a, "mse": a - 0.1}, "w": {"kl_total": a - 0.2}})
            for name, a in (("p1", 0.95), ("p2", 0.70), ("p3", 0.60))]
    for run, (bce, active) in zip(runs, ((6.2, 4), (6.0, 1), (6.5, 32)), strict=True):
        run["training"] = _training(bce, 0.3, active=active)
    before = scan.scan_markdown(runs, 0.01)
    chosen = [r["chosen"] for r in scan.scan_rows(runs, 0.01)]
    assert chosen == [0, 1, 0]
    assert "Chosen without signal labels: **p2**" in before
    swapped = copy.deepcopy(runs)
    for run, donor in zip(swapped, runs[::-1], strict=True):
        run["metrics"] = copy.deepcopy(donor["metrics"])
        for key, entry in run["metrics"].items():
            if "jointvae" in key:
                entry["auc"] = 1.0 - entry["auc"]
    after = scan.scan_markdown(swapped, 0.01)
    assert [r["chosen"] for r in scan.scan_rows(swapped, 0.01)] == chosen
    assert before.splitlines()[1] == after.splitlines()[1]
    assert before != after


def test_the_chooser_reads_nothing_but_what_it_is_given():
    """No file, label or score of a test jet can reach the rule: its module imports no jetad
    module and nothing that reads files (the scan table hands it training_metrics.json)."""
    import ast

    tree = ast.parse(inspect.getsource(choose))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in (node.names if isinstance(node, ast.Import)
                              else [ast.alias(node.module or "")])}
    assert imported <= {"__future__", "math", "dataclasses"}, imported


def test_scrambled_metrics_never_move_the_choice(fake_run):
    """Whatever the runs' metrics.json say (random AUCs, as any relabelling of the test jets
    could give), the chosen point is the one the validation background picks; the training
    metrics alone move it."""
    import numpy as np

    rng = np.random.default_rng(3)
    runs = [fake_run(n, {"top": {"kl_total": 0.5}}) for n in ("p1", "p2", "p3")]
    for run, bce in zip(runs, (6.2, 6.0, 6.5), strict=True):
        run["training"] = _training(bce, 0.3)
    picks = set()
    for _ in range(20):
        for run in runs:
            run["metrics"]["top/jointvae/kl_total"]["auc"] = float(rng.uniform())
        picks.add(scan.chosen(runs, 0.01).run)
    assert picks == {"p2"}
    runs[2]["training"] = _training(5.0, 0.3)
    assert scan.chosen(runs, 0.01).run == "p3"


def test_the_score_chooser_takes_no_labels_and_no_test_jets():
    assert list(inspect.signature(choose.choose_score).parameters) == ["val_scores", "tolerance"]


def test_spearman_by_hand_with_ties():
    assert choose.ranks([3.0, 1.0, 2.0, 1.0]) == [4.0, 1.5, 3.0, 1.5]
    assert choose.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert choose.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): covariance 4.5, variances 4.5 and 5
    assert choose.spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(3 / 10 ** 0.5)
    assert math.isnan(choose.spearman([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="equally long"):
        choose.spearman([1, 2], [1, 2, 3])


def test_spearman_equals_scipys_on_random_scores_with_ties():
    import numpy as np
    from scipy.stats import spearmanr

    rng = np.random.default_rng(5)
    a = rng.integers(0, 30, 300).astype(float)
    b = a + rng.normal(0, 10, 300)
    assert choose.spearman(list(a), list(b)) == pytest.approx(spearmanr(a, b).statistic,
                                                              rel=1e-12)


def _seeds(noise: dict, n=200, seeds=3):
    """Validation scores of `seeds` runs: each score the same jets' base value plus noise of
    its own size per seed (a score that follows the jets, or the seed)."""
    import numpy as np

    rng = np.random.default_rng(11)
    base = rng.normal(size=n)
    return {f"s{k}": {name: base + rng.normal(0, sd, n) for name, sd in noise.items()}
            for k in range(seeds)}


def test_the_most_reproducible_ranking_of_the_background_is_the_headline():
    val = _seeds({"kl_total": 2.0, "bce": 0.1, "mse": 0.5, "latent_density": 0.0})
    c = choose.choose_score(val, tolerance=0.01)
    # the latent density ranks the validation jets identically but was fitted on them
    assert "latent_density" not in c.reproducibility
    assert (c.score, c.tied) == ("bce", ("bce",))
    assert c.reproducibility["bce"] > c.reproducibility["mse"] > c.reproducibility["kl_total"]
    # within the tolerance, the prior order: the encoder-only KL total first
    assert choose.choose_score(val, tolerance=1.0).score == "kl_total"
    assert "0.01" in c.rule and "kl_total" in c.rule


def test_a_score_that_follows_the_seed_loses_even_when_its_values_are_alike():
    import numpy as np

    val = _seeds({"kl_total": 0.05, "bce": 0.05})
    # one seed's bce reverses the ranking of the jets (values alike, order not)
    val["s1"]["bce"] = -val["s1"]["bce"]
    assert choose.choose_score(val, 0.01).score == "kl_total"
    # a constant score has no ranking: not a candidate
    for run in val.values():
        run["kl_total"] = np.ones(200)
    c = choose.choose_score(val, 0.01)
    assert c.score == "bce" and list(c.reproducibility) == ["bce"]


def test_the_score_chooser_refuses_one_run_or_unequal_jets():
    val = _seeds({"kl_total": 0.1}, seeds=1)
    with pytest.raises(ValueError, match="needs two or more"):
        choose.choose_score(val, 0.01)
    val = _seeds({"kl_total": 0.1}, seeds=2)
    val["s1"]["kl_total"] = val["s1"]["kl_total"][:-1]
    with pytest.raises(ValueError, match="different numbers of validation jets"):
        choose.choose_score(val, 0.01)
