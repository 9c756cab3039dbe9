"""The one epoch loop of jetad's hand-written training (the JointVAE of `jetad train`, the
reduced encoders of `jetad qat`): the stages differ only in the step they pass and the order
of the images (`batches`). The conv autoencoder baseline trains with Keras' Model.fit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np


def batches(images, batch_size: int, order=None):
    """tf.data pipeline over one in-memory tensor, in the order of the indices `order` (None:
    as stored); it gathers images by index, so a shuffle moves indices, not images."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf

    order = np.arange(int(images.shape[0])) if order is None else np.asarray(order)
    ds = tf.data.Dataset.from_tensor_slices(order.astype(np.int64)).batch(batch_size)
    ds = ds.map(lambda idx: tf.gather(images, idx), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def run_epoch(step: Callable, batches: Iterable, metrics: Iterable[str] | None = None,
              per_image: bool = True) -> dict[str, float]:
    """One pass of `step(i, x) -> loss terms` over `batches`: the mean of each term in
    `metrics` (None: every term) over the images (per_image) or over the batches."""
    sums: dict[str, float] = {}
    count = 0
    for i, x in enumerate(batches):
        terms = step(i, x)
        weight = int(x.shape[0]) if per_image else 1
        for k in terms if metrics is None else metrics:
            sums[k] = sums.get(k, 0.0) + float(terms[k]) * weight
        count += weight
    return {k: v / count for k, v in sums.items()}
