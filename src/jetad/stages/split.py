"""`jetad split` ([Valente 2022] ch. 3): the background class (`split.background`) into train/val/test,
every other class into test (the split itself: jetad.data.split), `data.chunk` jets read at a
time."""

from __future__ import annotations

from jetad import log
from jetad.atomic import file_md5
from jetad.data.images import open_images
from jetad.data.split import background_names, process_counts, split_file

LOG = log.get("jetad.split")


def run(args, params) -> None:
    cfg = params.split
    outs = {name: getattr(args, name) for name in ("train", "val", "test")}
    with log.Progress(LOG, open_images(args.input).n, "jets written") as bar:
        parts = split_file(args.input, outs, cfg.background, cfg.test_fraction,
                           cfg.val_fraction, params.seed, params.data.chunk, progress=bar.update)
    shown = "+".join(background_names(cfg.background))
    for name, process in parts.items():
        LOG.info("wrote %s: %d jets (%s; background %s), md5 %s", outs[name], len(process),
                 process_counts(process), shown, file_md5(outs[name]))
