"""What `jetad evaluate` measures: the score files read and checked against each other, every
score of every model side by side (`series`, keys "<model>/<score>", larger = more anomalous),
and their figures of merit on every anomaly together and on each signal alone, with seeded
bootstrap intervals (`figures_of_merit`, the content of metrics.json). The figures drawn from
them: `jetad.analysis.evaluation_figures`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetad.analysis import bootstrap, metrics
from jetad.analysis.scores import read_score_file
from jetad.data.processes import PROCESSES
from jetad.errors import DataError

TAUS = ("tau21", "tau32")


@dataclass
class Inputs:
    """The score files of one evaluation, checked: the same jets in each."""

    scores: str  # the JointVAE score file (jetad score), with the jet mass and the taus
    vae: dict
    label: np.ndarray  # int, 1 = anomalous
    background: str | None
    signals: dict[str, np.ndarray]  # {signal name: mask of its jets}
    baseline_scores: str | None = None  # jetad baseline
    base: dict | None = None
    supervised_scores: str | None = None  # jetad supervised
    sup: dict | None = None
    nae_scores: str | None = None  # jetad nae
    nae: dict | None = None


def signals(vae: dict, path) -> tuple[str | None, dict[str, np.ndarray]]:
    """(background name, {signal name: mask of its jets}) from the score file's `process`;
    (None, {}) for a file without it (written before processes were carried). The background
    may be several processes learned together (split.background a list, e.g. gluon and
    quark): every process of label 0, named as the split names it ('gluon+quark'); a
    process with jets of both labels is refused, and so is label 0 naming other processes
    than the file's `background` attribute says."""
    if "process" not in vae:
        return None, {}
    process, label = vae["process"], vae["label"]
    names = vae["attrs"].get("processes", ",".join(PROCESSES))
    names = (names.decode() if isinstance(names, bytes) else str(names)).split(",")
    if process.shape != label.shape or not np.isin(process, np.arange(len(names))).all():
        raise DataError(f"{path}: process must hold one index into {','.join(names)} per jet")
    backgrounds = np.unique(process[label == 0])
    both = [names[i] for i in np.unique(process[label == 1]) if i in backgrounds]
    if both:
        raise DataError(f"{path}: jets of {', '.join(both)} with label 0 and with label 1; "
                        "a process is background or anomaly, not both")
    background = _joined([names[i] for i in backgrounds], vae["attrs"].get("background"), path)
    return background, {names[i]: process == i for i in np.unique(process[label == 1])}


def _joined(found: list[str], declared, path) -> str:
    """The background processes as one name ('gluon+quark', the split's order when the file
    declares it), checked against the file's `background` attribute."""
    if declared is None:
        return "+".join(found)
    declared = declared.decode() if isinstance(declared, bytes) else str(declared)
    if sorted(declared.split("+")) != sorted(found):
        raise DataError(f"{path}: label 0 holds {', '.join(found)}, but the file's background "
                        f"is {declared}")
    return declared


def read_inputs(scores, baseline_scores=None, supervised_scores=None,
                nae_scores=None) -> Inputs:
    """Every score file read and checked (both classes present, the same labels in each)."""
    vae = read_score_file(scores)
    label = vae["label"].astype(int)
    n_top = int(label.sum())
    if n_top == 0 or n_top == len(label):
        raise DataError(f"{scores}: needs both background (label 0) and anomalous "
                        f"(label 1) jets to evaluate, has {len(label) - n_top} background and "
                        f"{n_top} anomalous")
    background, sigs = signals(vae, scores)
    base = read_score_file(baseline_scores) if baseline_scores else None
    sup = read_score_file(supervised_scores) if supervised_scores else None
    if sup is not None and "classifier" not in sup["scores"]:
        raise DataError(f"{supervised_scores}: no score 'classifier' (holds "
                        f"{', '.join(sup['scores'])}): not a jetad supervised score file")
    nae = read_score_file(nae_scores) if nae_scores else None
    for other, path in ((base, baseline_scores), (sup, supervised_scores), (nae, nae_scores)):
        if other is not None and (len(other["label"]) != len(label)
                                  or not np.array_equal(other["label"], vae["label"])):
            raise DataError(
                f"{path}: labels differ from {scores} "
                f"({len(other['label'])} vs {len(label)} jets); score the same test file"
            )
    return Inputs(scores, vae, label, background, sigs, baseline_scores, base,
                  supervised_scores, sup, nae_scores, nae)


def series(inp: Inputs, logger) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """({"<model>/<score>": values}, {"<signal>/": {key: values}}): every score, one flat
    namespace for metrics.json and the legend; the second the scores that replace a key's
    values for one signal (the supervised ceiling's own likelihood ratio of that signal)."""
    vae = inp.vae
    out: dict[str, np.ndarray] = {f"jointvae/{k}": v for k, v in vae["scores"].items()}
    # image scores from a sampled latent (older score files have none)
    out.update({f"jointvae_sampled/{k}": v
                for k, v in (vae.get("sampled_scores") or {}).items()})
    out["baseline/jet_mass"] = vae["jet_mass"].astype(np.float64)
    taus = [t for t in TAUS if t in vae]
    for tau in taus:
        # larger = more anomalous: a two-prong (W, Z) jet has a small tau21 and a three-prong
        # (top) jet a small tau32, hence 1 - tau
        out[f"baseline/{tau}"] = 1.0 - vae[tau].astype(np.float64)
    if len(taus) < 2:
        logger.warning("%s holds no %s (written by an older jetad score): evaluating without "
                       "those baselines; rerun pixelize, split and score to get them",
                       inp.scores, " / ".join(t for t in TAUS if t not in taus))
    if inp.base is not None:
        for k, v in inp.base["scores"].items():
            out[f"baseline/conv_ae_{k}"] = v
        logger.info("read baseline scores %s from %s", sorted(inp.base["scores"]),
                    inp.baseline_scores)
    if inp.nae is not None:
        out.update({f"nae/{k}": v for k, v in inp.nae["scores"].items()})
        logger.info("read NAE scores %s from %s", sorted(inp.nae["scores"]), inp.nae_scores)
    own: dict[str, dict[str, np.ndarray]] = {}
    if inp.sup is not None:
        out["supervised/classifier"] = inp.sup["scores"]["classifier"]
        for sig in inp.signals:
            if f"classifier_{sig}" in inp.sup["scores"]:
                own[f"{sig}/"] = {"supervised/classifier": inp.sup["scores"][f"classifier_{sig}"]}
        logger.info("read the supervised ceiling %s from %s", sorted(inp.sup["scores"]),
                    inp.supervised_scores)
    return out, own


def selections(label: np.ndarray, sigs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{prefix of the metrics keys: the jets compared}: every anomaly (''), then each signal
    alone with the background ('<signal>/')."""
    out = {"": np.ones(len(label), bool)}
    for sig, mask in sigs.items():
        out[f"{sig}/"] = (label == 0) | mask
    return out


def figures_of_merit(label, series: dict, selections: dict, own: dict, seed: int) -> dict:
    """{"<prefix><key>": metrics.summary with the 68% bootstrap intervals `auc_68` and
    `rejection_at_eff_s_0p3_68`} for every selection x score."""
    results = {}
    for prefix, sel in selections.items():
        for name, values in series.items():
            values = own.get(prefix, {}).get(name, values)
            r = metrics.summary(label[sel], values[sel])
            # seeded bootstrap: statistical errors from the finite test set (not training
            # spread)
            iv = bootstrap.intervals(label[sel], values[sel], seed)
            r["auc_68"] = iv["auc"]
            r["rejection_at_eff_s_0p3_68"] = iv["rejection_at_eff_s_0p3"]
            results[prefix + name] = r
    return results


def jsonable(obj):
    """`obj` with every non-finite float as None (JSON has no inf or NaN)."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def log_results(results: dict, logger) -> None:
    for name, r in results.items():
        rej = r["rejection_at_eff_s_0p3"]
        lo, hi = r["auc_68"]
        logger.info("%-26s AUC %.4f [%.4f, %.4f]  TPR@FPR10%% %.3f  1/eps_B@0.3 %s", name,
                    r["auc"], lo, hi, r["tpr_at_fpr_10pct"], "inf" if rej is None else f"{rej:.1f}")
