"""Plain convolutional autoencoder: the reconstruction baseline beside the JointVAE.

Deterministic, no latent prior, trained with the summed squared error and scored with it (the "MSE" score
of [Valente 2022] ch. 3). Three stride-2 convs down to 5x5, a dense bottleneck, and the mirror image up,
so its cost is a small fraction of the JointVAE's decoder.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from jetad.data.images import subsample
from jetad.params import or_default

ARCHITECTURE = "conv_ae"


def build(npix: int | None = None, filters=None, latent: int | None = None) -> keras.Model:
    """The autoencoder; left out, npix, filters and latent are the schema defaults of
    pixelize.npix, baseline.filters, baseline.latent."""
    npix, latent = or_default(npix, "pixelize", "npix"), or_default(latent, "baseline", "latent")
    filters = tuple(or_default(filters, "baseline", "filters"))
    if npix % 2 ** len(filters):
        raise ValueError(f"npix {npix} must be divisible by {2 ** len(filters)}")
    init = "he_normal"
    x_in = keras.Input((npix, npix), name="image")
    x = keras.layers.Reshape((npix, npix, 1))(x_in)
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, strides=2, padding="same", kernel_initializer=init,
                                name=f"down{i}")(x)
        x = keras.layers.LeakyReLU(0.25)(x)
    side = npix // 2 ** len(filters)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(latent, kernel_initializer=init, name="bottleneck")(x)
    x = keras.layers.Dense(side * side * filters[-1], kernel_initializer=init)(x)
    x = keras.layers.LeakyReLU(0.25)(x)
    x = keras.layers.Reshape((side, side, filters[-1]))(x)
    for i, f in enumerate(reversed(filters)):
        x = keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same",
                                         kernel_initializer=init, name=f"up{i}")(x)
        x = keras.layers.LeakyReLU(0.25)(x)
    x = keras.layers.Conv2D(1, 3, padding="same", name="reco_logits")(x)
    # A softmax over pixels: jet images sum to 1, and unlike a per-pixel sigmoid it cannot
    # settle on an all-zero output whose gradient vanishes (seen on real jets: the loss froze
    # at sum x^2 after one epoch).
    x = keras.layers.Flatten()(x)
    x = keras.layers.Softmax(name="reco")(x)
    x = keras.layers.Reshape((npix, npix))(x)
    return keras.Model(x_in, x, name="conv_ae")


def sum_squared_error(y_true, y_pred):
    # Summed, not averaged, over pixels: jet images sum to 1, so per-pixel means are ~1e-4
    # and would leave the gradients of most pixels negligible next to the weight decay.
    return tf.reduce_sum(tf.square(y_true - y_pred), axis=(1, 2))


def train(x_train, x_val, bp, logger=None):
    """Fit the autoencoder of the `baseline:` parameters `bp` (jetad.sections.Baseline) on
    the images (n, npix, npix) with Keras' own loop (Model.fit, EarlyStopping restoring the
    best weights): the baseline has no checkpoints to resume and no sampled latent, so
    jetad.models.loop would add nothing, and Keras' shuffling keeps its published numbers.
    Returns the model and the Keras history."""
    model = build(int(x_train.shape[1]), tuple(bp.filters), bp.latent)
    if logger:
        logger.info("conv AE: %d parameters", model.count_params())
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=bp.learning_rate,
                                         weight_decay=bp.weight_decay),
        loss=sum_squared_error,
    )
    hist = model.fit(
        x_train, x_train, validation_data=(x_val, x_val), epochs=bp.epochs,
        batch_size=bp.batch_size, shuffle=True, verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(
            patience=bp.early_stopping_patience, restore_best_weights=True)],
    )
    if logger:
        logger.info("trained %d epochs, val loss %s", len(hist.history["loss"]),
                    [round(v, 6) for v in hist.history["val_loss"]])
    return model, hist.history


def subsets(n_train: int, n_val: int, bp, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted rows of the seeded subsets of `bp.max_train_jets` of n_train training and
    `bp.max_val_jets` of n_val validation images the conv AE is trained on."""
    return subsample(n_train, bp.max_train_jets, seed), subsample(n_val, bp.max_val_jets, seed + 1)


def train_on_subsets(train_images, val_images, bp, seed: int, logger=None):
    """`train` on the seeded subsets (`subsets`) of training and validation images in memory
    (`jetad nae` pre-trains `jetad baseline`'s model so). Returns the model and the indices of
    the training images used."""
    itrain, ival = subsets(len(train_images), len(val_images), bp, seed)
    if logger is not None:
        logger.info("training the conv AE on %d jets", len(itrain))
    model, _history = train(train_images[itrain], val_images[ival], bp, logger)
    return model, itrain


def predict_batch(bp) -> int:
    """The batch of the conv AE's predictions when scoring (twice the training batch)."""
    return bp.batch_size * 2
