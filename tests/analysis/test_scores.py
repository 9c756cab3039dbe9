"""Every score on images where the answer is known by hand."""

import numpy as np
import pytest

from jetad.analysis import scores as sc


def _images(n=3, npix=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, npix, npix))
    return x / x.sum(axis=(1, 2), keepdims=True)


def test_identical_images_give_zero_mse():
    x = _images()
    assert np.array_equal(sc.mse(x, x), np.zeros(len(x)))
    assert not np.allclose(sc.mse(x, _images(seed=1)), 0.0)


def test_bce_of_identical_images_is_their_binary_entropy():
    # BCE is not zero for a perfect reconstruction of soft images: it is sum H(x_i)
    x = _images()
    entropy = -(x * np.log(x) + (1 - x) * np.log(1 - x)).sum(axis=(1, 2))
    assert np.allclose(sc.bce(x, x), entropy, rtol=1e-12)


def test_bce_clips_the_reconstruction_to_eps():
    # a reconstruction of exactly 0 or 1 gives log(0) unclipped: the clip turns it into log(eps)
    x = np.array([[[1.0, 0.0, 1.0]]])
    r = np.array([[[0.0, 1.0, 1.0]]])
    for eps in (sc.EPS, 1e-3):
        kw = {} if eps == sc.EPS else {"eps": eps}
        # r = 1 is clipped to 1 - eps, so its (1 - r) is 1 - (1 - eps) in floating point
        want = -(np.log(eps) + np.log(1 - (1 - eps)) + np.log(1 - eps))
        assert sc.bce(x, r, **kw)[0] == pytest.approx(want, rel=1e-12)


def test_dice_of_identical_soft_images_follows_spec_formula():
    # The Dice loss of [Valente 2022] ch. 3, 1 - 2 sum x x' / (sum x + sum x'), is 0 for identical
    # *binary* masks but 1 - sum x^2 for identical images summing to 1 (it is not a soft-Dice with
    # squares).
    x = _images()
    assert np.allclose(sc.dice(x, x), 1.0 - (x**2).sum(axis=(1, 2)))


def test_dice_of_identical_binary_masks_is_zero_and_disjoint_is_one():
    a = np.zeros((1, 4, 4))
    a[0, :2] = 1.0
    b = np.zeros((1, 4, 4))
    b[0, 2:] = 1.0
    assert sc.dice(a, a)[0] == pytest.approx(0.0)
    assert sc.dice(a, b)[0] == pytest.approx(1.0)


def test_dice_is_a_loss_not_the_inverse_coefficient():
    x = _images(1)
    worse = np.full_like(x, 1.0 / x.size)
    # The better reconstruction must get the smaller loss (the authors' inverse did not).
    assert sc.dice(x, x)[0] < sc.dice(x, worse)[0]


def test_mse_hand_value():
    x = np.zeros((1, 2, 2))
    r = np.array([[[0.5, 0.0], [0.0, 0.25]]])
    assert sc.mse(x, r)[0] == pytest.approx(0.25 + 0.0625)


def test_bce_hand_value_and_argument_order():
    x = np.array([[[1.0, 0.0]]])
    r = np.array([[[0.8, 0.3]]])
    expected = -(np.log(0.8) + np.log(0.7))
    assert sc.bce(x, r)[0] == pytest.approx(expected)
    # Swapped arguments (the authors' bug) give a different number here.
    assert sc.bce(r, x)[0] != pytest.approx(expected)


def test_bce_is_finite_for_saturated_reconstruction():
    x = _images(2)
    r = np.zeros_like(x)
    assert np.isfinite(sc.bce(x, r)).all()


def test_pixel_diff_is_signed():
    r = np.full((3, 4, 4), 1.0 / 16)
    r[1] *= 2
    r[2] *= 0.25
    assert np.allclose(sc.pixel_diff(r), [0.0, -1.0, 0.75])


def test_kl_cont_zero_at_prior_and_hand_value():
    mean = np.zeros((1, 3))
    logvar = np.zeros((1, 3))
    assert sc.kl_cont(mean, logvar)[0] == pytest.approx(0.0)
    mean = np.array([[1.0, 0.0]])
    logvar = np.array([[0.0, np.log(2.0)]])
    expected = 0.5 * 1.0 + (-0.5) * (1 + np.log(2.0) - 2.0)
    assert sc.kl_cont(mean, logvar)[0] == pytest.approx(expected)


def test_kl_disc_zero_for_uniform_and_log_k_for_one_hot():
    k = 20
    assert sc.kl_disc(np.zeros((1, k)))[0] == pytest.approx(0.0, abs=1e-5)
    logits = np.full((1, k), -1e4)
    logits[0, 3] = 1e4
    assert sc.kl_disc(logits)[0] == pytest.approx(np.log(k), rel=1e-4)


def test_all_scores_binds_names_to_the_right_values():
    x = _images(4)
    r = _images(4, seed=1)
    mean = np.random.default_rng(2).normal(size=(4, 32))
    logvar = np.random.default_rng(3).normal(size=(4, 32)) * 0.1
    logits = np.random.default_rng(4).normal(size=(4, 20))
    out = sc.all_scores(x, r, mean, logvar, logits)
    assert tuple(out) == sc.JET_SCORES
    assert np.allclose(out["mse"], sc.mse(x, r))
    assert np.allclose(out["bce"], sc.bce(x, r))
    assert np.allclose(out["dice"], sc.dice(x, r))
    assert np.allclose(out["total"], out["bce"] + out["dice"])
    assert np.allclose(out["kl_total"], sc.kl_cont(mean, logvar) + sc.kl_disc(logits))
    assert all(v.shape == (4,) for v in out.values())


def test_score_file_round_trip(tmp_path):
    s = {"a": np.arange(3.0), "b": np.ones(3)}
    path = tmp_path / "s.h5"
    sc.write_score_file(path, s, [0, 1, 1], [80.0, 170.0, 175.0], {"z_mean": np.zeros((3, 2))})
    back = sc.read_score_file(path)
    assert list(back["scores"]) == ["a", "b"]
    assert np.array_equal(back["label"], [0, 1, 1])
    assert back["z_mean"].shape == (3, 2)


def _by_hand(x, r, mean, logvar, logits):
    """The eight scores of one image, pixel by pixel with the math module: written from the
    formulas of [Valente 2022] ch. 3 and [Dupont 2018], sharing no code with jetad."""
    import math

    xs, rs = [v for row in x for v in row], [v for row in r for v in row]
    clip = [min(max(v, sc.EPS), 1 - sc.EPS) for v in rs]
    mse = sum((a - b) ** 2 for a, b in zip(xs, rs, strict=True))
    bce = -sum(a * math.log(b) + (1 - a) * math.log(1 - b) for a, b in zip(xs, clip, strict=True))
    dice = 1 - 2 * sum(a * b for a, b in zip(xs, rs, strict=True)) / (sum(xs) + sum(rs))
    kl_cont = -0.5 * sum(1 + lv - m * m - math.exp(lv) for m, lv in zip(mean, logvar, strict=True))
    z = [math.exp(v) for v in logits]
    q = [v / sum(z) for v in z]
    kl_disc = sum(p * math.log(p + sc.EPS) - p * math.log(1 / len(q) + sc.EPS) for p in q)
    return {"mse": mse, "bce": bce, "dice": dice, "pixel_diff": 1 - sum(rs),
            "total": bce + dice, "kl_cont": kl_cont, "kl_disc": kl_disc,
            "kl_total": kl_cont + kl_disc}


def test_each_of_the_eight_scores_is_its_own_formula():
    """Every key of all_scores against its independent formula, on hand-made images whose eight
    scores all differ, so that two keys bound to each other's values (kl_cont and kl_disc,
    bce and total, ...) fail here."""
    x = np.array([[[0.5, 0.3], [0.2, 0.0]], [[0.0, 0.0], [0.4, 0.6]]])
    r = np.array([[[0.3, 0.2], [0.1, 0.1]], [[0.05, 0.1], [0.5, 0.45]]])
    mean = np.array([[1.0, -0.5, 0.0], [0.2, 2.0, -1.0]])
    logvar = np.array([[0.0, np.log(2.0), -1.0], [0.3, -0.2, 0.1]])
    logits = np.array([[np.log(3.0), 0.0, -1.0, 0.5], [2.0, -2.0, 0.0, 0.0]])
    out = sc.all_scores(x, r, mean, logvar, logits)
    assert tuple(out) == sc.JET_SCORES
    for i in range(2):
        want = _by_hand(x[i], r[i], mean[i], logvar[i], logits[i])
        values = sorted(want.values())
        assert min(b - a for a, b in zip(values, values[1:], strict=False)) > 0.05
        for name in sc.JET_SCORES:
            assert out[name][i] == pytest.approx(want[name], rel=1e-9, abs=1e-12), name
    # the closed forms of the first image, for a reader checking the hand formulas themselves
    assert out["mse"][0] == pytest.approx(0.2**2 + 0.1**2 + 0.1**2 + 0.1**2)
    assert out["dice"][0] == pytest.approx(1 - 2 * (0.15 + 0.06 + 0.02) / (1.0 + 0.7))
    assert out["pixel_diff"][0] == pytest.approx(0.3)
    assert out["kl_cont"][0] == pytest.approx(
        -0.5 * ((1 + 0 - 1 - 1) + (1 + np.log(2) - 0.25 - 2) + (1 - 1 - 0 - np.exp(-1))))
