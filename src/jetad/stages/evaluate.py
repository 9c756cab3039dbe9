"""`jetad evaluate`: ROC curves and figures of merit for every score, with the baselines.

Baselines side by side (SPEC §6): the jet mass alone, the N-subjettiness ratios as
`baseline/tau21` = 1 - tau21 and `baseline/tau32` = 1 - tau32 (all three read from the JointVAE
score file, so they are the same test jets), and the plain conv autoencoder's MSE
(`jetad baseline`). Every score is "larger = more anomalous", its direction fixed before any label
is seen: a two-prong (W, Z) jet has a small tau21 and a three-prong (top) jet a small tau32, hence
1 - tau. A score file without tau21 / tau32 (an older jetad score's) is evaluated without those
two baselines, with a warning.
metrics.json holds, per score: AUC, TPR at FPR 10%, 1%, 0.1%, and 1/eps_B at eps_S = 0.3, with
seeded bootstrap 68% intervals on AUC and 1/eps_B (`auc_68`, `rejection_at_eff_s_0p3_68`).
Keys "<model>/<score>" compare the background (label 0) with every anomaly together; when the
score file holds each jet's `process` (jetad score copies it from the test file), keys
"<signal>/<model>/<score>" compare the background with that one process (top, w, z, or qcd when
the background is another class), and `<figures>/roc_<signal>.pdf` shows its ROC curves.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from jetad import log
from jetad.atomic import atomic_path, write_text
from jetad.errors import DataError

logger = log.get("jetad.evaluate")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _signals(vae: dict, path) -> tuple[str | None, dict[str, np.ndarray]]:
    """(background name, {signal name: mask of its jets}) from the score file's `process`;
    (None, {}) for a file without it (written before processes were carried)."""
    from jetad.data.processes import PROCESSES

    if "process" not in vae:
        return None, {}
    process, label = vae["process"], vae["label"]
    names = vae["attrs"].get("processes", ",".join(PROCESSES))
    names = (names.decode() if isinstance(names, bytes) else str(names)).split(",")
    if process.shape != label.shape or not np.isin(process, np.arange(len(names))).all():
        raise DataError(f"{path}: process must hold one index into {','.join(names)} per jet")
    backgrounds = np.unique(process[label == 0])
    if len(backgrounds) != 1:
        raise DataError(f"{path}: label 0 must be one process, the background, not "
                        f"{', '.join(names[i] for i in backgrounds)}")
    if np.isin(process[label == 1], backgrounds).any():
        raise DataError(f"{path}: jets of the background {names[backgrounds[0]]} with label 1")
    return names[backgrounds[0]], {names[i]: process == i
                                   for i in np.unique(process[label == 1])}


def run(args, params) -> None:
    from jetad.analysis import bootstrap, metrics, plots
    from jetad.analysis.scores import LABELS, read_score_file

    params = params.for_stage(args.command)
    ep = params.evaluate
    # both files are read and checked before anything is logged or written
    vae = read_score_file(args.scores)
    label = vae["label"].astype(int)
    n_top = int(label.sum())
    if n_top == 0 or n_top == len(label):
        raise DataError(f"{args.scores}: needs both background (label 0) and anomalous "
                        f"(label 1) jets to evaluate, has {len(label) - n_top} background and "
                        f"{n_top} anomalous")
    background, signals = _signals(vae, args.scores)
    base = read_score_file(args.baseline_scores) if args.baseline_scores else None
    if base is not None and (len(base["label"]) != len(label)
                             or not np.array_equal(base["label"], vae["label"])):
        raise DataError(
            f"{args.baseline_scores}: labels differ from {args.scores} "
            f"({len(base['label'])} vs {len(label)} jets); score the same test file"
        )
    logger.info("read %d jets (%d anomalous) with %d scores from %s", len(label), n_top,
                len(vae["scores"]), args.scores)
    # Keys are "<model>/<score>", one flat namespace for metrics.json and the legend.
    series: dict[str, np.ndarray] = {f"jointvae/{k}": v for k, v in vae["scores"].items()}
    series["baseline/jet_mass"] = vae["jet_mass"].astype(np.float64)
    taus = [t for t in ("tau21", "tau32") if t in vae]
    for tau in taus:
        # larger = more anomalous: fewer prongs than N means a large ratio (see docstring)
        series[f"baseline/{tau}"] = 1.0 - vae[tau].astype(np.float64)
    if len(taus) < 2:
        logger.warning("%s holds no %s (written by an older jetad score): evaluating without "
                       "those baselines; rerun pixelize, split and score to get them",
                       args.scores, " / ".join(t for t in ("tau21", "tau32") if t not in taus))
    if base is not None:
        for k, v in base["scores"].items():
            series[f"baseline/conv_ae_{k}"] = v
        logger.info("read baseline scores %s from %s", sorted(base["scores"]),
                    args.baseline_scores)

    seed = params.seed
    # (prefix of the metrics keys, the jets compared): every anomaly, then each signal alone
    selections = {"": np.ones(len(label), bool)}
    for sig, mask in signals.items():
        selections[f"{sig}/"] = (label == 0) | mask
    results = {}
    for prefix, sel in selections.items():
        for name, values in series.items():
            r = metrics.summary(label[sel], values[sel])
            # seeded bootstrap: statistical errors from the finite test set (not training
            # spread)
            iv = bootstrap.intervals(label[sel], values[sel], seed)
            r["auc_68"] = iv["auc"]
            r["rejection_at_eff_s_0p3_68"] = iv["rejection_at_eff_s_0p3"]
            results[prefix + name] = r
    if signals:
        logger.info("background %s; signals %s", background,
                    ", ".join(f"{s} ({int(m.sum())} jets)" for s, m in signals.items()))
    write_text(args.metrics, json.dumps(_jsonable(results), indent=2) + "\n")
    logger.info("wrote metrics of %d scores to %s", len(results), args.metrics)
    for name, r in results.items():
        rej = r["rejection_at_eff_s_0p3"]
        lo, hi = r["auc_68"]
        logger.info("%-26s AUC %.4f [%.4f, %.4f]  TPR@FPR10%% %.3f  1/eps_B@0.3 %s", name,
                    r["auc"], lo, hi, r["tpr_at_fpr_10pct"], "inf" if rej is None else f"{rej:.1f}")

    def legend(name: str) -> str:
        model, score = name.split("/", 1)
        if model == "jointvae":
            return LABELS.get(score, score)
        if score == "jet_mass":
            return "jet mass"
        if score.startswith("tau"):
            return f"1 - {score}"
        return f"conv AE {score.removeprefix('conv_ae_')}"

    curves = {}
    for name, values in series.items():
        fpr, tpr = metrics.roc(label, values)
        curves[legend(name)] = (fpr, tpr, results[name]["auc"])
    note = plots.data_note(params)
    with atomic_path(args.roc, suffix=".pdf") as tmp:
        plots.roc_curves(curves, tmp, note)
    logger.info("wrote %s", args.roc)

    if args.figures:
        folder = Path(args.figures)
        folder.mkdir(parents=True, exist_ok=True)
        for sig in signals:
            sel = selections[f"{sig}/"]
            sig_curves = {}
            for name, values in series.items():
                fpr, tpr = metrics.roc(label[sel], values[sel])
                sig_curves[legend(name)] = (fpr, tpr, results[f"{sig}/{name}"]["auc"])
            with atomic_path(folder / f"roc_{sig}.pdf", suffix=".pdf") as tmp:
                plots.roc_curves(sig_curves, tmp, note,
                                 title=f"{background or 'background'} vs {sig}")
        if signals:
            logger.info("wrote ROC curves of %s to %s", ", ".join(signals), folder)
        with atomic_path(folder / "score_distributions.pdf", suffix=".pdf") as tmp:
            plots.score_distributions({legend(k): v for k, v in series.items()}, label, tmp,
                                      note)
        if "z_mean" in vae and "category" in vae:
            with atomic_path(folder / "latent_pca.pdf", suffix=".pdf") as tmp:
                plots.latent_pca(vae["z_mean"], label, vae["category"], tmp, note,
                                 max_points=ep.pca_max_points, seed=seed)
        logger.info("wrote score distributions and latent PCA to %s", folder)
