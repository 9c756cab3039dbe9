"""The split of [Valente 2022] ch. 3 (the command is jetad.stages.split): the background class 75/25
train/test with a validation part taken from train; every other class goes to test (anomalies
are only for evaluation). Seeded by params.seed.

`split.background` (qcd, top, w, z, gluon or quark, or a list of them; default qcd) names the
background. The written `label` is 0 for the background and 1 for every other process, so with
background top the QCD jets are the anomaly (the inverse task of Finke et al.), and with
[gluon, quark] both QCD classes of JetNet are learned together; `process` keeps each jet's own
class."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

from jetad.data.images import image_writer, open_images, read_image_rows
from jetad.data.processes import PROCESSES
from jetad.errors import DataError


def split_indices(label: np.ndarray, test_fraction: float, val_fraction: float,
                  seed: int, origin: str = "input") -> dict[str, np.ndarray]:
    """Sorted row indices of each part, background where label == 0; the permutation depends
    only on the seed and counts."""
    background = np.flatnonzero(label == 0)
    other = np.flatnonzero(label != 0)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 14]))
    perm = background[rng.permutation(len(background))]
    n_test = int(round(test_fraction * len(background)))
    test_bg, rest = perm[:n_test], perm[n_test:]
    n_val = int(round(val_fraction * len(rest)))
    val, train = rest[:n_val], rest[n_val:]
    parts = {"train": np.sort(train), "val": np.sort(val),
             "test": np.sort(np.concatenate([test_bg, other]))}
    for name, idx in parts.items():
        if len(idx) == 0:
            raise DataError(f"{origin}: split leaves the {name} part empty ({len(background)}"
                            f" background, {len(other)} other jets, test_fraction "
                            f"{test_fraction}, val_fraction {val_fraction})")
    return parts


def process_counts(data) -> str:
    """'<count> <process>, ...' of an image set (or of an array of process indices), for logs
    and errors."""
    process = data if isinstance(data, np.ndarray) else data.process
    names, counts = np.unique(np.asarray(PROCESSES)[process], return_counts=True)
    return ", ".join(f"{c} {n}" for n, c in zip(names, counts, strict=True))


def background_names(background: str | list[str]) -> list[str]:
    """split.background as a list of processes."""
    return [background] if isinstance(background, str) else list(background)


def background_label(process: np.ndarray, background: str | list[str],
                     origin: str = "input") -> np.ndarray:
    """The written label of jets of these processes: 0 for the `background` process(es), 1 for
    every other; a DataError when the background or every anomaly is missing."""
    names = background_names(background)
    for name in names:
        if not (process == PROCESSES.index(name)).any():
            raise DataError(f"{origin}: no {name} jets, the background of "
                            f"split.background (holds {process_counts(process)})")
    label = (~np.isin(process, [PROCESSES.index(n) for n in names])).astype(np.int8)
    if not label.any():
        raise DataError(f"{origin}: only {'+'.join(names)} jets, no anomaly for the test part")
    return label


def split_images(data, background: str | list[str], test_fraction: float, val_fraction: float,
                 seed: int, origin: str = "input") -> dict:
    """part name -> the ImageSet of that part, labelled 0 for the `background` process(es) and
    1 for every other process whatever pixelize wrote; each part's attrs say its part and
    background (processes joined by '+')."""
    data.label = background_label(data.process, background, origin)
    parts = {}
    for name, idx in split_indices(data.label, test_fraction, val_fraction, seed,
                                   origin=origin).items():
        parts[name] = data.take(idx)
        parts[name].attrs["part"] = name
        parts[name].attrs["background"] = "+".join(background_names(background))
    return parts


def split_file(path, outs: dict, background: str | list[str], test_fraction: float,
               val_fraction: float, seed: int, chunk: int,
               progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """split_images of an image file written to outs[part] for each part, `chunk` jets read
    at a time: the same files, in the memory of one chunk (and the labels and processes of
    every jet). `progress` is told of each chunk written. Returns part -> the processes of
    its jets."""
    head = open_images(path)
    try:
        label = background_label(head.process, background, str(path))
        indices = split_indices(label, test_fraction, val_fraction, seed, origin=str(path))
    except DataError:
        # a damaged row is the first thing to fix, as when the whole file was read first
        for start in range(0, head.n, chunk):
            read_image_rows(path, start, min(start + chunk, head.n))
        raise
    which = np.empty(head.n, dtype=np.int8)
    for k, idx in enumerate(indices.values()):
        which[idx] = k
    shown = "+".join(background_names(background))
    with contextlib.ExitStack() as stack:
        # entered last to first, so that they take their names first to last
        adds = [stack.enter_context(image_writer(
            outs[name], len(idx), head.shape,
            {**head.attrs, "part": name, "background": shown}))
            for name, idx in reversed(indices.items())][::-1]
        for start in range(0, head.n, chunk):
            data = read_image_rows(path, start, min(start + chunk, head.n))
            data.label = label[start:start + len(data)]
            mine = which[start:start + len(data)]
            for k, add in enumerate(adds):
                if (mine == k).any():
                    add(data.take(np.flatnonzero(mine == k)))
            if progress is not None:
                progress(len(data))
    return {name: head.process[idx] for name, idx in indices.items()}
