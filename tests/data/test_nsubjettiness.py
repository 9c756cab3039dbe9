"""N-subjettiness on constructed jets: hand values, and one-, two- and three-prong jets told
apart by tau21 and tau32 the way the baseline relies on."""

import numpy as np
import pytest

from jetad.data import nsubjettiness as ns


def _prongs(centres, rng, n_per=12, spread=0.02):
    """One jet: n_per massless constituents around each (eta, phi) centre, equal pT prongs."""
    eta = np.concatenate([c[0] + spread * rng.standard_normal(n_per) for c in centres])
    phi = np.concatenate([c[1] + spread * rng.standard_normal(n_per) for c in centres])
    pt = np.full(len(eta), 10.0)
    return pt, eta, phi


def _batch(jets, jets_from_ptetaphi):
    m = max(len(j[0]) for j in jets)
    pad = [np.zeros((len(jets), m)) for _ in range(3)]
    for i, j in enumerate(jets):
        for k in range(3):
            pad[k][i, : len(j[k])] = j[k]
    return jets_from_ptetaphi(*pad)


def test_two_particles_hand_values(jets_from_ptetaphi):
    """Two equal-pT particles 0.4 apart in phi: the single kT axis sits between them, each is
    0.2 away, so tau1 = 2 pT 0.2 / (2 pT 0.8) = 0.25; with two particles tau2 = tau3 = 0."""
    p4 = jets_from_ptetaphi([[50.0, 50.0]], [[0.0, 0.0]], [[-0.2, 0.2]])
    r = ns.ratios(p4)
    assert r["tau1"][0] == pytest.approx(0.25, rel=1e-3)
    assert r["tau2"][0] == 0.0 and r["tau21"][0] == 0.0 and r["tau32"][0] == 0.0


def test_padding_and_phi_wrap_do_not_change_tau(jets_from_ptetaphi):
    p4 = jets_from_ptetaphi([[50.0, 30.0, 20.0]], [[0.1, -0.1, 0.3]], [[3.1, -3.1, 2.9]])
    padded = np.zeros((1, 10, 4), np.float32)
    padded[:, :3] = p4
    shifted = jets_from_ptetaphi([[50.0, 30.0, 20.0]], [[0.1, -0.1, 0.3]],
                                 [[3.1 - np.pi, -3.1 + np.pi, 2.9 - np.pi]])
    t = ns.tau_n(p4, 1)[0]
    assert t > 0.05
    assert ns.tau_n(padded, 1)[0] == pytest.approx(t, rel=1e-6)
    assert ns.tau_n(shifted, 1)[0] == pytest.approx(t, rel=1e-4)


def test_prong_counting_separates_constructed_jets(jets_from_ptetaphi):
    rng = np.random.default_rng(7)
    one = [_prongs([(0.0, 0.0)], rng) for _ in range(20)]
    two = [_prongs([(0.0, -0.2), (0.1, 0.2)], rng) for _ in range(20)]
    three = [_prongs([(0.0, -0.25), (0.2, 0.2), (-0.2, 0.15)], rng) for _ in range(20)]
    r1, r2, r3 = (ns.ratios(_batch(j, jets_from_ptetaphi)) for j in (one, two, three))
    # two prongs: tau2 << tau1; one prong: the second axis buys little
    assert r2["tau21"].max() < 0.3 < r1["tau21"].min()
    # three prongs: tau3 << tau2; two prongs: the third axis buys little
    assert r3["tau32"].max() < 0.3 < r2["tau32"].min()
    assert (r3["tau21"] > r2["tau21"]).all()


def _p4(pt, y, phi, m):
    """(E, px, py, pz) of a massive particle from its pT, rapidity, azimuth and mass."""
    mt = np.hypot(pt, m)
    return [mt * np.cosh(y), pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y)]


def _y_phi(v):
    e, px, py, pz = v
    return 0.5 * np.log((e + pz) / (e - pz)), np.arctan2(py, px)


def _dr(a, b):
    (ya, pa), (yb, pb) = _y_phi(a), _y_phi(b)
    dphi = abs(pa - pb)
    return np.hypot(ya - yb, min(dphi, 2 * np.pi - dphi))


def test_unequal_massive_three_particle_jet_hand_values():
    """Three massive constituents of unequal pT: A (100 GeV) and B (50 GeV) 0.07 apart, C (30 GeV)
    far from both. kT's distances min(pT_i, pT_j)^2 dR^2 merge A and B first (12.5 against 225
    and 220 GeV^2; every beam distance is larger), so the two exclusive-kT axes are A + B (E
    scheme) and C; the one axis is A + B + C. tau_N written out from those axes with rapidity
    and azimuth; three constituents leave tau3 = 0."""
    consts = [(100.0, 0.0, 0.0, 30.0), (50.0, 0.05, 0.05, 8.0), (30.0, -0.3, 0.4, 0.5)]
    a, b, c = (np.array(_p4(*k)) for k in consts)
    pts, norm = np.array([k[0] for k in consts]), sum(k[0] for k in consts) * ns.R0
    tau1 = sum(pt * _dr(v, a + b + c) for pt, v in zip(pts, (a, b, c), strict=True)) / norm
    tau2 = (pts[0] * _dr(a, a + b) + pts[1] * _dr(b, a + b)) / norm
    r = ns.ratios(np.array([[a, b, c]]))
    assert r["tau1"][0] == pytest.approx(tau1, rel=1e-6)
    assert r["tau2"][0] == pytest.approx(tau2, rel=1e-6)
    assert r["tau3"][0] == 0.0
    assert r["tau21"][0] == pytest.approx(tau2 / tau1, rel=1e-6) and r["tau32"][0] == 0.0
    # the masses matter: the same momenta taken massless move the axes' rapidities
    massless = np.array([[_p4(pt, y, phi, 0.0) for pt, y, phi, _ in consts]])
    assert abs(ns.ratios(massless)["tau1"][0] - tau1) > 1e-4


def test_a_mixed_batch_equals_each_jet_alone():
    """Jets of 2, 3, 7 and 12 constituents padded into one batch give what each gives alone:
    the batch clustering must not mix jets or read the padding."""
    rng = np.random.default_rng(11)
    jets = []
    for n in (2, 3, 7, 12):
        pt = rng.uniform(5, 120, n)
        jets.append(np.array([_p4(p, rng.normal(0, 0.3), rng.normal(0, 0.3), rng.uniform(0, 2))
                              for p in pt]))
    batch = np.zeros((len(jets), 12, 4))
    for i, j in enumerate(jets):
        batch[i, : len(j)] = j
    together = ns.ratios(batch)
    for i, j in enumerate(jets):
        alone = ns.ratios(j[None])
        for key in ("tau1", "tau2", "tau3", "tau21", "tau32"):
            assert together[key][i] == pytest.approx(alone[key][0], rel=1e-12, abs=1e-15), key
    assert together["tau3"][0] == together["tau3"][1] == 0.0 < together["tau3"][3]
