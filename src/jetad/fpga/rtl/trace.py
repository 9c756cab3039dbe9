"""A QKeras model replayed on da4ml's symbolic variables (`da4ml.trace.FixedVariableArrayInput`):
every constant kernel becomes a constant-matrix-vector product that da4ml's solver turns into
shift-and-add logic, every quantizer the rounding of jetad.fpga.rtl.quantizers.
"""

from __future__ import annotations

import numpy as np

from jetad.errors import JetadError
from jetad.fpga import keras_graph
from jetad.fpga.estimate.resources import quantized_kernel
from jetad.fpga.rtl.quantizers import apply_quantizer, consumers, input_quantizer, quantizer_config

KERNEL_LAYERS = ("QConv2D", "QDense")


def _weights(layer):
    k = np.asarray(quantized_kernel(layer), dtype=np.float64)
    b = None
    if getattr(layer, "use_bias", False):
        b = np.asarray(layer.get_weights()[1], dtype=np.float32)
        bq = getattr(layer, "bias_quantizer_internal", None)
        if bq is not None:
            b = np.asarray(bq(b))
        b = b.astype(np.float64)
    return k, b


def _conv2d(x, layer):
    # optional and heavy: da4ml loads only on the RTL route
    from da4ml.trace import FixedVariableArray

    k, b = _weights(layer)
    kh, kw, c_in, c_out = k.shape
    sh, sw = layer.strides
    if tuple(layer.dilation_rate) != (1, 1):
        raise JetadError(f"layer '{layer.name}': dilated convs are not traced")
    h, w, _c = x.shape
    if layer.padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        ph = max((oh - 1) * sh + kh - h, 0)
        pw = max((ow - 1) * sw + kw - w, 0)
        top, left = ph // 2, pw // 2  # TensorFlow puts the odd pixel at the bottom/right
    else:
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        ph = pw = top = left = 0
    grid = np.zeros((h + ph, w + pw, c_in), dtype=object)
    grid[top:top + h, left:left + w] = x._vars
    patches = np.empty((oh, ow, kh * kw * c_in), dtype=object)
    for r in range(oh):
        for c in range(ow):
            patches[r, c] = grid[r * sh:r * sh + kh, c * sw:c * sw + kw].reshape(-1)
    y = FixedVariableArray(patches, x.solver_options, hwconf=x.hwconf) @ k.reshape(-1, c_out)
    return y + b if b is not None else y


def _dense(x, layer):
    k, b = _weights(layer)
    if x.ndim != 1:
        raise JetadError(f"layer '{layer.name}': dense on a {x.shape} input (flatten first)")
    y = x @ k
    return y + b if b is not None else y


def _apply(layer, args):
    cname = layer.__class__.__name__
    where = f"layer '{layer.name}' ({cname})"
    act = getattr(layer, "activation", None)
    if cname in KERNEL_LAYERS:
        if act is not None and getattr(act, "__name__", "linear") != "linear" \
                and not hasattr(act, "get_config"):
            raise JetadError(f"{where}: activation {act} inside the layer is not traced")
        y = _conv2d(args, layer) if cname == "QConv2D" else _dense(args, layer)
        return apply_quantizer(y, act if hasattr(act, "get_config") else None, where)
    if cname == "QActivation":
        return apply_quantizer(args, layer.activation, where)
    if cname == "Flatten":
        return args.ravel()
    if cname == "Activation" and getattr(layer.activation, "__name__", "") == "linear":
        return args
    raise JetadError(f"{where} cannot be traced by da4ml here (QConv2D, QDense, QActivation, "
                     "Flatten); normalization must be folded away first")


def trace(model, hwconf=(1, -1, -1)):
    """(inputs, outputs) da4ml variable arrays of the QKeras `model` (one input, batch axis
    dropped); several outputs are concatenated in model order."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras
    from da4ml.trace import FixedVariableArray, FixedVariableArrayInput, HWConfig

    if len(model.inputs) != 1:
        raise JetadError(f"model '{model.name}': one input expected, got {len(model.inputs)}")
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    inp = FixedVariableArrayInput(shape, HWConfig(*hwconf))
    q = input_quantizer(model)
    name, cfg = quantizer_config(q)
    # the port carries the quantizer's word: truncation of on-grid inputs is exact
    if name == "quantized_bits":
        x0 = inp.quantize(1, int(cfg["integer"]), int(cfg["bits"]) - 1 - int(cfg["integer"]))
    else:
        raise JetadError(f"model '{model.name}': input quantizer {name} not traced "
                         "(quantized_bits)")
    values = {id(model.inputs[0]): x0}
    first = consumers(model, model.inputs[0])[0]
    for layer in model.layers:
        if isinstance(layer, tf_keras.layers.InputLayer):
            continue
        node = keras_graph.node_inside(layer, values, model.name)
        args = keras_graph.node_args(node, values)
        out = args if layer is first else _apply(layer, args)  # input quantizer done above
        values[id(node.output_tensors)] = out
    outs = [values[id(t)] for t in model.outputs]
    flat = np.concatenate([np.ravel(o._vars) for o in outs])
    return inp, FixedVariableArray(flat, x0.solver_options, hwconf=x0.hwconf)
