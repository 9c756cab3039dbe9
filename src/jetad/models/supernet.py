"""One-shot architecture search over the dense particle autoencoders of
jetad.models.particle_ae, the global search of [McDermott et al.]: one weight-sharing
supernetwork is trained once, and every candidate architecture is then judged with the weights
it inherits, as in once-for-all networks ([Cai et al. 2020]) and slimmable networks
([Yu et al. 2019]).

The space: encoder depth d from `depths`, the first (wide) layer's width from `first_widths`,
each further layer's from `widths`, the latent width from `latents`; the decoder mirrors the
encoder. So the space holds sum over d of |first_widths| x |widths|^(d-1) x |latents|
candidates. The supernet has the largest of everything; a candidate uses its first d encoder
and decoder layers and the first w units of each (the units beyond w are zeroed after the
activation, which is the same as slicing the kernels: the next layer adds exact zeros).

Training samples one candidate per step (uniformly over the depths, then over each layer's
widths, from a seeded generator). Batch normalization uses the batch's statistics while
training; to judge a candidate, its statistics are measured on a calibration set of training
jets (once-for-all's recalibration) and then fixed, like a Keras BatchNormalization in
inference.

The choice sees only the validation loss of the background and each candidate's parameter
count, never a label: of the candidates whose loss is within `tolerance` (relative) of the
lowest, the one with the fewest parameters (ties: the lower loss, then the order of the space).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from jetad.models.particle_ae import (
    BN_EPSILON,
    N_INPUTS,
    N_PARTICLES,
    Architecture,
    Fit,
    build,
    kernels,
    masked_mse,
)


@dataclass(frozen=True)
class SearchSpace:
    depths: tuple[int, ...]
    first_widths: tuple[int, ...]
    widths: tuple[int, ...]
    latents: tuple[int, ...]
    batch_norm: bool
    slope: float

    def candidates(self) -> list[Architecture]:
        """Every architecture of the space, in a fixed order."""
        out = []
        for d in sorted(set(self.depths)):
            for first in self.first_widths:
                for rest in itertools.product(self.widths, repeat=d - 1):
                    for latent in self.latents:
                        out.append(Architecture(first, rest, latent, self.batch_norm, self.slope))
        return out

    def size(self) -> int:
        return sum(len(self.first_widths) * len(self.widths) ** (d - 1) * len(self.latents)
                   for d in set(self.depths))

    @property
    def hidden(self) -> int:
        return max((*self.first_widths, *self.widths))

    def sample(self, rng: np.random.Generator) -> Architecture:
        d = int(rng.choice(sorted(set(self.depths))))
        first = int(rng.choice(self.first_widths))
        rest = tuple(int(rng.choice(self.widths)) for _ in range(d - 1))
        return Architecture(first, rest, int(rng.choice(self.latents)), self.batch_norm,
                            self.slope)


class Supernet:
    """The shared weights of a space and the forward pass of any of its candidates."""

    def __init__(self, space: SearchSpace, seed: int):
        # heavy: TensorFlow starts only in the stages that build or run a model
        import tensorflow as tf
        import tf_keras as keras

        self.space = space
        depth, hidden, latent = max(space.depths), space.hidden, max(space.latents)
        init = keras.initializers.GlorotUniform(seed=seed)
        self.layers: dict[str, dict] = {}
        shapes = [(f"enc{i}", N_INPUTS if i == 0 else hidden, hidden, True) for i in range(depth)]
        shapes += [("latent", hidden, latent, False)]
        shapes += [(f"dec{i}", latent if i == 0 else hidden, hidden, True) for i in range(depth)]
        shapes += [("out", hidden, N_INPUTS, False)]
        for name, n_in, n_out, bn in shapes:
            layer = {"kernel": tf.Variable(init((n_in, n_out)), name=f"{name}/kernel"),
                     "bias": tf.Variable(tf.zeros(n_out), name=f"{name}/bias")}
            if bn and space.batch_norm:
                layer["gamma"] = tf.Variable(tf.ones(n_out), name=f"{name}/gamma")
                layer["beta"] = tf.Variable(tf.zeros(n_out), name=f"{name}/beta")
            self.layers[name] = layer

    @property
    def variables(self) -> list:
        return [v for layer in self.layers.values() for v in layer.values()]

    def plan(self, arch: Architecture) -> list[tuple[str, int]]:
        """(layer, units used) in the order the candidate runs them."""
        if arch.depth > max(self.space.depths):
            raise ValueError(f"{arch.label()}: deeper than the supernet")
        enc = arch.encoder
        return ([(f"enc{i}", w) for i, w in enumerate(enc)] + [("latent", arch.latent)]
                + [(f"dec{i}", w) for i, w in enumerate(reversed(enc))]
                + [("out", N_INPUTS)])

    def forward(self, x, arch: Architecture, stats: dict | None = None):
        """(output, statistics): the candidate's reconstruction of x; batch norm with `stats`
        (layer -> (mean, variance)) when given, else with the batch's (returned)."""
        sizes = {name: int(layer["kernel"].shape[1]) for name, layer in self.layers.items()}
        units = {name: _units(width, sizes[name]) for name, width in self.plan(arch)}
        return _run(self, x, arch, units, stats)

    def calibrate(self, x, arch: Architecture) -> dict:
        """The candidate's batch-norm statistics on the calibration jets x [N, 90]."""
        return self.forward(x, arch)[1]

    def to_model(self, arch: Architecture, stats: dict):
        """The standalone Keras model (jetad.models.particle_ae.build) of `arch` with the
        supernet's weights sliced to its widths and the calibrated statistics."""
        model = build(arch)
        dense = kernels(model)
        for name, width_in, width in _slices(self.plan(arch)):
            layer = self.layers[name]
            dense[name].assign(layer["kernel"][:width_in, :width])
            model.get_layer(name).bias.assign(layer["bias"][:width])
            if "gamma" in layer:
                bn = model.get_layer(name.replace("enc", "enc_bn").replace("dec", "dec_bn"))
                mean, var = stats[name]
                bn.set_weights([layer["gamma"].numpy()[:width], layer["beta"].numpy()[:width],
                                np.asarray(mean)[:width], np.asarray(var)[:width]])
        return model


def _units(width: int, size: int):
    """1 for the first `width` of `size` units, 0 beyond."""
    return np.concatenate([np.ones(width, np.float32), np.zeros(size - width, np.float32)])


def _slices(plan: list[tuple[str, int]]):
    """(layer, inputs used, units used) of a candidate's plan."""
    width_in = N_INPUTS
    for name, width in plan:
        yield name, width_in, width
        width_in = width


def train_supernet(net: Supernet, train: tuple, how: Fit, seed: int) -> list[float]:
    """Train the shared weights on train = (x, mask) (background jets), one candidate sampled
    per step from a generator seeded by `seed`; returns the mean training loss per epoch."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf
    import tf_keras as keras

    optimizer = keras.optimizers.Adam(how.learning_rate)
    optimizer.build(net.variables)
    steps: dict[int, object] = {}
    rng = np.random.default_rng(np.random.SeedSequence([seed, 47]))
    x, m = (np.asarray(a, np.float32) for a in train)
    history = []
    for _epoch in range(how.epochs):
        order, losses = rng.permutation(len(x)), []
        for start in range(0, len(x), how.batch_size):
            idx = order[start:start + how.batch_size]
            arch = net.space.sample(rng)
            # one compiled step per depth; the widths enter as unit masks, not as shapes
            step = steps.setdefault(arch.depth, _step(net, optimizer, arch.depth))
            losses.append(float(step(tf.constant(x[idx]), tf.constant(m[idx]),
                                     *_width_masks(net, arch))))
        history.append(float(np.mean(losses)))
    return history


def _width_masks(net: Supernet, arch: Architecture):
    hidden, latent = net.space.hidden, max(net.space.latents)
    enc = np.stack([_units(w, hidden) for w in arch.encoder])
    return enc, _units(arch.latent, latent)


def _step(net: Supernet, optimizer, depth: int):
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf

    variables = net.variables
    template = Architecture(1, (1,) * (depth - 1), 1, net.space.batch_norm, net.space.slope)
    # any batch size: the last, shorter batch of an epoch does not trace the step again
    spec = (tf.TensorSpec((None, N_INPUTS), tf.float32),
            tf.TensorSpec((None, N_PARTICLES), tf.float32),
            tf.TensorSpec((depth, net.space.hidden), tf.float32),
            tf.TensorSpec((max(net.space.latents),), tf.float32))

    @tf.function(input_signature=spec)
    def step(x, mask, enc_units, latent_units):
        with tf.GradientTape() as tape:
            out = _masked_forward(net, x, template, enc_units, latent_units)
            loss = tf.reduce_mean(masked_mse(x, out, mask))
        grads = tape.gradient(loss, variables)
        pairs = [(g, v) for g, v in zip(grads, variables, strict=True) if g is not None]
        optimizer.apply_gradients(pairs)
        return loss

    return step


def _masked_forward(net: Supernet, x, template: Architecture, enc_units, latent_units):
    """Supernet.forward with the widths given as unit masks (tensors), so that one compiled
    graph serves every width of a depth; batch norm on the batch's statistics."""
    depth = template.depth
    units = {f"enc{i}": enc_units[i] for i in range(depth)}
    units.update({f"dec{i}": enc_units[depth - 1 - i] for i in range(depth)})
    units["latent"] = latent_units
    return _run(net, x, template, units, None)[0]


def _run(net: Supernet, x, arch: Architecture, units: dict, stats: dict | None):
    """The layers of `arch`'s plan on x, each layer's units beyond its width zeroed by
    units[layer] after the activation (the output layer keeps all)."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf

    used = {}
    h = x
    for name, _width in net.plan(arch):
        layer = net.layers[name]
        h = tf.matmul(h, layer["kernel"]) + layer["bias"]
        if "gamma" in layer:
            mean, var = stats[name] if stats else tf.nn.moments(h, axes=[0])
            used[name] = (mean, var)
            h = tf.nn.batch_normalization(h, mean, var, layer["beta"], layer["gamma"],
                                          BN_EPSILON)
        if name not in ("latent", "out"):
            h = tf.nn.leaky_relu(h, arch.slope)
        if name != "out":
            h = h * units[name]
    return h, used


def evaluate(net: Supernet, calibration: tuple, val: tuple) -> list[dict]:
    """One row per candidate of the space: its architecture, parameter count and mean masked
    MSE on the validation background val = (x, mask), with batch-norm statistics calibrated
    on calibration = (x, mask) (training background)."""
    rows = []
    x_val = np.asarray(val[0], np.float32)
    for arch in net.space.candidates():
        stats = net.calibrate(np.asarray(calibration[0], np.float32), arch)
        out = net.forward(x_val, arch, stats)[0]
        loss = float(np.mean(masked_mse(x_val, out, val[1]).numpy()))
        rows.append({"architecture": arch.label(), "depth": arch.depth,
                     "params": arch.n_params(), "val_loss": loss})
    return rows


def choose(rows: list[dict], tolerance: float) -> int:
    """The index of the chosen row of `evaluate`: the fewest parameters among the rows whose
    validation loss is within `tolerance` (relative) of the lowest; ties go to the lower loss,
    then to the earlier row. Labels never enter."""
    best = min(r["val_loss"] for r in rows)
    within = [i for i, r in enumerate(rows) if r["val_loss"] <= best * (1.0 + tolerance)]
    return min(within, key=lambda i: (rows[i]["params"], rows[i]["val_loss"], i))
