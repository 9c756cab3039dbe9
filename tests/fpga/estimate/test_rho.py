"""jetad.fpga.estimate.rho: the rho factor of [Valente 2022] ch. 3 and the extrapolation it tags."""

import pytest

from jetad.errors import JetadError


def test_rho_formula_gives_6_4():
    from jetad.fpga.estimate.rho import rho

    assert rho((20, 20, 16, 10), (10, 10, 20, 5), stride=2) == pytest.approx(6.4)
    assert rho((10, 10, 20, 5), (10, 10, 20, 5), 2) == 1.0
    with pytest.raises(JetadError):
        rho((1, 2, 3), (10, 10, 20, 5))


def test_extrapolation_tags_rows():
    from jetad.fpga.estimate.rho import extrapolate

    layers = {"conv2_b0_0": (20, 20, 16, 10), "conv2_b1_1": (10, 10, 20, 5),
              "dconv_b2": (10, 10, 20, 4)}
    measured = {"conv2_b1_1": {"DSP": 47, "LUT": 386856, "FF": 14346, "BRAM": 18},
                "dconv_b2": {"DSP": 15, "LUT": 309544, "FF": 9352, "BRAM": 4}}
    rows = {r["layer"]: r for r in extrapolate(layers, measured, stride=2)}
    r = rows["conv2_b0_0"]
    assert r["extrapolated"] and r["reference"] == "conv2_b1_1"
    assert r["DSP"] == pytest.approx(47 * 6.4) and r["LUT"] == pytest.approx(386856 * 6.4)
    assert rows["dconv_b2"]["extrapolated"] is False and rows["dconv_b2"]["DSP"] == 15
    with pytest.raises(JetadError):
        extrapolate(layers, {})
