"""JointVAE (Dupont 2018) for 40x40 jet images: residual conv encoder, spatial-broadcast decoder,
32-dim Gaussian + 20-class Gumbel-softmax latent ([Dupont 2018]; [Valente 2022] ch. 3).

Parameter counts. The thesis quotes 262k (encoder) + 545k (decoder). The authors' public code,
built as it stands (every grouped conv with groups = 4), gives 331k for the encoder:
the difference is in the encoder's residual units. With the encoder's residual convs at
groups = 8 (the grouping the decoder uses) and its stride-2 convs at groups = 4 (the first one
ungrouped), the encoder has 245k parameters (-6.4%, the only single grouping change that lands
within 10% of 262k while keeping four stages of one residual unit each); the decoder, with
groups = 8 as in the public code, has 545k (+0.1%). That is the thesis-width default here
(`train.encoder_res_groups: 8`); set it to 4 for the public-code build.

Grouped convs are built as one ordinary Conv2D per group on a channel slice
(`GroupedConv2D`): the same parameters as Keras' `Conv2D(groups=...)`, which on CPU runs
about 7x slower (measured on 2 cores with TF 2.21: about 2 against 15 images/s).

`width` multiplies every filter count (rounded to a multiple of the groups) so that a
reduced model for 2-core machines keeps the same topology.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import tensorflow as tf
import tf_keras as keras

from jetad.atomic import atomic_dir
from jetad.errors import DataError
from jetad.inputs import read_model_meta
from jetad.models import losses
from jetad.sections import from_schema

ARCHITECTURE = "jointvae"
FORMAT_VERSION = 1
# Slope of the leaky ReLU; 0.25 matches the quantized_relu(16, 6, negative_slope=0.25) of the
# QAT encoder ([Valente 2022] Table 3.2), so the float and quantized models share an activation shape.
LEAKY_SLOPE = 0.25


# The `train` keys that shape the network, in the order config.json lists them (a saved model's
# file keeps its bytes)
ARCHITECTURE_KEYS = ("latent_cont", "latent_disc", "encoder_filters", "encoder_down_groups",
                     "encoder_res_groups", "decoder_expand", "decoder_filters", "decoder_groups",
                     "width", "tau", "kl_eps")


@from_schema("pixelize.npix", *(f"train.{key}" for key in ARCHITECTURE_KEYS))
class JointVAEConfig:
    """The architecture: `pixelize.npix` and the train keys of ARCHITECTURE_KEYS, typed by the
    schema. No defaults here: `from_params` takes them from the `train` section, whose schema
    holds them (the thesis' values: workflow/presets/thesis.yaml)."""

    @classmethod
    def from_params(cls, train, npix: int) -> JointVAEConfig:
        """The architecture of a `train` section (loaded by jetad.params, so that every key
        is there) for images of npix x npix."""
        return cls(npix=npix, **{k: train[k] for k in ARCHITECTURE_KEYS})

    def scaled(self, filters: int, groups: int) -> int:
        """Filter count at this width, a multiple of `groups` and at least one per group."""
        return max(groups, int(round(filters * self.width / groups)) * groups)


def _conv(filters, strides=1, groups=1, name=None):
    if groups == 1:
        return keras.layers.Conv2D(
            filters, 3, strides=strides, padding="same", kernel_initializer="he_normal", name=name
        )
    return GroupedConv2D(filters, 3, strides=strides, groups=groups, name=name)


@keras.utils.register_keras_serializable(package="jetad")
class GroupedConv2D(keras.layers.Layer):
    """A grouped convolution as `groups` ordinary convs on channel slices, concatenated."""

    def __init__(self, filters, kernel_size=3, strides=1, groups=1, **kwargs):
        super().__init__(**kwargs)
        if filters % groups:
            raise ValueError(f"filters {filters} not divisible by groups {groups}")
        self.filters, self.kernel_size, self.strides, self.groups = (
            filters, kernel_size, strides, groups,
        )
        self.convs = [
            keras.layers.Conv2D(
                filters // groups, kernel_size, strides=strides, padding="same",
                kernel_initializer="he_normal", name=f"g{i}",
            )
            for i in range(groups)
        ]

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if channels % self.groups:
            raise ValueError(f"{channels} input channels not divisible by groups {self.groups}")
        step = channels // self.groups
        for conv in self.convs:
            conv.build(tuple(input_shape[:-1]) + (step,))
        super().build(input_shape)

    def call(self, x):
        parts = tf.split(x, self.groups, axis=-1)
        return tf.concat([conv(p) for conv, p in zip(self.convs, parts, strict=True)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "groups": self.groups}


@keras.utils.register_keras_serializable(package="jetad")
class SpatialBroadcast(keras.layers.Layer):
    """Tile a latent vector over an h x w grid and append x/y coordinate channels in [-1, 1]."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, z):
        n = self.size
        tiled = tf.tile(z[:, None, None, :], [1, n, n, 1])
        lin = tf.linspace(-1.0, 1.0, n)
        yy, xx = tf.meshgrid(lin, lin, indexing="ij")
        coords = tf.stack([xx, yy], axis=-1)[None]
        coords = tf.tile(coords, [tf.shape(z)[0], 1, 1, 1])
        return tf.concat([tiled, tf.cast(coords, tiled.dtype)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _norm_act(x, name):
    x = keras.layers.GroupNormalization(groups=-1, name=f"in_{name}")(x)
    return keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"act_{name}")(x)


def _residual(x, filters, groups, name):
    r = x
    x = _norm_act(_conv(filters, groups=groups, name=f"conv1_{name}")(x), f"1_{name}")
    x = _norm_act(_conv(filters, groups=groups, name=f"conv2_{name}")(x), f"2_{name}")
    return keras.layers.Add(name=f"add_{name}")([x, r])


def encoder_grid(npix: int) -> int:
    """Side of the encoder's last feature map: four stride-2 'same' convs."""
    n = npix
    for _ in range(4):
        n = math.ceil(n / 2)
    return n


def build_encoder(cfg: JointVAEConfig) -> keras.Model:
    images = keras.Input((cfg.npix, cfg.npix, 1), name="image")
    x = images
    for j, f in enumerate(cfg.encoder_filters):
        down_groups = 1 if j == 0 else cfg.encoder_down_groups
        res_groups = cfg.encoder_res_groups
        f = cfg.scaled(f, math.lcm(down_groups, res_groups))
        x = _conv(f, strides=2, groups=down_groups, name=f"dconv_b{j}")(x)
        x = _norm_act(x, f"b{j}")
        x = _residual(x, f, res_groups, f"b{j}_0")
    h = keras.layers.Flatten(name="flatten")(x)
    init = "he_normal"
    logits = keras.layers.Dense(cfg.latent_disc, kernel_initializer=init, name="z_categorical")(h)
    mean = keras.layers.Dense(cfg.latent_cont, kernel_initializer=init, name="z_mean")(h)
    logvar = keras.layers.Dense(cfg.latent_cont, kernel_initializer=init, name="z_var")(h)
    return keras.Model(images, [logits, mean, logvar], name="encoder")


def build_decoder(cfg: JointVAEConfig) -> keras.Model:
    latent = keras.Input((cfg.latent_cont + cfg.latent_disc,), name="z")
    grid = encoder_grid(cfg.npix)
    x = SpatialBroadcast(grid, name="spatial_broadcast")(latent)
    x = _conv(cfg.scaled(cfg.decoder_expand, cfg.decoder_groups), name="conv_expand")(x)
    x = _norm_act(x, "expand")
    for j, f in enumerate(cfg.decoder_filters):
        f = cfg.scaled(f, cfg.decoder_groups)
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"up_b{j}")(x)
        x = _norm_act(_conv(f, name=f"upconv_b{j}")(x), f"up_b{j}")
        x = _residual(x, f, cfg.decoder_groups, f"dec_b{j}_0")
    out = grid * 2 ** len(cfg.decoder_filters)
    lo = (out - cfg.npix) // 2
    x = keras.layers.Cropping2D(((lo, out - cfg.npix - lo), (lo, out - cfg.npix - lo)),
                                name="crop")(x)
    x = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid",
                            kernel_initializer="glorot_uniform", name="conv_reco")(x)
    return keras.Model(latent, x, name="decoder")


def sample_latent(mean, logvar, logits, tau, seed=None):
    """Reparameterised samples: z = mean + exp(logvar/2) eps, c = softmax((logits + g) / tau).

    With a `seed` (shape (2,) int tensor) the draws are stateless, so a resumed training run
    repeats exactly the noise of an uninterrupted one.
    """
    if seed is None:
        eps = tf.random.normal(tf.shape(mean))
        u = tf.random.uniform(tf.shape(logits), 1e-12, 1.0)
    else:
        eps = tf.random.stateless_normal(tf.shape(mean), seed)
        u = tf.random.stateless_uniform(tf.shape(logits), seed + 1, 1e-12, 1.0)
    z = mean + tf.exp(0.5 * logvar) * eps
    g = -tf.math.log(-tf.math.log(u))
    c = tf.nn.softmax((logits + g) / tau, axis=-1)
    return z, c


def deterministic_latent(mean, logits, tau):
    """The latent without noise: z = mean, c = softmax(logits / tau)."""
    return mean, tf.nn.softmax(logits / tau, axis=-1)


class JointVAE:
    """Encoder + decoder + the loss of [Dupont 2018] and [Valente 2022] ch. 3; a plain container so
    checkpoints and the quantized-encoder work can take the two Keras models separately."""

    def __init__(self, cfg: JointVAEConfig):
        self.cfg = cfg
        self.encoder = build_encoder(cfg)
        self.decoder = build_decoder(cfg)

    @property
    def trainable_variables(self):
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def param_counts(self) -> dict[str, int]:
        return {"encoder": int(self.encoder.count_params()),
                "decoder": int(self.decoder.count_params())}

    def forward(self, x, training=False, sample=True, seed=None):
        """Returns (reconstruction (B, npix, npix), logits, mean, logvar)."""
        logits, mean, logvar = self.encoder(x[..., None], training=training)
        if sample:
            z, c = sample_latent(mean, logvar, logits, self.cfg.tau, seed)
        else:
            z, c = deterministic_latent(mean, logits, self.cfg.tau)
        rec = self.decoder(tf.concat([z, c], axis=-1), training=training)[..., 0]
        return rec, logits, mean, logvar

    def loss_terms(self, x, rec, logits, mean, logvar, objective, progress=1.0):
        """Batch means of every logged quantity; `loss` is what the optimizer minimises.
        `objective`: a `losses.Objective`, or a number for the thesis' fixed beta; `progress`:
        the fraction of the capacity ramp done (the capacity objective only)."""
        if not isinstance(objective, losses.Objective):
            objective = losses.Objective(kind="beta", beta=float(objective))
        bce = tf.reduce_mean(losses.bce_sum(x, rec))
        klc = tf.reduce_mean(losses.kl_cont(mean, logvar))
        kld = tf.reduce_mean(losses.kl_disc(logits, self.cfg.kl_eps))
        return {
            "loss": bce + objective.kl_penalty(klc, kld, progress),
            "bce": bce, "kl_cont": klc, "kl_disc": kld,
            "mse": tf.reduce_mean(losses.mse_sum(x, rec)),
            "psnr": tf.reduce_mean(losses.psnr(x, rec)),
            "ssim": tf.reduce_mean(losses.ssim(x, rec)),
        }


def save_model(path, architecture: str, config: dict, models: dict[str, keras.Model],
               extra: dict | None = None) -> None:
    """A model directory: config.json (architecture + sizes) and one weights file per part."""
    path = Path(path)

    def fill(tmp: Path) -> None:
        meta = {"architecture": architecture, "format_version": FORMAT_VERSION,
                "config": config, "parts": sorted(models), **(extra or {})}
        (tmp / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
        for name, m in models.items():
            m.save_weights(str(tmp / f"{name}.weights.h5"))

    # a killed run never leaves a half-written model where Snakemake or DVC would take it as done
    with atomic_dir(path) as tmp:
        fill(tmp)


def load_weights(path, models: dict[str, keras.Model]) -> None:
    path = Path(path)
    for name, m in models.items():
        wfile = path / f"{name}.weights.h5"
        if not wfile.is_file():
            raise DataError(f"{path}: missing {wfile.name}")
        try:
            m.load_weights(str(wfile))
        except (ValueError, KeyError, OSError) as exc:
            raise DataError(f"{wfile}: weights do not fit the {name} in config.json ({exc})") from exc


def save(model: JointVAE, path, extra: dict | None = None) -> None:
    save_model(path, ARCHITECTURE, asdict(model.cfg),
               {"encoder": model.encoder, "decoder": model.decoder}, extra)


def load(path) -> JointVAE:
    meta = read_model_meta(path, ARCHITECTURE)
    try:
        cfg = JointVAEConfig(**meta["config"])
    except TypeError as exc:
        raise DataError(f"{path}/config.json: not a JointVAE configuration ({exc})") from exc
    model = JointVAE(cfg)
    load_weights(path, {"encoder": model.encoder, "decoder": model.decoder})
    return model
