"""`jetad resources` on the tiny QAT encoder and its hls4ml projects (tests/stages/conftest.py):
every number labelled with its source; a missing model named."""

from __future__ import annotations

import csv
import math

import pytest

pytestmark = pytest.mark.build  # needs the hls4ml projects of the chain (g++ compiles)


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


def test_resources_names_a_missing_model(qat_done, jetad):
    r = jetad(qat_done, "resources", "--model", "nope.h5", "--out", "r.csv", check=False)
    assert r.returncode != 0 and "nope.h5" in r.stderr
