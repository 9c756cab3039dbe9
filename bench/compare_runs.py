"""Two runs' headline score side by side: its AUC per signal, its AUC inside the jet-mass
windows, the background mass sculpting of a cut on it, and how much it follows the jet mass.

    .venv/bin/python bench/compare_runs.py RUN_A RUN_B [--names off on]

A run is a project folder after `snakemake results/metrics.json` (its results/headline.json,
results/mass_windows.csv, results/scores.h5 and results/metrics.json). The last line per run is
the Spearman rank correlation of the headline score with the jet mass on the test background
jets: labels only pick the background, so it says how much of the score is the trivial mass cue
without looking at any signal.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import h5py
import pandas as pd
from scipy.stats import spearmanr


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
            "n_background": int(background.sum())}


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
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--names", nargs="+")
    args = parser.parse_args(argv)
    names = args.names or [str(r) for r in args.runs]
    print("\n".join(report({n: load(r) for n, r in zip(names, args.runs, strict=True)})))


if __name__ == "__main__":
    main()
