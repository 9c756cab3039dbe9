"""`jetad qat`: train the reduced quantized encoder ([Valente 2022] Table 3.2) as a JointVAE with the
float decoder.

The decoder comes from the trained JointVAE (`jetad train`), is kept frozen unless
`qat.train_decoder` is true, and is used only in training: the FPGA runs the encoder alone.
Writes the QKeras encoder (`<out>/qencoder.h5`, loadable with `jetad.models.reduced_encoder.load_qmodel`)
and the float reduced encoder (`<out>/encoder_float.h5`) trained the same way; then scores the
test jets with KL (disc, cont, total) for both and the large JointVAE (its score file from
`jetad score`: the same jets), and writes metrics JSON (losses + AUC + TPR@FPR10%), a markdown
table, the ROC curves in one PDF, and the QTools energy table (CSV + markdown).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from jetad import log
from jetad.analysis import encoder_metrics as rq
from jetad.analysis import plots
from jetad.atomic import atomic_path, write_text
from jetad.data.images import read_background_images, read_images, subsample
from jetad.inputs import read_model_meta
from jetad.models import reduced_encoder as encoder
from jetad.models.determinism import setup_tf
from jetad.quant import energy, qat
from jetad.quant.qat import encoder_config, train_encoder


def run(args, params) -> None:
    logger = log.get("jetad.qat")
    qp = params.qat
    # every input is checked before TensorFlow is imported and before training: a bad test or
    # score file must not surface only after both encoders were trained and written
    data = read_background_images(args.train)
    npix = int(data.images.shape[1])
    read_model_meta(args.vae, "jointvae")
    test = read_images(args.test, npix=npix, expected_by=f"the training images {args.train} have")
    large = rq.large_model_scores(args.scores, test.label) if args.scores else None
    setup_tf(params.seed)
    # heavy: the JointVAE module imports TensorFlow; it loads after the inputs are checked
    from jetad.models import jointvae

    logger.info("read %d QCD training images from %s", len(data.images), args.train)
    idx = subsample(len(data.images), qp.max_images, params.seed)
    x = np.asarray(data.images[idx], dtype=np.float32)
    vae = jointvae.load(args.vae)
    vae.decoder.trainable = qp.train_decoder
    cfg = encoder_config(qp, vae, npix)
    out = Path(args.out)
    losses: dict[str, dict] = {}
    models = {}
    for kind in ("float", "quantized"):
        enc, losses[kind] = train_encoder(cfg, kind == "quantized", vae, x, qp,
                                          params.seed)
        name = "qencoder.h5" if kind == "quantized" else "encoder_float.h5"
        with atomic_path(out / name, suffix=".h5") as tmp:
            enc.save(str(tmp))
        logger.info("wrote the %s reduced encoder (%d effective parameters) to %s", kind,
                    encoder.effective_params(enc), out / name)
        models[kind] = enc
    if args.weights_figure:
        # the quantized encoder's kernels as it computes with them (through its quantizer)
        with atomic_path(args.weights_figure, suffix=".pdf") as tmp:
            plots.weight_histograms({"large JointVAE encoder": vae.encoder,
                                     "float reduced encoder": models["float"],
                                     "quantized reduced encoder (QKeras)": models["quantized"]},
                                    tmp, plots.data_note(params))
        logger.info("wrote the weights of the three encoders to %s", args.weights_figure)
    evaluate(args, params, vae, models, losses, cfg, test, large)


def evaluate(args, params, vae, models: dict, losses: dict, cfg, test, large) -> None:
    """Write the KL figures of merit of the reduced encoders and the large model, tables, ROC
    and energy."""
    logger = log.get("jetad.qat")
    label = test.label.astype(int)
    logger.info("read %d test jets (%d top) from %s", len(label), int(label.sum()), args.test)
    if large is not None:
        logger.info("read the large model's KL scores from %s", args.scores)
    series = qat.kl_series(models, test.images, vae.cfg.kl_eps, large)
    results = {name: rq.kl_metrics(label, s) for name, s in series.items()}
    for name, per in results.items():
        logger.info("%-20s KL total AUC %.4f, TPR@FPR10%% %.4f", name, per["kl_total"]["auc"],
                    per["kl_total"]["tpr_at_fpr_10pct"])
    cmp = energy.compare(models["float"], models["quantized"], cfg)
    doc = qat.summary(str(args.test), label, args.scores, results, losses, models, cmp)
    write_text(args.metrics, json.dumps(doc, indent=2) + "\n")
    logger.info("wrote KL metrics of %d models to %s", len(results), args.metrics)
    if args.table:
        write_text(args.table, rq.metrics_markdown(
            results, f"KL scores of the reduced encoders ({len(label)} test jets)"))
        logger.info("wrote %s", args.table)
    if args.roc:
        curves = {f"{m}: {k}": s[k] for m, s in series.items() for k in rq.KL_NAMES}
        rq.roc_pdf(label, curves, args.roc, plots.data_note(params))
        logger.info("wrote %d ROC curves to %s", len(curves), args.roc)
    rows = rq.energy_rows(cmp)
    if args.energy:
        write_text(args.energy, rq.energy_csv(rows))
        logger.info("wrote the energy of %d layers to %s", len(rows) - 1, args.energy)
    if args.energy_table:
        write_text(args.energy_table, rq.energy_markdown(rows, cmp))
    logger.info("QTools energy: float %.4f uJ, quantized %.4f uJ (saving %.1f%%)",
                cmp["float"]["total_uj"], cmp["quantized"]["total_uj"], 100 * cmp["saving"])
