"""Snakemake and DVC must describe the same pipeline: same commands, inputs and outputs,
including the source files each stage runs (jetad.code_deps)."""

import difflib
import os
import re
import shutil
import subprocess

import pytest
import yaml

from jetad.code_deps import WRITE_COMMAND, main, stage_files, updated_dvc_yaml
from tests.conftest import ROOT, copy_project

pytestmark = pytest.mark.integration  # Snakemake dry runs and a DVC repo

# rules with no DVC stage: the scan and seed repeats (targets `scan` and `seeds`, not in `all`)
SNAKEMAKE_ONLY = {"scan", "seeds", "scan_params", "scan_train", "scan_score", "scan_evaluate"}


def snakemake_jobs(workdir, env_path, target="all"):
    out = subprocess.run(
        [str(env_path / "snakemake"), "-n", "-p", "--forceall", "--cores", "2", target],
        cwd=workdir, capture_output=True, text=True, check=True).stdout
    jobs = []
    for block in re.split(r"\n(?=rule |localrule )", out):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if not head or head.group(1) == "all":
            continue
        fields = dict(re.findall(r"^    (input|output): (.*)$", block, flags=re.M))
        cmd = re.search(r"^Shell command: (.*)$", block, flags=re.M)
        jobs.append((
            cmd.group(1).strip() if cmd else None,
            frozenset(fields.get("input", "").split(", ")) - {""},
            frozenset(fields["output"].split(", ")),
        ))
    return jobs


def snakemake_rule_params(workdir):
    """rule -> the params.yaml sections it declares (through `sections(...)` in the rules)."""
    import os

    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
    )

    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        with SnakemakeApi(OutputSettings()) as api:
            workflow = api.workflow(
                snakefile=workdir / "Snakefile", workdir=workdir,
                resource_settings=ResourceSettings(cores=1), config_settings=ConfigSettings(),
                storage_settings=StorageSettings())._workflow
            # the scan and seed runs are Snakemake-only (workflow/rules/scan.smk)
            return {r.name: frozenset(k for p in r.params for k in p) for r in workflow.rules
                    if r.name != "all" and r.name not in SNAKEMAKE_ONLY}
    finally:
        os.chdir(cwd)


def dvc_stage_params(workdir):
    from dvc.repo import Repo

    with Repo(str(workdir)) as repo:
        return {s.name.split("@")[0]: frozenset(
            k for d in s.deps if d.__class__.__name__ == "ParamsDependency" for k in d.params)
            for s in repo.index.stages}


def dvc_stages(workdir):
    from dvc.repo import Repo

    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=workdir, check=True)
    with Repo(str(workdir)) as repo:
        stages = list(repo.index.stages)
        outs = {str(o.def_path) for s in stages for o in s.outs}
        result = []
        for s in stages:
            deps = set()
            for d in s.deps:
                if d.__class__.__name__ == "ParamsDependency":
                    continue
                path = str(d.def_path)
                inside = {o for o in outs if o.startswith(path.rstrip("/") + "/")}
                deps |= inside or {path}  # a folder dep stands for the stage outs inside it
            result.append((s.cmd, frozenset(deps), frozenset(str(o.def_path) for o in s.outs)))
        return result


@pytest.mark.parametrize("preset", ["default", "quick"])
def test_snakemake_and_dvc_have_the_same_stages(tmp_path, env_path, preset):
    copy_project(tmp_path)
    subprocess.run(["jetad", "preset", preset], cwd=tmp_path, check=True, capture_output=True)
    # HLS synthesis is Snakemake-only (dvc.yaml cannot add stages by a parameter) and `auto`
    # turns it on wherever vivado_hls is on PATH: compare with it off on any machine
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["resources"]["synthesis"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    smk = snakemake_jobs(tmp_path, env_path)
    dvc = dvc_stages(tmp_path)
    assert len(smk) >= 5
    assert sorted(smk, key=str) == sorted(dvc, key=str)
    rule_params = snakemake_rule_params(tmp_path)
    stage_params = dvc_stage_params(tmp_path)
    # download is a Snakemake-only rule (DVC runs the generate source)
    assert {k: v for k, v in rule_params.items() if k != "download"} == stage_params


def test_dvc_yaml_lists_the_code_each_stage_runs(root):
    current, updated = updated_dvc_yaml(root)
    assert current == updated, f"dvc.yaml's code deps are stale: run `{WRITE_COMMAND}`"


def test_code_deps_follow_imports_data_files_and_sections(root):
    pixelize = stage_files("pixelize", ["pixelize"], root)
    # the stage, what it imports inside run(), the entry point, parameters and their schema
    for path in ("data/pixelize.py", "data/layout.py", "data/images.py", "cli.py", "params.py",
                 "__init__.py", "data/__init__.py", "schema/top.json", "schema/pixelize.json"):
        assert f"src/jetad/{path}" in pixelize
    # not another stage's code, nor the schema of a section the stage does not read
    for path in ("data/generate.py", "stages/train.py", "schema/train.json"):
        assert f"src/jetad/{path}" not in pixelize
    hls = stage_files("hls", ["hls"], root)
    assert "src/jetad/fpga/nnet_instancenorm.h" in hls  # named by fpga/instancenorm.py
    assert "src/jetad/fpga/nnet_conv2d_csim.h" in hls


def test_a_new_import_makes_dvc_yaml_stale(tmp_path, capsys):
    copy_project(tmp_path)
    module = tmp_path / "src/jetad/data/split.py"
    # an import inside a function counts as much as one at the top
    module.write_text(module.read_text() + "\n\ndef _later():\n    from jetad.analysis import metrics\n")
    assert main(["--root", str(tmp_path)]) == 1
    assert WRITE_COMMAND in capsys.readouterr().err
    current, updated = updated_dvc_yaml(tmp_path)
    diff = difflib.unified_diff(current.splitlines(), updated.splitlines(), n=0, lineterm="")
    changed = [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    # the module and its package's __init__, which Python runs first
    assert changed == ["+      - src/jetad/analysis/__init__.py", "+      - src/jetad/analysis/metrics.py"]
    assert main(["--root", str(tmp_path), "--write"]) == 0
    assert main(["--root", str(tmp_path)]) == 0
    split = yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]["split"]["deps"]
    assert "src/jetad/analysis/metrics.py" in split and "data/images/images.h5" in split


def test_the_workflow_profile_compares_the_content_of_large_inputs(tmp_path, env_path):
    """profiles/default (which Snakemake loads by itself) lifts the 1 MB limit under which
    Snakemake compares an input newer than the outputs with the content it recorded: a 3 MB
    input rewritten with the same bytes (as `dvc commit` does) reruns nothing; without the
    profile, it would rerun; changed bytes rerun."""
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    (tmp_path / "Snakefile").write_text(
        'rule b:\n    input: "a.bin"\n    output: "b.bin"\n    shell: "cp {input} {output}"\n')
    (tmp_path / "a.bin").write_bytes(bytes(3 * 10**6))

    def plan(*extra):
        out = subprocess.run([str(env_path / "snakemake"), "-n", "--summary", "--cores", "1",
                              *extra, "b.bin"], cwd=tmp_path, capture_output=True, text=True,
                             check=True).stdout
        return out.strip().splitlines()[-1].split("\t")[-1]

    subprocess.run([str(env_path / "snakemake"), "--cores", "1", "b.bin"], cwd=tmp_path,
                   check=True, capture_output=True)
    later = (tmp_path / "b.bin").stat().st_mtime + 60
    os.utime(tmp_path / "a.bin", (later, later))
    assert plan() == "no update"
    assert plan("--workflow-profile", "none") == "update pending"
    (tmp_path / "a.bin").write_bytes(bytes(3 * 10**6 - 1) + b"x")
    os.utime(tmp_path / "a.bin", (later, later))
    assert plan() == "update pending"
