from pathlib import Path

import numpy as np
import pytest

from jetad.errors import DataError, JetadError

FIXTURES = Path(__file__).parent / "fixtures"


def test_rho_formula_gives_6_4():
    from jetad.fpga.rho import rho

    assert rho((20, 20, 16, 10), (10, 10, 20, 5), stride=2) == pytest.approx(6.4)
    assert rho((10, 10, 20, 5), (10, 10, 20, 5), 2) == 1.0
    with pytest.raises(JetadError):
        rho((1, 2, 3), (10, 10, 20, 5))


def test_extrapolation_tags_rows():
    from jetad.fpga.rho import extrapolate

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


def test_report_fixture_parsed():
    from jetad.fpga import report

    row = report.read(FIXTURES / "conv2_b1_1")
    assert row["source"] == "vivado_hls"
    assert (row["DSP"], row["LUT"], row["FF"], row["BRAM"]) == (47, 386856, 14346, 18)
    assert row["LUT_pct"] == pytest.approx(100 * 386856 / 1_728_000)  # 22%, as the thesis
    assert row["TargetClockPeriod"] == 5.0 and row["WorstLatency"] == 112


def test_report_missing(tmp_path):
    from jetad.fpga import report

    with pytest.raises(DataError, match=str(tmp_path)):
        report.read(tmp_path)
    (tmp_path / "project.tcl").write_text('set project_name "x"\nset backend "vivado"\n')
    (tmp_path / "x_prj").mkdir()
    with pytest.raises(DataError, match="x_prj|report"):
        report.read(tmp_path)


def test_analytic_dsp_counts_nonzero_wide_weights():
    import tf_keras

    from jetad.fpga import resources

    inp = tf_keras.Input((4,))
    m = tf_keras.Model(inp, tf_keras.layers.Dense(3, name="d")(inp))
    w = np.array([[0.5, 0.0, 0.3], [0.0, 0.0, 1.0 / 3], [0.25, 0.0, 0.0], [0.0, 0.0, 0.0]])
    m.get_layer("d").set_weights([w, np.zeros(3)])
    row = resources.analytic_dsp(m.get_layer("d"), reuse_factor=1, frac_bits=9, dsp_min_bits=4)
    # 0.5, 0.25 are shifts; 0.3 -> 154/512 = 0b10011010 (7 significant bits), 1/3 -> 171/512 (8)
    assert row["nonzero_weights"] == 4 and row["DSP"] == 2 and row["source"] == "analytic"
    assert resources.analytic_dsp(m.get_layer("d"), dsp_min_bits=7)["DSP"] == 1
    assert resources.analytic_dsp(m.get_layer("d"), reuse_factor=2)["multipliers"] == 2
    assert resources.percentages({"DSP": 12288})["DSP_pct"] == 100.0


def test_estimate_on_encoder_grouped_zeros_free():
    from jetad.fpga import resources
    from jetad.quant import encoder

    m = encoder.build(quantized=True)
    rows = [r for r in resources.estimate(m, use_da4ml=False) if r["source"] == "analytic"]
    by = {r["layer"]: r for r in rows}
    for name, block_diagonal, full in (("conv1_b1_0", 900, 3600), ("dconv_b0", 144, 144)):
        # 3*3*(20/4)*20 of the 3*3*20*20 grouped kernel can be nonzero; dconv_b0 is ungrouped
        k = m.get_layer(name).get_weights()[0]
        assert k.size == full
        assert np.count_nonzero(k) == block_diagonal  # the masked blocks are exact zeros
        # the rows count what the quantized kernel holds: every weight that survived the
        # quantizer in the diagonal blocks, none of the masked ones
        kq = resources.quantized_kernel(m.get_layer(name))
        assert 0.9 * block_diagonal < by[name]["nonzero_weights"] == np.count_nonzero(kq) \
            <= block_diagonal
