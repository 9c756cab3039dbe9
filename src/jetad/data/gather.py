"""The jets of files in the top-tagging layout gathered into one file per process, `chunk` rows
at a time (the command is jetad.stages.jets; which files a source has and their processes:
jetad.data.jets). Memory is that of one chunk whatever the number of jets, and each file's bytes
are those of writing all its jets at once (jetad.data.layout.jet_writer).

Two passes: the first reads only is_signal_new (for the sources split on it) to know how many
jets each output gets, which the output's layout depends on; the second reads, checks and
writes the jets. An input found bad in the second pass stops the command before any output
takes its name."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jetad.data.jets import file_processes, processes
from jetad.data.layout import Jets, count_jets, jet_writer, read_jets, read_labels
from jetad.data.processes import signal_label
from jetad.errors import DataError


@dataclass
class Gathered:
    """What gather read and wrote: per input (jets, with is_signal_new 0, with 1) and per
    output file its jets."""

    read: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    written: dict[Path, int] = field(default_factory=dict)


def _ranges(total: int, chunk: int):
    return ((start, min(start + chunk, total)) for start in range(0, total, chunk))


def _label_counts(path: str, total: int, chunk: int) -> tuple[int, int]:
    zeros = ones = 0
    for start, stop in _ranges(total, chunk):
        label = read_labels(path, start, stop)
        zeros += int((label == 0).sum())
        ones += int((label == 1).sum())
    return zeros, ones


def expected_jets(source: str, paths: list[str], totals: list[int], params,
                  chunk: int) -> dict[str, int]:
    """process -> the jets its output gets. Generated chunks are named by process; the other
    sources split on is_signal_new (0 QCD, 1 top), each of which must be there."""
    names = processes(source, params)
    if source == "generate":
        expected = dict.fromkeys(names, 0)
        for name, total in zip(file_processes(source, params), totals, strict=True):
            expected[name] += total
        return expected
    counts = np.sum([_label_counts(p, t, chunk) for p, t in zip(paths, totals, strict=True)],
                    axis=0)
    for name, count in zip(names, counts, strict=True):
        if count == 0:
            raise DataError(f"{', '.join(paths)}: no {name} jets in "
                            f"{'these files' if len(paths) > 1 else 'the file'}")
    return dict(zip(names, map(int, counts), strict=True))


def _route(path: str, name: str | None, jets: Jets, names: list[str]) -> dict[str, Jets]:
    """process -> the jets of this chunk that go to its output (`name`: the file's process,
    or None: by is_signal_new)."""
    if name is None:
        return {n: jets.take(jets.label == label) for label, n in enumerate(names)
                if (jets.label == label).any()}
    want = signal_label(name)
    if (jets.label != want).any():
        raise DataError(f"{path}: is_signal_new must be {want} in a {name} chunk")
    return {name: jets}


def gather(source: str, paths: list[str], params, out_dir: Path, chunk: int,
           progress: Callable[[int], None] | None = None) -> Gathered:
    """Write `<out_dir>/<process>.h5` for every process of `source` from the files `paths`;
    `progress` is told of each chunk read."""
    totals = [count_jets(path) for path in paths]  # every layout checked before any row
    try:
        expected = expected_jets(source, paths, totals, params, chunk)
    except DataError:
        # a damaged row is the first thing to fix, as when every file was read first
        for path, total in zip(paths, totals, strict=True):
            for start, stop in _ranges(total, chunk):
                read_jets(path, start, stop)
        raise
    names = list(expected)
    per_file = file_processes(source, params) if source == "generate" else [None] * len(paths)
    result = Gathered()
    with contextlib.ExitStack() as stack:
        # entered last to first, so that they take their names first to last (as before
        # jets were written in chunks)
        add = {name: stack.enter_context(jet_writer(out_dir / f"{name}.h5", expected[name]))
               for name in reversed(expected)}
        for path, name, total in zip(paths, per_file, totals, strict=True):
            counts = np.zeros(2, dtype=np.int64)
            for start, stop in _ranges(total, chunk):
                jets = read_jets(path, start, stop)
                for out, subset in _route(path, name, jets, names).items():
                    add[out](subset)
                counts += [(jets.label == 0).sum(), (jets.label == 1).sum()]
                if progress is not None:
                    progress(len(jets))
            result.read[path] = (total, int(counts[0]), int(counts[1]))
    result.written = {out_dir / f"{name}.h5": n for name, n in expected.items()}
    return result
