"""Jet kinematics: pT, pseudorapidity and mass of the sum of a jet's constituents, and the
distance Delta R in (eta, phi), one home for what generate, pixelize and the benches use.

Delta R comes from scikit-hep's `vector`. The jet pT, eta and mass stay written out: vector
takes pT as sqrt(px^2 + py^2) and the mass as sqrt(E^2 - |p|^2), which differ from hypot and
E^2 - px^2 - py^2 - pz^2 in the last bits of float64 (measured on the quick preset's jets:
relative 2e-16 for pT, 3e-16 for eta, up to 6e-13 for the mass, where E^2 and |p|^2 cancel). The
image files store these as float32: identical on those jets, but a larger sample would see a
jet's mass move by one float32 step, and every later output with it.
"""

from __future__ import annotations

import numpy as np


def jet_kinematics(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jet pT, eta, mass (float64) from the sum of its constituents (N, M, 4) as
    (E, px, py, pz), zero padded; eta 0 for a jet without transverse momentum, mass 0 for a
    spacelike sum (rounding of a massless jet)."""
    e, px, py, pz = np.asarray(p4, dtype=np.float64).sum(axis=1).T
    pt = np.hypot(px, py)
    eta = np.arcsinh(np.divide(pz, pt, out=np.zeros_like(pz), where=pt > 0))
    mass = np.sqrt(np.clip(e**2 - px**2 - py**2 - pz**2, 0, None))
    return pt, eta, mass


def delta_r(eta1, phi1, eta2, phi2) -> np.ndarray:
    """Delta R = sqrt(Delta eta^2 + Delta phi^2) of (eta, phi) points, broadcast, with
    Delta phi wrapped into [-pi, pi) (vector's deltaR)."""
    # heavy: vector (and awkward under it) only where jets are matched to their truth
    import vector

    eta1, phi1, eta2, phi2 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                                   for v in (eta1, phi1, eta2, phi2)))
    one = np.ones(eta1.shape)
    a = vector.array({"rho": one, "eta": eta1, "phi": phi1})
    b = vector.array({"rho": one, "eta": eta2, "phi": phi2})
    return np.asarray(a.deltaR(b))
