"""Bit-exact emulation of a compiled hls4ml project: the C-simulation library run through ctypes,
in batches over several worker processes (hls4ml's own `predict` is one sample at a time in one
thread), and the QKeras outputs it is compared with.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Compiled:
    """What a worker process needs to run a compiled project: no hls4ml object."""

    lib: str
    project: str
    in_size: int
    out_sizes: list[int]

    @classmethod
    def of(cls, hls_model, lib: Path) -> Compiled:
        return cls(
            lib=str(lib),
            project=hls_model.config.get_project_name(),
            in_size=int(hls_model.get_input_variables()[0].size()),
            out_sizes=[int(v.size()) for v in hls_model.get_output_variables()],
        )


def _run_chunk(args):
    comp, x = args
    lib = ctypes.cdll.LoadLibrary(comp.lib)
    fn = getattr(lib, comp.project + "_float")
    fn.restype = None
    fn.argtypes = [np.ctypeslib.ndpointer(ctypes.c_float, flags="C_CONTIGUOUS")] * (
        1 + len(comp.out_sizes)
    )
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), comp.in_size)
    outs = [np.zeros((len(x), n), dtype=np.float32) for n in comp.out_sizes]
    for i in range(len(x)):
        row = [o[i] for o in outs]
        fn(x[i], *row)
    return outs


def emulate(comp: Compiled, x: np.ndarray, processes: int = 1, batch: int = 1000) -> list[np.ndarray]:
    """Run the compiled C++ on every sample; batches over `processes` worker processes.

    Returns one (n, out_size) float32 array per model output.
    """
    x = np.asarray(x, dtype=np.float32)
    chunks = [x[i:i + batch] for i in range(0, len(x), batch)]
    if not chunks:
        return [np.zeros((0, n), dtype=np.float32) for n in comp.out_sizes]
    if processes <= 1 or len(chunks) == 1:
        parts = [_run_chunk((comp, c)) for c in chunks]
    else:
        with mp.get_context("fork").Pool(processes) as pool:
            parts = pool.map(_run_chunk, [(comp, c) for c in chunks])
    return [np.concatenate([p[k] for p in parts]) for k in range(len(comp.out_sizes))]


def keras_outputs(model, x, batch: int = 1000) -> list[np.ndarray]:
    """The Keras (QKeras) model's outputs on `x`, one (n, out_size) array per output, as `emulate`
    returns them."""
    y = model.predict(x, batch_size=batch, verbose=0)
    if not isinstance(y, list):
        y = [y]
    return [np.asarray(a).reshape(len(x), -1) for a in y]


def max_abs_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """max |a - b| over all outputs (0 for empty outputs)."""
    return float(max(np.max(np.abs(p - q)) if p.size else 0.0 for p, q in zip(a, b, strict=True)))
