"""jetad's integer C-simulation kernels (jetad.fpga.hls4ml.csim) against hls4ml's ap_fixed C++."""

import dataclasses
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from jetad.errors import JetadError


def odd_qmodel():
    """Shapes the encoder does not have: valid padding, a 3x2 kernel, strides (1, 2), a 1x1 conv,
    an instance norm on 5 channels, unsigned activations feeding a conv."""
    import tf_keras
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    def q():
        return quantized_bits(16, 6, alpha=1)

    inp = tf_keras.Input((9, 7, 3))
    x = QActivation(q(), name="input_quant")(inp)
    x = QConv2D(5, (3, 2), strides=(1, 2), padding="valid", kernel_quantizer=q(),
                bias_quantizer=q(), name="conv_a")(x)
    x = tf_keras.layers.GroupNormalization(groups=-1, name="conv_a_norm")(x)
    x = QActivation(quantized_relu(16, 6), name="conv_a_act")(x)
    x = QConv2D(4, 1, kernel_quantizer=q(), bias_quantizer=q(), name="conv_b")(x)
    x = tf_keras.layers.Flatten(name="flatten")(x)
    x = QDense(6, kernel_quantizer=q(), bias_quantizer=q(), name="dense")(x)
    model = tf_keras.Model(inp, x, name="odd")
    rng = np.random.default_rng(7)
    for layer in model.layers:
        w = layer.get_weights()
        if w and layer.name != "conv_a_norm":
            layer.set_weights([rng.normal(0, 0.5, a.shape).astype(np.float32) for a in w])
    model.get_layer("conv_a_norm").set_weights(
        [rng.uniform(0.5, 2, 5).astype(np.float32), rng.uniform(-1, 1, 5).astype(np.float32)])
    return model


# coarse instance-norm types for "odd": one LSB of a sum or of the variance shows in the output
COARSE_NORM = {"result": "ap_fixed<14,6>", "accum": "ap_fixed<22,10>", "norm": "ap_fixed<12,4>",
               "scale": "ap_fixed<12,4>", "bias": "ap_fixed<12,4>"}
MODELS = {"small_norm": ((8, 8, 4), None), "odd": ((9, 7, 3), COARSE_NORM)}


@pytest.fixture(scope="module", params=sorted(MODELS))
def both_builds(request, tmp_path_factory, small_qmodel, hls_settings):
    """The same model compiled twice: integer kernels and hls4ml's ap_fixed loops."""
    from jetad.fpga.hls4ml.build import compile_model
    from jetad.fpga.hls4ml.emulate import Compiled
    from jetad.fpga.hls4ml.project import convert

    shape, norm = MODELS[request.param]
    model = (small_qmodel(with_norm=True, name="small_norm") if request.param == "small_norm"
             else odd_qmodel())
    settings = dataclasses.replace(
        hls_settings, norm_precision={**hls_settings.norm_precision, **(norm or {})})
    comps = {}
    for mode in ("integer", "ap_fixed"):
        d = tmp_path_factory.mktemp(f"{request.param}_{mode}")
        hm = convert(model, d, settings, request.param)
        # -O0: no inlining, so the kernels' symbols show which path was built
        comps[mode] = Compiled.of(hm, compile_model(hm, "-O0 -fPIC", csim=mode))
    return model, shape, comps


def _symbols(lib: str) -> str:
    return subprocess.run(["nm", "-C", lib], capture_output=True, text=True, check=True).stdout


@pytest.mark.build
def test_integer_kernels_give_hls4ml_bits(both_builds, images):
    from jetad.fpga.hls4ml.emulate import emulate

    model, shape, comps = both_builds
    rng = np.random.default_rng(11)
    x = np.concatenate([
        images(48, shape, seed=2),
        # beyond the <16,6> input range (saturated by the input quantizer) and tiny values
        (rng.normal(size=(16, *shape)) * 60).astype(np.float32),
        (rng.normal(size=(16, *shape)) * 1e-3).astype(np.float32),
    ])
    got = emulate(comps["integer"], x)[0]
    ref = emulate(comps["ap_fixed"], x)[0]
    assert np.array_equal(got, ref)
    assert np.unique(ref).size > 50  # a model that computes something


@pytest.mark.build
def test_integer_kernels_are_the_ones_built(both_builds):
    _, _, comps = both_builds
    integer, ap = _symbols(comps["integer"].lib), _symbols(comps["ap_fixed"].lib)
    for kernel in ("jetad_csim::conv_2d_integer", "instancenorm_csim::stats",
                   "instancenorm_csim::apply"):
        assert kernel in integer
        assert kernel not in ap
    assert "conv_2d_latency_cl_hls4ml" in ap


def _preprocess(header, tmp_path, name: str, synthesis: bool) -> str:
    d = tmp_path / name
    d.mkdir()
    shutil.copy(header, d / "h.h")
    for stub in ("nnet_common.h", "nnet_mult.h", "nnet_conv2d_csim.h", "hls_stream.h"):
        (d / stub).write_text("")
    cmd = ["g++", "-E", "-P", "-xc++", str(d / "h.h")] + (["-D__SYNTHESIS__"] if synthesis else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def test_synthesis_reads_hls4ml_code_unchanged(tmp_path, small_qmodel, hls_settings):
    """With __SYNTHESIS__ defined the patched header preprocesses to hls4ml's own."""
    from jetad.fpga.hls4ml import csim
    from jetad.fpga.hls4ml.compat import import_hls4ml
    from jetad.fpga.hls4ml.project import convert, write_project

    hls4ml = import_hls4ml()
    hm = convert(small_qmodel(), tmp_path / "p", hls_settings, "small_p")
    write_project(hm)
    patched = tmp_path / "p" / "firmware" / "nnet_utils" / "nnet_conv2d_latency.h"
    assert (patched.parent / "nnet_conv2d_csim.h").is_file()
    original = (Path(hls4ml.__file__).parent / "templates" / "vivado" / "nnet_utils"
                / "nnet_conv2d_latency.h")
    assert (_preprocess(patched, tmp_path, "a", True) == _preprocess(original, tmp_path, "b", True))
    # and the C simulation does not: it gets the renamed function and jetad's kernel
    sim = _preprocess(patched, tmp_path, "c", False)
    assert "conv_2d_latency_cl_hls4ml" in sim
    assert not csim.patch_project(tmp_path / "p")  # idempotent
    norm = _preprocess(Path(csim.__file__).with_name("nnet_instancenorm.h"), tmp_path, "d", True)
    assert "instancenorm_csim" not in norm and "instancenorm_stats" in norm


def test_unknown_csim_mode_and_changed_template_refused(tmp_path):
    from jetad.fpga.hls4ml import csim

    with pytest.raises(JetadError, match="hls.csim must be one of"):
        csim.mode_flags("fast")
    utils = tmp_path / "firmware" / "nnet_utils"
    utils.mkdir(parents=True)
    (utils / "nnet_conv2d_latency.h").write_text("#ifndef X\n#define X\n#endif\n")
    with pytest.raises(JetadError, match="nnet_conv2d_latency.h: expected one definition"):
        csim.patch_project(tmp_path)
