"""Loss terms of the JointVAE ([Dupont 2018]; [Valente 2022] ch. 3), per image, as TensorFlow ops.

Every function returns one value per image (shape (batch,)); the caller averages over the
batch and applies beta, so the same terms serve as training loss, logged metrics and tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    """KL(softmax(logits) || uniform over K), with eps inside the logs as in [Valente 2022] ch. 3."""
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


def capacity(progress, c_max: float):
    """Dupont's capacity C(t): raised linearly from 0 to c_max as training progress goes from 0
    to 1, then held (progress is the fraction of the ramp done, a float or a scalar tensor)."""
    return c_max * tf.clip_by_value(tf.cast(progress, tf.float32), 0.0, 1.0)


@dataclass(frozen=True)
class Objective:
    """How the KL terms enter the loss, per batch of mean KLs ([Dupont 2018]; [Valente 2022] ch. 3).

    `beta` (the thesis): beta (KL_cont + KL_disc), beta fixed. `capacity` (Dupont 2018, the model's
    origin): gamma |KL_cont - C_cont(t)| + gamma |KL_disc - C_disc(t)|, the capacities raised
    linearly from 0 to `cont_max` / `disc_max` nats over the ramp, so the latent is made to carry
    a chosen amount of information instead of being pushed to zero (collapse at beta = 3000)."""

    kind: str
    beta: float = 0.0  # objective beta only
    gamma: float = 0.0
    cont_max: float = 0.0
    disc_max: float = 0.0
    ramp_epochs: int = 1

    @classmethod
    def from_params(cls, train: dict) -> Objective:
        if train["objective"] == "beta":
            return cls(kind="beta", beta=float(train["beta"]))
        c = train["capacity"]
        return cls(kind="capacity", beta=float(train["beta"]), gamma=float(c["gamma"]),
                   cont_max=float(c["cont_max"]), disc_max=float(c["disc_max"]),
                   ramp_epochs=int(c["epochs"]))

    def kl_penalty(self, klc, kld, progress=1.0):
        """The KL part of the loss from the batch means of KL_cont and KL_disc."""
        if self.kind == "beta":
            return self.beta * (klc + kld)
        return self.gamma * (tf.abs(klc - capacity(progress, self.cont_max))
                             + tf.abs(kld - capacity(progress, self.disc_max)))
