import numpy as np
import pytest

from jetad.data import generate as gen
from jetad.data.generate import (
    PROCESSES,
    Batch,
    Cuts,
    chunk_seed,
    delta_r,
    generate_chunk,
    jet_mass,
    make_pythia,
)
from jetad.data.layout import read_jets, write_jets


def test_chunk_seeds_are_distinct_and_in_pythia_range():
    seeds = {chunk_seed(2603256, p, c) for p in PROCESSES for c in range(200)}
    assert len(seeds) == 200 * len(PROCESSES)
    assert all(1 <= s <= 900_000_000 for s in seeds)
    assert chunk_seed(1, "qcd", 0) != chunk_seed(2, "qcd", 0)


@pytest.fixture(scope="module")
def top_chunk():
    return generate_chunk("top", 25, seed=11, progress=False)


def axis(jets):
    total = jets.p4.astype(np.float64).sum(axis=1)
    pt = np.hypot(total[:, 1], total[:, 2])
    return pt, np.arcsinh(total[:, 3] / pt), np.arctan2(total[:, 2], total[:, 1])


def truth_axis(jets):
    truth = jets.truth.astype(np.float64)
    pt = np.hypot(truth[:, 1], truth[:, 2])
    mass = np.sqrt(np.clip(truth[:, 0] ** 2 - (truth[:, 1:] ** 2).sum(axis=1), 0, None))
    return np.arcsinh(truth[:, 3] / pt), np.arctan2(truth[:, 2], truth[:, 1]), mass


def test_top_jets_pass_the_cuts_and_are_heavy(top_chunk):
    jets, stats = top_chunk
    assert len(jets) == 25 and (jets.label == 1).all()
    pt, eta, phi = axis(jets)
    cuts = Cuts()
    assert ((pt > cuts.pt_min - 1) & (pt < cuts.pt_max + 1)).all()
    assert (np.abs(eta) < cuts.abs_eta_max + 0.01).all()
    # matched tops: the truth top is within the jet radius, the jet mass near the top mass
    teta, tphi, tmass = truth_axis(jets)
    assert (delta_r(teta, tphi, eta, phi) < 0.8).all()
    assert abs(np.median(tmass) - 172.5) < 3  # Breit-Wigner: a few tops sit far out
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


def test_batch_sizes_do_not_change_the_jets(monkeypatch, top_chunk):
    monkeypatch.setattr(gen, "MAX_BATCH", 8)
    small, stats = generate_chunk("top", 25, seed=11, progress=False)
    np.testing.assert_array_equal(small.p4, top_chunk[0].p4)
    np.testing.assert_array_equal(small.truth, top_chunk[0].truth)
    assert stats["events"] == top_chunk[1]["events"]


def test_stats_say_where_the_cpu_time_goes():
    import time

    start = time.process_time()
    _, stats = generate_chunk("qcd", 10, seed=3, progress=False)
    elapsed = time.process_time() - start
    cpu = stats["cpu_seconds"]
    assert set(cpu) == {"init", "pythia", "cluster", "match", "other"}
    assert min(cpu.values()) >= 0 and cpu["match"] == 0  # QCD has no truth to match
    assert sum(cpu.values()) <= elapsed + 1e-6
    # Pythia makes the events, so it takes most of the time, and clustering more than nothing
    assert cpu["pythia"] > max(cpu["cluster"], cpu["other"]) and cpu["cluster"] > 0
    assert stats["generated_events"] >= stats["events"] == len(stats["pthat_events"])


def reference_qcd_jets(n_jets: int, seed: int) -> np.ndarray:
    """The jet definition written out event by event with FastJet's classic interface."""
    import fastjet

    pythia = make_pythia("qcd", seed)
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, 0.8)
    out = []
    while len(out) < n_jets:
        assert pythia.next()
        final = [(q.px(), q.py(), q.pz(), q.e()) for q in pythia.event
                 if q.isFinal() and q.idAbs() not in (12, 14, 16)]
        pseudo = [fastjet.PseudoJet(*m) for m in final]
        for i, pj in enumerate(pseudo):
            pj.set_user_index(i)
        sequence = fastjet.ClusterSequence(pseudo, jetdef)  # must outlive its jets
        jets = fastjet.sorted_by_pt(sequence.inclusive_jets(0.0))
        if not (550 < jets[0].pt() < 650 and abs(jets[0].eta()) < 2):
            continue
        const = np.array([final[c.user_index()] for c in jets[0].constituents()])
        order = np.argsort(-np.hypot(const[:, 0], const[:, 1]), kind="stable")
        p4 = np.zeros((200, 4), np.float32)
        p4[: len(order)] = const[order][:200][:, [3, 0, 1, 2]]
        out.append(p4)
    return np.stack(out)


def test_batched_qcd_jets_equal_the_event_by_event_definition():
    jets, _ = generate_chunk("qcd", 12, seed=5, progress=False)
    np.testing.assert_array_equal(jets.p4, reference_qcd_jets(12, 5))
    assert (jets.label == 0).all() and (jets.truth == 0).all()


@pytest.mark.parametrize("process, mass, window", [("w", 80.4, (65, 95)), ("z", 91.2, (76, 106))])
def test_w_and_z_jets_peak_at_the_boson_mass(process, mass, window):
    jets, stats = generate_chunk(process, 40, seed=21, progress=False)
    assert (jets.label == 1).all()
    assert window[0] < np.median(jet_mass(jets)) < window[1]
    _, _, tmass = truth_axis(jets)
    assert abs(np.median(tmass) - mass) < 2.5  # the truth columns hold the boson
    assert 0.05 < stats["acceptance"] < 0.3


def test_truth_matching_keeps_exactly_the_contained_decays():
    """Every accepted W jet holds the W and both quarks within 0.8; every rejected one misses
    at least one of them."""
    import fastjet

    cuts = Cuts()
    pythia = make_pythia("w", 4, pthat_min=450.0)
    batch = Batch.from_awkward(pythia.nextBatch(150))
    events, jet_p4, _, _ = gen._leading_jets(batch, cuts,
                                             fastjet.JetDefinition(fastjet.antikt_algorithm, 0.8))
    truth = gen.match_truth(batch, events, jet_p4, "w", cuts.match_dr)
    matched = ~np.isnan(truth[:, 0])
    assert matched.any() and (~matched).any()
    jet_eta = np.arcsinh(jet_p4[:, 2] / np.hypot(jet_p4[:, 0], jet_p4[:, 1]))
    jet_phi = np.arctan2(jet_p4[:, 1], jet_p4[:, 0])
    for k, event in enumerate(events):
        decays = gen.resonance_decays(batch, event, 24)
        assert len(decays) == 1  # one W per event, decaying to two quarks
        p4, members = decays[0]
        assert len(members) == 3
        assert (np.abs(batch.pid[members[1:]]) <= 5).all() and abs(batch.pid[members[0]]) == 24
        eta = np.arcsinh(batch.pz[members] / np.hypot(batch.px[members], batch.py[members]))
        phi = np.arctan2(batch.py[members], batch.px[members])
        inside = (delta_r(eta, phi, jet_eta[k], jet_phi[k]) < 0.8).all()
        assert inside == matched[k]
        if inside:
            np.testing.assert_array_equal(truth[k], p4)


def test_pthat_window_is_applied():
    _, stats = generate_chunk("qcd", 10, seed=3, pthat_max=700.0, progress=False)
    assert (stats["pthat_events"] >= 500).all() and (stats["pthat_events"] <= 700).all()
    assert len(stats["pthat_events"]) == stats["events"]
