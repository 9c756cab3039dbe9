import numpy as np

from jetad.data.kinematics import delta_r, jet_kinematics


def test_delta_r_wraps_phi_and_broadcasts():
    # across phi = +-pi the distance is the short way round
    got = delta_r([0.1, 0.2], [0.0, 3.1], 0.1, -3.1)
    np.testing.assert_allclose(got, [3.1, np.hypot(0.1, 2 * np.pi - 6.2)], rtol=1e-12)
    rng = np.random.default_rng(3)
    eta1, phi1, eta2, phi2 = rng.normal(size=(4, 1000)) * [[2], [3], [2], [3]]
    dphi = np.mod(phi1 - phi2 + np.pi, 2 * np.pi) - np.pi
    np.testing.assert_allclose(delta_r(eta1, phi1, eta2, phi2), np.hypot(eta1 - eta2, dphi),
                               rtol=1e-12, atol=1e-14)


def test_jet_kinematics_of_two_back_to_back_photons():
    # two massless constituents of energy E back to back in x: m = 2E, pT = 0, eta 0 (defined)
    p4 = np.array([[[50.0, 50.0, 0.0, 0.0], [50.0, -50.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]])
    pt, eta, mass = jet_kinematics(p4)
    assert pt[0] == 0.0 and eta[0] == 0.0 and mass[0] == 100.0
    # one massless constituent: a spacelike rounding never gives NaN
    one = np.array([[[10.0, 6.0, 8.0, 0.0]]])
    pt, eta, mass = jet_kinematics(one)
    assert pt[0] == 10.0 and eta[0] == 0.0 and mass[0] == 0.0
