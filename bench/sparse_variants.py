"""The sparse study of `jetad sparse` (search, training, pruning; no QAT) under variants of its
loss and of the order of the particles in the input slots, side by side on one project's jets.

    .venv/bin/python bench/sparse_variants.py [VARIANT ...] [--params params.yaml]

Run in a project folder whose data/jets hold JetNet-layout jets (the jetnet preset after
`snakemake data/split/test.h5`). Variants:

- pt: JetNet's particle order (descending pT_rel), the per-jet masked MSE (the reference);
- dr: the particles by angular distance from the jet axis, the same loss;
- slot: pt order, each jet's squared error summed over its particles and divided by the 90
  slots instead of 3 x its particle count (jets with more particles weigh more);
- batch_particle: pt order, every particle of a batch weighs the same in the loss;
- pt_weighted: pt order, each particle's squared error weighted by its pT_rel (soft particles
  count little, as in an IR-safe distance).

Per variant: the searched architecture, the validation loss of every pruning round and the
ratio of the dense network's to the reference's (comparable for `dr` only: the others change
what the loss measures), and the test AUC per signal of the kept and the dense network under
two scores, the per-jet mean over the jet's particles and the per-slot one (for information:
no choice may be made with them).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from jetad.analysis.metrics import signal_aucs
from jetad.data.images import subsample
from jetad.data.particle_split import read_particle_files, split_particles
from jetad.data.pixelize import input_processes
from jetad.params import load

VARIANTS = ("pt", "dr", "slot", "batch_particle", "pt_weighted")


def _loss(variant: str):
    """The masked MSE the variant trains and validates with (None: the module's own)."""
    import tensorflow as tf

    def per_slot(x, x_hat, mask):
        err = tf.reshape(tf.square(tf.cast(x, tf.float32) - x_hat), (-1, 30, 3))
        return tf.reduce_sum(tf.reduce_sum(err, axis=2) * tf.cast(mask, tf.float32), axis=1) / 90.0

    def per_batch_particle(x, x_hat, mask):
        err = tf.reshape(tf.square(tf.cast(x, tf.float32) - x_hat), (-1, 30, 3))
        mask = tf.cast(mask, tf.float32)
        total = tf.reduce_sum(tf.reduce_sum(err, axis=2) * mask, axis=1)
        return total / (3.0 * tf.reduce_mean(tf.reduce_sum(mask, axis=1)))

    return {"slot": per_slot, "batch_particle": per_batch_particle}.get(variant)


def _weights(variant: str, x_raw: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """What the loss's mask argument carries: the mask, or for pt_weighted each particle's
    pT_rel (the module's MSE divides by 3 x max(sum, 1), and pT_rel sums to about 1)."""
    if variant != "pt_weighted":
        return mask
    return x_raw.reshape(-1, 30, 3)[:, :, 2] * mask


def run(variant: str, params, parts) -> dict:
    from jetad.models import particle_ae
    from jetad.models.sparse_study import run_study

    sp = params.sparse
    order = "dr" if variant == "dr" else "pt"
    original = particle_ae.masked_mse
    particle_ae.masked_mse = _loss(variant) or original
    try:
        raw = [particle_ae.inputs(part.particles.particles[subsample(len(part), limit, seed)],
                                  order)
               for part, limit, seed in ((parts["train"], sp.max_train_jets, params.seed),
                                         (parts["val"], sp.max_val_jets, params.seed + 1))]
        scaler = particle_ae.Scaler.fit(*raw[0])
        train, val = ((scaler(*r), _weights(variant, *r)) for r in raw)
        start = time.time()
        study = run_study(train, val, sp, params.seed)
        seconds = time.time() - start
    finally:
        particle_ae.masked_mse = original
    test = parts["test"]
    x_raw, mask = particle_ae.inputs(test.particles.particles, order)
    x = scaler(x_raw, mask)

    def aucs(weights) -> dict:
        study.model.set_weights(weights)
        err = ((x - study.model(x, training=False).numpy()) ** 2).reshape(-1, 30, 3)
        err = err * mask[:, :, None]
        out = {}
        for name, score in (("jet", err.sum((1, 2)) / (3 * mask.sum(1))),
                            ("slot", err.sum((1, 2)) / 90)):
            got = signal_aucs(test.label, test.process, score)
            out[name] = {k: round(v, 3) for k, v in got.items() if k != "all"}
        return out

    return {"variant": variant, "architecture": study.architecture.label(),
            "seconds": round(seconds, 1), "kept_round": study.pruned.round,
            "val_loss": [round(r["val_loss"], 4) for r in study.pruned.table],
            "sparsity": [round(r["sparsity"], 3) for r in study.pruned.table],
            "sparse_auc": aucs(study.model.get_weights()), "dense_auc": aucs(study.pruned.dense)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # checked below: argparse (3.11) checks an empty list against `choices` as one value
    parser.add_argument("variants", nargs="*", help=f"any of {', '.join(VARIANTS)} (all)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    params = load(args.params)
    files = [f"data/jets/{p}.h5" for p in ("gluon", "quark", "top", "w", "z")]
    data, process = read_particle_files(input_processes(files))
    parts = split_particles(data, process, params.split.background, params.split.test_fraction,
                            params.split.val_fraction, params.seed)
    reference = None
    for variant in args.variants or VARIANTS:
        got = run(variant, params, parts)
        reference = reference or got
        got["dense_val_loss_over_reference"] = round(got["val_loss"][0]
                                                     / reference["val_loss"][0], 3)
        print(json.dumps(got), flush=True)


if __name__ == "__main__":
    main()
