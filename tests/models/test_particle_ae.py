"""The dense particle autoencoder (jetad.models.particle_ae): the masked loss and score by
hand, the architecture's parameter count, determinism and fixed masks in training."""

import numpy as np
import pytest

from jetad.models import particle_ae
from jetad.models.determinism import setup_tf
from jetad.models.particle_ae import Architecture, Fit


def _jets(n: int, seed: int) -> np.ndarray:
    """JetNet-like particle features [n, 30, 4]: a random number of particles per jet."""
    rng = np.random.default_rng(seed)
    feats = np.zeros((n, 30, 4), np.float32)
    for i, k in enumerate(rng.integers(3, 30, n)):
        feats[i, :k, :2] = rng.normal(0, 0.2, (k, 2))
        feats[i, :k, 2] = np.sort(rng.exponential(1.0, k))[::-1] / k
        feats[i, :k, 3] = 1.0
    return feats


def test_inputs_zero_the_padded_particles_and_flatten_particle_major():
    feats = np.zeros((1, 30, 4), np.float32)
    feats[0, 0] = (1, 2, 3, 1)
    feats[0, 1] = (7, 8, 9, 0)  # a padded slot with garbage: dropped
    x, mask = particle_ae.inputs(feats)
    assert x.shape == (1, 90) and mask.shape == (1, 30)
    assert x[0, :6].tolist() == [1, 2, 3, 0, 0, 0] and mask[0, :2].tolist() == [1, 0]


def test_dr_order_sorts_each_jets_particles_by_distance_to_the_axis_padding_last():
    feats = np.zeros((2, 30, 4), np.float32)
    feats[0, :4] = [(0.3, 0.4, 0.5, 1), (0.0, 0.1, 0.3, 1), (9, 9, 9, 0), (0.06, 0.08, 0.2, 1)]
    feats[1, :2] = [(0.0, -0.2, 0.6, 1), (0.2, 0.0, 0.4, 1)]  # a tie: the files' order kept
    got = particle_ae.ordered(feats, "dr")
    np.testing.assert_array_equal(got[0, :4], feats[0, [3, 1, 0, 2]])
    np.testing.assert_array_equal(got[1, :2], feats[1, :2])
    # the same particles, only the slots move: the masked MSE's target set is unchanged
    x, mask = particle_ae.inputs(feats, "dr")
    assert mask[0, :4].tolist() == [1, 1, 1, 0]
    np.testing.assert_array_equal(x[0, :3], np.float32([0.06, 0.08, 0.2]))
    np.testing.assert_array_equal(particle_ae.ordered(feats, "pt"), feats)
    with pytest.raises(ValueError, match="particle order 'eta'"):
        particle_ae.ordered(feats, "eta")


def test_masked_mse_by_hand():
    x = np.zeros((2, 30, 3), np.float32)
    x_hat = np.zeros((2, 30, 3), np.float32)
    mask = np.zeros((2, 30), np.float32)
    x[0, 0], x_hat[0, 0] = (1, 2, 3), (1, 2, 5)  # error 4
    x[0, 1], x_hat[0, 1] = (0, 0, 0), (1, 0, 0)  # error 1
    mask[0, :2] = 1
    x[1, 0], mask[1, 0] = (0.5, 0, 0), 1  # error 0.25
    x_hat[:, 5:] = 100.0  # padded particles: ignored
    got = particle_ae.masked_mse(x.reshape(2, 90), x_hat.reshape(2, 90), mask).numpy()
    np.testing.assert_allclose(got, [5 / 6, 0.25 / 3], rtol=1e-6)


def test_score_is_the_masked_mse_of_the_models_output():
    setup_tf(1)
    arch = Architecture(8, (4,), 2, False, 0.3)
    model = particle_ae.build(arch)
    # every weight 0 but the output bias: the reconstruction is that bias for every jet
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    bias = np.tile(np.float32([0.1, -0.1, 0.05]), 30)
    model.get_layer("out").bias.assign(bias)
    x, mask = particle_ae.inputs(_jets(5, 2))
    want = [((x[i].reshape(30, 3) - bias.reshape(30, 3)) ** 2)[mask[i] > 0].mean()
            for i in range(5)]
    np.testing.assert_allclose(particle_ae.scores(model, x, mask), want, rtol=1e-5)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_parameter_count_matches_keras(batch_norm):
    arch = Architecture(64, (16, 8), 4, batch_norm, 0.1)
    model = particle_ae.build(arch)
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    assert arch.n_params() == trainable
    assert [model.get_layer(f"dec{i}").units for i in range(3)] == [8, 16, 64]


def _trained(seed: int, masks=None):
    setup_tf(seed)
    model = particle_ae.build(Architecture(16, (8,), 4, True, 0.3))
    data = particle_ae.inputs(_jets(120, 3))
    val = particle_ae.inputs(_jets(40, 4))
    result = particle_ae.fit(model, data, val, Fit(2, 32, 3e-3), seed, masks=masks,
                             snapshot_step=2)
    return model, result


def test_training_is_deterministic_and_learns():
    a, ra = _trained(5)
    b, rb = _trained(5)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert ra.history == rb.history and len(ra.snapshot) == len(a.get_weights())
    assert ra.best_epoch == int(np.argmin(ra.history)) + 1


def test_masked_kernels_stay_exactly_zero():
    masks = {"enc0": (np.arange(90 * 16).reshape(90, 16) % 3 == 0).astype(np.float32)}
    model, _ = _trained(6, masks)
    kernel = model.get_layer("enc0").kernel.numpy()
    assert np.all(kernel[masks["enc0"] == 0] == 0.0)
    assert np.count_nonzero(kernel[masks["enc0"] == 1]) == int(masks["enc0"].sum())


def test_scaler_standardizes_real_particles_and_leaves_the_padding_zero():
    x, mask = particle_ae.inputs(_jets(200, 4))
    scaler = particle_ae.Scaler.fit(x, mask)
    real = x.reshape(-1, 30, 3)[mask > 0.5]
    np.testing.assert_allclose(scaler.mean, real.astype(np.float64).mean(axis=0), rtol=1e-12)
    z = scaler(x, mask).reshape(-1, 30, 3)
    np.testing.assert_allclose(z[mask > 0.5].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z[mask > 0.5].std(axis=0), 1.0, rtol=1e-4)
    assert np.all(z[mask < 0.5] == 0.0)
    # stored with the model as JSON and read back the same
    assert particle_ae.Scaler.from_dict(scaler.to_dict()) == scaler


def test_scaler_fits_the_jets_it_is_given_only():
    x, mask = particle_ae.inputs(_jets(50, 5))
    wide = x * 3.0  # e.g. signal jets: they must not move a scaler fitted on background
    a = particle_ae.Scaler.fit(x, mask)
    twice = particle_ae.Scaler.fit(np.concatenate([x, x]), np.concatenate([mask, mask]))
    np.testing.assert_allclose(twice.mean + twice.std, a.mean + a.std, rtol=1e-12)
    assert particle_ae.Scaler.fit(wide, mask).std[0] == pytest.approx(3 * a.std[0], rel=1e-5)
