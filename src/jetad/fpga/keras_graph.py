"""Walking a tf_keras functional model layer by layer, as the model rewrites (per-group convs)
and the RTL tracer do: each layer's call inside *this* model, and its inputs' values."""

from __future__ import annotations

from jetad.errors import JetadError


def node_inside(layer, known: dict, model_name: str):
    """The inbound node of `layer` whose input tensors all have values in `known` (keyed by
    id()): a layer shared by several models (e.g. split parts) has one node per model."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf

    for node in layer.inbound_nodes:
        if all(id(t) in known for t in tf.nest.flatten(node.input_tensors)):
            return node
    raise JetadError(f"layer '{layer.name}': no inbound node inside '{model_name}'")


def node_args(node, known: dict):
    """The values in `known` of the node's inputs: one value, or a list for a list input."""
    ins = node.input_tensors
    return [known[id(t)] for t in ins] if isinstance(ins, list) else known[id(ins)]
