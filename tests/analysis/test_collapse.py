"""Collapse measures on constructed latents and reconstructions."""

import numpy as np
import pytest

from jetad.analysis import collapse


def test_active_dims_count_informative_dimensions_only():
    rng = np.random.default_rng(0)
    n = 5000
    mean = np.zeros((n, 4))
    logvar = np.zeros((n, 4))
    mean[:, 0] = rng.normal(0, 1, n)          # KL = E[mu^2]/2 = 0.5 nats
    logvar[:, 1] = np.log(0.5)                # KL = -0.5 (1 + log 0.5 - 0.5) = 0.0966 nats
    mean[:, 2] = rng.normal(0, 0.05, n)       # KL = 0.00125 nats: below 0.01, collapsed
    kl = collapse.kl_per_dim(mean, logvar)
    assert kl[0] == pytest.approx(0.5, rel=0.05)
    assert kl[1] == pytest.approx(-0.5 * (1 + np.log(0.5) - 0.5), rel=1e-9)
    assert kl[3] == 0.0
    assert collapse.active_dims(mean, logvar) == 2


def test_spread_ratio_of_identity_collapse_and_half():
    rng = np.random.default_rng(1)
    x = rng.random((200, 6, 6))
    assert collapse.spread_ratio(x, x) == pytest.approx(1.0)
    same = np.broadcast_to(x.mean(axis=0), x.shape)
    assert collapse.spread_ratio(x, same) == pytest.approx(0.0, abs=1e-12)
    half = x.mean(axis=0) + 0.5 * (x - x.mean(axis=0)) + 3.0  # an offset changes no spread
    assert collapse.spread_ratio(x, half) == pytest.approx(0.5)
