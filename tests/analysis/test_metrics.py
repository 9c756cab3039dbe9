import numpy as np
import pytest

from jetad.analysis import metrics
from jetad.errors import DataError


def test_perfect_separation():
    labels = np.array([0] * 100 + [1] * 100)
    scores = np.arange(200.0)
    s = metrics.summary(labels, scores)
    assert s["auc"] == pytest.approx(1.0)
    assert s["tpr_at_fpr_10pct"] == pytest.approx(1.0)
    assert s["rejection_at_eff_s_0p3"] is None  # no background passes: unbounded


def test_random_scores_give_diagonal():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200_000)
    scores = rng.random(200_000)
    s = metrics.summary(labels, scores)
    assert s["auc"] == pytest.approx(0.5, abs=0.01)
    assert s["tpr_at_fpr_10pct"] == pytest.approx(0.1, abs=0.01)
    assert s["tpr_at_fpr_1pct"] == pytest.approx(0.01, abs=0.003)
    assert s["rejection_at_eff_s_0p3"] == pytest.approx(1 / 0.3, rel=0.05)


def test_gaussian_shift_matches_analytic_auc():
    from math import erf

    rng = np.random.default_rng(1)
    n = 100_000
    scores = np.concatenate([rng.normal(0, 1, n), rng.normal(1, 1, n)])
    labels = np.concatenate([np.zeros(n), np.ones(n)])
    expected = 0.5 * (1 + erf(1 / 2))  # Phi(1 / sqrt 2)
    assert metrics.auc(labels, scores) == pytest.approx(expected, abs=0.005)
    fpr, tpr = metrics.roc(labels, scores)
    # At eps_S = 0.3 the threshold is 1 + 0.524; eps_B = 1 - Phi(1.524) = 0.0638.
    assert metrics.rejection_at_eff(fpr, tpr, 0.3) == pytest.approx(1 / 0.0638, rel=0.05)


def test_inverted_score_is_not_flipped():
    labels = np.array([0] * 10 + [1] * 10)
    assert metrics.auc(labels, -np.arange(20.0)) == pytest.approx(0.0)


def test_one_class_is_an_error():
    with pytest.raises(DataError, match="both classes"):
        metrics.summary(np.zeros(10), np.arange(10.0))


def test_nan_scores_are_an_error():
    with pytest.raises(DataError, match="NaN"):
        metrics.summary(np.array([0, 1]), np.array([0.0, np.nan]))
