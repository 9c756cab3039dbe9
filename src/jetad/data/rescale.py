"""Every jet brought to one mass m0 and one energy E0 before it is pixelized [Roy & Vijay 2019]
(`pixelize.rescale`): a jet image then no longer shows the jet's mass and boost, the cue that
lets a reconstruction score act as a mass cut.

The transformation of a jet whose constituents p_i = (E_i, vec p_i) sum to P = (E, vec P), of
mass M = sqrt(E^2 - |vec P|^2) and axis n = vec P / |vec P|:

1. rescaling: p_i -> s p_i with s = m0 / M, the same factor for every component of every
   constituent. The jet now has mass m0 and the same direction; no angle changes.
2. boost along n, of rapidity D = y0 - y1, where y1 = arccosh(E / M) is the jet's rapidity
   along its axis and y0 = arccosh(E0 / m0) the target's. Each constituent's component along
   the axis, q_i = vec p_i . n, and its energy mix; the components transverse to n are kept:

       E_i'  = s (cosh D E_i + sinh D q_i)
       q_i'  = s (sinh D E_i + cosh D q_i)
       vec p_i' = s vec p_i + (q_i' - s q_i) n

   with cosh D = (E0 E - p0 |vec P|) / (m0 M) and sinh D = (p0 E - E0 |vec P|) / (m0 M),
   p0 = sqrt(E0^2 - m0^2) (the addition formulas written without the rapidities, so that no
   arccosh of a large ratio is taken). Then the jet sum is (E0, p0 n): mass m0, energy E0.

What the transformation keeps and what it does not, for the images:
- the jet's direction, and each constituent's momentum transverse to the jet axis up to the
  common factor s, so the order of the constituents by that momentum;
- for massless constituents, the order of their angles to the jet axis: the boost maps an
  angle t to t' with tan(t'/2) = exp(-D) tan(t/2), smaller angles when the jet is boosted
  further (D > 0), larger when it is slowed down (D < 0);
- not the energies' order: E_i' / E_i = s (cosh D + sinh D cos t_i) depends on each
  constituent's angle to the axis;
- the images are normalized to unit sum, so the overall factor s does not show in them:
  the image depends on E0 / m0 only (the common boost), m0 sets the units. A massive
  constituent's mass is scaled by s as well.

The paper images the jet in its new frame on axes built by Gram-Schmidt in the plane
transverse to the jet axis. Here the rescaled constituents go through jetad's own
pixelization (jetad.data.pixelize: eta x phi around the jet, centring, rotation, flip) unchanged.
One consequence: fixing the energy, not the transverse momentum, fixes the jet's opening angle
in space, about 2 m0 / E0, which in (eta, phi) is wider by cosh(eta) for a forward jet.

A jet must have a mass and a momentum: a jet whose mass is below MIN_MASS_FRACTION of its
energy (a single massless constituent or collinear ones, whose mass is then float32 rounding)
or that has no momentum, and any non-finite component, is a DataError naming the rows.
The work is whole-batch NumPy in float64; the kernel of pixelize takes the result as float32.
"""

from __future__ import annotations

import numpy as np

from jetad.errors import ConfigError, DataError

# a jet lighter than this fraction of its energy has no mass to rescale: a boost factor above
# 1000, its mass below float32 rounding of E and |p| (relative 6e-8 each, mass ~3e-4 E)
MIN_MASS_FRACTION = 1e-3


def check_target(mass: float, energy: float) -> None:
    """The target must be a moving massive jet: 0 < m0 < E0."""
    if not 0 < mass < energy or not np.isfinite(energy):
        raise ConfigError(f"pixelize.rescale: [{mass}, {energy}] must be [m0, E0] with "
                          f"0 < m0 < E0 (a jet at rest has no axis to image around)")


def _rows(bad: np.ndarray, offset: int) -> str:
    return ", ".join(str(int(i) + offset) for i in bad[:10])


def _jet_sums(p: np.ndarray, origin: str, offset: int):
    """Energy, momentum (N, 3), |momentum| and mass of each jet; refuses the jets the
    transformation has no meaning for."""
    bad = np.flatnonzero(~np.isfinite(p).all(axis=(1, 2)))
    if len(bad):
        raise DataError(f"{origin}: constituents with a NaN or infinite component, rows "
                        f"{_rows(bad, offset)}")
    jet = p.sum(axis=1)
    energy, momentum = jet[:, 0], jet[:, 1:]
    size = np.sqrt(np.einsum("nk,nk->n", momentum, momentum))
    # (E - |p|)(E + |p|) rather than E^2 - |p|^2: one rounding less where they nearly cancel
    mass2 = (energy - size) * (energy + size)
    bad = np.flatnonzero(~((mass2 > (MIN_MASS_FRACTION * energy) ** 2) & (size > 0)))
    if len(bad):
        raise DataError(f"{origin}: jets without a mass or a momentum to rescale (mass below "
                        f"{MIN_MASS_FRACTION:g} of the energy), rows {_rows(bad, offset)}")
    return energy, momentum, size, np.sqrt(mass2)


def rescale_jets(p4: np.ndarray, mass: float, energy: float, origin: str = "input",
                 offset: int = 0) -> np.ndarray:
    """Constituents (N, M, 4) as (E, px, py, pz), zero padded, of jets brought to mass `mass`
    and energy `energy` (float64, a new array; zero padding stays zero). Errors name `origin`
    and the jets' rows (counted from `offset`)."""
    check_target(mass, energy)
    p = np.array(p4, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] != 4:
        raise DataError(f"{origin}: constituents have shape {p.shape}, expected (N, M, 4)")
    if not len(p):
        return p
    e_jet, momentum, size, m_jet = _jet_sums(p, origin, offset)
    p0 = np.sqrt((energy - mass) * (energy + mass))
    cosh = (energy * e_jet - p0 * size) / (mass * m_jet)
    sinh = (p0 * e_jet - energy * size) / (mass * m_jet)
    scale = mass / m_jet
    axis = momentum / size[:, None]
    along = np.einsum("nmk,nk->nm", p[..., 1:], axis)
    # the new component along the axis, less the rescaled old one: what the boost adds
    added = scale[:, None] * (sinh[:, None] * p[..., 0] + (cosh[:, None] - 1) * along)
    p[..., 0] = scale[:, None] * (cosh[:, None] * p[..., 0] + sinh[:, None] * along)
    p[..., 1:] *= scale[:, None, None]
    p[..., 1:] += added[..., None] * axis[:, None, :]
    return p
