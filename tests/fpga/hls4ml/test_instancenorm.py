import numpy as np
import pytest


@pytest.fixture(scope="module")
def norm_models(tmp_path_factory, hls_settings):
    import tf_keras

    from jetad.fpga.hls4ml.build import compile_model
    from jetad.fpga.hls4ml.compat import import_hls4ml
    from jetad.fpga.hls4ml.emulate import Compiled

    hls4ml = import_hls4ml()
    inp = tf_keras.Input((6, 5, 3))
    x = tf_keras.layers.GroupNormalization(groups=-1, name="norm")(inp)
    m = tf_keras.Model(inp, x, name="normonly")
    m.get_layer("norm").set_weights([np.array([1.0, 0.5, 2.0]), np.array([0.1, -0.2, 0.3])])
    out = {}
    for io in ("io_parallel", "io_stream"):
        cfg = hls4ml.utils.config_from_keras_model(m, granularity="name", backend="Vivado",
                                                   default_precision="ap_fixed<24,8>")
        cfg["LayerName"]["norm"]["Precision"] = dict(hls_settings.norm_precision)
        hm = hls4ml.converters.convert_from_keras_model(
            m, hls_config=cfg, output_dir=str(tmp_path_factory.mktemp(io)), project_name="normonly",
            backend="Vivado", part=hls_settings.part, clock_period=5, io_type=io)
        out[io] = Compiled.of(hm, compile_model(hm))
    return m, out


@pytest.mark.build
@pytest.mark.parametrize("io", ["io_parallel", "io_stream"])
def test_instancenorm_matches_keras(norm_models, io):
    from jetad.fpga.hls4ml.emulate import emulate

    m, comp = norm_models
    rng = np.random.default_rng(1)
    # different scales per image and channel: the statistics are per image and channel
    x = (rng.normal(size=(50, 6, 5, 3)) * rng.uniform(0.05, 3, (50, 1, 1, 3))
         + rng.uniform(-2, 2, (50, 1, 1, 3))).astype(np.float32)
    got = emulate(comp[io], x)[0].reshape(x.shape)
    want = m.predict(x, verbose=0)
    lsb = 2.0 ** -16  # result ap_fixed<24,8>
    assert np.abs(got - want).max() < 8 * lsb
    # biased variance, channel-last: check against numpy directly too
    mu = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)  # ddof=0
    ref = (x - mu) / np.sqrt(var + 1e-3) * np.array([1.0, 0.5, 2.0]) + np.array([0.1, -0.2, 0.3])
    assert np.abs(got - ref).max() < 8 * lsb


def test_groupnorm_with_groups_refused(tmp_path):
    import tf_keras

    from jetad.errors import JetadError
    from jetad.fpga.hls4ml.compat import import_hls4ml

    hls4ml = import_hls4ml()
    inp = tf_keras.Input((4, 4, 4))
    m = tf_keras.Model(inp, tf_keras.layers.GroupNormalization(groups=2, name="gn2")(inp))
    with pytest.raises(JetadError, match="gn2"):
        hls4ml.converters.convert_from_keras_model(m, output_dir=str(tmp_path), backend="Vivado")
