"""`jetad pixelize`: jet constituents -> centred, rotated, flipped, normalized jet images ([Valente 2022]
ch. 3, [Kasieczka et al. 2019]; the conventions and the kernel are in jetad.data.pixelize), with each
jet's kinematics, N-subjettiness ratios and process."""

from __future__ import annotations

import numpy as np

from jetad import log
from jetad.atomic import file_md5
from jetad.data.images import image_writer
from jetad.data.layout import count_jets
from jetad.data.pixelize import image_batches, input_processes
from jetad.data.processes import PROCESSES

LOG = log.get("jetad.pixelize")


def run(args, params) -> None:
    cfg = params.pixelize
    inputs = input_processes(args.inputs)
    # every input's layout is checked before the first image is made
    totals = [(path, process, count_jets(path)) for path, process in inputs]
    attrs = dict(npix=cfg.npix, deta=cfg.deta, dphi=cfg.dphi,
                 sources=",".join(str(p) for p in args.inputs))
    if cfg.rescale is not None:
        # only when set, so that the file of jets as they are keeps its bytes
        attrs.update(rescale_mass=cfg.rescale[0], rescale_energy=cfg.rescale[1])
    n = sum(total for *_, total in totals)
    counts = np.zeros(len(PROCESSES), dtype=np.int64)
    tau_seconds = 0.0
    # one batch in memory at a time: the images go to the file as they are made
    with (log.Progress(LOG, n, "jets") as progress,
          image_writer(args.out, n, (cfg.npix, cfg.npix), attrs) as add):
        for path, process, total in totals:
            for images, seconds in image_batches(path, process, total, cfg.npix, cfg.deta,
                                                 cfg.dphi, cfg.batch, args.threads,
                                                 cfg.rescale):
                add(images)
                counts += np.bincount(images.process, minlength=len(PROCESSES))
                tau_seconds += seconds
                progress.update(len(images))
    # logged once every file has passed, so that a bad file's error stays the only line
    for path, process, total in totals:
        LOG.info("read %s: %d jets (%s), md5 %s", path, total,
                 process or "process from is_signal_new", file_md5(path))
    LOG.info("N-subjettiness (tau21, tau32) of %d jets: %.1f s", n, tau_seconds)
    LOG.info("wrote %s: %d images (%s), md5 %s", args.out, n,
             ", ".join(f"{c} {name}" for name, c in sorted(zip(PROCESSES, counts, strict=True))
                       if c),
             file_md5(args.out))
