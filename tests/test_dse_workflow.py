"""The FPGA design-space scan's Snakemake target (workflow/rules/dse.smk): its job graph through
Snakemake's API, and bad `dse:` parameters refused in one line before any job."""

from __future__ import annotations

import subprocess

import pytest
import yaml

pytestmark = pytest.mark.integration  # Snakemake dry runs

GRID = {"precisions": [[16, 6], [8, 3]], "io_types": ["io_parallel", "io_stream"],
        "strategies": ["Latency", "Resource"], "reuse_factors": [1, 8], "n_images": 50}


@pytest.fixture
def project(tmp_path, copy_project):
    copy_project(tmp_path)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["dse"] = GRID
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return tmp_path


def test_one_qat_and_emulation_per_precision_and_one_job_per_point(project, snakemake_jobs):
    jobs = snakemake_jobs(project, "dse")
    by_rule: dict[str, list[dict]] = {}
    for j in jobs:
        by_rule.setdefault(j["rule_name"], []).append(j)
    assert sorted(j["output"][0] for j in by_rule["dse_qat"]) == [
        "results/dse/p16_6/qencoder.h5", "results/dse/p8_3/qencoder.h5"]
    assert sorted(j["output"][0] for j in by_rule["dse_emulate"]) == [
        "results/dse/p16_6/emulation.json", "results/dse/p8_3/emulation.json"]
    points = sorted(j["output"][1] for j in by_rule["dse_point"])
    assert len(points) == 2 * 2 * 2 * 2 == len(set(points))
    assert "results/dse/p8_3/io_stream/Resource/rf8/point.json" in points
    cmd = next(j["shellcmd"] for j in by_rule["dse_point"]
               if j["output"][1] == "results/dse/p8_3/io_stream/Resource/rf8/point.json")
    assert ("--precision p8_3 --io-type io_stream --strategy Resource --reuse-factor 8 "
            "--model results/dse/p8_3/qencoder.h5 --emulation results/dse/p8_3/emulation.json"
            in cmd)
    (table,) = by_rule["dse"]
    assert table["output"] == ["results/dse/dse.csv", "results/dse/dse.md",
                               "results/dse/pareto.pdf"]
    assert set(points) <= set(table["input"])
    # on the pipeline's split and JointVAE, trained once; no QAT stage, no hls stage
    assert len(by_rule["train"]) == 1 and len(by_rule["split"]) == 1
    assert "qat" not in by_rule and "hls" not in by_rule


def test_the_scan_is_not_part_of_all(project, snakemake_jobs):
    rules = {j["rule_name"] for j in snakemake_jobs(project, "all")}
    assert "hls" in rules and not {r for r in rules if r.startswith("dse")}


@pytest.mark.parametrize("change, key", [
    ({"io_types": ["io_parallel", "io_serial"]}, "dse.io_types: 'io_serial' is not one of"),
    ({"precisions": [[16, 6], [8, 9]]}, "dse.precisions: [8, 9]: the integer part 9 must be"),
    ({"strategies": ["latency"]}, "dse.strategies: 'latency' is not one of"),
])
def test_bad_dse_params_are_refused_in_one_line(project, env_path, change, key):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["dse"] = {**GRID, **change}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd, prog in ((["jetad", "check-params"], "jetad check-params"),
                      (["snakemake", "-n", "--cores", "1", "dse"], "jetad workflow")):
        r = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        if prog == "jetad workflow":  # Snakemake's own notes (profile, htcondor) stay
            lines = [line for line in lines if "error" in line.lower()]
        assert r.returncode == 2, (cmd, r.stderr[-2000:])
        assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
        assert lines[0].startswith(f"{prog}: error: params.yaml: ") and key in lines[0], lines
    assert not (project / "results").exists()
