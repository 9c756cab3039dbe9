"""Export form of the grouped convs: one ordinary conv per group, so the zero blocks of the
block-diagonal kernels (`jetad.models.reduced_encoder.BlockDiagonal`) never reach the C++.

hls4ml 1.3 has no `groups` handling, and a block-diagonal kernel given to it as one conv is
emulated with every zero multiplied (the g++ build loads the weights at run time, so nothing is
folded away): 4 groups cost 4 times the multiplications. `per_group(model)` rebuilds a QKeras
model with the same weights in which every block-diagonal conv is

    Permute (h, w, c) -> (c, h, w)
    Cropping2D on the channel axis, one slice of c/groups channels per group
    Permute back, QConv2D (c/groups -> filters/groups) per group, same quantizers
    Concatenate, pairwise ((g0, g1), (g2, g3)): hls4ml merges two inputs at a time

Layers hls4ml 1.3 converts in both io types; slicing and transposing are exact data moves and
the per-group kernels are the diagonal blocks, quantized with the same `alpha=1` quantizers
(a fixed grid, so a block quantizes as it does inside the full kernel). The fixed-point result
is therefore identical to the block-diagonal conv's: checked on the emulation by
`tests/fpga/hls4ml/test_grouped.py` and by `jetad hls`, which compares the emulation with the original
(block-diagonal) QKeras model.
"""

from __future__ import annotations

import numpy as np

from jetad.errors import JetadError
from jetad.fpga import keras_graph
from jetad.models.reduced_encoder import block_mask


def block_groups(layer) -> int:
    """Groups of a block-diagonal conv (its BlockDiagonal constraint), else 1."""
    c = getattr(layer, "kernel_constraint", None)
    if c is not None and hasattr(c, "mask") and hasattr(c, "groups"):
        return int(c.groups)
    return 1


def _check_block_diagonal(layer, groups: int) -> None:
    w = layer.get_weights()[0]
    mask = block_mask(w.shape[2], w.shape[3], groups).astype(bool)
    off = np.abs(w[:, :, ~mask]).max() if (~mask).any() else 0.0
    if off != 0.0:
        raise JetadError(
            f"layer '{layer.name}': kernel has nonzero weights outside its {groups} diagonal "
            f"blocks (max |w| {off:g}); re-apply jetad.models.reduced_encoder.apply_block_masks"
        )


def _per_group_conv(layer, x):
    """The block-diagonal conv `layer` applied to x as `groups` ordinary convs."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras
    from qkeras import QConv2D

    L = tf_keras.layers
    groups = block_groups(layer)
    _check_block_diagonal(layer, groups)
    weights = layer.get_weights()
    kernel, bias = weights[0], (weights[1] if layer.use_bias else None)
    c_in, c_out = kernel.shape[2], kernel.shape[3]
    gi, go = c_in // groups, c_out // groups
    cfg = layer.get_config()
    for key in ("name", "filters", "kernel_constraint", "groups"):
        cfg.pop(key, None)
    is_q = layer.__class__.__name__ == "QConv2D"
    cls = QConv2D if is_q else L.Conv2D
    name = layer.name
    t = L.Permute((3, 1, 2), name=f"{name}_chfirst")(x)
    outs = []
    for g in range(groups):
        s = L.Cropping2D(((g * gi, c_in - (g + 1) * gi), (0, 0)), name=f"{name}_slice{g}")(t)
        s = L.Permute((2, 3, 1), name=f"{name}_chlast{g}")(s)
        conv = cls(go, name=f"{name}_g{g}", **cfg)
        y = conv(s)
        w = [kernel[:, :, g * gi:(g + 1) * gi, g * go:(g + 1) * go]]
        if bias is not None:
            w.append(bias[g * go:(g + 1) * go])
        conv.set_weights(w)
        outs.append(y)
    level = 0
    while len(outs) > 1:
        merged = []
        for i in range(0, len(outs) - 1, 2):
            merged.append(
                L.Concatenate(axis=-1, name=f"{name}_cat{level}_{i // 2}")([outs[i], outs[i + 1]])
            )
        if len(outs) % 2:
            merged.append(outs[-1])
        outs, level = merged, level + 1
    return outs[0]


def per_group(model, name: str | None = None):
    """A copy of `model` (same layers and weights) with every block-diagonal conv split per group.

    Layers other than the grouped convs are reused as they are (shared weights). Returns the
    model unchanged when it has no grouped conv.
    """
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras

    if not any(block_groups(layer) > 1 for layer in model.layers):
        return model
    new_inputs = []
    mapping = {}
    for t in model.inputs:
        shape = tuple(t.shape[1:])
        nt = tf_keras.Input(shape, name=t.name.split(":")[0])
        mapping[id(t)] = nt
        new_inputs.append(nt)
    for layer in model.layers:
        if isinstance(layer, tf_keras.layers.InputLayer):
            continue
        node = keras_graph.node_inside(layer, mapping, model.name)
        args = keras_graph.node_args(node, mapping)
        if block_groups(layer) > 1:
            out = _per_group_conv(layer, args)
        else:
            out = layer(args)
        outs = node.output_tensors
        if isinstance(outs, list):
            for a, b in zip(outs, out, strict=True):
                mapping[id(a)] = b
        else:
            mapping[id(outs)] = out
    new_outputs = [mapping[id(t)] for t in model.outputs]
    return tf_keras.Model(new_inputs, new_outputs, name=name or model.name)
