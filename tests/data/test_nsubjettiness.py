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


# The compiled kernel against FastJet (taus_reference): the same definitions, so equal to
# rounding on every jet. FastJet picks its tiled strategy above 30 particles, which changes only
# which of two exactly equal distances wins; the jets below have no exact ties except where a
# test builds them on purpose (at most 30 particles, FastJet's plain strategy, as the kernel).

def _assert_matches_fastjet(p4, rel=1e-6):
    new, ref = ns.taus(p4), ns.taus_reference(p4)
    np.testing.assert_allclose(new, ref, rtol=rel, atol=0)
    return new, ref


@pytest.fixture(scope="module")
def pythia_jets():
    """Leading jets of a few Pythia events of each process (a few seconds of generation)."""
    from jetad.data.generate import PROCESSES, generate_chunk

    return np.concatenate([generate_chunk(p, 8, seed=31 + k, progress=False)[0].p4
                           for k, p in enumerate(PROCESSES)])


def test_generated_jets_equal_fastjet(pythia_jets):
    new, _ = _assert_matches_fastjet(pythia_jets)
    counts = (pythia_jets[:, :, 0] > 0).sum(axis=1)
    assert counts.max() > 30  # FastJet's tiled strategy is among them
    assert (new[:, 2] > 0).all() and (new[:, 0] > new[:, 2]).all()


@pytest.mark.slow
def test_the_quick_presets_generated_jets_equal_fastjet():
    """Every jet of the quick preset's generated chunks (`jetad generate` with its seeds)."""
    from jetad.data.generate import Cuts, chunk_seed, generate_chunk, pthat_window
    from jetad.params import build
    from jetad.stages.preset import values

    params = build(values("quick"))
    gen = params.generate
    for process in ("qcd", *gen.signals):
        for chunk in gen.chunks:
            low, high = pthat_window(gen, process)
            jets, _ = generate_chunk(process, gen.jets_per_chunk[process],
                                     chunk_seed(params.seed, process, chunk),
                                     Cuts.from_params(gen), ecm=gen.ecm, pthat_min=low,
                                     pthat_max=high, progress=False)
            _assert_matches_fastjet(jets.p4)


def _jet(rng, n, mass=0.0, spread=0.3):
    return np.array([_p4(p, rng.normal(0.5, spread), rng.normal(2.0, spread),
                         rng.uniform(0, mass))
                     for p in rng.exponential(20.0, n) + 1.0])


def _pad(jets, m=200):
    batch = np.zeros((len(jets), m, 4))
    for i, j in enumerate(jets):
        batch[i, : len(j)] = j
    return batch


def test_constructed_jets_equal_fastjet():
    """Unequal-pT three-particle jets, massive constituents, jets of 1 and 2 constituents, jets
    of 200, jets across phi = +-pi and far forward."""
    rng = np.random.default_rng(5)
    jets = [_jet(rng, 3) for _ in range(30)] + [_jet(rng, 3, mass=5.0) for _ in range(30)]
    jets += [_jet(rng, n, mass=2.0) for n in (1, 2, 2, 4, 7, 15, 31, 64, 120)]
    jets += [_jet(rng, 200, spread=0.25) for _ in range(3)]
    jets += [_jet(rng, 200, mass=1.0, spread=0.3) for _ in range(2)]
    wrap = _jet(rng, 40)
    jets.append(np.array([_p4(np.hypot(*v[1:3]), _y_phi(v)[0], _y_phi(v)[1] + np.pi, 0.0)
                          for v in wrap]))
    forward = _jet(rng, 25, mass=0.5)
    forward[:, 3] *= 30.0
    forward[:, 0] = np.sqrt((forward[:, 1:] ** 2).sum(axis=1) + 0.25)
    jets.append(forward)
    batch = _pad(jets)
    new, _ = _assert_matches_fastjet(batch)
    assert (new[60] == 0).all() and new[61, 0] > 0 and (new[61, 1:] == 0).all()
    assert (new[-7:-2, 2] > 0).all()  # the 200-constituent jets
    np.testing.assert_allclose(new[:60, 2], 0.0)  # three constituents: tau3 = 0
    assert (new[:60, 1] > 0).all()


def test_zero_padded_rows_anywhere_are_ignored():
    rng = np.random.default_rng(8)
    jets = [_jet(rng, n, mass=1.0) for n in (5, 40, 90)]
    packed = _pad(jets, 120)
    scattered = np.zeros((3, 200, 4))
    for i, j in enumerate(jets):
        rows = np.sort(rng.choice(200, len(j), replace=False))
        scattered[i, rows] = j
    _assert_matches_fastjet(scattered)
    np.testing.assert_allclose(ns.taus(scattered), ns.taus(packed), rtol=1e-12)


def test_exact_ties_are_broken_as_fastjet_does():
    """Duplicated constituents (distance exactly 0) and mirrored pairs: equal distances, which
    FastJet's plain strategy (at most 30 particles) breaks by its scan order."""
    rng = np.random.default_rng(13)
    base = _jet(rng, 6, mass=1.0)
    dup = np.concatenate([base, base[[0, 0, 3]], base[[3]]])
    mirror = np.array([[50.0, 10.0, 40.0, 20.0], [50.0, 10.0, -40.0, 20.0],
                       [30.0, 20.0, 0.0, 10.0], [30.0, 20.0, 0.0, 10.0],
                       [20.0, 15.0, 5.0, 8.0], [20.0, 15.0, -5.0, 8.0]])
    # a tie broken the other way merges other constituents: axes and taus move by far more than
    # the last bit, which the CPU's libm may change (seen: 1 ulp on one machine kind, 0 on another)
    _assert_matches_fastjet(_pad([dup, mirror, base], 30), rel=1e-12)


def test_threads_do_not_change_a_bit():
    rng = np.random.default_rng(3)
    batch = _pad([_jet(rng, int(n), mass=1.0) for n in rng.integers(1, 120, 300)])
    np.testing.assert_array_equal(ns.taus(batch, threads=1), ns.taus(batch, threads=2))
    np.testing.assert_array_equal(ns.taus(batch.astype(np.float32)),
                                  ns.taus(batch.astype(np.float32).astype(np.float64)))
