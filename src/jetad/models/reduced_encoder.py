"""The reduced encoder of [Valente 2022] Table 3.2, as a float tf.keras model and as QKeras.

Layers (name: output shape), input 40x40x1; every conv 3x3, 'same' padding:

    dconv_b0 (20,20,16)  stride 2, ungrouped (one input channel)
    conv1_b0_0, conv2_b0_0 (20,20,16)                      residual unit b0_0
    dconv_b1 (10,10,20)  stride 2
    conv1_b1_0, conv2_b1_0, conv1_b1_1, conv2_b1_1 (10,10,20)  units b1_0, b1_1
    dconv_b2 (5,5,4)     stride 2
    conv1_b2_0, conv2_b2_0 (5,5,4)                          unit b2_0
    conv_fin (5,5,2)     ungrouped, no normalization, no activation
    flatten (50) -> dense z_categorical (20), z_mean (32), z_var (32)

Every conv but dconv_b0 and conv_fin is grouped (groups = 4 by default), which keeps each conv
at most 1024 weights (a Vivado HLS limit; `check_weight_limit`) and the whole encoder near 11k
parameters. hls4ml 1.3 has no `groups` support, so a grouped conv is an ordinary Conv2D whose
kernel is block-diagonal over (input channel, output channel): `BlockDiagonal` zeroes the
off-diagonal blocks at build time (`apply_block_masks`) and after every optimizer step (kernel
constraint). hls4ml then sees a plain conv whose zero weights the fixed-weight HLS drops.

Each conv (but conv_fin) is followed by instance normalization (Keras
`GroupNormalization(groups=-1)`, named `<conv>_norm`) and the activation (`<conv>_act`); a
residual unit adds its input (`add_<unit>`). In the QKeras model the normalization stays a float
Keras layer: QKeras has no quantized normalization, and the quantized activation right after it
(`quantized_relu(16, 6, negative_slope=0.25)`) fixes its output grid. In hls4ml it becomes the
extension layer of `jetad.fpga.hls4ml.instancenorm` with its own fixed-point types.

Outputs, in the order of `jetad.models.jointvae.build_encoder`: [z_categorical, z_mean, z_var].
"""

from __future__ import annotations

import logging
from dataclasses import field
from pathlib import Path

import numpy as np

import jetad  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from jetad.errors import DataError, JetadError
from jetad.sections import from_schema

# (name, filters, stride, grouped, unit or None for a down-sampling conv)
LAYOUT: list[tuple[str, int, int, bool]] = [
    ("dconv_b0", 16, 2, False),
    ("conv1_b0_0", 16, 1, True),
    ("conv2_b0_0", 16, 1, True),
    ("dconv_b1", 20, 2, True),
    ("conv1_b1_0", 20, 1, True),
    ("conv2_b1_0", 20, 1, True),
    ("conv1_b1_1", 20, 1, True),
    ("conv2_b1_1", 20, 1, True),
    ("dconv_b2", 4, 2, True),
    ("conv1_b2_0", 4, 1, True),
    ("conv2_b2_0", 4, 1, True),
    ("conv_fin", 2, 1, False),
]
HEADS = ("z_categorical", "z_mean", "z_var")


# The `qat` keys of the encoder; qtools_float is QTools' arithmetic for plain Keras layers (the
# float encoder): fp16 reproduces thesis Tables 3.2 and 3.4 (jetad.quant.energy)
QAT_KEYS = ("groups", "negative_slope", "bits", "integer", "max_conv_weights", "qtools_float")


@from_schema("pixelize.npix", "train.latent_cont", "train.latent_disc",
             *(f"qat.{key}" for key in QAT_KEYS))
class EncoderConfig:
    """The reduced encoder: `pixelize.npix`, the latent sizes of the decoder it feeds and the
    qat keys of QAT_KEYS, typed by the schema. No defaults here: `from_params` takes them from
    the `qat` section, whose schema holds them."""

    # the architecture's own constants, no parameters
    epsilon: float = 1e-3
    # "instance": the thesis' per-image normalization after every conv; "none": without it (a
    # lever for fitting the trigger: no division or square root per image in the FPGA)
    norm: str = "instance"
    layout: list = field(default_factory=lambda: [list(x) for x in LAYOUT])

    @classmethod
    def from_params(cls, qat, npix: int, latent_cont: int, latent_disc: int) -> EncoderConfig:
        """The encoder of a `qat` section (loaded by jetad.params, so that every key is there)
        for npix x npix images, with the latent sizes of the decoder it feeds."""
        return cls(npix=npix, latent_cont=latent_cont, latent_disc=latent_disc,
                   **{k: qat[k] for k in QAT_KEYS})


def _keras():
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras

    return tf_keras


def _block_diagonal_class():
    keras = _keras()

    @keras.utils.register_keras_serializable(package="jetad")
    class BlockDiagonal(keras.constraints.Constraint):
        """Keep a (kh, kw, c_in, c_out) kernel block-diagonal: `groups` blocks of
        (c_in/groups, c_out/groups); the rest is forced to zero."""

        def __init__(self, groups: int, c_in: int, c_out: int):
            self.groups, self.c_in, self.c_out = int(groups), int(c_in), int(c_out)

        def mask(self):
            return block_mask(self.c_in, self.c_out, self.groups).astype(np.float32)

        def __call__(self, w):
            # heavy: TensorFlow starts only in the stages that build or run a model
            import tensorflow as tf

            return w * tf.constant(self.mask(), dtype=w.dtype)[None, None]

        def get_config(self):
            return {"groups": self.groups, "c_in": self.c_in, "c_out": self.c_out}

    return BlockDiagonal


_BD = None


def BlockDiagonal(groups: int, c_in: int, c_out: int):  # noqa: N802 (a class factory)
    global _BD
    if _BD is None:
        _BD = _block_diagonal_class()
    return _BD(groups, c_in, c_out)


def block_mask(c_in: int, c_out: int, groups: int):
    """(c_in, c_out) 0/1 matrix: input channel block g feeds only output channel block g."""
    if c_in % groups or c_out % groups:
        raise JetadError(
            f"grouped conv: {c_in} input and {c_out} output channels must both divide by "
            f"groups={groups}"
        )
    gi, go = c_in // groups, c_out // groups
    m = np.zeros((c_in, c_out), dtype=np.int8)
    for g in range(groups):
        m[g * gi:(g + 1) * gi, g * go:(g + 1) * go] = 1
    return m


def conv_layers(model):
    keras = _keras()
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D)  # QConv2D is a Conv2D subclass
    ]


def apply_block_masks(model) -> None:
    """Zero the off-diagonal blocks of every grouped conv (the constraint acts after updates)."""
    for layer in conv_layers(model):
        c = getattr(layer, "kernel_constraint", None)
        if c is not None and hasattr(c, "mask"):
            w = layer.get_weights()
            w[0] = w[0] * c.mask()[None, None]
            layer.set_weights(w)


def effective_weights(layer) -> int:
    """Nonzero kernel weights a conv can have (block-diagonal mask counted), plus biases."""
    kh, kw = layer.kernel_size
    c_in = int(layer.input_shape[-1])
    c_out = int(layer.filters)
    c = getattr(layer, "kernel_constraint", None)
    if c is not None and hasattr(c, "mask"):
        kernel = kh * kw * int(np.count_nonzero(c.mask()))
    else:
        kernel = kh * kw * c_in * c_out
    return kernel + (c_out if layer.use_bias else 0)


def check_weight_limit(model, limit: int) -> dict[str, int]:
    """Every conv must have at most `limit` effective (nonzero) kernel weights; biases not counted.

    Returns {layer: kernel weights}; raises JetadError naming every layer over the limit.
    """
    counts, over = {}, []
    for layer in conv_layers(model):
        n = effective_weights(layer) - (int(layer.filters) if layer.use_bias else 0)
        counts[layer.name] = n
        if n > limit:
            over.append(f"{layer.name} ({n})")
    if over:
        raise JetadError(
            f"conv layers over the {limit}-weight limit of Vivado HLS: {', '.join(over)}; "
            "use more groups or fewer filters"
        )
    return counts


def build(cfg: EncoderConfig, quantized: bool = False, name: str | None = None):
    """The reduced encoder; `quantized=True` gives the QKeras model (QAT-ready)."""
    keras = _keras()
    make = _Layers(cfg, quantized)
    images = keras.Input((cfg.npix, cfg.npix, 1), name="image")
    x = make.input_quant(images)
    unit_input = None
    for lname, filters, stride, grouped in cfg.layout:
        groups = cfg.groups if grouped else 1
        if lname.startswith("conv1_"):
            unit_input = x
        x = make.conv(x, lname, filters, stride, groups)
        if lname == "conv_fin":
            continue
        if cfg.norm == "instance":
            x = make.norm(x, lname)
        elif cfg.norm != "none":
            raise JetadError(f"encoder norm must be 'instance' or 'none', got {cfg.norm!r}")
        x = make.act(f"{lname}_act")(x)
        if lname.startswith("conv2_"):
            x = keras.layers.Add(name=f"add_{lname[len('conv2_'):]}")([x, unit_input])
    h = keras.layers.Flatten(name="flatten")(x)
    outs = [make.dense(h, n, head)
            for head, n in zip(HEADS, (cfg.latent_disc, cfg.latent_cont, cfg.latent_cont),
                               strict=True)]
    model = keras.Model(images, outs, name=name or ("qencoder" if quantized else "encoder_reduced"))
    apply_block_masks(model)
    check_weight_limit(model, cfg.max_conv_weights)
    return model


class _Layers:
    """The layers of the float encoder, or of the QKeras one (quantized input, weights, biases
    and activations; the normalization stays float)."""

    def __init__(self, cfg: EncoderConfig, quantized: bool):
        self.cfg, self.quantized = cfg, quantized
        self.keras = _keras()
        if quantized:
            # heavy: QKeras imports TensorFlow
            import qkeras

            self.qkeras = qkeras

    def _wq(self):
        return self.qkeras.quantized_bits(self.cfg.bits, self.cfg.integer, alpha=1)

    def input_quant(self, x):
        if not self.quantized:
            return x
        return self.qkeras.QActivation(self._wq(), name="input_quant")(x)

    def act(self, name):
        cfg = self.cfg
        if self.quantized:
            return self.qkeras.QActivation(
                self.qkeras.quantized_relu(cfg.bits, cfg.integer, negative_slope=cfg.negative_slope),
                name=name,
            )
        return self.keras.layers.LeakyReLU(cfg.negative_slope, name=name)

    def conv(self, x, lname, filters, stride, groups):
        c_in = int(x.shape[-1])
        kw = dict(strides=stride, padding="same", name=lname)
        if groups > 1:
            kw["kernel_constraint"] = BlockDiagonal(groups, c_in, filters)
        # he_normal on the effective fan-in (1/groups of the full kernel's)
        kw["kernel_initializer"] = self.keras.initializers.VarianceScaling(
            2.0 * groups, "fan_in", "truncated_normal"
        )
        if self.quantized:
            return self.qkeras.QConv2D(filters, 3, kernel_quantizer=self._wq(),
                                       bias_quantizer=self._wq(), **kw)(x)
        return self.keras.layers.Conv2D(filters, 3, **kw)(x)

    def norm(self, x, lname):
        return self.keras.layers.GroupNormalization(groups=-1, epsilon=self.cfg.epsilon,
                                                    name=f"{lname}_norm")(x)

    def dense(self, h, n, name):
        init = "he_normal"
        if self.quantized:
            return self.qkeras.QDense(n, kernel_quantizer=self._wq(), bias_quantizer=self._wq(),
                                      kernel_initializer=init, name=name)(h)
        return self.keras.layers.Dense(n, kernel_initializer=init, name=name)(h)


def is_quantized(model) -> bool:
    """True when every conv and dense layer carries QKeras quantizers."""
    keras = _keras()
    weighted = [
        layer for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
    ]
    return bool(weighted) and all(
        getattr(layer, "kernel_quantizer", None) is not None for layer in weighted
    )


def effective_params(model) -> int:
    """Trainable parameters that can be nonzero (masked blocks of grouped convs not counted)."""
    convs = {layer.name for layer in conv_layers(model)}
    total = 0
    for layer in model.layers:
        if layer.name in convs:
            total += effective_weights(layer)
        else:
            total += int(sum(w.shape.num_elements() for w in layer.trainable_weights))
    return total


def quiet_qkeras() -> None:
    """Drop QKeras' per-quantizer "keras dict ..." INFO lines (root logger) from jetad's logs."""
    class _Quiet(logging.Filter):
        def filter(self, record):
            return record.msg != "keras dict %s"

    for handler in logging.getLogger().handlers:
        if not any(type(f).__name__ == "_Quiet" for f in handler.filters):
            handler.addFilter(_Quiet())


def load_qmodel(path, what: str = "QKeras encoder"):
    """A QKeras (or float) encoder file written by `jetad qat`, with jetad's custom layers."""
    # heavy: QKeras imports TensorFlow
    from qkeras.utils import load_qmodel as _load

    if not Path(path).is_file():
        raise DataError(f"{path}: no such {what} file (run jetad qat)")
    quiet_qkeras()
    bd = type(BlockDiagonal(1, 1, 1))
    try:
        return _load(str(path), compile=False,
                     custom_objects={"BlockDiagonal": bd, "jetad>BlockDiagonal": bd})
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a QKeras model ({exc})") from exc
