"""QKeras quantizers on da4ml's symbolic fixed-point variables, bit for bit as QKeras computes them.

What is traced, with QKeras' semantics (checked bit for bit by tests/fpga/rtl/test_flow.py):
- `quantized_bits(bits, integer, alpha=1)`: grid 2^-(bits-1-integer), saturate to
  [-2^integer, 2^integer - step], round half to even (QKeras rounds with tf.round; hls4ml calls
  it AP_RND_CONV). da4ml 0.6 rounds only by truncation or half-up, so half-to-even is built from
  them: x + 2^-(f+1) - 2^-F + b 2^-F, truncated to f fractional bits, where F is x's own
  fractional bits and b the bit of weight 2^-f of x (a tie rounds up exactly when b is 1).
- `quantized_relu(bits, integer, negative_slope=s)`: unsigned grid 2^-(bits-integer) without
  slope; with slope (a power of two) grid 2^-(bits-1-integer), positive part saturated at
  2^integer - step, negative part round(s x) saturated at -s 2^integer, as QKeras' formula.
- QConv2D (any stride, 'same'/'valid' padding, TensorFlow's pad split) and QDense, with their
  kernel and bias quantizers applied to the constants; zero weights (block-diagonal grouped
  kernels) cost nothing; Flatten; several outputs (the dense heads) are concatenated."""

from __future__ import annotations

import math

import numpy as np

from jetad.errors import JetadError


def quantizer_config(q) -> tuple[str, dict]:
    if q is None:
        return "linear", {}
    name = q.__class__.__name__ if hasattr(q, "get_config") else getattr(q, "__name__", str(q))
    cfg = q.get_config() if hasattr(q, "get_config") else {}
    return name, cfg


def _round_conv(v, k: int, i: int, f: int, overflow: str):
    """QKeras/tf.round rounding (half to even) of one da4ml variable to <k, i, f>, then
    `overflow` ('SAT' or 'WRAP'); da4ml itself only truncates or rounds half up."""
    if v.low == v.high:
        return _round_constant(v, k, i, f, overflow)
    own_f = int(v.kif[2])
    if own_f <= f:  # nothing below the new LSB: no rounding
        return v.quantize(k, i, f, overflow, "TRN")
    lsb = v.quantize(0, 1 - f, f, "WRAP", "TRN")  # the bit of weight 2^-f, as 0 or 2^-f
    adj = v + (2.0 ** (-f - 1) - 2.0 ** (-own_f)) + lsb * 2.0 ** (f - own_f)
    return adj.quantize(k, i, f, overflow, "TRN")


def _round_constant(v, k: int, i: int, f: int, overflow: str):
    """A constant (a pruned kernel's output that sees only zero weights and padding is its
    bias) rounded here, exactly: da4ml 0.6 folds a constant's WRAP quantize without wrapping
    (7/64 to <0, -4, 5> gives 3/32, not 1/32), which broke the half-to-even bit above and put
    the distilled student's RTL one LSB off QKeras on a fifth of the jets."""
    c = float(v.low)
    q = float(np.round(c * 2.0**f)) / 2.0**f  # half to even, as tf.round
    if overflow != "SAT":
        raise JetadError(f"constant {c}: overflow {overflow} is not traced")
    q = min(max(q, -(2.0**i) if k else 0.0), 2.0**i - 2.0**-f)
    return (v * 0.0 + q).quantize(k, i, f, "SAT", "TRN")


def _each(x, fn):
    # optional and heavy: da4ml loads only on the RTL route
    from da4ml.trace import FixedVariableArray

    flat = [fn(v) for v in np.ravel(x._vars)]
    return FixedVariableArray(np.array(flat, dtype=object).reshape(x.shape), x.solver_options,
                              hwconf=x.hwconf)


def _power_of_two(s: float) -> bool:
    return s > 0 and math.log2(s) == int(math.log2(s))


def apply_quantizer(x, q, where: str):
    """The da4ml form of QKeras quantizer `q` applied to the variables `x`."""
    name, cfg = quantizer_config(q)
    if name == "linear":
        return x
    if name == "quantized_bits":
        alpha = cfg.get("alpha")
        if alpha not in (1, 1.0) or cfg.get("symmetric") or not cfg.get("keep_negative", True):
            raise JetadError(f"{where}: quantized_bits({cfg}) is traced only with alpha=1, "
                             "keep_negative, not symmetric")
        bits, integer = int(cfg["bits"]), int(cfg["integer"])
        return _each(x, lambda v: _round_conv(v, 1, integer, bits - 1 - integer, "SAT"))
    if name == "quantized_relu":
        bits, integer = int(cfg["bits"]), int(cfg["integer"])
        s = float(cfg.get("negative_slope", 0.0) or 0.0)
        if cfg.get("use_sigmoid") or cfg.get("relu_upper_bound") is not None:
            raise JetadError(f"{where}: quantized_relu({cfg}) options not traced")
        if s == 0.0:
            return _each(x, lambda v: _round_conv(v, 0, integer, bits - integer, "SAT"))
        if not _power_of_two(s):
            raise JetadError(f"{where}: negative_slope {s} is traced only as a power of two")
        f = bits - 1 - integer
        bound = s * 2.0**integer
        i_neg = int(math.ceil(math.log2(bound))) + 1  # room for the bound itself

        def leaky(v):
            pos = _round_conv(v, 0, integer, f, "SAT")
            neg = _round_conv(-(v * s), 0, i_neg, f, "SAT").min_of(bound)
            return pos - neg

        return _each(x, leaky)
    raise JetadError(f"{where}: quantizer {name} is not traced (quantized_bits, quantized_relu)")


def input_grid(model, x: np.ndarray) -> np.ndarray:
    """`x` through the model's input quantizer (what the RTL receives)."""
    q = input_quantizer(model)
    return np.asarray(q(np.asarray(x, dtype=np.float32)), dtype=np.float32)


def input_quantizer(model):
    first = consumers(model, model.inputs[0])
    if len(first) != 1 or first[0].__class__.__name__ != "QActivation":
        raise JetadError(f"model '{model.name}': its input must feed one QActivation "
                         "(the input quantizer) before any arithmetic")
    return first[0].activation


def consumers(model, tensor):
    out = []
    for layer in model.layers:
        if layer.__class__.__name__ == "InputLayer":  # its own node holds the input
            continue
        for node in layer.inbound_nodes:
            ins = node.input_tensors
            ins = ins if isinstance(ins, list) else [ins]
            if any(t is tensor for t in ins):
                out.append(layer)
    return out
