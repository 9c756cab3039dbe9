"""Per-layer resource estimates without Vivado, each row labelled with its source.

- source='analytic' (DSP): hls4ml's Latency strategy processes one output pixel at a time
  (io_stream, and io_parallel with the default ParallelizationFactor = 1) with every kernel
  multiplication unrolled, so it needs ceil(M / reuse_factor) multipliers for a kernel with M
  nonzero weights. A multiplication by a constant maps to a DSP only when the constant has more
  than `dsp_min_bits` significant bits (shorter ones become shift-adds in LUTs); this threshold is
  a modelling choice, not a Vivado fact. Block-diagonal zeros (grouped convs) cost nothing.
- source='da4ml' (LUT): da4ml 0.6's constant-matrix-vector solver on the same kernel, inputs at
  the QKeras <16,6> grid; its cost approximates LUTs of a distributed-arithmetic (multiplier-free)
  implementation, not the hls4ml Latency/Resource architecture. The solver is run with
  adder_size=1 (the default of da4ml's own tracer): its cost is then in adder bits, one LUT each
  on a carry chain; with solve()'s default (-1) the cost counts adders instead, ~20x fewer than
  LUTs (yosys synth_xilinx of the same Verilog: 1,667 LUTs for conv1_b2_0, cost 1,493 at
  adder_size=1, 77 at -1).

Percentages are against the Alveo U250's totals, as in [Valente 2022] Table 3.5.
"""

from __future__ import annotations

import math

import numpy as np

from jetad.params import or_default

U250 = {"LUT": 1_728_000, "FF": 3_456_000, "DSP": 12_288, "BRAM": 5_376}


def percentages(row: dict, totals: dict = U250) -> dict:
    return {f"{k}_pct": 100.0 * row[k] / totals[k] for k in totals if k in row and row[k] is not None}


def significant_bits(w: np.ndarray, frac_bits: int) -> np.ndarray:
    """Bits between the highest and lowest set bit of each |w| on a 2^-frac_bits grid."""
    q = np.abs(np.round(np.asarray(w, dtype=np.float64) * 2.0**frac_bits)).astype(np.int64)
    out = np.zeros(q.shape, dtype=np.int64)
    nz = q > 0
    v = q[nz]
    low = (v & -v).astype(np.float64)
    out[nz] = np.floor(np.log2(v)).astype(np.int64) - np.log2(low).astype(np.int64) + 1
    return out


def quantized_kernel(layer) -> np.ndarray:
    """The kernel as the hardware sees it (QKeras quantizer applied when present)."""
    w = layer.get_weights()[0]
    q = getattr(layer, "kernel_quantizer_internal", None)
    if q is not None:
        w = np.asarray(q(w))
    return np.asarray(w)


def layer_multiplications(layer) -> tuple[int, np.ndarray]:
    """(output pixels, kernel reshaped to (inputs per output, outputs))."""
    w = quantized_kernel(layer)
    if w.ndim == 4:
        pixels = int(np.prod(layer.output_shape[1:3]))
        return pixels, w.reshape(-1, w.shape[-1])
    return 1, w


def analytic_dsp(layer, reuse_factor: int | None = None, frac_bits: int | None = None,
                 dsp_min_bits: int | None = None) -> dict:
    """The layer's DSP and multipliers; a keyword left out takes the schema default of
    hls.reuse_factor, resources.frac_bits, resources.dsp_min_bits."""
    reuse_factor = or_default(reuse_factor, "hls", "reuse_factor")
    frac_bits = or_default(frac_bits, "resources", "frac_bits")
    dsp_min_bits = or_default(dsp_min_bits, "resources", "dsp_min_bits")
    _pixels, k = layer_multiplications(layer)
    nonzero = int(np.count_nonzero(k))
    wide = int(np.count_nonzero(significant_bits(k, frac_bits) > dsp_min_bits))
    return {
        "layer": layer.name,
        "nonzero_weights": nonzero,
        "DSP": math.ceil(wide / reuse_factor),
        "multipliers": math.ceil(nonzero / reuse_factor),
        "reuse_factor": reuse_factor,
        "source": "analytic",
    }


def da4ml_available() -> bool:
    try:
        # optional: the question is only whether da4ml is installed
        import da4ml.cmvm  # noqa: F401
    except ImportError:
        return False
    return True


def da4ml_solution(kernel: np.ndarray, bits: int | None = None, integer: int | None = None):
    """da4ml's pipelined solution of `kernel` (inputs x outputs) for signed <bits, integer>
    inputs (left out: the schema defaults of qat.bits, qat.integer); its cost is in LUTs (adder
    bits, see the module docstring)."""
    # optional and heavy: da4ml only for its rows
    from da4ml.cmvm import solve

    bits, integer = or_default(bits, "qat", "bits"), or_default(integer, "qat", "integer")
    step = 2.0 ** -(bits - 1 - integer)
    hi = 2.0**integer
    # a copy: da4ml's binding refuses the read-only arrays TensorFlow tensors convert to
    return solve(np.array(kernel, dtype=np.float32), adder_size=1,
                 qintervals=[(-hi, hi - step, step)] * kernel.shape[0])


def da4ml_lut(layer, bits: int | None = None, integer: int | None = None) -> dict:
    """LUT cost of the layer's kernel as a constant-matrix-vector product (one pixel)."""
    _pixels, k = layer_multiplications(layer)
    sol = da4ml_solution(k, bits, integer)
    return {"layer": layer.name, "LUT": int(round(sol.cost)), "source": "da4ml"}


def kernel_layers(model) -> list:
    """The conv and dense layers, in model order: the ones with a constant kernel."""
    return [layer for layer in model.layers if layer.get_weights()
            and layer.__class__.__name__ in ("QConv2D", "Conv2D", "QDense", "Dense")]


def estimate(model, reuse_factor: int | None = None, frac_bits: int | None = None,
             dsp_min_bits: int | None = None, use_da4ml: bool = True, bits: int | None = None,
             integer: int | None = None) -> list[dict]:
    """Rows per conv/dense layer: analytic DSP, and da4ml LUT when available (separate rows)."""
    rows = []
    for layer in kernel_layers(model):
        row = analytic_dsp(layer, reuse_factor, frac_bits, dsp_min_bits)
        row.update(percentages(row))
        rows.append(row)
        if use_da4ml and da4ml_available():
            lrow = da4ml_lut(layer, bits, integer)
            lrow.update(percentages(lrow))
            rows.append(lrow)
    return rows
