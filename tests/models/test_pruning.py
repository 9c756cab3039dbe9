"""Iterative magnitude pruning with rewinding (jetad.models.pruning): the sparsity after k
rounds, which weights go, the rewind, and a short real run of rounds."""

import numpy as np
import pytest

from jetad.models import particle_ae, pruning
from jetad.models.determinism import setup_tf
from jetad.models.particle_ae import Architecture, Fit

SHAPES = {"enc0": (90, 64), "enc1": (64, 7), "latent": (7, 3), "out": (3, 90)}


@pytest.mark.parametrize("p", [0.2, 0.5, 0.37])
def test_sparsity_after_k_rounds_is_one_minus_the_kept_fraction_to_the_k(p):
    rng = np.random.default_rng(0)
    masks = {n: np.ones(s, np.float32) for n, s in SHAPES.items()}
    total = sum(int(np.prod(s)) for s in SHAPES.values())
    for k in range(1, 7):
        weights = {n: rng.normal(size=s).astype(np.float32) for n, s in SHAPES.items()}
        masks = pruning.prune_round(weights, masks, p, k)
        for name, shape in SHAPES.items():
            n0 = int(np.prod(shape))
            kept = int(masks[name].sum())
            # each layer rounds once: within half a weight of n0 (1 - p)^k
            assert kept == int(np.rint(n0 * (1 - p) ** k))
            assert abs(kept - n0 * (1 - p) ** k) <= 0.5
        sparsity = 1 - sum(int(m.sum()) for m in masks.values()) / total
        assert abs(sparsity - (1 - (1 - p) ** k)) <= 0.5 * len(SHAPES) / total


def test_a_round_removes_the_smallest_surviving_magnitudes():
    w = {"a": np.float32([[0.1, -3.0, 0.2, 5.0, -0.05, 1.0]])}
    first = pruning.prune_round(w, {"a": np.ones((1, 6), np.float32)}, 0.5, 1)
    assert first["a"].tolist() == [[0, 1, 0, 1, 0, 1]]
    # the second round ranks only the survivors, with the weights they have now
    w2 = {"a": np.float32([[9.0, -0.5, 9.0, 4.0, 9.0, 2.0]])}
    second = pruning.prune_round(w2, first, 0.5, 2)  # rint(6 * 0.25) = 2 kept
    assert second["a"].tolist() == [[0, 0, 0, 1, 0, 1]]


def test_survivor_counts_round_half_to_even():
    assert pruning.survivors(10, 0.2, 1) == 8 and pruning.survivors(10, 0.25, 1) == 8  # 7.5 -> 8
    assert pruning.survivors(9, 0.5, 1) == 4  # 4.5 -> 4: half to even


def _model_and_data(seed: int):
    setup_tf(seed)
    rng = np.random.default_rng(seed)
    feats = np.zeros((160, 30, 4), np.float32)
    feats[:, :12, :3] = rng.normal(0, 0.2, (160, 12, 3))
    feats[:, :12, 3] = 1
    x = particle_ae.inputs(feats)
    train, val = tuple(a[:120] for a in x), tuple(a[120:] for a in x)
    return particle_ae.build(Architecture(16, (), 4, True, 0.3)), train, val


def test_rewind_restores_the_snapshot_of_the_survivors_exactly():
    model, train, val = _model_and_data(1)
    result = particle_ae.fit(model, train, val, Fit(1, 40, 1e-2), 1, snapshot_step=1)
    trained = {n: v.numpy() for n, v in particle_ae.kernels(model).items()}
    masks = pruning.prune_round(trained, {n: np.ones_like(w) for n, w in trained.items()},
                                0.3, 1)
    pruning.rewind(model, result.snapshot, masks)
    names = [v.name for v in model.weights]
    for name, now, then in zip(names, model.get_weights(), result.snapshot, strict=True):
        layer = name.split("/")[0]
        if name.endswith("kernel:0"):
            np.testing.assert_array_equal(now, then * masks[layer])
            assert not np.array_equal(now, then)  # something was removed
        else:
            np.testing.assert_array_equal(now, then)
    # the snapshot is not the trained state: training moved on after step 1
    assert not np.array_equal(trained["enc0"], result.snapshot[0])


def test_imp_rounds_keep_pruned_weights_at_zero_and_tabulate_sparsity():
    model, train, val = _model_and_data(2)
    schedule = pruning.Schedule(fraction=0.5, rewind_step=1, tolerance=1e9, max_rounds=2)
    out = pruning.iterative_magnitude_pruning(model, train, val, Fit(2, 40, 1e-2), schedule, 2)
    assert [r["round"] for r in out.table] == [0, 1, 2] and out.round == 2
    total = sum(int(np.prod(v.shape)) for v in particle_ae.kernels(model).values())
    assert abs(out.table[2]["sparsity"] - 0.75) <= 0.5 * 4 / total
    for name, var in particle_ae.kernels(model).items():
        assert np.all(var.numpy()[out.masks[name] == 0] == 0.0)
    assert out.table[2]["kernel_nonzero"] <= out.table[2]["kernel_kept"]


def test_imp_stops_at_the_first_round_beyond_the_tolerance():
    model, train, val = _model_and_data(3)
    # a tolerance below -1 makes any loss too high: round 1 runs, stops, the dense net is kept
    schedule = pruning.Schedule(fraction=0.5, rewind_step=0, tolerance=-2.0, max_rounds=3)
    out = pruning.iterative_magnitude_pruning(model, train, val, Fit(1, 40, 1e-2), schedule, 3)
    assert [r["round"] for r in out.table] == [0, 1] and out.table[1]["stopped"]
    assert out.round == 0 and all(m.all() for m in out.masks.values())
    assert np.count_nonzero(model.get_layer("enc0").kernel.numpy()) == 90 * 16


def test_the_budget_is_met_first_at_the_round_its_sparsity_reaches():
    sizes = [int(np.prod(s)) for s in SHAPES.values()]
    schedule = pruning.Schedule(fraction=0.2, rewind_step=0, tolerance=0.05, max_rounds=12,
                                budget=0.1)
    first = schedule.rounds_to_budget(sizes)
    assert first == 11  # 0.8^10 = 0.107, 0.8^11 = 0.086

    def kept(k):
        return sum(pruning.survivors(n, 0.2, k) for n in sizes) / sum(sizes)

    assert kept(first) <= 0.1 < kept(first - 1)
    assert pruning.Schedule(0.2, 0, 0.05, 12).rounds_to_budget(sizes) == 0  # no budget
    with pytest.raises(ValueError, match="keep more than the budget 0.1"):
        pruning.Schedule(0.2, 0, 0.05, 10, budget=0.1).rounds_to_budget(sizes)


def test_imp_prunes_to_the_budget_whatever_the_loss_then_stops_by_it():
    model, train, val = _model_and_data(4)
    # any loss is too high (tolerance below -1): without a budget round 1 would stop the
    # search; with 0.3 rounds 1 and 2 (0.5^2 = 0.25 kept) run, round 3 stops, 2 is kept
    schedule = pruning.Schedule(fraction=0.5, rewind_step=0, tolerance=-2.0, max_rounds=4,
                                budget=0.3)
    out = pruning.iterative_magnitude_pruning(model, train, val, Fit(1, 40, 1e-2), schedule, 4)
    assert [r["round"] for r in out.table] == [0, 1, 2, 3]
    assert [r["in_budget"] for r in out.table] == [False, False, True, True]
    assert [r["stopped"] for r in out.table] == [False, False, False, True]
    assert out.round == 2 and 1 - out.table[2]["sparsity"] <= 0.3
    kept = sum(int(m.sum()) for m in out.masks.values())
    assert sum(np.count_nonzero(v.numpy()) for v in particle_ae.kernels(model).values()) <= kept
