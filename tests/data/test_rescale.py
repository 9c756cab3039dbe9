"""Jets brought to one mass and energy (jetad.data.rescale): hand-made 2- and 3-constituent jets."""

import numpy as np
import pytest

from jetad.data.rescale import rescale_jets
from jetad.errors import ConfigError, DataError


def four(mass, px, py, pz):
    """(E, px, py, pz) of a constituent of mass `mass`."""
    return [np.sqrt(mass**2 + px**2 + py**2 + pz**2), px, py, pz]


# (N=1, M, 4) jets: two massless prongs; three constituents, one massive, with zero padding
TWO_MASSLESS = np.array([[four(0, 300.0, 20.0, 150.0), four(0, 180.0, -35.0, 60.0)]])
THREE_MASSIVE = np.array([[four(0.14, 250.0, 40.0, -90.0), four(1.5, 120.0, -10.0, -30.0),
                           four(0, 60.0, 25.0, -45.0), [0.0, 0.0, 0.0, 0.0]]])
JETS = {"two massless": TWO_MASSLESS, "three, one massive": THREE_MASSIVE}
# (m0, E0): boosted further than the jets are, slowed down, and the paper's scale of a GeV
TARGETS = [(80.0, 2000.0), (80.0, 150.0), (0.5, 1.0)]


def mass_energy(p4):
    e, px, py, pz = p4.sum(axis=1).T
    return np.sqrt((e - np.sqrt(px**2 + py**2 + pz**2)) * (e + np.sqrt(px**2 + py**2 + pz**2))), e


def axis_of(p4):
    p = p4.sum(axis=1)[:, 1:]
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def transverse(p4, axis):
    """Each constituent's momentum transverse to the jet axis, |p - (p.n) n|."""
    along = np.einsum("nmk,nk->nm", p4[..., 1:], axis)
    return np.linalg.norm(p4[..., 1:] - along[..., None] * axis[:, None, :], axis=-1)


def same_order(before, after):
    """Every pair of values that differs before the transformation is ordered the same after it
    (a two-constituent jet's transverse momenta are equal: a tie, left out)."""
    first, second = np.subtract.outer(before, before), np.subtract.outer(after, after)
    differ = np.abs(first) > 1e-9 * np.abs(before).max()
    return bool((np.sign(first) == np.sign(second))[differ].all())


def angles(p4, axis):
    along = np.einsum("nmk,nk->nm", p4[..., 1:], axis)
    return np.arctan2(transverse(p4, axis), along)


@pytest.mark.parametrize("name", JETS)
@pytest.mark.parametrize("target", TARGETS)
def test_every_jet_gets_the_target_mass_and_energy(name, target):
    p4 = JETS[name]
    mass, energy = mass_energy(rescale_jets(p4, *target))
    np.testing.assert_allclose(mass, target[0], rtol=1e-9)
    np.testing.assert_allclose(energy, target[1], rtol=1e-9)
    # and the input was not touched
    np.testing.assert_array_equal(p4, JETS[name])


@pytest.mark.parametrize("name", JETS)
@pytest.mark.parametrize("target", TARGETS)
def test_direction_and_transverse_momenta_are_kept_up_to_one_factor(name, target):
    p4 = JETS[name]
    out = rescale_jets(p4, *target)
    np.testing.assert_allclose(axis_of(out), axis_of(p4), atol=1e-12)
    # the boost leaves what is transverse to the axis alone: only the rescaling m0 / M shows
    factor = target[0] / mass_energy(p4)[0][0]
    np.testing.assert_allclose(transverse(out, axis_of(p4)), factor * transverse(p4, axis_of(p4)),
                               rtol=1e-9, atol=1e-12)
    assert same_order(transverse(p4, axis_of(p4))[0], transverse(out, axis_of(p4))[0])


@pytest.mark.parametrize("target,narrower", [((80.0, 2000.0), True), ((80.0, 150.0), False)])
def test_massless_angles_follow_the_aberration_formula(target, narrower):
    p4 = np.concatenate([TWO_MASSLESS, [[four(0, 30.0, 30.0, 5.0), [0.0] * 4]]], axis=1)
    mass, energy = mass_energy(p4)
    out = rescale_jets(p4, *target)
    before, after = angles(p4, axis_of(p4))[0][:3], angles(out, axis_of(p4))[0][:3]
    # tan(t'/2) = exp(-D) tan(t/2), D the rapidity the jet gains along its axis
    gain = np.arccosh(target[1] / target[0]) - np.arccosh(energy[0] / mass[0])
    np.testing.assert_allclose(np.tan(after / 2), np.exp(-gain) * np.tan(before / 2), rtol=1e-9)
    assert same_order(before, after)
    assert (after < before).all() if narrower else (after > before).all()


def test_energy_order_is_not_kept_by_a_strong_boost():
    # a hard constituent at a wide angle and a softer one along the axis: boosted along the
    # axis, the collinear one gains energy faster and overtakes it
    p4 = np.array([[four(0, 100.0, 100.0, 0.0), four(0, 130.0, -20.0, 0.0),
                    four(0, 60.0, -70.0, 0.0)]])
    out = rescale_jets(p4, 1.0, 200.0)
    assert p4[0, 0, 0] > p4[0, 1, 0]
    assert out[0, 0, 0] < out[0, 1, 0]


@pytest.mark.parametrize("name", JETS)
def test_a_jet_already_at_the_target_is_unchanged(name):
    p4 = JETS[name]
    mass, energy = mass_energy(p4)
    np.testing.assert_allclose(rescale_jets(p4, mass[0], energy[0]), p4, rtol=1e-9, atol=1e-9)


def test_rescaling_alone_multiplies_every_component():
    # a jet whose E / M is already E0 / m0 needs no boost: s p for every component, s = m0 / M
    p4 = THREE_MASSIVE
    mass, energy = mass_energy(p4)
    out = rescale_jets(p4, 2 * mass[0], 2 * energy[0])
    np.testing.assert_allclose(out, 2 * p4, rtol=1e-9, atol=1e-9)


def test_constituent_masses_scale_and_padding_stays_zero():
    p4 = THREE_MASSIVE
    out = rescale_jets(p4, 80.0, 2000.0)
    own = np.sqrt(np.clip(out[0, :3, 0] ** 2 - (out[0, :3, 1:] ** 2).sum(-1), 0, None))
    factor = 80.0 / mass_energy(p4)[0][0]
    np.testing.assert_allclose(own[:2], factor * np.array([0.14, 1.5]), rtol=1e-6)
    assert own[2] < 1e-6 * out[0, 2, 0]
    assert (out[0, 3] == 0).all()


@pytest.mark.parametrize("jets,match", [
    (np.array([TWO_MASSLESS[0], [[np.nan, 1.0, 0.0, 0.0], [0.0] * 4]]),
     r"jets.h5: constituents with a NaN or infinite component, rows 8$"),
    (np.array([TWO_MASSLESS[0], [four(0, 100.0, 0.0, 0.0), [0.0] * 4]]),
     r"jets.h5: jets without a mass or a momentum .*rows 8$"),
    (np.array([[four(0, 100.0, 10.0, 0.0), four(0, 50.0, 5.0, 0.0)], TWO_MASSLESS[0]]),
     r"jets.h5: jets without a mass or a momentum .*rows 7$"),
    (np.array([[[5.0, 0.0, 0.0, 0.0], [0.0] * 4], TWO_MASSLESS[0]]),
     r"jets.h5: jets without a mass or a momentum .*rows 7$"),
], ids=["nan", "one massless constituent", "collinear massless", "at rest"])
def test_degenerate_jets_are_refused_naming_their_rows(jets, match):
    with pytest.raises(DataError, match=match):
        rescale_jets(jets, 80.0, 2000.0, origin="jets.h5", offset=7)


@pytest.mark.parametrize("target", [(100.0, 100.0), (100.0, 50.0), (0.0, 50.0)])
def test_a_target_without_an_axis_is_refused(target):
    with pytest.raises(ConfigError, match=r"pixelize.rescale: .* 0 < m0 < E0"):
        rescale_jets(TWO_MASSLESS, *target)
