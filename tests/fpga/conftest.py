"""Shared compiled hls4ml projects (g++ compiles are slow: build each once per session)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest


def _small_qmodel(with_norm: bool = False, name: str = "small"):
    """A small QKeras model in the encoder's style: quantized input, a block-diagonal grouped
    conv (groups 2), optional instance norm, leaky quantized relu, flatten, dense."""
    import tf_keras
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    from jetad.models.reduced_encoder import BlockDiagonal, apply_block_masks

    def q():
        return quantized_bits(16, 6, alpha=1)

    inp = tf_keras.Input((8, 8, 4))
    x = QActivation(q(), name="input_quant")(inp)
    x = QConv2D(4, 3, strides=2, padding="same", kernel_quantizer=q(), bias_quantizer=q(),
                kernel_constraint=BlockDiagonal(2, 4, 4), name="gconv")(x)
    if with_norm:
        x = tf_keras.layers.GroupNormalization(groups=-1, name="gconv_norm")(x)
    x = QActivation(quantized_relu(16, 6, negative_slope=0.25), name="gconv_act")(x)
    x = tf_keras.layers.Flatten(name="flatten")(x)
    x = QDense(6, kernel_quantizer=q(), bias_quantizer=q(), name="z_mean")(x)
    model = tf_keras.Model(inp, x, name=name)
    apply_block_masks(model)
    return model


def _images(n=64, shape=(8, 8, 4), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, *shape)) * 4 - 1).astype(np.float32)


@pytest.fixture(scope="session")
def small_qmodel():
    """`small_qmodel(with_norm=False, name="small")`: a new small QKeras model (see _small_qmodel)."""
    return _small_qmodel


@pytest.fixture(scope="session")
def images():
    """`images(n=64, shape=(8, 8, 4), seed=0)`: seeded inputs in [-1, 3)."""
    return _images


@pytest.fixture(scope="session")
def compiled_small(tmp_path_factory, hls_settings):
    """{(io_type, strategy): (model, Compiled)} for the small model without norm."""
    from jetad.fpga.hls4ml.build import compile_model
    from jetad.fpga.hls4ml.emulate import Compiled
    from jetad.fpga.hls4ml.project import convert

    out = {}
    model = _small_qmodel()
    for io_type, strategy in (("io_parallel", "Latency"), ("io_parallel", "Resource"),
                              ("io_stream", "Latency")):
        d = tmp_path_factory.mktemp(f"small_{io_type}_{strategy}")
        s = dataclasses.replace(hls_settings, io_type=io_type, strategy=strategy)
        hm = convert(model, d, s, "small")
        out[(io_type, strategy)] = (model, Compiled.of(hm, compile_model(hm)), hm)
    return out
