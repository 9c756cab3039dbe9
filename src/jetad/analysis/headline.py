"""The detector's one declared output: the JointVAE score named by `evaluate.headline`, fixed
before any label is read. Its figures of merit on every signal, the worst case over the anomaly
classes (a detector is only as good as it is on the anomaly it finds worst: the signal is not
known in advance). What it sees beyond the jet mass and its trigger view:
jetad.analysis.beyond_mass. Light (no NumPy): Snakemake reads the scan tables' module, which
imports this one.

The best score per signal, picked by its AUC on that signal (the scan and seed tables show it),
is a diagnostic only: it is chosen with the signal labels, so it is no result of an anomaly
detector, and every table that shows it says so (DIAGNOSTIC).
"""

from __future__ import annotations

import math

from jetad.errors import DataError

DIAGNOSTIC = "chosen with signal labels: not a result"
MODEL = "jointvae"


def key(score: str) -> str:
    """The metrics.json key of the headline score ("jointvae/<score>")."""
    return f"{MODEL}/{score}"


def check(score: str, vae: dict, path) -> None:
    """Refuse a score file without the declared headline score, naming both."""
    if score not in vae["scores"]:
        raise DataError(f"{path}: no score '{score}' (evaluate.headline); holds "
                        f"{', '.join(vae['scores'])}")


def _prefixes(results: dict, signals: list[str]) -> dict[str, str]:
    """{signal name: its key prefix}; with no per-signal keys, every anomaly together ('all')."""
    return {s: f"{s}/" for s in signals} if signals else {"all": ""}


def figures_of_merit(results: dict, score: str, signals: list[str]) -> dict:
    """{score, per_signal: {signal: AUC, 1/eps_B at eps_S = 0.3, their 68% intervals, jet
    counts}, worst_case: the smallest AUC and 1/eps_B over the signals, each with its signal}."""
    per = {}
    for sig, prefix in _prefixes(results, signals).items():
        r = results[prefix + key(score)]
        per[sig] = {k: r.get(k) for k in ("auc", "auc_68", "rejection_at_eff_s_0p3",
                                          "rejection_at_eff_s_0p3_68", "n_signal",
                                          "n_background")}
    return {"score": score, "key": key(score), "per_signal": per, "worst_case": worst_case(per)}


def worst_case(per: dict) -> dict:
    """The lowest AUC and the lowest 1/eps_B over the signals (None = unbounded, the largest)."""
    def rej(sig: str) -> float:
        r = per[sig]["rejection_at_eff_s_0p3"]
        return math.inf if r is None else r

    by_auc = min(per, key=lambda s: per[s]["auc"])
    by_rej = min(per, key=rej)
    return {"auc": per[by_auc]["auc"], "auc_signal": by_auc,
            "rejection_at_eff_s_0p3": per[by_rej]["rejection_at_eff_s_0p3"],
            "rejection_signal": by_rej}
