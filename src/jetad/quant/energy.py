"""QTools energy (qkeras.qtools, 45 nm Horowitz model) of the float and quantized encoders.

QTools counts a grouped conv as a full one (it reads the kernel shape; our grouped convs are
ordinary convs with a block-diagonal kernel, and QKeras' own `groups` would be counted the same
way): every energy of a grouped layer in thesis Table 3.2 equals 1.5 pJ times the MACs of the
ungrouped conv (SPEC 4). So each row carries QTools' energy as is, the MACs QTools assumed
(`macs_qtools`, ungrouped), the real MACs (`macs`, grouped = /groups) and `energy_pj_real`, the
QTools energy scaled by macs/macs_qtools. Totals are given both ways.
"""

from __future__ import annotations

import contextlib
import io

from jetad.quant.encoder import EncoderConfig, _conv_layers

COMPONENTS = ("inputs", "outputs", "parameters", "op_cost")


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


def qtools_energy(model, bits: int = 16, integer: int = 6, quantized: bool = True,
                  memory: str = "fixed") -> dict[str, dict]:
    """{layer: {component: pJ}} from QTools (its chatter on stdout is swallowed)."""
    from qkeras import quantized_bits
    from qkeras.qtools import run_qtools

    with contextlib.redirect_stdout(io.StringIO()):
        qt = run_qtools.QTools(
            model, process="horowitz",
            source_quantizers=[quantized_bits(bits, integer, alpha=1)],
            is_inference=True, weights_path=None,
            keras_quantizer="fp32", keras_accumulator="fp32", for_reference=not quantized,
        )
        energy = qt.pe(weights_on_memory=memory, activations_on_memory=memory,
                       min_sram_size=8 * 16 * 1024 * 1024, rd_wr_on_io=False)
    return {name: dict(v["energy"], class_name=v.get("class_name")) for name, v in energy.items()
            if isinstance(v, dict) and "energy" in v}


def layer_table(model, cfg: EncoderConfig, quantized: bool) -> list[dict]:
    e = qtools_energy(model, cfg.bits, cfg.integer, quantized)
    groups = {}
    for layer in _conv_layers(model):
        c = getattr(layer, "kernel_constraint", None)
        groups[layer.name] = int(getattr(c, "groups", 1)) if c is not None else 1
    rows = []
    for layer in model.layers:
        if layer.name not in e:
            continue
        pj = float(sum(e[layer.name].get(k, 0.0) for k in COMPONENTS))
        row = {"layer": layer.name, "class_name": e[layer.name]["class_name"], "energy_pj": pj,
               "groups": groups.get(layer.name, 1), "macs": None, "macs_qtools": None,
               "energy_pj_real": pj}
        if layer.__class__.__name__ in ("Conv2D", "QConv2D", "Dense", "QDense"):
            real, full = macs(layer, row["groups"])
            row.update(macs=real, macs_qtools=full)
            op = float(e[layer.name].get("op_cost", 0.0))
            row["energy_pj_real"] = pj - op + op * real / full
        rows.append(row)
    return rows


def compare(float_model, quant_model, cfg: EncoderConfig | None = None) -> dict:
    """Per-layer table and totals (uJ) for both models, and the relative saving."""
    cfg = cfg or EncoderConfig()
    out: dict = {"process": "45nm horowitz (qkeras.qtools)", "units": "pJ per image (totals uJ)"}
    for key, model, q in (("float", float_model, False), ("quantized", quant_model, True)):
        rows = layer_table(model, cfg, q)
        out[key] = {
            "layers": rows,
            "total_uj": sum(r["energy_pj"] for r in rows) / 1e6,
            "total_uj_real_macs": sum(r["energy_pj_real"] for r in rows) / 1e6,
        }
    for suffix in ("", "_real_macs"):
        f, q = out["float"][f"total_uj{suffix}"], out["quantized"][f"total_uj{suffix}"]
        out[f"saving{suffix}"] = (f - q) / f if f else None
    return out
