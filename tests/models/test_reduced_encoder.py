from pathlib import Path

import numpy as np
import pytest

from jetad.errors import JetadError

SHAPES = {
    "dconv_b0": (20, 20, 16), "conv1_b0_0": (20, 20, 16), "conv2_b0_0": (20, 20, 16),
    "dconv_b1": (10, 10, 20), "conv1_b1_0": (10, 10, 20), "conv2_b1_0": (10, 10, 20),
    "conv1_b1_1": (10, 10, 20), "conv2_b1_1": (10, 10, 20), "dconv_b2": (5, 5, 4),
    "conv1_b2_0": (5, 5, 4), "conv2_b2_0": (5, 5, 4), "conv_fin": (5, 5, 2), "flatten": (50,),
    "z_categorical": (20,), "z_mean": (32,), "z_var": (32,),
}


def layer_shapes(model) -> dict[str, tuple[int, ...]]:
    """Output shape (without batch) of every conv, flatten and dense layer."""
    from jetad.models.reduced_encoder import HEADS, LAYOUT

    names = [x[0] for x in LAYOUT] + ["flatten", *HEADS]
    return {layer.name: tuple(int(d) for d in layer.output_shape[1:])
            for layer in model.layers if layer.name in names}


@pytest.fixture(scope="module", params=[False, True], ids=["float", "qkeras"])
def model(request, encoder_config):
    from jetad.models import reduced_encoder as encoder

    return encoder.build(encoder_config, quantized=request.param)


def test_table_3_2_shapes(model):
    assert layer_shapes(model) == SHAPES
    assert model.get_layer("conv_fin").get_config()["activation"] == "linear"


def test_weight_limit_and_size(model, encoder_config):
    from jetad.models import reduced_encoder as encoder

    assert encoder_config.max_conv_weights == 1024  # the schema's default: Vivado HLS's limit
    counts = encoder.check_weight_limit(model, encoder_config.max_conv_weights)
    assert max(counts.values()) <= 1024
    assert counts["conv1_b0_0"] == 3 * 3 * 4 * 16
    # [Valente 2022] Table 3.2: about 10k parameters; docs/thesis.md states the exact number
    assert encoder.effective_params(model) == 10_706
    doc = (Path(__file__).resolve().parents[2] / "docs" / "thesis.md").read_text()
    assert "10,706 parameters that can be nonzero" in doc


def test_block_diagonal_kept_through_training(model):
    import tf_keras

    x = np.random.default_rng(0).random((8, 40, 40, 1)).astype(np.float32)
    y = [np.zeros((8, 20)), np.zeros((8, 32)), np.zeros((8, 32))]
    model.compile(tf_keras.optimizers.Adam(1e-2), loss="mse")
    before = model.get_layer("conv1_b1_0").get_weights()[0].copy()
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    k = model.get_layer("conv1_b1_0").get_weights()[0]
    assert not np.array_equal(k, before)  # it trained
    for g in range(4):
        for h in range(4):
            block = k[:, :, 5 * g:5 * g + 5, 5 * h:5 * h + 5]
            assert (np.count_nonzero(block) == 0) == (g != h)


def test_quantized_flag(model):
    from jetad.models import reduced_encoder as encoder

    assert encoder.is_quantized(model) == (model.name == "qencoder")


def test_over_limit_names_layer(encoder_config):
    import dataclasses

    from jetad.models import reduced_encoder as encoder

    cfg = dataclasses.replace(encoder_config, groups=1)
    with pytest.raises(JetadError, match="dconv_b1"):
        encoder.build(cfg)
    with pytest.raises(JetadError, match="divide"):
        encoder.block_mask(6, 4, 4)
