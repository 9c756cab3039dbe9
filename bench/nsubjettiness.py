"""N-subjettiness speed: the compiled kernel (`jetad.data.nsubjettiness.taus`, one kT clustering
history per jet) against the FastJet reference (`taus_reference`, three clusterings of the
batch through FastJet's awkward interface) on the same jets, same run.

Both are timed in CPU seconds of this process on one thread, in alternating rounds (best of
each), so that other jobs on a shared machine slow neither side more than the other; the
kernel is also timed in wall seconds on every core this process may use. The kernel's first
call (Numba compiling it, or loading it from its on-disk cache) is timed apart and left out.
The two results are compared jet by jet.

With `--before REV` the kernel module (jetad/data/kt_axes.py) of git revision REV is timed too,
in the same alternating rounds, for a before/after ratio measured in one run; its results are
compared with this tree's bit for bit.

Jets: the leading jets of `--gen-jets` Pythia events per process, or the jets of `--jets-file`
(top-tagging layout), repeated to `--jets`.
Run: `python bench/nsubjettiness.py [--jets N] [--gen-jets N | --jets-file FILE] [--before REV]`
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import jetad  # noqa: F401
from jetad.data import nsubjettiness
from jetad.data.generate import PROCESSES, generate_chunk
from jetad.data.layout import count_jets, read_jets


def best_of(fn, clock, repeat):
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def jets_for(args) -> np.ndarray:
    if args.jets_file:
        base = read_jets(args.jets_file, 0, count_jets(args.jets_file)).p4
        print(f"{len(base)} jets from {args.jets_file}")
    else:
        print(f"generating {args.gen_jets} jets of each of {', '.join(PROCESSES)} ...")
        base = np.concatenate([generate_chunk(p, args.gen_jets, seed=77 + k, progress=False)[0].p4
                               for k, p in enumerate(PROCESSES)])
    counts = (base[:, :, 0] > 0).sum(axis=1)
    print(f"constituents per jet: mean {counts.mean():.1f}, max {counts.max()}")
    return np.resize(base, (args.jets, *base.shape[1:]))


def first_call() -> str:
    """Time the kernel's first call on two jets; say whether Numba compiled or loaded it."""
    # heavy: the kernel module imports Numba, as in nsubjettiness.taus
    from jetad.data.kt_axes import taus_kernel

    tiny = np.zeros((2, 200, 4), np.float32)
    tiny[:, :3] = [[40.0, 30.0, 20.0, 5.0], [30.0, 20.0, 20.0, 3.0], [20.0, 15.0, 10.0, 2.0]]
    start = time.perf_counter()
    nsubjettiness.taus(tiny, threads=1)
    seconds = time.perf_counter() - start
    how = "compiled" if taus_kernel.stats.cache_misses else "loaded from Numba's cache"
    return f"{seconds:.1f} s ({how})"


def kernel_of(rev: str, folder: str):
    """taus_kernel of the kt_axes module at git revision rev, loaded from a copy in folder."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "-C", str(root), "show", f"{rev}:src/jetad/data/kt_axes.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path(folder) / "kt_axes_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("kt_axes_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.taus_kernel


def taus_with(kernel, p4: np.ndarray) -> np.ndarray:
    """nsubjettiness.taus on one thread through another kernel of the same signature."""
    import numba

    numba.set_num_threads(1)
    out = np.zeros((len(p4), 3))
    kernel(np.ascontiguousarray(p4), nsubjettiness.R0, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jets", type=int, default=4_000, help="jets per timed round")
    parser.add_argument("--gen-jets", type=int, default=100, help="jets per process to generate")
    parser.add_argument("--jets-file", default=None, help="jets to read instead of generating")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per side (best is kept)")
    parser.add_argument("--before", default=None,
                        help="git revision whose kernel is timed too (e.g. main)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(args, kernel_of(args.before, folder) if args.before else None)


def run(args, before) -> None:
    cores = len(os.sched_getaffinity(0))
    p4 = jets_for(args)

    print(f"kernel's first call: {first_call()}, not in the timings below")
    nsubjettiness.taus_reference(p4[:10])  # FastJet's banner and awkward's first use
    new = nsubjettiness.taus(p4, threads=1)
    ref = nsubjettiness.taus_reference(p4)
    rel = np.abs(new - ref) / np.maximum(np.abs(ref), np.finfo(float).tiny)
    print(f"kernel vs FastJet: max relative difference {rel.max():.1e}, "
          f"{100 * (new == ref).mean():.2f}% of tau values equal to the bit")

    if before is not None:
        old = taus_with(before, p4)  # compiles it
        print(f"kernel at {args.before}: {(old == new).all(axis=1).sum()} of {len(p4)} jets' "
              f"taus equal to this tree's to the bit")

    kernel, fastjet, previous = [], [], []
    for _ in range(args.repeat):  # alternating, so that load changes hit every side alike
        kernel.append(best_of(lambda: nsubjettiness.taus(p4, threads=1), time.process_time, 1))
        fastjet.append(best_of(lambda: nsubjettiness.taus_reference(p4), time.process_time, 1))
        if before is not None:
            previous.append(best_of(lambda: taus_with(before, p4), time.process_time, 1))
    wall = best_of(lambda: nsubjettiness.taus(p4, threads=cores), time.perf_counter,
                   args.repeat)
    rate_k, rate_f = args.jets / min(kernel), args.jets / min(fastjet)
    rate_w = args.jets / wall
    print(f"reference taus_reference (FastJet), 1 core, CPU time: {rate_f:,.0f} jets/s "
          f"({1e6 / rate_f:.0f} us per jet)")
    if before is not None:
        rate_b = args.jets / min(previous)
        print(f"kernel at {args.before}, 1 thread, CPU time: {rate_b:,.0f} jets/s "
              f"({1e6 / rate_b:.1f} us per jet), {rate_b / rate_f:.1f}x taus_reference")
    print(f"kernel, 1 thread, CPU time: {rate_k:,.0f} jets/s ({1e6 / rate_k:.1f} us per jet), "
          f"{rate_k / rate_f:.1f}x taus_reference (target 20x)"
          + (f", {rate_k / rate_b:.2f}x the kernel at {args.before}" if before is not None
             else ""))
    print(f"kernel, {cores} threads, wall time: {rate_w:,.0f} jets/s, "
          f"{rate_w / rate_f:.1f}x taus_reference on 1 core")


if __name__ == "__main__":
    main()
