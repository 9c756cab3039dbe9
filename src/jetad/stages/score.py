"""`jetad score`: the eight anomaly scores of SPEC §3 for every test jet.

The KL scores come from the encoder's distribution parameters alone (analytic KL, no sampling).
The reconstruction fed to the image scores uses the latent without noise (z = mean,
c = softmax(logits / tau)) unless `score.sample: true`, which draws one seeded sample per jet.
Either way the file also holds /sampled_scores: the image scores from one seeded latent sample
per jet, as the authors scored, so evaluate reports them beside the deterministic ones (the KL
scores need no sample: they are the same).
With --figures, also draws the mean images and reconstructions per class (named from the test
file's processes), the decoded path between a typical background jet's latent and a typical jet
of each anomalous process, and the weights per layer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetad import log
from jetad.atomic import atomic_path
from jetad.data.processes import PROCESSES

logger = log.get("jetad.score")


def score_images(model, images: np.ndarray, batch_size: int, sample: bool, seed: int) -> dict:
    """Scores, latents and per-class sums of inputs and reconstructions, batch by batch."""
    import tensorflow as tf

    from jetad.analysis import scores as sc

    npix = model.cfg.npix
    spec = [tf.TensorSpec((None, npix, npix), tf.float32), tf.TensorSpec((2,), tf.int32)]

    @tf.function(input_signature=spec)
    def forward(x, s):
        return model.forward(x, training=False, sample=sample, seed=s)

    parts: dict[str, list] = {}
    recs = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        rec, logits, mean, logvar = (
            t.numpy() for t in forward(tf.constant(x), tf.constant([seed, start], tf.int32))
        )
        values = sc.all_scores(x, rec, mean, logvar, logits, model.cfg.kl_eps)
        for k, v in {**values, "z_mean": mean, "z_logvar": logvar, "logits": logits}.items():
            parts.setdefault(k, []).append(v)
        recs.append(rec)
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["reconstruction"] = np.concatenate(recs)
    return out


def run(args, params) -> None:
    from jetad.data.images import read_images
    from jetad.inputs import read_model_meta
    from jetad.models.determinism import setup_tf

    sp = params["score"]
    seed = int(params["seed"])
    # both inputs are checked before TensorFlow is imported (it prints on stderr)
    meta = read_model_meta(args.model, "jointvae")
    test = read_images(args.test, npix=int(meta["config"].get("npix", 40)),
                       expected_by=f"the model {args.model} expects")
    setup_tf(seed)
    from jetad.analysis import scores as sc
    from jetad.models.jointvae import load

    model = load(args.model)
    logger.info("loaded JointVAE from %s (%s)", args.model, model.param_counts())
    n_top = int((test.label == 1).sum())
    logger.info("read %d test jets from %s (%d %s, %d %s)", len(test), args.test,
                len(test) - n_top, class_names(test)[0], n_top, class_names(test)[1])
    res = score_images(model, test.images, int(sp["batch_size"]), bool(sp["sample"]), seed)
    rec = res.pop("reconstruction")
    # the same seeds as `score.sample: true`, so with it the two sets are equal
    sampled = score_images(model, test.images, int(sp["batch_size"]), True, seed)
    sampled = {k: sampled[k] for k in sc.IMAGE_SCORES}
    mean_img, mean_rec = [], []
    for cls in (0, 1):
        sel = test.label == cls
        shape = test.images.shape[1:]
        mean_img.append(test.images[sel].mean(axis=0) if sel.any() else np.zeros(shape))
        mean_rec.append(rec[sel].mean(axis=0) if sel.any() else np.zeros(shape))
    extra = {
        "z_mean": res.pop("z_mean").astype(np.float32),
        "z_logvar": res.pop("z_logvar").astype(np.float32),
        "category": np.argmax(res["logits"], axis=1).astype(np.int16),
        # the categorical code's distribution, for evaluate's embeddings of the discrete part
        "logits": res.pop("logits").astype(np.float32),
        "jet_pt": test.jet_pt,
        # N-subjettiness from pixelize, for evaluate's tau21 / tau32 baselines on these jets
        "tau21": test.tau21.astype(np.float32),
        "tau32": test.tau32.astype(np.float32),
        # each jet's process, so that evaluate reports every signal on its own
        "process": test.process.astype(np.int8),
        "mean_image": np.stack(mean_img).astype(np.float32),
        "mean_reconstruction": np.stack(mean_rec).astype(np.float32),
        "sampled_scores": sampled,
    }
    sc.write_score_file(
        args.out, res, test.label, test.jet_mass, extra,
        attrs={"model": str(args.model), "test": str(args.test), "sample": bool(sp["sample"]),
               "classes": "index 0 = background (label 0), 1 = anomalies (label 1) for "
                          "mean_image / mean_reconstruction",
               "processes": ",".join(PROCESSES),
               "background": str(test.attrs.get("background", "qcd"))},
    )
    logger.info("wrote %d x %d scores to %s", len(test), len(res), args.out)
    if args.figures:
        write_figures(model, test, rec, extra, Path(args.figures), params, res["kl_total"])


def class_names(test) -> tuple[str, str]:
    """(background, anomalies) as the figures name them, from the test file's processes."""
    from jetad.analysis.summary import display

    names = test.process_names()
    background = display(str(test.attrs.get("background", "qcd")))
    signals = [display(str(n)) for n in dict.fromkeys(names[test.label == 1])]
    return background, (signals[0] if len(signals) == 1
                        else f"anomalies ({', '.join(signals)})" if signals else "anomalies")


def interpolation_rows(model, test, extra, kl_total, n_steps: int = 8) -> list[dict]:
    """For every anomalous process: the background jet and that process's jet of median KL
    total (typical jets, chosen without randomness), and the decoded straight path between
    their latents (z = mean, c = softmax(logits / tau), as the deterministic reconstruction)."""
    from jetad.analysis.summary import display
    from jetad.models.jointvae import deterministic_latent

    def typical(mask):
        idx = np.flatnonzero(mask)
        return int(idx[np.argsort(kl_total[idx], kind="stable")[len(idx) // 2]])

    names = test.process_names()
    bg = test.label == 0
    if not bg.any() or bg.all():
        return []
    start = typical(bg)
    rows = []
    for proc in dict.fromkeys(names[test.label == 1]):
        end = typical(names == proc)
        z, c = deterministic_latent(extra["z_mean"][[start, end]], extra["logits"][[start, end]],
                                    model.cfg.tau)
        ends = np.concatenate([np.asarray(z), np.asarray(c)], axis=1)
        steps = np.linspace(0.0, 1.0, n_steps)
        path = ((1 - steps[:, None]) * ends[0] + steps[:, None] * ends[1]).astype(np.float32)
        rows.append({
            "title": f"{display(names[start])} to {display(proc)}",
            "start": test.images[start], "end": test.images[end],
            "start_name": display(names[start]), "end_name": display(proc),
            "decoded": model.decoder(path, training=False).numpy()[..., 0], "steps": steps,
        })
    return rows


def write_figures(model, test, rec, extra, folder: Path, params, kl_total) -> None:
    from jetad.analysis import plots

    note = plots.data_note(params)
    names = class_names(test)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "mean_images.pdf", suffix=".pdf") as tmp:
        plots.mean_images(extra["mean_image"], extra["mean_reconstruction"], tmp, note, names)
    with atomic_path(folder / "examples.pdf", suffix=".pdf") as tmp:
        plots.example_reconstructions(test.images, rec, test.label, tmp, note, names=names)
    rows = interpolation_rows(model, test, extra, kl_total)
    if rows:
        with atomic_path(folder / "latent_interpolation.pdf", suffix=".pdf") as tmp:
            plots.jet_interpolation(rows, tmp, note)
    with atomic_path(folder / "weights.pdf", suffix=".pdf") as tmp:
        plots.weight_histograms({"JointVAE encoder": model.encoder,
                                 "JointVAE decoder": model.decoder}, tmp, note)
    logger.info("wrote %d figures to %s", 3 + bool(rows), folder)
