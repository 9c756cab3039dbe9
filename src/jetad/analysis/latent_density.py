"""The latent-density score: how unlikely a jet's encoded latent is under the background's.

A Gaussian mixture is fitted to the continuous latent means of the validation jets, which are
background only; a test jet's score is the negative log-density of its latent mean under it
(higher = more anomalous). The KL scores ask how far a jet's posterior is from the prior
N(0, 1); this one how far its latent lies from where the background's latents actually are,
which a trained encoder need not have put at the prior's centre. The fit sees no labels and no
test jet.

Only the active dimensions enter: those whose KL to the prior, averaged over the validation
jets, exceeds `collapse.ACTIVE_KL` (the collapse measure of `jetad train`). A collapsed
dimension's means sit at the prior's centre whatever the jet, so it carries no information
about the jet, while its near-zero spread would make the mixture's covariance near singular
and the score a measure of numerical noise. Label-free: the rule reads the validation jets.

The number of components is the candidate with the lowest BIC [Schwarz 1978] on the validation
latents, again without labels, among the candidates with no more free parameters than
validation jets: with more, the maximum likelihood runs off to a covariance squeezed onto the
jets' own span (unbounded likelihood; BIC then ranks numerical noise). When not even the
smallest candidate qualifies (the quick preset's 30 validation jets in 32 active dimensions),
the density is one diagonal Gaussian, each dimension's mean and variance taken over all the
jets (never singular), and the caller is told.

The fit and the density run on one thread: the mixture's k-means start and its BLAS reductions
then add in one order, so the same parameters give the same bytes whatever the number of cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from jetad.analysis import collapse
from jetad.errors import DataError


@dataclass
class LatentDensity:
    """A fitted density: the mixture, the latent dimensions it reads, the BIC per candidate."""

    mixture: object  # sklearn.mixture.GaussianMixture
    dims: np.ndarray  # indices of the continuous latent dimensions used
    bic: dict[int, float]  # number of components -> BIC on the validation latents
    n_fit: int  # validation jets fitted
    covariance: str  # the covariance type fitted: the one asked for, or the fallback "diag"
    fallback: bool  # no candidate had as many jets as parameters: one diagonal Gaussian

    @property
    def components(self) -> int:
        return int(self.mixture.n_components)


def active_dims(mean, logvar, threshold: float = collapse.ACTIVE_KL) -> np.ndarray:
    """Indices of the dimensions whose mean KL to the prior exceeds `threshold`; all of them
    when none does (a fully collapsed latent: no dimension is better than another)."""
    kl = collapse.kl_per_dim(mean, logvar)
    dims = np.flatnonzero(kl > threshold)
    return dims if len(dims) else np.arange(len(kl))


def n_parameters(components: int, dims: int, covariance: str) -> int:
    """Free parameters of a mixture: means, covariances, and the weights (summing to 1)."""
    per_cov = {"full": components * dims * (dims + 1) // 2, "diag": components * dims,
               "tied": dims * (dims + 1) // 2, "spherical": components}[covariance]
    return components * dims + per_cov + components - 1


def fit(mean, logvar, components, covariance: str, seed: int) -> LatentDensity:
    """The mixture of the validation (background) latents `mean`, `logvar` (N, d); for each
    candidate number of `components` with no more free parameters than jets one fit, the
    lowest BIC kept (the fewer components on a tie); one diagonal Gaussian when none
    qualifies."""
    # heavy: scikit-learn loads only in the stage that fits the density
    from sklearn.mixture import GaussianMixture

    mean = np.asarray(mean, np.float64)
    n = len(mean)
    if n < 2:
        raise DataError(f"{n} validation jets: too few to fit a latent density (2 or more)")
    dims = active_dims(mean, logvar)
    x = mean[:, dims]
    candidates = sorted(k for k in {int(c) for c in components}
                        if n_parameters(k, len(dims), covariance) <= n)
    fallback = not candidates
    if fallback:
        candidates, covariance = [1], "diag"
    fits, bic = {}, {}
    with threadpool_limits(1):
        for k in candidates:
            gm = GaussianMixture(n_components=k, covariance_type=covariance, random_state=seed)
            fits[k] = gm.fit(x)
            bic[k] = float(gm.bic(x))
    best = min(candidates, key=lambda k: (bic[k], k))
    return LatentDensity(fits[best], dims, bic, n, covariance, fallback)


def score(density: LatentDensity, mean) -> np.ndarray:
    """-log p(mean) per jet under the fitted mixture, in nats, on the same dimensions."""
    x = np.asarray(mean, np.float64)[:, density.dims]
    with threadpool_limits(1):
        return -density.mixture.score_samples(x)
