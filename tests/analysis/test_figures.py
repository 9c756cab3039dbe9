"""The figures a physicist reads: every class visible in the latent maps, weights per layer as
the quantized encoder computes with them, and the data caveat on every figure."""

from __future__ import annotations

import numpy as np
import pytest

from jetad.analysis import plots

NOTE = "Pythia8 + FastJet jets, no detector simulation"


@pytest.fixture
def saved(monkeypatch):
    """The texts of every figure a plotting function saves (the PDF is still written)."""
    import matplotlib.figure

    texts = []
    original = matplotlib.figure.Figure.savefig

    def savefig(fig, *args, **kwargs):
        texts.append([t.get_text() for t in fig.texts])
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    return texts


def _groups(counts: dict[str, int]):
    n = sum(counts.values())
    cls = np.repeat(np.arange(len(counts)), list(counts.values()))
    return {name: cls == i for i, name in enumerate(counts)}, n, cls


def test_every_class_keeps_an_equal_share_and_a_small_class_all_its_jets():
    groups, _, _ = _groups({"QCD": 5000, "top": 2000, "W": 30})
    picked = plots._per_class(groups, 300, seed=1)
    assert {k: len(v) for k, v in picked.items()} == {"QCD": 100, "top": 100, "W": 30}
    for name, idx in picked.items():
        assert groups[name][idx].all() and np.all(np.diff(idx) > 0)
    again = plots._per_class(groups, 300, seed=1)
    assert all(np.array_equal(picked[k], again[k]) for k in picked)


def test_the_crowd_is_drawn_first_and_every_class_gets_contours():
    plt = plots.pyplot()
    rng = np.random.default_rng(2)
    xy = {"top": rng.normal(0, 1, (400, 2)), "QCD": rng.normal(0.5, 1, (2000, 2)),
          "Z": rng.normal(3, 0.3, (25, 2))}
    fig, ax = plt.subplots()
    plots._draw_classes(ax, xy, background="QCD")
    scatters = [c for c in ax.collections if c.get_label() and not c.get_label().startswith("_")]
    # QCD, the largest, first: the smaller classes are drawn over it
    assert [c.get_label() for c in scatters] == ["QCD (2000)", "top (400)", "Z (25)"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "QCD (2000)", "top (400)", "Z (25)"]
    contours = [c for c in ax.collections if c not in scatters]
    assert len(contours) >= 3  # one set per class (newer matplotlib: one collection each)
    plt.close(fig)


def test_latent_embeddings_and_pca_carry_the_note(tmp_path, saved):
    groups, n, cls = _groups({"QCD": 150, "top": 80, "W": 40})
    rng = np.random.default_rng(3)
    z = rng.normal(cls[:, None], 1.0, (n, 6))
    probs = rng.dirichlet(np.ones(5), n)
    plots.latent_embeddings({"continuous": z, "discrete": probs}, groups, tmp_path / "e.pdf",
                            NOTE, ("PCA", "t-SNE"), max_points=120, seed=0, background="QCD")
    plots.latent_pca(z, groups, rng.integers(0, 5, n), tmp_path / "p.pdf", NOTE, seed=0,
                     background="QCD")
    for name in ("e.pdf", "p.pdf"):
        assert (tmp_path / name).read_bytes()[:4] == b"%PDF"
    assert all(NOTE in texts for texts in saved) and len(saved) == 2


def test_tsne_is_seeded():
    x = np.random.default_rng(4).normal(size=(60, 5))
    a, b = plots._embed("t-SNE", x, 7), plots._embed("t-SNE", x, 7)
    assert a.shape == (60, 2) and np.array_equal(a, b)


def test_umap_is_seeded_and_the_seed_matters():
    """Same seed, same embedding bytes (UMAP runs single-threaded when seeded); another seed
    gives another embedding, so the seed is really used."""
    x = np.random.default_rng(5).normal(size=(80, 6))
    a, b = plots._embed("UMAP", x, 7), plots._embed("UMAP", x, 7)
    assert a.shape == (80, 2) and a.tobytes() == b.tobytes()
    assert not np.array_equal(a, plots._embed("UMAP", x, 8))


def test_every_figure_carries_the_data_note(tmp_path, saved):
    rng = np.random.default_rng(5)
    img = rng.random((2, 8, 8))
    label = np.array([0, 1] * 5)
    plots.training_curves([{"epoch": e, "lr": 1e-3, **{f"{p}_{k}": 1.0 + e for p in
                            ("train", "val") for k in ("loss", "bce", "kl_cont", "kl_disc",
                                                       "mse", "psnr", "ssim")}}
                           for e in (1, 2)], tmp_path / "t.pdf", NOTE)
    fpr = np.linspace(0, 1, 5)
    plots.roc_curves({"KL total": (fpr, fpr ** 0.5, 0.7),
                      "supervised ceiling (not anomaly detection)": (fpr, fpr ** 0.2, 0.9)},
                     tmp_path / "r.pdf", NOTE)
    plots.score_distributions({"mse": rng.random(10)}, {"QCD": label == 0, "top": label == 1},
                              tmp_path / "s.pdf", NOTE)
    plots.mean_images(img, img, tmp_path / "m.pdf", NOTE, ("QCD", "W"))
    plots.example_reconstructions(rng.random((10, 8, 8)), rng.random((10, 8, 8)), label,
                                  tmp_path / "x.pdf", NOTE, names=("QCD", "W"))
    plots.jet_interpolation([{"title": "QCD to W", "start": img[0], "end": img[1],
                              "start_name": "QCD", "end_name": "W",
                              "decoded": rng.random((3, 8, 8)), "steps": np.linspace(0, 1, 3)}],
                            tmp_path / "i.pdf", NOTE)
    assert len(saved) == 6 and all(NOTE in texts for texts in saved)


def test_weights_per_layer_as_the_quantized_encoder_computes(tmp_path, saved, encoder_config):
    from jetad.models import reduced_encoder as encoder

    q = encoder.build(encoder_config, quantized=True)
    f = encoder.build(encoder_config, quantized=False)
    per_layer = plots.layer_weights(q)
    conv = q.get_layer("conv1_b0_0")
    # grouped conv: only the block-diagonal weights (4 groups of 16 -> 3*3*4*16), not the zeros
    # the mask forces on the others
    assert per_layer["conv1_b0_0"].size == encoder.effective_weights(conv) - conv.filters
    # the quantizer's grid <16,6>: multiples of 2^-9 (the float latent weights are not)
    for w in per_layer.values():
        assert np.array_equal(w * 2 ** 9, np.round(w * 2 ** 9))
    raw = conv.kernel.numpy()
    assert not np.array_equal(raw * 2 ** 9, np.round(raw * 2 ** 9))
    assert set(per_layer) == set(plots.layer_weights(f))
    plots.weight_histograms({"float reduced": f, "quantized": q}, tmp_path / "w.pdf", NOTE)
    assert (tmp_path / "w.pdf").read_bytes()[:4] == b"%PDF" and NOTE in saved[-1]
