"""The latent-density score on hand-made latents: one Gaussian's closed form, the fit's inputs
(background latents only, active dimensions only), the component choice by BIC, the direction
of the score, and the same bytes on every run."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from jetad.analysis import latent_density as ld
from jetad.errors import DataError


def _latents(n=400, d=3, seed=0, collapsed=0):
    """Correlated Gaussian means in d active dimensions (posterior variance 0.1: far from the
    prior, so every one is active), then `collapsed` dimensions at the prior (mean 0, logvar 0)."""
    rng = np.random.default_rng(seed)
    a = np.tril(rng.normal(size=(d, d))) + 2 * np.eye(d)
    mean = rng.normal(size=(n, d)) @ a.T + np.arange(1, d + 1)
    logvar = np.full((n, d), np.log(0.1))
    mean = np.concatenate([mean, 1e-4 * rng.normal(size=(n, collapsed))], axis=1)
    logvar = np.concatenate([logvar, np.zeros((n, collapsed))], axis=1)
    return mean, logvar


def test_one_component_is_the_gaussian_negative_log_density():
    """One full-covariance Gaussian: -log p = 0.5 (d log 2 pi + log det S + (x - mu)^T S^-1
    (x - mu)), mu and S the maximum-likelihood mean and covariance of the fitted latents."""
    mean, logvar = _latents()
    density = ld.fit(mean, logvar, [1], "full", seed=1)
    mu = mean.mean(axis=0)
    cov = np.cov(mean, rowvar=False, bias=True) + 1e-6 * np.eye(3)  # sklearn's reg_covar
    points = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [4.0, -1.0, 2.5]])
    want = []
    for x in points:
        r = x - mu
        maha2 = float(r @ np.linalg.solve(cov, r))
        want.append(0.5 * (3 * math.log(2 * math.pi) + math.log(np.linalg.det(cov)) + maha2))
    np.testing.assert_allclose(ld.score(density, points), want, rtol=1e-9)
    assert density.components == 1 and list(density.dims) == [0, 1, 2]


def test_the_fit_reads_background_latents_only():
    """No labels and no test jets: the fit's arguments are the validation latents and settings."""
    params = list(inspect.signature(ld.fit).parameters)
    assert params == ["mean", "logvar", "components", "covariance", "seed"]


def test_far_from_the_validation_latents_scores_higher_than_the_centre():
    mean, logvar = _latents(collapsed=2)
    density = ld.fit(mean, logvar, [1, 2, 3], "full", seed=1)
    centre = np.median(mean, axis=0)
    far = centre + np.array([30.0, -30.0, 30.0, 0.0, 0.0])
    s = ld.score(density, np.stack([centre, far]))
    assert s[1] > s[0] + 100


def test_collapsed_dimensions_are_left_out():
    """Dimensions at the prior carry no information: the density reads the active ones only,
    so a jet differing from another in a collapsed dimension alone scores the same."""
    mean, logvar = _latents(collapsed=2)
    density = ld.fit(mean, logvar, [1], "full", seed=1)
    assert list(density.dims) == [0, 1, 2]
    a = np.array([[1.0, 2.0, 3.0, 0.0, 0.0]])
    b = np.array([[1.0, 2.0, 3.0, 5.0, -5.0]])
    assert ld.score(density, a)[0] == ld.score(density, b)[0]
    # a latent collapsed wholly: no dimension is better than another, all are kept
    assert list(ld.active_dims(np.zeros((5, 4)), np.zeros((5, 4)))) == [0, 1, 2, 3]


def test_bic_chooses_two_components_for_two_clusters():
    rng = np.random.default_rng(3)
    mean = np.concatenate([rng.normal(-5, 1, size=(300, 2)), rng.normal(5, 1, size=(300, 2))])
    logvar = np.full_like(mean, -2.0)
    density = ld.fit(mean, logvar, [1, 2, 3, 4], "full", seed=1)
    assert density.components == 2
    assert density.bic[2] < min(density.bic[1], density.bic[3], density.bic[4])
    # one candidate fixes it
    assert ld.fit(mean, logvar, [3], "diag", seed=1).components == 3


def test_parameter_count_is_the_one_bic_charges():
    """n_parameters against sklearn's BIC: -2 log L + p log n, with log L summed over jets."""
    mean, logvar = _latents(n=200, d=3)
    for cov in ("full", "diag", "tied", "spherical"):
        density = ld.fit(mean, logvar, [2], cov, seed=1)
        loglik = float(np.sum(-ld.score(density, mean)))
        p = ld.n_parameters(2, 3, cov)
        assert density.bic[2] == pytest.approx(-2 * loglik + p * math.log(200), rel=1e-10), cov
    assert ld.n_parameters(1, 32, "full") == 32 + 528
    assert ld.n_parameters(3, 4, "spherical") == 12 + 3 + 2


def test_candidates_with_more_parameters_than_jets_are_left_out():
    """With fewer jets than free parameters the likelihood is unbounded: such candidates are
    not fitted; with none left, one diagonal Gaussian of every jet's mean and variance."""
    mean, logvar = _latents(n=20, d=3)
    # full in 3 dimensions: 9 parameters for one component, 19 for two, 29 for three
    assert list(ld.fit(mean, logvar, [1, 2, 3], "full", seed=1).bic) == [1, 2]
    mean, logvar = _latents(n=30, d=32)
    density = ld.fit(mean, logvar, [1, 2], "full", seed=1)
    assert density.fallback and density.covariance == "diag" and density.components == 1
    mu, var = mean.mean(axis=0), mean.var(axis=0) + 1e-6
    x = np.zeros((1, 32))
    want = 0.5 * np.sum(np.log(2 * np.pi * var) + (x[0] - mu) ** 2 / var)
    assert ld.score(density, x)[0] == pytest.approx(want, rel=1e-9)
    assert not ld.fit(*_latents(n=100, d=3), [1], "full", seed=1).fallback


def test_too_few_validation_jets_is_an_error():
    mean, logvar = _latents(n=1)
    with pytest.raises(DataError, match="1 validation jets: too few"):
        ld.fit(mean, logvar, [1, 2], "full", seed=1)


def test_same_inputs_same_bytes():
    mean, logvar = _latents(n=300, d=4, collapsed=1)
    test = _latents(n=50, d=4, seed=9, collapsed=1)[0]
    runs = [ld.score(ld.fit(mean, logvar, [1, 2, 3], "full", seed=7), test).tobytes()
            for _ in range(2)]
    assert runs[0] == runs[1]
