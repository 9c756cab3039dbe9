"""`jetad jets`: gather the jets of any source into one file per process (top-tagging layout),
`<out-dir>/<process>.h5`, so that every later stage is the same whatever the source (which
files and processes a source has: jetad.data.jets). Files in the top-tagging layout are read
and written `data.chunk` jets at a time (jetad.data.gather). Files in the JetNet layout
(data.source jetnet, or chunks generated with generate.layout jetnet) are turned into
constituents (jetad.data.jetnet.to_jets) and their JetNet arrays kept in the jet file too."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from jetad import log
from jetad.atomic import file_md5
from jetad.data.gather import gather
from jetad.data.jetnet import Particles, add_to_jet_file, read_jetnet, to_jets
from jetad.data.jets import by_process, file_processes, input_files, jetnet_layout
from jetad.data.layout import count_jets, write_jets

LOG = log.get("jetad.jets")


def run(args, params) -> None:
    args.inputs = input_files(args.source, args.input, params)
    if jetnet_layout(args.source, params):
        _run_jetnet(args, params)
        return
    total = sum(count_jets(path) for path in args.inputs)
    with log.Progress(LOG, total, "jets") as bar:
        done = gather(args.source, args.inputs, params, Path(args.out_dir), params.data.chunk,
                      progress=bar.update)
    # logged once every file has passed, so that a bad file's error stays the only line
    for path, (total, zeros, ones) in done.read.items():
        LOG.info("read %s: %d jets (%d with is_signal_new 0, %d with 1), md5 %s", path, total,
                 zeros, ones, file_md5(path))
    for out, total in done.written.items():
        LOG.info("wrote %s: %d %s jets, md5 %s", out, total, out.stem, file_md5(out))


def _run_jetnet(args, params) -> None:
    # every file is read and checked before anything is logged or written
    names = file_processes(args.source, params)
    particles = [read_jetnet(path) for path in args.inputs]
    parts = [to_jets(p, name) for p, name in zip(particles, names, strict=True)]
    grouped = by_process(args.source, args.inputs, parts, params)
    for path, part in zip(args.inputs, parts, strict=True):
        LOG.info("read %s: %d jets (%d with is_signal_new 0, %d with 1), md5 %s", path,
                 len(part), int((part.label == 0).sum()), int((part.label == 1).sum()),
                 file_md5(path))
    with log.Progress(LOG, sum(map(len, grouped.values())), "jets written") as bar:
        for name, subset in grouped.items():
            out = Path(args.out_dir) / f"{name}.h5"
            mine = [p for p, n in zip(particles, names, strict=True) if n == name]
            write_jets(out, subset, extend=partial(add_to_jet_file,
                                                   data=Particles.concatenate(mine)))
            LOG.info("wrote %s: %d %s jets (and their JetNet arrays, group jetnet), md5 %s",
                     out, len(subset), name, file_md5(out))
            bar.update(len(subset))
