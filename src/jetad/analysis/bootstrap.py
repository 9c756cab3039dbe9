"""Bootstrap intervals on the figures of merit (AUC and 1/eps_B at eps_S = 0.3), seeded.

Stratified: each replica redraws the signal and the background jets separately, with replacement,
so both class counts stay fixed. A replica is a vector of multiplicities on the original jets, so
the scores are sorted once and every replica's ROC curve is a weighted cumulative sum over that
one order (all replicas at once in NumPy); ties between equal scores count one half, as in
sklearn's roc_auc_score, which the unit-weight case reproduces exactly.
"""

from __future__ import annotations

import numpy as np

from jetad.analysis.metrics import EPS_S, check_scores, rejection_at_eff

N_REPLICAS = 200
LEVEL = 0.68


def _curves(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray):
    """(fpr, tpr) of shape (replicas, thresholds + 1) for weights (replicas, jets)."""
    order = np.argsort(-scores, kind="stable")
    s, y, w = scores[order], labels[order], weights[:, order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the end of each group of equal scores
    tp = np.cumsum(w * y, axis=1)[:, last]
    fp = np.cumsum(w * (1 - y), axis=1)[:, last]
    zero = np.zeros((len(w), 1))
    tpr = np.hstack([zero, tp / tp[:, -1:]])
    fpr = np.hstack([zero, fp / fp[:, -1:]])
    return fpr, tpr


def weighted_auc(labels, scores, weights) -> np.ndarray:
    """AUC of each row of `weights` (multiplicities of the jets); trapezoids count ties 1/2."""
    labels, scores = check_scores(labels, scores)
    fpr, tpr = _curves(labels, scores, np.atleast_2d(np.asarray(weights, np.float64)))
    return np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)


def replicas(labels, n: int, seed: int) -> np.ndarray:
    """(n, jets) multiplicities of n stratified bootstrap replicas."""
    labels = np.asarray(labels).astype(int)
    rng = np.random.default_rng(seed)
    w = np.zeros((n, len(labels)))
    for cls in (0, 1):
        idx = np.flatnonzero(labels == cls)
        w[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=n)
    return w


def intervals(labels, scores, seed: int, n: int = N_REPLICAS, level: float = LEVEL) -> dict:
    """Central `level` intervals of AUC and 1/eps_B over n replicas: {"auc": [lo, hi],
    "rejection_at_eff_s_0p3": [lo, hi] or None when eps_B is 0 in some replica}."""
    labels, scores = check_scores(labels, scores)
    w = replicas(labels, n, seed)
    fpr, tpr = _curves(labels, scores, w)
    aucs = np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)
    rej = [rejection_at_eff(f, t, EPS_S) for f, t in zip(fpr, tpr, strict=True)]
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    out = {"auc": [float(v) for v in np.percentile(aucs, q)], "rejection_at_eff_s_0p3": None}
    if all(r is not None for r in rej):
        out["rejection_at_eff_s_0p3"] = [float(v) for v in np.percentile(rej, q)]
    out.update(n_replicas=n, level=level, seed=seed)
    return out
