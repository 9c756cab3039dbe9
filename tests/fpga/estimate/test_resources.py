"""jetad.fpga.estimate.resources: DSP counts of hls4ml's Latency strategy from the quantized kernels."""

import numpy as np


def test_analytic_dsp_counts_nonzero_wide_weights():
    import tf_keras

    from jetad.fpga.estimate import resources

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


def test_estimate_on_encoder_grouped_zeros_free(encoder_config):
    from jetad.fpga.estimate import resources
    from jetad.models import reduced_encoder as encoder

    m = encoder.build(encoder_config, quantized=True)
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
