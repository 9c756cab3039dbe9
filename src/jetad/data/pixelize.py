"""Jet constituents -> centred, rotated, flipped, normalized jet images ([Valente 2022] ch. 3; [Kasieczka
et al. 2019]): the kernel of `jetad pixelize` (jetad.stages.pixelize).

Conventions (image[row, col], row along the rotated phi axis, col along the rotated eta axis,
row 0 / col 0 at the most negative coordinate, so `imshow(origin="lower")` shows it as a plot):
1. phi is measured from the leading constituent's phi (so no wrap-around at +-pi);
2. coordinates are centred on the pT-weighted centroid;
3. the image is rotated so that the major principal axis of the pT-weighted (eta, phi)
   distribution is vertical (along rows);
4. each axis is flipped if needed so that at least half the pT has x <= 0 and y <= 0:
   the bulk of the pT sits in the lower-left quadrant;
5. pixel (deta, dphi) = (0.029, 0.035); the window is npix pixels centred on the centroid, so
   a constituent at the centroid lands in pixel (npix // 2, npix // 2); constituents outside
   the window are dropped (the reference crops a larger grid); pT accumulates per pixel;
6. each image is divided by its sum. A jet with no constituent inside the window is an error.
With `pixelize.rescale`, `image_set` first brings each jet to one mass and energy
(jetad.data.rescale); the kinematics and N-subjettiness it stores stay the jets' own.

The work is one compiled pass per jet (Numba; float64 sums, jets spread over threads): the
earlier whole-batch NumPy form spent most of its time building temporaries and in np.add.at,
and reached only ~12x energyflow. Each jet's image depends on that jet alone, so the bytes do
not depend on the number of threads.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from jetad import log
from jetad.data import nsubjettiness
from jetad.data.images import ImageSet
from jetad.data.kinematics import jet_kinematics
from jetad.data.layout import read_jets
from jetad.data.processes import PROCESSES, signal_label
from jetad.data.rescale import rescale_jets
from jetad.errors import DataError

LOG = log.get("jetad.pixelize")

# per-jet status codes of the kernel (jetad.data.pixel_kernel)
OK, NO_CONSTITUENT, NOTHING_INSIDE = 0, 1, 2


def _kernel():
    """The per-jet kernel, compiled or loaded from Numba's on-disk cache on first use."""
    # heavy: Numba loads with the kernel, not with jetad
    from jetad.data import pixel_kernel

    return pixel_kernel.images_kernel


def pixelize(p4: np.ndarray, npix: int, deta: float, dphi: float,
             threads: int | None = None, origin: str = "input", offset: int = 0) -> np.ndarray:
    """Images (N, npix, npix) float32 from constituent four-momenta (N, M, 4) as (E, px, py, pz).

    Errors name `origin` and the jets' rows (counted from `offset`)."""
    p4 = np.asarray(p4)
    if p4.ndim != 3 or p4.shape[2] != 4:
        raise DataError(f"{origin}: constituents have shape {p4.shape}, expected (N, M, 4)")
    n = len(p4)
    if n == 0:
        return np.zeros((0, npix, npix), dtype=np.float32)
    # heavy: Numba, as in _kernel()
    import numba

    kernel = _kernel()
    threads = threads or len(os.sched_getaffinity(0))
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    images = np.zeros((n, npix * npix), dtype=np.float32)
    status = np.zeros(n, dtype=np.int8)
    kernel(np.ascontiguousarray(p4, dtype=np.float32), int(npix), float(deta), float(dphi),
           images, status)
    for code, what in ((NO_CONSTITUENT, "jets with no constituent"),
                       (NOTHING_INSIDE, f"jets with no constituent inside the {npix}x{npix} window")):
        bad = np.flatnonzero(status == code)
        if len(bad):
            raise DataError(f"{origin}: {what}, rows {', '.join(str(int(i) + offset) for i in bad[:10])}")
    return images.reshape(n, npix, npix)


def input_processes(inputs: list[str]) -> list[tuple[str, str | None]]:
    """(path, process or None) of each --in: None means "from is_signal_new"."""
    result = []
    for item in inputs:
        name, sep, path = item.partition("=")
        if sep and name and not Path(item).exists():
            if name not in PROCESSES:
                raise DataError(f"{path}: unknown process '{name}' (known: "
                                f"{', '.join(PROCESSES)})")
            result.append((path, name))
        else:
            stem = Path(item).stem
            result.append((item, stem if stem in PROCESSES else None))
    return result


def _process_of(jets, path: str, process: str | None, offset: int) -> np.ndarray:
    """Process indices of a batch of jets; a named process must agree with is_signal_new
    (0 for QCD, gluon and quark, 1 for every signal)."""
    if process is None:
        return jets.label.astype(np.int8)  # QCD and top have the label's indices
    want = signal_label(process)
    bad = np.flatnonzero(jets.label != want)
    if len(bad):
        raise DataError(f"{path}: is_signal_new must be {want} for {process} jets, not in rows "
                        f"{', '.join(str(int(i) + offset) for i in bad[:10])}")
    return np.full(len(jets), PROCESSES.index(process), dtype=np.int8)


def image_batches(path: str, process: str | None, total: int, npix: int, deta: float,
                  dphi: float, batch: int, threads: int | None = None,
                  rescale: list[float] | None = None, first: int = 0):
    """The images of the jets of one file in the top-tagging layout from row `first` to
    `total` (the row after the last), `batch` jets at a time, with their kinematics,
    N-subjettiness ratios and process (`process`, or None: from is_signal_new): yields
    (ImageSet, seconds spent on N-subjettiness) per batch. `rescale` = [m0, E0]: the images
    are those of the jets brought to that mass and energy (jetad.data.rescale); the
    kinematics and ratios stay the jets' own."""
    for start in tqdm(range(first, total, batch), desc=f"pixelize {path}", unit="batch",
                      disable=None):
        jets = read_jets(path, start, min(start + batch, total))
        kind = _process_of(jets, path, process, start)
        p4 = jets.p4 if rescale is None else rescale_jets(jets.p4, *rescale, origin=path,
                                                          offset=start)
        images = pixelize(p4, npix, deta, dphi, threads, origin=path, offset=start)
        pt, eta, mass = (v.astype(np.float32) for v in jet_kinematics(jets.p4))
        # N-subjettiness needs the constituents, which only pixelize reads: computed here and
        # carried with the images to evaluate's tau21 / tau32 baselines
        start_time = time.perf_counter()
        taus = nsubjettiness.ratios(jets.p4, threads)
        seconds = time.perf_counter() - start_time
        yield ImageSet(images, jets.label, pt, eta, mass,
                       jets.n_constituents().astype(np.int16),
                       taus["tau21"].astype(np.float32),
                       taus["tau32"].astype(np.float32), process=kind), seconds


def image_set(path: str, process: str | None, total: int, npix: int, deta: float, dphi: float,
              batch: int, threads: int | None = None, rescale: list[float] | None = None):
    """image_batches' batches as one ImageSet, and the seconds spent on N-subjettiness."""
    parts = list(image_batches(path, process, total, npix, deta, dphi, batch, threads,
                               rescale))
    return ImageSet.concatenate([p for p, _ in parts]), sum(s for _, s in parts)
