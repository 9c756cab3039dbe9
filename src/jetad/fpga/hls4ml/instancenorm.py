"""hls4ml 1.3 extension layer: instance normalization = Keras `GroupNormalization(groups=-1)`.

hls4ml has no instance or group normalization (fastmachinelearning/hls4ml#717; pull request hls4ml#1545
open). This module adds one through hls4ml's extension API: an hls4ml layer class (`InstanceNorm`), a
Keras-v2 parser handler for `GroupNormalization`, a config and a function-call template for the Vivado
(and Vitis) backends, the C++ in `nnet_instancenorm.h`, and the bit-exact precision hooks hls4ml 1.3
needs for any layer in a `bit_exact=True` model.

Semantics (the instance normalization of [Valente 2022] ch. 3, as Keras computes it): channel-last input
(height, width, channels); per image and channel, the mean and the *biased* variance over all pixels,
y = (x - mean) / sqrt(var + epsilon) * gamma + beta.

Precision: the sums, mean and variance use `accum_t`, the per-channel multiplier gamma/sqrt(var+eps)
`norm_t`, gamma `scale_t`, beta `bias_t`; the output `result_t`. The layer is "trusted" in hls4ml's
bit-exact flow: its types come from the configuration (params.yaml's `hls.norm_precision`),
not from interval arithmetic, which cannot bound a division by a data-dependent standard deviation.

Call `register()` before converting (idempotent); `jetad.fpga.hls4ml.compat.import_hls4ml` does it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetad.errors import JetadError

HEADER = Path(__file__).with_name("nnet_instancenorm.h")
KERAS_CLASS = "GroupNormalization"
HLS_CLASS = "InstanceNorm"
BACKENDS = ("Vivado", "Vitis")

_registered: set[str] = set()


def _layer_class():
    # heavy: hls4ml loads through compat.import_hls4ml(), which aliases keras first
    from hls4ml.model.attributes import Attribute, TypeAttribute, WeightAttribute
    from hls4ml.model.layers import Layer

    class InstanceNorm(Layer):
        """Instance normalization over the spatial pixels of each channel (channel-last)."""

        _expected_attributes = [
            Attribute("n_pixels"),
            Attribute("n_chan"),
            Attribute("epsilon", value_type=float, default=1e-3),
            WeightAttribute("scale"),
            WeightAttribute("bias"),
            TypeAttribute("scale"),
            TypeAttribute("bias"),
            TypeAttribute("accum"),
            TypeAttribute("norm"),
        ]

        def initialize(self):
            shape = self.get_input_variable().shape
            self.add_output_variable(shape)
            self._set_type_t("norm")
            self.add_weights_variable(name="scale", var_name="s{index}", data=self.get_attr("gamma_data"))
            self.add_weights_variable(name="bias", var_name="b{index}", data=self.get_attr("beta_data"))
            # types are set from the configuration, never shrunk by the bit-exact pass
            self.set_attr("trusted", True)

    return InstanceNorm


def parse_groupnorm(keras_layer, input_names, input_shapes, data_reader):
    """Keras-v2 handler: accept GroupNormalization only as instance norm on (h, w, c) input."""
    # heavy: hls4ml, as in _layer_class()
    from hls4ml.converters.keras_v2_to_hls import get_weights_data, parse_default_keras_layer

    cfg = keras_layer["config"]
    name = cfg["name"]
    shape = input_shapes[0]
    if len(shape) != 4:
        raise JetadError(
            f"layer {name}: instance norm needs (height, width, channels) input, got {shape[1:]}"
        )
    n_chan = int(shape[-1])
    groups = cfg.get("groups", -1)
    if groups not in (-1, n_chan):
        raise JetadError(
            f"layer {name}: GroupNormalization(groups={groups}) is not supported; only instance "
            f"norm (groups=-1 or groups=channels={n_chan})"
        )
    axis = cfg.get("axis", -1)
    if axis not in (-1, 3, [-1], [3]):
        raise JetadError(f"layer {name}: only the channel-last axis (-1) is supported, got {axis}")

    layer = parse_default_keras_layer(keras_layer, input_names)
    layer["class_name"] = HLS_CLASS
    layer["n_pixels"] = int(shape[1]) * int(shape[2])
    layer["n_chan"] = n_chan
    layer["epsilon"] = float(cfg.get("epsilon", 1e-3))
    gamma = get_weights_data(data_reader, name, "gamma") if cfg.get("scale", True) else None
    beta = get_weights_data(data_reader, name, "beta") if cfg.get("center", True) else None
    layer["gamma_data"] = np.ones(n_chan) if gamma is None else np.asarray(gamma)
    layer["beta_data"] = np.zeros(n_chan) if beta is None else np.asarray(beta)
    return layer, list(shape)


CONFIG_TEMPLATE = """struct config{index} : nnet::instancenorm_config {{
    typedef {accum_t.name} accum_t;
    typedef {norm_t.name} norm_t;
    typedef {scale_t.name} scale_t;
    typedef {bias_t.name} bias_t;
    static const unsigned n_pixels = {n_pixels};
    static const unsigned n_chan = {n_chan};
    static const unsigned io_type = nnet::{iotype};
    static const unsigned reuse_factor = {reuse};
    static constexpr float epsilon = {epsilon};
}};\n"""

FUNCTION_TEMPLATE = (
    "nnet::instancenorm<{input_t}, {output_t}, {config}>({input}, {output}, {scale}, {bias});"
)


def _templates(layer_cls):
    # heavy: hls4ml, as in _layer_class()
    from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

    class InstanceNormConfigTemplate(LayerConfigTemplate):
        def __init__(self):
            super().__init__(layer_cls)
            self.template = CONFIG_TEMPLATE

        def format(self, node):
            params = self._default_config_params(node)
            params["epsilon"] = repr(float(node.get_attr("epsilon"))) + "f"
            return self.template.format(**params)

    class InstanceNormFunctionTemplate(FunctionCallTemplate):
        def __init__(self):
            super().__init__(layer_cls, include_header=["nnet_utils/nnet_instancenorm.h"])
            self.template = FUNCTION_TEMPLATE

        def format(self, node):
            params = self._default_function_params(node)
            params["scale"] = node.get_weights("scale").name
            params["bias"] = node.get_weights("bias").name
            return self.template.format(**params)

    return InstanceNormConfigTemplate, InstanceNormFunctionTemplate


def _bit_exact_hooks(layer_cls):
    """hls4ml's bit-exact pass needs the output range of every layer: take it from result_t."""
    # heavy: hls4ml, as in _layer_class()
    from hls4ml.model.optimizer.passes import bit_exact

    def produce(layer):
        prec = layer.get_output_variable().type.precision
        shape = bit_exact.get_output_shape(layer)
        k = int(prec.signed)
        f = int(prec.width - prec.integer)
        i = int(prec.integer - k)
        return (
            np.full(shape, k, dtype=np.int16),
            np.full(shape, i, dtype=np.int16),
            np.full(shape, f, dtype=np.int16),
        )

    bit_exact._produce_kif.register(layer_cls, produce)


_CLASS = None


def layer_class():
    """The hls4ml layer class (created once, hls4ml imported lazily)."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _layer_class()
    return _CLASS


def register(backends: tuple[str, ...] = BACKENDS) -> None:
    """Register the parser, layer, templates and C++ source with hls4ml (idempotent)."""
    # heavy: hls4ml, as in _layer_class()
    import hls4ml

    cls = layer_class()
    if "core" not in _registered:
        hls4ml.converters.register_keras_v2_layer_handler(KERAS_CLASS, parse_groupnorm)
        hls4ml.model.layers.register_layer(HLS_CLASS, cls)
        _bit_exact_hooks(cls)
        _registered.add("core")
    config_t, function_t = _templates(cls)
    for name in backends:
        if name in _registered:
            continue
        backend = hls4ml.backends.get_backend(name)
        backend.register_template(config_t)
        backend.register_template(function_t)
        backend.register_source(HEADER)
        _registered.add(name)
