"""hls4ml checked against QKeras, part by part (`jetad hls`): each part's project converted and
written, all compiled in parallel, each emulated on its inputs and compared with the QKeras model
it comes from (max |hls - qkeras| per output, the fraction of outputs equal). The rows go into
the emulation report (`jetad.fpga.hls4ml.emulation_report`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from jetad.errors import JetadError
from jetad.fpga.hls4ml import emulate, grouped, project
from jetad.fpga.hls4ml.build import build_libraries, default_processes

TARGET_IMAGES = 50_000  # the thesis' C simulation: ~50,000 test images in 31 h 53 min
RANDOM_IMAGES = 200  # without test jets and hls.n_images null


def inputs(data, input_shape, n: int | None, seed: int):
    """(x (n, h, w, 1), labels or None): a seeded random subset of the test jets `data` (both
    classes; n None: every test jet), or random images without them."""
    rng = np.random.default_rng(seed)
    if data is None:
        x = rng.random((n or RANDOM_IMAGES, *input_shape), dtype=np.float32)
        return x / x.sum(axis=(1, 2, 3), keepdims=True), None
    idx = np.sort(rng.permutation(len(data.images))[:n]) if n else np.arange(len(data.images))
    return np.asarray(data.images[idx], np.float32)[..., None], data.label[idx].astype(int)


def write_projects(parts, out_dir, settings) -> list:
    """The hls4ml model of each part, its project written under out_dir/<mode>/<name>, by the
    `hls` section `settings`; with `per_group` grouped convs reach hls4ml as one conv per group.
    One part at a time: hls4ml is not thread-safe."""
    projects = []
    for part in parts:
        export = grouped.per_group(part.model) if settings.per_group else part.model
        hm = project.convert(export, Path(out_dir) / part.mode / part.name, settings, part.name)
        project.write_project(hm, settings.cflags, settings.cxx, settings.csim)
        projects.append(hm)
    return projects


def compare(part, hm, lib, processes: int, batch: int,
            per_group: bool) -> tuple[dict, list, list, float]:
    """(report row, emulated outputs, QKeras outputs, seconds the emulation took) of one part
    whose project `hm` is compiled into `lib` (`per_group`: how its grouped convs were
    exported)."""
    comp = emulate.Compiled.of(hm, lib)
    s = time.time()
    got = emulate.emulate(comp, part.inputs, processes=processes, batch=batch)
    dt = time.time() - s
    ref = emulate.keras_outputs(part.model, part.inputs)
    per_out = [float(np.max(np.abs(a - b))) if a.size else 0.0
               for a, b in zip(got, ref, strict=True)]
    equal = float(np.mean(np.concatenate([(a == b).ravel() for a, b in zip(got, ref,
                                                                            strict=True)])))
    if not all(np.isfinite(g).all() for g in got):
        raise JetadError(f"{hm.config.get_output_dir()}: the emulation gave NaN or inf")
    row = {"mode": part.mode, "part": part.name, "project_dir": str(hm.config.get_output_dir()),
           "n": len(part.inputs), "max_abs_diff": max(per_out),
           "max_abs_diff_per_output": per_out, "bit_exact": max(per_out) == 0.0,
           "fraction_equal": round(equal, 6), "per_group": per_group,
           # hls4ml has no instance norm: jetad's extension layer computes it in fixed point
           # where QKeras keeps a float GroupNormalization, so these parts may differ
           "extension_layers": [lyr.name for lyr in part.model.layers
                                if lyr.__class__.__name__ == "GroupNormalization"]}
    return row, got, ref, dt


def verify(parts, out_dir, settings, logger) -> tuple[list[dict], tuple | None]:
    """The report rows of every part, and the whole encoder's (emulated, QKeras) outputs (None
    without a 'whole' part), by the `hls` section `settings`. Timings go to the log only: the
    report must be the same bytes on every rerun."""
    procs = settings.processes or default_processes()
    t0 = time.time()
    projects = write_projects(parts, out_dir, settings)
    t1 = time.time()
    logger.info("wrote %d projects under %s in %.0f s; compiling with %d parallel g++",
                len(projects), Path(out_dir), t1 - t0, procs)
    built = build_libraries(projects, procs)
    logger.info("compiled %d projects in %.0f s", len(projects), time.time() - t1)

    rows, whole = [], None
    for part, hm, (lib, secs) in zip(parts, projects, built, strict=True):
        row, got, ref, dt = compare(part, hm, lib, procs, settings.batch, settings.per_group)
        rows.append(row)
        rate = len(part.inputs) / dt if dt > 0 else float("inf")
        logger.info("%s/%s: max |hls - qkeras| = %g on %d inputs (compile %.0f s, %.1f images/s, "
                    "%.0f s per %d)", part.mode, part.name, row["max_abs_diff"],
                    len(part.inputs), secs, rate, TARGET_IMAGES / rate, TARGET_IMAGES)
        # the library embeds the project's absolute path (hls4ml's WEIGHTS_DIR), so it would make
        # results/hls differ between checkouts; build_lib.sh in the project rebuilds it
        Path(lib).unlink()
        if part.mode == "whole":
            whole = (got, ref)
    return rows, whole
