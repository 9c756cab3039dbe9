"""jetad.fpga.hls4ml.compat: each workaround is still needed by the pinned hls4ml/QKeras, and works.

The `*_still_needed` tests run hls4ml without the patch and expect its failure; once a newer
hls4ml does not fail, they fail and say which patch to remove.
"""

from __future__ import annotations

import sys
import traceback
from contextlib import contextmanager

import pytest

FIXED = "upstream fixed: remove the patch in fpga/hls4ml/compat.py"


def cropping_qmodel():
    """Quantized input -> Cropping2D -> 1x1 QConv2D (as in the per-group encoder)."""
    import numpy as np
    import tf_keras
    from qkeras import QActivation, QConv2D, quantized_bits

    def q():
        return quantized_bits(16, 6, alpha=1)

    inp = tf_keras.Input((6, 6, 2))
    x = QActivation(q(), name="input_quant")(inp)
    x = tf_keras.layers.Cropping2D(((1, 0), (0, 2)), name="crop")(x)
    x = QConv2D(3, 1, kernel_quantizer=q(), bias_quantizer=q(), name="conv")(x)
    model = tf_keras.Model(inp, x, name="cropped")
    rng = np.random.default_rng(3)
    model.get_layer("conv").set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32)
                                         for w in model.get_layer("conv").get_weights()])
    return model


@contextmanager
def unpatched_rules():
    """hls4ml's own bit-exact rules for the patched layers, for the duration of the block."""
    from jetad.fpga.hls4ml import compat

    compat.import_hls4ml()
    try:
        for dispatcher, cls, _ours, theirs in compat.RULES:
            dispatcher.register(cls, theirs)
        yield
    finally:
        for dispatcher, cls, ours, _theirs in compat.RULES:
            dispatcher.register(cls, ours)


def _hls4ml_failure(model, out_dir) -> BaseException | None:
    """What hls4ml's own bit-exact conversion of `model` raises (None when it converts)."""
    from jetad.fpga.hls4ml import compat

    hls4ml = compat.import_hls4ml()
    try:
        hls4ml.converters.convert_from_keras_model(model, output_dir=str(out_dir),
                                                   backend="Vivado", bit_exact=True)
    except Exception as exc:  # hls4ml raises whatever its passes raise
        return exc
    return None


def _raised_in(exc: BaseException, filename: str) -> bool:
    return any(frame.filename.endswith(filename) for frame in traceback.extract_tb(exc.__traceback__))


def test_keras_alias():
    import tf_keras

    from jetad.fpga.hls4ml import compat

    compat.import_hls4ml()
    assert compat.DISPLACED_KERAS is not None  # Keras 3 is installed next to tf_keras
    assert sys.modules["keras"] is tf_keras


def test_keras_alias_still_needed(small_qmodel):
    """hls4ml chooses its parser from the installed `keras`: with Keras 3 there, a tf_keras
    (QKeras) model goes to the Keras-3 parser, which cannot read it."""
    from jetad.fpga.hls4ml import compat

    hls4ml = compat.import_hls4ml()
    keras3 = compat.DISPLACED_KERAS
    if keras3 is None:
        pytest.fail(f"Keras 3 is not installed: the keras alias is not needed ({FIXED})")
    aliased = sys.modules["keras"]
    sys.modules["keras"] = keras3
    try:
        hls4ml.utils.config_from_keras_model(small_qmodel(name="alias"), granularity="name")
    except Exception as exc:
        assert _raised_in(exc, "keras_v3_to_hls.py"), exc  # the Keras-3 parser failed on it
    else:
        pytest.fail(f"hls4ml read a tf_keras model with Keras 3 installed: {FIXED} (keras alias)")
    finally:
        sys.modules["keras"] = aliased
    # and with the alias the same model converts
    assert hls4ml.utils.config_from_keras_model(small_qmodel(name="alias"), granularity="name")


def test_leaky_relu_patch_still_needed(tmp_path, small_qmodel):
    """hls4ml names QKeras' leaky quantized_relu 'leaky_relu'; its bit-exact rule knows only
    'leakyrelu' and crashes in its fallback branch."""
    from jetad.fpga.hls4ml import compat

    model = small_qmodel(name="leaky")  # quantized_relu(16, 6, negative_slope=0.25)
    with unpatched_rules():
        exc = _hls4ml_failure(model, tmp_path / "unpatched")
    if exc is None:
        pytest.fail(f"hls4ml converts quantized_relu(negative_slope=...) bit-exactly: {FIXED} "
                    "(_patch_leaky_relu)")
    assert _raised_in(exc, "bit_exact.py"), exc
    hm = compat.import_hls4ml().converters.convert_from_keras_model(
        model, output_dir=str(tmp_path / "patched"), backend="Vivado", bit_exact=True)
    assert hm.graph["gconv_act"].attributes["activation"] == "leaky_relu"


def test_cropping_patch_still_needed(tmp_path):
    """hls4ml's bit-exact pass has no rule for Cropping2D."""

    model = cropping_qmodel()
    with unpatched_rules():
        exc = _hls4ml_failure(model, tmp_path / "unpatched")
    if exc is None:
        pytest.fail(f"hls4ml's bit-exact pass handles Cropping2D: {FIXED} (_patch_cropping)")
    assert isinstance(exc, NotImplementedError) and "Cropping2D" in str(exc), exc


@pytest.mark.build
def test_cropping_rules_bit_exact(tmp_path, hls_settings):
    """With the patch the cropped model converts, and its emulation equals QKeras."""
    import numpy as np

    from jetad.fpga.hls4ml.build import compile_model
    from jetad.fpga.hls4ml.emulate import Compiled, emulate, keras_outputs
    from jetad.fpga.hls4ml.project import convert

    model = cropping_qmodel()
    hm = convert(model, tmp_path / "crop", hls_settings, "cropped")
    comp = Compiled.of(hm, compile_model(hm))
    x = (np.random.default_rng(4).random((32, 6, 6, 2)) * 8 - 4).astype(np.float32)
    got, want = emulate(comp, x)[0], keras_outputs(model, x)[0]
    assert got.shape == (32, 5 * 4 * 3)
    assert np.array_equal(got, want) and np.unique(want).size > 10
