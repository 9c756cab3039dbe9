"""Generation speed: `jetad generate`'s code path against Pythia8's own `next()`, same run.

Pythia's event rate times the acceptance is the floor no generator with these settings can beat
(every accepted jet needs its events generated); the ratio says how close `generate_chunk` (the
code `jetad generate` runs) comes to it. Both are timed in CPU seconds of this process, in
alternating rounds, so that other jobs on a shared machine slow neither side more than the other.
A second table splits the time over the floor by part (the chunk's own CPU timers): nextBatch
beyond next() (building the record arrays), events made after a chunk's last jet, clustering,
truth matching, Pythia init + imports, the rest.

`--window` instead measures the pTHat windows of params.yaml ([Kasieczka et al. 2019]'s jet definition):
jets with and without `PhaseSpace:pTHatMax`, acceptance gain, and the two-sample KS p-values of jet pT,
mass and constituent count (a window that cuts into the jets' phase space shows as a small p-value).

Run: `python bench/generate.py [--jets N] [--events N] [--processes qcd top w z]`
     `python bench/generate.py --window [--jets 2000]`
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import jetad  # noqa: F401
from jetad import params as params_mod
from jetad.data.generate import (
    PROCESSES,
    Cuts,
    generate_chunk,
    jet_mass,
    make_pythia,
    pthat_window,
)


def pythia_rate(process: str, n_events: int, seed: int, pthat_min: float,
                pthat_max: float | None) -> tuple[int, float]:
    """Events and CPU seconds of plain `next()` with the generator's settings."""
    pythia = make_pythia(process, seed, pthat_min=pthat_min, pthat_max=pthat_max)
    start = time.process_time()
    done = 0
    while done < n_events:
        done += bool(pythia.next())
    return done, time.process_time() - start


def speed(args, gen: dict) -> None:
    cuts = Cuts.from_params(gen)
    print("CPU seconds of this process (one core); rounds alternate Pythia next() and "
          "jetad generate so that a shared machine slows both alike")
    print(f"{'process':8} {'next() ev/s':>11} {'accept':>7} {'floor jets/s':>12} "
          f"{'generate jets/s':>15} {'ratio':>6}")
    parts = {}
    for process in args.processes:
        lo, hi = pthat_window(gen, process)
        ev = ev_s = jets = jets_s = events = generated = 0.0
        cpu = dict.fromkeys(("init", "pythia", "cluster", "match", "other"), 0.0)
        for r in range(args.rounds):
            seed = 1000 + r
            n, s = pythia_rate(process, args.events, seed, lo, hi)
            ev, ev_s = ev + n, ev_s + s
            start = time.process_time()
            _, stats = generate_chunk(process, args.jets, seed + 500, cuts, pthat_min=lo,
                                      pthat_max=hi, progress=False)
            jets_s += time.process_time() - start
            jets += stats["jets"]
            events += stats["events"]
            generated += stats["generated_events"]
            for k, v in stats["cpu_seconds"].items():
                cpu[k] += v
        rate, acceptance = ev / ev_s, jets / events
        floor, got = rate * acceptance, jets / jets_s
        print(f"{process:8} {rate:11.0f} {100 * acceptance:6.1f}% {floor:12.1f} {got:15.1f} "
              f"{got / floor:6.2f}", flush=True)
        parts[process] = (events / rate, generated / rate, cpu, jets_s)
    # Where the time over the floor goes, in units of the floor (next() for the events used):
    # nextBatch beyond next() for the events it made (record conversion), the events made after
    # a chunk's last jet, the clustering, truth matching, Pythia init + imports, the rest.
    print("time over the floor, in % of the floor's time (next() for the events used):")
    print(f"{'process':8} {'nextBatch':>9} {'unused ev':>9} {'cluster':>8} {'truth':>6} "
          f"{'init':>6} {'rest':>6} {'total':>7}")
    for process, (floor_s, made_s, cpu, total) in parts.items():
        cells = [cpu["pythia"] - made_s, made_s - floor_s, cpu["cluster"], cpu["match"],
                 cpu["init"], total - sum(cpu.values()) + cpu["other"]]
        print(f"{process:8} " + " ".join(f"{100 * c / floor_s:{w}.1f}" for c, w in
                                         zip(cells, (9, 9, 8, 6, 6, 6), strict=True))
              + f" {100 * (total - floor_s) / floor_s:7.1f}")


def features(jets) -> dict[str, np.ndarray]:
    total = jets.p4.astype(np.float64).sum(axis=1)
    return {"pt": np.hypot(total[:, 1], total[:, 2]), "mass": jet_mass(jets),
            "n_const": jets.n_constituents().astype(np.float64)}


def window(args, gen: dict) -> None:
    """Without a window, the jets' own pTHat says what an upper limit X would cost: Pythia with
    pTHatMax = X samples the same events restricted to pTHat < X, so the jets lost are exactly
    those with pTHat > X and the acceptance becomes (jets below X) / (events below X). A second,
    independent sample with the window then checks the distributions (KS)."""
    from scipy.stats import ks_2samp

    cuts = Cuts.from_params(gen)
    print(f"{args.jets} jets per sample (one without, one with the window, other seeds)")
    for process in args.processes:
        lo, hi = pthat_window(gen, process)
        base, stats0 = generate_chunk(process, args.jets, 7, cuts, pthat_min=lo, progress=False)
        jets_pt, events_pt = stats0["pthat_jets"], stats0["pthat_events"]
        print(f"{process}: pTHat > {lo:g} GeV: acceptance {100 * stats0['acceptance']:.1f}% "
              f"({stats0['events']} events); pTHat of the jets' events: 99%% below "
              f"{np.quantile(jets_pt, 0.99):.0f}, 99.9%% below {np.quantile(jets_pt, 0.999):.0f}, "
              f"max {jets_pt.max():.0f} GeV".replace("%%", "%"))
        print("  jets lost / acceptance gain for a window [low, high] (rows: low, columns: high)")
        highs = [h for h in args.candidates if h > lo]
        print("  " + " " * 6 + "".join(f"{h:>14.0f}" for h in highs))
        for low in [lo + d for d in args.raise_min]:
            cells = []
            for high in highs:
                inside = (events_pt >= low) & (events_pt <= high)
                lost = np.mean((jets_pt < low) | (jets_pt > high))
                cells.append(f"{100 * lost:6.2f}% x{(1 - lost) / np.mean(inside):.2f}")
            print(f"  {low:6.0f}" + "".join(f"{c:>14}" for c in cells))
        windows = ([hi] if hi is not None else []) if args.pthat_max is None else args.pthat_max
        f0 = features(base)
        for top in windows:
            jets, stats = generate_chunk(process, args.jets, 8, cuts, pthat_min=lo,
                                         pthat_max=top, progress=False)
            f1 = features(jets)
            ks = "  ".join(f"{k} p={ks_2samp(f0[k], f1[k]).pvalue:.2f}" for k in f0)
            print(f"  with {lo:g} < pTHat < {top:g}: acceptance {100 * stats['acceptance']:.1f}% "
                  f"(gain x{stats['acceptance'] / stats0['acceptance']:.2f}); KS vs no window: {ks}",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", nargs="+", choices=PROCESSES, default=list(PROCESSES))
    parser.add_argument("--jets", type=int, default=None,
                        help="jets per round (speed, default 300) or per sample (--window, 2000)")
    parser.add_argument("--events", type=int, default=800, help="next() events per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--params", default=None, help="parameter file (default: params.yaml)")
    parser.add_argument("--window", action="store_true", help="measure the pTHat windows")
    parser.add_argument("--pthat-max", type=float, nargs="+", default=None,
                        help="with --window: windows to generate (default: params.yaml's)")
    parser.add_argument("--candidates", type=float, nargs="+",
                        default=[650, 700, 750, 800, 900, 1e9],
                        help="with --window: upper pTHat values to price from the jets' pTHat")
    parser.add_argument("--raise-min", type=float, nargs="+", default=[0, 10, 20, 30, 50],
                        help="with --window: raises of the lower pTHat edge to price")
    args = parser.parse_args()
    gen = params_mod.load(args.params)["generate"]
    if args.window:
        args.jets = args.jets or 2000
        window(args, gen)
    else:
        args.jets = args.jets or 300
        speed(args, gen)


if __name__ == "__main__":
    main()
