"""KL-score figures of merit of encoders (float reduced, quantized, hls4ml emulation) next to the
large JointVAE's, and the tables `jetad qat` / `jetad hls` write.

The anomaly score on the FPGA is KL ([Valente 2022] ch. 3): only the encoder's outputs
[z_categorical (logits), z_mean, z_var (log variance)] are needed. Scores and figures of merit
come from `jetad.analysis.scores` and `jetad.analysis.metrics` (nothing re-implemented here).
"""

from __future__ import annotations

import csv
import io

import numpy as np

from jetad import tables
from jetad.analysis import metrics, plots
from jetad.analysis import scores as sc
from jetad.analysis.scores import LABELS, read_score_file
from jetad.atomic import atomic_path
from jetad.errors import DataError

KL_NAMES = ("kl_disc", "kl_cont", "kl_total")


def kl_scores(outputs, eps: float) -> dict[str, np.ndarray]:
    """{kl_disc, kl_cont, kl_total} from encoder outputs [logits, mean, logvar]."""
    logits, mean, logvar = (np.asarray(a, np.float64) for a in outputs)
    out = {"kl_disc": sc.kl_disc(logits, eps), "kl_cont": sc.kl_cont(mean, logvar)}
    out["kl_total"] = out["kl_disc"] + out["kl_cont"]
    return out


def kl_metrics(label, scores: dict[str, np.ndarray]) -> dict[str, dict]:
    """{score: metrics.summary} for the KL scores present in `scores`."""
    return {k: metrics.summary(label, scores[k]) for k in KL_NAMES if k in scores}


def large_model_scores(path, label) -> dict[str, np.ndarray]:
    """KL scores of the large JointVAE from its score file (`jetad score`), checked to be the
    same test jets as `label` (same count and labels, in order)."""
    s = read_score_file(path)
    if len(s["label"]) != len(label) or not np.array_equal(s["label"].astype(int),
                                                          np.asarray(label).astype(int)):
        raise DataError(
            f"{path}: labels differ from the test file ({len(s['label'])} vs {len(label)} jets); "
            "score the same test file with `jetad score`"
        )
    missing = [k for k in KL_NAMES if k not in s["scores"]]
    if missing:
        raise DataError(f"{path}: score file lacks {missing}")
    return {k: s["scores"][k] for k in KL_NAMES}


def metrics_markdown(results: dict[str, dict[str, dict]], title: str) -> str:
    """results: {model: {score: summary}} -> a markdown table of AUC and TPR at FPR 10%."""
    rows = [(model, LABELS.get(score, score), f"{100 * r['auc']:.2f}%",
             f"{100 * r['tpr_at_fpr_10pct']:.2f}%", f"{r['n_signal']} / {r['n_background']}")
            for model, per_score in results.items() for score, r in per_score.items()]
    table = tables.markdown(rows, ("model", "score", "AUC", "TPR @ FPR 10%", "jets (top / QCD)"))
    return f"# {title}\n\n{table}\n"


def roc_pdf(label, series: dict[str, np.ndarray], path, note: str | None = None) -> None:
    """All `series` (legend -> score) as ROC curves in one PDF (jetad.analysis.plots)."""
    curves = {}
    for name, values in series.items():
        fpr, tpr = metrics.roc(label, values)
        curves[name] = (fpr, tpr, metrics.auc(label, values))
    with atomic_path(path, suffix=".pdf") as tmp:
        plots.roc_curves(curves, tmp, note)


ENERGY_COLUMNS = ("layer", "class_name", "groups", "macs", "macs_qtools",
                  "float_energy_pj", "quantized_energy_pj", "float_energy_pj_real_macs",
                  "quantized_energy_pj_real_macs")


def energy_rows(cmp: dict) -> list[dict]:
    """Per-layer rows of `jetad.quant.energy.compare`, float and quantized side by side, plus a
    TOTAL row (pJ) and the relative saving."""
    f = {r["layer"]: r for r in cmp["float"]["layers"]}
    q = {r["layer"]: r for r in cmp["quantized"]["layers"]}
    rows = []
    for name in [*q] + [n for n in f if n not in q]:
        a, b = f.get(name, {}), q.get(name, {})
        ref = b or a
        rows.append({
            "layer": name, "class_name": ref.get("class_name"), "groups": ref.get("groups", 1),
            "macs": ref.get("macs"), "macs_qtools": ref.get("macs_qtools"),
            "float_energy_pj": a.get("energy_pj"), "quantized_energy_pj": b.get("energy_pj"),
            "float_energy_pj_real_macs": a.get("energy_pj_real"),
            "quantized_energy_pj_real_macs": b.get("energy_pj_real"),
        })
    total = {"layer": "TOTAL", "class_name": "", "groups": "",
             "macs": sum(r["macs"] or 0 for r in rows),
             "macs_qtools": sum(r["macs_qtools"] or 0 for r in rows)}
    for key in ENERGY_COLUMNS[5:]:
        total[key] = sum(r[key] or 0.0 for r in rows)
    rows.append(total)
    return rows


def energy_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ENERGY_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in ENERGY_COLUMNS})
    return buf.getvalue()


def energy_markdown(rows: list[dict], cmp: dict) -> str:
    def nj(v):
        return "" if v is None else f"{v / 1e3:.1f}"

    lines = [
        "# QTools energy of the reduced encoder (45 nm, Horowitz; nJ per image)", "",
        "QTools counts a grouped conv as an ungrouped one (`MACs QTools`); the `real MACs` "
        "columns scale its op energy to the MACs actually computed. The float encoder's "
        f"MACs are costed as {cmp.get('float_type', 'fp16')} (QTools' keras_quantizer and "
        "keras_accumulator; fp16 reproduces thesis Tables 3.2 and 3.4); each layer counts what "
        "QTools' include_energy rule counts.", "",
        tables.markdown(
            [(r["layer"], r["groups"], r["macs"] or "", r["macs_qtools"] or "",
              nj(r["float_energy_pj"]), nj(r["quantized_energy_pj"]),
              nj(r["float_energy_pj_real_macs"]), nj(r["quantized_energy_pj_real_macs"]))
             for r in rows],
            ("layer", "groups", "MACs", "MACs QTools", "float", "quantized", "float (real MACs)",
             "quantized (real MACs)")),
    ]
    lines += [
        "",
        f"Total: float {cmp['float']['total_uj']:.4f} uJ, quantized "
        f"{cmp['quantized']['total_uj']:.4f} uJ, saving {100 * cmp['saving']:.1f}% "
        f"(thesis: 5.4957 vs 3.3434 uJ, -39%).",
        f"With real MACs: float {cmp['float']['total_uj_real_macs']:.4f} uJ, quantized "
        f"{cmp['quantized']['total_uj_real_macs']:.4f} uJ, saving "
        f"{100 * cmp['saving_real_macs']:.1f}%.",
    ]
    return "\n".join(lines) + "\n"
