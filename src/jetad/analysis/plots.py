"""Figures of the JointVAE analysis, each written to one PDF path given by the caller.

matplotlib runs with the non-interactive Agg backend so stages work on headless nodes.
"""

from __future__ import annotations

import numpy as np

from jetad.analysis.scores import LABELS

CLASS_NAMES = ("QCD", "top")
CLASS_COLORS = ("tab:blue", "tab:red")


def _plt():
    """pyplot on the Agg backend with mplhep's ROOT style (the look physicists read first);
    fonts come from mplhep_data, so figures do not depend on the machine's fonts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    # the style is sized for one 10x10 inch panel; these figures hold several smaller ones
    plt.rcParams.update({"font.size": 12, "axes.titlesize": 12, "axes.labelsize": 12,
                         "legend.fontsize": 9, "xtick.labelsize": 10, "ytick.labelsize": 10})
    return plt


def data_note(params: dict | None) -> str:
    """The data caveat shown on every result figure (SPEC §1.2: say there is no detector)."""
    source = ((params or {}).get("data") or {}).get("source", "generate")
    if source == "generate":
        return "Pythia8 + FastJet jets, no detector simulation"
    if source == "download":
        return "Top-tagging dataset (Pythia8 + Delphes)"
    return "jets from a user file"


def _note(fig, note: str | None) -> None:
    if note:
        fig.text(0.99, 0.005, note, ha="right", va="bottom", fontsize=9, color="0.35")


def training_curves(history: list[dict], path) -> None:
    plt = _plt()
    names = ("loss", "bce", "kl_cont", "kl_disc", "mse", "psnr", "ssim")
    fig, axes = plt.subplots(2, 4, figsize=(14, 6))
    epochs = [r["epoch"] for r in history]
    for ax, name in zip(axes.flat, names, strict=False):
        for part, style in (("train", "-o"), ("val", "--s")):
            ax.plot(epochs, [r[f"{part}_{name}"] for r in history], style, label=part, ms=3)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        if name in ("loss", "kl_cont", "kl_disc", "mse") and all(
            r[f"{p}_{name}"] > 0 for r in history for p in ("train", "val")
        ):
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    ax = axes.flat[-1]
    ax.plot(epochs, [r["lr"] for r in history], "-o", ms=3)
    ax.set_yscale("log")
    ax.set_title("learning rate")
    ax.set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def roc_curves(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], path,
               note: str | None = None, title: str | None = None) -> None:
    """Left: plain ROC (TPR vs FPR). Right: 1/eps_B vs eps_S on a log axis.

    curves maps a legend label to (fpr, tpr, auc); title names the classes compared.
    """
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5.5))
    for i, (label, (fpr, tpr, auc)) in enumerate(curves.items()):
        style = "--" if label.startswith(("baseline", "jet mass", "conv AE")) else "-"
        color = f"C{i % 10}"
        a1.plot(fpr, tpr, style, color=color, label=f"{label} (AUC {auc:.3f})")
        keep = fpr > 0
        a2.plot(tpr[keep], 1.0 / fpr[keep], style, color=color, label=label)
    a1.plot([0, 1], [0, 1], ":", color="0.5", label="random")
    a1.set_xlabel("background efficiency (FPR)")
    a1.set_ylabel("signal efficiency (TPR)")
    a1.legend(fontsize=7, loc="lower right")
    a2.plot(np.linspace(0.01, 1, 50), 1 / np.linspace(0.01, 1, 50), ":", color="0.5",
            label="random")
    a2.set_yscale("log")
    a2.axvline(0.3, color="0.7", lw=0.8)
    a2.set_xlabel(r"signal efficiency $\epsilon_S$")
    a2.set_ylabel(r"background rejection $1/\epsilon_B$")
    a2.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    _note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def score_distributions(scores: dict[str, np.ndarray], label: np.ndarray, path,
                        note: str | None = None) -> None:
    plt = _plt()
    n = len(scores)
    cols = 4
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, (name, values) in zip(axes.flat, scores.items(), strict=False):
        values = np.asarray(values, float)
        pos = values[values > 0]
        # Scores spanning decades (KL, BCE) read better on log bins.
        logbins = len(pos) == len(values) and pos.size and pos.max() / pos.min() > 100
        if logbins:
            bins = np.geomspace(pos.min(), pos.max(), 50)
        else:
            bins = np.linspace(np.nanmin(values), np.nanmax(values) + 1e-12, 50)
        for cls in (0, 1):
            ax.hist(values[label == cls], bins=bins, density=True, histtype="step",
                    color=CLASS_COLORS[cls], label=CLASS_NAMES[cls])
        if logbins:
            ax.set_xscale("log")
        ax.set_title(LABELS.get(name, name), fontsize=9)
        ax.legend(fontsize=7)
    for ax in axes.flat[n:]:
        ax.axis("off")
    _note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def _imshow(ax, img, title):
    vmax = max(float(np.max(img)), 1e-12)
    from matplotlib.colors import LogNorm

    im = ax.imshow(np.maximum(img, vmax * 1e-4), norm=LogNorm(vmin=vmax * 1e-4, vmax=vmax),
                   origin="lower", cmap="viridis")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def mean_images(mean_image: np.ndarray, mean_reco: np.ndarray, path, note=None) -> None:
    """Rows QCD/top; columns: mean input, mean reconstruction, reconstruction - input."""
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(11, 7))
    for cls in (0, 1):
        name = CLASS_NAMES[cls]
        fig.colorbar(_imshow(axes[cls, 0], mean_image[cls], f"mean {name} image"),
                     ax=axes[cls, 0])
        fig.colorbar(_imshow(axes[cls, 1], mean_reco[cls], f"mean {name} reconstruction"),
                     ax=axes[cls, 1])
        diff = mean_reco[cls] - mean_image[cls]
        lim = max(float(np.abs(diff).max()), 1e-12)
        im = axes[cls, 2].imshow(diff, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[cls, 2].set_title(f"{name}: reconstruction - input", fontsize=9)
        axes[cls, 2].set_xticks([])
        axes[cls, 2].set_yticks([])
        fig.colorbar(im, ax=axes[cls, 2])
    _note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def example_reconstructions(images, recs, label, path, note=None, per_class: int = 4) -> None:
    plt = _plt()
    fig, axes = plt.subplots(4, per_class, figsize=(3 * per_class, 12), squeeze=False)
    for cls in (0, 1):
        idx = np.flatnonzero(label == cls)[:per_class]
        for j in range(per_class):
            for k, (arr, what) in enumerate(((images, "input"), (recs, "reconstruction"))):
                ax = axes[2 * cls + k, j]
                if j < len(idx):
                    _imshow(ax, arr[idx[j]], f"{CLASS_NAMES[cls]} {what}")
                else:
                    ax.axis("off")
    _note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def interpolation_strip(images: np.ndarray, steps: np.ndarray, path, note=None) -> None:
    plt = _plt()
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(2 * n, 2.6), squeeze=False)
    for ax, img, t in zip(axes[0], images, steps, strict=True):
        _imshow(ax, img, f"t = {t:.2f}")
    fig.suptitle("decoded latents from the mean QCD latent (t = 0) to the mean top latent "
                 "(t = 1)", fontsize=9)
    _note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def latent_pca(z_mean: np.ndarray, label: np.ndarray, category: np.ndarray, path,
               note=None, max_points: int = 20000, seed: int = 0) -> None:
    """The continuous latent means projected on their first two principal components,
    coloured by class (left) and by the arg-max categorical code (right)."""
    from sklearn.decomposition import PCA

    plt = _plt()
    rng = np.random.default_rng(seed)
    idx = np.arange(len(label))
    if len(idx) > max_points:
        idx = np.sort(rng.choice(idx, max_points, replace=False))
    pca = PCA(n_components=2, random_state=seed)
    xy = pca.fit_transform(z_mean[idx])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 5))
    # QCD last and translucent: drawn first, the tops covered it and the plot showed one class
    for cls in (1, 0):
        sel = label[idx] == cls
        a1.scatter(xy[sel, 0], xy[sel, 1], s=3, alpha=0.25 if cls == 0 else 0.4,
                   color=CLASS_COLORS[cls], label=CLASS_NAMES[cls], rasterized=True)
    a1.legend(markerscale=4)
    a1.set_title("latent means, by class")
    sc = a2.scatter(xy[:, 0], xy[:, 1], s=3, alpha=0.5, c=category[idx], cmap="tab20",
                    vmin=-0.5, vmax=19.5)
    fig.colorbar(sc, ax=a2, label="arg-max categorical code")
    a2.set_title("latent means, by categorical code")
    ev = pca.explained_variance_ratio_
    for ax in (a1, a2):
        ax.set_xlabel(f"PC1 ({ev[0]:.0%} of variance)")
        ax.set_ylabel(f"PC2 ({ev[1]:.0%} of variance)")
    _note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def weight_histograms(models: dict, path) -> None:
    """Histogram of every kernel, one panel per model part (the thesis' §3.3.4 figure)."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4.5), squeeze=False)
    for ax, (name, model) in zip(axes[0], models.items(), strict=True):
        for w in model.weights:
            if "kernel" in w.name:
                ax.hist(w.numpy().ravel(), bins=60, histtype="step", lw=0.7)
        ax.set_yscale("log")
        ax.set_title(f"{name}: kernel weights, one line per layer", fontsize=9)
        ax.set_xlabel("weight")
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)
