"""The source files each `jetad <stage>` runs (jetad.pipeline.code_deps): its module, what that imports,
the data files the modules name and the schema of the sections it declares; dvc.yaml goes stale
until `python -m jetad.pipeline --write` rewrites it when they change."""

import difflib

import yaml

from jetad.pipeline.__main__ import generated, main, stale
from jetad.pipeline.code_deps import stage_files
from jetad.pipeline.render import WRITE_COMMAND


def test_code_deps_follow_imports_data_files_and_sections(root):
    pixelize = stage_files("pixelize", ["pixelize"], root)
    # the stage, what it imports inside run(), the parameters and their schema
    for path in ("stages/pixelize.py", "data/pixelize.py", "data/layout.py", "data/images.py",
                 "params.py", "__init__.py", "data/__init__.py", "schema/top.json",
                 "schema/pixelize.json"):
        assert f"src/jetad/{path}" in pixelize
    # not another stage's code, nor the schema of a section the stage does not read, nor the
    # entry point and the registry: a change of arguments shows in the command line, and a
    # help string reruns nothing
    for path in ("data/generate.py", "stages/train.py", "schema/train.json", "cli.py",
                 "pipeline/__init__.py", "pipeline/registry.py", "pipeline/spec.py",
                 "pipeline/render.py", "pipeline/values.py", "pipeline/code_deps.py"):
        assert f"src/jetad/{path}" not in pixelize
    assert not [p for s in ("generate", "train", "hls", "provenance", "synth")
                for p in stage_files(s, ["*"], root) if "/pipeline/" in p or p.endswith("cli.py")]
    hls = stage_files("hls", ["hls"], root)
    assert "src/jetad/fpga/hls4ml/nnet_instancenorm.h" in hls  # named by fpga/hls4ml/instancenorm.py
    assert "src/jetad/fpga/hls4ml/nnet_conv2d_csim.h" in hls


def test_a_new_import_makes_dvc_yaml_stale(tmp_path, capsys, copy_project):
    copy_project(tmp_path)
    module = tmp_path / "src/jetad/data/split.py"
    # an import inside a function counts as much as one at the top
    module.write_text(module.read_text() + "\n\ndef _later():\n    from jetad.analysis import metrics\n")
    assert main(["--root", str(tmp_path)]) == 1
    assert WRITE_COMMAND in capsys.readouterr().err
    assert stale(tmp_path) == ["dvc.yaml"]
    current = (tmp_path / "dvc.yaml").read_text()
    diff = difflib.unified_diff(current.splitlines(), generated(tmp_path)["dvc.yaml"].splitlines(),
                                n=0, lineterm="")
    changed = [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    # the module and its package's __init__, which Python runs first
    assert changed == ["+      - src/jetad/analysis/__init__.py", "+      - src/jetad/analysis/metrics.py"]
    assert main(["--root", str(tmp_path), "--write"]) == 0
    assert main(["--root", str(tmp_path)]) == 0
    split = yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]["split"]["deps"]
    assert "src/jetad/analysis/metrics.py" in split and "data/images/images.h5" in split
