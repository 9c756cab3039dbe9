"""`jetad train` with Dupont's capacity objective on tiny real files: the latent is made to
carry the chosen capacity, where the thesis' beta = 3000 pushes it to zero."""

import json

import pytest
import yaml

from jetad.data.images import write_images


@pytest.fixture
def train_run(root, tiny_train, jetad):
    """train_run(d, name, **train): `jetad train` in d with these train parameters; its
    training_metrics."""

    def run(d, name, **train):
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["train"] = {**tiny_train, "epochs": 3, "max_train_jets": 128, **train}
        (d / f"{name}.yaml").write_text(yaml.safe_dump(params))
        jetad(d, "train", "--params", f"{name}.yaml", "--train", "train.h5", "--val", "val.h5",
              "--model", f"{name}_model", "--metrics", f"{name}.json", "--history",
              f"{name}.csv")
        return json.loads((d / f"{name}.json").read_text())

    return run


@pytest.mark.slow  # two three-epoch trainings
def test_capacity_objective_fills_the_latent_where_beta_3000_collapses_it(tmp_path, fake_jets,
                                                                          tiny_train, train_run):
    write_images(tmp_path / "train.h5", fake_jets(128, 0, 1))
    write_images(tmp_path / "val.h5", fake_jets(32, 0, 2))
    cap = train_run(tmp_path, "capacity", objective="capacity",
                 capacity={"gamma": 10.0, "cont_max": 3.0, "disc_max": 0.5, "epochs": 2})
    beta = train_run(tmp_path, "beta", beta=3000.0)
    # measured (seeded): capacity KL_cont 2.57 / KL_disc 0.73 nats on validation after 3 epochs,
    # beta = 3000 0.37 / 0.04; the margins leave room for another CPU's rounding
    assert 1.5 < cap["val"]["kl_cont"] < 4.5
    assert 0.2 < cap["val"]["kl_disc"] < 1.0
    assert beta["val"]["kl_cont"] < cap["val"]["kl_cont"] / 4
    assert beta["val"]["kl_disc"] < cap["val"]["kl_disc"] / 4
    # the collapse measures of training_metrics.json see the same
    for m in (cap, beta):
        assert m["collapse"]["latent_dims"] == tiny_train["latent_cont"]
        assert len(m["collapse"]["kl_per_dim"]) == tiny_train["latent_cont"]
        assert m["collapse"]["spread_ratio"] > 0.0  # finite, not NaN
    # (3 tiny epochs do not finish the collapse: beta's 8 dimensions still hold ~0.05 nats each)
    assert cap["collapse"]["active_dims"] >= beta["collapse"]["active_dims"]
    assert sum(cap["collapse"]["kl_per_dim"]) > 4 * sum(beta["collapse"]["kl_per_dim"])
