"""Two runs' headline score side by side: its AUC per signal, its AUC inside the jet-mass
windows, the background mass sculpting of a cut on it, and how much it follows the jet mass.

    .venv/bin/python bench/compare_runs.py RUN_A RUN_B [--names off on]
    .venv/bin/python bench/compare_runs.py --boost RUN   # the rescale target of RUN's jets

A run is a project folder after `snakemake results/metrics.json` (its results/headline.json,
results/mass_windows.csv, results/scores.h5, results/metrics.json and data/split/test.h5). Two
lines need no signal label: the Spearman rank correlation of the headline score with the jet
mass on the test background jets (how much of the score is the trivial mass cue), and the
median size of the test images per process (the pT-weighted RMS distance from the centre pixel,
in pixels), which grows with the jet's mass over its momentum.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from jetad.data.images import read_images


def image_sizes(path: Path) -> dict[str, float]:
    """Median pT-weighted RMS distance of the image's pixels from the centre pixel, per process."""
    data = read_images(path)
    npix = data.images.shape[1]
    rows, cols = np.mgrid[:npix, :npix]
    r2 = (rows - npix // 2) ** 2 + (cols - npix // 2) ** 2
    size = np.sqrt((data.images * r2).sum(axis=(1, 2)))
    names = data.process_names()
    return {p: float(np.median(size[names == p])) for p in np.unique(names)}


def load(run: Path) -> dict:
    head = json.loads((run / "results/headline.json").read_text())
    metrics = json.loads((run / "results/metrics.json").read_text())
    windows = pd.read_csv(run / "results/mass_windows.csv")
    with h5py.File(run / "results/scores.h5") as f:
        background = f["label"][...] == 0
        score = f["scores"][head["score"]][...][background]
        mass = f["jet_mass"][...][background]
    rho = spearmanr(score, mass).statistic
    return {"head": head, "metrics": metrics, "windows": windows, "rho": float(rho),
            "n_background": int(background.sum()),
            "sizes": image_sizes(run / "data/split/test.h5")}


def auc_cell(entry: dict) -> str:
    lo, hi = entry.get("auc_68") or (float("nan"), float("nan"))
    return f"{entry['auc']:.3f} [{lo:.3f}, {hi:.3f}]"


def report(runs: dict[str, dict]) -> list[str]:
    names = list(runs)
    first = runs[names[0]]["head"]
    lines = [f"headline score: {first['key']}", "",
             "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for signal in first["per_signal"]:
        lines.append(f"| {signal} AUC | " + " | ".join(
            auc_cell(r["head"]["per_signal"][signal]) for r in runs.values()) + " |")
        lines.append(f"| {signal} jet-mass AUC | " + " | ".join(
            f"{r['metrics'][f'{signal}/baseline/jet_mass']['auc']:.3f}" for r in runs.values())
            + " |")
    keys = sorted({(s, lo, hi) for r in runs.values()
                   for s, lo, hi in r["windows"][["signal", "lo", "hi"]].itertuples(index=False)})
    for signal, lo, hi in keys:
        cells = []
        for r in runs.values():
            w = r["windows"]
            row = w[(w.signal == signal) & (w.lo == lo) & (w.hi == hi)]
            cells.append("-" if row.empty else f"{row.auc.iloc[0]:.3f} "
                         f"({row.n_background.iloc[0]} / {row.n_signal.iloc[0]} jets)")
        lines.append(f"| {signal} AUC in {lo:g}-{hi:g} GeV | " + " | ".join(cells) + " |")
    lines.append("| sculpting JSD (random cut) | " + " | ".join(
        f"{r['head']['sculpting']['jsd']:.3f} ({r['head']['sculpting']['jsd_random']:.3f}), "
        f"{r['head']['sculpting']['n_after']} of {r['head']['sculpting']['n_before']} kept"
        for r in runs.values()) + " |")
    lines.append("| Spearman(score, jet mass), background | " + " | ".join(
        f"{r['rho']:.3f} ({r['n_background']} jets)" for r in runs.values()) + " |")
    for process in runs[names[0]]["sizes"]:
        lines.append(f"| {process} median image size, pixels | " + " | ".join(
            f"{r['sizes'][process]:.2f}" for r in runs.values()) + " |")
    return lines


def boost(run: Path) -> str:
    """The label-free choice of pixelize.rescale: the median mass and E / m of the training
    split's jets (background only), E = sqrt(m^2 + (pT cosh eta)^2)."""
    data = read_images(run / "data/split/train.h5")
    names, counts = np.unique(data.process_names(), return_counts=True)
    mass = data.jet_mass.astype(np.float64)
    momentum = data.jet_pt.astype(np.float64) * np.cosh(data.jet_eta.astype(np.float64))
    ratio = np.sqrt(mass**2 + momentum**2) / mass
    return (f"{dict(zip(names.tolist(), counts.tolist(), strict=True))}: median mass "
            f"{np.median(mass):.2f} GeV, median E/m {np.median(ratio):.2f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--names", nargs="+")
    parser.add_argument("--boost", action="store_true",
                        help="print the training jets' median mass and E / m instead")
    args = parser.parse_args(argv)
    if args.boost:
        print("\n".join(f"{run}: {boost(run)}" for run in args.runs))
        return
    names = args.names or [str(r) for r in args.runs]
    print("\n".join(report({n: load(r) for n, r in zip(names, args.runs, strict=True)})))


if __name__ == "__main__":
    main()
