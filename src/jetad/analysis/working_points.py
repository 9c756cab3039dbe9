"""The trigger view of one score: the threshold at a fixed background acceptance and each
signal's efficiency there, as a trigger would be set (its rate fixes the background acceptance,
with no signal in hand).

The cut keeps jets with score > threshold. For an acceptance a of N background jets, the
threshold is the (k+1)-th largest background score with k = floor(a N), so exactly k background
jets pass when their scores are distinct (fewer with ties: the realized acceptance is reported
beside the asked one). With a N < 1 the threshold is the largest background score and no
background jet passes: the sample is too small for that acceptance (`background_pass` 0).
"""

from __future__ import annotations

import math

import numpy as np

# QCD acceptances of the trigger view: 1% and 0.1%, the lower ones a trigger affords
ACCEPTANCES = (1e-2, 1e-3)


def threshold(background, acceptance: float) -> float:
    """The score above which at most `acceptance` of the background jets lie (see module)."""
    b = np.sort(np.asarray(background, np.float64))[::-1]
    k = math.floor(acceptance * len(b) + 1e-9)  # 1e-9: 0.01 * 1000 is 10, not 9.999...
    return float(b[min(k, len(b) - 1)])


def working_point(label, score, signals: dict[str, np.ndarray], acceptance: float) -> dict:
    """{acceptance, threshold, background_pass, n_background, realized_acceptance,
    efficiency: {signal: fraction of its jets above the threshold}} for label 0 = background
    and `signals` {name: mask of its jets}."""
    label = np.asarray(label).astype(int)
    score = np.asarray(score, np.float64)
    bkg = score[label == 0]
    t = threshold(bkg, acceptance)
    passed = int((bkg > t).sum())
    return {"acceptance": acceptance, "threshold": t, "background_pass": passed,
            "n_background": len(bkg), "realized_acceptance": passed / len(bkg),
            "efficiency": {s: float((score[m] > t).mean()) for s, m in signals.items()}}


def working_points(label, score, signals: dict[str, np.ndarray],
                   acceptances=ACCEPTANCES) -> list[dict]:
    return [working_point(label, score, signals, a) for a in acceptances]
