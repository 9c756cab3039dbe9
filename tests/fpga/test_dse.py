"""jetad.fpga.dse: the grid, the Pareto front, and the claim that lets the points of a precision
share one emulation (io_type, strategy and reuse factor do not change a bit of the output)."""

from __future__ import annotations

import numpy as np
import pytest


def test_the_grid_is_the_product_of_the_section_in_order():
    from jetad.fpga.dse import point_path, points

    grid = points({"precisions": [[16, 6], [8, 3]], "io_types": ["io_parallel", "io_stream"],
                   "strategies": ["Resource"], "reuse_factors": [1, 4, 16]})
    assert len(grid) == 2 * 2 * 1 * 3
    assert grid[0] == {"precision": "p16_6", "io_type": "io_parallel", "strategy": "Resource",
                       "reuse_factor": 1}
    assert [p["precision"] for p in grid].count("p8_3") == 6
    assert point_path(**grid[-1]) == "p8_3/io_stream/Resource/rf16"
    assert len({point_path(**p) for p in grid}) == len(grid)


def test_points_that_are_not_the_grid_are_named():
    """The table refuses a stale job list: a point missing, one not in the grid, one twice."""
    from jetad.fpga.dse import grid_mismatch, points

    section = {"precisions": [[16, 6], [8, 3]], "io_types": ["io_stream"],
               "strategies": ["Latency"], "reuse_factors": [1, 4]}
    rows = [{"precision_name": p["precision"], "io_type": p["io_type"],
             "strategy": p["strategy"], "reuse_factor": p["reuse_factor"]}
            for p in points(section)]
    assert grid_mismatch(rows[::-1], section) is None  # any order
    assert "3 of its 4 points missing (first p16_6/io_stream/Latency/rf4)" in grid_mismatch(
        rows[:1], section)
    assert "p16_6/io_stream/Latency/rf4 is given twice" in grid_mismatch(
        [*rows, rows[1]], section)
    other = dict(rows[0], reuse_factor=16)
    assert "p16_6/io_stream/Latency/rf16 is not a point of it" in grid_mismatch(
        [*rows, other], section)
    assert "python -m jetad.pipeline --write" in grid_mismatch(rows[1:], section)


def test_precision_names_round_trip_and_bad_ones_are_refused():
    from jetad.errors import JetadError
    from jetad.fpga.dse import parse_precision, precision_name

    assert parse_precision(precision_name(12, 4)) == (12, 4)
    with pytest.raises(JetadError, match="p<width>_<integer>"):
        parse_precision("16_6")


def test_pareto_front_of_constructed_points():
    from jetad.fpga.dse import pareto_front

    # (cost, value): a staircase of 3, two dominated points, a tie with a front point,
    # one point without a cost (not on the front, dominating nothing)
    cost = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 2.0, np.nan])
    value = np.array([0.60, 0.70, 0.90, 0.65, 0.80, 0.70, 0.99])
    front = pareto_front(cost, value)
    assert front.tolist() == [True, True, True, False, False, True, False]
    # a single point is its own front; a better point removes the old front
    assert pareto_front(np.array([3.0]), np.array([0.5])).tolist() == [True]
    assert pareto_front(np.array([2.0, 1.0]), np.array([0.5, 0.6])).tolist() == [False, True]


def test_the_table_flags_the_front_of_each_axis_and_refuses_a_missing_signal():
    from jetad.errors import DataError
    from jetad.fpga.dse import table

    def row(config, lut, ns, auc):
        return {"config": config, "LUT_pct": lut, "latency_ns": ns, "auc_top": auc,
                "auc_all": auc, "auc_source": "x", "auc_jets": 9}

    rows = table([row("a", 10.0, 500.0, 0.80), row("b", 50.0, 100.0, 0.80),
                  row("c", 60.0, 600.0, 0.90)], "top")
    assert [r["pareto_LUT_pct"] for r in rows] == [True, False, True]
    assert [r["pareto_latency_ns"] for r in rows] == [False, True, True]
    with pytest.raises(DataError, match="no w jets"):
        table(rows, "w")


@pytest.mark.build
def test_io_type_strategy_and_reuse_do_not_change_a_bit(tmp_path, small_qmodel, images,
                                                        hls_settings):
    """Why the DSE emulates once per precision: the small encoder-style model (grouped conv,
    instance norm, leaky relu, dense) in the emulated configuration (io_parallel/Latency/rf1,
    jetad's integer C simulation) and in three others through hls4ml's own ap_fixed C++ gives
    the same bits on every output."""
    from dataclasses import replace

    from jetad.fpga.dse import EMULATED
    from jetad.fpga.hls4ml import grouped
    from jetad.fpga.hls4ml.build import compile_model
    from jetad.fpga.hls4ml.emulate import Compiled, emulate
    from jetad.fpga.hls4ml.project import convert

    model = grouped.per_group(small_qmodel(with_norm=True, name="shared"))
    x = images(48, seed=7)
    outs = {}
    for io_type, strategy, reuse, csim in (
            (EMULATED["io_type"], EMULATED["strategy"], EMULATED["reuse_factor"], "integer"),
            ("io_parallel", "Resource", 4, "ap_fixed"),
            ("io_stream", "Latency", 2, "ap_fixed"),
            ("io_stream", "Resource", 4, "ap_fixed")):
        key = f"{io_type}_{strategy}_rf{reuse}"
        hm = convert(model, tmp_path / key,
                     replace(hls_settings, io_type=io_type, strategy=strategy,
                             reuse_factor=reuse), key)
        lib = compile_model(hm, "-O1 -fPIC", csim=csim)
        outs[key] = emulate(Compiled.of(hm, lib), x, processes=2, batch=24)[0]
    first = next(iter(outs.values()))
    assert np.abs(first).max() > 0 and len(np.unique(first)) > 10  # not a trivial output
    for key, got in outs.items():
        assert np.array_equal(got, first), key
