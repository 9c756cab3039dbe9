"""Figures of the JointVAE analysis, each written to one PDF path given by the caller.

matplotlib runs with the non-interactive Agg backend so stages work on headless nodes.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from jetad.analysis.scores import LABELS
from jetad.params import default

# one colour per process wherever it is drawn; names as jetad.analysis.summary.display writes them
PROCESS_COLORS = {"QCD": "tab:blue", "top": "tab:red", "W": "tab:green", "Z": "tab:orange"}


def color(name: str, i: int = 0) -> str:
    return PROCESS_COLORS.get(name, f"C{(i + 4) % 10}")


def pyplot():
    """pyplot on the Agg backend with mplhep's ROOT style (the look physicists read first);
    fonts come from mplhep_data, so figures do not depend on the machine's fonts."""
    # heavy: matplotlib loads only in the stages that draw
    import matplotlib

    matplotlib.use("Agg")
    # pyplot after the backend is chosen
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    # the style is sized for one 10x10 inch panel; these figures hold several smaller ones
    plt.rcParams.update({"font.size": 12, "axes.titlesize": 12, "axes.labelsize": 12,
                         "legend.fontsize": 9, "xtick.labelsize": 10, "ytick.labelsize": 10})
    return plt


def data_note(params: dict | None) -> str:
    """The data caveat shown on every result figure: generated jets have no detector
    simulation, unlike [Kasieczka et al. 2019]'s."""
    source = ((params or {}).get("data") or {}).get("source", default("data", "source"))
    if source == "generate":
        return "Pythia8 + FastJet jets, no detector simulation"
    if source == "download":
        return "Top-tagging dataset (Pythia8 + Delphes)"
    return "jets from a user file"


def add_note(fig, note: str | None) -> None:
    if note:
        fig.text(0.99, 0.005, note, ha="right", va="bottom", fontsize=9, color="0.35")


def training_curves(history: list[dict], path, note: str | None = None) -> None:
    plt = pyplot()
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
    add_note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def roc_curves(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], path,
               note: str | None = None, title: str | None = None) -> None:
    """Left: plain ROC (TPR vs FPR). Right: 1/eps_B vs eps_S on a log axis.

    curves maps a legend label to (fpr, tpr, auc); title names the classes compared.
    """
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5.5))
    for i, (label, (fpr, tpr, auc)) in enumerate(curves.items()):
        style = "--" if label.startswith(("baseline", "jet mass", "conv AE", "1 - tau")) else "-"
        color = f"C{i % 10}"
        if label.startswith("supervised"):  # the ceiling, apart from the detectors
            style, color = ":", "k"
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
    add_note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def score_distributions(scores: dict[str, np.ndarray], groups: dict[str, np.ndarray], path,
                        note: str | None = None) -> None:
    """One panel per score, one normalized histogram per class; groups maps a class name to the
    mask of its jets."""
    plt = pyplot()
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
        for i, (cls, mask) in enumerate(groups.items()):
            if mask.any():
                ax.hist(values[mask], bins=bins, density=True, histtype="step",
                        color=color(cls, i), label=cls)
        if logbins:
            ax.set_xscale("log")
        ax.set_title(LABELS.get(name, name), fontsize=9)
        ax.legend(fontsize=7)
    for ax in axes.flat[n:]:
        ax.axis("off")
    add_note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def _imshow(ax, img, title):
    vmax = max(float(np.max(img)), 1e-12)
    # heavy: matplotlib, as in pyplot()
    from matplotlib.colors import LogNorm

    im = ax.imshow(np.maximum(img, vmax * 1e-4), norm=LogNorm(vmin=vmax * 1e-4, vmax=vmax),
                   origin="lower", cmap="viridis")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def mean_images(mean_image: np.ndarray, mean_reco: np.ndarray, path, note=None,
                names: tuple[str, str] = ("background", "anomalies")) -> None:
    """Rows background/anomalies (names from the data); columns: mean input, mean
    reconstruction, reconstruction - input."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(11, 7))
    for cls in (0, 1):
        name = names[cls]
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
    add_note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def example_reconstructions(images, recs, label, path, note=None, per_class: int = 4,
                            names: tuple[str, str] = ("background", "anomalies")) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(4, per_class, figsize=(3 * per_class, 12), squeeze=False)
    for cls in (0, 1):
        idx = np.flatnonzero(label == cls)[:per_class]
        for j in range(per_class):
            for k, (arr, what) in enumerate(((images, "input"), (recs, "reconstruction"))):
                ax = axes[2 * cls + k, j]
                if j < len(idx):
                    _imshow(ax, arr[idx[j]], f"{names[cls]} {what}")
                else:
                    ax.axis("off")
    add_note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def jet_interpolation(rows: list[dict], path, note=None) -> None:
    """One row per pair of jets: the input jet at each end and, between them, the decoder's
    images of the straight path between the two jets' latents.

    A row is {"title", "start": image, "end": image, "start_name", "end_name", "decoded":
    (steps, H, W), "steps": (steps,)}."""
    plt = pyplot()
    n = max(len(r["decoded"]) for r in rows) + 2
    fig, axes = plt.subplots(len(rows), n, figsize=(1.9 * n, 2.4 * len(rows) + 0.4),
                             squeeze=False)
    for ax_row, r in zip(axes, rows, strict=True):
        _imshow(ax_row[0], r["start"], f"{r['start_name']} jet (input)")
        for ax, img, t in zip(ax_row[1:-1], r["decoded"], r["steps"], strict=False):
            _imshow(ax, img, f"decoded, t = {t:.2f}")
        _imshow(ax_row[-1], r["end"], f"{r['end_name']} jet (input)")
        for ax in ax_row[1 + len(r["decoded"]):-1]:
            ax.axis("off")
        ax_row[0].set_ylabel(r["title"], fontsize=9)
    fig.suptitle("decoded latents along the straight line from one jet's latent (t = 0) to "
                 "another's (t = 1)", fontsize=10)
    add_note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def _per_class(groups: dict[str, np.ndarray], max_points: int, seed: int) -> dict:
    """Sorted indices of at most max_points jets, an equal share per class (a small class keeps
    all its jets), so that a rare signal is not subsampled away."""
    rng = np.random.default_rng(seed)
    share = max(1, max_points // max(1, len(groups)))
    out = {}
    for name, mask in groups.items():
        idx = np.flatnonzero(mask)
        if len(idx) > share:
            idx = np.sort(rng.choice(idx, share, replace=False))
        if len(idx):
            out[name] = idx
    return out


def _draw_classes(ax, xy: dict[str, np.ndarray], background: str | None) -> None:
    """Scatter every class translucent, the largest first (the crowd the others would hide
    under), then each class's 50% and 90% density contours on top: every class stays visible
    however many jets it has."""
    # heavy: SciPy only for the density contours of the latent figures
    from scipy.ndimage import gaussian_filter

    order = sorted(xy, key=lambda k: -len(xy[k]))
    allxy = np.concatenate(list(xy.values()))
    # the view holds the central 99% of the jets: a few outliers otherwise squeeze the rest
    # into a dot (seen on the PCA of real latents)
    lo, hi = np.percentile(allxy, 0.5, axis=0), np.percentile(allxy, 99.5, axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    edges = [np.linspace(lo[d] - 0.05 * span[d], hi[d] + 0.05 * span[d], 61) for d in (0, 1)]
    for i, name in enumerate(order):
        pts = xy[name]
        ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.2 if name == background else 0.35,
                   color=color(name, i), label=f"{name} ({len(pts)})", rasterized=True)
    for i, name in enumerate(order):
        pts = xy[name]
        if len(pts) < 20:
            continue
        h, _, _ = np.histogram2d(pts[:, 0], pts[:, 1], bins=edges)
        h = gaussian_filter(h, 2.5)
        flat = np.sort(h.ravel())[::-1]
        cum = np.cumsum(flat) / max(flat.sum(), 1e-300)
        levels = sorted({float(flat[min(np.searchsorted(cum, q), len(flat) - 1)])
                         for q in (0.9, 0.5)})
        if len(levels) < 2 or levels[0] <= 0:
            continue
        cx = 0.5 * (edges[0][1:] + edges[0][:-1])
        cy = 0.5 * (edges[1][1:] + edges[1][:-1])
        ax.contour(cx, cy, h.T, levels=levels, colors=[color(name, i)],
                   linewidths=[0.8, 1.4])
    ax.set_xlim(edges[0][0], edges[0][-1])
    ax.set_ylim(edges[1][0], edges[1][-1])
    ax.legend(markerscale=4, fontsize=8, title="jets drawn", title_fontsize=8)


def latent_pca(z_mean: np.ndarray, groups: dict[str, np.ndarray], category: np.ndarray, path,
               note=None, max_points: int = 20000, seed: int = 0,
               background: str | None = None) -> None:
    """The continuous latent means projected on their first two principal components,
    coloured by class (left; groups maps a class name to its jets' mask) and by the arg-max
    categorical code (right)."""
    # heavy: scikit-learn only for the latent figures
    from sklearn.decomposition import PCA

    plt = pyplot()
    picked = _per_class(groups, max_points, seed)
    idx = np.sort(np.concatenate(list(picked.values())))
    pca = PCA(n_components=2, random_state=seed)
    # one BLAS thread: the fit's sums then run in one order whatever OMP_NUM_THREADS the engine
    # sets (Snakemake sets it to the rule's threads, DVC leaves it), so both give the same bytes
    with threadpool_limits(1):
        pca.fit(z_mean[idx])
        by_class = {k: pca.transform(z_mean[v]) for k, v in picked.items()}
        xy = pca.transform(z_mean[idx])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 5))
    _draw_classes(a1, by_class, background)
    a1.set_title("latent means, by class (contours: 50% and 90% of each class)")
    sc = a2.scatter(xy[:, 0], xy[:, 1], s=3, alpha=0.5, c=category[idx], cmap="tab20",
                    vmin=-0.5, vmax=19.5, rasterized=True)
    fig.colorbar(sc, ax=a2, label="arg-max categorical code")
    a2.set_title("latent means, by categorical code")
    ev = pca.explained_variance_ratio_
    for ax in (a1, a2):
        ax.set_xlabel(f"PC1 ({ev[0]:.0%} of variance)")
        ax.set_ylabel(f"PC2 ({ev[1]:.0%} of variance)")
    add_note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def _embed(method: str, x: np.ndarray, seed: int) -> np.ndarray:
    if method == "PCA":
        # heavy: scikit-learn and umap-learn load only for the method asked for
        from sklearn.decomposition import PCA

        with threadpool_limits(1):  # the same bytes under either engine, as latent_pca
            return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "t-SNE":
        # heavy: scikit-learn, as for PCA
        from sklearn.manifold import TSNE

        # perplexity must stay below the number of points (tiny test sets)
        perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
        # one thread: on a loaded 2-core machine OpenMP's spinning threads made 120 points
        # take 32 s instead of 0.8 s, and one thread fixes the order of the sums (same bytes)
        with threadpool_limits(1):
            return TSNE(n_components=2, perplexity=perplexity, init="pca",
                        random_state=seed).fit_transform(x)
    if method == "UMAP":
        # numba compiles umap-learn in each new process (about a minute here, see README);
        # seeded, it runs on one thread (n_jobs=1 said, not overridden with a warning), which
        # makes the embedding the same bytes on every run
        from umap import UMAP

        return UMAP(n_components=2, random_state=seed, n_jobs=1).fit_transform(x)
    raise ValueError(method)


def latent_embeddings(parts: dict[str, np.ndarray], groups: dict[str, np.ndarray], path,
                      note=None, methods: tuple[str, ...] = ("PCA", "t-SNE"),
                      max_points: int = 3000, seed: int = 0,
                      background: str | None = None) -> None:
    """One row per latent part (e.g. the continuous means, the categorical probabilities), one
    column per method; every method sees the same jets (an equal share per class)."""
    plt = pyplot()
    picked = _per_class(groups, max_points, seed)
    idx = np.concatenate(list(picked.values()))
    bounds = np.cumsum([0] + [len(v) for v in picked.values()])
    fig, axes = plt.subplots(len(parts), len(methods),
                             figsize=(5.5 * len(methods), 4.8 * len(parts)), squeeze=False)
    for ax_row, (part, values) in zip(axes, parts.items(), strict=True):
        x = np.asarray(values, np.float64)[idx]
        for ax, method in zip(ax_row, methods, strict=True):
            xy = _embed(method, x, seed)
            _draw_classes(ax, {k: xy[bounds[i]:bounds[i + 1]]
                               for i, k in enumerate(picked)}, background)
            ax.set_title(f"{part}: {method}", fontsize=11)
            ax.set_xticks([])
            ax.set_yticks([])
    add_note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)


def layer_weights(model) -> dict[str, np.ndarray]:
    """Kernel values per layer, as the layer computes with them: a QKeras layer's through its
    quantizer, and without the zeros a block-diagonal (grouped) kernel is forced to hold."""
    out = {}
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        w = kernel.numpy()
        quantizer = getattr(layer, "kernel_quantizer_internal", None)
        if quantizer is not None:
            w = np.asarray(quantizer(w))
        constraint = getattr(layer, "kernel_constraint", None)
        if constraint is not None and hasattr(constraint, "mask"):
            w = w[np.broadcast_to(constraint.mask()[None, None], w.shape) != 0]
        out[layer.name] = np.asarray(w, np.float64).ravel()
    return out


def weight_histograms(models: dict, path, note=None) -> None:
    """Per model (one row each): a histogram of every layer's kernel (the thesis' §3.3.4
    figure) and a box-and-whisker plot per layer (box: quartiles; whiskers: 1.5 IQR)."""
    plt = pyplot()
    per_model = {name: layer_weights(m) for name, m in models.items()}
    fig, axes = plt.subplots(len(models), 2, figsize=(15, 4.6 * len(models)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.6]})
    for (a1, a2), (name, layers) in zip(axes, per_model.items(), strict=True):
        for i, (lname, w) in enumerate(layers.items()):
            a1.hist(w, bins=60, histtype="step", lw=0.8, color=f"C{i % 10}", label=lname)
        a1.set_yscale("log")
        a1.set_title(f"{name}: kernel weights, one line per layer", fontsize=10)
        a1.set_xlabel("weight")
        a1.set_ylabel("weights per bin")
        if len(layers) <= 12:
            a1.legend(fontsize=6)
        a2.boxplot(list(layers.values()), showfliers=False)
        a2.set_xticks(range(1, len(layers) + 1), list(layers), rotation=60, ha="right",
                      fontsize=7)
        a2.axhline(0, color="0.7", lw=0.6)
        a2.set_ylabel("weight")
        a2.set_title(f"{name}: per layer (box: quartiles, whiskers: 1.5 IQR)", fontsize=10)
    add_note(fig, note)
    fig.tight_layout()
    fig.savefig(path, format="pdf")
    plt.close(fig)
