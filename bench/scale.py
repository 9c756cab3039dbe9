"""Scale of the data stages: wall time, jets/s and peak memory of `jetad jets`, `pixelize`,
`split`, `score`, `baseline` and `evaluate` on files of N jets in the published top-tagging
layout, and how each grows with N.

Each N gets a file of N jets (half QCD, half top by is_signal_new; 30 constituents each, the
other 170 zero as in the published files), written in blocks so that building it needs little
memory itself. `score` scores the split's test jets (a quarter of the QCD jets and every top)
with an untrained JointVAE of params.yaml's architecture, built once in the work folder (the
scores mean nothing; the work and the memory are those of a trained one); `baseline` trains
its conv AE for one epoch on 2,000 jets (params.yaml's baseline section otherwise) and scores
the same test jets; `evaluate` reads both score files. jets/s counts the N jets of the input
file for every stage. Each stage runs as its own `jetad` subprocess in a work folder per N; its peak
memory is the maximum resident set size of that subprocess (os.wait4). The growth exponent b
of a stage is the slope of log(value) against log(N) (value ~ N^b): 1 for time that grows
linearly, 0 for memory that does not grow.

Run: `python bench/scale.py [--jets 25000 100000 400000 1200000] [--work DIR] [--table FILE]
[--src OTHER/src] [--stages jets pixelize split score baseline evaluate]`
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

import jetad  # noqa: F401
from jetad.data.layout import KEY, Jets, to_frame

ROOT = Path(__file__).resolve().parents[1]
STAGES = {
    "jets": ["jets", "--source", "file", "--in", "jets.h5", "--out-dir", "data/jets"],
    "pixelize": ["pixelize", "--in", "data/jets/qcd.h5", "data/jets/top.h5",
                 "--out", "data/images/images.h5", "--threads", "2"],
    "split": ["split", "--in", "data/images/images.h5", "--train", "data/split/train.h5",
              "--val", "data/split/val.h5", "--test", "data/split/test.h5"],
    "score": ["score", "--model", "../model", "--test", "data/split/test.h5", "--val",
              "data/split/val.h5", "--out", "results/scores.h5"],
    "baseline": ["baseline", "--train", "data/split/train.h5", "--val", "data/split/val.h5",
                 "--test", "data/split/test.h5", "--out", "results/baseline_scores.h5"],
    "evaluate": ["evaluate", "--scores", "results/scores.h5", "--baseline-scores",
                 "results/baseline_scores.h5", "--roc", "results/roc.pdf", "--metrics",
                 "results/metrics.json"],
}
# the baseline's training is not what is measured: one short epoch
BASELINE = {"epochs": 1, "max_train_jets": 2000, "max_val_jets": 500}
BUILD_MODEL = """
import sys
from jetad.models import jointvae
from jetad.params import load
p = load(sys.argv[1])
jointvae.save(jointvae.JointVAE(jointvae.JointVAEConfig.from_params(p.train, p.pixelize.npix)),
              sys.argv[2])
"""
BLOCK = 50_000  # jets per block while building a file
N_CONSTITUENTS = 30


def random_jets(n: int, first: int, rng: np.random.Generator) -> Jets:
    """n jets of N_CONSTITUENTS massless constituents; is_signal_new alternates from row
    `first` on."""
    p4 = np.zeros((n, 200, 4), dtype=np.float32)
    k = N_CONSTITUENTS
    pt = -np.sort(-rng.uniform(1, 50, (n, k)), axis=1)
    phi, eta = rng.uniform(-0.3, 0.3, (n, k)), rng.uniform(-0.3, 0.3, (n, k))
    p4[:, :k] = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi),
                          pt * np.sinh(eta)], axis=-1)
    truth = p4[:, :k].sum(axis=1)
    label = ((np.arange(n) + first) % 2).astype(np.int8)
    return Jets(p4, truth.astype(np.float32), np.zeros(n, dtype=np.int8), label)


def build(path: Path, n: int, seed: int = 0) -> None:
    """A file of n jets in the top-tagging layout (pandas table), written BLOCK jets at a time."""
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    with warnings.catch_warnings(), pd.HDFStore(tmp, mode="w", complevel=1,
                                                complib="zlib") as store:
        warnings.simplefilter("ignore")
        for start in range(0, n, BLOCK):
            frame = to_frame(random_jets(min(BLOCK, n - start), start, rng))
            frame.index = pd.RangeIndex(start, start + len(frame))
            store.append(KEY, frame, format="table", index=False, expectedrows=n)
    tmp.rename(path)


def run_stage(work: Path, args: list[str], src: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak resident memory in MB) of `jetad <args>` run in `work`
    with the package in `src`. CPU seconds, user and system over all threads: the measure that
    holds on a shared machine, where the wall time follows the load."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "jetad.cli", *args], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"jetad {' '.join(args)} failed in {work}:\n{stderr.decode()}")
    # ru_maxrss is in kB on Linux
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def growth(ns: list[int], values: list[float]) -> float:
    """b of value ~ N^b, least squares in log-log."""
    if len(ns) < 2:
        return float("nan")
    return float(np.polyfit(np.log(ns), np.log(values), 1)[0])


def table(ns: list[int], results: dict) -> str:
    head = ("| stage | " + " | ".join(f"N={n:,}" for n in ns)
            + " | time exponent | memory exponent |")
    lines = [head, "|" + "---|" * (len(ns) + 3)]
    for stage, rows in results.items():
        cells = [f"{s:.1f} s, {n / s:,.0f} jets/s, {mb:,.0f} MB"
                 for n, (s, mb) in zip(ns, rows, strict=True)]
        lines.append(f"| {stage} | " + " | ".join(cells)
                     + f" | {growth(ns, [s for s, _ in rows]):.2f}"
                     + f" | {growth(ns, [mb for _, mb in rows]):.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jets", type=int, nargs="+", default=[25_000, 100_000, 400_000,
                                                                1_200_000])
    parser.add_argument("--work", type=Path, default=Path("bench-scale"),
                        help="folder of the built files and the stages' outputs")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=list(STAGES))
    parser.add_argument("--table", type=Path, help="also write the table to this file")
    parser.add_argument("--src", type=Path, default=ROOT / "src",
                        help="the jetad package's folder to run, with params.yaml beside it "
                             "(another commit's, to compare; default this checkout's)")
    args = parser.parse_args()
    params = yaml.safe_load((args.src.parent / "params.yaml").read_text())
    params["baseline"].update(BASELINE)
    if "score" in args.stages and not (args.work / "model").exists():
        args.work.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", BUILD_MODEL, str(args.src.parent / "params.yaml"),
                        str(args.work / "model")], check=True, env={**os.environ,
                        "PYTHONPATH": str(args.src.resolve())}, stderr=subprocess.DEVNULL)
    results = {stage: [] for stage in args.stages}
    for n in args.jets:
        work = args.work / f"n{n}"
        work.mkdir(parents=True, exist_ok=True)
        (work / "params.yaml").write_text(yaml.safe_dump(params))
        build(work / "jets.h5", n)
        for stage in args.stages:
            seconds, _cpu, mb = run_stage(work, STAGES[stage], args.src.resolve())
            results[stage].append((seconds, mb))
            print(f"N={n}: {stage} {seconds:.1f} s, {n / seconds:,.0f} jets/s, {mb:,.0f} MB",
                  flush=True)
    text = table(args.jets, results)
    print(text)
    if args.table:
        args.table.write_text(text + "\n")


if __name__ == "__main__":
    main()
