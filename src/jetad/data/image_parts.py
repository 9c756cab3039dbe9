"""One image file made as parts, for a cluster to spread a large input over nodes: part k of
N covers a contiguous range of the input's rows (the inputs one after another), whole chunks of
the file's images, written as an image file of its own with the range in its attributes;
`gather` checks the N parts and copies their compressed chunks as they are (HDF5's direct
chunk read and write) into a file made as jetad.data.images.image_writer makes it, then their
per-jet fields. Each jet's image and fields depend on that jet alone (jetad.data.pixelize) and
a chunk's compressed bytes on its images alone, so the gathered file is the bytes of the file
one job writes (tests/stages/test_pixelize.py compares them), without compressing any image
again: the gather costs the parts' reading and writing only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from jetad.atomic import atomic_path, create_h5
from jetad.data.images import FIELDS, ImageFile, open_images
from jetad.data.processes import PROCESSES
from jetad.errors import DataError
from jetad.inputs import open_h5, reading

# the attributes of a part file that the whole file has not
PART_KEYS = ("part", "parts", "start", "stop", "total")
# image_writer's chunk of images (jets): a part starts at a whole chunk of the file
CHUNK = 1024


def chunk_rows(n: int) -> int:
    """The images' chunk (jets) of a file of n jets, as image_writer sets it."""
    return min(max(n, 1), CHUNK)


def part_rows(n: int, part: int, parts: int) -> tuple[int, int]:
    """Rows [start, stop) of `part` (0-based) of `parts` over n rows: contiguous, in order,
    whole chunks of the file of n jets but the last (their numbers differing by one at most;
    a part may be empty)."""
    if parts < 1 or not 0 <= part < parts:
        # the command checks its arguments first (jetad.stages.pixelize): a caller's bug
        raise ValueError(f"part {part} of {parts}: the part must be 0 to parts - 1")
    rows = chunk_rows(n)
    chunks = -(-n // rows)
    return (min(chunks * part // parts * rows, n), min(chunks * (part + 1) // parts * rows, n))


def file_rows(totals: list[tuple[str, str | None, int]], start: int,
              stop: int) -> Iterator[tuple[str, str | None, int, int]]:
    """(path, process, first row, row after the last) within each input of the rows [start,
    stop) counted over the inputs `totals` ((path, process, jets) each) one after another."""
    offset = 0
    for path, process, total in totals:
        lo, hi = max(start - offset, 0), min(stop - offset, total)
        if lo < hi:
            yield path, process, lo, hi
        offset += total


def part_attrs(attrs: dict, part: int, parts: int, start: int, stop: int, total: int) -> dict:
    """The whole file's `attrs`, then where the part lies in it."""
    return {**attrs, "part": part, "parts": parts, "start": start, "stop": stop, "total": total}


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _same(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b))


def check_parts(paths: list[str | os.PathLike]) -> tuple[list[ImageFile], dict]:
    """Each part file opened and checked against the others: part k of len(paths) at k, the
    ranges contiguous from 0 to the total, rows as the range says, the same image size and
    attributes. Returns the parts and the whole file's attributes; a DataError names the first
    part that is wrong."""
    heads = [open_images(p, allow_empty=True) for p in paths]
    for head in heads:
        missing = [key for key in PART_KEYS if key not in head.attrs]
        if missing:
            raise DataError(f"{head.path}: no attribute {', '.join(missing)}; not a part "
                            "written by `jetad pixelize --part`")
    first = heads[0].attrs
    whole = {k: _plain(v) for k, v in first.items() if k not in PART_KEYS}
    row = 0
    for k, head in enumerate(heads):
        path, attrs = head.path, head.attrs
        where = {key: int(attrs[key]) for key in PART_KEYS}
        if where["parts"] != len(paths):
            raise DataError(f"{path}: a part of {where['parts']}, {len(paths)} parts given")
        if where["part"] != k:
            raise DataError(f"{path}: part {where['part']}, given as part {k} (parts go in "
                            "order)")
        if (where["start"], where["total"]) != (row, int(first["total"])):
            raise DataError(f"{path}: rows {where['start']} to {where['stop']} of "
                            f"{where['total']}, expected from row {row} of {first['total']}")
        if head.n and where["start"] % chunk_rows(where["total"]):
            raise DataError(f"{path}: starts at row {where['start']}, not at a whole chunk "
                            f"of {chunk_rows(where['total'])} jets")
        if where["stop"] - where["start"] != head.n:
            raise DataError(f"{path}: holds {head.n} jets, its range {where['start']} to "
                            f"{where['stop']} says {where['stop'] - where['start']}")
        if head.shape != heads[0].shape:
            raise DataError(f"{path}: images of {head.shape}, {paths[0]} has {heads[0].shape}")
        other = {key: v for key, v in attrs.items() if key not in PART_KEYS}
        differ = sorted(set(other) ^ set(whole)
                        | {key for key in set(other) & set(whole) if not _same(other[key],
                                                                                  whole[key])})
        if differ:
            raise DataError(f"{path}: attributes {', '.join(differ)} differ from {paths[0]}'s")
        row = where["stop"]
    if row != int(first["total"]):
        raise DataError(f"{paths[-1]}: the parts end at row {row} of {first['total']}: a "
                        "part is missing")
    return heads, whole


def gather(paths: list[str | os.PathLike], out: str | os.PathLike, order: tuple[str, ...],
           batch: int, progress: Callable[[int], Any] | None = None) -> np.ndarray:
    """Write `out` from the part files `paths` (checked by check_parts); its attributes are
    the parts' but for the part's own, in the order `order` gives (the order the one-job
    writer sets them in, which the bytes depend on). A part's chunks of the file's shape are
    copied compressed; a part's images in other chunks (the last part, of fewer jets than a
    chunk) are read and written about `batch` rows at a time. `progress`: called with the
    number of jets, a context manager whose update(n) counts them. Returns the number of jets
    of each process (PROCESSES)."""
    heads, attrs = check_parts(paths)
    unknown = sorted(set(attrs) - set(order) - {"processes"})
    if unknown:
        raise DataError(f"{paths[0]}: unknown attributes {', '.join(unknown)}")
    attrs = {k: attrs[k] for k in order if k in attrs}
    n, shape = sum(h.n for h in heads), heads[0].shape
    rows = chunk_rows(n)
    with (progress(n) if progress else contextlib.nullcontext()) as done, \
            atomic_path(out, suffix=".h5") as tmp, create_h5(tmp) as f:
        # as image_writer creates it (its cache off: each chunk lands when written, in order)
        images = f.create_dataset(
            "images", shape=(n, *shape), dtype=np.float32, chunks=(rows, *shape) if n else None,
            compression="gzip" if n else None, compression_opts=4 if n else None,
            shuffle=bool(n), track_times=False, rdcc_nbytes=1)
        fields: dict[str, list] = {name: [] for name in ("label", "process") + FIELDS}
        for head in heads:
            _copy_images(head, images, rows, max(batch // rows, 1) * rows)
            with open_h5(head.path, "jet-image file") as part, reading(head.path):
                for name, values in fields.items():
                    values.append(part[name][...])
            if done is not None:
                done.update(head.n)
        # after the images, as image_writer writes them
        for name, values in fields.items():
            f.create_dataset(name, data=np.concatenate(values), track_times=False)
        for key, value in attrs.items():
            f.attrs[key] = value
        f.attrs["processes"] = ",".join(PROCESSES)
    process = np.concatenate(fields["process"]) if n else np.zeros(0, np.int8)
    return np.bincount(process, minlength=len(PROCESSES))


def _copy_images(head: ImageFile, images, rows: int, batch: int) -> None:
    """A part's images into the gathered file's dataset `images` of `rows`-jet chunks, from
    its row `start`: its chunks copied compressed when they are the file's, else its rows
    written a whole number of chunks at a time, so that each chunk is written once."""
    start = int(head.attrs["start"])
    with open_h5(head.path, "jet-image file") as part, reading(head.path):
        source = part["images"]
        same = (source.chunks == images.chunks and source.compression == images.compression
                and source.compression_opts == images.compression_opts
                and source.shuffle == images.shuffle)
        for first in range(0, head.n, rows if same else batch):
            if same:
                mask, raw = source.id.read_direct_chunk((first, 0, 0))
                images.id.write_direct_chunk((start + first, 0, 0), raw, mask)
            else:
                last = min(first + batch, head.n)
                images[start + first:start + last] = source[first:last]
