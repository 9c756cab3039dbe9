"""The N-subjettiness kernel's own parts (its results against FastJet are in
test_nsubjettiness.py)."""

import numpy as np
import pytest

from jetad.data import kt_axes


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 127, 128, 129, 200, 257, 1000, 4099])
def test_pairwise_sum_is_numpys_to_the_bit(n):
    """NumPy sums a contiguous float64 row pairwise (blocks of 8 accumulators up to 128 terms,
    halves above); the kernel's tau sums reproduce it, so they match the reference's bits."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 6, n)
    rows = np.zeros((3, n))
    rows[1] = x
    assert kt_axes.pairwise_sum(x, n) == rows.sum(axis=1)[1] == x.sum()


def test_axes_of_two_merges_are_the_sums():
    """Four massless particles in two tight pairs far apart: kT merges each pair first, so the
    two exclusive axes are the pairs' sums (E scheme) and the one axis the sum of all four."""
    def p4(pt, y, phi):
        return [pt * np.cosh(y), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(y)]

    mom = np.array([p4(50, 0.0, 1.0), p4(30, 0.02, 1.01), p4(40, 0.5, 1.4), p4(20, 0.51, 1.42)])
    axes = np.zeros((6, 4))
    rap, phi, kt2, nnd, dij, tmp, praw = np.empty((7, 4))
    nn, flag = np.empty(4, dtype=np.int64), np.empty(4, dtype=np.uint8)
    kt_axes.cluster_axes(mom.copy(), 4, rap, phi, kt2, nn, nnd, dij, axes, 0.64, tmp, flag, praw)
    pairs = sorted(map(tuple, axes[3:5]))
    np.testing.assert_allclose(pairs, sorted([tuple(mom[0] + mom[1]), tuple(mom[2] + mom[3])]))
    np.testing.assert_allclose(axes[5], mom.sum(axis=0))
    np.testing.assert_array_equal(praw, np.arctan2(mom[:, 2], mom[:, 1]))
