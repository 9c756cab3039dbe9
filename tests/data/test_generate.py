import numpy as np
import pytest

from jetad.data.generate import Cuts, chunk_seed, delta_r, generate_chunk, jet_mass
from jetad.data.layout import read_jets, write_jets


def test_chunk_seeds_are_distinct_and_in_pythia_range():
    seeds = {chunk_seed(2603256, p, c) for p in ("qcd", "top") for c in range(200)}
    assert len(seeds) == 400
    assert all(1 <= s <= 900_000_000 for s in seeds)
    assert chunk_seed(1, "qcd", 0) != chunk_seed(2, "qcd", 0)


@pytest.fixture(scope="module")
def top_chunk():
    return generate_chunk("top", 25, seed=11, progress=False)


def test_top_jets_pass_the_cuts_and_are_heavy(top_chunk):
    jets, stats = top_chunk
    assert len(jets) == 25 and (jets.label == 1).all()
    total = jets.p4.astype(np.float64).sum(axis=1)
    pt = np.hypot(total[:, 1], total[:, 2])
    eta = np.arcsinh(total[:, 3] / pt)
    cuts = Cuts()
    assert ((pt > cuts.pt_min - 1) & (pt < cuts.pt_max + 1)).all()
    assert (np.abs(eta) < cuts.abs_eta_max + 0.01).all()
    # matched tops: the truth top is within the jet radius, the jet mass near the top mass
    truth = jets.truth.astype(np.float64)
    teta = np.arcsinh(truth[:, 3] / np.hypot(truth[:, 1], truth[:, 2]))
    tphi = np.arctan2(truth[:, 2], truth[:, 1])
    assert (delta_r(teta, tphi, eta, np.arctan2(total[:, 2], total[:, 1])) < 0.8).all()
    assert 130 < np.median(jet_mass(jets)) < 210
    assert 0.05 < stats["acceptance"] < 0.6
    # constituents sorted by pT, zero padded
    cpt = np.hypot(jets.p4[:, :, 1], jets.p4[:, :, 2])
    assert (np.diff(cpt, axis=1) <= 1e-3).all()


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path, top_chunk):
    jets, _ = top_chunk
    again, _ = generate_chunk("top", 25, seed=11, progress=False)
    write_jets(tmp_path / "a.h5", jets)
    write_jets(tmp_path / "b.h5", again)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    other, _ = generate_chunk("top", 5, seed=12, progress=False)
    assert not np.array_equal(other.p4, jets.p4[:5])
    np.testing.assert_array_equal(read_jets(tmp_path / "a.h5").p4, jets.p4)


def test_qcd_jets_are_lighter_than_tops(top_chunk):
    qcd, stats = generate_chunk("qcd", 25, seed=11, progress=False)
    assert (qcd.label == 0).all() and (qcd.truth == 0).all()
    assert np.median(jet_mass(qcd)) < np.median(jet_mass(top_chunk[0]))
    assert stats["acceptance"] > 0.1
