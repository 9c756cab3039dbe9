"""QAT of the pruned particle autoencoder (jetad.quant.sparse_qat): batch norm folded exactly,
the pruning mask held through quantization-aware training, the slope a power of two."""

import numpy as np
import pytest

from jetad.models import particle_ae
from jetad.models.determinism import setup_tf
from jetad.models.particle_ae import Architecture, Fit
from jetad.quant import sparse_qat as sq

WIDE = sq.QatBits(weight_bits=24, weight_integer=8, act_bits=24, act_integer=8, io_bits=24,
                  io_integer=8)


def _data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    mask = (rng.random((n, 30)) < 0.6).astype(np.float32)
    x = rng.normal(size=(n, 90)).astype(np.float32) * np.repeat(mask, 3, axis=1)
    return x, mask


def test_slope_is_the_nearest_power_of_two():
    assert [sq.power_of_two_slope(s) for s in (0.3, 0.25, 0.1, 0.0)] == [0.25, 0.25, 0.125, 0.0]


def test_folded_batch_norm_gives_the_float_networks_outputs():
    setup_tf(3)
    arch = Architecture(16, (8,), 3, True, 0.25)  # a power-of-two slope: nothing changes
    model = particle_ae.build(arch)
    x, mask = _data(300, 1)
    particle_ae.fit(model, (x, mask), (x, mask), Fit(2, 64, 1e-2), 0)  # moves the statistics
    bn = model.get_layer("enc_bn0").get_weights()
    assert not np.allclose(bn[2], 0.0) and not np.allclose(bn[3], 1.0)
    qmodel = sq.from_float(model, arch, WIDE)
    want = model(x, training=False).numpy()
    got = qmodel.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, atol=2e-3 * np.abs(want).max())


def test_pruned_weights_stay_zero_through_qat():
    setup_tf(4)
    arch = Architecture(16, (), 2, True, 0.3)
    model = particle_ae.build(arch)
    x, mask = _data(200, 2)
    rng = np.random.default_rng(0)
    masks = {n: (rng.random(v.shape) < 0.4).astype(np.float32)
             for n, v in particle_ae.kernels(model).items()}
    qmodel = sq.from_float(model, arch, sq.QatBits())
    before = {n: v.numpy().copy() for n, v in particle_ae.kernels(qmodel).items()}
    sq.train(qmodel, (x, mask), (x, mask), masks, Fit(2, 32, 1e-2), 0)
    quantized = sq.quantized_kernels(qmodel)
    for name, m in masks.items():
        raw = particle_ae.kernels(qmodel)[name].numpy()
        assert np.all(raw[m == 0] == 0.0) and np.all(quantized[name][m == 0] == 0.0)
        assert not np.array_equal(raw[m == 1], before[name][m == 1])  # the survivors learned
    kept = sum(int(m.sum()) for m in masks.values())
    biases = sum(qmodel.get_layer(n).bias.shape[0] for n in masks)
    assert 0 < sq.nonzero_weights(qmodel) <= kept + biases


@pytest.mark.parametrize("bits", [sq.QatBits(), WIDE])
def test_masked_mse_np_matches_the_tensorflow_loss(bits):
    x, mask = _data(20, 5)
    x_hat = x + np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    want = particle_ae.masked_mse(x, x_hat, mask).numpy()
    np.testing.assert_allclose(sq.masked_mse_np(x, x_hat, mask), want, rtol=1e-5)
    assert bits.label().startswith("w<")
