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
