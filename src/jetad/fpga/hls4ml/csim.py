"""Integer C-simulation kernels for hls4ml projects: the same bits as hls4ml's ap_fixed C++, faster.

hls4ml's C++ emulation of the quantized encoder spent ~30 ns per multiply-accumulate (ap_fixed
temporaries, the generated im2col `fill_buffer` functions) and most of the rest in the 80-bit
ap_fixed steps of the instance norm. Two C-simulation-only paths replace those loops:

- `nnet_conv2d_csim.h`: hls4ml's `nnet::conv_2d_latency_cl` (io_parallel, Latency) on the raw
  integers of the ap_fixed values, taken when the types make that exact (see the header);
- `nnet_instancenorm.h` (jetad's extension layer): its two loops over pixels in 128-bit integers.

Both sit behind `#ifndef __SYNTHESIS__`: Vivado/Vitis HLS synthesis reads hls4ml's code as
hls4ml wrote it (tested by preprocessing both versions with -D__SYNTHESIS__). With
`hls.csim: ap_fixed` the build defines JETAD_AP_FIXED_CSIM and the integer paths are skipped, so
the same project runs hls4ml's own C++ (the reference the tests and bench/emulate.py compare with).

This is a speed-up, not a fix of hls4ml (whose C++ is correct, only slow), so it lives here rather
than in `jetad.fpga.hls4ml.compat`. The conv kernel is swapped by editing the written project's copy of
hls4ml 1.3.0's `templates/vivado/nnet_utils/nnet_conv2d_latency.h` (`patch_project`): hls4ml has
no hook to give a template function a C-simulation-only body. The edit refuses a header that is
not the one it expects (one definition of `conv_2d_latency_cl`, a final `#endif`), so a changed
template stops the build with a message instead of silently running hls4ml's loops.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from jetad.errors import JetadError

CONV_HEADER = Path(__file__).with_name("nnet_conv2d_csim.h")
MODES = ("integer", "ap_fixed")
REFERENCE_MACRO = "JETAD_AP_FIXED_CSIM"
_MARK = "jetad.fpga.hls4ml.csim"
_DEF = "void conv_2d_latency_cl("


def patch_project(project_dir) -> bool:
    """Route the project's C simulation of conv_2d_latency_cl through jetad's integer kernel.

    Idempotent; returns True when the project was changed. Raises JetadError when hls4ml's header
    is not the expected one (the pinned hls4ml 1.3 defines the function once)."""
    utils = Path(project_dir) / "firmware" / "nnet_utils"
    target = utils / "nnet_conv2d_latency.h"
    if not target.is_file():
        raise JetadError(f"{target}: missing (write the hls4ml project first)")
    text = target.read_text()
    if _MARK in text:
        return False
    if text.count(_DEF) != 1 or not re.search(r"#endif\s*$", text):
        raise JetadError(f"{target}: expected one definition of conv_2d_latency_cl and a final "
                         "#endif (hls4ml template changed?); set hls.csim: ap_fixed")
    renamed = ("\n#if !defined(__SYNTHESIS__)  // " + _MARK + ": hls4ml's, the C-sim fallback\n"
               "void conv_2d_latency_cl_hls4ml(\n#else\n" + _DEF + "\n#endif\n")
    text = text.replace(_DEF, renamed, 1)
    end = text.rstrip().rfind("#endif")
    include = '#if !defined(__SYNTHESIS__)\n#include "nnet_conv2d_csim.h"\n#endif\n\n'
    shutil.copyfile(CONV_HEADER, utils / CONV_HEADER.name)
    tmp = target.with_suffix(".h.tmp")
    tmp.write_text(text[:end] + include + text[end:])
    tmp.replace(target)
    return True


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise JetadError(f"hls.csim must be one of {MODES}, got {mode!r}")
    return mode


def mode_flags(mode: str) -> str:
    """Extra compiler flags for the C simulation in `mode`."""
    return f" -D{REFERENCE_MACRO}" if check_mode(mode) == "ap_fixed" else ""
