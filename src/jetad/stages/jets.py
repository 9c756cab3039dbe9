"""`jetad jets`: gather the jets of any source into one file per process (top-tagging layout),
`<out-dir>/<process>.h5`, so that every later stage is the same whatever the source (which
files and processes a source has: jetad.data.jets). Files in the JetNet layout (data.source
jetnet, or chunks generated with generate.layout jetnet) are turned into constituents
(jetad.data.jetnet.to_jets) and their JetNet arrays kept in the jet file too."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from jetad import log
from jetad.atomic import file_md5
from jetad.data.jetnet import Particles, add_to_jet_file, read_jetnet, to_jets
from jetad.data.jets import by_process, file_processes, input_files, jetnet_layout
from jetad.data.layout import count_jets, read_jets, write_jets

LOG = log.get("jetad.jets")


def run(args, params) -> None:
    args.inputs = input_files(args.source, args.input, params)
    # every file is read and checked before anything is logged or written
    particles = None
    if jetnet_layout(args.source, params):
        names = file_processes(args.source, params)
        particles = [read_jetnet(path) for path in args.inputs]
        parts = [to_jets(p, name) for p, name in zip(particles, names, strict=True)]
        bar = log.Progress(LOG, sum(map(len, parts)), "jets read")
        bar.update(bar.total)
    else:
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
            extend = None
            if particles is not None:
                mine = [p for p, n in zip(particles, names, strict=True) if n == name]
                extend = partial(add_to_jet_file, data=Particles.concatenate(mine))
            write_jets(out, subset, extend=extend)
            LOG.info("wrote %s: %d %s jets%s, md5 %s", out, len(subset), name,
                     " (and their JetNet arrays, group jetnet)" if extend else "", file_md5(out))
            bar.update(len(subset))
