import numpy as np
import pytest

from jetad.data import nsubjettiness
from jetad.data.kinematics import jet_kinematics
from jetad.data.layout import Jets, write_jets
from jetad.data.pixelize import image_set, pixelize
from jetad.data.rescale import rescale_jets
from jetad.errors import DataError

NPIX = 40
DETA, DPHI = 0.029, 0.035
C = NPIX // 2


@pytest.fixture
def image(jets_from_ptetaphi):
    """image(pt, eta, phi): the image of one jet."""

    def one(pt, eta, phi):
        return pixelize(jets_from_ptetaphi([pt], [eta], [phi]), NPIX, DETA, DPHI)[0]

    return one


@pytest.mark.parametrize("eta,phi", [(0.0, 0.0), (1.3, 2.9), (-1.7, -3.1), (0.4, np.pi)])
def test_single_constituent_lands_in_centre_pixel(eta, phi, image):
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
def test_rotated_two_prong_jet_gives_the_same_image(angle, image):
    reference = image(*two_prong(0.0))
    rotated = image(*two_prong(angle))
    np.testing.assert_allclose(rotated, reference, atol=1e-6)
    assert np.count_nonzero(reference) == 3


def test_major_axis_is_vertical_and_flip_puts_bulk_lower_left(image):
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


def test_flip_is_applied_in_both_axes(image):
    # an asymmetric jet: heavy below-left after the transform, whatever its orientation
    pt = [400.0, 100.0, 80.0, 60.0]
    base_eta = np.array([0.0, 0.25, 0.05, -0.03])
    base_phi = np.array([0.0, 0.1, 0.2, 0.15])
    images = [image(pt, sx * base_eta, sy * base_phi) for sx in (1, -1) for sy in (1, -1)]
    for img in images[1:]:
        np.testing.assert_allclose(img, images[0], atol=1e-6)


def test_pixels_sharing_constituents_accumulate(image):
    # three constituents at one point share a pixel whatever the transform; the fourth lies
    # elsewhere. Overwriting instead of adding would give 30 / 50 in the shared pixel.
    pt = [100.0, 50.0, 30.0, 20.0]
    eta = [0.0, 0.0, 0.0, 0.3]
    phi = [0.0, 0.0, 0.0, 0.0]
    img = image(pt, eta, phi)
    assert img.sum() == pytest.approx(1.0)
    assert img.max() == pytest.approx(180.0 / 200.0, rel=1e-5)


def test_every_image_sums_to_one_and_kinematics_are_right(rng, jets_from_ptetaphi):
    n, m = 500, 60
    pt = rng.exponential(20.0, (n, m))
    pt[:, 40:] = 0
    eta = rng.normal(0.0, 0.15, (n, m)) + rng.uniform(-1.5, 1.5, (n, 1))
    phi = rng.normal(0.0, 0.15, (n, m)) + rng.uniform(-np.pi, np.pi, (n, 1))
    p4 = jets_from_ptetaphi(pt, eta, phi)
    images = pixelize(p4, NPIX, DETA, DPHI, threads=2)
    assert images.shape == (n, NPIX, NPIX) and images.dtype == np.float32
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert (images >= 0).all()
    # the number of threads does not change the bytes
    np.testing.assert_array_equal(images, pixelize(p4, NPIX, DETA, DPHI, threads=1))
    jpt, jeta, jmass = jet_kinematics(p4)
    total = p4.astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(jpt, np.hypot(total[:, 1], total[:, 2]), rtol=1e-5)
    assert (jmass > 0).all()


def test_jets_near_phi_boundary_are_not_empty(image):
    # constituents straddling phi = +-pi are one jet once phi is measured from the leader
    img = image([200.0, 100.0], [0.0, 0.0], [np.pi - 0.01, -np.pi + 0.01])
    assert img.sum() == pytest.approx(1.0)
    assert np.count_nonzero(img) == 2


def test_jet_with_nothing_in_the_window_is_an_error(jets_from_ptetaphi):
    p4 = jets_from_ptetaphi([[100.0, 0.0], [50.0, 50.0]], [[0.0, 0.0], [0.0, 2.0]],
                            [[0.0, 0.0], [0.0, 0.0]])
    # second jet: two equal constituents 2.0 apart -> centroid between them, both outside
    with pytest.raises(DataError, match=r"myfile.h5.*no constituent inside.*rows 1"):
        pixelize(p4, NPIX, DETA, DPHI, origin="myfile.h5")


def test_a_jet_boosted_along_its_axis_gives_one_image_once_rescaled():
    """The point of pixelize.rescale: one jet seen at two boosts along its axis (two masses
    over energy) makes two images as it is, one image once rescaled."""
    px = np.array([300.0, 250.0, 120.0])
    py, pz = np.array([20.0, -45.0, 15.0]), np.array([40.0, 20.0, -30.0])
    jet = np.stack([np.sqrt(px**2 + py**2 + pz**2), px, py, pz], axis=-1)[None]
    mass = np.sqrt(jet[0, :, 0].sum() ** 2 - (jet[0, :, 1:].sum(axis=0) ** 2).sum())
    energy = jet[0, :, 0].sum()
    faster = rescale_jets(jet, mass, 1.6 * energy)
    both = np.concatenate([jet, faster]).astype(np.float32)
    raw = pixelize(both, NPIX, DETA, DPHI)
    assert np.abs(raw[0] - raw[1]).max() > 0.1
    same = pixelize(rescale_jets(both, 50.0, 500.0).astype(np.float32), NPIX, DETA, DPHI)
    np.testing.assert_allclose(same[0], same[1], atol=1e-5)


def test_image_set_rescales_the_images_only(tmp_path, rng, jets_from_ptetaphi, monkeypatch):
    """image_set with rescale: the images are those of the rescaled jets; the kinematics stay
    the jets' own (the mass windows are cut on them), and so do the jets N-subjettiness sees."""
    seen = []
    monkeypatch.setattr(nsubjettiness, "ratios", lambda p4, threads: seen.append(p4) or {
        "tau21": np.zeros(len(p4)), "tau32": np.zeros(len(p4))})
    n, m = 40, 30
    pt = rng.exponential(20.0, (n, m))
    eta = rng.normal(0.0, 0.1, (n, m)) + rng.uniform(-1.5, 1.5, (n, 1))
    phi = rng.normal(0.0, 0.1, (n, m)) + rng.uniform(-np.pi, np.pi, (n, 1))
    p4 = np.zeros((n, 200, 4), np.float32)
    p4[:, :m] = jets_from_ptetaphi(pt, eta, phi)
    write_jets(tmp_path / "jets.h5", Jets(p4, np.zeros((n, 4), np.float32), np.zeros(n, np.int8),
                                          np.zeros(n, np.int8)))
    args = (str(tmp_path / "jets.h5"), "qcd", n, NPIX, DETA, DPHI, 16)
    plain, _ = image_set(*args)
    moved, _ = image_set(*args, rescale=[50.0, 800.0])
    np.testing.assert_array_equal(moved.images, pixelize(
        rescale_jets(p4, 50.0, 800.0).astype(np.float32), NPIX, DETA, DPHI))
    assert not np.array_equal(moved.images, plain.images)
    for key in ("jet_pt", "jet_eta", "jet_mass"):
        np.testing.assert_array_equal(getattr(moved, key), getattr(plain, key))
    np.testing.assert_allclose(moved.jet_pt, np.hypot(*p4.astype(np.float64).sum(1)[:, 1:3].T),
                               rtol=1e-6)
    # three batches of 16 per call, the jets as they are in both calls
    np.testing.assert_array_equal(np.concatenate(seen), np.concatenate([p4, p4]))


@pytest.fixture
def rng():
    return np.random.default_rng(1)


def reference_image(p4, npix=NPIX, deta=DETA, dphi=DPHI):
    """The preprocessing of [Valente 2022] ch. 3 written out for one jet, in plain float64 NumPy (slow,
    obvious)."""
    c = p4[(p4[:, 0] > 0) & ((p4[:, 1] != 0) | (p4[:, 2] != 0))].astype(np.float64)
    pt = np.hypot(c[:, 1], c[:, 2])
    eta = np.arcsinh(c[:, 3] / pt)
    phi = np.arctan2(c[:, 2], c[:, 1])
    phi = np.mod(phi - phi[np.argmax(pt)] + np.pi, 2 * np.pi) - np.pi
    eta = eta - np.average(eta, weights=pt)
    phi = phi - np.average(phi, weights=pt)
    cov = np.cov(np.stack([eta, phi]), aweights=pt, bias=True)
    evals, evecs = np.linalg.eigh(cov)
    major = evecs[:, np.argmax(evals)]
    angle = np.pi / 2 - np.arctan2(major[1], major[0])
    x = np.cos(angle) * eta - np.sin(angle) * phi
    y = np.sin(angle) * eta + np.cos(angle) * phi
    x = -x if np.sum(pt * np.sign(x)) > 0 else x
    y = -y if np.sum(pt * np.sign(y)) > 0 else y
    img, _, _ = np.histogram2d(y, x, bins=npix, weights=pt,
                               range=[[-npix / 2 * dphi, npix / 2 * dphi],
                                      [-npix / 2 * deta, npix / 2 * deta]])
    return img / img.sum()


def test_images_match_a_plain_per_jet_reference(rng, jets_from_ptetaphi):
    n, m = 300, 80
    pt = rng.exponential(20.0, (n, m))
    pt[np.arange(m) >= rng.integers(5, m, (n, 1))] = 0  # 5 to m constituents
    eta = rng.normal(0.0, 0.12, (n, m)) + rng.uniform(-2.0, 2.0, (n, 1))
    phi = rng.normal(0.0, 0.12, (n, m)) + rng.uniform(-np.pi, np.pi, (n, 1))
    p4 = jets_from_ptetaphi(pt, eta, phi)
    images = pixelize(p4, NPIX, DETA, DPHI)
    reference = np.stack([reference_image(j) for j in p4])
    # a constituent within rounding of a pixel edge may land on either side: allow a few jets
    close = np.isclose(images, reference, atol=1e-5).all(axis=(1, 2))
    assert close.mean() > 0.98, f"{(~close).sum()} of {n} jets differ from the reference"


def test_errors_count_rows_from_the_offset(jets_from_ptetaphi):
    p4 = jets_from_ptetaphi([[100.0], [50.0], [0.0]], [[0.0], [0.0], [0.0]], [[0.0], [0.0], [0.0]])
    with pytest.raises(DataError, match=r"f.h5: jets with no constituent, rows 1002$"):
        pixelize(p4, NPIX, DETA, DPHI, origin="f.h5", offset=1000)


def test_kernel_atan2_matches_numpy():
    from jetad.data.pixel_kernel import fast_atan2

    rng = np.random.default_rng(4)
    y, x = rng.normal(size=(2, 5000)) * rng.choice([1e-3, 1.0, 1e3], 5000)
    y[:5], x[:5] = [0.0, 1.0, -1.0, 0.0, -0.0], [1.0, 0.0, 0.0, -1.0, -1.0]
    got = np.array([fast_atan2(a, b) for a, b in zip(y, x, strict=True)])
    assert np.abs(got - np.arctan2(y, x)).max() < 1e-6
