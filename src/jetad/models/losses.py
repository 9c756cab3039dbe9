"""Loss terms of the JointVAE (SPEC §2), per image, as TensorFlow ops.

Every function returns one value per image (shape (batch,)); the caller averages over the
batch and applies beta, so the same terms serve as training loss, logged metrics and tests.
"""

from __future__ import annotations

import math

import tensorflow as tf

# Clipping of reconstructions before the logs: the sigmoid saturates in float32, and
# log(0) would turn one saturated pixel into an infinite loss.
BCE_EPS = 1e-7


def _flat(x):
    x = tf.convert_to_tensor(x, tf.float32)
    return tf.reshape(x, (tf.shape(x)[0], -1))


def bce_sum(x, x_rec, eps: float = BCE_EPS):
    """-sum_pixels [x log x' + (1 - x) log(1 - x')], the reconstruction term."""
    x, x_rec = _flat(x), tf.clip_by_value(_flat(x_rec), eps, 1.0 - eps)
    return -tf.reduce_sum(x * tf.math.log(x_rec) + (1.0 - x) * tf.math.log(1.0 - x_rec), axis=1)


def kl_cont(mean, logvar):
    """KL(N(mean, exp(logvar)) || N(0, 1)) summed over latent dimensions."""
    return -0.5 * tf.reduce_sum(1.0 + logvar - tf.square(mean) - tf.exp(logvar), axis=1)


def kl_disc(logits, eps: float = 1e-7):
    """KL(softmax(logits) || uniform over K), with eps inside the logs as in SPEC §2."""
    k = tf.cast(tf.shape(logits)[-1], tf.float32)
    q = tf.nn.softmax(logits, axis=-1)
    return tf.reduce_sum(q * tf.math.log(q + eps) - q * tf.math.log(1.0 / k + eps), axis=1)


def mse_sum(x, x_rec):
    """Sum of squared pixel differences per image (the energy-difference score)."""
    return tf.reduce_sum(tf.square(_flat(x) - _flat(x_rec)), axis=1)


def psnr(x, x_rec, max_val: float = 1.0):
    """Peak signal-to-noise ratio in dB against the pixel range [0, 1] (per-pixel mean error).

    The peak is the range of the sigmoid output, not the image maximum, so values are
    comparable between images; a perfect reconstruction is capped by a 1e-12 floor.
    """
    err = tf.reduce_mean(tf.square(_flat(x) - _flat(x_rec)), axis=1)
    return 10.0 * tf.math.log(max_val**2 / tf.maximum(err, 1e-12)) / math.log(10.0)


def ssim(x, x_rec, max_val: float = 1.0):
    """Structural similarity (tf.image.ssim, 11x11 Gaussian window) per image."""
    x = tf.convert_to_tensor(x, tf.float32)
    x_rec = tf.convert_to_tensor(x_rec, tf.float32)
    if x.shape.rank == 3:
        x, x_rec = x[..., None], x_rec[..., None]
    return tf.image.ssim(x, x_rec, max_val=max_val)
