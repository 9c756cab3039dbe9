"""da4ml -> Verilog -> Verilator/yosys on a small QKeras model (jetad.fpga.rtl.flow): real tools."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from jetad.errors import JetadError
from jetad.fpga.rtl import quantizers, trace

needs_verilator = pytest.mark.skipif(
    shutil.which("verilator") is None or shutil.which("g++") is None,
    reason="verilator (Debian: apt-get install verilator) or g++ not on PATH")
needs_yosys = pytest.mark.skipif(shutil.which("yosys") is None,
                                 reason="yosys (Debian: apt-get install yosys) not on PATH")


def tiny_model(slope: float = 0.25):
    """Conv (stride 2, same padding, 2 groups as a block-diagonal kernel) -> leaky quantized
    relu -> flatten -> two dense heads; 8-bit words so QKeras' float32 sums are exact, and
    activations with fewer fractional bits than the sums, so rounding ties occur."""
    import tf_keras
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    rng = np.random.default_rng(7)
    inp = tf_keras.Input((4, 4, 2))
    x = QActivation(quantized_bits(8, 3, alpha=1), name="input_quant")(inp)
    x = QConv2D(4, 3, strides=2, padding="same", name="conv",
                kernel_quantizer=quantized_bits(6, 1, alpha=1),
                bias_quantizer=quantized_bits(8, 3, alpha=1))(x)
    x = QActivation(quantized_relu(8, 3, negative_slope=slope), name="conv_act")(x)
    x = tf_keras.layers.Flatten(name="flatten")(x)
    heads = []
    for name, n in (("z_mean", 3), ("z_var", 2)):
        heads.append(QDense(n, name=name, kernel_quantizer=quantized_bits(6, 1, alpha=1),
                            bias_quantizer=quantized_bits(8, 3, alpha=1))(x))
    y = [QActivation(quantized_bits(10, 4, alpha=1), name=f"{h.name.split('/')[0]}_q")(h)
         for h in heads]
    model = tf_keras.Model(inp, y, name="tiny")
    conv = model.get_layer("conv")
    k = rng.normal(0, 0.6, conv.get_weights()[0].shape)
    k[:, :, :1, 2:] = 0.0  # a grouped conv: block-diagonal kernel
    k[:, :, 1:, :2] = 0.0
    conv.set_weights([k, rng.normal(0, 0.5, 4)])
    for name in ("z_mean", "z_var"):
        d = model.get_layer(name)
        d.set_weights([rng.normal(0, 0.5, w.shape) for w in d.get_weights()])
    return model


def inputs(n=400, seed=3):
    return np.random.default_rng(seed).uniform(-9, 9, (n, 4, 4, 2)).astype(np.float32)


def qkeras_outputs(model, x):
    y = model.predict(x, verbose=0, batch_size=len(x))
    return np.concatenate([np.asarray(a).reshape(len(x), -1) for a in y], axis=1)


def test_round_half_even_matches_qkeras_on_ties():
    """The traced quantizer equals QKeras on exact ties, where half-up rounding would not."""
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from qkeras import quantized_bits, quantized_relu


    x = np.arange(-40, 40, dtype=np.float32) / 8  # 3 fractional bits -> ties at 1 and 2 bits
    for q in (quantized_bits(6, 2, alpha=1), quantized_relu(6, 2),
              quantized_relu(6, 3, negative_slope=0.5), quantized_bits(4, 1, alpha=1)):
        inp = FixedVariableArrayInput((len(x),))
        out = quantizers.apply_quantizer(inp.quantize(1, 5, 3), q, "test")
        got = comb_trace(inp, out).predict(x[None, :])[0]
        want = np.asarray(q(x))
        assert np.array_equal(got, want), (q, x[got != want], got[got != want],
                                           want[got != want])
    half_up = np.floor(x * 4 + 0.5) / 4
    assert not np.array_equal(half_up, np.asarray(quantized_bits(6, 2, alpha=1)(x)))


def test_constants_round_as_qkeras():
    """A pruned conv's output that sees only zero weights is its bias, a constant: the
    traced quantizers round it as QKeras does, ties and saturation included."""
    from da4ml.trace import FixedVariableArray, FixedVariableArrayInput
    from qkeras import quantized_bits, quantized_relu


    values = np.arange(-600, 600, dtype=np.float64) / 64  # 6 fractional bits: ties below
    inp = FixedVariableArrayInput((1,))
    zero = inp.quantize(1, 5, 3)[0] * 0.0
    x = FixedVariableArray(np.array([zero + float(c) for c in values], dtype=object),
                           inp.solver_options, hwconf=inp.hwconf)
    for q in (quantized_relu(8, 3), quantized_bits(8, 1, alpha=1), quantized_bits(6, 0, alpha=1),
              quantized_relu(8, 3, negative_slope=0.25)):
        y = np.ravel(quantizers.apply_quantizer(x, q, "test")._vars)
        assert all(v.low == v.high for v in y)  # still constants: no logic spent
        got = np.array([float(v.low) for v in y])
        want = np.asarray(q(values.astype(np.float32)), np.float64)
        assert np.array_equal(got, want), (q, values[got != want], got[got != want])


def test_da4ml_constant_wrap_still_broken():
    """Why `_round_constant` exists: da4ml 0.6 does not wrap a constant. When this fails,
    upstream fixed it: the constant branch in jetad.fpga.rtl.flow._round_conv may go."""
    from da4ml.trace import FixedVariableArrayInput

    zero = FixedVariableArrayInput((1,)).quantize(1, 5, 3)[0] * 0.0
    lsb = (zero + 7 / 64).quantize(0, -4, 5, "WRAP", "TRN")  # the bit of weight 2^-5: 1/32
    assert float(lsb.low) != 1 / 32, "upstream fixed: remove _round_constant in fpga/rtl/quantizers.py"


def test_untraceable_layer_named():
    import tf_keras
    from qkeras import QActivation, quantized_bits


    inp = tf_keras.Input((4, 4, 1))
    x = QActivation(quantized_bits(8, 3, alpha=1), name="input_quant")(inp)
    x = tf_keras.layers.MaxPooling2D(name="pool")(x)
    with pytest.raises(JetadError, match="pool"):
        trace.trace(tf_keras.Model(inp, x))


@pytest.mark.build  # Verilator's C++ build
@needs_verilator
def test_verilator_equals_qkeras_bit_for_bit(tmp_path):
    from jetad.fpga.rtl import flow as rtl

    model = tiny_model()
    design = rtl.build(model, tmp_path / "tiny")
    assert design.n_inputs == 32 and design.n_outputs == 5
    assert design.latency_cycles >= 1 and design.latency_ns == 5.0 * design.latency_cycles
    design.compile()
    x = inputs(n=2000)
    want = qkeras_outputs(model, x)
    got = design.predict(quantizers.input_grid(model, x))
    assert got.shape == want.shape == (2000, 5)  # docs/fpga.md: 10,000 of 10,000 outputs
    assert np.count_nonzero(want) > want.size // 2  # not a trivially zero model
    mismatch = np.argwhere(got != want)
    assert mismatch.size == 0, (mismatch[:5], got[tuple(mismatch[0])], want[tuple(mismatch[0])])
    # clocked directly (not through da4ml's binder, which is told the latency)
    assert design.measure_latency() == design.latency_cycles


@pytest.mark.build  # yosys synthesis
@needs_yosys
def test_yosys_counts_the_pipeline(tmp_path):
    from jetad.fpga.rtl import flow as rtl

    design = rtl.build(tiny_model(), tmp_path / "tiny")
    got = design.synthesize()
    # every pipeline register bit is a flip-flop after synthesis, up to constant bits yosys drops
    assert 0 < got["FF"] <= design.reg_bits
    assert got["LUT"] > 0
    assert "DSP48E2" not in got["cells"]  # distributed arithmetic: no multipliers
