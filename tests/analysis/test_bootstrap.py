"""Bootstrap intervals: the weighted ROC reproduces sklearn with unit weights, the replicas are
seeded, and the interval behaves like a statistical error (holds the estimate, shrinks with n)."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from jetad.analysis import bootstrap, metrics


def _sample(n, seed, shift=1.0):
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(n), np.ones(n)].astype(int)
    scores = np.r_[rng.normal(0, 1, n), rng.normal(shift, 1, n)]
    return labels, np.round(scores, 1)  # rounded: many ties, as in discrete scores


def test_unit_weights_reproduce_sklearn_with_ties():
    labels, scores = _sample(500, 1)
    got = bootstrap.weighted_auc(labels, scores, np.ones(len(labels)))[0]
    assert got == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    # integer weights equal repeating the jets
    w = np.random.default_rng(2).integers(0, 3, len(labels))
    rep = np.repeat(np.arange(len(labels)), w)
    assert bootstrap.weighted_auc(labels, scores, w)[0] == pytest.approx(
        roc_auc_score(labels[rep], scores[rep]), abs=1e-12)


def test_replicas_are_stratified_and_seeded():
    labels, _ = _sample(300, 3)
    a, b, c = (bootstrap.replicas(labels, 50, s) for s in (5, 5, 6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert (a[:, labels == 1].sum(axis=1) == 300).all()
    assert (a[:, labels == 0].sum(axis=1) == 300).all()


def test_interval_holds_the_estimate_and_shrinks_with_more_jets():
    small, large = _sample(400, 4), _sample(6400, 4)
    i_small = bootstrap.intervals(*small, seed=9)
    i_large = bootstrap.intervals(*large, seed=9)
    assert i_small == bootstrap.intervals(*small, seed=9)
    for (labels, scores), iv in ((small, i_small), (large, i_large)):
        lo, hi = iv["auc"]
        assert lo < metrics.auc(labels, scores) < hi
        summ = metrics.summary(labels, scores)["rejection_at_eff_s_0p3"]
        r_lo, r_hi = iv["rejection_at_eff_s_0p3"]
        assert r_lo < summ < r_hi
    width = lambda iv: iv["auc"][1] - iv["auc"][0]  # noqa: E731
    # 16x the jets: about a quarter of the width
    assert 0.15 < width(i_large) / width(i_small) < 0.4


def _gaussian_sample(rng, n: int, shift: float):
    labels = np.r_[np.zeros(n, int), np.ones(n, int)]
    return labels, np.r_[rng.normal(0, 1, n), rng.normal(shift, 1, n)]


def test_the_68_percent_interval_covers_the_true_auc_68_percent_of_the_time():
    """Over 100 independent samples of two unit Gaussians 1 apart (true AUC Phi(1/sqrt 2) =
    0.7602), the 68% interval must hold the true AUC about 68% of the time: a 90% interval (5/95
    percentiles) covers about 90%, a 36% one (32/68) about 36%, and both fall outside the band."""
    from scipy.stats import norm

    true_auc = norm.cdf(1 / np.sqrt(2))
    rng = np.random.default_rng(5)
    covered = []
    for k in range(100):
        labels, scores = _gaussian_sample(rng, 300, 1.0)
        lo, hi = bootstrap.intervals(labels, scores, seed=k)["auc"]
        covered.append(lo <= true_auc <= hi)
    assert 0.56 <= np.mean(covered) <= 0.80


def test_the_interval_width_matches_hanley_mcneil():
    """Half the 68% width is one standard error: Hanley and McNeil's (Radiology 143 (1982) 29)
    closed form for the AUC's standard error agrees within 15% on 2 x 2,000 jets."""
    labels, scores = _gaussian_sample(np.random.default_rng(9), 2000, 1.0)
    lo, hi = bootstrap.intervals(labels, scores, seed=1, n=400)["auc"]
    a = roc_auc_score(labels, scores)
    n_s = n_b = 2000
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = np.sqrt((a * (1 - a) + (n_s - 1) * (q1 - a * a) + (n_b - 1) * (q2 - a * a)) / (n_s * n_b))
    assert (hi - lo) / 2 == pytest.approx(se, rel=0.15)


def _intervals_at_once(labels, scores, seed, n):
    """intervals as computed before the replicas came in blocks: every row at once."""
    rng = np.random.default_rng(seed)
    w = np.zeros((n, len(labels)))
    for cls in (0, 1):
        idx = np.flatnonzero(labels == cls)
        w[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=n)
    order = np.argsort(-scores, kind="stable")
    s, y, w = scores[order], labels[order], w[:, order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp, fp = np.cumsum(w * y, axis=1)[:, last], np.cumsum(w * (1 - y), axis=1)[:, last]
    zero = np.zeros((n, 1))
    tpr, fpr = np.hstack([zero, tp / tp[:, -1:]]), np.hstack([zero, fp / fp[:, -1:]])
    aucs = np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)
    rej = [metrics.rejection_at_eff(f, t, metrics.EPS_S) for f, t in zip(fpr, tpr, strict=True)]
    return aucs, rej, w


@pytest.mark.parametrize("n", [200, 37, 1])
def test_replicas_in_blocks_are_the_replicas_drawn_at_once(n):
    """The same draws (the anomalies' stream found after the background's) and the same
    interval bounds, to the bit, as every replica at once; 37 ends on a short block."""
    labels, scores = _sample(700, 8)
    labels = labels[np.random.default_rng(1).permutation(len(labels))][:1000]
    scores = scores[:1000]
    aucs, rej, w = _intervals_at_once(labels, scores, 4, n)
    order = np.argsort(-scores, kind="stable")
    assert np.array_equal(bootstrap.replicas(labels, n, 4)[:, order], w)
    blocks = list(bootstrap.replica_blocks(labels, n, 4))
    assert len(blocks) == -(-n // bootstrap.BLOCK)
    assert np.array_equal(np.concatenate(blocks)[:, order], w)
    q = [(1 - bootstrap.LEVEL) / 2 * 100, (1 + bootstrap.LEVEL) / 2 * 100]
    iv = bootstrap.intervals(labels, scores, 4, n=n)
    assert iv["auc"] == [float(v) for v in np.percentile(aucs, q)]
    assert iv["rejection_at_eff_s_0p3"] == [float(v) for v in np.percentile(rej, q)]
