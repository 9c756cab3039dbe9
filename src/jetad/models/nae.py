"""Normalized autoencoder (NAE): an autoencoder read as an energy-based model.

The reconstruction error is the energy of a Boltzmann distribution,
E(x) = sum over pixels of (x - AE(x))^2 / T, p(x) = exp(-E(x)) / Z, and after an ordinary
pre-training the autoencoder is trained by maximum likelihood on background jets
[Yoon et al. 2021]. The gradient of log Z is an expectation over the model, estimated with
negative samples: the loss E(x_data) - E(x_negative) pulls the energy of the data down and
pushes up that of whatever the model wrongly finds likely. A plain autoencoder also
reconstructs simple images it never saw (few filled pixels, one prong), so a reconstruction
score misses anomalies simpler than the background (the complexity bias of [Finke et al.
2021]); the negative samples find such images and raise their energy, which is why the NAE
detects anomalies in both directions on jet images [Dillon et al. 2023].

Negative samples come from on-manifold Langevin chains [Yoon et al. 2021]: a latent z started from
a Gaussian of the batch's latent mean and spread walks down the energy of its decoded image
E(D(z)), then D(z) walks down E(x) in image space, clipped to the pixel range. Every step's
noise is a stateless draw from (seed, step), so a chain is a function of its seed.

The autoencoder is jetad.models.baseline_ae's conv AE, pre-trained the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
import tf_keras as keras

ARCHITECTURE = "nae"
# normalized jet images: every pixel is a fraction of the jet's pT
PIXEL_RANGE = (0.0, 1.0)


def energy(x, x_rec, temperature: float):
    """E per image: the summed squared reconstruction error over T (images (n, npix, npix))."""
    return tf.reduce_sum(tf.square(x - x_rec), axis=(1, 2)) / temperature


def nae_loss(e_data, e_negative, regularizer: float):
    """The maximum-likelihood loss of an energy-based model: mean E(data) - mean E(negative),
    plus `regularizer` times the mean squared energy of both, which bounds the energies
    (without it the loss is unbounded below once the two sets separate)."""
    gap = tf.reduce_mean(e_data) - tf.reduce_mean(e_negative)
    return gap + regularizer * (tf.reduce_mean(tf.square(e_data))
                                + tf.reduce_mean(tf.square(e_negative)))


@dataclass(frozen=True)
class Chain:
    """One Langevin chain's settings: x <- x - step_size * dE/dx + noise * N(0, 1), `steps`
    times, clipped to `clip` (lo, hi) after each step when given."""

    steps: int
    step_size: float
    noise: float
    clip: tuple[float, float] | None = None


def langevin(energy_fn, x0, chain: Chain, seed):
    """The end of a Langevin chain from x0 on the energy `energy_fn` (a tensor -> one energy
    per sample). `seed`: two integers; step t draws its noise from (seed[0], seed[1] + t)."""
    x = tf.convert_to_tensor(x0)
    seed = tf.cast(seed, tf.int64)
    # tf.range: in a tf.function a while loop, not `steps` copies of the model in the graph
    for t in tf.range(chain.steps, dtype=tf.int64):
        with tf.GradientTape() as tape:
            tape.watch(x)
            e = tf.reduce_sum(energy_fn(x))
        grad = tape.gradient(e, x)
        eps = tf.random.stateless_normal(tf.shape(x), seed=seed + tf.stack([0, t]), dtype=x.dtype)
        x = x - chain.step_size * grad + chain.noise * eps
        if chain.clip is not None:
            x = tf.clip_by_value(x, *chain.clip)
    return x


@dataclass(frozen=True)
class Sampler:
    """The on-manifold negative sampler: a latent chain, then an image chain."""

    latent: Chain
    image: Chain

    @classmethod
    def of(cls, cfg) -> Sampler:
        """From the `nae:` parameters (jetad.sections.Nae)."""
        return cls(Chain(cfg.latent_steps, cfg.latent_step_size, cfg.latent_noise),
                   Chain(cfg.image_steps, cfg.image_step_size, cfg.image_noise, PIXEL_RANGE))


def split(model: keras.Model) -> tuple[keras.Model, keras.Model]:
    """(encoder, decoder) of a baseline_ae model, sharing its layers: the encoder ends at
    the bottleneck, the decoder applies the layers after it to a latent input."""
    bottleneck = model.get_layer("bottleneck")
    encoder = keras.Model(model.input, bottleneck.output, name="nae_encoder")
    z = keras.Input((bottleneck.units,), name="latent")
    layers = model.layers
    h = z
    for layer in layers[layers.index(bottleneck) + 1:]:
        h = layer(h)
    return encoder, keras.Model(z, h, name="nae_decoder")


class NAE:
    """A baseline_ae autoencoder with its energy and negative sampler."""

    def __init__(self, model: keras.Model, temperature: float, sampler: Sampler):
        self.model = model
        self.encoder, self.decoder = split(model)
        self.temperature = temperature
        self.sampler = sampler

    def energy(self, x):
        return energy(x, self.model(x, training=False), self.temperature)

    def sample(self, x_data, seed):
        """As many negative samples as x_data has images, from the seed (two integers); x_data
        gives the Gaussian the latent chains start from (its latents' mean and spread)."""
        z_data = self.encoder(x_data, training=False)
        mean, std = tf.reduce_mean(z_data, 0), tf.math.reduce_std(z_data, 0) + 1e-6
        seed = tf.cast(seed, tf.int64)
        z0 = mean + std * tf.random.stateless_normal(tf.shape(z_data), seed=seed + [1 << 20, 0])
        # the chain runs on the standardized latent u = (z - mean) / std: its step and noise
        # mean the same whatever the scale the pre-training gave each latent dimension
        u = langevin(lambda u: self.energy(self.decoder(mean + std * u, training=False)),
                     (z0 - mean) / std, self.sampler.latent, seed + [2 << 20, 0])
        x0 = self.decoder(mean + std * u, training=False)
        return langevin(self.energy, x0, self.sampler.image, seed + [3 << 20, 0])


def build(model: keras.Model, cfg, reference) -> NAE:
    """The NAE of a (pre-trained) baseline_ae model and the `nae:` parameters. Its
    temperature is cfg.temperature times the model's mean summed squared error on the
    `reference` images (background validation jets), so that a typical background jet has
    E about 1 / cfg.temperature whatever the pre-training reached: the regularizer and the
    chains' step sizes then mean the same on every preset."""
    sse = energies(NAE(model, 1.0, Sampler.of(cfg)), reference, cfg.batch_size * 2)
    return NAE(model, cfg.temperature * float(np.mean(sse)), Sampler.of(cfg))


def train_step_fn(nae: NAE, optimizer, regularizer: float):
    """One maximum-likelihood step, compiled: (x_data, seed) -> (loss, E data, E negative)."""

    @tf.function
    def step(x, seed):
        x_neg = tf.stop_gradient(nae.sample(x, seed))
        with tf.GradientTape() as tape:
            e_pos = energy(x, nae.model(x, training=True), nae.temperature)
            e_neg = energy(x_neg, nae.model(x_neg, training=True), nae.temperature)
            loss = nae_loss(e_pos, e_neg, regularizer)
        weights = nae.model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        return loss, tf.reduce_mean(e_pos), tf.reduce_mean(e_neg)

    return step


def energies(nae: NAE, images, batch_size: int) -> np.ndarray:
    """E of every image, in batches."""
    out = [nae.energy(tf.constant(images[i:i + batch_size])).numpy()
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def train(nae: NAE, x_train, x_val, cfg, seed: int, logger=None) -> list[dict]:
    """Maximum-likelihood training of `nae` on the images x_train (n, npix, npix) with the
    `nae:` parameters; batches shuffled by the seed, each step's chains seeded by (seed, step).
    Returns one row per epoch: mean loss, mean E of the training batches and of their negative
    samples, mean E of x_val."""
    optimizer = keras.optimizers.Adam(learning_rate=cfg.learning_rate)
    step = train_step_fn(nae, optimizer, cfg.regularizer)
    rng = np.random.default_rng(seed)
    history, n_step = [], 0
    for epoch in range(cfg.epochs):
        order = rng.permutation(len(x_train))
        rows = []
        for i in range(0, len(order), cfg.batch_size):
            x = tf.constant(x_train[np.sort(order[i:i + cfg.batch_size])])
            rows.append([float(v) for v in step(x, tf.constant([seed, n_step], tf.int64))])
            n_step += 1
        loss, e_pos, e_neg = np.mean(rows, axis=0)
        row = {"epoch": epoch + 1, "loss": loss, "energy_train": e_pos, "energy_negative": e_neg,
               "energy_val": float(np.mean(energies(nae, x_val, cfg.batch_size)))}
        history.append(row)
        if logger:
            logger.info("NAE epoch %d: loss %.4g, E train %.4g, E negative %.4g, E val %.4g",
                        *row.values())
    return history
