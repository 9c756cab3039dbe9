"""`jetad hls` on tiny real files (tests/stages/conftest.py): hls4ml projects of small parts and
of the whole encoder, emulated and compared with QKeras; the same bytes on a rerun; the errors a
user meets with wrong inputs."""

from __future__ import annotations

import json
import shutil

import pytest

pytestmark = pytest.mark.build  # g++ compiles of hls4ml projects


def test_hls_emulates_parts_bit_exact_per_group(hls_done, hls_parts):
    rep = json.loads((hls_done / "fpga" / "emulation.json").read_text())
    parts = {(r["mode"], r["part"]): r for r in rep["parts"]}
    assert set(parts) == {("layer", p) for p in hls_parts} | {("block", p) for p in hls_parts} \
        | {("whole", "encoder")}
    for r in parts.values():
        assert r["n"] == 80 and r["per_group"] is True
        assert (hls_done / r["project_dir"] / "build_lib.sh").is_file()
        # the emulation library (it embeds the project's absolute path) is not left behind
        assert not list((hls_done / r["project_dir"]).rglob("*.so"))
    # a grouped conv alone, emulated as one conv per group: bit-exact against the
    # block-diagonal QKeras layer
    conv, heads = parts[("layer", "conv1_b2_0")], parts[("layer", "heads")]
    assert conv["max_abs_diff"] == 0.0 and heads["max_abs_diff"] == 0.0
    assert conv["fraction_equal"] == 1.0
    assert conv["extension_layers"] == []
    table = (hls_done / "fpga" / "emulation.md").read_text()
    assert "| layer | conv1_b2_0 | 80 | 0 | 100.00% |" in table


def activation_step(model, name: str) -> float:
    """One step of a QKeras activation's output grid: 2^-(bits - integer - sign)."""
    q = model.get_layer(name).quantizer
    return 2.0 ** -(q.bits - q.integer - 1)


def test_instance_norm_block_within_one_step_of_its_activation(hls_done):
    """README: a block with jetad's instance-norm extension layer differs from QKeras' float
    GroupNormalization by at most one step of the quantized activation after it (2^-9)."""
    from jetad.models.reduced_encoder import load_qmodel

    model = load_qmodel(hls_done / "quantized" / "qencoder.h5")
    step = activation_step(model, "conv1_b2_0_act")
    assert step == 2.0 ** -9  # quantized_relu(16, 6) with a negative slope: 9 fraction bits
    rep = json.loads((hls_done / "fpga" / "emulation.json").read_text())
    block = next(r for r in rep["parts"] if (r["mode"], r["part"]) == ("block", "conv1_b2_0"))
    assert block["extension_layers"] == ["conv1_b2_0_norm"]
    assert block["max_abs_diff"] <= step
    # a step now and then (README: 0.4-0.9% of the outputs), not a different computation
    assert block["fraction_equal"] >= 0.95


def test_whole_encoder_is_emulated(hls_done):
    """README: the whole encoder is converted and emulated (not only its parts), on every test
    image, and its emulated KL scores are reported beside QKeras'."""
    from jetad.models.reduced_encoder import load_qmodel

    model = load_qmodel(hls_done / "quantized" / "qencoder.h5")
    norms = [la.name for la in model.layers if la.__class__.__name__ == "GroupNormalization"]
    rep = json.loads((hls_done / "fpga" / "emulation.json").read_text())
    whole = next(r for r in rep["parts"] if r["mode"] == "whole")
    assert whole["part"] == "encoder" and whole["n"] == rep["n_images"] == 80
    assert (hls_done / "hls" / "whole" / "encoder" / "build_lib.sh").is_file()
    # every instance norm of the encoder is in it: the steps propagate but stay small
    assert len(norms) > 5 and whole["extension_layers"] == norms
    assert len(whole["max_abs_diff_per_output"]) == 3  # z_categorical, z_mean, z_var
    assert 0.0 <= whole["max_abs_diff"] < 0.1
    kl = rep["kl"]
    for scores in kl.values():
        assert scores["kl_total"]["n_signal"] == 40 and scores["kl_total"]["n_background"] == 40
    assert abs(kl["hls_emulation"]["kl_total"]["auc"] - kl["qkeras"]["kl_total"]["auc"]) < 0.05


def test_hls_refuses_a_float_encoder(qat_done, jetad):
    r = jetad(qat_done, "hls", "--model", "quantized/encoder_float.h5", "--test", "test.h5",
              "--out-dir", "hls_bad", "--report", "bad.json", check=False)
    assert r.returncode != 0
    assert "not quantized" in r.stderr and "jetad qat" in r.stderr
    assert not (qat_done / "bad.json").exists()


def test_hls_names_a_missing_model(qat_done, jetad):
    r = jetad(qat_done, "hls", "--model", "nope.h5", "--out-dir", "h", "--report", "r.json",
              check=False)
    assert r.returncode != 0 and "nope.h5" in r.stderr


def test_hls_rerun_gives_the_same_bytes(hls_done, jetad, file_tree):
    d = hls_done
    # the projects hold their own path: rerun hls in place
    before, report = file_tree(d / "hls"), (d / "fpga" / "emulation.json").read_bytes()
    assert any(k.endswith("keras_model.keras") for k in before)
    shutil.rmtree(d / "hls")
    jetad(d, "hls", "--model", "quantized/qencoder.h5", "--test", "test.h5", "--out-dir", "hls",
          "--report", "fpga/emulation.json", "--table", "fpga/emulation.md")
    after = file_tree(d / "hls")
    assert sorted(after) == sorted(before)
    assert [k for k in before if before[k] != after[k]] == []
    assert (d / "fpga" / "emulation.json").read_bytes() == report
