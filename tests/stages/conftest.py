"""The FPGA chain on tiny real files, built once per session for tests/stages/test_qat.py,
test_hls.py and test_resources.py: a tiny trained JointVAE and its score file, the reduced
encoders after one QAT epoch, and hls4ml projects of small parts (g++ compiles are slow: only a
grouped conv layer, the same conv as a block with its instance norm, the dense heads) and of the
whole encoder."""

from __future__ import annotations

import pytest
import yaml

from jetad.data.images import write_images

HLS_PARTS = ("conv1_b2_0", "heads")


@pytest.fixture(scope="session")
def hls_parts():
    """The layer and block parts `hls_done` converts (`hls.only`)."""
    return HLS_PARTS


@pytest.fixture(scope="session")
def fpga_workdir(tmp_path_factory, fake_jets, jetad, root, tiny_train):
    d = tmp_path_factory.mktemp("fpga")
    write_images(d / "train.h5", fake_jets(64, 0, 1))
    write_images(d / "val.h5", fake_jets(32, 0, 2))
    write_images(d / "test.h5", fake_jets(40, 40, 3))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"] = {**tiny_train, "epochs": 1, "max_train_jets": 64}
    params["score"]["batch_size"] = 64
    params["qat"].update(epochs=1, max_images=64, batch_size=32)
    params["hls"].update(parts=["layer", "block", "whole"], only=list(HLS_PARTS), n_images=80,
                         batch=20, processes=2)
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    jetad(d, "train", "--train", "train.h5", "--val", "val.h5", "--model", "model",
          "--metrics", "training_metrics.json")
    jetad(d, "score", "--model", "model", "--test", "test.h5", "--val", "val.h5",
          "--out", "scores.h5")
    return d


@pytest.fixture(scope="session")
def qat_done(fpga_workdir, jetad):
    d = fpga_workdir
    jetad(d, "qat", "--train", "train.h5", "--vae", "model", "--test", "test.h5",
          "--scores", "scores.h5", "--out", "quantized", "--metrics", "q/metrics.json",
          "--table", "q/metrics.md", "--roc", "q/roc.pdf", "--energy", "q/energy.csv",
          "--energy-table", "q/energy.md", "--weights-figure", "q/weights.pdf")
    return d


@pytest.fixture(scope="session")
def hls_done(qat_done, jetad):
    d = qat_done
    jetad(d, "hls", "--model", "quantized/qencoder.h5", "--test", "test.h5", "--out-dir", "hls",
          "--report", "fpga/emulation.json", "--table", "fpga/emulation.md")
    return d


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="session")
def file_tree():
    """file_tree(root): {path relative to root: bytes} of every file under root."""
    return _tree
