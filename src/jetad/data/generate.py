"""QCD (or JetNet's gluon and quark classes), top, W or Z jets with Pythia8 + FastJet
([Kasieczka et al. 2019]'s jet definition by default), one seeded chunk per call (the command
is jetad.stages.generate).

A chunk depends only on (seed, process, chunk id): `chunk_seed` gives its Pythia seed. Output
is the top-tagging layout ([Kasieczka et al. 2019]); jetad.data.jetnet.from_jets turns it into
JetNet's ([Kansal et al. 2021]).

Events come from Pythia in batches (`nextBatch`, awkward arrays) and each batch is clustered by
one FastJet call; selection, constituent extraction and truth matching are NumPy over the batch.
A batch holds the same events as the same number of `next()` calls, so the jets do not depend on
the batch sizes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from jetad.data.kinematics import delta_r, jet_kinematics
from jetad.data.layout import MAX_CONSTITUENTS, Jets
from jetad.data.processes import PROCESSES, QCD_PROCESSES
from jetad.params import default

# The order fixes the chunk seeds: append, never reorder.
SIGNALS = tuple(p for p in PROCESSES if p not in QCD_PROCESSES)
NEUTRINOS = (12, 14, 16)

# Hadronic decays only: the W (top's or the boson) and the Z into d, u, s, c, b. gluon and quark
# are JetNet's g and q classes ([Kansal et al. 2021]) as 2 -> 2 processes whose two outgoing
# partons are both gluons (gg -> gg, qqbar -> gg) or both quarks (qq -> qq and qqbar -> qqbar,
# gg -> qqbar with new quarks u, d, s: Pythia's HardQCD:nQuarkNew = 3), so the leading jet is
# a gluon or a quark jet without matching; a c or b from the proton can still enter qq -> qq.
PROCESS_SETTINGS = {
    "qcd": ["HardQCD:all = on"],
    "gluon": ["HardQCD:gg2gg = on", "HardQCD:qqbar2gg = on"],
    "quark": ["HardQCD:qq2qq = on", "HardQCD:gg2qqbar = on", "HardQCD:qqbar2qqbarNew = on"],
    "top": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"],
    "w": ["WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
          "24:onMode = off", "24:onIfAny = 1 2 3 4 5"],
    "z": ["WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on",
          "WeakZ0:gmZmode = 2", "23:onMode = off", "23:onIfAny = 1 2 3 4 5"],
}
# The truth-matched particle of each signal (PDG id); its decay quarks must be in the jet too.
RESONANCE = {"top": 6, "w": 24, "z": 23}
# First guess of the acceptance, only to size the first batch.
PRIOR_ACCEPTANCE = {"qcd": 0.35, "top": 0.25, "w": 0.13, "z": 0.13, "gluon": 0.35, "quark": 0.35}
MAX_BATCH = 256


def chunk_seed(seed: int, process: str, chunk: int) -> int:
    """Pythia seed in 1..900,000,000 for a chunk, independent across processes and chunks."""
    state = np.random.SeedSequence([seed, PROCESSES.index(process), chunk]).generate_state(1)
    return int(state[0] % 900_000_000) + 1


@dataclass
class Cuts:
    """The jet selection; `Cuts()` is params.yaml's schema defaults."""

    jet_r: float = field(default_factory=lambda: default("generate", "jet_r"))
    pt_min: float = field(default_factory=lambda: default("generate", "jet_pt_min"))
    pt_max: float = field(default_factory=lambda: default("generate", "jet_pt_max"))
    abs_eta_max: float = field(default_factory=lambda: default("generate", "jet_abs_eta_max"))
    match_dr: float = field(default_factory=lambda: default("generate", "match_dr"))

    @classmethod
    def from_params(cls, gen) -> Cuts:
        return cls(jet_r=gen["jet_r"], pt_min=gen["jet_pt_min"], pt_max=gen["jet_pt_max"],
                   abs_eta_max=gen["jet_abs_eta_max"], match_dr=gen["match_dr"])


def per_process(value, process: str):
    """A generate setting given either as one number or as a mapping process -> number."""
    if isinstance(value, dict):
        return value.get(process)
    return value


def pthat_window(gen, process: str) -> tuple[float, float | None]:
    """(pTHatMin, pTHatMax or None) of `process` from the `generate` section; a mapping
    given in part keeps the schema's values for the other processes (jetad.params)."""
    lo = per_process(gen["pthat_min"], process)
    hi = per_process(gen["pthat_max"], process)
    return float(lo), (None if hi is None else float(hi))


def make_pythia(process: str, seed: int, ecm: float | None = None,
                pthat_min: float | None = None, pthat_max: float | None = None):
    """Pythia8 for `process`; ecm and pthat_min None: the schema defaults of `generate`."""
    # heavy: Pythia loads only where jets are generated
    import pythia8mc

    if ecm is None:
        ecm = default("generate", "ecm")
    if pthat_min is None:
        pthat_min = default("generate", "pthat_min")[process]

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
    if pthat_max is not None:
        settings.append(f"PhaseSpace:pTHatMax = {pthat_max}")
    settings += PROCESS_SETTINGS[process]
    for line in settings:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia8 refused setting '{line}'")
    if not pythia.init():
        raise RuntimeError("Pythia8 initialisation failed")
    return pythia


@dataclass
class Batch:
    """One `nextBatch` as flat NumPy arrays over all particles of all its events."""

    offsets: np.ndarray  # (n_events + 1,) into the particle arrays
    pid: np.ndarray
    status: np.ndarray
    d1: np.ndarray  # daughter indices, local to the event as in Pythia's record
    d2: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    pthat: np.ndarray  # (n_events,) of the hard process

    @classmethod
    def from_awkward(cls, events) -> Batch:
        prt = events.layout.content("prt")
        offsets = np.asarray(prt.offsets.data, dtype=np.int64)
        lo, hi = int(offsets[0]), int(offsets[-1])
        rec = prt.content
        mom = rec.content("p")

        def col(layout):
            return np.asarray(layout.data)[lo:hi]

        return cls(
            offsets=offsets - lo,
            pid=col(rec.content("id")), status=col(rec.content("status")),
            d1=col(rec.content("daughter1")), d2=col(rec.content("daughter2")),
            px=col(mom.content("px")), py=col(mom.content("py")),
            pz=col(mom.content("pz")), e=col(mom.content("e")),
            pthat=np.sqrt(np.asarray(events.layout.content("info").content("pT2Hat").data)),
        )

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1


def _eta_phi(px, py, pz):
    pt = np.hypot(px, py)
    return np.arcsinh(pz / pt), np.arctan2(py, px)


def _leading_jets(batch: Batch, cuts: Cuts, jetdef):
    """Cluster every event of the batch in one FastJet call.

    Returns, for the events whose leading jet passes the pT and eta cuts: event index, the jet's
    (px, py, pz, E), and its constituents as indices into the batch's particle arrays (FastJet's
    order). Jets below pt_min are never needed: an event whose leading jet is below it fails.
    """
    # heavy: FastJet and awkward load only where jets are generated
    import awkward as ak
    import fastjet

    abs_id = np.abs(batch.pid)
    final = np.flatnonzero((batch.status > 0) & (abs_id != 12) & (abs_id != 14) & (abs_id != 16))
    final_offsets = np.searchsorted(final, batch.offsets)
    fields = [np.ascontiguousarray(a[final]) for a in (batch.px, batch.py, batch.pz, batch.e)]
    particles = ak.Array(ak.contents.ListOffsetArray(
        ak.index.Index64(final_offsets),
        ak.contents.RecordArray([ak.contents.NumpyArray(a) for a in fields],
                                ["px", "py", "pz", "E"], parameters={"__record__": "Momentum4D"}),
    ))
    sequence = fastjet.ClusterSequence(particles, jetdef)
    jets = sequence.inclusive_jets(min_pt=cuts.pt_min).layout
    index = sequence.constituent_index(min_pt=cuts.pt_min).layout

    jet_offsets = np.asarray(jets.offsets.data, dtype=np.int64)
    jpx, jpy, jpz, je = (np.asarray(jets.content.content(f).data) for f in ("px", "py", "pz", "E"))
    n_jets = np.diff(jet_offsets)
    has_jet = np.flatnonzero(n_jets > 0)
    if len(has_jet) == 0:
        empty = np.zeros(0, np.int64)
        return empty, np.zeros((0, 4)), empty, empty
    jpt = np.hypot(jpx, jpy)
    # leading jet per event: the first maximum, as sorted_by_pt would give for distinct pT
    jet_event = np.repeat(np.arange(len(n_jets)), n_jets)
    order = np.lexsort((-jpt, jet_event))
    lead = order[jet_offsets[has_jet]]
    eta = np.arcsinh(jpz[lead] / jpt[lead])
    ok = (jpt[lead] > cuts.pt_min) & (jpt[lead] < cuts.pt_max) & (np.abs(eta) < cuts.abs_eta_max)
    events, lead = has_jet[ok], lead[ok]

    # constituent indices of the leading jets, mapped to the batch's particle arrays
    const_offsets = np.asarray(index.content.offsets.data, dtype=np.int64)
    const_local = np.asarray(index.content.content.data, dtype=np.int64)
    starts, stops = const_offsets[lead], const_offsets[lead + 1]
    counts = stops - starts
    flat = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    owner = np.repeat(events, counts)
    constituents = final[final_offsets[owner] + const_local[flat]]
    p4 = np.stack([jpx[lead], jpy[lead], jpz[lead], je[lead]], axis=1)
    return events, p4, constituents, counts


def _copy_chain(batch: Batch, base: int, i: int) -> list[int]:
    """The particle and its copies of the same id down to the last one (Pythia's iBotCopyId)."""
    pid = batch.pid[base + i]
    chain = [i]
    while True:
        same = [d for d in _daughters(batch, base, i) if batch.pid[base + d] == pid]
        if len(same) != 1:
            return chain
        i = same[0]
        chain.append(i)


def _bottom_copy(batch: Batch, base: int, i: int) -> int:
    return _copy_chain(batch, base, i)[-1]


def _daughters(batch: Batch, base: int, i: int) -> list[int]:
    d1, d2 = int(batch.d1[base + i]), int(batch.d2[base + i])
    if d1 <= 0:
        return []
    if d2 == d1 or d2 == 0:
        return [d1]
    return list(range(d1, d2 + 1)) if d2 > d1 else [d1, d2]


def resonance_decays(batch: Batch, event: int, resonance: int):
    """For each resonance (last copy) of an event: its (E, px, py, pz) and the global particle
    indices whose directions must lie in the jet (itself and its decay quarks).

    top: the b and both quarks of the W; W and Z: both quarks. Only the event's few resonances
    are visited in Python, never its particles.
    """
    base, stop = int(batch.offsets[event]), int(batch.offsets[event + 1])
    local = np.flatnonzero(np.abs(batch.pid[base:stop]) == resonance)
    found, seen, walked = [], set(), set()
    for i in local.tolist():
        if i in walked:  # a later copy of a resonance already followed to its end
            continue
        chain = _copy_chain(batch, base, i)
        walked.update(chain)
        last = chain[-1]
        if last in seen:
            continue
        seen.add(last)
        members = [last]
        quarks = 0
        for d in _daughters(batch, base, last):
            aid = abs(int(batch.pid[base + d]))
            if resonance == 6 and aid == 5:
                members.append(d)
                quarks += 1
            elif resonance == 6 and aid == 24:
                for wd in _daughters(batch, base, _bottom_copy(batch, base, d)):
                    if 1 <= abs(int(batch.pid[base + wd])) <= 5:
                        members.append(wd)
                        quarks += 1
            elif resonance != 6 and 1 <= aid <= 5:
                members.append(d)
                quarks += 1
        if quarks == (3 if resonance == 6 else 2):
            g = base + last
            p4 = np.array([batch.e[g], batch.px[g], batch.py[g], batch.pz[g]], dtype=np.float64)
            found.append((p4, base + np.array(members)))
    return found


def match_truth(batch: Batch, events, jet_p4, process: str, match_dr: float):
    """Truth four-momentum per event whose jet holds a resonance and all its decay quarks
    within match_dr of the jet axis (the first such resonance in the record); NaN otherwise."""
    truth = np.full((len(events), 4), np.nan)
    jet_eta, jet_phi = _eta_phi(jet_p4[:, 0], jet_p4[:, 1], jet_p4[:, 2])
    for k, event in enumerate(events.tolist()):
        for p4, members in resonance_decays(batch, event, RESONANCE[process]):
            eta, phi = _eta_phi(batch.px[members], batch.py[members], batch.pz[members])
            if np.all(delta_r(eta, phi, jet_eta[k], jet_phi[k]) < match_dr):
                truth[k] = p4
                break
    return truth


def _fill_constituents(batch: Batch, constituents, counts, out: np.ndarray) -> int:
    """Write jets' constituents into out (n, 200, 4) as (E, px, py, pz), sorted by pT (stable,
    so equal pT keeps FastJet's order); returns the number of jets cut at 200 constituents."""
    px, py = batch.px[constituents], batch.py[constituents]
    pt = np.hypot(px, py)
    jet = np.repeat(np.arange(len(counts)), counts)
    order = np.lexsort((-pt, jet))
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(order)) - np.repeat(starts, counts)
    keep = rank < MAX_CONSTITUENTS
    src = constituents[order][keep]
    row, col = jet[keep], rank[keep]
    out[row, col, 0] = batch.e[src]
    out[row, col, 1] = batch.px[src]
    out[row, col, 2] = batch.py[src]
    out[row, col, 3] = batch.pz[src]
    return int((counts > MAX_CONSTITUENTS).sum())


def generate_chunk(
    process: str,
    n_jets: int,
    seed: int,
    cuts: Cuts | None = None,
    ecm: float | None = None,
    pthat_min: float | None = None,
    progress: bool = True,
    pthat_max: float | None = None,
) -> tuple[Jets, dict]:
    """Generate events until `n_jets` leading jets pass the cuts; return jets and counters."""
    clock = _CpuClock()
    # heavy: FastJet, as in _leading_jets
    import fastjet

    from jetad import log

    # FastJet prints its banner on stdout at a process's first clustering, between the stage's
    # lines: printed now, with the native diagnostics (the log file), and only once per process
    with log.native_stdout_to_stderr():
        fastjet._swig.ClusterSequence.print_banner()
    cuts = cuts or Cuts()
    pythia = make_pythia(process, seed, ecm, pthat_min, pthat_max)
    clock.lap("init")
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, cuts.jet_r)
    chunk = _Chunk(process, n_jets)
    start = time.perf_counter()
    bar = tqdm(total=n_jets, desc=f"{process} seed {seed}", unit="jet",
               disable=None if progress else True)  # None: only on a terminal
    while chunk.n_accepted < n_jets:
        batch = _next_batch(pythia, chunk, clock)
        if batch is None:
            continue
        clock.lap("other")
        bar.update(chunk.add(batch, *_selected_jets(batch, process, cuts, jetdef, clock)))
    bar.close()
    seconds = time.perf_counter() - start
    clock.lap("other")
    return chunk.jets(), chunk.stats(seed, seconds, clock.cpu)


class _CpuClock:
    """CPU seconds per part, so that the bench can say where a chunk's time goes."""

    def __init__(self):
        self.cpu = dict.fromkeys(("init", "pythia", "cluster", "match", "other"), 0.0)
        self.clock = time.process_time()

    def lap(self, part: str) -> None:
        now = time.process_time()
        self.cpu[part] += now - self.clock
        self.clock = now


@dataclass
class _Chunk:
    """The jets of a chunk as they are taken from the batches, and its counters."""

    process: str
    n_jets: int
    n_events: int = 0
    n_accepted: int = 0
    n_truncated: int = 0
    n_requested: int = 0
    n_generated: int = 0
    pthat_jets: list = field(default_factory=list)
    pthat_events: list = field(default_factory=list)

    def __post_init__(self):
        self.p4 = np.zeros((self.n_jets, MAX_CONSTITUENTS, 4), dtype=np.float32)
        self.truth = np.zeros((self.n_jets, 4), dtype=np.float32)

    def batch_size(self) -> int:
        """Sized from the acceptance so far so that the last batch wastes few events (no margin:
        one more small batch costs less than the events made after the chunk's last jet); the
        sizes depend only on the events, so they are reproducible too."""
        acceptance = (self.n_accepted + 1) / (self.n_events + 1 / PRIOR_ACCEPTANCE[self.process])
        return min(MAX_BATCH, max(8, math.ceil((self.n_jets - self.n_accepted) / acceptance)))

    def add(self, batch: Batch, accepted, constituents, counts, matched) -> int:
        """Take the batch's selected jets (`matched`: their truth, None for QCD or none
        selected) until the chunk is full; returns how many were taken."""
        take = min(len(accepted), self.n_jets - self.n_accepted)
        used = batch.n_events
        if self.n_accepted + take == self.n_jets:
            # the chunk is full: the events after the last jet taken do not count
            used = int(accepted[take - 1]) + 1
            constituents = constituents[: counts[:take].sum()]
            counts = counts[:take]
        self.n_events += used
        self.pthat_events.append(batch.pthat[:used])
        self.pthat_jets.append(batch.pthat[accepted[:take]])
        rows = slice(self.n_accepted, self.n_accepted + take)
        self.n_truncated += _fill_constituents(batch, constituents, counts, self.p4[rows])
        if matched is not None:
            self.truth[rows] = matched[:take]
        self.n_accepted += take
        return take

    def jets(self) -> Jets:
        label = np.full(self.n_jets, 1 if self.process in RESONANCE else 0, dtype=np.int8)
        return Jets(p4=self.p4, truth=self.truth, ttv=np.zeros(self.n_jets, dtype=np.int8),
                    label=label)

    def stats(self, seed: int, seconds: float, cpu: dict) -> dict:
        n_jets = self.n_jets
        return {
            "process": self.process,
            "seed": seed,
            "jets": n_jets,
            "events": self.n_events,
            # also those after the chunk's last jet in its last batch: generated, never looked at
            "generated_events": self.n_generated,
            "acceptance": n_jets / max(self.n_events, 1),
            "seconds": seconds,
            "jets_per_second": n_jets / seconds,
            # CPU seconds: Pythia init, nextBatch, clustering and selection, truth matching, the rest
            "cpu_seconds": cpu,
            "truncated_jets": int(self.n_truncated),
            # the hard process's pT of each jet's event and of every event used (pTHat window study)
            "pthat_jets": np.concatenate(self.pthat_jets),
            "pthat_events": np.concatenate(self.pthat_events),
        }


def _next_batch(pythia, chunk: _Chunk, clock: _CpuClock) -> Batch | None:
    """The next batch of events (`_Chunk.batch_size`); None when Pythia made no event."""
    size = chunk.batch_size()
    clock.lap("other")
    events = pythia.nextBatch(size)
    clock.lap("pythia")
    chunk.n_requested += size
    batch = Batch.from_awkward(events)
    chunk.n_generated += batch.n_events
    if batch.n_events == 0:
        if chunk.n_requested > 100 + 10 * chunk.n_events:
            raise RuntimeError("Pythia8 keeps failing to generate events")
        return None
    return batch


def _selected_jets(batch: Batch, process: str, cuts: Cuts, jetdef, clock: _CpuClock):
    """(events, constituents, counts, truth) of the batch's leading jets that pass the cuts
    and, for a signal, hold the resonance and its decay quarks; truth None for QCD or when no
    jet passed."""
    accepted, jet_p4, constituents, counts = _leading_jets(batch, cuts, jetdef)
    clock.lap("cluster")
    matched = None
    if process in RESONANCE and len(accepted):
        matched = match_truth(batch, accepted, jet_p4, process, cuts.match_dr)
        clock.lap("match")
        ok = ~np.isnan(matched[:, 0])
        constituents = constituents[np.repeat(ok, counts)]
        accepted, counts, matched = accepted[ok], counts[ok], matched[ok]
    return accepted, constituents, counts, matched


def mass_peak(mass: np.ndarray, width: float = 2.0) -> float:
    """Centre of the most populated `width` GeV bin of the jet masses."""
    if len(mass) == 0:
        return float("nan")
    edges = np.arange(0.0, mass.max() + width, width)
    counts, edges = np.histogram(mass, bins=edges) if len(edges) > 1 else (np.array([1]), [0, width])
    i = int(np.argmax(counts))
    return float(edges[i] + width / 2)


def jet_mass(jets: Jets) -> np.ndarray:
    return jet_kinematics(jets.p4)[2]
