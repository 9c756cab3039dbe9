"""Training and scoring throughput of the JointVAE on this machine (images/s).

    .venv/bin/python bench/train.py                 # thesis model and the params.yaml model
    .venv/bin/python bench/train.py --widths 1 0.5 0.25 --steps 6   # params groups, other widths

Random images summing to 1 stand in for jets: the cost of a step does not depend on content.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import jetad  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

THESIS_PRESET = "workflow/presets/thesis.yaml"  # the thesis model's sizes: its train section


def measure(overrides: dict, train_params, npix: int, batch: int, steps: int):
    import tensorflow as tf
    import tf_keras as keras

    from jetad.models import losses
    from jetad.models.jointvae import JointVAE, JointVAEConfig
    from jetad.models.training import make_steps

    cfg = JointVAEConfig.from_params({**train_params, **overrides}, npix)
    model = JointVAE(cfg)
    opt = keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-3)
    train_step, _ = make_steps(model, opt, losses.Objective.from_params(train_params))
    rng = np.random.default_rng(0)
    x = rng.random((batch, cfg.npix, cfg.npix)).astype(np.float32) ** 8
    x = tf.constant(x / x.sum(axis=(1, 2), keepdims=True))
    seed, progress = tf.constant([1, 2], tf.int32), tf.constant(1.0)
    train_step(x, seed, progress)  # trace + first-call allocation, not timed
    t0 = time.perf_counter()
    for _ in range(steps):
        float(train_step(x, seed, progress)["loss"])
    train_rate = batch * steps / (time.perf_counter() - t0)

    @tf.function(input_signature=[tf.TensorSpec((None, cfg.npix, cfg.npix), tf.float32)])
    def score(xb):
        return model.forward(xb, training=False, sample=False)

    score(x)
    t0 = time.perf_counter()
    for _ in range(steps):
        score(x)[0].numpy()
    score_rate = batch * steps / (time.perf_counter() - t0)
    return train_rate, score_rate, model.param_counts(), cfg


def main() -> None:
    from jetad import params as params_mod

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--params", default=None)
    p.add_argument("--widths", type=float, nargs="*", default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args()
    params = params_mod.load(args.params)
    tp = params.train
    batch = args.batch_size or tp.batch_size
    if args.widths:
        runs = [(f"width {w:g}", {"width": w}) for w in args.widths]
    else:
        import yaml

        thesis = yaml.safe_load(open(THESIS_PRESET))["train"]
        runs = [("thesis", thesis), ("params.yaml", {})]
    print(f"batch {batch}, {args.steps} timed steps")
    for name, overrides in runs:
        tr, sc, counts, cfg = measure(overrides, tp, params.pixelize.npix, batch, args.steps)
        print(f"{name} (width {cfg.width:g}, groups {cfg.encoder_down_groups}/"
              f"{cfg.encoder_res_groups}/{cfg.decoder_groups}): encoder {counts['encoder']:,} + "
              f"decoder {counts['decoder']:,} parameters; train {tr:.1f} images/s; "
              f"score {sc:.1f} images/s", flush=True)


if __name__ == "__main__":
    main()
