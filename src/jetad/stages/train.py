"""`jetad train`: fit the JointVAE on QCD jet images (SPEC §2), checkpointing every epoch.

A killed run restarts from its last completed epoch: the checkpoint directory holds the
weights, optimizer state, learning rate, early-stopping counters and history, and is keyed by
a fingerprint of the inputs and the `train:` parameters, so a changed setting starts afresh
instead of resuming into a different experiment. The model, metrics and plot are written
only once training has finished, each atomically; the checkpoint is then removed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import shutil
import time
from pathlib import Path

import numpy as np

from jetad import log
from jetad.atomic import atomic_path, write_text
from jetad.data.images import read_background_images, subsample
from jetad.errors import DataError, JetadError
from jetad.models.determinism import setup_tf

METRICS = ("loss", "bce", "kl_cont", "kl_disc", "mse", "psnr", "ssim")
# Keras' ReduceLROnPlateau default: an improvement must beat the best by this much.
PLATEAU_MIN_DELTA = 1e-4

logger = log.get("jetad.train")


def fingerprint(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, (str, Path)) and Path(p).is_file():
            st = Path(p).stat()
            h.update(f"{Path(p).resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


class Checkpointer:
    """Epoch checkpoints in one directory: state.json points at the newest complete one."""

    def __init__(self, directory: Path, key: str, objects: dict, best_objects: dict):
        import tensorflow as tf

        self.dir, self.key = Path(directory), key
        self.ckpt = tf.train.Checkpoint(**objects)
        self.best = tf.train.Checkpoint(**best_objects)

    def load_state(self) -> dict | None:
        state_file = self.dir / "state.json"
        if not state_file.is_file():
            return None
        try:
            state = json.loads(state_file.read_text())
        except json.JSONDecodeError:
            logger.warning("%s: unreadable, starting afresh", state_file)
            return None
        if state.get("key") != self.key:
            logger.info("%s: from other inputs or parameters, starting afresh", self.dir)
            return None
        import tensorflow as tf

        where = self.dir / state["checkpoint"]
        try:
            self.ckpt.read(str(where)).assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as exc:
            # a checkpoint written by other code (another architecture) or damaged on disk
            reason = " ".join(str(exc).split())[:300]
            raise DataError(f"{where}: does not fit this model or is damaged ({reason}); "
                            f"delete {self.dir} to start afresh") from exc
        return state

    def restore_best(self, state: dict) -> None:
        if state.get("best_checkpoint"):
            self.best.read(str(self.dir / state["best_checkpoint"])).expect_partial()

    def save(self, state: dict, epoch: int, is_best: bool) -> dict:
        self.dir.mkdir(parents=True, exist_ok=True)
        state = dict(state, key=self.key, checkpoint=f"epoch-{epoch}")
        self.ckpt.write(str(self.dir / state["checkpoint"]))
        if is_best:
            state["best_checkpoint"] = f"best-{epoch}"
            self.best.write(str(self.dir / state["best_checkpoint"]))
        # state.json is renamed into place last: until then the previous epoch stays current.
        write_text(self.dir / "state.json", json.dumps(state, indent=1))
        keep = {state["checkpoint"], state.get("best_checkpoint")}
        for f in self.dir.iterdir():
            stem = f.name.split(".")[0]
            if stem.startswith(("epoch-", "best-")) and stem not in keep:
                f.unlink()
        return state

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def make_steps(model, optimizer, objective):
    """Compiled train/eval steps; the seed argument makes the latent noise reproducible, the
    progress argument (fraction of the capacity ramp done) moves the capacity objective's
    targets without retracing."""
    import tensorflow as tf

    npix = model.cfg.npix
    spec = (tf.TensorSpec((None, npix, npix), tf.float32), tf.TensorSpec((2,), tf.int32),
            tf.TensorSpec((), tf.float32))

    @tf.function(input_signature=spec)
    def train_step(x, seed, progress):
        with tf.GradientTape() as tape:
            rec, logits, mean, logvar = model.forward(x, training=True, sample=True, seed=seed)
            terms = model.loss_terms(x, rec, logits, mean, logvar, objective, progress)
        variables = model.trainable_variables
        grads = tape.gradient(terms["loss"], variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return terms

    @tf.function(input_signature=spec)
    def eval_step(x, seed, progress):
        rec, logits, mean, logvar = model.forward(x, training=False, sample=True, seed=seed)
        return model.loss_terms(x, rec, logits, mean, logvar, objective, progress)

    return train_step, eval_step


def batches(tf, images, batch_size: int, seed: int | None):
    """tf.data pipeline over one in-memory tensor; shuffles indices, not images, per epoch."""
    n = int(images.shape[0])
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    ds = tf.data.Dataset.from_tensor_slices(order.astype(np.int64)).batch(batch_size)
    ds = ds.map(lambda idx: tf.gather(images, idx), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def run_epoch(tf, step, images, batch_size, seed, epoch, shuffle,
              progress=lambda i: 1.0) -> dict[str, float]:
    """One pass; `progress(i)` gives the capacity ramp's progress at batch i (a function of the
    epoch and batch only, so a resumed run sees the same targets)."""
    sums = dict.fromkeys(METRICS, 0.0)
    count = 0
    for i, x in enumerate(batches(tf, images, batch_size, seed + epoch if shuffle else None)):
        terms = step(x, tf.constant([seed % (2**31 - 1), epoch * 1_000_003 + i], tf.int32),
                     tf.constant(progress(i), tf.float32))
        nb = int(x.shape[0])
        for k in METRICS:
            sums[k] += float(terms[k]) * nb
        count += nb
    return {k: v / count for k, v in sums.items()}


def collapse_on(model, images, batch_size: int) -> dict:
    """Active latent dimensions and reconstruction spread ratio (jetad.analysis.collapse) of
    the trained model on `images`, from the latent means (no sampling)."""
    from jetad.analysis import collapse

    recs, means, logvars = [], [], []
    for i in range(0, int(images.shape[0]), batch_size):
        rec, _logits, mean, logvar = model.forward(images[i:i + batch_size], training=False,
                                                   sample=False)
        recs.append(rec.numpy())
        means.append(mean.numpy())
        logvars.append(logvar.numpy())
    x = images.numpy()
    mean, logvar = np.concatenate(means), np.concatenate(logvars)
    out = collapse.summary(x, np.concatenate(recs).reshape(x.shape), mean, logvar)
    out["active_kl"] = collapse.ACTIVE_KL
    return out


def run(args, params) -> None:
    from jetad.inputs import check_checkpoint_dir

    tp, seed = params["train"], int(params["seed"])
    # the inputs are checked before TensorFlow is imported (it prints on stderr) and before
    # anything is logged: a bad input gives one line
    train = read_background_images(args.train)
    npix = train.images.shape[1]
    val = read_background_images(args.val, npix, "validation",
                               f"the training images {args.train} have")
    ckdir = Path(args.checkpoint_dir or f"{args.model}.ckpt")
    check_checkpoint_dir(ckdir)
    tf = setup_tf(seed)
    import tf_keras as keras

    from jetad.analysis import plots
    from jetad.models import losses
    from jetad.models.jointvae import JointVAE, JointVAEConfig, save

    itrain = subsample(len(train), tp.get("max_train_jets"), seed)
    ival = subsample(len(val), tp.get("max_val_jets"), seed + 1)
    x_train = tf.constant(train.images[itrain], tf.float32)
    x_val = tf.constant(val.images[ival], tf.float32)
    logger.info("read %d QCD training jets from %s, using %d", len(train), args.train, len(itrain))
    logger.info("read %d QCD validation jets from %s, using %d", len(val), args.val, len(ival))

    cfg = JointVAEConfig.from_params(tp, npix)
    model = JointVAE(cfg)
    counts = model.param_counts()
    logger.info("JointVAE width %.3g: encoder %d, decoder %d parameters",
                cfg.width, counts["encoder"], counts["decoder"])
    optimizer = keras.optimizers.AdamW(
        learning_rate=tp["learning_rate"], weight_decay=tp["weight_decay"]
    )
    optimizer.build(model.trainable_variables)
    epoch_var = tf.Variable(0, dtype=tf.int64)
    key = fingerprint(args.train, args.val, tp, seed)
    ck = Checkpointer(
        ckdir, key,
        {"encoder": model.encoder, "decoder": model.decoder, "optimizer": optimizer,
         "epoch": epoch_var},
        {"encoder": model.encoder, "decoder": model.decoder},
    )
    state = ck.load_state() or {
        "epoch": 0, "history": [], "lr": tp["learning_rate"], "best_val": math.inf,
        "best_epoch": None, "plateau_best": math.inf, "plateau_wait": 0, "stop_wait": 0,
        "stopped_early": False, "train_seconds": 0.0,
    }
    if state["epoch"]:
        logger.info("resuming from %s after epoch %d", ckdir, state["epoch"])
    optimizer.learning_rate.assign(state["lr"])
    objective = losses.Objective.from_params(tp)
    train_step, eval_step = make_steps(model, optimizer, objective)
    bs = int(tp["batch_size"])
    per_epoch = -(-len(itrain) // bs)
    ramp = objective.ramp_epochs * per_epoch
    if objective.kind == "capacity":
        logger.info("capacity objective: gamma %g, C_cont 0 -> %g nats, C_disc 0 -> %g nats over "
                    "%d epochs", objective.gamma, objective.cont_max, objective.disc_max,
                    objective.ramp_epochs)

    while state["epoch"] < tp["epochs"] and not state["stopped_early"]:
        epoch = state["epoch"] + 1
        t0 = time.perf_counter()
        done = (epoch - 1) * per_epoch
        tr = run_epoch(tf, train_step, x_train, bs, seed, epoch, shuffle=True,
                       progress=lambda i, d=done: (d + i) / ramp)
        seconds = time.perf_counter() - t0
        # validated against the targets reached at the end of this epoch
        va = run_epoch(tf, eval_step, x_val, bs, seed, 0, shuffle=False,
                       progress=lambda _i, e=epoch: e * per_epoch / ramp)
        if not all(math.isfinite(v) for v in (*tr.values(), *va.values())):
            raise JetadError(
                f"training diverged in epoch {epoch} (train loss {tr['loss']}, val loss "
                f"{va['loss']}); lower train.learning_rate or train.beta. The checkpoint in "
                f"{ckdir} still holds epoch {epoch - 1}."
            )
        # no timings in the outputs: they would change the bytes of every rerun
        row = {"epoch": epoch, "lr": state["lr"],
               **{f"train_{k}": v for k, v in tr.items()},
               **{f"val_{k}": v for k, v in va.items()}}
        state["history"].append(row)
        state["train_seconds"] += seconds
        state.update(epoch_updates(state, va["loss"], tp))
        is_best = state["best_epoch"] == epoch
        epoch_var.assign(epoch)
        state["epoch"] = epoch
        optimizer.learning_rate.assign(state["lr"])
        state = ck.save(state, epoch, is_best)
        logger.info(
            "epoch %d/%d: %.1f s (%.1f images/s), train loss %.4g, val loss %.4g "
            "(bce %.4g, kl_cont %.3g, kl_disc %.3g), lr %.3g",
            epoch, tp["epochs"], seconds, len(itrain) / seconds, tr["loss"], va["loss"],
            va["bce"], va["kl_cont"], va["kl_disc"], row["lr"],
        )

    ck.restore_best(state)
    best = next(r for r in state["history"] if r["epoch"] == state["best_epoch"])
    images_per_s = len(itrain) * len(state["history"]) / max(state["train_seconds"], 1e-9)
    summary = {
        "best_epoch": state["best_epoch"], "epochs_run": state["epoch"],
        "stopped_early": state["stopped_early"], "n_train": len(itrain), "n_val": len(ival),
        "params_encoder": counts["encoder"], "params_decoder": counts["decoder"],
        "width": cfg.width,
        "train": {k: best[f"train_{k}"] for k in METRICS},
        "val": {k: best[f"val_{k}"] for k in METRICS},
        "collapse": collapse_on(model, x_val, bs),
    }
    logger.info("collapse measures on the validation jets: %d of %d latent dimensions active "
                "(mean KL > %g nats), reconstruction spread ratio %.3f",
                summary["collapse"]["active_dims"], summary["collapse"]["latent_dims"],
                summary["collapse"]["active_kl"], summary["collapse"]["spread_ratio"])
    save(model, args.model, extra={"training": {k: summary[k] for k in
                                                ("best_epoch", "epochs_run", "n_train")}})
    logger.info("wrote model (best epoch %d) to %s; %.1f training images/s", state["best_epoch"],
                args.model, images_per_s)
    write_text(args.metrics, json.dumps(summary, indent=2) + "\n")
    history_path = args.history or str(Path(args.metrics).with_suffix(".csv"))
    write_text(history_path, history_csv(state["history"]))
    logger.info("wrote %s and %s (%d epochs)", args.metrics, history_path, len(state["history"]))
    if args.plot:
        with atomic_path(args.plot, suffix=".pdf") as tmp:
            plots.training_curves(state["history"], tmp)
        logger.info("wrote %s", args.plot)
    ck.clear()


def epoch_updates(state: dict, val_loss: float, tp: dict) -> dict:
    """ReduceLROnPlateau(factor, patience) and EarlyStopping(patience) on the validation
    loss, with Keras' semantics, kept in plain state so they survive a restart."""
    out = {}
    if val_loss < state["plateau_best"] - PLATEAU_MIN_DELTA:
        out.update(plateau_best=val_loss, plateau_wait=0, lr=state["lr"])
    else:
        wait = state["plateau_wait"] + 1
        lr = state["lr"]
        if wait >= tp["lr_patience"]:
            lr, wait = lr * tp["lr_factor"], 0
        out.update(plateau_wait=wait, lr=lr)
    epoch = state["epoch"] + 1
    if val_loss < state["best_val"]:
        out.update(best_val=val_loss, best_epoch=epoch, stop_wait=0)
    else:
        wait = state["stop_wait"] + 1
        out.update(stop_wait=wait, stopped_early=wait >= tp["early_stopping_patience"])
    return out


def history_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    return buf.getvalue()
