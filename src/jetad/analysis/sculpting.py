"""How much a cut on a score sculpts the background's jet mass: the Jensen-Shannon distance
between the background mass distribution before and after the cut, as in [Kasieczka & Shih
2020] (who report its inverse). 0 when the cut keeps the mass shape, 1 (base 2) when the two
distributions share no bin. The binning is the jet-mass windows' (jetad.analysis.mass_windows:
bins of a fixed width in GeV, edges at its multiples, over the background's mass range).

A cut that keeps few jets has a distance above 0 from statistics alone, so a reference comes
beside it: the median distance after seeded random cuts that keep the same number of jets.
"""

from __future__ import annotations

import numpy as np

from jetad.analysis import mass_windows
from jetad.analysis.working_points import threshold

# the background efficiency of the cut whose sculpting is measured
EPS_B = 1e-2
RANDOM_CUTS = 100


def jensen_shannon(before, after, edges) -> float:
    """The Jensen-Shannon distance (base 2) between the histograms of two samples in `edges`."""
    # heavy: scipy.spatial loads in the stages that measure only
    from scipy.spatial.distance import jensenshannon

    p, _ = np.histogram(before, edges)
    q, _ = np.histogram(after, edges)
    return float(jensenshannon(p.astype(np.float64), q.astype(np.float64), base=2))


def sculpting(score, mass, width: float, seed: int, eps_b: float = EPS_B) -> dict:
    """The background's (`score`, `mass`) cut at background efficiency `eps_b`:
    {eps_b, threshold, n_before, n_after, bin_gev, edges: [first, last], jsd, jsd_random}."""
    score, mass = np.asarray(score, np.float64), np.asarray(mass, np.float64)
    t = threshold(score, eps_b)
    kept = score > t
    e = mass_windows.edges(mass, width)
    out = {"eps_b": eps_b, "threshold": t, "n_before": len(mass), "n_after": int(kept.sum()),
           "bin_gev": width, "edges": [float(e[0]), float(e[-1])], "jsd": None,
           "jsd_random": None}
    if kept.any():
        out["jsd"] = jensen_shannon(mass, mass[kept], e)
        rng = np.random.default_rng(seed)
        out["jsd_random"] = float(np.median([
            jensen_shannon(mass, rng.choice(mass, int(kept.sum()), replace=False), e)
            for _ in range(RANDOM_CUTS)]))
    return out
