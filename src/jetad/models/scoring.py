"""Scoring test jets with a trained JointVAE (SPEC §3): the eight anomaly scores, latents and
per-class means batch by batch, and the decoded interpolation between the classes' latents."""

from __future__ import annotations

import numpy as np


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


def latent_interpolation(model, z_mean: np.ndarray, category: np.ndarray, label: np.ndarray,
                         steps: int = 8):
    """(decoded images (steps, h, w), fractions (steps,)) along the line between the mean
    latents of the two classes; the categorical part is each class's frequency of arg-max
    codes, a point on the simplex the decoder was trained on."""
    cats = np.eye(model.cfg.latent_disc, dtype=np.float32)[category]
    ends = []
    for cls in (0, 1):
        sel = label == cls
        if not sel.any():
            sel = np.ones(len(label), bool)
        ends.append(np.concatenate([z_mean[sel].mean(0), cats[sel].mean(0)]))
    t = np.linspace(0.0, 1.0, steps)[:, None]
    latents = ((1 - t) * ends[0] + t * ends[1]).astype(np.float32)
    return model.decoder(latents, training=False).numpy()[..., 0], t[:, 0]
