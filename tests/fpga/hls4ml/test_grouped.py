"""Per-group export of block-diagonal grouped convs (jetad.fpga.hls4ml.grouped): same QKeras outputs,
and an hls4ml emulation equal to the block-diagonal model's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest


def test_per_group_keras_equal_and_split(small_qmodel, images):
    from jetad.fpga.hls4ml import grouped
    from jetad.fpga.hls4ml.emulate import keras_outputs

    model = small_qmodel()
    pg = grouped.per_group(model)
    names = [layer.name for layer in pg.layers]
    assert "gconv" not in names and {"gconv_g0", "gconv_g1", "gconv_cat0_0"} <= set(names)
    assert pg.get_layer("gconv_g0").get_weights()[0].shape == (3, 3, 2, 2)
    x = images(32)
    assert np.array_equal(keras_outputs(model, x)[0], keras_outputs(pg, x)[0])
    # a model without grouped convs comes back unchanged
    assert grouped.per_group(pg) is pg


def test_per_group_refuses_off_diagonal_weights(small_qmodel):
    from jetad.errors import JetadError
    from jetad.fpga.hls4ml import grouped

    model = small_qmodel()
    layer = model.get_layer("gconv")
    w = layer.get_weights()
    w[0][:, :, 0, 3] = 0.5  # input block 0 -> output block 1
    layer.set_weights(w)
    with pytest.raises(JetadError, match="gconv.*outside its 2 diagonal blocks"):
        grouped.per_group(model)


@pytest.mark.build
def test_per_group_emulation_bit_exact(tmp_path, compiled_small, images, hls_settings):
    from jetad.fpga.hls4ml import grouped
    from jetad.fpga.hls4ml.build import build_library
    from jetad.fpga.hls4ml.emulate import Compiled, emulate, keras_outputs
    from jetad.fpga.hls4ml.project import convert, write_project

    model, comp_bd, _ = compiled_small[("io_parallel", "Latency")]
    hm = convert(grouped.per_group(model), tmp_path / "pg", hls_settings, "small_pg")
    write_project(hm, "-O1 -fPIC")
    assert 'CFLAGS="-O1 -fPIC"' in (tmp_path / "pg" / "build_lib.sh").read_text()
    comp = Compiled.of(hm, build_library(hm))
    x = images(64)
    got = emulate(comp, x)[0]
    assert np.array_equal(got, emulate(comp_bd, x)[0])
    assert np.array_equal(got, keras_outputs(model, x)[0])
