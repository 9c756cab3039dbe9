"""Whole-design figures (jetad.fpga.estimate.latency, jetad.fpga.estimate.design): the analytic hls4ml model's
rules, report latency/interval carried through, and the `jetad resources --design` outputs."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures"


def kernel(n_in=36, n_out=4, seed=0):
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(0, 0.5, (n_in, n_out)) * 512) / 512


def test_conv_timing_follows_hls4ml_schedule():
    from jetad.fpga.estimate import latency

    k = kernel()
    par = latency.Settings("io_parallel", "Latency", 1)
    one = latency.kernel_layer("c", k, 1600, 400, 400 * 4, par, filt=(3, 40, 4))
    # nnet_conv2d_latency.h: one output pixel per PartitionLoop iteration, II = reuse factor
    assert one.interval_cycles == 400
    depth = latency.MULT_CYCLES + latency.tree_cycles(36 + 1) + 1  # products, sum of 36 + bias
    assert one.latency_cycles == 399 + depth
    two = latency.kernel_layer("c", k, 1600, 400, 1600, latency.Settings("io_parallel",
                                                                          "Latency", 2),
                               filt=(3, 40, 4))
    assert two.interval_cycles == 800 and two.DSP == -(-one.DSP // 2)
    # conv_2d_buffer_cl: one INPUT pixel per reuse_factor cycles
    st = latency.kernel_layer("c", k, 1600, 400, 1600, latency.Settings("io_stream", "Latency",
                                                                         3), filt=(3, 40, 4))
    assert st.interval_cycles == 1600 * 3 and st.BRAM > 0  # line buffer / FIFO
    dense = latency.kernel_layer("d", kernel(50, 8), 1, 1, 8, par)
    assert dense.interval_cycles == 1 and dense.latency_cycles >= latency.MULT_CYCLES + 1
    # Resource with a reuse factor > 1 reads weights from a ROM: multipliers on DSPs, BRAM
    res = latency.kernel_layer("d", kernel(50, 8), 1, 1, 8,
                               latency.Settings("io_parallel", "Resource", 5))
    assert res.reuse_factor == 5 and res.DSP == 80 and res.BRAM > 0


def test_resource_reuse_factor_rule():
    from jetad.fpga.estimate.latency import valid_reuse_factor

    assert valid_reuse_factor(36, 4, 5) == 4      # 4 and 6 valid: the tie goes to the smaller
    assert valid_reuse_factor(36, 4, 7) == 6
    # 50 x 8: 4 divides 400 but 100 multipliers are not a multiple of 8 outputs
    assert valid_reuse_factor(50, 8, 4) == 5
    assert valid_reuse_factor(50, 8, 1) == 1


def test_total_runs_heads_side_by_side():
    from jetad.fpga.estimate import latency

    s = latency.Settings()
    a = latency.kernel_layer("conv", kernel(), 100, 100, 400, s, filt=(3, 10, 4))
    h1 = latency.kernel_layer("h1", kernel(50, 8), 1, 1, 8, s)
    h2 = latency.kernel_layer("h2", kernel(50, 20, seed=1), 1, 1, 20, s)
    a.stage, h1.stage, h2.stage = 0, 1, 1
    t = latency.total([a, h1, h2], s)
    assert t["latency_cycles"] == a.latency_cycles + max(h1.latency_cycles, h2.latency_cycles)
    assert t["interval_cycles"] == 100 and t["bottleneck"] == "conv"
    assert t["latency_ns"] == 5.0 * t["latency_cycles"]
    assert t["LUT"] == a.LUT + h1.LUT + h2.LUT


@pytest.fixture(scope="module")
def encoder(encoder_config):
    from jetad.models import reduced_encoder as enc

    return enc.build(encoder_config, quantized=True)


def test_design_rows_carry_report_latency(encoder, tmp_path):
    from jetad.fpga.estimate import design
    from jetad.fpga.estimate.resources import U250
    from jetad.fpga.hls4ml import vivado_report as report

    hls = {"io_type": "io_parallel", "strategy": "Latency", "reuse_factor": 1,
           "clock_period": 5.0}
    rp = {"frac_bits": 9, "dsp_min_bits": 4}
    layer_rep = report.read(FIXTURES / "conv2_b1_1")
    rows, layers = design.rows(encoder, hls, rp, {"conv2_b1_1": layer_rep}, use_da4ml=False)
    by = {r["source"]: r for r in rows}
    assert set(by) == {"vivado_hls", "analytic"}
    v = by["vivado_hls"]
    # the report's WorstLatency / IntervalMax, at the 5 ns target clock
    assert (v["latency_cycles"], v["interval_cycles"]) == (112, 101)
    assert v["latency_ns"] == 560.0 and v["LUT"] == 386856
    assert v["scope"] == "sum of 1 layer reports" and "dconv_b0" in v["note"]
    a = by["analytic"]
    convs = [la for la in layers if la["kind"] == "conv"]
    assert a["interval_cycles"] == max(la["pixels_out"] for la in convs)  # DATAFLOW, rf 1
    assert a["DSP_pct"] == pytest.approx(100 * a["DSP"] / U250["DSP"])
    assert a["config"] == "io_parallel/Latency/rf1/<16,6>"
    # reuse factor 2 doubles the conv intervals
    rows2, _ = design.rows(encoder, {**hls, "reuse_factor": 2}, rp, {}, use_da4ml=False)
    assert rows2[0]["interval_cycles"] == 2 * a["interval_cycles"]
    # a whole-design project replaces the layer sum
    whole = tmp_path / "whole"
    shutil.copytree(FIXTURES / "conv2_b1_1", whole)
    rows3, _ = design.rows(encoder, hls, rp, {"whole": report.read(whole),
                                              "conv2_b1_1": layer_rep}, use_da4ml=False)
    assert [r["scope"] for r in rows3 if r["source"] == "vivado_hls"] == ["whole design"]
    md = design.markdown(rows)
    assert "| io_parallel/Latency/rf1/<16,6> | analytic" in md and "386,856" in md


def test_da4ml_kernel_pipeline():
    from jetad.fpga.estimate import design

    got = design.da4ml_kernel(kernel(18, 4), bits=16, integer=6)
    assert got["LUT"] > 0 and got["FF"] > 0 and got["stages"] >= 1
    assert design.da4ml_kernel(np.zeros((4, 2)), 16, 6) == {"LUT": 0.0, "FF": 0.0, "stages": 0}


def test_resources_stage_writes_design(encoder, tmp_path, jetad, root):
    import yaml

    encoder.save(tmp_path / "q.h5")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["resources"]["da4ml"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    jetad(tmp_path, "resources", "--model", "q.h5", "--out", "fpga/resources.csv",
          "--design", "fpga/design.csv", "--design-table", "fpga/design.md",
          "--design-json", "fpga/design.json", "--reports", str(FIXTURES / "conv2_b1_1"))
    rows = list(csv.DictReader((tmp_path / "fpga" / "design.csv").open()))
    assert [r["source"] for r in rows] == ["vivado_hls", "analytic"]
    assert all(float(r["latency_cycles"]) > 0 and float(r["interval_cycles"]) > 0 for r in rows)
    assert rows[1]["io_type"] == params["hls"]["io_type"]
    assert "analytic" in (tmp_path / "fpga" / "design.md").read_text()
    assert (tmp_path / "fpga" / "resources.csv").is_file()
