"""Every workaround jetad needs to run the pinned hls4ml 1.3.0 on QKeras 0.9.0 models, in one place.

Import hls4ml through `import_hls4ml()`, never directly: it applies the patches below (once per
process) and registers jetad's instance-norm extension layer (`jetad.fpga.hls4ml.instancenorm`).

Each patch names what upstream does wrong and where; tests/fpga/hls4ml/test_compat.py reproduces each
wrong behaviour on the pinned versions, so the test fails (saying "upstream fixed: remove the
patch in fpga/hls4ml/compat.py") once a newer hls4ml no longer needs the patch. Checked against hls4ml's
main branch of 2026-06-10 (commit ef92ebdf2): all three are still needed there.

1. `keras` -> tf_keras (`_alias_keras`). hls4ml 1.3.0 picks its Keras parser from the installed
   `keras` package, not from the model: `converters/__init__.py::convert_from_keras_model` and
   `utils/config.py::config_from_keras_model` do `import keras` and take the Keras-3 parser when
   `keras.__version__ >= '3.0'` (since hls4ml#1116, "Keras v3 Support"). TensorFlow >= 2.16
   installs Keras 3 next to tf_keras (Keras 2, which QKeras 0.9.0 needs), so a tf_keras model
   reaches the Keras-3 parser and fails ("'Node' object has no attribute 'arguments'").
   `sys.modules['keras']` is aliased to tf_keras before hls4ml is imported and stays so for the
   process (hls4ml imports `keras` lazily at conversion time); with TF_USE_LEGACY_KERAS=1 (set by
   `jetad`) all jetad code uses tf_keras anyway. hls4ml#1473 (QKeras v3 handlers, 2026-05)
   is the upstream route off this: QKeras models on Keras 3.
2. QKeras' leaky `quantized_relu` in the bit-exact pass (`_patch_leaky_relu`). For
   `quantized_relu(..., negative_slope=s)` hls4ml's QKeras handler (`converters/keras/qkeras.py::
   get_activation_quantizer`, since hls4ml#987) names the activation 'leaky_relu', while the
   bit-exact rule for parametrized activations (`model/optimizer/passes/bit_exact.py`,
   `_produce_kif` for `ParametrizedActivation`, hls4ml#1392) matches only 'leakyrelu'; its fallback
   branch then calls `np.ones(k)` on an array (meant `np.ones_like`) and crashes with "only
   integer scalar arrays can be converted to a scalar index". The patch runs hls4ml's
   'leakyrelu' range rule for 'leaky_relu'. No upstream issue filed.
3. Bit-exact rules for Cropping2D (`_patch_cropping`). hls4ml supports Cropping2D since hls4ml#1309
   (reported in hls4ml#1308) but `bit_exact.py` has no `_produce_kif` for it (NotImplementedError when a
   `bit_exact=True` model holds one; ZeroPadding got its rules in hls4ml#1482, Cropping did not), and
   the default `_request_kif` would ask for every bit of the cropped-away inputs. jetad's
   per-group form of grouped convs (`jetad.fpga.hls4ml.grouped`) is built from Cropping2D layers.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np

from jetad.errors import JetadError
from jetad.fpga.hls4ml import instancenorm

_KERAS_ALIAS_NEEDED: bool | None = None
# Filled by import_hls4ml(), and read by tests/fpga/hls4ml/test_compat.py, which checks that
# each workaround is still needed: the Keras 3 module that `import keras` gave before the
# alias (None without Keras 3), and each patched rule as (dispatcher, layer class, jetad's
# rule, the rule hls4ml dispatched to before the patch).
DISPLACED_KERAS = None
RULES: list[tuple] = []


def import_hls4ml():
    """hls4ml, with `keras` aliased to tf_keras, the patches applied and the instance-norm layer
    registered (each once per process)."""
    _alias_keras()
    # heavy, and only after the alias: hls4ml reads `keras` when it converts
    import hls4ml

    if not RULES:
        instancenorm.register()
        RULES.extend(_patch_leaky_relu() + _patch_cropping())
        for dispatcher, cls, ours, _theirs in RULES:
            dispatcher.register(cls, ours)
    return hls4ml


def _alias_keras() -> None:
    global _KERAS_ALIAS_NEEDED, DISPLACED_KERAS
    if _KERAS_ALIAS_NEEDED is not None:
        return
    # heavy: TensorFlow starts only when hls4ml is needed
    import tf_keras

    current = sys.modules.get("keras")
    if current is None:
        if importlib.util.find_spec("keras") is not None:
            # optional: Keras 3 may sit beside tf_keras, and only its version is read
            import keras as current  # noqa: F401  (only to read its version)
    version = getattr(current, "__version__", "0") if current is not None else "0"
    _KERAS_ALIAS_NEEDED = version >= "3"
    if _KERAS_ALIAS_NEEDED:
        DISPLACED_KERAS = current
    sys.modules["keras"] = tf_keras


def _patch_leaky_relu() -> list[tuple]:
    # heavy: hls4ml, imported by import_hls4ml() before the patches
    from hls4ml.model.layers import ParametrizedActivation
    from hls4ml.model.optimizer.passes import bit_exact

    original = bit_exact._produce_kif.dispatch(ParametrizedActivation)

    def produce(layer):
        name = layer.attributes["activation"]
        if str(name).lower() != "leaky_relu":
            return original(layer)
        layer.attributes["activation"] = "leakyrelu"
        try:
            return original(layer)
        finally:
            layer.attributes["activation"] = name

    return [(bit_exact._produce_kif, ParametrizedActivation, produce, original)]


def _patch_cropping() -> list[tuple]:
    """Cropping2D is an exact data move: the output range is the input's, cropped, and the
    cropped-away inputs are requested by no one."""
    # heavy: hls4ml, as in _patch_leaky_relu()
    from hls4ml.model.layers import Cropping2D
    from hls4ml.model.optimizer.passes import bit_exact

    def window(layer):
        a = layer.attributes
        if a.get("data_format", "channels_last") != "channels_last":
            raise JetadError(f"layer '{layer.name}': only channels_last cropping is supported")
        return (slice(a["crop_top"], a["in_height"] - a["crop_bottom"]),
                slice(a["crop_left"], a["in_width"] - a["crop_right"]))

    def produce(layer):
        k, i, f = bit_exact.get_input_kifs(layer)[0]
        rows, cols = window(layer)
        return k[rows, cols], i[rows, cols], f[rows, cols]

    def request(layer):
        k, i, f = bit_exact.requested_kif(layer)
        shape = bit_exact.get_input_shapes(layer)[0]
        rows, cols = window(layer)
        # nothing downstream reads the cropped-away inputs: request no bits of them (hls4ml's
        # "no request" is k = 0, i = f = -127, as in bit_exact.requested_kif)
        out = []
        for a, empty in ((k, 0), (i, -127), (f, -127)):
            full = np.full(shape, empty, dtype=a.dtype)
            full[rows, cols] = a
            out.append(full)
        return (tuple(out),)

    return [(bit_exact._produce_kif, Cropping2D, produce,
             bit_exact._produce_kif.dispatch(Cropping2D)),
            (bit_exact._request_kif, Cropping2D, request,
             bit_exact._request_kif.dispatch(Cropping2D))]
