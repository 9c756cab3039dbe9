"""The distilled trigger student (jetad.trigger.distill, jetad distill): real QKeras, real
tensorflow-model-optimization pruning, real da4ml, Verilator and yosys on a small student."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import yaml

from jetad.analysis.metrics import signal_aucs
from jetad.data.images import write_images
from jetad.errors import JetadError

needs_tools = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("verilator", "g++", "yosys")),
    reason="verilator, g++ and yosys (Debian: apt-get install verilator yosys) not on PATH")

SMALL = {"pool": 8, "conv": [2], "dense": [4], "bits": 8, "act_integer": 1, "input_bits": 12, "epochs": 2,
         "batch_size": 32, "sparsity_scan": [0.0, 0.5], "prune_epochs": 2, "bits_scan": []}


def test_pool_images_sums_blocks():
    from jetad.trigger import distill as ds

    rng = np.random.default_rng(0)
    img = rng.random((3, 8, 8)).astype(np.float32)
    got = ds.pool_images(img, 4)
    assert got.shape == (3, 2, 2, 1)
    assert np.isclose(got[1, 1, 0, 0], img[1, 4:, :4].sum())
    assert np.allclose(got.sum(axis=(1, 2, 3)), img.sum(axis=(1, 2)), rtol=1e-6)
    with pytest.raises(JetadError, match="does not divide"):
        ds.pool_images(img, 3)


def test_per_layer_bits_must_match_the_layers():
    from jetad.trigger import distill as ds

    cfg = ds.StudentConfig(conv=[4], dense=[8, 4], bits=[8, 6, 6, 8])
    assert cfg.layer_bits() == [8, 6, 6, 8]
    with pytest.raises(JetadError, match="3 widths for 4 kernel layers"):
        ds.StudentConfig(conv=[4], dense=[8, 4], bits=[8, 6, 6]).layer_bits()


def test_choose_sparsity_keeps_the_largest_within_tolerance():
    from jetad.trigger import distill as ds

    scan = [{"sparsity": 0.0, "val_loss": 1.0}, {"sparsity": 0.5, "val_loss": 1.04},
            {"sparsity": 0.75, "val_loss": 1.2}, {"sparsity": 0.9, "val_loss": 1.03}]
    assert ds.choose_sparsity(scan, 0.05)["sparsity"] == 0.9
    assert ds.choose_sparsity(scan[:3], 0.05)["sparsity"] == 0.5
    assert ds.choose_sparsity(scan[:3], 0.0)["sparsity"] == 0.0


def test_target_is_standardized_log_kl():
    from jetad.trigger import distill as ds

    kl = np.array([1e-3, 1e-2, 1e-1, 0.0])
    t = ds.Target.fit(kl)
    y = t(kl)
    assert abs(float(y.mean())) < 1e-5 and abs(float(y.std()) - 1.0) < 1e-5
    assert np.all(np.diff(y[:3]) > 0) and y[3] < y[0]  # monotone: the AUC is the teacher's


def _small_student():
    from jetad.trigger import distill as ds

    cfg = ds.StudentConfig.from_params(SMALL)
    rng = np.random.default_rng(1)
    # jet-like images: pT fractions summing to 1, spread so that the pooled pixels vary
    img = rng.random((96, 40, 40)) ** 8
    img /= img.sum(axis=(1, 2), keepdims=True)
    x = ds.pool_images(img.astype(np.float32), cfg.pool)
    y = ((x[:, 2, 2, 0] - x[:, 0, 0, 0]) * 40 + rng.normal(0, 0.1, len(x))).astype(np.float32)
    return cfg, x, y


def test_tfmot_prunes_the_qkeras_student():
    """prune_low_magnitude wraps QConv2D and QDense; after stripping, the student is still
    QKeras and half of its quantized weights are zero."""
    from jetad.trigger import distill as ds

    cfg, x, y = _small_student()
    model = ds.build(cfg, x.shape[1:])
    ds.fit(model, x, y, x, y, cfg, 1)
    pruned, got = ds.prune(model, x, y, x, y, cfg, 0.5)
    assert np.isfinite(got["val_loss"])
    assert {"QConv2D", "QDense"} <= {type(la).__name__ for la in pruned.layers}
    assert 0.45 <= ds.kernel_sparsity(pruned) <= 0.75
    assert ds.kernel_sparsity(model) < 0.3  # the original is untouched


@pytest.mark.build  # Verilator's C++ build and yosys
@needs_tools
def test_student_netlist_equals_qkeras_bit_for_bit(tmp_path):
    from jetad.trigger import distill as ds

    cfg, x, _y = _small_student()
    model = ds.build(cfg, x.shape[1:])
    # random weights, half of them zero (as pruned), positive biases: every relu passes
    # values, so the comparison covers every layer (a 2-epoch fit of so small a net can die)
    rng = np.random.default_rng(5)
    for layer in model.layers:
        w = layer.get_weights()
        if w:
            k = rng.normal(0, 1.0, w[0].shape)
            if k.size > 8:  # the 4-weight output layer stays whole
                k[np.abs(k) < np.median(np.abs(k))] = 0.0
            layer.set_weights([k, np.abs(rng.normal(0.3, 0.2, w[1].shape))])
    flow = ds.rtl_flow(model, x, tmp_path / "rtl")
    assert flow["n_compared"] == len(x) and flow["mismatches"] == 0
    assert len(np.unique(flow["rtl_scores"])) > 3  # not a constant output
    assert 1 <= flow["latency_cycles"] <= 40 and flow["latency_ns"] == 5 * flow["latency_cycles"]
    # Verilator clocked directly: the cycles from input to output are the stages reported
    assert flow["measured_latency_cycles"] == flow["latency_cycles"]
    assert flow["LUT"] > 0 and 0 < flow["FF"] <= flow["reg_bits"] and flow["DSP"] == 0
    rows = ds.design_rows(flow, cfg.layer_bits(), 0.5)
    assert [r["source"] for r in rows] == ["da4ml", "yosys"]
    assert all(r["scope"] == "whole design" and r["interval_cycles"] == 1 for r in rows)
    assert all(r["latency_cycles"] == flow["measured_latency_cycles"] for r in rows)
    assert rows[1]["LUT_pct"] == pytest.approx(100 * flow["LUT"] / 1_728_000)


@pytest.fixture(scope="module")
def distill_workdir(tmp_path_factory, root, tiny_train, fake_jets, jetad):
    d = tmp_path_factory.mktemp("distill")
    write_images(d / "train.h5", fake_jets(96, 0, 1))
    write_images(d / "val.h5", fake_jets(32, 0, 2))
    write_images(d / "test.h5", fake_jets(40, 40, 3))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"] = {**tiny_train, "epochs": 1, "max_train_jets": 96}
    params["distill"] = {**SMALL, "synthesize": True}
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    jetad(d, "train", "--train", "train.h5", "--val", "val.h5", "--model", "model",
          "--metrics", "training_metrics.json")
    return d


OUTS = ("--out", "student", "--scores", "s/scores.h5", "--metrics", "s/metrics.json",
        "--table", "s/table.md", "--design", "s/design.csv")


@pytest.mark.build
@needs_tools
def test_distill_stage_writes_student_scores_levers_and_design(distill_workdir, jetad):
    from jetad.analysis.scores import read_score_file

    d = distill_workdir
    jetad(d, "distill", "--train", "train.h5", "--val", "val.h5", "--test", "test.h5",
          "--vae", "model", *OUTS)
    doc = json.loads((d / "s/metrics.json").read_text())
    models = set(doc["auc"])
    assert {"teacher (JointVAE)", "float student", "QKeras student <8>", "pruned 0 <8>",
            "pruned 0.5 <8>"} <= models
    for per in doc["auc"].values():
        assert set(per) == {"all", "top"} and per["all"] == per["top"]  # one signal
    assert [r["sparsity"] for r in doc["sparsity_scan"]] == [0.0, 0.5]
    assert doc["rtl"]["mismatches"] == 0
    s = read_score_file(d / "s/scores.h5")
    assert np.array_equal(s["scores"]["student"], s["scores"]["student_rtl"])
    assert len(s["label"]) == 80
    rows = list(csv.DictReader((d / "s/design.csv").open()))
    assert [r["source"] for r in rows] == ["da4ml", "yosys"]
    assert set(doc["target"]["checks"]) == {"LUT_pct", "FF_pct", "DSP_pct", "BRAM_pct",
                                             "latency_ns", "interval_cycles", "auc_drop", "bit_exact"}
    assert (d / "student/student.h5").is_file() and any((d / "student/verilog").rglob("*.v"))
    assert "KL-total AUC" in (d / "s/table.md").read_text()


def test_distill_refuses_signal_jets_in_training(distill_workdir, tmp_path, jetad, fake_jets):
    d = distill_workdir
    write_images(tmp_path / "mixed.h5", fake_jets(20, 5, 9))
    res = jetad(d, "distill", "--train", str(tmp_path / "mixed.h5"), "--val", "val.h5",
                    "--test", "test.h5", "--vae", "model", "--out", str(tmp_path / "o"),
                    "--scores", str(tmp_path / "sc.h5"), "--metrics", str(tmp_path / "m.json"),
                    check=False)
    assert res.returncode == 2
    err = res.stderr.strip()
    assert err.count("\n") == 0 and "mixed.h5" in err and "anomalous" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed.h5"]


def test_design_rows_round_trip_through_csv(tmp_path):
    """The student's rows join results/fpga/design.csv through `jetad resources
    --extra-design`: read back unchanged; a CSV of other columns is refused."""
    import pandas as pd

    from jetad.errors import DataError
    from jetad.fpga.estimate import design as dz
    from jetad.trigger import distill as ds

    flow = {"latency_cycles": 6, "interval_cycles": 1, "da4ml_cost": 31404.0, "reg_bits": 5961,
            "LUT": 20000, "FF": 5000, "DSP": 0, "BRAM": 0}
    rows = ds.design_rows(flow, [8, 8, 8], 0.25)
    path = tmp_path / "design.csv"
    pd.DataFrame(rows, columns=list(dz.COLUMNS)).to_csv(path, index=False)
    back = dz.read_rows(path)
    assert [r["source"] for r in back] == ["da4ml", "yosys"]
    assert back[1]["LUT"] == 20000 and back[1]["latency_ns"] == 30.0
    assert back[0]["FF_pct"] == pytest.approx(100 * 5961 / 3_456_000)
    (tmp_path / "bad.csv").write_text("config,LUT\nx,1\n")
    with pytest.raises(DataError, match="bad.csv: columns"):
        dz.read_rows(tmp_path / "bad.csv")


def test_paired_drop_interval_is_zero_for_the_same_score_and_positive_for_a_worse_one():
    from jetad.trigger import distill as ds

    rng = np.random.default_rng(2)
    label = np.r_[np.zeros(300), np.ones(200)].astype(int)
    process = np.r_[np.zeros(300), np.ones(100), np.full(100, 2)].astype(np.int8)  # qcd, top, w
    good = label + rng.normal(0, 0.7, len(label))
    worse = label + rng.normal(0, 2.0, len(label))
    assert ds.paired_drop_interval(label, process, "top", good, good, seed=1) == [0.0, 0.0]
    lo, hi = ds.paired_drop_interval(label, process, "top", good, worse, seed=1)
    want = (signal_aucs(label, process, good)["top"]
            - signal_aucs(label, process, worse)["top"])
    assert 0 < lo < want < hi


def test_target_fails_when_the_netlist_differs_from_qkeras():
    from jetad.trigger import distill as ds

    design = {"LUT_pct": 1.0, "FF_pct": 0.1, "DSP_pct": 0.0, "BRAM_pct": 0.0,
              "latency_ns": 25.0, "interval_cycles": 1}
    assert ds.target_check(design, 0.93, 0.92)["met"]
    check = ds.target_check(design, 0.93, 0.92, mismatches=3)
    assert not check["met"] and check["checks"]["bit_exact"] is False
