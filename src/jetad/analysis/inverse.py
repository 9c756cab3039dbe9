"""The inverse task beside the main one: the same method and the same declared score trained on
top jets, with QCD the anomaly ([Finke et al. 2021]: an autoencoder that finds top in QCD by
the complexity of its images should fail the other way round).

The table puts the headline score (`evaluate.headline`) of the main run per signal beside the
inverse runs' per anomaly, and takes the worst case over the main task's signals and the
inverse task's anomalies that are the main task's background (those not among its signals:
QCD, or gluon and quark). The inverse runs' other anomalies (W, Z against top) are shown for
information and stay out of the worst case.
"""

from __future__ import annotations

import math

from jetad import tables
from jetad.analysis import scan
from jetad.errors import DataError


def _entries(metrics: dict, origin: str) -> dict:
    """metrics.json's headline entry: {score, per_signal}, checked."""
    entry = metrics.get("headline")
    if not isinstance(entry, dict) or not isinstance(entry.get("per_signal"), dict):
        raise DataError(f"{origin}: no headline entry (written by an older jetad evaluate)")
    return entry


def rows(main: dict, runs: list[dict], background: str,
         origin: str = "metrics.json") -> list[dict]:
    """One row per task and anomaly: task, background (`background` the main task's, as
    split.background names it), anomaly, the headline AUC, its 68% interval, 1/eps_B at
    eps_S = 0.3 and whether it counts in the worst case."""
    hl = _entries(main, origin)
    score, signals = hl["score"], set(hl["per_signal"])
    out = [_row("main", background, sig, e, True) for sig, e in sorted(hl["per_signal"].items())]
    for run in runs:
        inv = _entries(run["metrics"], run["name"])
        if inv["score"] != score:
            raise DataError(f"{run['name']}: the inverse run declares {inv['score']}, the main "
                            f"run {score}; rerun it with one evaluate.headline")
        background = (run["params"].get("split") or {}).get("background")
        if not background:
            raise DataError(f"{run['name']}: its params.yaml names no split.background, not an "
                            "inverse run")
        out += [_row("inverse", background_name(background), sig, e, sig not in signals)
                for sig, e in sorted(inv["per_signal"].items())]
    return out


def background_name(background) -> str:
    """split.background as one name: 'top', or 'gluon+quark' for a list."""
    return background if isinstance(background, str) else "+".join(background)


def _row(task: str, background: str, anomaly: str, e: dict, worst: bool) -> dict:
    lo, hi = e.get("auc_68") or (math.nan, math.nan)
    r = e.get("rejection_at_eff_s_0p3")
    return {"task": task, "background": background, "anomaly": anomaly, "auc": e["auc"],
            "auc_lo": lo, "auc_hi": hi, "rejection": math.inf if r is None else float(r),
            "in_worst_case": int(worst)}


def worst_case(table: list[dict]) -> dict:
    """The lowest AUC and 1/eps_B over the rows that count, each naming its task and anomaly."""
    counted = [r for r in table if r["in_worst_case"]]
    by_auc = min(counted, key=lambda r: r["auc"])
    by_rej = min(counted, key=lambda r: r["rejection"])
    return {"auc": by_auc["auc"], "auc_of": f"{by_auc['task']} {by_auc['anomaly']}",
            "rejection": by_rej["rejection"],
            "rejection_of": f"{by_rej['task']} {by_rej['anomaly']}"}


def markdown(table: list[dict], score: str) -> str:
    w = worst_case(table)
    rej = "inf" if math.isinf(w["rejection"]) else f"{w['rejection']:.1f}"
    lines = [f"Detector output: `{score}` (evaluate.headline), the same in both tasks. Worst "
             f"case over the main task's signals and the inverse task: AUC {w['auc']:.3f} "
             f"({w['auc_of']}), 1/eps_B at eps_S = 0.3 {rej} ({w['rejection_of']}).", ""]
    cells = [[r["task"], r["background"], r["anomaly"],
              f"{r['auc']:.3f} [{r['auc_lo']:.3f}, {r['auc_hi']:.3f}]",
              "inf" if math.isinf(r["rejection"]) else f"{r['rejection']:.1f}",
              "yes" if r["in_worst_case"] else "no (information)"] for r in table]
    lines.append(tables.markdown(cells, ["task", "background", "anomaly", "AUC [68%]",
                                         "1/eps_B", "in the worst case"]))
    return "\n".join(lines) + "\n"


def read_runs(folders) -> list[dict]:
    """The inverse run folders as jetad.analysis.scan reads a run."""
    return [scan.read_run(f) for f in folders]
