"""The top-tagging HDF5 layout of [Kasieczka et al. 2019]: pandas HDFStore, key `table`, 806 columns.

Writing goes through pandas so files are the same "table" format as the Zenodo record;
reading uses pandas too but is validated column by column before anything is trusted.
pandas is imported where it is used: every `jetad` command imports this module, and pandas
would double the start-up time of those that never read a jet file.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from jetad.atomic import atomic_path
from jetad.errors import DataError
from jetad.inputs import open_h5, reading

MAX_CONSTITUENTS = 200
KEY = "table"
CONSTITUENT_COLUMNS = [
    f"{q}_{i}" for i in range(MAX_CONSTITUENTS) for q in ("E", "PX", "PY", "PZ")
]
TRUTH_COLUMNS = ["truthE", "truthPX", "truthPY", "truthPZ", "ttv", "is_signal_new"]
COLUMNS = CONSTITUENT_COLUMNS + TRUTH_COLUMNS
assert len(COLUMNS) == 806


@dataclass
class Jets:
    """Constituent four-momenta (N, 200, 4) as (E, px, py, pz), plus truth and label."""

    p4: np.ndarray  # float32 (N, 200, 4), zero padded, sorted by pT
    truth: np.ndarray  # float32 (N, 4)
    ttv: np.ndarray  # int (N,)
    label: np.ndarray  # int (N,) 1 = top

    def __len__(self) -> int:
        return len(self.label)

    def n_constituents(self) -> np.ndarray:
        return np.count_nonzero(self.p4[:, :, 0] > 0, axis=1)

    @staticmethod
    def concatenate(parts: list[Jets]) -> Jets:
        return Jets(
            p4=np.concatenate([p.p4 for p in parts]),
            truth=np.concatenate([p.truth for p in parts]),
            ttv=np.concatenate([p.ttv for p in parts]),
            label=np.concatenate([p.label for p in parts]),
        )

    def take(self, index: np.ndarray) -> Jets:
        return Jets(self.p4[index], self.truth[index], self.ttv[index], self.label[index])


def _rows(idx: np.ndarray, limit: int = 10, offset: int = 0) -> str:
    shown = ", ".join(str(int(i) + offset) for i in idx[:limit])
    more = f" (and {len(idx) - limit} more)" if len(idx) > limit else ""
    return f"rows {shown}{more}"


def validate_arrays(jets: Jets, origin: str, offset: int = 0) -> None:
    """Refuse NaN/inf, negative energies and jets with no constituent, naming file and rows
    (counted from `offset`, the first row's number in the file)."""
    p4 = jets.p4
    finite = np.isfinite(p4).all(axis=(1, 2)) & np.isfinite(jets.truth).all(axis=1)
    if not finite.all():
        raise DataError(f"{origin}: NaN or inf in {_rows(np.flatnonzero(~finite), offset=offset)}")
    negative = (p4[:, :, 0] < 0).any(axis=1)
    if negative.any():
        raise DataError(f"{origin}: negative constituent energy in "
                        f"{_rows(np.flatnonzero(negative), offset=offset)}")
    empty = ~(p4[:, :, 0] > 0).any(axis=1)
    if empty.any():
        raise DataError(f"{origin}: jet with no constituent in "
                        f"{_rows(np.flatnonzero(empty), offset=offset)}")
    bad_label = ~np.isin(jets.label, (0, 1))
    if bad_label.any():
        raise DataError(f"{origin}: is_signal_new must be 0 or 1, not in "
                        f"{_rows(np.flatnonzero(bad_label), offset=offset)}")


def _check_columns(path: Path, cols: list) -> None:
    if cols == COLUMNS:
        return
    if len(cols) != len(COLUMNS):
        raise DataError(f"{path}: {len(cols)} columns, expected {len(COLUMNS)}")
    first = next(i for i, (a, b) in enumerate(zip(cols, COLUMNS, strict=True)) if a != b)
    raise DataError(
        f"{path}: column {first} is '{cols[first]}', expected '{COLUMNS[first]}'"
        " (published order E_i, PX_i, PY_i, PZ_i, ..., truth, ttv, is_signal_new)"
    )


def count_jets(path: str | os.PathLike) -> int:
    """Check that `path` is a file in the top-tagging layout without reading its rows: an HDF5
    file whose key `table` is a pandas table (format="table") with the 806 columns in the
    published order, holding at least one jet. Return the number of jets."""
    path = Path(path)
    with open_h5(path, "jet file (top-tagging layout)") as f, reading(path):
        if KEY not in f:
            raise DataError(
                f"{path}: no key '{KEY}' (found {', '.join(sorted(f)[:10]) or 'nothing'});"
                " expected the top-tagging layout"
            )
        group = f[KEY]
        kind = group.attrs.get("pandas_type") if isinstance(group, h5py.Group) else None
        if kind == b"frame":
            raise DataError(f"{path}: pandas 'fixed' format; the top-tagging layout is "
                            f"format='table' (rewrite with to_hdf(..., key='{KEY}', "
                            "format='table'))")
        if kind != b"frame_table" or not isinstance(group.get("table"), h5py.Dataset):
            raise DataError(f"{path}: '{KEY}' is not a pandas table (format='table');"
                            " expected the top-tagging layout")
        nrows = group["table"].shape[0]

    with reading(path), pd.HDFStore(path, mode="r") as store:
        axes = store.get_storer(KEY).non_index_axes
    _check_columns(path, list(axes[0][1]) if axes else [])
    if nrows == 0:
        raise DataError(f"{path}: no jets (the table has no rows)")
    return nrows


def read_jets(path: str | os.PathLike, start: int = 0, stop: int | None = None) -> Jets:
    """Read and validate a file in the top-tagging layout (optionally a row range)."""
    path = Path(path)
    total = count_jets(path)
    rows = (start, min(stop, total) if stop is not None else total)
    with reading(path, rows), pd.HDFStore(path, mode="r") as store:
        frame = store.select(KEY, start=start, stop=stop)
    _check_columns(path, list(frame.columns))
    text = [c for c, t in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if text:
        raise DataError(f"{path}: non-numeric columns {text[:5]}")
    n_const = len(CONSTITUENT_COLUMNS)
    values = frame.to_numpy(dtype=np.float64, copy=False)
    jets = Jets(
        p4=values[:, :n_const].astype(np.float32).reshape(-1, MAX_CONSTITUENTS, 4),
        truth=values[:, n_const : n_const + 4].astype(np.float32),
        ttv=values[:, n_const + 4].astype(np.int8),
        label=values[:, n_const + 5].astype(np.int8),
    )
    if len(jets) == 0:
        raise DataError(f"{path}: no jets in rows {start} to {stop}")
    validate_arrays(jets, str(path), offset=start)
    return jets


def to_frame(jets: Jets) -> pd.DataFrame:
    n = len(jets)
    block0 = np.concatenate(
        [jets.p4.reshape(n, -1).astype(np.float32), jets.truth.astype(np.float32)], axis=1
    )
    frame = pd.DataFrame(block0, columns=CONSTITUENT_COLUMNS + TRUTH_COLUMNS[:4])
    frame["ttv"] = jets.ttv.astype(np.int64)
    frame["is_signal_new"] = jets.label.astype(np.int64)
    return frame


def write_jets(path: str | os.PathLike, jets: Jets,
               extend: Callable[[Path], None] | None = None) -> None:
    """Write jets in the top-tagging layout, atomically (values_block_0: 804 floats, block_1: 2 ints);
    `extend` adds to the file before it takes its name (jetad.data.jetnet.add_to_jet_file)."""
    with jet_writer(path, len(jets), extend=extend) as add:
        add(jets)


@contextlib.contextmanager
def jet_writer(path: str | os.PathLike, total: int,
               extend: Callable[[Path], None] | None = None) -> Iterator[Callable[[Jets], None]]:
    """Write `total` jets in the top-tagging layout in pieces: yields add(jets), called with
    consecutive pieces; the file takes its name (atomically, as write_jets) once all `total`
    have come. The bytes are those of write_jets of all the jets at once: the table's chunk
    shape follows the expected rows, given here as the total (pandas' put takes the rows it
    is given), and PyTables completes its chunks whatever the pieces' boundaries."""
    done = 0

    def add(jets: Jets) -> None:
        nonlocal done
        validate_arrays(jets, str(path), offset=done)
        frame = to_frame(jets)
        frame.index = pd.RangeIndex(done, done + len(jets))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas warns about many columns in a table
            # no time stamps and no PyTables index tables (they carry time stamps of their
            # own): the same jets give the same bytes. HDFStore.append takes no track_times
            # and put no expectedrows: the method both call takes both
            store._write_to_group(KEY, frame, format="table", index=False, append=True,
                                  expectedrows=max(total, 10_000), track_times=False)
        done += len(jets)

    with atomic_path(path, suffix=".h5") as tmp:
        with pd.HDFStore(tmp, mode="w", complevel=1, complib="zlib") as store:
            yield add
            flush_checked(store, path)
        if done != total:
            raise DataError(f"{path}: {done} jets written, {total} expected")
        if extend is not None:
            extend(tmp)


def _pytables_hdf5():
    """PyTables' own HDF5 library (the one whose file ids its files hold), or None when it
    cannot be told apart from another loaded copy (h5py's)."""
    # only for its side effect, needed only when a jet file is flushed: PyTables' HDF5
    # library is then among the process's mappings
    import tables  # noqa: F401

    try:
        with open("/proc/self/maps") as maps:
            loaded = {line.split()[-1] for line in maps
                      if "/libhdf5-" in line or "/libhdf5.so" in line}
    except OSError:  # not Linux: the failed flush goes unseen, as PyTables leaves it
        return None
    own = [p for p in loaded if Path(p).parent.name == "tables.libs"]
    if not own and len(loaded) == 1:
        own = list(loaded)
    return ctypes.CDLL(own[0]) if len(own) == 1 else None


def flush_checked(store: pd.HDFStore, path: str | os.PathLike) -> None:
    """Flush a store's file to disk, raising when that fails: PyTables ignores what HDF5's
    flush and close return, so a full disk would leave a broken file and no error."""
    store.flush()
    lib = _pytables_hdf5()
    if lib is None:
        return
    # scope 1 (H5F_SCOPE_GLOBAL); hid_t is 64-bit since HDF5 1.10
    if lib.H5Fflush(ctypes.c_int64(store._handle._get_file_id()), 1) < 0:
        free = shutil.disk_usage(Path(path).parent).free
        raise OSError(errno.ENOSPC if free < 1 << 20 else errno.EIO,
                      f"writing failed ({free:,} bytes free)", str(path))


def read_labels(path: str | os.PathLike, start: int, stop: int) -> np.ndarray:
    """is_signal_new of rows start to stop of a file that count_jets has checked, read without
    the constituents (as read_jets converts it: through float64 to int8)."""
    with reading(path, (start, stop)), pd.HDFStore(path, mode="r") as store:
        storer = store.get_storer(KEY)
        for axis in storer.values_axes:
            names = list(axis.values)
            if "is_signal_new" in names:
                block = storer.table.read(start, stop, field=axis.cname)
                return np.asarray(block)[:, names.index("is_signal_new")].astype(
                    np.float64).astype(np.int8)
    raise DataError(f"{path}: no column is_signal_new")
