"""The signal x score summary of evaluate's metrics: AUC and 1/eps_B at eps_S = 0.3 with their
bootstrap 68% intervals, one row per score, one block of columns per signal.

Written twice from the same rows: a long CSV (one line per signal and score, plain numbers, for
scripts) and a markdown table (`jetad.tables.aligned`, for the README and the report).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jetad import tables
from jetad.analysis.scores import LABELS

SUPERVISED = "supervised ceiling (not anomaly detection)"
ALL = "all anomalies"
CSV_COLUMNS = ("signal", "key", "score", "auc", "auc_lo", "auc_hi", "rejection_at_eff_s_0p3",
               "rejection_lo", "rejection_hi", "n_signal", "n_background")


def display(process: str | None) -> str:
    """A process's name as physicists write it (qcd -> QCD, w -> W); unknown names unchanged."""
    if not process:
        return "background"
    return {"qcd": "QCD", "top": "top", "w": "W", "z": "Z"}.get(process, process)


def legend(key: str) -> str:
    """The reader's name of a "<model>/<score>" key of metrics.json."""
    model, score = key.split("/", 1)
    if model == "jointvae":
        return LABELS.get(score, score)
    if model == "jointvae_sampled":
        return f"{LABELS.get(score, score)} (sampled latent)"
    if model == "supervised":
        return SUPERVISED
    if score == "jet_mass":
        return "jet mass"
    if score.startswith("tau"):
        return f"1 - {score}"
    return f"conv AE {score.removeprefix('conv_ae_')}"


def rows(results: dict, keys: list[str], signals: list[str]) -> list[dict]:
    """One row per (signal, key) present in `results` (keys "<signal>/<model>/<score>"); with no
    per-signal keys (a score file without processes) the combined keys under ALL."""
    blocks = [(display(s), f"{s}/") for s in signals] or [(ALL, "")]
    out = []
    for signal, prefix in blocks:
        for key in keys:
            r = results.get(prefix + key)
            if r is None:
                continue
            rej, rej68 = r["rejection_at_eff_s_0p3"], r.get("rejection_at_eff_s_0p3_68")
            out.append({
                "signal": signal, "key": key, "score": legend(key), "auc": r["auc"],
                "auc_lo": r["auc_68"][0], "auc_hi": r["auc_68"][1],
                "rejection_at_eff_s_0p3": np.inf if rej is None else rej,
                "rejection_lo": np.nan if rej68 is None else rej68[0],
                "rejection_hi": np.nan if rej68 is None else rej68[1],
                "n_signal": r["n_signal"], "n_background": r["n_background"],
            })
    return out


def to_csv(table: list[dict]) -> str:
    return pd.DataFrame(table, columns=list(CSV_COLUMNS)).to_csv(
        index=False, float_format="%.6g", lineterminator="\n")


def _fmt(value: float, lo: float, hi: float, digits: int) -> str:
    if not np.isfinite(value):
        return "inf (no background left)"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{value:.{digits}f} [?, inf]"  # see the table's head
    return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def to_markdown(table: list[dict], background: str | None) -> str:
    """Rows: scores in `table` order; columns: "<signal> AUC" and "<signal> 1/eps_B" per signal."""
    signals = list(dict.fromkeys(r["signal"] for r in table))
    scores = list(dict.fromkeys(r["score"] for r in table))
    cells = {(r["signal"], r["score"]): r for r in table}
    data = []
    for score in scores:
        row = {"score": score}
        for sig in signals:
            r = cells.get((sig, score))
            row[f"{sig} AUC"] = "" if r is None else _fmt(r["auc"], r["auc_lo"], r["auc_hi"], 3)
            row[f"{sig} 1/eps_B"] = "" if r is None else _fmt(
                r["rejection_at_eff_s_0p3"], r["rejection_lo"], r["rejection_hi"], 1)
        data.append(row)
    n = {sig: next(r for r in table if r["signal"] == sig) for sig in signals}
    counts = "; ".join(f"{sig}: {n[sig]['n_signal']} signal / {n[sig]['n_background']} "
                       "background jets" for sig in signals)
    head = (f"Background {display(background) if background else 'label 0'}; AUC and "
            "1/eps_B at eps_S = 0.3, with seeded bootstrap 68% intervals in brackets "
            f"({counts}); [?, inf]: some replicas keep no background jet at eps_S = 0.3. The "
            "supervised classifier is trained with labels: a ceiling, not anomaly detection."
            "\n\n")
    return head + tables.aligned(pd.DataFrame(data)) + "\n"
