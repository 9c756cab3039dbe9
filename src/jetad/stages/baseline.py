"""`jetad baseline`: train the plain conv autoencoder on QCD and write its MSE score for
the test jets, in the score-file format of `jetad score`, for `jetad evaluate`. The files are
read `data.chunk` jets at a time: the training holds its seeded subsets, the scoring one chunk
of test images."""

from __future__ import annotations

import numpy as np

from jetad import log
from jetad.analysis import scores as sc
from jetad.data.images import check_background_images, check_images
from jetad.models.determinism import setup_tf
from jetad.models.scoring import read_rows

logger = log.get("jetad.baseline")


def run(args, params) -> None:
    bp, seed, chunk = params.baseline, params.seed, params.data.chunk
    # inputs first, every row: TensorFlow prints on stderr when imported
    train = check_background_images(args.train, chunk)
    npix = train.shape[0]
    have = f"the training images {args.train} have"
    val = check_background_images(args.val, chunk, npix, "validation", have)
    test = check_images(args.test, chunk, npix=npix, expected_by=have)
    setup_tf(seed)
    # heavy: the JointVAE module imports TensorFlow; it loads after the inputs are checked
    from jetad.models import baseline_ae
    from jetad.models.jointvae import save_model

    logger.info("read %d/%d/%d train/val/test jets", train.n, val.n, test.n)
    itrain, ival = baseline_ae.subsets(train.n, val.n, bp, seed)
    logger.info("training the conv AE on %d jets", len(itrain))
    model, _history = baseline_ae.train(train.take_rows(itrain, chunk).images,
                                        val.take_rows(ival, chunk).images, bp, logger)
    batch = baseline_ae.predict_batch(bp)
    mse, mass = [], []
    with log.Progress(logger, test.n, "jets") as progress:
        # whole prediction batches per read: each batch holds the jets it held with every
        # test jet in memory
        for _, part in test.chunks(read_rows(batch, chunk)):
            rec = model.predict(part.images, batch_size=batch, verbose=0)
            mse.append(sc.mse(part.images, rec))
            mass.append(part.jet_mass)
            progress.update(len(part))
    sc.write_score_file(args.out, {"mse": np.concatenate(mse)}, test.label,
                        np.concatenate(mass), attrs={"model": "conv_ae", "test": str(args.test),
                               "params": int(model.count_params())})
    logger.info("wrote %d baseline MSE scores to %s", test.n, args.out)
    if args.model:
        save_model(args.model, baseline_ae.ARCHITECTURE,
                   {"npix": npix, "filters": list(bp.filters), "latent": bp.latent},
                   {"model": model})
        logger.info("wrote conv AE to %s", args.model)
