"""`jetad baseline`: train the plain conv autoencoder on QCD and write its MSE score for
the test jets, in the score-file format of `jetad score`, for `jetad evaluate`."""

from __future__ import annotations

from jetad import log
from jetad.analysis import scores as sc
from jetad.data.images import read_train_val_test
from jetad.models.determinism import setup_tf

logger = log.get("jetad.baseline")


def run(args, params) -> None:
    bp, seed = params.baseline, params.seed
    # inputs first: TensorFlow prints on stderr when imported
    train, val, test = read_train_val_test(args.train, args.val, args.test)
    npix = train.images.shape[1]
    setup_tf(seed)
    # heavy: the JointVAE module imports TensorFlow; it loads after the inputs are checked
    from jetad.models import baseline_ae
    from jetad.models.jointvae import save_model

    logger.info("read %d/%d/%d train/val/test jets", len(train), len(val), len(test))
    model, itrain = baseline_ae.train_on_subsets(train.images, val.images, bp, seed, logger)
    rec = model.predict(test.images, batch_size=bp.batch_size * 2, verbose=0)
    sc.write_score_file(args.out, {"mse": sc.mse(test.images, rec)}, test.label, test.jet_mass,
                        attrs={"model": "conv_ae", "test": str(args.test),
                               "params": int(model.count_params())})
    logger.info("wrote %d baseline MSE scores to %s", len(test), args.out)
    if args.model:
        save_model(args.model, baseline_ae.ARCHITECTURE,
                   {"npix": npix, "filters": list(bp.filters), "latent": bp.latent},
                   {"model": model})
        logger.info("wrote conv AE to %s", args.model)
