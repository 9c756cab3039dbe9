"""Quantization-aware training of the reduced encoder ([Valente 2022] Table 3.2): a float and a
QKeras encoder each learn to feed the trained JointVAE's decoder, through the epoch loop of
jetad.models.training; then their KL figures of merit next to the large model's, and QTools'
energy of both."""

from __future__ import annotations

import numpy as np

from jetad import log
from jetad.analysis import encoder_metrics as rq
from jetad.fpga.hls4ml.emulate import keras_outputs
from jetad.models import reduced_encoder as encoder
from jetad.models.loop import batches, run_epoch
from jetad.sections import Qat

logger = log.get("jetad.qat")


def encoder_config(qp: Qat, vae, npix: int):
    """The reduced encoder of the `qat:` parameters in front of `vae`: the latent sizes are
    the trained decoder's, the image size the data's."""
    return encoder.EncoderConfig.from_params(qp, npix, vae.cfg.latent_cont, vae.cfg.latent_disc)


def train_encoder(cfg, quantized: bool, vae, x: np.ndarray, qp: Qat, seed: int):
    """Fit a reduced encoder (float or QKeras) of `cfg` in front of `vae`'s decoder on the
    images x (n, h, w); returns the encoder and the loss terms of its last epoch, each the
    mean over that epoch's batches."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf
    import tf_keras as keras

    from jetad.models import jointvae

    kind = "quantized" if quantized else "float"
    decoder = vae.decoder
    enc = encoder.build(cfg, quantized=quantized)
    opt = keras.optimizers.AdamW(qp.learning_rate, weight_decay=qp.weight_decay)
    variables = enc.trainable_variables + (decoder.trainable_variables
                                            if decoder.trainable else [])

    @tf.function
    def step(xb):
        with tf.GradientTape() as tape:
            logits, mean, logvar = enc(xb[..., None], training=True)
            z, c = jointvae.sample_latent(mean, logvar, logits, vae.cfg.tau)
            rec = decoder(tf.concat([z, c], -1), training=True)[..., 0]
            terms = vae.loss_terms(xb, rec, logits, mean, logvar, qp.beta)
        grads = tape.gradient(terms["loss"], variables)
        opt.apply_gradients(zip(grads, variables, strict=True))
        for v in enc.layers:  # keep the block-diagonal structure exact
            c_ = getattr(v, "kernel_constraint", None)
            if c_ is not None and hasattr(c_, "mask"):
                v.kernel.assign(c_(v.kernel))
        return terms

    images = tf.constant(x)
    rng = np.random.default_rng(seed)
    losses: dict[str, float] = {}
    for epoch in range(qp.epochs):
        losses = run_epoch(lambda _i, xb: step(xb),
                           batches(images, qp.batch_size, rng.permutation(len(x))),
                           per_image=False)
        logger.info("%s epoch %d/%d on %d images: loss %.4g", kind, epoch + 1, qp.epochs,
                    len(x), losses["loss"])
    return enc, losses


# The thesis' numbers (Tables 3.2 and 3.4), written next to ours in the metrics
PUBLISHED = {"float reduced": {"kl_total_auc": 0.8464, "tpr_at_fpr_10pct": 0.6363},
             "quantized": {"kl_total_auc": 0.8117, "tpr_at_fpr_10pct": 0.6003},
             "energy_uj": {"float": 5.4957, "quantized": 3.3434}}


def kl_series(models: dict, images: np.ndarray, eps: float,
              large: dict | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Model name -> its KL scores of the test images (n, h, w): the large JointVAE's
    (`large`, from its score file) first when given, then the float and quantized encoders'."""
    xt = np.asarray(images, np.float32)[..., None]
    series = {} if large is None else {"large JointVAE": large}
    series["float reduced"] = rq.kl_scores(keras_outputs(models["float"], xt), eps)
    series["quantized (QKeras)"] = rq.kl_scores(keras_outputs(models["quantized"], xt), eps)
    return series


def summary(test: str, label: np.ndarray, scores_path: str | None, results: dict,
            losses: dict, models: dict, cmp: dict) -> dict:
    """The metrics document of `jetad qat`: KL metrics, losses, sizes, energy, the thesis'."""
    return {
        "test": test, "n_test": int(len(label)), "large_model_scores": scores_path,
        "kl": results, "losses": losses,
        "effective_params": {k: int(encoder.effective_params(m)) for k, m in models.items()},
        "energy_uj": {k: {"total": cmp[k]["total_uj"],
                          "total_real_macs": cmp[k]["total_uj_real_macs"]}
                      for k in ("float", "quantized")},
        "energy_saving": cmp["saving"], "energy_saving_real_macs": cmp["saving_real_macs"],
        "published": PUBLISHED,
    }
