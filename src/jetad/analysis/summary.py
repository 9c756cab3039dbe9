"""The summary of evaluate's metrics. summary.md leads with the detector's declared output
(`evaluate.headline`, jetad.analysis.headline): its AUC and 1/eps_B at eps_S = 0.3 per signal
with bootstrap 68% intervals, the worst case over the signals, its AUC in jet-mass windows, the
background mass sculpting of a cut on it and the trigger view. Then, for comparison, the signal
x score table of every score and baseline: AUC and 1/eps_B with their intervals, one row per
score, one block of columns per signal.

The signal x score rows are written twice: a long CSV (one line per signal and score, plain
numbers, for scripts) and a markdown table (`jetad.tables.aligned`, for the README and the
report). The headline's windows and trigger view have CSVs of their own (`windows_csv`,
`trigger_csv`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jetad import tables
from jetad.analysis.headline import DIAGNOSTIC
from jetad.analysis.scores import LABELS

SUPERVISED = "supervised ceiling (not anomaly detection)"
ALL = "all anomalies"
CSV_COLUMNS = ("signal", "key", "score", "headline", "auc", "auc_lo", "auc_hi", "rejection_at_eff_s_0p3",
               "rejection_lo", "rejection_hi", "n_signal", "n_background")


def display(process: str | None) -> str:
    """A process's name as physicists write it (qcd -> QCD, w -> W); unknown names unchanged."""
    if not process:
        return "background"
    # a background of several processes learned together is named as the split joins them
    return "+".join({"qcd": "QCD", "top": "top", "w": "W", "z": "Z"}.get(p, p)
                    for p in process.split("+"))


def legend(key: str) -> str:
    """The reader's name of a "<model>/<score>" key of metrics.json."""
    model, score = key.split("/", 1)
    if model == "jointvae":
        return LABELS.get(score, score)
    if model == "jointvae_sampled":
        return f"{LABELS.get(score, score)} (sampled latent)"
    if model == "supervised":
        return SUPERVISED
    if model == "nae":
        return {"energy": "NAE energy", "ae_mse": "NAE before its training (AE MSE)"}.get(
            score, f"NAE {score}")
    if score == "jet_mass":
        return "jet mass"
    if score.startswith("tau"):
        return f"1 - {score}"
    return f"conv AE {score.removeprefix('conv_ae_')}"


def rows(results: dict, keys: list[str], signals: list[str], headline: str = "") -> list[dict]:
    """One row per (signal, key) present in `results` (keys "<signal>/<model>/<score>"); with no
    per-signal keys (a score file without processes) the combined keys under ALL. `headline`:
    the metrics key of the declared detector output, flagged in its rows."""
    blocks = [(display(s), f"{s}/") for s in signals] or [(ALL, "")]
    out = []
    for signal, prefix in blocks:
        for key in keys:
            r = results.get(prefix + key)
            if r is None:
                continue
            rej, rej68 = r["rejection_at_eff_s_0p3"], r.get("rejection_at_eff_s_0p3_68")
            out.append({
                "signal": signal, "key": key, "score": legend(key),
                "headline": int(key == headline), "auc": r["auc"],
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


def to_markdown(table: list[dict], background: str | None, lead: str = "") -> str:
    """`lead` (the headline section, `headline_markdown`), then the comparison table. Rows:
    scores in `table` order; columns: "<signal> AUC" and "<signal> 1/eps_B" per signal."""
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
    if lead:
        head = (lead + "## Every score and baseline, for comparison\n\nThe detector's output "
                "is the headline above. A score picked from this table by its AUC on a signal "
                f"is {DIAGNOSTIC}.\n\n" + head)
    return head + tables.aligned(pd.DataFrame(data)) + "\n"


def _rej(value) -> str:
    return "inf" if value is None else f"{value:.1f}"


def _interval(value, iv, digits: int) -> str:
    if value is None:
        return "inf (no background left)"
    if iv is None:
        return f"{value:.{digits}f} [?, inf]"
    return f"{value:.{digits}f} [{iv[0]:.{digits}f}, {iv[1]:.{digits}f}]"


def headline_markdown(fom: dict, beyond: dict, background: str | None) -> str:
    """The headline section of summary.md: the declared score per signal and its worst case,
    then what it sees beyond the jet mass (`beyond`: jetad.analysis.headline.beyond_mass)."""
    per, worst = fom["per_signal"], fom["worst_case"]
    bg = display(background) if background else "background"
    rows = [[display(s), _interval(r["auc"], r["auc_68"], 3),
             _interval(r["rejection_at_eff_s_0p3"], r["rejection_at_eff_s_0p3_68"], 1),
             f"{r['n_signal']} / {r['n_background']}"] for s, r in per.items()]
    rows.append(["worst case (lowest over the signals)",
                 f"{worst['auc']:.3f} ({display(worst['auc_signal'])})",
                 f"{_rej(worst['rejection_at_eff_s_0p3'])} ({display(worst['rejection_signal'])})",
                 ""])
    out = [f"## Detector output: {legend(fom['key'])} (`evaluate.headline: {fom['score']}`)", "",
           "The one score the detector reports, declared in params.yaml before any label is "
           f"read. {bg} against each signal: AUC and 1/eps_B at eps_S = 0.3 with seeded "
           "bootstrap 68% intervals in brackets; the worst case is the figure of merit of an "
           "anomaly not known in advance.", "",
           tables.markdown(rows, ["signal", "AUC [68%]", "1/eps_B at eps_S = 0.3 [68%]",
                                  "signal / background jets"]), ""]
    return "\n".join(out + _beyond_markdown(beyond, bg)) + "\n"


def _beyond_markdown(beyond: dict, bg: str) -> list[str]:
    mw, sc = beyond["mass_windows"], beyond["sculpting"]
    rows = []
    for sig, windows in mw["per_signal"].items():
        rows += [[display(sig), f"{w['lo']:g}-{w['hi']:g}", w["n_background"], w["n_signal"],
                  f"{w['auc']:.3f}"] for w in windows]
        if not windows:
            rows.append([display(sig), "none", "", "", ""])
    out = ["### Beyond the jet mass", "",
           f"AUC inside jet-mass windows of {mw['bin_gev']:g} GeV (edges at its multiples), "
           f"each holding at least {mw['min_jets']} test jets of {bg} and of the signal "
           "(a signal with no such window has one row, 'none'). A score that learned only the "
           "mass has an AUC near 0.5 inside a window.", "",
           tables.markdown(rows, ["signal", "jet mass (GeV)", f"{bg} jets", "signal jets",
                                  "AUC"]), ""]
    if sc["jsd"] is None:
        out += [f"Mass sculpting: no {bg} jet passes the cut at eps_B = {sc['eps_b']:g}.", ""]
    else:
        out += [f"Mass sculpting of the cut at eps_B = {sc['eps_b']:g} (score > "
                f"{sc['threshold']:.4g}, {sc['n_after']} of {sc['n_before']} {bg} jets kept): "
                f"Jensen-Shannon distance (base 2) between the {bg} jet mass before and after "
                f"the cut {sc['jsd']:.3f}, in bins of {sc['bin_gev']:g} GeV from "
                f"{sc['edges'][0]:g} to {sc['edges'][1]:g} GeV; random cuts keeping as many "
                f"jets give {sc['jsd_random']:.3f} (median), the floor from statistics alone.",
                ""]
    return out + _trigger_markdown(beyond["trigger"], bg)


def _trigger_markdown(points: list[dict], bg: str) -> list[str]:
    signals = list(points[0]["efficiency"]) if points else []
    rows = [[f"{p['acceptance']:g}", f"{p['threshold']:.4g}",
             f"{p['background_pass']} of {p['n_background']}",
             *(f"{p['efficiency'][s]:.3f}" for s in signals)] for p in points]
    return ["### Trigger view", "",
            f"The score threshold at a fixed {bg} acceptance (jets kept: score > threshold) and "
            f"each signal's efficiency there. With fewer than 1/acceptance {bg} jets no {bg} jet "
            "passes and the threshold is their largest score.", "",
            tables.markdown(rows, [f"{bg} acceptance", "threshold", f"{bg} jets passing",
                                   *(f"{display(s)} efficiency" for s in signals)]), ""]


def windows_csv(beyond: dict) -> str:
    """One line per signal and jet-mass window of the headline score."""
    rows = [{"signal": sig, **w} for sig, ws in beyond["mass_windows"]["per_signal"].items()
            for w in ws]
    return pd.DataFrame(rows, columns=["signal", "lo", "hi", "n_background", "n_signal",
                                       "auc"]).to_csv(index=False, float_format="%.6g",
                                                      lineterminator="\n")


def trigger_csv(beyond: dict) -> str:
    """One line per acceptance and signal of the trigger view."""
    rows = [{k: p[k] for k in ("acceptance", "threshold", "background_pass", "n_background",
                               "realized_acceptance")} | {"signal": s, "efficiency": e}
            for p in beyond["trigger"] for s, e in p["efficiency"].items()]
    return pd.DataFrame(rows, columns=["acceptance", "threshold", "background_pass",
                                       "n_background", "realized_acceptance", "signal",
                                       "efficiency"]).to_csv(index=False, float_format="%.6g",
                                                             lineterminator="\n")
