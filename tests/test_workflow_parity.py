"""Snakemake and DVC must describe the same pipeline: same commands, inputs and outputs."""

import re
import subprocess

import pytest
import yaml

from tests.conftest import copy_project

pytestmark = pytest.mark.integration  # Snakemake dry runs and a DVC repo


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
            return {r.name: frozenset(k for p in r.params for k in p) for r in workflow.rules
                    if r.name != "all"}
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
