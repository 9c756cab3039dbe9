"""`jetad pixelize`: jet constituents -> centred, rotated, flipped, normalized jet images ([Valente 2022]
ch. 3, [Kasieczka et al. 2019]; the conventions and the kernel are in jetad.data.pixelize), with each
jet's kinematics, N-subjettiness ratios and process."""

from __future__ import annotations

import numpy as np

from jetad import log
from jetad.atomic import file_md5
from jetad.data.images import ImageSet, write_images
from jetad.data.layout import count_jets
from jetad.data.pixelize import image_set, input_processes

LOG = log.get("jetad.pixelize")


def run(args, params) -> None:
    cfg = params.pixelize
    inputs = input_processes(args.inputs)
    # every input's layout is checked before the first image is made
    totals = [(path, process, count_jets(path)) for path, process in inputs]
    parts, tau_seconds = [], 0.0
    with log.Progress(LOG, sum(total for *_, total in totals), "jets") as progress:
        for path, process, total in totals:
            if not total:
                continue
            images, seconds = image_set(path, process, total, cfg.npix, cfg.deta, cfg.dphi,
                                        cfg.batch, args.threads, progress=progress,
                                        rescale=cfg.rescale)
            parts.append(images)
            tau_seconds += seconds
    # logged once every file has passed, so that a bad file's error stays the only line
    for path, process, total in totals:
        LOG.info("read %s: %d jets (%s), md5 %s", path, total,
                 process or "process from is_signal_new", file_md5(path))
    data = ImageSet.concatenate(parts)
    LOG.info("N-subjettiness (tau21, tau32) of %d jets: %.1f s", len(data), tau_seconds)
    data.attrs.update(npix=cfg.npix, deta=cfg.deta, dphi=cfg.dphi,
                      sources=",".join(str(p) for p in args.inputs))
    if cfg.rescale is not None:
        # only when set, so that the file of jets as they are keeps its bytes
        data.attrs.update(rescale_mass=cfg.rescale[0], rescale_energy=cfg.rescale[1])
    write_images(args.out, data)
    names, counts = np.unique(data.process_names(), return_counts=True)
    LOG.info("wrote %s: %d images (%s), md5 %s", args.out, len(data),
             ", ".join(f"{c} {n}" for n, c in zip(names, counts, strict=True)),
             file_md5(args.out))
