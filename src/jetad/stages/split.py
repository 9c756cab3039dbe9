"""`jetad split` ([Valente 2022] ch. 3): the background class (`split.background`) into train/val/test,
every other class into test (the split itself: jetad.data.split)."""

from __future__ import annotations

from jetad import log
from jetad.atomic import file_md5
from jetad.data.images import read_images, write_images
from jetad.data.split import process_counts, split_images

LOG = log.get("jetad.split")


def run(args, params) -> None:
    data = read_images(args.input)
    cfg = params.split
    parts = split_images(data, cfg.background, cfg.test_fraction, cfg.val_fraction,
                         params.seed, origin=str(args.input))
    with log.Progress(LOG, sum(map(len, parts.values())), "jets written") as bar:
        for name, subset in parts.items():
            out = getattr(args, name)
            write_images(out, subset)
            LOG.info("wrote %s: %d jets (%s; background %s), md5 %s", out, len(subset),
                     process_counts(subset), subset.attrs["background"], file_md5(out))
            bar.update(len(subset))
