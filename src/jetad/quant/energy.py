"""QTools energy (qkeras.qtools, 45 nm Horowitz model) of the float and quantized encoders.

How the float encoder is costed. QTools has no arithmetic type for a plain Keras layer: it
takes `keras_quantizer` (weights, biases) and `keras_accumulator` (multiplier and accumulator)
for every layer without QKeras quantizers. The thesis' numbers are reproduced with "fp16" for
both (`qat.qtools_float`), the setting of the hls4ml tutorial's QTools cell (part 6, "check
the estimated energy consumption ... using QTools": `keras_quantizer="fp16"`,
`keras_accumulator="fp16"`, fixed memories, `extract_energy_sum(cfg.include_energy, ...)`),
and of QKeras' own qtools example (`reference_internal = reference_accumulator = "fp16"`):

* Horowitz' fp16 multiply (1.1 pJ) plus fp16 add (0.4 pJ) is the 1.5 pJ per MAC of every row of
  thesis Table 3.2 ("made for a floating-point precision of the model"); fp32 is 3.7 + 0.9 =
  4.6 pJ, 3.07 times more. Measured on the reduced encoder (quantized_bits(16, 6) source,
  fixed memories): float fp16 5.4957 uJ (thesis Table 3.4: 5.4957), fp32 16.8470 uJ, int16
  3.0853, int8 0.8533; only the accumulator type counts (fixed memories cost no parameter
  reads), so keras_quantizer fp32 with keras_accumulator fp16 gives 5.4957 too.
* The total is QTools' `extract_energy_sum` with its `include_energy` rule (a conv or dense
  layer counts inputs + parameters + op_cost, a QActivation its outputs, an Add its op_cost),
  not the sum of all four components: the latter gives 5.4958 uJ, the rule 5.4957.
* What does not explain the float number: `for_reference` (a plain Keras layer takes the same
  path either way: identical totals), the source quantizer (5.4950 with QTools' default
  quantized_bits(8, 0, 1)), memory modes ("sram" 5.61 uJ, "dram" 43.3 uJ with fp16; the thesis
  used "fixed"), and the normalization layers (QTools has no handler for GroupNormalization:
  zero cost, as the thesis says of its instance norms).

The quantized encoder is costed from its own quantizers (`for_reference=False`; the float type
changes nothing there): 3.3646 uJ against the thesis' 3.3434 (+0.6%). 18.6 nJ of the 21 nJ is
conv1_b1_1 reading the 17-bit sum of the residual add before it (conv1_b1_0 reads a 16-bit
activation); the thesis' QKeras graph is not published in enough detail to close the rest.

QTools counts a grouped conv as a full one (it reads the kernel shape; our grouped convs are
ordinary convs with a block-diagonal kernel, and QKeras' own `groups` would be counted the same
way): every energy of a grouped layer in thesis Table 3.2 equals 1.5 pJ times the MACs of the
ungrouped conv. So each row carries QTools' energy as is, the MACs QTools assumed
(`macs_qtools`, ungrouped), the real MACs (`macs`, grouped = /groups) and `energy_pj_real`, the
QTools energy scaled by macs/macs_qtools. Totals are given both ways.
"""

from __future__ import annotations

import contextlib
import io

from jetad.models.reduced_encoder import EncoderConfig, conv_layers
from jetad.params import or_default

COMPONENTS = ("inputs", "outputs", "parameters", "op_cost")
FLOAT_TYPES = ("fp16", "fp32", "int8", "int16", "int32")  # QTools' make_default_quantizer


def qtools_energy(model, bits: int | None = None, integer: int | None = None,
                  float_type: str | None = None, memory: str = "fixed") -> dict[str, dict]:
    """{layer: {component: pJ, "class_name", "total": pJ counted by QTools' include_energy}}
    (QTools' chatter on stdout is swallowed); left out, bits, integer and float_type are the
    schema defaults of qat.bits, qat.integer, qat.qtools_float."""
    # heavy: QKeras imports TensorFlow
    from qkeras import quantized_bits
    from qkeras.qtools import run_qtools
    from qkeras.qtools import settings as qtools_settings

    bits, integer = or_default(bits, "qat", "bits"), or_default(integer, "qat", "integer")
    float_type = or_default(float_type, "qat", "qtools_float")
    if float_type not in FLOAT_TYPES:
        raise ValueError(f"float_type {float_type!r}: QTools knows {', '.join(FLOAT_TYPES)}")
    with contextlib.redirect_stdout(io.StringIO()):
        qt = run_qtools.QTools(
            model, process="horowitz",
            source_quantizers=[quantized_bits(bits, integer, alpha=1)],
            is_inference=True, weights_path=None,
            keras_quantizer=float_type, keras_accumulator=float_type, for_reference=False,
        )
        energy = qt.pe(weights_on_memory=memory, activations_on_memory=memory,
                       min_sram_size=8 * 16 * 1024 * 1024, rd_wr_on_io=False)
        # include_energy is read after QTools() because its constructor updates the settings
        profile = qt.extract_energy_profile(qtools_settings.cfg.include_energy, energy)
    return {name: dict(v["energy"], class_name=energy[name]["class_name"], total=v["total"])
            for name, v in profile.items()}


def macs(layer, groups: int = 1) -> tuple[int, int]:
    """(real MACs, ungrouped MACs) of a conv or dense layer for one image."""
    shape = layer.output_shape
    if len(shape) == 4:
        kh, kw = layer.kernel_size
        c_in = int(layer.input_shape[-1])
        full = int(shape[1] * shape[2] * shape[3] * kh * kw * c_in)
        return full // groups, full
    full = int(layer.input_shape[-1]) * int(shape[-1])
    return full, full


def layer_table(model, cfg: EncoderConfig) -> list[dict]:
    e = qtools_energy(model, cfg.bits, cfg.integer, cfg.qtools_float)
    groups = {}
    for layer in conv_layers(model):
        c = getattr(layer, "kernel_constraint", None)
        groups[layer.name] = int(getattr(c, "groups", 1)) if c is not None else 1
    rows = []
    for layer in model.layers:
        if layer.name not in e:
            continue
        pj = float(e[layer.name]["total"])
        row = {"layer": layer.name, "class_name": e[layer.name]["class_name"], "energy_pj": pj,
               "components": {k: float(e[layer.name][k]) for k in COMPONENTS},
               "groups": groups.get(layer.name, 1), "macs": None, "macs_qtools": None,
               "energy_pj_real": pj}
        if layer.__class__.__name__ in ("Conv2D", "QConv2D", "Dense", "QDense"):
            real, full = macs(layer, row["groups"])
            row.update(macs=real, macs_qtools=full)
            op = float(e[layer.name].get("op_cost", 0.0))
            row["energy_pj_real"] = pj - op + op * real / full
        rows.append(row)
    return rows


def compare(float_model, quant_model, cfg: EncoderConfig) -> dict:
    """Per-layer table and totals (uJ) for both models, and the relative saving."""
    out: dict = {"process": "45nm horowitz (qkeras.qtools)", "units": "pJ per image (totals uJ)",
                 "float_type": cfg.qtools_float}
    for key, model in (("float", float_model), ("quantized", quant_model)):
        rows = layer_table(model, cfg)
        out[key] = {
            "layers": rows,
            "total_uj": sum(r["energy_pj"] for r in rows) / 1e6,
            "total_uj_real_macs": sum(r["energy_pj_real"] for r in rows) / 1e6,
        }
    for suffix in ("", "_real_macs"):
        f, q = out["float"][f"total_uj{suffix}"], out["quantized"][f"total_uj{suffix}"]
        out[f"saving{suffix}"] = (f - q) / f if f else None
    return out
