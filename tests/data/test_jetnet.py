"""The JetNet layout both ways: files as Zenodo record 6975118 holds them (written here with
plain h5py) read back unchanged, turned into constituents for the image stages, and Pythia
jets at JetNet's kinematics written in that layout."""

import hashlib

import h5py
import numpy as np
import pytest

from jetad.data.generate import Cuts, generate_chunk
from jetad.data.jetnet import (
    N_PARTICLES,
    from_jets,
    read_jetnet,
    to_jets,
    write_jetnet,
)
from jetad.data.layout import MAX_CONSTITUENTS
from jetad.errors import DataError


def _zenodo_file(path, data):
    """A file as the record's: two plain datasets, nothing else."""
    with h5py.File(path, "w") as f:
        f["particle_features"] = data.particles
        f["jet_features"] = data.jet
    return path


def test_a_zenodo_style_file_reads_back_unchanged(tmp_path, make_jetnet):
    data = make_jetnet(7)
    back = read_jetnet(_zenodo_file(tmp_path / "g.hdf5", data))
    np.testing.assert_array_equal(back.particles, data.particles)
    np.testing.assert_array_equal(back.jet, data.jet)
    assert back.particles.shape == (7, N_PARTICLES, 4) and back.jet.shape == (7, 4)


def test_written_files_are_the_layout_and_the_same_bytes(tmp_path, make_jetnet):
    data = make_jetnet(5)
    digests = []
    for name in ("a.hdf5", "b.hdf5"):
        write_jetnet(tmp_path / name, data)
        digests.append(hashlib.md5((tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    with h5py.File(tmp_path / "a.hdf5") as f:
        assert sorted(f) == ["jet_features", "particle_features"]
    np.testing.assert_array_equal(read_jetnet(tmp_path / "a.hdf5").particles, data.particles)


def test_constituents_are_rebuilt_massless_from_the_relative_features(make_jetnet):
    data = make_jetnet(6)
    jets = to_jets(data, "quark")
    assert jets.p4.shape == (6, MAX_CONSTITUENTS, 4)
    assert (jets.label == 0).all() and (to_jets(data, "w").label == 1).all()
    e, px, py, pz = (jets.p4[:, :N_PARTICLES, k].astype(np.float64) for k in range(4))
    pt = np.hypot(px, py)
    mask = data.mask
    # pT ordered as JetNet's particles are, so the rows line up with the features
    np.testing.assert_allclose(pt, np.where(mask, data.particles[:, :, 2] * data.jet[:, :1], 0),
                               rtol=1e-5, atol=1e-3)
    eta = np.arcsinh(np.divide(pz, pt, out=np.zeros_like(pt), where=pt > 0))
    phi = np.arctan2(py, px)
    np.testing.assert_allclose(eta[mask], (data.particles[:, :, 0] + data.jet[:, 1:2])[mask],
                               atol=1e-4)
    np.testing.assert_allclose(phi[mask], data.particles[:, :, 1][mask], atol=1e-4)
    np.testing.assert_allclose(e**2, px**2 + py**2 + pz**2, rtol=1e-4, atol=1e-2)
    assert (jets.p4[:, N_PARTICLES:] == 0).all() and (jets.p4[:, :N_PARTICLES][~mask] == 0).all()


def test_features_of_known_constituents(jets_from_ptetaphi, make_jets):
    """Two particles of a jet along phi = 3 (the wrap at pi), and a jet of 40 particles."""
    p4 = np.zeros((2, MAX_CONSTITUENTS, 4), dtype=np.float32)
    p4[0, :2] = jets_from_ptetaphi([[600.0, 400.0]], [[0.5, 0.5]], [[3.1, -3.1]])[0]
    rng = np.random.default_rng(1)
    pt = -np.sort(-rng.uniform(1, 50, 40))
    p4[1, :40] = jets_from_ptetaphi(pt[None], rng.uniform(-0.3, 0.3, (1, 40)),
                                    rng.uniform(-0.3, 0.3, (1, 40)))[0]
    jets = make_jets(2)
    jets.p4 = p4
    data = from_jets(jets)
    first = data.particles[0]
    assert first[:2, 3].tolist() == [1.0, 1.0] and not first[2:].any()
    # the same eta, and the (massive) jet's pseudorapidity a little below it
    assert first[0, 0] == pytest.approx(first[1, 0], abs=1e-6) and 0 < -first[0, 0] < 1e-3
    # the jet axis sits between them, at the wrap: phi_rel small, not 2 pi
    assert (np.abs(first[:2, 1]) < 0.1).all() and first[0, 1] * first[1, 1] < 0
    # 40 particles: 30 kept, the jet and its count are all 40's
    assert data.jet[1, 3] == 40 and data.mask[1].all()
    assert data.particles[1, :, 2].sum() < 1
    np.testing.assert_allclose(data.jet[1, 0], np.hypot(*p4[1].sum(axis=0)[1:3]), rtol=1e-5)


@pytest.fixture(scope="module")
def jetnet_chunks():
    """A few Pythia jets of each background at JetNet's kinematics (the jetnet preset)."""
    cuts = Cuts(jet_r=0.8, pt_min=800.0, pt_max=1600.0, abs_eta_max=2.0, match_dr=0.8)
    return {p: from_jets(generate_chunk(p, 6, seed=5, cuts=cuts, ecm=13000.0,
                                        pthat_min=990.0, pthat_max=1010.0,
                                        progress=False)[0])
            for p in ("gluon", "quark")}


def test_generated_jets_in_the_jetnet_layout(jetnet_chunks):
    for process, data in jetnet_chunks.items():
        assert data.particles.shape == (6, N_PARTICLES, 4) and data.jet.shape == (6, 4)
        mask = data.particles[:, :, 3]
        assert np.isin(mask, (0, 1)).all() and (data.particles[mask == 0] == 0).all()
        # the mask fills the first slots, as many as the jet has particles (up to 30)
        assert (np.diff(mask, axis=1) <= 0).all()
        assert (mask.sum(axis=1) == np.minimum(data.jet[:, 3], N_PARTICLES)).all()
        ptrel = data.particles[:, :, 2]
        assert (np.diff(ptrel, axis=1) <= 1e-7).all(), process
        assert ((data.jet[:, 0] > 800) & (data.jet[:, 0] < 1600)).all()
        # pT_rel is relative to the whole jet: the 30 kept sum to at most about 1
        total = ptrel.sum(axis=1)
        assert ((total > 0.5) & (total < 1.01)).all(), total
        assert (np.abs(data.particles[:, :, :2][mask == 1]) < 1.0).all()


def test_gluon_jets_hold_more_particles_than_quark_jets(jetnet_chunks):
    assert np.median(jetnet_chunks["gluon"].jet[:, 3]) > np.median(jetnet_chunks["quark"].jet[:, 3])


def test_bad_arrays_are_refused_naming_the_rows(tmp_path, make_jetnet):
    data = make_jetnet(6)
    data.particles[2, 0, 3] = 0.5
    with pytest.raises(DataError, match=r"m\.hdf5: mask must be 0 or 1, not in rows 2$"):
        read_jetnet(_zenodo_file(tmp_path / "m.hdf5", data))
