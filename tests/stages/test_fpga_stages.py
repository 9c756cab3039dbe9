"""qat -> hls -> resources on tiny real files: a tiny trained JointVAE and its score file, the
reduced encoders after one QAT epoch, hls4ml projects of small parts (g++ compiles are slow:
only a grouped conv layer, the same conv as a block with its instance norm, the dense heads)
and of the whole encoder, and the resource table. Plus the errors a user meets with wrong
inputs."""

from __future__ import annotations

import csv
import json
import math
import shutil

import numpy as np
import pytest
import yaml

from jetad.data.images import write_images

pytestmark = pytest.mark.build  # g++ compiles of hls4ml projects

HLS_PARTS = ["conv1_b2_0", "heads"]


@pytest.fixture(scope="module")
def fpga_workdir(tmp_path_factory, fake_jets, jetad, root, tiny_train):
    d = tmp_path_factory.mktemp("fpga")
    write_images(d / "train.h5", fake_jets(64, 0, 1))
    write_images(d / "val.h5", fake_jets(32, 0, 2))
    write_images(d / "test.h5", fake_jets(40, 40, 3))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"] = {**tiny_train, "epochs": 1, "max_train_jets": 64}
    params["score"]["batch_size"] = 64
    params["qat"].update(epochs=1, max_images=64, batch_size=32)
    params["hls"].update(parts=["layer", "block", "whole"], only=HLS_PARTS, n_images=80,
                         batch=20, processes=2)
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    jetad(d, "train", "--train", "train.h5", "--val", "val.h5", "--model", "model",
          "--metrics", "training_metrics.json")
    jetad(d, "score", "--model", "model", "--test", "test.h5", "--out", "scores.h5")
    return d


@pytest.fixture(scope="module")
def qat_done(fpga_workdir, jetad):
    d = fpga_workdir
    jetad(d, "qat", "--train", "train.h5", "--vae", "model", "--test", "test.h5",
          "--scores", "scores.h5", "--out", "quantized", "--metrics", "q/metrics.json",
          "--table", "q/metrics.md", "--roc", "q/roc.pdf", "--energy", "q/energy.csv",
          "--energy-table", "q/energy.md")
    return d


@pytest.fixture(scope="module")
def hls_done(qat_done, jetad):
    d = qat_done
    jetad(d, "hls", "--model", "quantized/qencoder.h5", "--test", "test.h5", "--out-dir", "hls",
          "--report", "fpga/emulation.json", "--table", "fpga/emulation.md")
    return d


def test_qat_writes_models_metrics_and_energy(qat_done):
    d = qat_done
    from jetad.quant.encoder import is_quantized, load_qmodel

    assert is_quantized(load_qmodel(d / "quantized" / "qencoder.h5"))
    assert not is_quantized(load_qmodel(d / "quantized" / "encoder_float.h5"))
    m = json.loads((d / "q" / "metrics.json").read_text())
    assert set(m["kl"]) == {"large JointVAE", "float reduced", "quantized (QKeras)"}
    for per in m["kl"].values():
        assert set(per) == {"kl_disc", "kl_cont", "kl_total"}
        for r in per.values():
            assert 0.0 <= r["auc"] <= 1.0 and 0.0 <= r["tpr_at_fpr_10pct"] <= 1.0
            assert r["n_signal"] == 40 and r["n_background"] == 40
    assert all(math.isfinite(v) for v in m["losses"]["quantized"].values())
    assert m["energy_uj"]["quantized"]["total"] < m["energy_uj"]["float"]["total"]
    table = (d / "q" / "metrics.md").read_text()
    assert "| quantized (QKeras) | KL total |" in table
    assert (d / "q" / "roc.pdf").read_bytes()[:4] == b"%PDF"
    rows = list(csv.DictReader((d / "q" / "energy.csv").open()))
    assert rows[-1]["layer"] == "TOTAL"
    conv = next(r for r in rows if r["layer"] == "conv1_b0_0")
    # QTools counted the grouped conv as ungrouped: real MACs are a quarter of its count
    assert int(conv["macs_qtools"]) == 4 * int(conv["macs"])
    assert float(conv["quantized_energy_pj_real_macs"]) < float(conv["quantized_energy_pj"])


def test_hls_emulates_parts_bit_exact_per_group(hls_done):
    rep = json.loads((hls_done / "fpga" / "emulation.json").read_text())
    parts = {(r["mode"], r["part"]): r for r in rep["parts"]}
    assert set(parts) == {("layer", p) for p in HLS_PARTS} | {("block", p) for p in HLS_PARTS} \
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
    from jetad.quant.encoder import load_qmodel

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
    from jetad.quant.encoder import load_qmodel

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


def test_resources_sources_labelled(hls_done, jetad):
    d = hls_done
    jetad(d, "resources", "--model", "quantized/qencoder.h5", "--out", "fpga/resources.csv",
          "--table", "fpga/resources.md", "--json", "fpga/resources.json")
    rows = list(csv.DictReader((d / "fpga" / "resources.csv").open()))
    sources = {r["source"] for r in rows}
    assert {"analytic", "rho_extrapolated", "thesis_vivado_hls_2020.1"} <= sources
    allowed = {"analytic", "da4ml", "vivado_hls", "rho_extrapolated", "thesis_vivado_hls_2020.1"}
    assert sources <= allowed
    for r in rows:
        assert math.isfinite(float(r["value"])) and float(r["value"]) >= 0
        if r["source"] == "rho_extrapolated":
            assert r["reference"] and float(r["rho"]) > 0
    dsp = {r["layer"]: float(r["value"]) for r in rows
           if r["source"] == "analytic" and r["resource"] == "DSP"}
    assert dsp["conv1_b0_0"] > 0 and "z_mean" in dsp
    pct = next(r for r in rows if r["source"] == "thesis_vivado_hls_2020.1"
               and r["layer"] == "conv2_b0_0" and r["resource"] == "LUT")
    assert float(pct["pct_u250"]) == pytest.approx(358.2, abs=0.1)  # thesis Table 3.5
    assert "final block" in (d / "fpga" / "resources.md").read_text()


def test_hls_refuses_a_float_encoder(qat_done, jetad):
    r = jetad(qat_done, "hls", "--model", "quantized/encoder_float.h5", "--test", "test.h5",
              "--out-dir", "hls_bad", "--report", "bad.json", check=False)
    assert r.returncode != 0
    assert "not quantized" in r.stderr and "jetad qat" in r.stderr
    assert not (qat_done / "bad.json").exists()


def test_hls_and_resources_name_a_missing_model(qat_done, jetad):
    for stage, extra in (("hls", ["--out-dir", "h", "--report", "r.json"]),
                         ("resources", ["--out", "r.csv"])):
        r = jetad(qat_done, stage, "--model", "nope.h5", *extra, check=False)
        assert r.returncode != 0 and "nope.h5" in r.stderr


def test_qat_refuses_scores_of_other_jets(fpga_workdir, tmp_path):
    d = fpga_workdir
    from jetad.analysis.scores import read_score_file, write_score_file

    s = read_score_file(d / "scores.h5")
    keep = np.arange(len(s["label"]) - 1)
    write_score_file(tmp_path / "short.h5", {k: v[keep] for k, v in s["scores"].items()},
                     s["label"][keep], s["jet_mass"][keep])
    from jetad.errors import DataError
    from jetad.quant.report import large_model_scores

    with pytest.raises(DataError, match="short.h5: labels differ"):
        large_model_scores(tmp_path / "short.h5", s["label"])


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_qat_and_hls_reruns_give_the_same_bytes(hls_done, jetad):
    d = hls_done
    jetad(d, "qat", "--train", "train.h5", "--vae", "model", "--test", "test.h5",
          "--scores", "scores.h5", "--out", "quantized_again", "--metrics", "q2/metrics.json")
    first, again = _tree(d / "quantized"), _tree(d / "quantized_again")
    assert sorted(first) == sorted(again) == ["encoder_float.h5", "qencoder.h5"]
    assert [k for k in first if first[k] != again[k]] == []
    m1, m2 = (json.loads((d / f).read_text()) for f in ("q/metrics.json", "q2/metrics.json"))
    assert m1["kl"] == m2["kl"] and m1["energy_uj"] == m2["energy_uj"]

    # the projects hold their own path: rerun hls in place
    before, report = _tree(d / "hls"), (d / "fpga" / "emulation.json").read_bytes()
    assert any(k.endswith("keras_model.keras") for k in before)
    shutil.rmtree(d / "hls")
    jetad(d, "hls", "--model", "quantized/qencoder.h5", "--test", "test.h5", "--out-dir", "hls",
          "--report", "fpga/emulation.json", "--table", "fpga/emulation.md")
    after = _tree(d / "hls")
    assert sorted(after) == sorted(before)
    assert [k for k in before if before[k] != after[k]] == []
    assert (d / "fpga" / "emulation.json").read_bytes() == report
