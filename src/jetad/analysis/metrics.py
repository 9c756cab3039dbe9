"""Figures of merit for one anomaly score: ROC curve, AUC, TPR at fixed FPR and the background rejection
1/eps_B at signal efficiency eps_S = 0.3 (the top-tagging figure of [Kasieczka et al. 2019]).

Signal is label 1 (top); larger scores are taken as more signal-like, never flipped after
looking at the labels, so an AUC below 0.5 (e.g. MSE: tops reconstruct better) is reported as
it is.
"""

from __future__ import annotations

import numpy as np

from jetad.data.processes import PROCESSES
from jetad.errors import DataError

FPR_POINTS = {"10pct": 0.1, "1pct": 0.01, "0p1pct": 0.001}
EPS_S = 0.3


def roc(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) with ties handled by sklearn (one point per distinct threshold)."""
    # heavy: scikit-learn takes seconds to import; only the stages that evaluate pay for it
    from sklearn.metrics import roc_curve

    labels, scores = check_scores(labels, scores)
    fpr, tpr, _ = roc_curve(labels, scores)
    return fpr, tpr


def check_scores(labels, scores):
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape:
        raise DataError(f"{labels.shape[0]} labels but {scores.shape[0]} scores")
    n_sig, n_bkg = int((labels == 1).sum()), int((labels == 0).sum())
    if n_sig == 0 or n_bkg == 0:
        raise DataError(
            f"need both classes to evaluate, have {n_sig} signal and {n_bkg} background jets"
        )
    if not np.isfinite(scores).all():
        raise DataError(f"{int((~np.isfinite(scores)).sum())} scores are NaN or infinite")
    return labels, scores


def auc(labels, scores) -> float:
    # heavy: scikit-learn, as in roc()
    from sklearn.metrics import roc_auc_score

    labels, scores = check_scores(labels, scores)
    return float(roc_auc_score(labels, scores))


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """TPR at a given FPR, interpolated linearly along the ROC curve.

    fpr is non-decreasing; np.interp takes the last of equal x values, so at a vertical step
    the highest TPR reached at that FPR is reported.
    """
    return float(np.interp(target, fpr, tpr))


def rejection_at_eff(fpr: np.ndarray, tpr: np.ndarray, eff: float = EPS_S) -> float | None:
    """1/eps_B at signal efficiency eps_S; None when no background passes (unbounded)."""
    # The first ROC point whose TPR reaches eff: the smallest background efficiency there.
    i = int(np.searchsorted(tpr, eff, side="left"))
    if i >= len(tpr):
        return None
    if i == 0 or tpr[i] == eff:
        eps_b = fpr[i]
    else:
        w = (eff - tpr[i - 1]) / (tpr[i] - tpr[i - 1])
        eps_b = fpr[i - 1] + w * (fpr[i] - fpr[i - 1])
    return None if eps_b <= 0 else float(1.0 / eps_b)


def summary(labels, scores) -> dict:
    fpr, tpr = roc(labels, scores)
    out = {"auc": auc(labels, scores)}
    for name, target in FPR_POINTS.items():
        out[f"tpr_at_fpr_{name}"] = tpr_at_fpr(fpr, tpr, target)
    out["rejection_at_eff_s_0p3"] = rejection_at_eff(fpr, tpr, EPS_S)
    labels = np.asarray(labels).astype(int)
    out["n_signal"] = int((labels == 1).sum())
    out["n_background"] = int((labels == 0).sum())
    return out

def signal_aucs(label: np.ndarray, process: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """{'all': AUC of every anomaly vs the background, <signal>: that process alone}."""
    label = np.asarray(label).astype(int)
    out = {"all": float(auc(label, score))}
    background = label == 0
    for i in np.unique(process[label == 1]):
        sel = background | (process == i)
        out[PROCESSES[int(i)]] = float(auc(label[sel], score[sel]))
    return out
