"""The figures of `jetad evaluate`, from what `jetad.analysis.evaluation` measures: the ROC curves
of every score (every anomaly together, and `roc_<signal>.pdf` for each signal alone), the score
distributions of each class, and the latent space (PCA by category; PCA, t-SNE and UMAP of the
continuous and the discrete latent).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetad.analysis import metrics, plots
from jetad.analysis.scores import softmax
from jetad.analysis.summary import display, legend
from jetad.atomic import atomic_path, make_dir


def drawn(series: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The scores the figures show: the sampled-latent ones are in metrics.json and the
    summary, the figures keep one curve per score so that they stay legible."""
    return {k: v for k, v in series.items() if not k.startswith("jointvae_sampled/")}


def roc_figure(path, label, scores: dict, results: dict, note: str, prefix: str = "",
               title: str | None = None) -> None:
    """ROC curves of `scores` ({key: values} of the jets compared), each with the AUC of
    results[prefix + key]."""
    curves = {}
    for name, values in scores.items():
        fpr, tpr = metrics.roc(label, values)
        curves[legend(name)] = (fpr, tpr, results[prefix + name]["auc"])
    with atomic_path(path, suffix=".pdf") as tmp:
        plots.roc_curves(curves, tmp, note, title=title)


def class_groups(inp) -> dict[str, np.ndarray]:
    """{display name: mask} of each class by its own name, the background first (so it keeps
    the first colour); background and anomalies for a score file without processes."""
    label = inp.label
    if inp.signals:
        groups = {display(inp.background): label == 0}
        groups.update({display(s): m for s, m in inp.signals.items()})
        return groups
    return {"background": label == 0, "anomalies": label == 1}


def figures(folder, inp, scores: dict, own: dict, selections: dict, results: dict, ep,
            seed: int, note: str, logger) -> None:
    """Every figure of `jetad evaluate --figures` in `folder`: one ROC figure per signal, the
    score distributions and the latent figures (`ep`: the evaluate section)."""
    folder = make_dir(folder)
    label, vae = inp.label, inp.vae
    for sig in inp.signals:
        sel = selections[f"{sig}/"]
        sig_scores = {name: own.get(f"{sig}/", {}).get(name, values)[sel]
                      for name, values in scores.items()}
        roc_figure(folder / f"roc_{sig}.pdf", label[sel], sig_scores, results, note,
                   prefix=f"{sig}/", title=f"{display(inp.background)} vs {display(sig)}")
    if inp.signals:
        logger.info("wrote ROC curves of %s to %s", ", ".join(inp.signals), folder)
    groups = class_groups(inp)
    bg_name = next(iter(groups))
    with atomic_path(folder / "score_distributions.pdf", suffix=".pdf") as tmp:
        plots.score_distributions({legend(k): v for k, v in scores.items()}, groups, tmp, note)
    if "z_mean" in vae and "category" in vae:
        with atomic_path(folder / "latent_pca.pdf", suffix=".pdf") as tmp:
            plots.latent_pca(vae["z_mean"], groups, vae["category"], tmp, note,
                             max_points=ep.pca_max_points, seed=seed, background=bg_name)
    logger.info("wrote score distributions and latent PCA to %s", folder)
    if "z_mean" in vae and "logits" in vae:
        methods = ["PCA", "t-SNE"]
        if ep.umap:
            try:
                # optional: umap-learn may be missing (the import only asks whether it is there)
                from umap import UMAP  # noqa: F401
                methods.append("UMAP")
            except ImportError:
                logger.warning("evaluate.umap is true but umap-learn is not installed "
                               "(pip install umap-learn): latent embeddings without UMAP")
        parts = {"continuous latent (means)": vae["z_mean"],
                 "discrete latent (softmax of the logits)": softmax(vae["logits"])}
        with atomic_path(folder / "latent_embeddings.pdf", suffix=".pdf") as tmp:
            plots.latent_embeddings(parts, groups, tmp, note, tuple(methods),
                                    max_points=ep.embedding_max_points, seed=seed,
                                    background=bg_name)
        logger.info("wrote the latent embeddings (%s) to %s", ", ".join(methods), folder)


def mass_window_figure(folder, beyond: dict, fom: dict, background: str | None,
                       note: str) -> None:
    """`<folder>/auc_mass_windows.pdf`: the headline score's AUC in each jet-mass window per
    signal (markers and colours per signal, shifted apart so that none hides another), its
    AUC over the whole mass range dashed, and 0.5, what a score of the mass alone gets."""
    plt = plots.pyplot()
    mw = beyond["mass_windows"]
    fig, ax = plt.subplots(figsize=(7, 5))
    sigs = list(mw["per_signal"])
    shift = mw["bin_gev"] * 0.12
    for i, (sig, windows) in enumerate(mw["per_signal"].items()):
        c, name = plots.color(display(sig), i + 1), display(sig)
        dx = (i - (len(sigs) - 1) / 2) * shift
        x = np.array([(w["lo"] + w["hi"]) / 2 for w in windows]) + dx
        ax.errorbar(x, [w["auc"] for w in windows], xerr=mw["bin_gev"] / 2, fmt="osD^v"[i % 5],
                    color=c, label=name if windows else f"{name} (no window)")
        ax.axhline(fom["per_signal"][sig]["auc"], color=c, ls="--", lw=1)
    ax.axhline(0.5, color="0.5", ls=":", lw=1)
    bg = display(background) if background else "background"
    ax.set_xlabel("jet mass (GeV)")
    ax.set_ylabel(f"AUC, {bg} vs signal in the window")
    ax.set_title(f"{legend(fom['key'])}: windows of {mw['bin_gev']:g} GeV with >= "
                 f"{mw['min_jets']} jets of each class; dashed: all masses", fontsize=10)
    ax.legend()
    plots.add_note(fig, note)
    fig.tight_layout()
    with atomic_path(Path(folder) / "auc_mass_windows.pdf", suffix=".pdf") as tmp:
        fig.savefig(tmp, format="pdf")
    plt.close(fig)
