"""`jetad score`: the eight anomaly scores of SPEC §3 for every test jet.

The KL scores come from the encoder's distribution parameters alone (analytic KL, no sampling).
The reconstruction fed to the image scores uses the latent without noise (z = mean,
c = softmax(logits / tau)) unless `score.sample: true`, which draws one seeded sample per jet.
With --figures, also draws the mean images and reconstructions per class, a latent
interpolation strip from the mean QCD latent to the mean top latent, and weight histograms.
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
    logger.info("read %d test jets from %s (%d QCD, %d top)", len(test), args.test,
                len(test) - n_top, n_top)
    res = score_images(model, test.images, int(sp["batch_size"]), bool(sp["sample"]), seed)
    rec = res.pop("reconstruction")
    mean_img, mean_rec = [], []
    for cls in (0, 1):
        sel = test.label == cls
        shape = test.images.shape[1:]
        mean_img.append(test.images[sel].mean(axis=0) if sel.any() else np.zeros(shape))
        mean_rec.append(rec[sel].mean(axis=0) if sel.any() else np.zeros(shape))
    extra = {
        "z_mean": res.pop("z_mean").astype(np.float32),
        "z_logvar": res.pop("z_logvar").astype(np.float32),
        "category": np.argmax(res.pop("logits"), axis=1).astype(np.int16),
        "jet_pt": test.jet_pt,
        # N-subjettiness from pixelize, for evaluate's tau21 / tau32 baselines on these jets
        "tau21": test.tau21.astype(np.float32),
        "tau32": test.tau32.astype(np.float32),
        # each jet's process, so that evaluate reports every signal on its own
        "process": test.process.astype(np.int8),
        "mean_image": np.stack(mean_img).astype(np.float32),
        "mean_reconstruction": np.stack(mean_rec).astype(np.float32),
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
        write_figures(model, test, rec, extra, Path(args.figures), params)


def write_figures(model, test, rec, extra, folder: Path, params) -> None:
    from jetad.analysis import plots

    note = plots.data_note(params)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "mean_images.pdf", suffix=".pdf") as tmp:
        plots.mean_images(extra["mean_image"], extra["mean_reconstruction"], tmp, note)
    with atomic_path(folder / "examples.pdf", suffix=".pdf") as tmp:
        plots.example_reconstructions(test.images, rec, test.label, tmp, note)
    # Interpolation between the mean latents of the two classes; the categorical part is each
    # class's frequency of arg-max codes, a point on the simplex the decoder was trained on.
    cats = np.eye(model.cfg.latent_disc, dtype=np.float32)[extra["category"]]
    ends = []
    for cls in (0, 1):
        sel = test.label == cls
        if not sel.any():
            sel = np.ones(len(test), bool)
        ends.append(np.concatenate([extra["z_mean"][sel].mean(0), cats[sel].mean(0)]))
    steps = np.linspace(0.0, 1.0, 8)[:, None]
    latents = ((1 - steps) * ends[0] + steps * ends[1]).astype(np.float32)
    strip = model.decoder(latents, training=False).numpy()[..., 0]
    with atomic_path(folder / "latent_interpolation.pdf", suffix=".pdf") as tmp:
        plots.interpolation_strip(strip, steps[:, 0], tmp, note)
    with atomic_path(folder / "weights.pdf", suffix=".pdf") as tmp:
        plots.weight_histograms({"encoder": model.encoder, "decoder": model.decoder}, tmp)
    logger.info("wrote 4 figures to %s", folder)
