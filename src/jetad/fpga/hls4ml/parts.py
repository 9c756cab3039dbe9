"""The encoder cut into the parts `jetad hls` converts one project each: every conv alone plus the
dense heads ('layer'), or conv + norm + activation blocks, conv_fin alone and flatten + heads
('block'). Parts share the encoder's layers (and weights) and start with a copy of its input
quantizer, as hls4ml needs a quantized input. `parts` lists what `jetad hls` converts, each with
the inputs it is emulated and compared on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetad.errors import JetadError
from jetad.fpga.hls4ml import emulate
from jetad.fpga.naming import project_name
from jetad.models.reduced_encoder import HEADS


def _input_quantizer(model):
    for layer in model.layers:
        if layer.name == "input_quant":
            return layer.quantizer
    return None


def _submodel(model, layer_names: list[str], name: str):
    """A model of consecutive layers of `model` (shared weights), fed by a quantized input."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras
    from qkeras import QActivation, quantized_bits

    first = model.get_layer(layer_names[0])
    shape = tuple(int(d) for d in first.input_shape[1:])
    inp = tf_keras.Input(shape, name=f"{name}_in")
    q = _input_quantizer(model) or quantized_bits(16, 6, alpha=1)
    x = QActivation(q.__class__.from_config(q.get_config()), name=f"{name}_input_quant")(inp)
    for lname in layer_names:
        x = model.get_layer(lname)(x)
    return tf_keras.Model(inp, x, name=name)


def split(model, mode: str) -> dict[str, object]:
    """Sub-models of the encoder: mode 'layer' (each conv alone, plus the dense heads) or 'block'
    (conv + norm + activation; conv_fin alone; flatten + dense heads)."""
    if mode not in ("layer", "block"):
        raise JetadError(f"split mode must be 'layer' or 'block', got {mode!r}")
    names = {layer.name for layer in model.layers}
    convs = [
        layer.name for layer in model.layers
        if layer.__class__.__name__ in ("QConv2D", "Conv2D")
    ]
    parts: dict[str, object] = {}
    for c in convs:
        chain = [c]
        if mode == "block":
            chain += [n for n in (f"{c}_norm", f"{c}_act") if n in names]
        parts[c] = _submodel(model, chain, project_name(c))
    heads = [h for h in HEADS if h in names]
    if "flatten" in names and heads:
        # heavy: TensorFlow starts only in the stages that build or run a model
        import tf_keras
        from qkeras import QActivation

        flat = model.get_layer("flatten")
        shape = tuple(int(d) for d in flat.input_shape[1:])
        inp = tf_keras.Input(shape, name="heads_in")
        q = _input_quantizer(model)
        x = QActivation(q.__class__.from_config(q.get_config()), name="heads_input_quant")(inp)
        x = flat(x)
        parts["heads"] = tf_keras.Model(inp, [model.get_layer(h)(x) for h in heads], name="heads")
    return parts


@dataclass
class Part:
    """One hls4ml project of `jetad hls`: the QKeras model it converts and its inputs."""

    mode: str  # 'whole', 'layer' or 'block'
    name: str
    model: object
    inputs: np.ndarray


def parts(model, x: np.ndarray, modes, only=None, part_images: int | None = None) -> list[Part]:
    """The parts of `model` for each mode of `modes` ('whole': the model itself on `x`; 'layer',
    'block': see `split`), those named in `only` when given. A layer or block is fed what the
    encoder computes before it from the first `part_images` images of `x` (all when None)."""
    only = set(only or [])
    out = []
    for mode in modes:
        if mode == "whole":
            out.append(Part(mode, "encoder", model, x))
            continue
        for name, sub in split(model, mode).items():
            if only and name not in only:
                continue
            # layers and blocks are checked against QKeras on the first part_images images
            # only: the whole encoder already carries every test image through all of them
            xs = x[: part_images or len(x)]
            feed = emulate.keras_outputs(prefix(model, sub), xs)[0]
            out.append(Part(mode, name, sub, feed.reshape(len(xs), *sub.input_shape[1:])))
    if only:
        unknown = only - {p.name for p in out}
        if unknown:
            raise JetadError(f"hls.only names unknown parts {sorted(unknown)}; parts are "
                             f"{sorted({p.name for p in out})}")
    return out


def prefix(model, sub):
    """The part of `model` that produces `sub`'s input (so each part sees realistic data)."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras

    first = sub.layers[2].name  # [Input, input_quant, first real layer, ...]
    if first == "flatten":
        src = model.get_layer("flatten").input
    else:
        src = model.get_layer(first).input
    return tf_keras.Model(model.input, src)
