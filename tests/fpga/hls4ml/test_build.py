"""jetad.fpga.hls4ml.build: the g++ (or clang++) build of a written project."""

import shutil

import numpy as np
import pytest

from jetad.errors import JetadError


@pytest.mark.skipif(shutil.which("clang++") is None, reason="clang++ not installed (apt install clang)")
@pytest.mark.build
def test_clang_build_gives_the_same_outputs(tmp_path, compiled_small, images, hls_settings):
    from jetad.fpga.hls4ml.build import build_library
    from jetad.fpga.hls4ml.emulate import Compiled, emulate
    from jetad.fpga.hls4ml.project import convert, write_project

    model, comp_gcc, _ = compiled_small[("io_parallel", "Latency")]
    hm = convert(model, tmp_path / "clang", hls_settings, "small_clang")
    write_project(hm, "-O2 -fPIC", "clang++")
    script = (tmp_path / "clang" / "build_lib.sh").read_text()
    assert "CC=clang++" in script and 'CFLAGS="-O2 -fPIC"' in script
    comp = Compiled.of(hm, build_library(hm))
    x = images(64, seed=5)
    assert np.array_equal(emulate(comp, x)[0], emulate(comp_gcc, x)[0])


def test_compile_error_named(tmp_path, small_qmodel, hls_settings):
    from jetad.fpga.hls4ml.build import build_library
    from jetad.fpga.hls4ml.project import convert, write_project

    hm = convert(small_qmodel(name="broken"), tmp_path / "p", hls_settings, "broken")
    out = write_project(hm, "-O0 -fPIC")
    top = out / "firmware" / "broken.cpp"
    top.write_text(top.read_text() + "\nthis is not C++;\n")
    with pytest.raises(JetadError, match=f"g\\+\\+ compilation of {out} failed: .*error"):
        build_library(hm)
    assert not list((out / "firmware").glob("*.so"))
