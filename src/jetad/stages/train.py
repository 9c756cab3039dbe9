"""`jetad train`: fit the JointVAE on QCD jet images ([Dupont 2018]; [Valente 2022] ch. 3), checkpointing
every epoch.

A killed run restarts from its last completed epoch: the checkpoint directory holds the
weights, optimizer state, learning rate, early-stopping counters and history, and is keyed by
a fingerprint of the inputs and the `train:` parameters, so a changed setting starts afresh
instead of resuming into a different experiment. The model, metrics and plot are written
only once training has finished, each atomically; the checkpoint is then removed.
"""

from __future__ import annotations

import json
from pathlib import Path

from jetad import log
from jetad.analysis import plots
from jetad.atomic import atomic_path, write_text
from jetad.data.images import read_background_images, subsample
from jetad.inputs import check_checkpoint_dir
from jetad.models import training
from jetad.models.determinism import setup_tf

logger = log.get("jetad.train")


def run(args, params) -> None:
    tp, seed = params.train, params.seed
    # the inputs are checked before TensorFlow is imported (it prints on stderr) and before
    # anything is logged: a bad input gives one line
    train = read_background_images(args.train)
    npix = train.images.shape[1]
    val = read_background_images(args.val, npix, "validation",
                               f"the training images {args.train} have")
    ckdir = Path(args.checkpoint_dir or f"{args.model}.ckpt")
    check_checkpoint_dir(ckdir)
    tf = setup_tf(seed)
    # heavy: the JointVAE module imports TensorFlow; it loads after the inputs are checked
    from jetad.models.jointvae import save

    itrain = subsample(len(train), tp.max_train_jets, seed)
    ival = subsample(len(val), tp.max_val_jets, seed + 1)
    x_train = tf.constant(train.images[itrain], tf.float32)
    x_val = tf.constant(val.images[ival], tf.float32)
    logger.info("read %d QCD training jets from %s, using %d", len(train), args.train, len(itrain))
    logger.info("read %d QCD validation jets from %s, using %d", len(val), args.val, len(ival))
    key = training.fingerprint(args.train, args.val, tp, seed)
    model, state, ck = training.train_jointvae(x_train, x_val, tp, seed, ckdir, key)

    summary = training.summary(model, state, x_val, tp.batch_size, len(itrain))
    logger.info("collapse measures on the validation jets: %d of %d latent dimensions active "
                "(mean KL > %g nats), reconstruction spread ratio %.3f",
                summary["collapse"]["active_dims"], summary["collapse"]["latent_dims"],
                summary["collapse"]["active_kl"], summary["collapse"]["spread_ratio"])
    save(model, args.model, extra={"training": {k: summary[k] for k in
                                                ("best_epoch", "epochs_run", "n_train")}})
    images_per_s = len(itrain) * len(state["history"]) / max(state["train_seconds"], 1e-9)
    logger.info("wrote model (best epoch %d) to %s; %.1f training images/s", state["best_epoch"],
                args.model, images_per_s)
    write_text(args.metrics, json.dumps(summary, indent=2) + "\n")
    history_path = args.history or str(Path(args.metrics).with_suffix(".csv"))
    write_text(history_path, training.history_csv(state["history"]))
    logger.info("wrote %s and %s (%d epochs)", args.metrics, history_path, len(state["history"]))
    if args.plot:
        with atomic_path(args.plot, suffix=".pdf") as tmp:
            plots.training_curves(state["history"], tmp, plots.data_note(params))
        logger.info("wrote %s", args.plot)
    ck.clear()
