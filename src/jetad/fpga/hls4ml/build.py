"""Compile a written hls4ml project into its C-simulation library: hls4ml's build_lib.sh (g++, or
the compiler and flags `jetad.fpga.hls4ml.project.write_project` set), run outside this process so that
several projects build at once and no library is loaded here (the emulation workers load it).
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from jetad.errors import JetadError
from jetad.fpga.hls4ml.project import write_project


def compile_model(hls_model, cflags: str | None = None, cxx: str | None = None,
                  csim: str | None = None) -> Path:
    """Write and compile the project (write_project + build_library); returns the library."""
    write_project(hls_model, cflags, cxx, csim)
    return build_library(hls_model)


def build_library(hls_model) -> Path:
    """Run the project's build_lib.sh (g++), without loading the library into this process (the
    emulation workers load it); safe to call from several threads at once."""
    out = Path(hls_model.config.get_output_dir())
    name = hls_model.config.get_project_name()
    stamp = hls_model.config.get_config_value("Stamp")
    ret = subprocess.run(["bash", "build_lib.sh"], cwd=out, capture_output=True, text=True)
    lib = out / "firmware" / f"{name}-{stamp}.so"
    if ret.returncode != 0 or not lib.is_file():
        errors = [line for line in ret.stdout.splitlines() + ret.stderr.splitlines()
                  if "error" in line.lower()][:5]
        raise JetadError(f"g++ compilation of {out} failed: {' | '.join(errors) or ret.returncode}")
    return lib


def build_libraries(hls_models, processes: int) -> list[tuple[Path, float]]:
    """(library, seconds its build took) of every project, `processes` builds at once."""
    def build(hm):
        s = time.time()
        lib = build_library(hm)
        return lib, time.time() - s

    with ThreadPoolExecutor(max_workers=processes) as pool:
        return list(pool.map(build, hls_models))


def default_processes() -> int:
    """The CPUs this process may run on: the default number of parallel builds, emulation
    workers and yosys runs."""
    return max(1, len(os.sched_getaffinity(0)))
