"""The one-shot search (jetad.models.supernet): the space's size, a candidate of the shared
weights against the standalone network built from them, and a choice that sees no label."""

import inspect

import numpy as np

from jetad.models import particle_ae, supernet
from jetad.models.determinism import setup_tf
from jetad.models.particle_ae import Architecture, Fit
from jetad.models.supernet import SearchSpace

SPACE = SearchSpace(depths=(1, 2, 3), first_widths=(32, 48), widths=(8, 16), latents=(2, 4),
                     batch_norm=True, slope=0.2)


def _data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    feats = np.zeros((n, 30, 4), np.float32)
    k = rng.integers(2, 30, n)
    on = np.arange(30)[None, :] < k[:, None]
    feats[:, :, :3] = rng.normal(0, 0.2, (n, 30, 3)) * on[:, :, None]
    feats[:, :, 3] = on
    return particle_ae.inputs(feats)


def test_the_space_lists_every_candidate_once():
    cands = SPACE.candidates()
    # depth 1: 2 first x 2 latents; depth 2: x 2 widths; depth 3: x 4
    assert SPACE.size() == 2 * 2 * (1 + 2 + 4) == len(cands) == len(set(cands))
    assert {c.depth for c in cands} == {1, 2, 3}
    assert Architecture(48, (16, 8), 4, True, 0.2) in cands


def test_a_candidate_equals_the_standalone_network_of_its_sliced_weights():
    setup_tf(4)
    net = supernet.Supernet(SPACE, seed=4)
    train = _data(200, 1)
    supernet.train_supernet(net, train, Fit(1, 50, 1e-2), seed=4)
    x_cal, x = train[0][:100], _data(20, 2)[0]
    for arch in (Architecture(32, (16, 8), 2, True, 0.2), Architecture(48, (), 4, True, 0.2)):
        stats = net.calibrate(x_cal, arch)
        shared = net.forward(x, arch, stats)[0].numpy()
        model = net.to_model(arch, stats)
        standalone = model(x, training=False).numpy()
        np.testing.assert_allclose(shared, standalone, rtol=1e-5, atol=1e-6)
        assert model.count_params() - 2 * sum(arch.encoder) * 2 == arch.n_params()
    # a narrower candidate does not use the units beyond its width
    wide = net.forward(x, Architecture(48, (16, 8), 4, True, 0.2), None)[0].numpy()
    assert not np.allclose(wide, net.forward(x, Architecture(32, (16, 8), 4, True, 0.2), None)[0].numpy())


def test_training_the_supernet_is_deterministic():
    runs = []
    # one depth, one compiled step: the widths still vary from step to step
    space = SearchSpace(depths=(2,), first_widths=(32, 48), widths=(8, 16), latents=(2, 4),
                        batch_norm=True, slope=0.2)
    for _ in range(2):
        setup_tf(7)
        net = supernet.Supernet(space, seed=7)
        runs.append(supernet.train_supernet(net, _data(120, 3), Fit(2, 40, 1e-2), seed=7))
        runs.append([v.numpy() for v in net.variables])
    assert runs[0] == runs[2]
    for a, b in zip(runs[1], runs[3], strict=True):
        np.testing.assert_array_equal(a, b)


def test_choose_takes_the_smallest_within_tolerance():
    rows = [{"params": 900, "val_loss": 1.00}, {"params": 500, "val_loss": 1.04},
            {"params": 300, "val_loss": 1.06}, {"params": 500, "val_loss": 1.03}]
    assert supernet.choose(rows, 0.05) == 3  # 500 params, the lower loss of the two
    assert supernet.choose(rows, 0.10) == 2
    assert supernet.choose(rows, 0.0) == 0


def test_the_choice_sees_no_label():
    for fn in (supernet.evaluate, supernet.choose, supernet.train_supernet):
        assert not any("label" in p for p in inspect.signature(fn).parameters)
    setup_tf(5)
    net = supernet.Supernet(SPACE, seed=5)
    train, val = _data(150, 5), _data(60, 6)
    supernet.train_supernet(net, train, Fit(1, 50, 1e-2), seed=5)
    rows = supernet.evaluate(net, train, val)
    assert len(rows) == SPACE.size()
    assert [r["params"] for r in rows] == [a.n_params() for a in SPACE.candidates()]
    chosen = supernet.choose(rows, 0.02)
    best = min(r["val_loss"] for r in rows)
    assert rows[chosen]["val_loss"] <= best * 1.02
    assert all(r["params"] >= rows[chosen]["params"] for r in rows if r["val_loss"] <= best * 1.02)
