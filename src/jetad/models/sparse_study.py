"""The framework of [McDermott et al.] end to end on background jets: a one-shot search
over dense particle autoencoders (jetad.models.supernet), the chosen architecture trained
afresh, then iterative magnitude pruning with rewinding (jetad.models.pruning). Every choice
is made on the validation loss of background jets: nothing here takes a label or a signal jet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetad.errors import ConfigError
from jetad.models.determinism import setup_tf
from jetad.models.particle_ae import Architecture, Fit, build
from jetad.models.pruning import Pruned, Schedule, iterative_magnitude_pruning
from jetad.models.supernet import SearchSpace, Supernet, choose, evaluate, train_supernet
from jetad.sections import Sparse

# what the table of the search means and how it was read, for the metrics file
SEARCH_RULE = ("the fewest parameters among the candidates whose validation background loss "
               "is within sparse.search_tolerance of the lowest")


@dataclass
class Study:
    model: object  # the pruned Keras model (jetad.models.particle_ae.build)
    architecture: Architecture
    search: list[dict]  # one row per candidate (jetad.models.supernet.evaluate)
    chosen: int  # its row
    supernet_history: list[float]
    pruned: Pruned


def space_of(sp: Sparse) -> SearchSpace:
    return SearchSpace(tuple(sp.depths), tuple(sp.first_widths), tuple(sp.widths),
                       tuple(sp.latents), sp.batch_norm, sp.leaky_slope)


def check_rewind(sp: Sparse, n_train: int) -> None:
    """The rewind step must be within one training (ConfigError naming the key)."""
    steps = sp.epochs * -(-n_train // sp.batch_size)
    if sp.rewind_step > steps:
        raise ConfigError(f"sparse.rewind_step {sp.rewind_step} is beyond the {steps} steps of "
                          f"a training ({sp.epochs} epochs of {n_train} jets in batches of "
                          f"{sp.batch_size})")


def check_budget(sp: Sparse) -> None:
    """sparse.prune_max_rounds must reach sparse.prune_budget (ConfigError naming the keys);
    each layer rounds its count to the nearest weight, which the pruning checks again."""
    if sp.prune_budget is not None and (1 - sp.prune_fraction) ** sp.prune_max_rounds > \
            sp.prune_budget:
        need = int(np.ceil(np.log(sp.prune_budget) / np.log(1 - sp.prune_fraction)))
        raise ConfigError(f"sparse.prune_budget {sp.prune_budget} needs {need} rounds of "
                          f"sparse.prune_fraction {sp.prune_fraction}, sparse.prune_max_rounds "
                          f"is {sp.prune_max_rounds}")


def run_study(train: tuple, val: tuple, sp: Sparse, seed: int, logger=None) -> Study:
    """Search, train, prune on train = (x, mask) and val = (x, mask), background jets only
    (jetad.models.particle_ae.inputs); seeded by `seed`."""
    check_rewind(sp, len(train[0]))
    check_budget(sp)
    space = space_of(sp)
    setup_tf(seed)
    net = Supernet(space, seed)
    history = train_supernet(net, train, Fit(sp.supernet_epochs, sp.batch_size,
                                             sp.learning_rate), seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 53]))
    pick = np.sort(rng.permutation(len(train[0]))[:sp.calibration_jets])
    rows = evaluate(net, (train[0][pick], train[1][pick]), val)
    chosen = choose(rows, sp.search_tolerance)
    arch = space.candidates()[chosen]
    if logger:
        logger.info("search: %d candidates, chose %s (%d parameters, val loss %.4g; lowest "
                    "%.4g)", len(rows), arch.label(), rows[chosen]["params"],
                    rows[chosen]["val_loss"], min(r["val_loss"] for r in rows))
    setup_tf(seed + 1)
    model = build(arch)
    schedule = Schedule(sp.prune_fraction, sp.rewind_step, sp.prune_tolerance,
                        sp.prune_max_rounds, sp.prune_budget)
    pruned = iterative_magnitude_pruning(model, train, val, Fit(sp.epochs, sp.batch_size,
                                                                sp.learning_rate),
                                         schedule, seed + 1)
    if logger:
        for row in pruned.table:
            logger.info("pruning round %d: sparsity %.3f, %d non-zero parameters, val loss "
                        "%.4g%s%s", row["round"], row["sparsity"], row["nonzero"],
                        row["val_loss"], "" if row["in_budget"] else " (over the budget)",
                        " (stopped)" if row["stopped"] else "")
    return Study(model, arch, rows, chosen, history, pruned)
