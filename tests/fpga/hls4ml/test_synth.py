"""HLS synthesis as Snakemake jobs (one per layer project), its switch and its errors without
the tool; reports copied back through params; yosys on da4ml's Verilog (when installed)."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jetad.errors import ConfigError, DataError, JetadError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "conv2_b1_1"
CONVS = ["dconv_b0", "conv1_b0_0", "conv2_b0_0", "dconv_b1", "conv1_b1_0", "conv2_b1_0",
         "conv1_b1_1", "conv2_b1_1", "dconv_b2", "conv1_b2_0", "conv2_b2_0", "conv_fin"]


@pytest.fixture
def params(root):
    return yaml.safe_load((root / "params.yaml").read_text())


def fake_tools(folder: Path, *names: str) -> Path:
    """A PATH folder with executables of these names: only looked up, never run here."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        exe = folder / name
        exe.write_text("#!/bin/sh\nexit 1\n")
        exe.chmod(0o755)
    return folder


def test_switch_auto_follows_the_tool_of_the_backend(params, tmp_path, monkeypatch):
    from jetad.fpga.hls4ml import synth

    empty = fake_tools(tmp_path / "none")
    monkeypatch.setenv("PATH", str(empty))
    assert params["resources"]["synthesis"] == "auto"
    assert not synth.enabled(params) and synth.projects(params) == []

    monkeypatch.setenv("PATH", str(fake_tools(tmp_path / "vivado", "vivado_hls")))
    assert synth.projects(params) == [f"block/{n}" for n in [*CONVS, "heads"]]
    vitis = copy.deepcopy(params)
    vitis["hls"]["backend"] = "Vitis"
    assert not synth.enabled(vitis)  # vivado_hls cannot build a Vitis project
    monkeypatch.setenv("PATH", str(fake_tools(tmp_path / "vitis", "vitis-run")))
    assert synth.enabled(vitis)

    monkeypatch.setenv("PATH", str(empty))
    forced = copy.deepcopy(params)
    forced["resources"]["synthesis"] = True
    forced["hls"].update(parts=["block", "layer", "whole"], only=["dconv_b2", "heads"])
    assert synth.projects(forced) == ["layer/dconv_b2", "layer/heads"]  # layer wins over block
    forced["hls"]["parts"] = ["whole"]
    with pytest.raises(ConfigError, match="hls.parts has neither 'layer' nor 'block'"):
        synth.enabled(forced)
    forced["resources"]["synthesis"] = "auto"
    assert not synth.enabled(forced)


def test_part_names_are_those_hls_writes(params, encoder_config):
    from jetad.fpga.hls4ml import parts as split
    from jetad.fpga.hls4ml import synth
    from jetad.models import reduced_encoder as encoder

    model = encoder.build(encoder_config, quantized=True)
    assert synth.part_names({"parts": ["layer"]}) == list(split.split(model, "layer"))
    assert synth.part_names({"only": ["heads", "conv_fin"]}) == ["conv_fin", "heads"]


def run_synth(project, out, env_path, path_dirs, root):
    env = dict(os.environ, PATH=os.pathsep.join([str(env_path), *map(str, path_dirs)]))
    return subprocess.run(
        [str(env_path / "jetad"), "synth", "--params", str(root / "params.yaml"),
         "--project", str(project), "--out", str(out)],
        capture_output=True, text=True, env=env)


def test_synth_without_the_tool_names_it(tmp_path, env_path, root):
    system = [Path(sys.executable).parent, "/usr/bin", "/bin"]
    if any(shutil.which(t, path=os.pathsep.join(map(str, system)))
           for t in ("vivado_hls", "vitis-run")):
        pytest.skip("Xilinx HLS is installed here")
    r = run_synth(FIXTURE, tmp_path / "out", env_path, system, root)
    assert r.returncode == 2
    assert f"jetad synth: error: {FIXTURE}: synthesizing this hls4ml Vivado project needs " \
           "vivado_hls on PATH, not found" in r.stderr
    assert "resources.synthesis: false" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()

    # a Vitis project asks for vitis-run, and says so when only vivado_hls is there
    vitis = shutil.copytree(FIXTURE, tmp_path / "vitis_prj")
    tcl = vitis / "project.tcl"
    tcl.write_text(tcl.read_text().replace('set backend "vivado"', 'set backend "vitis"'))
    r = run_synth(vitis, tmp_path / "out", env_path,
                  [*system, fake_tools(tmp_path / "bin", "vivado_hls")], root)
    assert r.returncode == 2 and "needs vitis-run on PATH" in r.stderr
    assert "vivado_hls is on PATH: write the projects for it with hls.backend: Vivado" in r.stderr

    r = run_synth(tmp_path, tmp_path / "out", env_path, system, root)
    assert r.returncode == 2 and f"{tmp_path}: not an hls4ml project (no project.tcl)" in r.stderr


def test_logic_synthesis_also_needs_vivado(tmp_path, monkeypatch):
    from jetad.fpga.hls4ml import synth

    monkeypatch.setenv("PATH", str(fake_tools(tmp_path / "bin", "vivado_hls")))
    assert synth.check_tools(FIXTURE) == "vivado"
    with pytest.raises(JetadError, match="needs vivado on PATH"):
        synth.check_tools(FIXTURE, logic=True)


def dry_run(workdir, snakemake_jobs, mutate):
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    mutate(params)
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # without the source files every rule also has as inputs (jetad.pipeline.code_deps)
    jobs = [(j["shellcmd"].strip(), frozenset(i for i in j["input"] if not i.startswith("src/")),
             frozenset(j["output"]))
            for j in snakemake_jobs(workdir, "results/fpga/resources.csv")]
    synth = sorted(j for j in jobs if j[0] and j[0].startswith("jetad synth "))
    resources = [j for j in jobs if j[0] and j[0].startswith("jetad resources ")]
    assert len(resources) == 1
    return synth, resources[0]


@pytest.mark.integration  # a Snakemake dry run
def test_dry_run_one_synth_job_per_layer_project(tmp_path, env_path, copy_project, snakemake_jobs):
    copy_project(tmp_path)
    copied = tmp_path / "copied" / "conv2_b1_1"
    shutil.copytree(FIXTURE, copied)

    def forced(p):
        p["resources"].update(synthesis=True, reports=["copied/conv2_b1_1"],
                              logic_synthesis=True)
        p["hls"].update(parts=["whole", "layer"], only=["dconv_b2", "conv_fin", "heads"])

    synth, (cmd, inputs, _outputs) = dry_run(tmp_path, snakemake_jobs, forced)
    parts = ["conv_fin", "dconv_b2", "heads"]
    outs = [f"results/synth/layer/{p}" for p in parts]
    # resources.logic_synthesis reaches the job as an argument: synth reads no section
    assert synth == [(f"jetad synth --project results/hls/layer/{p} --out {o} "
                      f"--logic-synthesis on --log logs/synth/layer/{p}.log", frozenset({"results/hls"}),
                      frozenset({o})) for p, o in zip(parts, outs, strict=True)]
    # resources reads the synthesized copies (given in pipeline order), the copied-back folder
    # and the trigger student's whole-design rows (jetad distill)
    assert inputs == {"results/quantized/model", *outs, "copied/conv2_b1_1",
                      "results/trigger/design.csv"}
    assert " --reports results/synth/layer/dconv_b2 results/synth/layer/conv_fin " \
           "results/synth/layer/heads --extra-design " in cmd


@pytest.mark.integration  # a Snakemake dry run
def test_dry_run_auto_with_vivado_hls_on_path(tmp_path, env_path, monkeypatch, copy_project, snakemake_jobs):
    copy_project(tmp_path)
    monkeypatch.setenv("PATH", f"{fake_tools(tmp_path / 'xilinx', 'vivado_hls')}{os.pathsep}"
                               f"{os.environ['PATH']}")
    synth, (cmd, inputs, _outputs) = dry_run(tmp_path, snakemake_jobs, lambda p: None)
    assert len(synth) == len(CONVS) + 1  # every block of the default hls.parts, and the heads
    assert {o for *_, outs in synth for o in outs} == {
        f"results/synth/block/{n}" for n in [*CONVS, "heads"]}
    # the synthesized blocks, the QKeras model and the trigger student's design rows
    assert "--reports results/synth/block/dconv_b0 " in cmd and len(inputs) == len(synth) + 2


def vivado_synth_rpt(lut: int, ff: int, bram_tiles: float, dsp: int) -> str:
    """The tables of a Vivado utilization report that hls4ml's parser reads."""
    return f"""1. CLB Logic
------------
+----------------------------+------+-------+-----------+-------+
|          Site Type         | Used | Fixed | Available | Util% |
+----------------------------+------+-------+-----------+-------+
| CLB LUTs*                  | {lut} |     0 |   1728000 |  0.01 |
| CLB Registers              | {ff} |     0 |   3456000 |  0.01 |
+----------------------------+------+-------+-----------+-------+

2. BLOCKRAM
-----------
+-------------------+------+-------+-----------+-------+
|     Site Type     | Used | Fixed | Available | Util% |
+-------------------+------+-------+-----------+-------+
| Block RAM Tile    | {bram_tiles} |     0 |      2688 |  0.02 |
+-------------------+------+-------+-----------+-------+

3. ARITHMETIC
-------------
+----------------+------+-------+-----------+-------+
|    Site Type   | Used | Fixed | Available | Util% |
+----------------+------+-------+-----------+-------+
| DSPs           | {dsp} |     0 |     12288 |  0.10 |
+----------------+------+-------+-----------+-------+
"""


def test_resources_reads_reports_copied_back_via_params(params, tmp_path, encoder_config):
    from jetad.fpga.estimate.resource_table import long_rows, table_markdown
    from jetad.models import reduced_encoder as encoder
    from jetad.params import build

    heads = shutil.copytree(FIXTURE, tmp_path / "back" / "heads")
    (heads / "vivado_synth.rpt").write_text(vivado_synth_rpt(1200, 900, 1.5, 40))
    params["resources"].update(da4ml=False, reports=[str(FIXTURE), str(heads)])
    model = encoder.build(encoder_config, quantized=True)
    rows = long_rows(model, build(params), [])
    by = {(r["layer"], r["source"], r["resource"]): r for r in rows}
    assert by[("conv2_b1_1", "vivado_hls", "LUT")]["value"] == 386856
    assert by[("conv2_b1_1", "vivado_hls", "DSP")]["note"] == str(FIXTURE)
    ext = [r for r in rows if r["layer"] == "conv2_b0_0" and r["resource"] == "DSP"
           and r["reference"] == "conv2_b1_1 (vivado_hls)"]
    assert len(ext) == 1 and ext[0]["source"] == "rho_extrapolated"
    assert ext[0]["value"] == pytest.approx(47 * ext[0]["rho"]) and ext[0]["rho"] > 1
    # the dense heads are no conv (no rho) but their report is kept, logic synthesis included
    assert by[("heads", "vivado_hls", "FF")]["value"] == 14346
    assert [by[("heads", "vivado_synth", k)]["value"] for k in ("LUT", "FF", "BRAM", "DSP")] \
        == [1200, 900, 3.0, 40]  # BRAM in 18 Kb units: 1.5 tiles of 36 Kb
    table = table_markdown(rows, {})
    assert "| final block |  | vivado_synth |  | 40 (0.33%) | 1,200 (0.07%) |" in table

    with pytest.raises(DataError, match="two synthesized projects named conv2_b1_1"):
        long_rows(model, build(params), [str(tmp_path / "x" / "conv2_b1_1")])


def test_atomic_dir_replaces_only_on_success(tmp_path):
    from jetad.atomic import atomic_dir

    out = tmp_path / "synth" / "layer"
    with atomic_dir(out) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "b").write_text("half")
        raise RuntimeError("killed")
    assert sorted(p.name for p in out.iterdir()) == ["a"]
    with atomic_dir(out) as tmp:
        (tmp / "c").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["c"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["layer"]  # no leftovers


def small_model():
    import numpy as np
    import tf_keras
    from qkeras import QActivation, QConv2D, QDense, quantized_bits

    def q():
        return quantized_bits(16, 6, alpha=1)

    inp = tf_keras.Input((6, 6, 1))
    x = QActivation(q(), name="input_quant")(inp)
    x = QConv2D(2, 3, padding="same", kernel_quantizer=q(), bias_quantizer=q(), name="c")(x)
    x = tf_keras.layers.Flatten()(x)
    x = QDense(8, kernel_quantizer=q(), bias_quantizer=q(), name="d")(x)  # 72 x 8: skipped
    model = tf_keras.Model(inp, x)
    rng = np.random.default_rng(1)
    w = model.get_layer("c").get_weights()
    model.get_layer("c").set_weights([np.round(rng.normal(0, 0.4, w[0].shape) * 512) / 512, w[1]])
    return model


def test_yosys_missing_is_named(tmp_path, monkeypatch, params):
    from jetad.fpga.rtl import yosys

    monkeypatch.setenv("PATH", str(fake_tools(tmp_path / "none")))
    with pytest.raises(JetadError, match="yosys is not on PATH.*apt-get install yosys"):
        yosys.estimate(object(), 100)


@pytest.mark.build
@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (optional)")
def test_yosys_counts_luts_and_ffs_of_small_kernels():
    from jetad.fpga.estimate import resources
    from jetad.fpga.rtl import yosys

    model = small_model()
    rows = yosys.estimate(model, max_weights=20)
    assert [r["layer"] for r in rows] == ["c"]  # 18 weights; the dense layer has 576
    r = rows[0]
    assert r["source"] == "yosys" and r["nonzero_weights"] == 18
    assert r["da4ml_cost"] == resources.da4ml_lut(model.get_layer("c"))["LUT"]
    # the same adders as da4ml's cost (within 30%), and its pipeline registers as FFs
    assert 0.7 * r["da4ml_cost"] <= r["LUT"] <= 1.3 * r["da4ml_cost"]
    assert r["FF"] > 0
