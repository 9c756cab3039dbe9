"""Jet-image files: HDF5 (h5py), chunked and compressed, one row per jet.

Datasets: `images` (N, npix, npix) float32 summing to 1 per jet; `label` (N,) int8 (1 = an
anomaly: any process but the background); `process` (N,) int8, the index of the jet's process in
the file's attribute `processes` (comma-separated, jetad.data.processes.PROCESSES: qcd, top, w,
z, gluon, quark);
`jet_pt`, `jet_eta`, `jet_mass` (N,) float32; `n_constituents` (N,) int16; `tau21`, `tau32` (N,)
float32, the N-subjettiness ratios (jetad.data.nsubjettiness) for evaluate's baselines. A file
without them (an older pixelize's) is refused: rerun pixelize. Attributes record
the pixel sizes and the source file(s). Writing is atomic; reading checks shape and content.
A file without `process` (written before it existed) reads with process = label (QCD 0, top 1).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from jetad.atomic import atomic_path, create_h5
from jetad.data.processes import PROCESSES
from jetad.errors import DataError
from jetad.inputs import open_h5, reading

FIELDS = ("jet_pt", "jet_eta", "jet_mass", "n_constituents", "tau21", "tau32")
DTYPES = {"n_constituents": np.int16}  # the others float32
TAUS = ("tau21", "tau32")


@dataclass
class ImageSet:
    images: np.ndarray
    label: np.ndarray
    jet_pt: np.ndarray
    jet_eta: np.ndarray
    jet_mass: np.ndarray
    n_constituents: np.ndarray
    tau21: np.ndarray
    tau32: np.ndarray
    attrs: dict = field(default_factory=dict)
    # index into PROCESSES; None: QCD for label 0, top for label 1 (the published meaning)
    process: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.process is None:
            self.process = np.asarray(self.label, dtype=np.int8).copy()

    def __len__(self) -> int:
        return len(self.label)

    def take(self, index: np.ndarray) -> ImageSet:
        return ImageSet(
            self.images[index], self.label[index], self.jet_pt[index], self.jet_eta[index],
            self.jet_mass[index], self.n_constituents[index], self.tau21[index],
            self.tau32[index], dict(self.attrs),
            self.process[index],
        )

    @staticmethod
    def concatenate(parts: list[ImageSet]) -> ImageSet:
        return ImageSet(
            *(np.concatenate([getattr(p, name) for p in parts])
              for name in ("images", "label") + FIELDS),
            attrs=dict(parts[0].attrs),
            process=np.concatenate([p.process for p in parts]),
        )

    def process_names(self) -> np.ndarray:
        """The process name of every jet."""
        return np.asarray(PROCESSES)[self.process]


def write_images(path: str | os.PathLike, data: ImageSet) -> None:
    with image_writer(path, len(data), data.images.shape[1:], data.attrs) as add:
        add(data)


@contextlib.contextmanager
def image_writer(path: str | os.PathLike, n: int, shape: tuple[int, ...],
                 attrs: dict) -> Iterator[Callable[[ImageSet], None]]:
    """Write `n` jets' images of `shape` in pieces: yields add(ImageSet), called with
    consecutive pieces; the file takes its name (atomically) once all `n` have come, with
    `attrs`. The images go to their dataset piece by piece; the per-jet fields (26 bytes a jet)
    wait in memory and are written after them, where write_images of all the jets at once puts
    them: the bytes are the same."""
    fields: dict[str, list] = {name: [] for name in ("label", "process") + FIELDS}
    rows = min(max(n, 1), 1024)  # the images' chunk
    pending: list[np.ndarray] = []  # images of a chunk not yet complete
    done = 0

    def flush(last: bool) -> None:
        # whole chunks only: a chunk written in part, compressed, then rewritten when it
        # completes would land elsewhere in the file, and the bytes would differ
        nonlocal done
        block = np.concatenate(pending) if len(pending) > 1 else pending[0]
        whole = len(block) if last else len(block) - len(block) % rows
        if whole:
            images[done:done + whole] = block[:whole]
            done += whole
        pending[:] = [block[whole:].copy()] if whole < len(block) else []

    def add(data: ImageSet) -> None:
        if done + sum(map(len, pending)) + len(data) > n:
            raise DataError(f"{path}: more than the {n} jets expected")
        pending.append(data.images.astype(np.float32))
        for name, parts in fields.items():
            parts.append(getattr(data, name))
        if sum(map(len, pending)) >= rows:
            flush(last=False)

    with atomic_path(path, suffix=".h5") as tmp:
        # no time stamps and fixed chunking: identical inputs give identical bytes
        with create_h5(tmp) as f:
            images = f.create_dataset(
                "images", shape=(n, *shape), dtype=np.float32,
                chunks=(rows, *shape) if n else None,
                compression="gzip" if n else None, compression_opts=4 if n else None,
                shuffle=bool(n), track_times=False,
                # a cache too small for any chunk: each lands in the file when written, before the
                # fields, as when the dataset is made from its data and closed at once
                rdcc_nbytes=1,
            )
            yield add
            if pending:
                flush(last=True)
            if done != n:
                raise DataError(f"{path}: {done} jets written, {n} expected")
            for name, parts in fields.items():
                dtype = {"label": np.int8, "process": np.int8}.get(name) or DTYPES.get(
                    name, np.float32)
                values = np.concatenate(parts) if parts else np.zeros(0)
                f.create_dataset(name, data=values.astype(dtype), track_times=False)
            for key, value in attrs.items():
                f.attrs[key] = value
            f.attrs["processes"] = ",".join(PROCESSES)


def read_images(path: str | os.PathLike, allow_empty: bool = False,
                npix: int | None = None, expected_by: str = "") -> ImageSet:
    """Read and check an image file: datasets present and of one length, square images (of
    `npix` pixels when given; `expected_by` names who needs that size), finite, non-negative,
    not all zero, labels 0 or 1. Every problem is a DataError naming the file."""
    head = open_images(path, allow_empty=allow_empty, npix=npix, expected_by=expected_by)
    data = read_image_rows(path, 0, head.n)
    data.attrs = dict(head.attrs)
    return data


@dataclass
class ImageFile:
    """What an image file holds, without its images: for reading it a range of rows at a time
    (read_image_rows)."""

    path: Path
    n: int
    shape: tuple[int, ...]  # of one image
    attrs: dict
    label: np.ndarray
    process: np.ndarray

    def process_names(self) -> np.ndarray:
        """The process name of every jet."""
        return np.asarray(PROCESSES)[self.process]

    def chunks(self, rows: int) -> Iterator[tuple[int, ImageSet]]:
        """(first row, ImageSet of the next `rows` rows) from the first row to the last."""
        for start in range(0, self.n, rows):
            yield start, read_image_rows(self.path, start, min(start + rows, self.n))


    def take_rows(self, index: np.ndarray, rows: int) -> ImageSet:
        """The jets of the sorted rows `index` (at least one), read `rows` rows at a time
        from the chunks that hold them: read_images(...).take(index) in the memory of one
        chunk and the jets taken."""
        parts = []
        for start in range(0, self.n, rows):
            stop = min(start + rows, self.n)
            mine = index[(index >= start) & (index < stop)] - start
            if len(mine):
                parts.append(read_image_rows(self.path, start, stop).take(mine))
        data = ImageSet.concatenate(parts)
        data.attrs = dict(self.attrs)
        return data


def check_images(path: str | os.PathLike, rows: int, allow_empty: bool = False,
                 npix: int | None = None, expected_by: str = "") -> ImageFile:
    """open_images with every row's values checked, `rows` rows read at a time: what
    read_images refuses, refused in the memory of `rows` images."""
    head = open_images(path, allow_empty=allow_empty, npix=npix, expected_by=expected_by)
    for _ in head.chunks(rows):
        pass
    return head


def check_background_images(path, rows: int, npix: int | None = None, what: str = "training",
                            expected_by: str = "") -> ImageFile:
    """check_images of a training or validation file, refused as read_background_images
    refuses it."""
    head = check_images(path, rows, npix=npix, expected_by=expected_by)
    _check_background(path, head.label, what)
    return head


def open_images(path: str | os.PathLike, allow_empty: bool = False, npix: int | None = None,
                expected_by: str = "") -> ImageFile:
    """Check an image file's datasets, shapes and list of processes (as read_images) and read
    its labels and processes; the images and their values wait for read_image_rows."""
    path = Path(path)
    with open_h5(path, "jet-image file") as f, reading(path):
        _check_datasets(f, path, npix, expected_by)
        process = _read_process(f, path) if "process" in f else None
        label, shape, attrs = f["label"][...], f["images"].shape, dict(f.attrs)
    if len(label) == 0 and not allow_empty:
        raise DataError(f"{path}: holds no jets")
    if process is None:
        process = np.asarray(label, dtype=np.int8).copy()
    return ImageFile(path, len(label), tuple(shape[1:]), attrs, label, process)


def read_image_rows(path: str | os.PathLike, start: int, stop: int) -> ImageSet:
    """Rows start to stop of an image file that open_images has checked, their values checked
    (a DataError names the file and the rows, counted in the file)."""
    path = Path(path)
    with open_h5(path, "jet-image file") as f, reading(path, (start, stop)):
        images = f["images"][start:stop]
        data = ImageSet(images, f["label"][start:stop], *(f[k][start:stop] for k in FIELDS),
                        process=f["process"][start:stop] if "process" in f else None)
    _check_values(path, images, data, offset=start)
    return data


def _check_datasets(f, path: Path, npix: int | None, expected_by: str) -> None:
    """The datasets of a jet-image file are there, of one length, the images square (and of
    `npix` pixels when given)."""
    if "table" in f and "pandas_type" in f["table"].attrs:
        raise DataError(f"{path}: a jet file in the top-tagging layout (pandas), not a "
                        "jet-image file; make images with jetad pixelize")
    missing = [k for k in ("images", "label") + FIELDS
               if not isinstance(f.get(k), h5py.Dataset)]
    if missing and set(missing) <= set(TAUS):
        raise DataError(f"{path}: no N-subjettiness ({', '.join(missing)}), written by an "
                        "older jetad pixelize; rerun jetad pixelize (and split)")
    if missing:
        raise DataError(f"{path}: not a jet-image file, missing datasets {missing}"
                        f" (found {sorted(f)})")
    shape = f["images"].shape
    if len(shape) != 3 or shape[1] != shape[2]:
        raise DataError(f"{path}: images have shape {shape}, expected (N, npix, npix)")
    if npix is not None and shape[1:] != (npix, npix):
        raise DataError(f"{path}: images have shape {shape[1:]}, {expected_by or 'expected'}"
                        f" ({npix}, {npix})")
    lengths = {k: f[k].shape[0] if f[k].ndim else None for k in ("images", "label") + FIELDS}
    if len(set(lengths.values())) != 1:
        raise DataError(f"{path}: datasets differ in length {lengths}")


def _read_process(f, path: Path) -> np.ndarray:
    """The process index of every jet, checked against the file's list of processes."""
    names = f.attrs.get("processes", "")
    names = names.decode() if isinstance(names, bytes) else str(names)
    # a file written before the later processes were appended indexes the same first ones
    listed = tuple(names.split(","))
    if not listed or PROCESSES[:len(listed)] != listed:
        raise DataError(f"{path}: attribute 'processes' is '{names}', expected "
                        f"'{','.join(PROCESSES)}' (the index of the process field)")
    if f["process"].shape != f["label"].shape:
        raise DataError(f"{path}: process has shape {f['process'].shape}, label "
                        f"{f['label'].shape}")
    return f["process"][...]


def _check_values(path: Path, images: np.ndarray, data: ImageSet, offset: int = 0) -> None:
    """Finite, non-negative images with some energy, finite tau ratios, known labels and
    processes; a DataError names the first rows that are not."""
    # per-image min and max: no temporary the size of the images (NaN propagates into both)
    flat = images.reshape(len(images), int(np.prod(images.shape[1:])))
    low, high = flat.min(axis=1, initial=np.inf), flat.max(axis=1, initial=-np.inf)
    checks = (
        (~(np.isfinite(low) & np.isfinite(high)), "NaN or inf in images"),
        (low < 0, "negative pixel values in images"),
        (high <= 0, "images with no energy (all pixels zero)"),
        (~(np.isfinite(data.tau21) & np.isfinite(data.tau32)), "NaN or inf in tau21 / tau32"),
        (~np.isin(data.label, (0, 1)), "label must be 0 (QCD) or 1 (top), not in"),
        (~np.isin(data.process, np.arange(len(PROCESSES))),
         f"process must be an index into {','.join(PROCESSES)}, not in"),
    )
    for bad, what in checks:
        if bad.any():
            rows = np.flatnonzero(bad) + offset
            more = f" (and {len(rows) - 10} more)" if len(rows) > 10 else ""
            raise DataError(f"{path}: {what} rows {', '.join(map(str, rows[:10]))}{more}")


def read_background_images(path, npix: int | None = None, what: str = "training",
                           expected_by: str = "") -> ImageSet:
    """A training or validation file: background jets only (label 0). A test file passed by
    mistake (it holds anomalies, label 1) is refused, as are bad shapes."""
    data = read_images(path, npix=npix, expected_by=expected_by)
    _check_background(path, data.label, what)
    return data


def _check_background(path, label: np.ndarray, what: str) -> None:
    n_anomalous = int((label == 1).sum())
    if n_anomalous:
        raise DataError(f"{path}: {n_anomalous} anomalous jets (label 1) in the {what} set; "
                        "training uses the background class only")


def read_train_val_test(train, val, test) -> tuple[ImageSet, ImageSet, ImageSet]:
    """The split's three files for a model trained on the background: training and validation
    background only, every file with the training images' size."""
    train_set = read_background_images(train)
    npix = train_set.images.shape[1]
    have = f"the training images {train} have"
    return (train_set, read_background_images(val, npix, "validation", have),
            read_images(test, npix=npix, expected_by=have))


def subsample(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Sorted indices of `limit` of n jets drawn without replacement (all when limit is None)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
