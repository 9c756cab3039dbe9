"""Early stopping and the learning-rate schedule of the JointVAE's training
(jetad.models.training) under the capacity objective, whose validation loss moves with the
targets C(t) while they are raised."""

import math

import numpy as np
import pytest

from jetad.models import training
from jetad.sections import Capacity, Train


def _train(tiny_train, **changes) -> Train:
    fields = dict(tiny_train, objective="capacity",
                  capacity=Capacity(gamma=30.0, cont_max=1000.0, disc_max=1.0, epochs=3))
    return Train(**{**fields, **changes})


def _replay(losses, tp, ramp_epochs):
    """The state after each epoch of a run with these validation losses, as train_jointvae
    updates it."""
    state, seen = training.new_state(tp), []
    for epoch, loss in enumerate(losses, start=1):
        state.update(training.epoch_updates(state, loss, tp, epoch >= ramp_epochs))
        state["epoch"] = epoch
        seen.append(dict(state))
        if state["stopped_early"]:
            break
    return seen


def test_the_ramp_epochs_neither_stop_training_nor_lower_the_rate(tiny_train):
    # a loss that grows with the targets during a 3-epoch ramp, then flat
    tp = _train(tiny_train, early_stopping_patience=1, lr_patience=1)
    losses = [10.0, 20.0, 30.0, 30.0, 30.0]
    old = _replay(losses, tp, ramp_epochs=0)  # every epoch compared, as before
    assert len(old) == 2 and old[-1]["stopped_early"] and old[-1]["best_epoch"] == 1
    new = _replay(losses, tp, ramp_epochs=3)
    assert [s["best_epoch"] for s in new] == [1, 2, 3, 3]
    assert [s["stopped_early"] for s in new] == [False, False, False, True]
    assert [s["lr"] for s in new] == [tp.learning_rate] * 3 + [tp.learning_rate * tp.lr_factor]


def test_after_the_ramp_the_best_is_the_lowest_final_target_loss(tiny_train):
    tp = _train(tiny_train, early_stopping_patience=2, lr_patience=5)
    # epoch 1 has the lowest loss of all, but against targets that were not the final ones
    new = _replay([1.0, 9.0, 5.0, 4.0, 4.5, 4.2], tp, ramp_epochs=3)
    assert new[-1]["best_epoch"] == 4 and new[-1]["best_val"] == 4.0
    assert new[-1]["stopped_early"] and new[-1]["epoch"] == 6


@pytest.mark.parametrize("objective, epochs_run, best_epoch", [("capacity", 4, 3), ("beta", 2, 1)])
def test_a_tiny_training_stops_only_after_the_ramp(tmp_path, tiny_train, objective, epochs_run,
                                                   best_epoch):
    """A real training at learning rate 0: the model never changes, so after the ramp the
    validation loss is flat (patience 1 stops one epoch later), while during the ramp the
    target C_cont rises far above the model's KL and the loss grows every epoch. With the
    beta objective (no ramp) the flat loss stops it at epoch 2."""
    import tensorflow as tf

    tp = _train(tiny_train, objective=objective, learning_rate=0.0, weight_decay=0.0,
                early_stopping_patience=1, lr_patience=10, epochs=8, batch_size=16)
    rng = np.random.default_rng(0)
    x = rng.random((48, 40, 40)).astype(np.float32)
    x /= x.sum(axis=(1, 2), keepdims=True)
    _model, state, _ck = training.train_jointvae(tf.constant(x[:32]), tf.constant(x[32:]), tp,
                                                 seed=5, checkpoint_dir=tmp_path / "ck", key="k")
    val = [row["val_loss"] for row in state["history"]]
    assert state["stopped_early"] and state["epoch"] == epochs_run
    assert state["best_epoch"] == best_epoch
    if objective == "capacity":
        assert val[0] < val[1] < val[2] and val[2] == val[3]
    else:
        assert math.isclose(val[0], val[1], rel_tol=0, abs_tol=0)
