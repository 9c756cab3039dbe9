"""A small CNN trained with labels (background vs anomaly): the supervised ceiling beside the
anomaly detectors. It is not anomaly detection: it sees the signal it is scored on.

Two conv + pool blocks and a dense layer (~55k parameters at 40x40): enough to learn the prong
structure and the mass scale from images, cheap enough to train twice (cross-fitting) on 2
cores. The output is a logit: larger = more anomalous, as every score in evaluate.
"""

from __future__ import annotations

import tf_keras as keras

ARCHITECTURE = "supervised_cnn"


def build(npix: int = 40, filters=(8, 16), dense: int = 32) -> keras.Model:
    if npix % 2 ** len(filters):
        raise ValueError(f"npix {npix} must be divisible by {2 ** len(filters)}")
    x_in = keras.Input((npix, npix), name="image")
    x = keras.layers.Reshape((npix, npix, 1))(x_in)
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, padding="same", activation="relu",
                                kernel_initializer="he_normal", name=f"conv{i}")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(dense, activation="relu", kernel_initializer="he_normal",
                           name="dense")(x)
    x = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(x_in, x, name=ARCHITECTURE)
