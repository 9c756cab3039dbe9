"""Architecture, sampling and save/load of the JointVAE."""

from pathlib import Path

import numpy as np
import pytest

import jetad  # noqa: F401
from jetad.errors import DataError

# Few groups keep model building fast where the grouping is not what is tested.
SMALL = {"width": 0.25, "encoder_down_groups": 1, "encoder_res_groups": 2, "decoder_groups": 2}


@pytest.fixture(scope="module")
def thesis_config(root):
    """thesis_config(**changes): the JointVAEConfig of the thesis preset (params.yaml with
    workflow/presets/thesis.yaml on top: width 1.0, groups 4/8/8), with `changes` made."""
    import yaml

    from jetad.models.jointvae import JointVAEConfig
    from jetad.params import build, validate
    from jetad.stages.preset import merge

    raw = merge(yaml.safe_load((root / "params.yaml").read_text()),
                yaml.safe_load((root / "workflow/presets/thesis.yaml").read_text()))
    p = build(validate(raw))

    def config(**changes):
        return JointVAEConfig.from_params({**p.train, **changes}, p.pixelize.npix)

    return config


@pytest.fixture(scope="module")
def thesis_model(thesis_config):
    from jetad.models.jointvae import JointVAE

    return JointVAE(thesis_config())


RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results.md"


def test_parameter_counts_are_the_documented_numbers(thesis_model, default_params):
    """The exact counts docs/results.md states: the default (width 0.25, groups 2), the width-0.125
    row of its sweep, and the thesis width (groups 4/8/8; the thesis text says 262k + 545k)."""
    from jetad.models.jointvae import JointVAE, JointVAEConfig

    tp = default_params.train
    assert tp["width"] == 0.25
    readme = RESULTS.read_text()
    for model, encoder, decoder in (
            (JointVAE(JointVAEConfig.from_params(tp, 40)), 53_940, 74_281),
            (JointVAE(JointVAEConfig.from_params({**tp, "width": 0.125}, 40)), 19_812, 26_629),
            (thesis_model, 245_460, 545_953)):
        assert model.param_counts() == {"encoder": encoder, "decoder": decoder}
        assert f"{encoder:,} + {decoder:,}" in readme
    assert "53,940 encoder + 74,281 decoder parameters" in readme


def test_public_code_grouping_gives_331k(thesis_config):
    from jetad.models.jointvae import build_encoder

    enc = build_encoder(thesis_config(encoder_res_groups=4))
    assert enc.count_params() == 330_708


def test_shapes_and_layer_names(thesis_model):
    x = np.random.default_rng(0).random((3, 40, 40)).astype(np.float32)
    rec, logits, mean, logvar = thesis_model.forward(x)
    assert rec.shape == (3, 40, 40)
    assert logits.shape == (3, 20) and mean.shape == (3, 32) and logvar.shape == (3, 32)
    r = rec.numpy()
    assert ((r > 0) & (r < 1)).all()
    names = {layer.name for layer in thesis_model.encoder.layers}
    assert {"z_categorical", "z_mean", "z_var", "dconv_b0", "dconv_b3"} <= names
    assert thesis_model.encoder.get_layer("flatten").output_shape == (None, 3 * 3 * 128)


def test_grouped_conv_equals_block_diagonal_conv():
    import tensorflow as tf

    from jetad.models.jointvae import GroupedConv2D

    layer = GroupedConv2D(8, 3, groups=4)
    x = tf.random.stateless_normal((2, 6, 6, 8), (1, 2))
    y = layer(x)
    # The same weights as one ordinary conv whose kernel is zero off the diagonal blocks.
    kernel = np.zeros((3, 3, 8, 8), np.float32)
    bias = np.zeros(8, np.float32)
    for g, conv in enumerate(layer.convs):
        k, b = (w.numpy() for w in conv.weights)
        kernel[:, :, 2 * g:2 * g + 2, 2 * g:2 * g + 2] = k
        bias[2 * g:2 * g + 2] = b
    full = tf.nn.conv2d(x, kernel, 1, "SAME") + bias
    assert np.allclose(y.numpy(), full.numpy(), atol=1e-5)
    assert layer.count_params() == 3 * 3 * 2 * 8 + 8


def test_width_multiplier_shrinks_and_keeps_groups(thesis_config):
    from jetad.models.jointvae import JointVAE

    small = JointVAE(thesis_config(width=0.25))
    counts = small.param_counts()
    assert counts["encoder"] < 60_000 and counts["decoder"] < 100_000
    x = np.zeros((1, 40, 40), np.float32)
    assert small.forward(x)[0].shape == (1, 40, 40)


def test_gaussian_reparameterisation_statistics():
    import tensorflow as tf

    from jetad.models.jointvae import sample_latent

    n = 20000
    mean = tf.fill((n, 2), 3.0)
    logvar = tf.fill((n, 2), np.log(4.0).astype(np.float32))
    logits = tf.zeros((n, 5))
    z, c = sample_latent(mean, logvar, logits, 1.0, tf.constant([1, 2]))
    assert z.shape == (n, 2) and c.shape == (n, 5)
    assert float(tf.reduce_mean(z)) == pytest.approx(3.0, abs=0.05)
    assert float(tf.math.reduce_std(z)) == pytest.approx(2.0, abs=0.05)
    assert np.allclose(tf.reduce_sum(c, axis=1).numpy(), 1.0, atol=1e-5)


def test_gumbel_softmax_temperature_limits():
    import tensorflow as tf

    from jetad.models.jointvae import sample_latent

    logits = tf.math.log(tf.constant([[0.7, 0.2, 0.1]] * 20000))
    z0 = tf.zeros((20000, 1))
    _, cold = sample_latent(z0, z0, logits, 1e-3, tf.constant([3, 4]))
    cold = cold.numpy()
    # Small tau: nearly one-hot, and the hot class follows the categorical probabilities.
    assert (cold.max(axis=1) > 0.99).mean() > 0.99
    freq = np.bincount(cold.argmax(axis=1), minlength=3) / len(cold)
    assert np.allclose(freq, [0.7, 0.2, 0.1], atol=0.02)
    _, hot = sample_latent(z0, z0, logits, 50.0, tf.constant([3, 4]))
    # Large tau (the thesis' 50): close to uniform.
    assert np.abs(hot.numpy() - 1 / 3).max() < 0.1


def test_stateless_sampling_is_reproducible():
    import tensorflow as tf

    from jetad.models.jointvae import sample_latent

    m = tf.zeros((4, 3))
    a = sample_latent(m, m, tf.zeros((4, 5)), 1.0, tf.constant([7, 9]))
    b = sample_latent(m, m, tf.zeros((4, 5)), 1.0, tf.constant([7, 9]))
    c = sample_latent(m, m, tf.zeros((4, 5)), 1.0, tf.constant([7, 10]))
    assert np.array_equal(a[0].numpy(), b[0].numpy())
    assert not np.array_equal(a[0].numpy(), c[0].numpy())


def test_save_load_round_trip(tmp_path, thesis_config):
    from jetad.models.jointvae import JointVAE, load, save

    model = JointVAE(thesis_config(**SMALL))
    save(model, tmp_path / "m")
    back = load(tmp_path / "m")
    x = np.random.default_rng(1).random((2, 40, 40)).astype(np.float32)
    a = model.forward(x, sample=False)[0].numpy()
    b = back.forward(x, sample=False)[0].numpy()
    assert np.array_equal(a, b)
    save(model, tmp_path / "m")  # overwrite an existing directory
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json", "decoder.weights.h5", "encoder.weights.h5"]


def test_load_refuses_other_architecture_and_bad_weights(tmp_path, thesis_config):
    import json

    from jetad.models import baseline_ae
    from jetad.models.jointvae import JointVAE, load, save, save_model

    save_model(tmp_path / "ae", baseline_ae.ARCHITECTURE, {}, {"model": baseline_ae.build()})
    with pytest.raises(DataError, match="'conv_ae' model, expected 'jointvae'"):
        load(tmp_path / "ae")
    with pytest.raises(DataError, match="no config.json"):
        load(tmp_path)
    save(JointVAE(thesis_config(**SMALL)), tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    meta["config"]["width"] = 0.5  # weights no longer fit the architecture
    (tmp_path / "m" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="weights do not fit"):
        load(tmp_path / "m")
