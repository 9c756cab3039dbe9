"""Iterative magnitude pruning with weight rewinding ([Frankle & Carbin 2019]; rewinding to an
early step instead of the initialization: [Frankle et al. 2020]), the local search of
[McDermott et al.] after its architecture search.

A round removes the fraction `p` of the smallest-magnitude surviving weights of every dense
kernel, sets the survivors back to their values after training step k (the snapshot of
jetad.models.particle_ae.fit), restores every other weight (biases, batch-norm parameters and
statistics) to that snapshot too, and retrains with the mask fixed. Biases and batch-norm
parameters are never pruned: they are few, and a removed bias or scale changes a unit's
output for every input.

Pruning is per layer, not global, as [Frankle & Carbin 2019] did for fully connected nets:
here the first layer is wide and the latent layer narrow, and a global threshold strips the
narrow layers first until the network disconnects (layer collapse; [Tanaka et al. 2020]).
Per layer, every kernel keeps exactly its share. Counts round once per layer and round: after
round k a kernel of n0 weights keeps rint(n0 (1 - p)^k) (numpy's round half to even) of them,
so each layer's sparsity is 1 - (1 - p)^k up to half a weight, and the whole network's up to
half a weight per layer. Ties in magnitude are broken by position (a stable sort), so the
same weights give the same mask.

Stopping rule: rounds go on while the best validation loss (background only) of the
retrained network stays within `tolerance` (relative) of the lowest one seen, the dense
network's included; the first round beyond it stops the search and the last round within it
is the result. `max_rounds` bounds the rounds.

With a `budget` (a stated hardware budget: the largest fraction of the kernels' weights the
result may keep), the rounds before the first one within it run whatever their loss, and the
rule starts at that round: its loss is the lowest seen, the rounds before it do not count. The
result is then within the budget, and among such rounds the loss alone chooses; no label and
no signal jet is used either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jetad.models.particle_ae import Fit, fit, kernels


def survivors(n0: int, p: float, rounds: int) -> int:
    """The weights a kernel of n0 keeps after `rounds` rounds removing the fraction p."""
    return int(np.rint(n0 * (1.0 - p) ** rounds))


def prune_round(weights: dict[str, np.ndarray], masks: dict[str, np.ndarray], p: float,
                rounds: int) -> dict[str, np.ndarray]:
    """The masks after round `rounds` (1 for the first): in each kernel, of the weights its
    mask still keeps, the smallest in magnitude are removed until survivors(size, p, rounds)
    remain. weights and masks map a layer's name to arrays of its kernel's shape."""
    out = {}
    for name, w in weights.items():
        mask = masks[name].astype(bool).ravel()
        keep = min(survivors(mask.size, p, rounds), int(mask.sum()))
        alive = np.flatnonzero(mask)
        order = alive[np.argsort(np.abs(w.ravel()[alive]), kind="stable")]
        new = mask.copy()
        new[order[:len(alive) - keep]] = False
        out[name] = new.reshape(w.shape).astype(np.float32)
    return out


def rewind(model, snapshot: list, masks: dict[str, np.ndarray]) -> None:
    """Every weight of `model` back to `snapshot` (model.get_weights() of the same model), the
    kernels multiplied by their masks."""
    model.set_weights(snapshot)
    for name, var in kernels(model).items():
        if name in masks:
            var.assign(var.numpy() * masks[name])


def nonzero(model) -> dict[str, int]:
    """Non-zero kernel weights and all trainable parameters that are not zero."""
    kern = sum(int(np.count_nonzero(v.numpy())) for v in kernels(model).values())
    total = sum(int(np.count_nonzero(v.numpy())) for v in model.trainable_variables)
    return {"kernel_nonzero": kern, "nonzero": total}


@dataclass(frozen=True)
class Schedule:
    """How IMP prunes: the fraction per round, the rewind step, the stopping tolerance and
    the largest number of rounds."""

    fraction: float
    rewind_step: int
    tolerance: float
    max_rounds: int
    budget: float | None = None  # largest fraction of the kernels' weights kept (None: any)

    def rounds_to_budget(self, sizes: list[int]) -> int:
        """The first round whose kernels of `sizes` weights keep at most `budget` of them (0
        without a budget); ValueError when max_rounds does not reach it."""
        if self.budget is None:
            return 0
        total = sum(sizes)
        for rounds in range(self.max_rounds + 1):
            if sum(survivors(n, self.fraction, rounds) for n in sizes) <= self.budget * total:
                return rounds
        raise ValueError(f"{self.max_rounds} rounds of {self.fraction} keep more than the "
                         f"budget {self.budget} of the kernels' weights")


@dataclass
class Pruned:
    masks: dict[str, np.ndarray]
    weights: list  # model.get_weights() of the kept round
    round: int  # the kept round (0: dense)
    table: list[dict] = field(default_factory=list)  # one row per round run
    dense: list | None = None  # model.get_weights() of the trained dense network (round 0)


def iterative_magnitude_pruning(model, train: tuple, val: tuple, how: Fit, schedule: Schedule,
                                seed: int) -> Pruned:
    """Train `model` densely, then prune, rewind and retrain round after round (see the module
    docstring); the model ends with the kept round's weights. train and val are (x, mask) of
    background jets only."""
    result = fit(model, train, val, how, seed, snapshot_step=schedule.rewind_step)
    if result.snapshot is None:
        raise ValueError(f"rewind step {schedule.rewind_step} is beyond the "
                         f"{_steps(train, how)} training steps")
    snapshot = result.snapshot
    masks = {name: np.ones(v.shape, np.float32) for name, v in kernels(model).items()}
    first = schedule.rounds_to_budget([m.size for m in masks.values()])
    best = min(result.history)
    kept = Pruned(masks, model.get_weights(), 0, [_row(model, masks, 0, best, first == 0)],
                  dense=model.get_weights())
    for rounds in range(1, schedule.max_rounds + 1):
        trained = {name: v.numpy() for name, v in kernels(model).items()}
        masks = prune_round(trained, masks, schedule.fraction, rounds)
        rewind(model, snapshot, masks)
        loss = min(fit(model, train, val, how, seed + rounds, masks=masks).history)
        kept.table.append(_row(model, masks, rounds, loss, rounds >= first))
        if rounds == first:  # the first round within the budget: the rule starts here
            best = loss
        if loss > best * (1.0 + schedule.tolerance) and rounds > first:
            kept.table[-1]["stopped"] = True
            break
        best = min(best, loss)
        kept.masks, kept.weights, kept.round = masks, model.get_weights(), rounds
    model.set_weights(kept.weights)
    return kept


def _steps(train: tuple, how: Fit) -> int:
    return how.epochs * -(-len(train[0]) // how.batch_size)


def _row(model, masks: dict, rounds: int, val_loss: float, in_budget: bool) -> dict:
    """A round's line of the table: its sparsity (of the masks), non-zero counts, loss, and
    whether it is within the budget."""
    total = sum(m.size for m in masks.values())
    kept = sum(int(m.sum()) for m in masks.values())
    return {"round": rounds, "val_loss": val_loss, "sparsity": 1.0 - kept / total,
            "kernel_kept": kept, **nonzero(model), "in_budget": in_budget, "stopped": False}
