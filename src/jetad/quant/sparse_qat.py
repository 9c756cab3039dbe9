"""Quantization-aware training (QKeras) of the pruned particle autoencoder of [McDermott et al.],
the step its authors name as future work, and the form the FPGA route (jetad.trigger.sparse_fpga)
takes.

The float network's batch norm is folded into the dense layer before it (kernel columns and
bias scaled by gamma / sqrt(var + eps), the running statistics' affine map): a column scale keeps
every pruned weight at zero, and what is left is what da4ml traces (QDense and quantizers only).
The QKeras network is then

    input_quant (quantized_bits, the standardized features) -> [QDense -> quantized_relu with
    negative_slope] x depth -> QDense latent -> latent_quant (quantized_bits) -> [QDense ->
    quantized_relu] x depth -> QDense out -> output_quant (quantized_bits)

with the float network's layer names, so the pruning masks (layer name -> 0/1 kernel) apply
unchanged: `jetad.models.particle_ae.fit` multiplies the kernels and their gradients by them at
every step (QDense is a Dense), and a quantized zero is zero. The leaky ReLU's slope becomes the
power of two nearest it in log scale (0.3 -> 0.25): the RTL trace multiplies by a slope only as a
shift. QKeras' quantizers round half to even and saturate, as the RTL trace does bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from jetad.models import particle_ae as pae
from jetad.models.particle_ae import Architecture, Fit
from jetad.sections import from_schema

BITS_KEYS = ("weight_bits", "weight_integer", "act_bits", "act_integer", "io_bits", "io_integer")


@from_schema(*(f"sparse.{k}" for k in BITS_KEYS), defaults=True)
class QatBits:
    """The fixed-point widths of the QAT network: the sparse keys of BITS_KEYS."""

    @classmethod
    def from_params(cls, sp) -> QatBits:
        return cls(**{k: getattr(sp, k) for k in BITS_KEYS})

    def label(self) -> str:
        return (f"w<{self.weight_bits},{self.weight_integer}>/a<{self.act_bits},"
                f"{self.act_integer}>/io<{self.io_bits},{self.io_integer}>")


def power_of_two_slope(slope: float) -> float:
    """The power of two nearest `slope` in log scale (0 stays 0: a plain ReLU)."""
    return 0.0 if slope <= 0 else 2.0 ** round(math.log2(slope))


def folded_weights(model, arch: Architecture) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Dense layer name -> (kernel, bias) of the float network with each batch norm folded
    into the dense layer before it (inference statistics)."""
    out = {}
    for name in pae.kernels(model):
        dense = model.get_layer(name)
        k, b = (np.asarray(w, np.float64) for w in dense.get_weights())
        bn_name = name.replace("enc", "enc_bn").replace("dec", "dec_bn")
        if arch.batch_norm and bn_name != name:
            gamma, beta, mean, var_ = (np.asarray(w, np.float64)
                                       for w in model.get_layer(bn_name).get_weights())
            scale = gamma / np.sqrt(var_ + pae.BN_EPSILON)
            k, b = k * scale, (b - mean) * scale + beta
        out[name] = (k.astype(np.float32), b.astype(np.float32))
    return out


def build(arch: Architecture, bits: QatBits, name: str = "sparse_ae_qat"):
    """The QKeras network of `arch` (no batch norm: folded) at `bits`."""
    # heavy: QKeras imports TensorFlow
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    def dense(width, lname):
        q = quantized_bits(bits.weight_bits, bits.weight_integer, alpha=1)
        return QDense(width, kernel_quantizer=q, bias_quantizer=q, name=lname)

    def act(lname):
        return QActivation(quantized_relu(bits.act_bits, bits.act_integer,
                                          negative_slope=power_of_two_slope(arch.slope)),
                           name=lname)

    x_in = keras.Input((pae.N_INPUTS,), name="particles")
    x = QActivation(quantized_bits(bits.io_bits, bits.io_integer, alpha=1),
                    name="input_quant")(x_in)
    for i, width in enumerate(arch.encoder):
        x = act(f"enc_act{i}")(dense(width, f"enc{i}")(x))
    x = dense(arch.latent, "latent")(x)
    x = QActivation(quantized_bits(bits.act_bits, bits.act_integer, alpha=1),
                    name="latent_quant")(x)
    for i, width in enumerate(reversed(arch.encoder)):
        x = act(f"dec_act{i}")(dense(width, f"dec{i}")(x))
    x = dense(pae.N_INPUTS, "out")(x)
    x = QActivation(quantized_bits(bits.io_bits, bits.io_integer, alpha=1),
                    name="output_quant")(x)
    return keras.Model(x_in, x, name=name)


def from_float(model, arch: Architecture, bits: QatBits):
    """The QKeras network initialized with the float network's folded weights."""
    qmodel = build(arch, bits)
    for name, (k, b) in folded_weights(model, arch).items():
        qmodel.get_layer(name).set_weights([k, b])
    return qmodel


def train(qmodel, train_set: tuple, val: tuple, masks: dict, how: Fit, seed: int):
    """QAT of `qmodel` on (x, mask) background jets by the masked MSE, the pruning `masks`
    held (removed weights stay exactly 0); the best validation epoch's weights are kept."""
    return pae.fit(qmodel, train_set, val, how, seed, masks=masks)


def quantized_kernels(qmodel) -> dict[str, np.ndarray]:
    """Layer name -> its kernel after the kernel quantizer (what the RTL multiplies by)."""
    out = {}
    for name, var in pae.kernels(qmodel).items():
        q = qmodel.get_layer(name).kernel_quantizer_internal
        out[name] = np.asarray(q(var) if q is not None else var)
    return out


def nonzero_weights(qmodel) -> int:
    """Non-zero quantized kernel and bias values."""
    n = 0
    for name, k in quantized_kernels(qmodel).items():
        layer = qmodel.get_layer(name)
        b = np.asarray(layer.bias_quantizer_internal(layer.bias))
        n += int(np.count_nonzero(k)) + int(np.count_nonzero(b))
    return n


def masked_mse_np(x: np.ndarray, x_hat: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """jetad.models.particle_ae.masked_mse in float64 NumPy, for outputs read back from RTL."""
    err = (np.asarray(x, np.float64) - np.asarray(x_hat, np.float64)) ** 2
    per = err.reshape(-1, pae.N_PARTICLES, pae.N_FEATURES).sum(axis=2) * mask
    return per.sum(axis=1) / (np.maximum(mask.sum(axis=1), 1.0) * pae.N_FEATURES)
