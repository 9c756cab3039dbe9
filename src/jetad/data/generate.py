"""`jetad generate`: QCD or top jets with Pythia8 + FastJet (SPEC 1.2), one seeded chunk per call.

Each chunk is independent and byte-reproducible from (seed, process, chunk id), so chunks are
parallel Snakemake jobs and DVC stages. Output is the top-tagging layout (SPEC 1.1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from jetad import log
from jetad.data.layout import MAX_CONSTITUENTS, Jets, write_jets

HELP = "generate one seeded chunk of QCD or top jets with Pythia8 + FastJet"
PROCESSES = ("qcd", "top")
LOG = log.get("jetad.generate")
NEUTRINOS = (12, 14, 16)


def add_arguments(parser) -> None:
    parser.add_argument("--process", choices=PROCESSES, required=True)
    parser.add_argument("--chunk", type=int, required=True, help="chunk id (seeds the chunk)")
    parser.add_argument("--out", required=True, help="output HDF5 file")
    parser.add_argument("--n-jets", type=int, default=None, help="override jets_per_chunk")


def chunk_seed(seed: int, process: str, chunk: int) -> int:
    """Pythia seed in 1..900,000,000 for a chunk, independent across processes and chunks."""
    state = np.random.SeedSequence([seed, PROCESSES.index(process), chunk]).generate_state(1)
    return int(state[0] % 900_000_000) + 1


@dataclass
class Cuts:
    jet_r: float = 0.8
    pt_min: float = 550.0
    pt_max: float = 650.0
    abs_eta_max: float = 2.0
    match_dr: float = 0.8

    @classmethod
    def from_params(cls, gen: dict) -> Cuts:
        return cls(
            jet_r=gen.get("jet_r", 0.8),
            pt_min=gen.get("jet_pt_min", 550.0),
            pt_max=gen.get("jet_pt_max", 650.0),
            abs_eta_max=gen.get("jet_abs_eta_max", 2.0),
            match_dr=gen.get("match_dr", 0.8),
        )


def make_pythia(process: str, seed: int, ecm: float = 14000.0, pthat_min: float = 500.0):
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    settings = [
        f"Beams:eCM = {ecm}",
        f"PhaseSpace:pTHatMin = {pthat_min}",
        "PartonLevel:MPI = off",
        "Print:quiet = on",
        "Next:numberCount = 0",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
    ]
    if process == "qcd":
        settings += ["HardQCD:all = on"]
    else:
        settings += [
            "Top:gg2ttbar = on",
            "Top:qqbar2ttbar = on",
            "24:onMode = off",
            "24:onIfAny = 1 2 3 4 5",
        ]
    for line in settings:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia8 refused setting '{line}'")
    if not pythia.init():
        raise RuntimeError("Pythia8 initialisation failed")
    return pythia


def delta_r(eta1, phi1, eta2, phi2):
    dphi = np.mod(np.asarray(phi1) - phi2 + np.pi, 2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1) - eta2, dphi)


def top_decays(event) -> list[tuple[np.ndarray, list[tuple[float, float]]]]:
    """For each top: its four-momentum (E, px, py, pz) and the (eta, phi) of top, b and W quarks."""
    found = []
    seen = set()
    for i in range(event.size()):
        part = event[i]
        if part.idAbs() != 6:
            continue
        last = part.iBotCopyId()
        if last in seen:
            continue
        seen.add(last)
        top = event[last]
        directions = [(top.eta(), top.phi())]
        quarks = 0
        for d in top.daughterList():
            dau = event[d]
            if dau.idAbs() == 5:
                directions.append((dau.eta(), dau.phi()))
                quarks += 1
            elif dau.idAbs() == 24:
                w = event[dau.iBotCopyId()]
                for wd in w.daughterList():
                    q = event[wd]
                    if 1 <= q.idAbs() <= 5:
                        directions.append((q.eta(), q.phi()))
                        quarks += 1
        if quarks == 3:
            p4 = np.array([top.e(), top.px(), top.py(), top.pz()], dtype=np.float64)
            found.append((p4, directions))
    return found


def generate_chunk(
    process: str,
    n_jets: int,
    seed: int,
    cuts: Cuts | None = None,
    ecm: float = 14000.0,
    pthat_min: float = 500.0,
    progress: bool = True,
) -> tuple[Jets, dict]:
    """Generate events until `n_jets` leading jets pass the cuts; return jets and counters."""
    import fastjet
    from tqdm import tqdm

    cuts = cuts or Cuts()
    pythia = make_pythia(process, seed, ecm, pthat_min)
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, cuts.jet_r)
    event = pythia.event
    p4 = np.zeros((n_jets, MAX_CONSTITUENTS, 4), dtype=np.float32)
    truth = np.zeros((n_jets, 4), dtype=np.float32)
    n_events = n_failed = n_accepted = n_truncated = 0
    start = time.perf_counter()
    bar = tqdm(total=n_jets, desc=f"{process} seed {seed}", unit="jet",
                disable=None if progress else True)  # None: only on a terminal
    while n_accepted < n_jets:
        if not pythia.next():
            n_failed += 1
            if n_failed > 100 + n_events // 10:
                raise RuntimeError("Pythia8 keeps failing to generate events")
            continue
        n_events += 1
        # One pass over the record in Python; the rest is NumPy / FastJet C++.
        final = [
            (q.px(), q.py(), q.pz(), q.e())
            for q in event
            if q.isFinal() and q.idAbs() not in NEUTRINOS
        ]
        particles = [fastjet.PseudoJet(*mom) for mom in final]
        for idx, pj in enumerate(particles):
            pj.set_user_index(idx)
        sequence = fastjet.ClusterSequence(particles, jetdef)
        jets = fastjet.sorted_by_pt(sequence.inclusive_jets(0.0))
        if not jets:
            continue
        jet = jets[0]
        if not (cuts.pt_min < jet.pt() < cuts.pt_max and abs(jet.eta()) < cuts.abs_eta_max):
            continue
        if process == "top":
            matched = None
            for top_p4, directions in top_decays(event):
                eta, phi = np.array(directions).T
                if np.all(delta_r(eta, phi, jet.eta(), jet.phi_std()) < cuts.match_dr):
                    matched = top_p4
                    break
            if matched is None:
                continue
            truth[n_accepted] = matched
        const = np.array([final[c.user_index()] for c in jet.constituents()], dtype=np.float64)
        pt = np.hypot(const[:, 0], const[:, 1])
        order = np.argsort(-pt, kind="stable")[:MAX_CONSTITUENTS]
        n_truncated += len(const) > MAX_CONSTITUENTS
        # layout order is (E, px, py, pz)
        p4[n_accepted, : len(order)] = const[order][:, [3, 0, 1, 2]]
        n_accepted += 1
        bar.update(1)
    bar.close()
    seconds = time.perf_counter() - start
    label = np.full(n_jets, 1 if process == "top" else 0, dtype=np.int8)
    jets = Jets(p4=p4, truth=truth, ttv=np.zeros(n_jets, dtype=np.int8), label=label)
    stats = {
        "process": process,
        "seed": seed,
        "jets": n_jets,
        "events": n_events,
        "acceptance": n_jets / max(n_events, 1),
        "seconds": seconds,
        "jets_per_second": n_jets / seconds,
        "truncated_jets": int(n_truncated),
    }
    return jets, stats


def run(args, params) -> None:
    gen = params["generate"]
    n_jets = args.n_jets or gen["jets_per_chunk"][args.process]
    seed = chunk_seed(params["seed"], args.process, args.chunk)
    jets, stats = generate_chunk(
        args.process,
        n_jets,
        seed,
        Cuts.from_params(gen),
        ecm=gen.get("ecm", 14000.0),
        pthat_min=gen.get("pthat_min", 500.0),
    )
    write_jets(args.out, jets)
    from jetad.atomic import file_md5

    mass = jet_mass(jets)
    LOG.info(
        "wrote %s: %d %s jets from %d events (acceptance %.1f%%), %.1f jets/s, "
        "mean mass %.1f GeV, mean constituents %.1f, md5 %s",
        args.out, len(jets), args.process, stats["events"], 100 * stats["acceptance"],
        stats["jets_per_second"], mass.mean(), jets.n_constituents().mean(), file_md5(args.out),
    )


def jet_mass(jets: Jets) -> np.ndarray:
    total = jets.p4.astype(np.float64).sum(axis=1)
    m2 = total[:, 0] ** 2 - (total[:, 1:] ** 2).sum(axis=1)
    return np.sqrt(np.clip(m2, 0, None))
