"""Scoring test jets with a trained JointVAE ([Valente 2022] ch. 3): the eight anomaly scores, latents and
per-class means batch by batch, the validation jets' latents for the latent density, and the
decoded interpolation between the classes' latents."""

from __future__ import annotations

import numpy as np

from jetad.analysis import scores as sc
from jetad.analysis.summary import display
from jetad.params import default


def score_images(model, images: np.ndarray, batch_size: int, sample: bool, seed: int,
                 progress=None) -> dict:
    """Scores, latents and per-class sums of inputs and reconstructions, batch by batch;
    `progress` (a jetad.log.Progress) counts the jets done."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf

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
        if progress is not None:
            progress.update(len(x))
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["reconstruction"] = np.concatenate(recs)
    return out


def encode_images(model, images: np.ndarray, batch_size: int, progress=None):
    """(mean, logvar) of the continuous latent, (N, latent_cont) each, batch by batch: the
    encoder alone, as the KL scores read it."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf

    npix = model.cfg.npix

    @tf.function(input_signature=[tf.TensorSpec((None, npix, npix), tf.float32)])
    def encode(x):
        return model.encoder(x[..., None], training=False)

    means, logvars = [], []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        _, mean, logvar = (t.numpy() for t in encode(tf.constant(x)))
        means.append(mean)
        logvars.append(logvar)
        if progress is not None:
            progress.update(len(x))
    return np.concatenate(means), np.concatenate(logvars)


def class_means(images: np.ndarray, rec: np.ndarray, label: np.ndarray):
    """(mean images, mean reconstructions), each (2, h, w) float32: index 0 the background
    (label 0), 1 the anomalies; zeros for a class without jets."""
    mean_img, mean_rec = [], []
    for cls in (0, 1):
        sel = label == cls
        shape = images.shape[1:]
        mean_img.append(images[sel].mean(axis=0) if sel.any() else np.zeros(shape))
        mean_rec.append(rec[sel].mean(axis=0) if sel.any() else np.zeros(shape))
    return np.stack(mean_img).astype(np.float32), np.stack(mean_rec).astype(np.float32)


def class_names(test) -> tuple[str, str]:
    """(background, anomalies) as the figures name them, from the test file's processes."""
    names = test.process_names()
    background = display(str(test.attrs.get("background", default("split", "background"))))
    signals = [display(str(n)) for n in dict.fromkeys(names[test.label == 1])]
    return background, (signals[0] if len(signals) == 1
                        else f"anomalies ({', '.join(signals)})" if signals else "anomalies")


def interpolation_rows(model, test, extra, kl_total, n_steps: int = 8) -> list[dict]:
    """For every anomalous process: the background jet and that process's jet of median KL
    total (typical jets, chosen without randomness), and the decoded straight path between
    their latents (z = mean, c = softmax(logits / tau), as the deterministic reconstruction)."""
    # heavy: the JointVAE module imports TensorFlow
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
