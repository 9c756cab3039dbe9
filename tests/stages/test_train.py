"""`jetad train` on tiny real files: its outputs, its errors, a killed run resumed to the same
bits, and Dupont's capacity objective: the latent is made to carry the chosen capacity, where
the thesis' beta = 3000 pushes it to zero."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from jetad.data.images import write_images

JETAD = [sys.executable, "-m", "jetad.cli"]


def test_train_outputs(tiny_trained):
    m = json.loads((tiny_trained / "training_metrics.json").read_text())
    assert m["epochs_run"] == 2 and m["n_train"] == 96 and m["n_val"] == 32
    for part in ("train", "val"):
        assert set(m[part]) == {"loss", "bce", "kl_cont", "kl_disc", "mse", "psnr", "ssim"}
        assert all(np.isfinite(v) for v in m[part].values())
    rows = (tiny_trained / "training_metrics.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("epoch,lr,")
    assert (tiny_trained / "training.pdf").stat().st_size > 1000
    assert (tiny_trained / "model" / "config.json").is_file()
    assert not (tiny_trained / "model.ckpt").exists()  # checkpoints removed after success


def test_tops_in_training_are_an_error(tiny_workdir, jetad):
    p = jetad(tiny_workdir, "train", "--train", "test.h5", "--val", "val.h5", "--model", "m2",
              "--metrics", "m2.json", check=False)
    assert p.returncode == 2 and "60 anomalous jets (label 1) in the training set" in p.stderr


def weight_arrays(model_dir: Path) -> dict[str, np.ndarray]:
    """Every array of a saved model's weight files, by file and HDF5 path."""
    out = {}
    for wfile in sorted(model_dir.glob("*.weights.h5")):
        with h5py.File(wfile) as f:
            f.visititems(lambda name, obj, w=wfile: out.__setitem__(
                f"{w.name}/{name}", obj[...]) if isinstance(obj, h5py.Dataset) else None)
    return out


@pytest.mark.slow  # three training runs in subprocesses
def test_killed_training_resumes_to_the_same_weights_as_an_uninterrupted_run(tiny_workdir):
    """SIGKILL once the epoch-1 checkpoint exists, then rerun: training goes on from epoch 2
    and ends with the very same bits as a run never killed (weights, history, metrics).
    Bit-equality holds because the checkpoint keeps the optimizer's moments and step, the
    shuffling and latent noise are seeded by (seed, epoch, batch) alone, and TensorFlow runs
    with deterministic kernels."""
    d = tiny_workdir
    params = yaml.safe_load((d / "params.yaml").read_text())
    params["train"].update(epochs=3, early_stopping_patience=10)
    (d / "params3.yaml").write_text(yaml.safe_dump(params))
    env = dict(os.environ, JETAD_PARAMS=str(d / "params3.yaml"))

    def train_args(name):
        return [*JETAD, "train", "--train", "train.h5", "--val", "val.h5", "--model", name,
                "--metrics", f"{name}.json", "--checkpoint-dir", f"{name}.ck"]

    subprocess.run(train_args("whole"), cwd=d, env=env, check=True, capture_output=True)
    proc = subprocess.Popen(train_args("resumed"), cwd=d, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    state = d / "resumed.ck" / "state.json"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if state.is_file() and json.loads(state.read_text())["epoch"] >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(state.read_text())["epoch"] == 1
    assert not (d / "resumed").exists() and not (d / "resumed.json").exists()
    p = subprocess.run(train_args("resumed"), cwd=d, env=env, check=True, capture_output=True,
                       text=True)
    assert "resuming from resumed.ck after epoch 1" in p.stderr
    assert "epoch 2/3" in p.stderr and "epoch 3/3" in p.stderr and "epoch 1/3" not in p.stderr
    rows = (d / "resumed.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    assert (d / "resumed.csv").read_bytes() == (d / "whole.csv").read_bytes()
    assert (d / "resumed.json").read_bytes() == (d / "whole.json").read_bytes()
    whole, resumed = weight_arrays(d / "whole"), weight_arrays(d / "resumed")
    assert len(whole) > 10 and list(whole) == list(resumed)
    for name, w in whole.items():
        assert w.tobytes() == resumed[name].tobytes(), name


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
