"""One image file made as parts, for a cluster to spread a large input over nodes: part k of
N covers a contiguous range of the input's rows (the inputs one after another), written as an
image file of its own with the range in its attributes; `gather` checks the N parts and
streams their rows, in order, into the writer of the whole file (jetad.data.images.
image_writer). Each jet's image and fields depend on that jet alone (jetad.data.pixelize) and
the writer's bytes do not depend on the pieces it is given, so the gathered file is the bytes
of the file one job writes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from jetad.data.images import ImageFile, image_writer, open_images, read_image_rows
from jetad.data.processes import PROCESSES
from jetad.errors import DataError

# the attributes of a part file that the whole file has not
PART_KEYS = ("part", "parts", "start", "stop", "total")


def part_rows(n: int, part: int, parts: int) -> tuple[int, int]:
    """Rows [start, stop) of `part` (0-based) of `parts` over n rows: contiguous, in order,
    their sizes differing by one at most."""
    if parts < 1 or not 0 <= part < parts:
        # the command checks its arguments first (jetad.stages.pixelize): a caller's bug
        raise ValueError(f"part {part} of {parts}: the part must be 0 to parts - 1")
    return n * part // parts, n * (part + 1) // parts


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
    """Write `out` from the part files `paths` (checked by check_parts), `batch` rows in memory
    at a time; its attributes are the parts' but for the part's own, in the order `order`
    gives (the order the one-job writer sets them in, which the bytes depend on). `progress`:
    called with the number of jets, a context manager whose update(n) counts them. Returns
    the number of jets of each process (PROCESSES)."""
    heads, attrs = check_parts(paths)
    unknown = sorted(set(attrs) - set(order) - {"processes"})
    if unknown:
        raise DataError(f"{paths[0]}: unknown attributes {', '.join(unknown)}")
    attrs = {k: attrs[k] for k in order if k in attrs}
    counts = np.zeros(len(PROCESSES), dtype=np.int64)
    n = sum(h.n for h in heads)
    with (progress(n) if progress else contextlib.nullcontext()) as done, \
            image_writer(out, n, heads[0].shape, attrs) as add:
        for head in heads:
            for start in range(0, head.n, batch):
                data = read_image_rows(head.path, start, min(start + batch, head.n))
                add(data)
                counts += np.bincount(data.process, minlength=len(PROCESSES))
                if done is not None:
                    done.update(len(data))
    return counts
