"""jetad.fpga.hls4ml.parts: the encoder's layer and block parts."""

import numpy as np
import pytest

from jetad.errors import JetadError


def test_split_layer_and_block(encoder_config):
    from jetad.fpga.hls4ml.parts import split
    from jetad.models import reduced_encoder as encoder

    m = encoder.build(encoder_config, quantized=True)
    layers = split(m, "layer")
    blocks = split(m, "block")
    assert list(layers) == [x[0] for x in encoder.LAYOUT] + ["heads"]
    assert [la.name for la in blocks["conv1_b1_0"].layers][-3:] == [
        "conv1_b1_0", "conv1_b1_0_norm", "conv1_b1_0_act"]
    assert blocks["conv_fin"].output_shape == (None, 5, 5, 2)
    x = np.random.default_rng(0).random((2, 10, 10, 20)).astype(np.float32)
    # the split part shares weights with the full model
    assert np.array_equal(layers["conv1_b1_0"].layers[-1].get_weights()[0],
                          m.get_layer("conv1_b1_0").get_weights()[0])
    assert layers["conv1_b1_0"].predict(x, verbose=0).shape == (2, 10, 10, 20)
    with pytest.raises(JetadError):
        split(m, "pixel")
