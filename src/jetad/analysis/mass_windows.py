"""The headline score's AUC inside jet-mass windows: does it find a signal beyond its mass?

A score that only learned the jet mass separates a signal from QCD over the whole mass range
but not inside a narrow window, where both classes have nearly the same mass (the jet mass alone
is a strong baseline here: docs/results.md). Windows
are fixed bins of `width` GeV with edges at multiples of the width (placed before any label is
read); a signal is measured in a window only when the window holds at least `min_jets` test jets
of the background and of that signal, so that each AUC rests on enough jets of both classes.
"""

from __future__ import annotations

import math

import numpy as np

from jetad.analysis.metrics import auc


def edges(mass: np.ndarray, width: float) -> np.ndarray:
    """Bin edges at multiples of `width` covering every value of `mass` (at least one bin)."""
    mass = np.asarray(mass, np.float64)
    lo = math.floor(float(mass.min()) / width)
    hi = max(math.floor(float(mass.max()) / width) + 1, lo + 1)
    return np.arange(lo, hi + 1) * width


def windows(background_mass, signal_mass, width: float, min_jets: int) -> list[tuple[float, float]]:
    """The windows [lo, hi) holding at least `min_jets` jets of each class."""
    both = np.concatenate([background_mass, signal_mass])
    e = edges(both, width)
    nb, _ = np.histogram(background_mass, e)
    ns, _ = np.histogram(signal_mass, e)
    return [(float(e[i]), float(e[i + 1])) for i in np.flatnonzero((nb >= min_jets)
                                                                   & (ns >= min_jets))]


def window_aucs(label, score, mass, width: float, min_jets: int) -> list[dict]:
    """[{lo, hi, n_background, n_signal, auc}] of each window of `windows`, for jets of one
    signal (label 1) and the background (label 0); larger score = more anomalous."""
    label = np.asarray(label).astype(int)
    score, mass = np.asarray(score, np.float64), np.asarray(mass, np.float64)
    out = []
    for lo, hi in windows(mass[label == 0], mass[label == 1], width, min_jets):
        inside = (mass >= lo) & (mass < hi)
        y = label[inside]
        out.append({"lo": lo, "hi": hi, "n_background": int((y == 0).sum()),
                    "n_signal": int((y == 1).sum()), "auc": auc(y, score[inside])})
    return out
