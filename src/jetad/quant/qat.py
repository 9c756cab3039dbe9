"""Quantization-aware training of the reduced encoder (SPEC 4, thesis Table 3.2): a float and a
QKeras encoder each learn to feed the trained JointVAE's decoder, through the epoch loop of
jetad.models.training."""

from __future__ import annotations

import numpy as np

from jetad import log
from jetad.sections import Qat

logger = log.get("jetad.qat")


def train_encoder(cfg, quantized: bool, vae, x: np.ndarray, qp: Qat, seed: int):
    """Fit a reduced encoder (float or QKeras) of `cfg` in front of `vae`'s decoder on the
    images x (n, h, w); returns the encoder and the loss terms of its last epoch, each the
    mean over that epoch's batches."""
    import tensorflow as tf
    import tf_keras as keras

    from jetad.models import jointvae
    from jetad.models.training import batches, run_epoch
    from jetad.quant import encoder

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
