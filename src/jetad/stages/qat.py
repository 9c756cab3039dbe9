"""`jetad qat`: train the reduced quantized encoder (SPEC 4) as a JointVAE with the float decoder.

The decoder comes from the trained JointVAE (`jetad train`), is kept frozen unless
`qat.train_decoder` is true, and is used only in training: the FPGA runs the encoder alone.
Writes the QKeras encoder (`<out>/qencoder.h5`, loadable with `jetad.quant.encoder.load_qmodel`)
and the float reduced encoder (`<out>/encoder_float.h5`) trained the same way; then scores the
test jets with KL (disc, cont, total) for both and the large JointVAE (its score file from
`jetad score`: the same jets), and writes metrics JSON (losses + AUC + TPR@FPR10%), a markdown
table, the ROC curves in one PDF, and the QTools energy table (CSV + markdown).
"""

from __future__ import annotations


def run(args, params) -> None:
    from pathlib import Path

    import numpy as np

    from jetad import log
    from jetad.atomic import atomic_path
    from jetad.data.images import read_background_images, read_images, subsample
    from jetad.inputs import read_model_meta
    from jetad.models.determinism import setup_tf
    from jetad.quant import report as rq

    logger = log.get("jetad.qat")
    qp = params["qat"]
    # every input is checked before TensorFlow is imported and before training: a bad test or
    # score file must not surface only after both encoders were trained and written
    data = read_background_images(args.train)
    npix = int(data.images.shape[1])
    read_model_meta(args.vae, "jointvae")
    test = read_images(args.test, npix=npix, expected_by=f"the training images {args.train} have")
    large = rq.large_model_scores(args.scores, test.label) if args.scores else None
    tf = setup_tf(params["seed"])
    import tf_keras as keras

    from jetad.models import jointvae
    from jetad.quant import encoder

    logger.info("read %d QCD training images from %s", len(data.images), args.train)
    idx = subsample(len(data.images), qp.get("max_images"), params["seed"])
    x = np.asarray(data.images[idx], dtype=np.float32)
    vae = jointvae.load(args.vae)
    decoder = vae.decoder
    decoder.trainable = bool(qp.get("train_decoder", False))
    # the latent sizes are the trained decoder's, the image size the data's
    cfg = encoder.EncoderConfig.from_params({**qp, "npix": int(x.shape[1]),
                                             "latent_cont": vae.cfg.latent_cont,
                                             "latent_disc": vae.cfg.latent_disc})
    out = Path(args.out)
    losses: dict[str, dict] = {}
    models = {}
    for kind in ("float", "quantized"):
        enc = encoder.build(cfg, quantized=kind == "quantized")
        opt = keras.optimizers.AdamW(qp["learning_rate"], weight_decay=1e-3)
        variables = enc.trainable_variables + (decoder.trainable_variables
                                                if decoder.trainable else [])

        @tf.function
        def step(xb, enc=enc, opt=opt, variables=variables):
            with tf.GradientTape() as tape:
                logits, mean, logvar = enc(xb[..., None], training=True)
                z, c = jointvae.sample_latent(mean, logvar, logits, vae.cfg.tau)
                rec = decoder(tf.concat([z, c], -1), training=True)[..., 0]
                terms = vae.loss_terms(xb, rec, logits, mean, logvar, qp["beta"])
            grads = tape.gradient(terms["loss"], variables)
            opt.apply_gradients(zip(grads, variables, strict=True))
            for v in enc.layers:  # keep the block-diagonal structure exact
                c_ = getattr(v, "kernel_constraint", None)
                if c_ is not None and hasattr(c_, "mask"):
                    v.kernel.assign(c_(v.kernel))
            return terms

        rng = np.random.default_rng(params["seed"])
        for epoch in range(qp["epochs"]):
            order = rng.permutation(len(x))
            sums: dict[str, float] = {}
            for i in range(0, len(x), qp["batch_size"]):
                terms = step(tf.constant(x[order[i:i + qp["batch_size"]]]))
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
            nb = max(1, -(-len(x) // qp["batch_size"]))
            losses[kind] = {k: v / nb for k, v in sums.items()}
            logger.info("%s epoch %d/%d on %d images: loss %.4g", kind, epoch + 1, qp["epochs"],
                        len(x), losses[kind]["loss"])
        name = "qencoder.h5" if kind == "quantized" else "encoder_float.h5"
        with atomic_path(out / name, suffix=".h5") as tmp:
            enc.save(str(tmp))
        logger.info("wrote the %s reduced encoder (%d effective parameters) to %s", kind,
                    encoder.effective_params(enc), out / name)
        models[kind] = enc
    evaluate(args, params, vae, models, losses, cfg, test, large)


def evaluate(args, params, vae, models: dict, losses: dict, cfg, test, large) -> None:
    """KL figures of merit of the reduced encoders and the large model, tables, ROC, energy."""
    import json

    import numpy as np

    from jetad import log
    from jetad.analysis.plots import data_note
    from jetad.atomic import write_text
    from jetad.fpga.hls import keras_outputs
    from jetad.quant import energy
    from jetad.quant import report as rq

    logger = log.get("jetad.qat")
    label = test.label.astype(int)
    xt = np.asarray(test.images, np.float32)[..., None]
    logger.info("read %d test jets (%d top) from %s", len(label), int(label.sum()), args.test)
    eps = vae.cfg.kl_eps
    series = {}
    if large is not None:
        series["large JointVAE"] = large
        logger.info("read the large model's KL scores from %s", args.scores)
    series["float reduced"] = rq.kl_scores(keras_outputs(models["float"], xt), eps)
    series["quantized (QKeras)"] = rq.kl_scores(keras_outputs(models["quantized"], xt), eps)
    results = {name: rq.kl_metrics(label, s) for name, s in series.items()}
    for name, per in results.items():
        logger.info("%-20s KL total AUC %.4f, TPR@FPR10%% %.4f", name, per["kl_total"]["auc"],
                    per["kl_total"]["tpr_at_fpr_10pct"])
    cmp = energy.compare(models["float"], models["quantized"], cfg)
    doc = {
        "test": str(args.test), "n_test": int(len(label)), "large_model_scores": args.scores,
        "kl": results, "losses": losses,
        "effective_params": {k: encoder_params(m) for k, m in models.items()},
        "energy_uj": {k: {"total": cmp[k]["total_uj"],
                          "total_real_macs": cmp[k]["total_uj_real_macs"]}
                      for k in ("float", "quantized")},
        "energy_saving": cmp["saving"], "energy_saving_real_macs": cmp["saving_real_macs"],
        "published": {"float reduced": {"kl_total_auc": 0.8464, "tpr_at_fpr_10pct": 0.6363},
                      "quantized": {"kl_total_auc": 0.8117, "tpr_at_fpr_10pct": 0.6003},
                      "energy_uj": {"float": 5.4957, "quantized": 3.3434}},
    }
    write_text(args.metrics, json.dumps(doc, indent=2) + "\n")
    logger.info("wrote KL metrics of %d models to %s", len(results), args.metrics)
    if args.table:
        write_text(args.table, rq.metrics_markdown(
            results, f"KL scores of the reduced encoders ({len(label)} test jets)"))
        logger.info("wrote %s", args.table)
    if args.roc:
        curves = {f"{m}: {k}": s[k] for m, s in series.items() for k in rq.KL_NAMES}
        rq.roc_pdf(label, curves, args.roc, data_note(params))
        logger.info("wrote %d ROC curves to %s", len(curves), args.roc)
    rows = rq.energy_rows(cmp)
    if args.energy:
        write_text(args.energy, rq.energy_csv(rows))
        logger.info("wrote the energy of %d layers to %s", len(rows) - 1, args.energy)
    if args.energy_table:
        write_text(args.energy_table, rq.energy_markdown(rows, cmp))
    logger.info("QTools energy: float %.4f uJ, quantized %.4f uJ (saving %.1f%%)",
                cmp["float"]["total_uj"], cmp["quantized"]["total_uj"], 100 * cmp["saving"])


def encoder_params(model) -> int:
    from jetad.quant.encoder import effective_params

    return int(effective_params(model))
