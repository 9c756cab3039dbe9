"""TensorFlow set up so that the same seed gives the same weights, on every stage that trains or
runs a model: one seed for Python, NumPy and TensorFlow, deterministic kernels, one inter-op
thread (see jetad/__init__: with the default pool, concurrent graph ops changed the last bits of
some gradients, and Adam amplified them)."""

from __future__ import annotations


def setup_tf(seed: int):
    """Seed everything and make TensorFlow deterministic; returns the `tensorflow` module."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf
    import tf_keras as keras

    keras.utils.set_random_seed(seed)
    # Deterministic kernels cost little on CPU and make reruns bit-comparable.
    tf.config.experimental.enable_op_determinism()
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already running, with TF_NUM_INTEROP_THREADS=1 from jetad/__init__
    return tf
