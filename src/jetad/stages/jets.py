"""`jetad jets`: gather the jets of any source into one file per process (top-tagging layout),
`<out-dir>/<process>.h5`, so that every later stage is the same whatever the source (which
files and processes a source has: jetad.data.jets)."""

from __future__ import annotations

from pathlib import Path

from jetad import log
from jetad.atomic import file_md5
from jetad.data.jets import by_process, input_files
from jetad.data.layout import count_jets, read_jets, write_jets

LOG = log.get("jetad.jets")


def run(args, params) -> None:
    args.inputs = input_files(args.source, args.input, params)
    # every file is read and checked before anything is logged or written
    parts = []
    bar = log.Progress(LOG, sum(count_jets(path) for path in args.inputs), "jets read")
    for path in args.inputs:
        parts.append(read_jets(path))
        bar.update(len(parts[-1]))
    grouped = by_process(args.source, args.inputs, parts, params)
    bar.close()  # after the check, so that a bad file's error stays the only line
    for path, part in zip(args.inputs, parts, strict=True):
        LOG.info("read %s: %d jets (%d with is_signal_new 0, %d with 1), md5 %s", path,
                 len(part), int((part.label == 0).sum()), int((part.label == 1).sum()),
                 file_md5(path))
    with log.Progress(LOG, sum(map(len, grouped.values())), "jets written") as bar:
        for name, subset in grouped.items():
            out = Path(args.out_dir) / f"{name}.h5"
            write_jets(out, subset)
            LOG.info("wrote %s: %d %s jets, md5 %s", out, len(subset), name, file_md5(out))
            bar.update(len(subset))
