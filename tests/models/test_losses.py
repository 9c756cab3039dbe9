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


def test_capacity_rises_linearly_then_holds():
    from jetad.models import losses

    got = [float(losses.capacity(p, 4.0)) for p in (-0.5, 0.0, 0.25, 1.0, 3.0)]
    assert got == [0.0, 0.0, 1.0, 4.0, 4.0]


def test_capacity_objective_hand_values():
    """gamma |KL_cont - C_cont(t)| + gamma |KL_disc - C_disc(t)| at two points of the ramp."""
    from jetad.models import losses

    obj = losses.Objective(kind="capacity", gamma=30.0, cont_max=5.0, disc_max=1.0)
    klc, kld = 2.0, 0.75
    # progress 0.2: C = (1.0, 0.2): 30 (|2 - 1| + |0.75 - 0.2|) = 30 * 1.55
    assert float(obj.kl_penalty(klc, kld, 0.2)) == pytest.approx(46.5, rel=1e-6)
    # end of the ramp: C = (5, 1): 30 (3 + 0.25); the KL is pulled up towards the capacity
    assert float(obj.kl_penalty(klc, kld, 1.0)) == pytest.approx(97.5, rel=1e-6)
    beta = losses.Objective(kind="beta", beta=3000.0)
    assert float(beta.kl_penalty(klc, kld, 0.2)) == pytest.approx(3000.0 * 2.75, rel=1e-6)


def test_capacity_objective_gradient_pulls_kl_towards_the_target():
    import tensorflow as tf

    from jetad.models import losses

    obj = losses.Objective(kind="capacity", gamma=2.0, cont_max=5.0, disc_max=1.0)
    klc, kld = tf.Variable(1.0), tf.Variable(3.0)
    with tf.GradientTape() as tape:
        pen = obj.kl_penalty(klc, kld, 1.0)
    g_cont, g_disc = tape.gradient(pen, [klc, kld])
    # below its capacity the continuous KL is pushed up, above it the discrete one down
    assert float(g_cont) == -2.0 and float(g_disc) == 2.0


def test_objective_from_params():
    from jetad.models import losses

    assert losses.Objective.from_params({"beta": 3000.0, "objective": "beta"}) == \
        losses.Objective("beta", 3000.0)
    cap = losses.Objective.from_params({
        "beta": 3000.0, "objective": "capacity",
        "capacity": {"gamma": 30, "cont_max": 5, "disc_max": 1, "epochs": 6}})
    assert (cap.kind, cap.gamma, cap.cont_max, cap.disc_max, cap.ramp_epochs) == (
        "capacity", 30.0, 5.0, 1.0, 6)


def test_loss_terms_use_the_objective(default_params):
    """The model's loss is BCE plus the objective's KL penalty, for both objectives."""
    from jetad.models import losses
    from jetad.models.jointvae import JointVAE, JointVAEConfig

    cfg = JointVAEConfig.from_params({**default_params.train, "latent_cont": 4, "latent_disc": 3,
                                      "width": 0.125, "encoder_down_groups": 1}, 40)
    model = JointVAE(cfg)
    rng = np.random.default_rng(0)
    x = rng.random((4, 40, 40)).astype(np.float32)
    x /= x.sum(axis=(1, 2), keepdims=True)
    rec, logits, mean, logvar = model.forward(x, training=False, sample=False)
    cap = losses.Objective(kind="capacity", gamma=10.0, cont_max=3.0, disc_max=0.5)
    t = model.loss_terms(x, rec, logits, mean, logvar, cap, 0.5)
    want = float(t["bce"]) + 10.0 * (abs(float(t["kl_cont"]) - 1.5) + abs(float(t["kl_disc"]) - 0.25))
    assert float(t["loss"]) == pytest.approx(want, rel=1e-5)
    b = model.loss_terms(x, rec, logits, mean, logvar, 7.0)
    assert float(b["loss"]) == pytest.approx(
        float(b["bce"]) + 7.0 * (float(b["kl_cont"]) + float(b["kl_disc"])), rel=1e-5)
