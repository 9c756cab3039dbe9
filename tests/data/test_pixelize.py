import numpy as np
import pytest

from jetad.data.pixelize import jet_kinematics, pixelize
from jetad.errors import DataError
from tests.conftest import jets_from_ptetaphi

NPIX = 40
DETA, DPHI = 0.029, 0.035
C = NPIX // 2


def image(pt, eta, phi):
    return pixelize(jets_from_ptetaphi([pt], [eta], [phi]), NPIX, DETA, DPHI)[0]


@pytest.mark.parametrize("eta,phi", [(0.0, 0.0), (1.3, 2.9), (-1.7, -3.1), (0.4, np.pi)])
def test_single_constituent_lands_in_centre_pixel(eta, phi):
    img = image([500.0], [eta], [phi])
    assert img[C, C] == pytest.approx(1.0)
    assert img.sum() == pytest.approx(1.0)
    assert np.count_nonzero(img) == 1


def two_prong(angle, centre=(0.3, 1.0)):
    """A hard prong and a softer one 0.3 apart, the pair rotated by `angle` in (eta, phi)."""
    offsets = np.array([[-0.1, 0.0], [0.2, 0.0], [0.02, 0.013]])
    c, s = np.cos(angle), np.sin(angle)
    rot = offsets @ np.array([[c, s], [-s, c]])
    return [300.0, 150.0, 40.0], centre[0] + rot[:, 0], centre[1] + rot[:, 1]


@pytest.mark.parametrize("angle", [0.0, 0.37, 1.2, 2.0, np.pi / 2, 3.0, 4.4, 5.9])
def test_rotated_two_prong_jet_gives_the_same_image(angle):
    reference = image(*two_prong(0.0))
    rotated = image(*two_prong(angle))
    np.testing.assert_allclose(rotated, reference, atol=1e-6)
    assert np.count_nonzero(reference) == 3


def test_major_axis_is_vertical_and_flip_puts_bulk_lower_left():
    img = image(*two_prong(0.8))
    rows, cols = np.nonzero(img)
    # the two prongs lie along one column (vertical major axis)
    hard = np.unravel_index(np.argmax(img), img.shape)
    soft_rows = rows[cols == hard[1]]
    assert len(soft_rows) >= 2
    # most pT in the lower-left quadrant: rows and cols below the centre carry the bulk
    lower = img[:C, :].sum() + 0.5 * img[C, :].sum()
    left = img[:, :C].sum() + 0.5 * img[:, C].sum()
    assert lower > 0.5
    assert left >= 0.5
    assert hard[0] < C  # the harder prong sits below the centre


def test_flip_is_applied_in_both_axes():
    # an asymmetric jet: heavy below-left after the transform, whatever its orientation
    pt = [400.0, 100.0, 80.0, 60.0]
    base_eta = np.array([0.0, 0.25, 0.05, -0.03])
    base_phi = np.array([0.0, 0.1, 0.2, 0.15])
    images = [image(pt, sx * base_eta, sy * base_phi) for sx in (1, -1) for sy in (1, -1)]
    for img in images[1:]:
        np.testing.assert_allclose(img, images[0], atol=1e-6)


def test_pixels_sharing_constituents_accumulate():
    # three constituents at one point share a pixel whatever the transform; the fourth lies
    # elsewhere. Overwriting instead of adding would give 30 / 50 in the shared pixel.
    pt = [100.0, 50.0, 30.0, 20.0]
    eta = [0.0, 0.0, 0.0, 0.3]
    phi = [0.0, 0.0, 0.0, 0.0]
    img = image(pt, eta, phi)
    assert img.sum() == pytest.approx(1.0)
    assert img.max() == pytest.approx(180.0 / 200.0, rel=1e-5)


def test_every_image_sums_to_one_and_kinematics_are_right(rng):
    n, m = 500, 60
    pt = rng.exponential(20.0, (n, m))
    pt[:, 40:] = 0
    eta = rng.normal(0.0, 0.15, (n, m)) + rng.uniform(-1.5, 1.5, (n, 1))
    phi = rng.normal(0.0, 0.15, (n, m)) + rng.uniform(-np.pi, np.pi, (n, 1))
    p4 = jets_from_ptetaphi(pt, eta, phi)
    images = pixelize(p4, NPIX, DETA, DPHI, threads=2, block=128)
    assert images.shape == (n, NPIX, NPIX) and images.dtype == np.float32
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert (images >= 0).all()
    # thread and block layout do not change the result
    np.testing.assert_array_equal(images, pixelize(p4, NPIX, DETA, DPHI, threads=1, block=n))
    jpt, jeta, jmass = jet_kinematics(p4)
    total = p4.astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(jpt, np.hypot(total[:, 1], total[:, 2]), rtol=1e-5)
    assert (jmass > 0).all()


def test_jets_near_phi_boundary_are_not_empty():
    # constituents straddling phi = +-pi are one jet once phi is measured from the leader
    img = image([200.0, 100.0], [0.0, 0.0], [np.pi - 0.01, -np.pi + 0.01])
    assert img.sum() == pytest.approx(1.0)
    assert np.count_nonzero(img) == 2


def test_jet_with_nothing_in_the_window_is_an_error():
    p4 = jets_from_ptetaphi([[100.0, 0.0], [50.0, 50.0]], [[0.0, 0.0], [0.0, 2.0]],
                            [[0.0, 0.0], [0.0, 0.0]])
    # second jet: two equal constituents 2.0 apart -> centroid between them, both outside
    with pytest.raises(DataError, match=r"myfile.h5.*no constituent inside.*rows 1"):
        pixelize(p4, NPIX, DETA, DPHI, origin="myfile.h5")


@pytest.fixture
def rng():
    return np.random.default_rng(1)


def test_fast_atan2_and_asinh_match_numpy():
    from jetad.data.pixelize import _arcsinh, _arctan2

    rng = np.random.default_rng(4)
    y, x = rng.normal(size=(2, 200_000)).astype(np.float32) * rng.choice([1e-3, 1.0, 1e3], 200_000)
    y[:4], x[:4] = [0.0, 1.0, -1.0, 0.0], [1.0, 0.0, 0.0, -1.0]
    exact = np.arctan2(y.astype(np.float64), x.astype(np.float64))
    assert np.abs(_arctan2(y, x) - exact).max() < 1e-6
    v = np.linspace(-30, 30, 100_001, dtype=np.float32)
    assert np.abs(_arcsinh(v) - np.arcsinh(v.astype(np.float64))).max() < 1e-6
