"""`jetad pixelize`: jet constituents -> centred, rotated, flipped, normalized jet images ([Valente 2022]
ch. 3, [Kasieczka et al. 2019]; the conventions and the kernel are in jetad.data.pixelize), with each
jet's kinematics, N-subjettiness ratios and process. With --part/--parts, one part of the rows;
with --gather, the whole file from the parts (jetad.data.image_parts), the bytes of one job's."""

from __future__ import annotations

import numpy as np

from jetad import log
from jetad.atomic import file_md5
from jetad.data.image_parts import file_rows, gather, part_attrs, part_rows
from jetad.data.images import image_writer
from jetad.data.layout import count_jets
from jetad.data.pixelize import image_batches, input_processes
from jetad.data.processes import PROCESSES
from jetad.errors import ConfigError

LOG = log.get("jetad.pixelize")

# the image file's attributes in the order they are set: its bytes depend on the order
ATTRS = ("npix", "deta", "dphi", "sources", "rescale_mass", "rescale_energy")
# rows in memory at a time when the gather writes a part's images again (~100 MB of 40x40
# images; the other parts' chunks are copied compressed)
GATHER_ROWS = 16384


def run(args, params) -> None:
    _check_args(args)
    if args.gather:
        _gather(args)
        return
    cfg = params.pixelize
    inputs = input_processes(args.inputs)
    # every input's layout is checked before the first image is made
    totals = [(path, process, count_jets(path)) for path, process in inputs]
    attrs = dict(npix=cfg.npix, deta=cfg.deta, dphi=cfg.dphi,
                 sources=",".join(str(p) for p in args.inputs))
    if cfg.rescale is not None:
        # only when set, so that the file of jets as they are keeps its bytes
        attrs.update(rescale_mass=cfg.rescale[0], rescale_energy=cfg.rescale[1])
    total = sum(t for *_, t in totals)
    start, stop = (0, total) if args.parts is None else part_rows(total, args.part, args.parts)
    if args.parts is not None:
        attrs = part_attrs(attrs, args.part, args.parts, start, stop, total)
        LOG.info("part %d of %d: %d jets from row %d of %d", args.part, args.parts,
                 stop - start, start, total)
    n = stop - start
    read = list(file_rows(totals, start, stop))
    counts = np.zeros(len(PROCESSES), dtype=np.int64)
    tau_seconds = 0.0
    # one batch in memory at a time: the images go to the file as they are made
    with (log.Progress(LOG, n, "jets") as progress,
          image_writer(args.out, n, (cfg.npix, cfg.npix), attrs) as add):
        for path, process, first, last in read:
            for images, seconds in image_batches(path, process, last, cfg.npix, cfg.deta,
                                                 cfg.dphi, cfg.batch, args.threads,
                                                 cfg.rescale, first=first):
                add(images)
                counts += np.bincount(images.process, minlength=len(PROCESSES))
                tau_seconds += seconds
                progress.update(len(images))
    # logged once every file has passed, so that a bad file's error stays the only line
    for path, process, total in totals:
        if args.parts is None or any(p == path for p, *_ in read):
            LOG.info("read %s: %d jets (%s), md5 %s", path, total,
                     process or "process from is_signal_new", file_md5(path))
    LOG.info("N-subjettiness (tau21, tau32) of %d jets: %.1f s", n, tau_seconds)
    _wrote(args.out, n, counts)


def _check_args(args) -> None:
    """--in, or --gather alone; --part and --parts together, the part one of the parts."""
    if bool(args.inputs) == bool(args.gather):
        raise ConfigError("give --in (the jets) or --gather (the parts), "
                          "one of them")
    if (args.part is None) != (args.parts is None) or (args.gather and args.parts):
        raise ConfigError("--part and --parts go together, with --in")
    if args.parts is not None and not (args.parts >= 1 and 0 <= args.part < args.parts):
        raise ConfigError(f"--part {args.part} --parts {args.parts}: the part must be 0 to "
                          "parts - 1")


def _gather(args) -> None:
    counts = gather(args.gather, args.out, ATTRS, GATHER_ROWS,
                    lambda n: log.Progress(LOG, n, "jets"))
    LOG.info("gathered %d parts: %s", len(args.gather), " ".join(map(str, args.gather)))
    _wrote(args.out, int(counts.sum()), counts)


def _wrote(out, n: int, counts: np.ndarray) -> None:
    LOG.info("wrote %s: %d images (%s), md5 %s", out, n,
             ", ".join(f"{c} {name}" for name, c in sorted(zip(PROCESSES, counts, strict=True))
                       if c),
             file_md5(out))
