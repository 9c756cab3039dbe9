"""jetad.fpga.hls4ml.emulate: the compiled C++ run through ctypes equals QKeras, in any batching."""

import numpy as np
import pytest


@pytest.mark.build
@pytest.mark.parametrize("key", [("io_parallel", "Latency"), ("io_parallel", "Resource"),
                                 ("io_stream", "Latency")])
def test_bit_exact_emulation_equals_qkeras(compiled_small, key, images):
    from jetad.fpga.hls4ml.emulate import emulate, keras_outputs, max_abs_diff

    model, comp, _ = compiled_small[key]
    x = images(64)
    got = emulate(comp, x, processes=1, batch=32)
    want = keras_outputs(model, x)
    assert max_abs_diff(got, want) == 0.0
    assert np.abs(want[0]).max() > 0  # not a trivially zero model


@pytest.mark.build
def test_parallel_emulation_matches_serial(compiled_small, images):
    from jetad.fpga.hls4ml.emulate import emulate

    _, comp, _ = compiled_small[("io_parallel", "Latency")]
    x = images(40, seed=3)
    a = emulate(comp, x, processes=2, batch=10)
    b = emulate(comp, x, processes=1, batch=40)
    assert np.array_equal(a[0], b[0])
    assert np.array_equal(emulate(comp, x[7:9], batch=1)[0], a[0][7:9])
    empty = emulate(comp, x[:0])
    assert [e.shape for e in empty] == [(0, n) for n in comp.out_sizes]
