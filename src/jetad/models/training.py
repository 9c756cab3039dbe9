"""Training of the JointVAE ([Dupont 2018]; [Valente 2022] ch. 3) on the epoch loop of jetad.models.loop,
which the reduced encoders of QAT share. `train_jointvae` adds what a long run needs:
checkpoints every epoch, Keras' ReduceLROnPlateau and EarlyStopping semantics kept in plain
state, and a restart from the last completed epoch. The checkpoint directory is keyed by a
fingerprint of the inputs and the `train:` parameters, so a changed setting starts afresh
instead of resuming into a different experiment.
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
from jetad.analysis import collapse
from jetad.atomic import write_text
from jetad.errors import DataError, JetadError
from jetad.models.loop import batches, run_epoch
from jetad.sections import Train

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
            h.update(json.dumps(p, sort_keys=True, default=_plain).encode())
    return h.hexdigest()[:16]


def _plain(value):
    """A typed params section as its mapping (jetad.sections), anything else as text."""
    return value.asdict() if hasattr(value, "asdict") else str(value)


class Checkpointer:
    """Epoch checkpoints in one directory: state.json points at the newest complete one."""

    def __init__(self, directory: Path, key: str, objects: dict, best_objects: dict):
        # heavy: TensorFlow starts only in the stages that build or run a model
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
        # heavy: TensorFlow starts only in the stages that build or run a model
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
    # heavy: TensorFlow starts only in the stages that build or run a model
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


def collapse_on(model, images, batch_size: int) -> dict:
    """Active latent dimensions and reconstruction spread ratio (jetad.analysis.collapse) of
    the trained model on `images`, from the latent means (no sampling)."""
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


def epoch_updates(state: dict, val_loss: float, tp: Train, ramp_done: bool = True) -> dict:
    """ReduceLROnPlateau(factor, patience) and EarlyStopping(patience) on the validation
    loss, with Keras' semantics, kept in plain state so they survive a restart.

    Under the capacity objective the validation loss is measured against the targets C(t)
    reached so far, so while they still rise (`ramp_done` false) two epochs' losses are not
    comparable: neither schedule counts, the newest epoch stands as the best one, and the
    best loss stays unset so that the first epoch at the final targets starts the count."""
    epoch = state["epoch"] + 1
    if not ramp_done:
        return {"plateau_best": math.inf, "plateau_wait": 0, "lr": state["lr"],
                "best_val": math.inf, "best_epoch": epoch, "stop_wait": 0}
    out = {}
    if val_loss < state["plateau_best"] - PLATEAU_MIN_DELTA:
        out.update(plateau_best=val_loss, plateau_wait=0, lr=state["lr"])
    else:
        wait = state["plateau_wait"] + 1
        lr = state["lr"]
        if wait >= tp.lr_patience:
            lr, wait = lr * tp.lr_factor, 0
        out.update(plateau_wait=wait, lr=lr)
    if val_loss < state["best_val"]:
        out.update(best_val=val_loss, best_epoch=epoch, stop_wait=0)
    else:
        wait = state["stop_wait"] + 1
        out.update(stop_wait=wait, stopped_early=wait >= tp.early_stopping_patience)
    return out


def history_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    return buf.getvalue()


def shuffled(n: int, seed: int) -> np.ndarray:
    """The order of an epoch's n images: a permutation fixed by `seed`."""
    return np.random.default_rng(seed).permutation(n)


def new_state(tp: Train) -> dict:
    return {"epoch": 0, "history": [], "lr": tp.learning_rate, "best_val": math.inf,
            "best_epoch": None, "plateau_best": math.inf, "plateau_wait": 0, "stop_wait": 0,
            "stopped_early": False, "train_seconds": 0.0}


def train_jointvae(x_train, x_val, tp: Train, seed: int, checkpoint_dir: str | Path,
                   key: str):
    """Fit a JointVAE of the `train:` parameters `tp` on the image tensors x_train, x_val,
    resuming from `checkpoint_dir` when it holds a run of the same `key`. Returns the model at
    its best validation epoch and the final state (history, best epoch, timings); the
    checkpoints stay until the caller has written its outputs (`Checkpointer.clear`)."""
    # heavy: the losses import TensorFlow
    from jetad.models import losses

    ckdir = Path(checkpoint_dir)
    model, optimizer, epoch_var, ck = _new_run(tp, int(x_train.shape[1]), ckdir, key)
    state = ck.load_state() or new_state(tp)
    if state["epoch"]:
        logger.info("resuming from %s after epoch %d", ckdir, state["epoch"])
    optimizer.learning_rate.assign(state["lr"])
    objective = losses.Objective.from_params(tp)
    epochs = _Epochs(model, optimizer, objective, x_train, x_val, tp.batch_size, seed)
    if objective.kind == "capacity":
        logger.info("capacity objective: gamma %g, C_cont 0 -> %g nats, C_disc 0 -> %g nats over "
                    "%d epochs", objective.gamma, objective.cont_max, objective.disc_max,
                    objective.ramp_epochs)
    while state["epoch"] < tp.epochs and not state["stopped_early"]:
        epoch = state["epoch"] + 1
        tr, va, seconds = epochs.run(epoch)
        if not all(math.isfinite(v) for v in (*tr.values(), *va.values())):
            raise JetadError(
                f"training diverged in epoch {epoch} (train loss {tr['loss']}, val loss "
                f"{va['loss']}); lower train.learning_rate or train.beta. The checkpoint in "
                f"{ckdir} still holds epoch {epoch - 1}."
            )
        # the capacity targets of this epoch's validation are final from the ramp's last epoch
        ramp_done = objective.kind != "capacity" or epoch >= objective.ramp_epochs
        row, is_best = _record_epoch(state, epoch, tr, va, seconds, tp, ramp_done)
        epoch_var.assign(epoch)
        optimizer.learning_rate.assign(state["lr"])
        state = ck.save(state, epoch, is_best)
        logger.info(
            "epoch %d/%d: %.1f s (%.1f images/s), train loss %.4g, val loss %.4g "
            "(bce %.4g, kl_cont %.3g, kl_disc %.3g), lr %.3g",
            epoch, tp.epochs, seconds, epochs.n_train / seconds, tr["loss"], va["loss"],
            va["bce"], va["kl_cont"], va["kl_disc"], row["lr"],
        )
    ck.restore_best(state)
    return model, state, ck


def _new_run(tp: Train, npix: int, ckdir: Path, key: str):
    """(model, optimizer, epoch counter, Checkpointer) of a new JointVAE of `tp`."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf
    import tf_keras as keras

    from jetad.models.jointvae import JointVAE, JointVAEConfig

    cfg = JointVAEConfig.from_params(tp, npix)
    model = JointVAE(cfg)
    counts = model.param_counts()
    logger.info("JointVAE width %.3g: encoder %d, decoder %d parameters",
                cfg.width, counts["encoder"], counts["decoder"])
    optimizer = keras.optimizers.AdamW(
        learning_rate=tp.learning_rate, weight_decay=tp.weight_decay
    )
    optimizer.build(model.trainable_variables)
    epoch_var = tf.Variable(0, dtype=tf.int64)
    ck = Checkpointer(
        ckdir, key,
        {"encoder": model.encoder, "decoder": model.decoder, "optimizer": optimizer,
         "epoch": epoch_var},
        {"encoder": model.encoder, "decoder": model.decoder},
    )
    return model, optimizer, epoch_var, ck


class _Epochs:
    """An epoch of training and its validation, on the compiled steps of `make_steps`."""

    def __init__(self, model, optimizer, objective, x_train, x_val, batch_size: int, seed: int):
        self.train_step, self.eval_step = make_steps(model, optimizer, objective)
        self.x_train, self.x_val, self.bs, self.seed = x_train, x_val, batch_size, seed
        self.n_train = int(x_train.shape[0])
        self.per_epoch = -(-self.n_train // batch_size)
        self.ramp = objective.ramp_epochs * self.per_epoch

    def seeded(self, step, epoch, progress):
        """step(i, x) of batch i: the seed makes the latent noise reproducible, `progress`
        (a function of the epoch and batch only, so a resumed run sees the same targets)
        moves the capacity objective's targets without retracing."""
        # heavy: TensorFlow starts only in the stages that build or run a model
        import tensorflow as tf

        seed = self.seed
        return lambda i, x: step(x, tf.constant([seed % (2**31 - 1), epoch * 1_000_003 + i],
                                                tf.int32),
                                 tf.constant(progress(i), tf.float32))

    def run(self, epoch: int) -> tuple[dict, dict, float]:
        """(training metrics, validation metrics, seconds of training) of `epoch`."""
        ramp, per_epoch = self.ramp, self.per_epoch
        t0 = time.perf_counter()
        done = (epoch - 1) * per_epoch
        tr = run_epoch(self.seeded(self.train_step, epoch, lambda i, d=done: (d + i) / ramp),
                       batches(self.x_train, self.bs, shuffled(self.n_train, self.seed + epoch)),
                       METRICS)
        seconds = time.perf_counter() - t0
        # validated against the targets reached at the end of this epoch
        va = run_epoch(self.seeded(self.eval_step, 0, lambda _i, e=epoch: e * per_epoch / ramp),
                       batches(self.x_val, self.bs), METRICS)
        return tr, va, seconds


def _record_epoch(state: dict, epoch: int, tr: dict, va: dict, seconds: float, tp: Train,
                  ramp_done: bool) -> tuple[dict, bool]:
    """Add `epoch` to `state` (its history row, time, the schedules' updates); returns the row
    and whether the epoch is the best so far."""
    # no timings in the outputs: they would change the bytes of every rerun
    row = {"epoch": epoch, "lr": state["lr"],
           **{f"train_{k}": v for k, v in tr.items()},
           **{f"val_{k}": v for k, v in va.items()}}
    state["history"].append(row)
    state["train_seconds"] += seconds
    state.update(epoch_updates(state, va["loss"], tp, ramp_done))
    state["epoch"] = epoch
    return row, state["best_epoch"] == epoch


def summary(model, state: dict, x_val, batch_size: int, n_train: int) -> dict:
    """Best-epoch metrics, sizes and collapse measures of a finished run (training_metrics)."""
    best = next(r for r in state["history"] if r["epoch"] == state["best_epoch"])
    counts = model.param_counts()
    return {
        "best_epoch": state["best_epoch"], "epochs_run": state["epoch"],
        "stopped_early": state["stopped_early"], "n_train": n_train,
        "n_val": int(x_val.shape[0]),
        "params_encoder": counts["encoder"], "params_decoder": counts["decoder"],
        "width": model.cfg.width,
        "train": {k: best[f"train_{k}"] for k in METRICS},
        "val": {k: best[f"val_{k}"] for k in METRICS},
        "collapse": collapse_on(model, x_val, batch_size),
    }

