"""The background mass sculpting of a cut (jetad.analysis.sculpting): Jensen-Shannon distances
of hand-made histograms, computed by hand."""

import math

import numpy as np
import pytest

from jetad.analysis import sculpting


def _jsd(p, q):
    """The Jensen-Shannon distance, base 2, written out: sqrt of the mean KL to the midpoint."""
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(x):
        return sum(a * math.log2(a / c) for a, c in zip(x, m, strict=True) if a > 0)

    return math.sqrt((kl(p) + kl(q)) / 2)


def test_jensen_shannon_of_hand_made_histograms():
    edges = np.array([0.0, 10.0, 20.0])
    # before: one jet per bin (1/2, 1/2); after: the first bin only (1, 0); midpoint (3/4, 1/4)
    # KL(p|m) = 1/2 log2(2/3) + 1/2 log2(2) = 0.2075, KL(q|m) = log2(4/3) = 0.4150
    got = sculpting.jensen_shannon([5.0, 15.0], [5.0], edges)
    assert got == pytest.approx(math.sqrt((0.5 * math.log2(2 / 3) + 0.5 + math.log2(4 / 3)) / 2))
    assert got == pytest.approx(0.5579, abs=1e-4)
    # the same shape (any number of jets) is 0; disjoint histograms are 1 in base 2
    assert sculpting.jensen_shannon([5.0, 15.0], [5.0, 5.0, 15.0, 15.0], edges) == 0.0
    assert sculpting.jensen_shannon([5.0, 5.0], [15.0], edges) == pytest.approx(1.0)


def test_a_cut_that_keeps_the_heaviest_jets_sculpts_the_mass():
    # 198 light jets in [0, 20) and 2 heavy ones in [40, 60); the score is the mass, so the cut
    # at eps_B = 1% (2 of 200 jets) keeps the two heavy ones
    mass = np.r_[np.linspace(1, 19, 198), 45.0, 55.0]
    out = sculpting.sculpting(mass, mass, width=20.0, seed=1, eps_b=0.01)
    assert (out["n_before"], out["n_after"]) == (200, 2)
    assert out["threshold"] == 19.0  # the third largest score
    assert out["edges"] == [0.0, 60.0] and out["bin_gev"] == 20.0
    # before (198, 0, 2)/200, after (0, 0, 1) in bins of 20 GeV from 0 to 60
    assert out["jsd"] == pytest.approx(_jsd([0.99, 0.0, 0.01], [0.0, 0.0, 1.0]))
    assert out["jsd"] == pytest.approx(0.9796, abs=1e-4)
    # two random jets of 200 are almost surely light ones: the floor is far lower
    assert out["jsd_random"] < 0.2


def test_a_cut_that_keeps_no_jet_has_no_distance():
    mass = np.linspace(1, 19, 50)  # 1% of 50 jets is less than one
    out = sculpting.sculpting(mass, mass, width=20.0, seed=1)
    assert out["n_after"] == 0 and out["jsd"] is None and out["jsd_random"] is None
