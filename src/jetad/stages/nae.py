"""`jetad nae`: the normalized autoencoder (jetad.models.nae). The conv AE of `jetad baseline`
is pre-trained on the background exactly as that stage trains it (the `baseline:` section and
its seeded subsets), then trained by maximum likelihood with Langevin negative samples (the
`nae:` section); the test jets are scored with its energy, in the score-file format of
`jetad baseline`, for `jetad evaluate --nae-scores`. The score file also holds the
pre-trained autoencoder's MSE (`ae_mse`), so that the NAE training's effect is read on the same
network. Nothing is chosen with the test jets."""

from __future__ import annotations

from jetad import log
from jetad.analysis import scores as sc
from jetad.atomic import write_text
from jetad.data.images import read_train_val_test, subsample
from jetad.models.determinism import setup_tf

logger = log.get("jetad.nae")


def run(args, params) -> None:
    bp, cfg, seed = params.baseline, params.nae, params.seed
    # inputs first: TensorFlow prints on stderr when imported
    train, val, test = read_train_val_test(args.train, args.val, args.test)
    npix = train.images.shape[1]
    setup_tf(seed)
    # heavy: the models import TensorFlow; they load after the inputs are checked
    from jetad.models import baseline_ae, nae

    # the pre-training is `jetad baseline`'s conv AE, trained the same way
    model, itrain = baseline_ae.train_on_subsets(train.images, val.images, bp, seed, logger)
    ae_mse = sc.mse(test.images, model.predict(test.images, batch_size=bp.batch_size * 2,
                                               verbose=0))
    x_nae = train.images[itrain[subsample(len(itrain), cfg.max_train_jets, seed + 2)]]
    x_val = val.images[subsample(len(val), cfg.max_val_jets, seed + 3)]
    logger.info("pre-trained the conv AE on %d jets; NAE training on %d, validation %d",
                len(itrain), len(x_nae), len(x_val))
    model_nae = nae.build(model, cfg, x_val)
    history = nae.train(model_nae, x_nae, x_val, cfg, seed, logger)
    score = nae.energies(model_nae, test.images, cfg.batch_size * 2)
    sc.write_score_file(args.out, {"energy": score, "ae_mse": ae_mse}, test.label,
                        test.jet_mass, attrs={"model": nae.ARCHITECTURE, "test": str(args.test)})
    logger.info("wrote %d NAE energies to %s", len(test), args.out)
    if args.history:
        write_text(args.history, _csv(history))
    if args.model:
        # as the models above: TensorFlow only after the inputs were checked
        from jetad.models.jointvae import save_model

        save_model(args.model, nae.ARCHITECTURE,
                   {"npix": npix, "filters": list(bp.filters), "latent": bp.latent,
                    "temperature": model_nae.temperature}, {"model": model})
        logger.info("wrote the NAE to %s", args.model)


def _csv(rows: list[dict]) -> str:
    lines = [",".join(rows[0])] if rows else []
    lines += [",".join(f"{v:.6g}" for v in row.values()) for row in rows]
    return "\n".join(lines) + "\n"
