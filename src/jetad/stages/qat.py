"""`jetad qat`: train the reduced quantized encoder (SPEC 4) as a JointVAE with the float decoder.

The decoder comes from the trained JointVAE (`jetad train`), is kept frozen unless
`qat.train_decoder` is true, and is used only in training: the FPGA runs the encoder alone.
Writes the QKeras encoder (`<out>/qencoder.h5`, loadable with qkeras.utils.load_qmodel) and the
float reduced encoder (`<out>/encoder_float.h5`) trained the same way, plus a metrics JSON.
"""

from __future__ import annotations

HELP = "quantization-aware training of the reduced encoder with the trained float decoder"


def add_arguments(parser) -> None:
    parser.add_argument("--train", required=True, help="QCD training images (jetad split)")
    parser.add_argument("--vae", required=True, help="trained JointVAE model directory (decoder)")
    parser.add_argument("--out", required=True, help="output directory for the encoders")
    parser.add_argument("--metrics", required=True, help="output JSON of the final losses")


def run(args, params) -> None:
    import json
    from pathlib import Path

    import numpy as np

    from jetad import log
    from jetad.atomic import atomic_path, write_text
    from jetad.models import jointvae
    from jetad.quant import encoder
    from jetad.stages.train import load_training_images, setup_tf, subsample

    logger = log.get("jetad.qat")
    qp = params["qat"]
    tf = setup_tf(params["seed"])
    import tf_keras as keras

    data = load_training_images(args.train)
    idx = subsample(len(data.images), qp.get("max_images"), params["seed"])
    x = np.asarray(data.images[idx], dtype=np.float32)
    vae = jointvae.load(args.vae)
    decoder = vae.decoder
    decoder.trainable = bool(qp.get("train_decoder", False))
    cfg = encoder.EncoderConfig.from_params(qp)
    out = Path(args.out)
    metrics = {}
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
            metrics[kind] = {k: v / nb for k, v in sums.items()}
            logger.info("%s epoch %d: %s", kind, epoch + 1, metrics[kind])
        name = "qencoder.h5" if kind == "quantized" else "encoder_float.h5"
        with atomic_path(out / name, suffix=".h5") as tmp:
            enc.save(str(tmp))
    write_text(args.metrics, json.dumps(metrics, indent=2) + "\n")
