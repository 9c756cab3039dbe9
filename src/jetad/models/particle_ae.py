"""A dense autoencoder of a jet's particles, the model of [McDermott et al.]: the 30
particles' (eta_rel, phi_rel, pT_rel) of the JetNet layout ([Kansal et al. 2021];
jetad.data.jetnet) flattened to 90 inputs, a dense encoder of blocks Dense -> batch norm
(optional) -> leaky ReLU, the first of them wide, a linear latent layer, and the mirror image
back to 90 outputs. The particles a jet lacks (mask 0, zero padded) are neither learned nor
scored: the loss and the anomaly score are the reconstruction MSE over the jet's own particles.

`fit` trains one such network (the chosen architecture, and each round of the pruning,
jetad.models.pruning; the supernet of the search has its own loop): seeded batch order, an
optional fixed mask on the kernels (the pruned weights stay exactly zero: their gradients are
masked and they are reset after every step), and an optional snapshot of all weights after
step k, the point a pruned network is rewound to ([Frankle et al. 2020]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_PARTICLES = 30
N_FEATURES = 3  # eta_rel, phi_rel, pT_rel; JetNet's fourth feature is the mask
N_INPUTS = N_PARTICLES * N_FEATURES
# Keras' BatchNormalization default: the supernet (jetad.models.supernet) normalizes with it too
BN_EPSILON = 1e-3


@dataclass(frozen=True)
class Architecture:
    """One dense autoencoder: encoder widths `first_width`, *`widths` (depth 1 + len(widths)),
    a latent layer of `latent` units, the decoder the encoder's mirror image."""

    first_width: int
    widths: tuple[int, ...]
    latent: int
    batch_norm: bool
    slope: float  # of the leaky ReLU below zero

    @property
    def encoder(self) -> tuple[int, ...]:
        return (self.first_width, *self.widths)

    @property
    def depth(self) -> int:
        return len(self.encoder)

    def label(self) -> str:
        return "-".join(str(w) for w in (*self.encoder, self.latent))

    def n_params(self) -> int:
        """Trainable parameters: kernels, biases and batch-norm scales and offsets."""
        sizes = (N_INPUTS, *self.encoder, self.latent, *reversed(self.encoder), N_INPUTS)
        dense = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        return dense + (4 * sum(self.encoder) if self.batch_norm else 0)


ORDERS = ("pt", "dr")


def ordered(particles: np.ndarray, order: str) -> np.ndarray:
    """The particles of each jet [N, 30, 4] in the slots' order: "pt", JetNet's (descending
    pT_rel, as the files hold them); "dr", ascending angular distance from the jet axis,
    sqrt(eta_rel^2 + phi_rel^2), ties in the files' order; padded particles last either way."""
    particles = np.asarray(particles, dtype=np.float32)
    if order == "pt":
        return particles
    if order != "dr":
        raise ValueError(f"particle order {order!r}, expected one of {', '.join(ORDERS)}")
    dr = np.hypot(particles[:, :, 0], particles[:, :, 1])
    key = np.where(particles[:, :, 3] > 0.5, dr, np.inf)
    idx = np.argsort(key, axis=1, kind="stable")
    return np.take_along_axis(particles, idx[:, :, None], axis=1)


def inputs(particles: np.ndarray, order: str = "pt") -> tuple[np.ndarray, np.ndarray]:
    """(x, mask) of JetNet particle features [N, 30, 4], the particles in `order` (see
    ordered): x [N, 90] float32 with the padded particles zeroed, mask [N, 30] float32 (1 for
    a particle)."""
    particles = ordered(particles, order)
    mask = (particles[:, :, 3] > 0.5).astype(np.float32)
    x = particles[:, :, :N_FEATURES] * mask[:, :, None]
    return x.reshape(len(x), N_INPUTS), mask


@dataclass(frozen=True)
class Scaler:
    """Per-feature standardization of the particle features (eta_rel, phi_rel, pT_rel): the
    mean and standard deviation of each over the particles (mask 1) of the training jets,
    background only. Without it pT_rel, whose spread over gluon jets is about a quarter of
    eta_rel's and phi_rel's, weighs about 13x less in the MSE. Padded particles stay 0 after
    scaling (not -mean/std): they are neither learned nor scored."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, x: np.ndarray, mask: np.ndarray) -> Scaler:
        feats = np.asarray(x, np.float64).reshape(-1, N_PARTICLES, N_FEATURES)[mask > 0.5]
        if len(feats) == 0:
            return cls.identity()
        std = feats.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # a constant feature is left unscaled
        return cls(tuple(float(v) for v in feats.mean(axis=0)), tuple(float(v) for v in std))

    @classmethod
    def identity(cls) -> Scaler:
        return cls((0.0,) * N_FEATURES, (1.0,) * N_FEATURES)

    def __call__(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """x [N, 90] scaled, float32, padded particles 0."""
        x = np.asarray(x, np.float64).reshape(-1, N_PARTICLES, N_FEATURES)
        out = (x - np.asarray(self.mean)) / np.asarray(self.std) * mask[:, :, None]
        return out.reshape(len(x), N_INPUTS).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict) -> Scaler:
        return cls(tuple(float(v) for v in d["mean"]), tuple(float(v) for v in d["std"]))


def masked_mse(x, x_hat, mask):
    """Per-jet reconstruction MSE over the jet's own particles: the squared error summed over
    the features of particles with mask 1, divided by 3 x their number. x, x_hat [N, 90],
    mask [N, 30]; a tensor [N]."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf

    err = tf.reshape(tf.square(tf.cast(x, tf.float32) - x_hat), (-1, N_PARTICLES, N_FEATURES))
    mask = tf.cast(mask, tf.float32)
    per_particle = tf.reduce_sum(err, axis=2) * mask
    count = tf.maximum(tf.reduce_sum(mask, axis=1), 1.0) * N_FEATURES
    return tf.reduce_sum(per_particle, axis=1) / count


def build(arch: Architecture):
    """The Keras model of `arch`: layers enc<i>, enc_bn<i>, latent, dec<i>, dec_bn<i>, out
    (i from 0; dec<i> has the width of enc<depth-1-i>)."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras as keras

    x_in = keras.Input((N_INPUTS,), name="particles")
    x = x_in
    decoder = tuple(reversed(arch.encoder))
    for part, widths in (("enc", arch.encoder), ("dec", decoder)):
        for i, width in enumerate(widths):
            x = keras.layers.Dense(width, name=f"{part}{i}")(x)
            if arch.batch_norm:
                x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{part}_bn{i}")(x)
            x = keras.layers.LeakyReLU(arch.slope, name=f"{part}_act{i}")(x)
        if part == "enc":
            x = keras.layers.Dense(arch.latent, name="latent")(x)
    x = keras.layers.Dense(N_INPUTS, name="out")(x)
    return keras.Model(x_in, x, name="particle_ae")


def kernels(model) -> dict:
    """name -> kernel variable of every dense layer (the weights pruning may remove)."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras as keras

    return {layer.name: layer.kernel for layer in model.layers
            if isinstance(layer, keras.layers.Dense)}


def scores(model, x, mask, batch_size: int = 4096) -> np.ndarray:
    """The anomaly score of every jet: its masked reconstruction MSE (float64 [N])."""
    out = [masked_mse(x[i:i + batch_size], model(x[i:i + batch_size], training=False),
                      mask[i:i + batch_size]).numpy()
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


@dataclass(frozen=True)
class Fit:
    """How `fit` trains: epochs, batch size, Adam's learning rate."""

    epochs: int
    batch_size: int
    learning_rate: float


@dataclass
class FitResult:
    history: list[float]  # validation loss after every epoch
    best_epoch: int  # 1-based; the model holds this epoch's weights
    snapshot: list | None  # all weights after `snapshot_step` steps (model.get_weights())


def fit(model, train: tuple, val: tuple, how: Fit, seed: int, masks: dict | None = None,
        snapshot_step: int | None = None) -> FitResult:
    """Train `model` on train = (x, mask) by the mean masked MSE, Adam, a seeded batch order;
    keep the weights of the epoch of lowest validation loss (val = (x, mask)). With `masks`
    (layer name -> 0/1 array of its kernel's shape) the kernels are multiplied by them before
    training and after every step, and their gradients too, so removed weights stay exactly 0.
    With `snapshot_step` the weights after that many steps (0: before any) are returned."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf
    import tf_keras as keras

    masked = [(var, tf.constant(masks[name], var.dtype))
              for name, var in kernels(model).items() if masks and name in masks]
    for var, m in masked:
        var.assign(var * m)
    step = _train_step(model, keras.optimizers.Adam(how.learning_rate), masked)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
    x, m = (np.asarray(a, np.float32) for a in train)
    snapshot = model.get_weights() if snapshot_step == 0 else None
    steps, best, history, best_weights = 0, np.inf, [], model.get_weights()
    for _epoch in range(how.epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), how.batch_size):
            idx = order[start:start + how.batch_size]
            step(tf.constant(x[idx]), tf.constant(m[idx]))
            steps += 1
            if steps == snapshot_step:
                snapshot = model.get_weights()
        loss = float(np.mean(scores(model, *val)))
        history.append(loss)
        if loss < best:
            best, best_weights = loss, model.get_weights()
    model.set_weights(best_weights)
    return FitResult(history, int(np.argmin(history)) + 1 if history else 0, snapshot)


def _train_step(model, optimizer, masked):
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf

    variables = model.trainable_variables
    where = {id(var): m for var, m in masked}
    # any batch size: the last, shorter batch of an epoch does not trace the step again
    spec = (tf.TensorSpec((None, N_INPUTS), tf.float32),
            tf.TensorSpec((None, N_PARTICLES), tf.float32))

    @tf.function(input_signature=spec)
    def step(x, mask):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(masked_mse(x, model(x, training=True), mask))
        grads = tape.gradient(loss, variables)
        grads = [g * where[id(v)] if id(v) in where else g
                 for g, v in zip(grads, variables, strict=True)]
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        for var, m in masked:
            var.assign(var * m)
        return loss

    return step
