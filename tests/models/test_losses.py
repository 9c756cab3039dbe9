"""Loss terms against values computed by hand on tiny tensors."""

import numpy as np
import pytest

import jetad  # noqa: F401


def test_bce_sum_hand_value():
    from jetad.models import losses

    x = np.array([[[1.0, 0.0], [0.5, 0.0]]], np.float32)
    r = np.array([[[0.9, 0.2], [0.5, 0.1]]], np.float32)
    expected = -(np.log(0.9) + np.log(0.8) + (0.5 * np.log(0.5) + 0.5 * np.log(0.5))
                 + np.log(0.9))
    assert float(losses.bce_sum(x, r)[0]) == pytest.approx(expected, rel=1e-5)


def test_bce_sum_clips_saturated_pixels():
    from jetad.models import losses

    x = np.array([[[1.0, 0.0]]], np.float32)
    r = np.array([[[0.0, 1.0]]], np.float32)
    v = float(losses.bce_sum(x, r)[0])
    # float32 rounds 1 - 1e-7, hence the loose tolerance.
    assert np.isfinite(v) and v == pytest.approx(-2 * np.log(1e-7), rel=2e-2)


def test_kl_cont_hand_value():
    from jetad.models import losses

    mean = np.array([[1.0, -2.0]], np.float32)
    logvar = np.array([[0.0, np.log(0.5)]], np.float32)
    expected = -0.5 * ((1 + 0 - 1 - 1) + (1 + np.log(0.5) - 4 - 0.5))
    assert float(losses.kl_cont(mean, logvar)[0]) == pytest.approx(expected, rel=1e-5)


def test_kl_disc_hand_value_and_limits():
    from jetad.models import losses

    logits = np.log(np.array([[0.5, 0.25, 0.25]], np.float32))
    q = np.array([0.5, 0.25, 0.25])
    eps = 1e-7
    expected = np.sum(q * np.log(q + eps) - q * np.log(1 / 3 + eps))
    assert float(losses.kl_disc(logits, eps)[0]) == pytest.approx(expected, rel=1e-5)
    assert float(losses.kl_disc(np.zeros((1, 20), np.float32))[0]) == pytest.approx(0, abs=1e-6)


def test_numpy_scores_agree_with_training_losses():
    from jetad.analysis import scores as sc
    from jetad.models import losses

    rng = np.random.default_rng(0)
    x = rng.random((3, 5, 5)).astype(np.float32)
    x /= x.sum(axis=(1, 2), keepdims=True)
    r = rng.random((3, 5, 5)).astype(np.float32)
    assert np.allclose(losses.bce_sum(x, r).numpy(), sc.bce(x, r), rtol=1e-4)
    assert np.allclose(losses.mse_sum(x, r).numpy(), sc.mse(x, r), rtol=1e-4)
    mean, logvar = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)) * 0.3
    assert np.allclose(losses.kl_cont(mean.astype(np.float32), logvar.astype(np.float32)),
                       sc.kl_cont(mean, logvar), rtol=1e-4)


def test_psnr_and_ssim_of_identical_images():
    from jetad.models import losses

    x = np.random.default_rng(0).random((2, 16, 16)).astype(np.float32)
    assert np.allclose(losses.ssim(x, x).numpy(), 1.0, atol=1e-5)
    assert (losses.psnr(x, x).numpy() >= 119).all()  # capped by the 1e-12 floor
    assert (losses.psnr(x, x * 0.5).numpy() < 40).all()
