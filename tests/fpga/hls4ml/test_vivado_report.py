"""jetad.fpga.hls4ml.vivado_report: a Vivado HLS synthesis report read with hls4ml's parser."""

from pathlib import Path

import pytest

from jetad.errors import DataError

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_report_fixture_parsed():
    from jetad.fpga.hls4ml import vivado_report as report

    row = report.read(FIXTURES / "conv2_b1_1")
    assert row["source"] == "vivado_hls"
    assert (row["DSP"], row["LUT"], row["FF"], row["BRAM"]) == (47, 386856, 14346, 18)
    assert row["LUT_pct"] == pytest.approx(100 * 386856 / 1_728_000)  # 22%, as the thesis
    assert row["TargetClockPeriod"] == 5.0 and row["WorstLatency"] == 112


def test_report_missing(tmp_path):
    from jetad.fpga.hls4ml import vivado_report as report

    with pytest.raises(DataError, match=str(tmp_path)):
        report.read(tmp_path)
    (tmp_path / "project.tcl").write_text('set project_name "x"\nset backend "vivado"\n')
    (tmp_path / "x_prj").mkdir()
    with pytest.raises(DataError, match="x_prj|report"):
        report.read(tmp_path)
