"""The normalized autoencoder (jetad.models.nae): its loss by hand, the Langevin sampler's
seeding and pixel range, and a short real maximum-likelihood training on fake jets."""

import numpy as np
import pytest

from jetad.params import defaults
from jetad.sections import Nae

NPIX = 16


def _nae_section(**changes) -> Nae:
    return Nae(**{**defaults()["nae"], **changes})


@pytest.fixture(scope="module")
def tf():
    from jetad.models.determinism import setup_tf

    return setup_tf(7)


def _model(seed: int = 7):
    from jetad.models import baseline_ae
    from jetad.models.determinism import setup_tf

    setup_tf(seed)
    return baseline_ae.build(NPIX, (4, 8), 4)


def test_the_loss_and_the_energy_are_the_hand_values(tf):
    from jetad.models.nae import energy, nae_loss

    e_data, e_neg = tf.constant([1.0, 3.0]), tf.constant([0.0, 2.0])
    # mean E data - mean E negative = 2 - 1; the regularizer: 0.5 * ((1 + 9) / 2 + (0 + 4) / 2)
    assert float(nae_loss(e_data, e_neg, 0.5)) == pytest.approx(1.0 + 3.5)
    assert float(nae_loss(e_data, e_neg, 0.0)) == pytest.approx(1.0)
    x = tf.constant([[[0.5, 0.5], [0.0, 0.0]]])
    x_rec = tf.constant([[[0.25, 0.25], [0.5, 0.0]]])
    # (0.0625 + 0.0625 + 0.25) / 0.5
    assert energy(x, x_rec, 0.5).numpy() == pytest.approx([0.75])


def test_a_langevin_chain_is_its_seed_and_walks_down_the_energy(tf):
    from jetad.models.nae import Chain, langevin

    def quadratic(x):
        return tf.reduce_sum(tf.square(x - 0.8), axis=1)

    x0 = tf.zeros((4, 3))
    noisy = Chain(steps=6, step_size=0.1, noise=0.3, clip=(0.0, 1.0))
    a = langevin(quadratic, x0, noisy, [3, 0]).numpy()
    assert a.tobytes() == langevin(quadratic, x0, noisy, [3, 0]).numpy().tobytes()
    assert a.tobytes() != langevin(quadratic, x0, noisy, [4, 0]).numpy().tobytes()
    assert a.min() >= 0.0 and a.max() <= 1.0 and (a == 1.0).any()  # the clip did act
    # without noise, each step is x <- x - 0.1 * 2 (x - 0.8): 0.8 * (1 - 0.8^6) after six
    exact = langevin(quadratic, x0, Chain(6, 0.1, 0.0), [3, 0]).numpy()
    assert exact == pytest.approx(np.full((4, 3), 0.8 * (1 - 0.8 ** 6)), rel=1e-5)


def test_negative_samples_are_seeded_and_in_the_pixel_range(tf, fake_jets):
    from jetad.models import nae

    x = fake_jets(12, 0, 1, npix=NPIX).images
    model = nae.build(_model(), _nae_section(image_noise=0.01), x)
    s1 = model.sample(tf.constant(x), [5, 0]).numpy()
    s2 = model.sample(tf.constant(x), [5, 0]).numpy()
    assert s1.shape == x.shape
    assert s1.tobytes() == s2.tobytes()
    assert s1.tobytes() != model.sample(tf.constant(x), [5, 1]).numpy().tobytes()
    assert s1.min() >= 0.0 and s1.max() <= 1.0
    # the temperature puts the background's mean energy at 1 / nae.temperature
    assert nae.energies(model, x, 8).mean() == pytest.approx(1.0, rel=1e-4)


def test_training_lowers_the_data_energy_below_the_negatives(tf, fake_jets):
    from jetad.models import nae

    x = fake_jets(64, 0, 2, npix=NPIX).images
    cfg = _nae_section(epochs=12, batch_size=32, learning_rate=0.003, latent_steps=5,
                       image_steps=3)
    model = nae.build(_model(), cfg, x[:16])

    def gap():
        # the same chains before and after: E(negative) - E(data), relative to E(data)
        e_neg = nae.energies(model, model.sample(tf.constant(x[:32]), [9, 9]).numpy(), 32)
        e_data = nae.energies(model, x, 32)
        return (e_neg.mean() - e_data.mean()) / e_data.mean()

    # untrained, the negatives are the decoder's images, which the autoencoder reproduces
    # almost exactly: E(negative) about 0, far below the data's
    before = gap()
    assert before < -0.99
    history = nae.train(model, x, x[:16], cfg, 3)
    assert len(history) == 12 and set(history[0]) >= {"loss", "energy_train", "energy_negative"}
    # measured: -1.00 -> -0.59 (24 steps)
    assert gap() > before + 0.3
