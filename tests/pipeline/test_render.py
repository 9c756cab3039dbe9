"""One declaration of each stage (jetad.pipeline.registry) gives `jetad <stage>`'s argparse,
the Snakemake rules and dvc.yaml (jetad.pipeline.render). The generated files must be current,
and each engine, asked through its own interface, must run the same commands with the same
inputs and outputs, including the source files each stage runs (jetad.code_deps)."""

import re
import subprocess

import pytest
import yaml

from jetad.cli import build_parser
from jetad.pipeline.__main__ import main, stale
from jetad.pipeline.registry import STAGES
from jetad.pipeline.render import WRITE_COMMAND, dvc_command, sections
from jetad.pipeline.values import dvc_params


def dvc_stages(workdir):
    """(command, deps, outs) of every stage of dvc.yaml as DVC resolves it (matrix, templates),
    and stage -> the params.yaml sections it depends on."""
    from dvc.repo import Repo

    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=workdir, check=True)
    with Repo(str(workdir)) as repo:
        stages = list(repo.index.stages)
        outs = {str(o.def_path) for s in stages for o in s.outs}
        result, params = [], {}
        for s in stages:
            deps = set()
            for d in s.deps:
                if d.__class__.__name__ == "ParamsDependency":
                    params[s.name.split("@")[0]] = list(d.params)
                    continue
                path = str(d.def_path)
                inside = {o for o in outs if o.startswith(path.rstrip("/") + "/")}
                deps |= inside or {path}  # a folder dep stands for the stage outs inside it
            result.append((s.cmd, frozenset(deps), frozenset(str(o.def_path) for o in s.outs)))
        return result, params


@pytest.mark.integration
@pytest.mark.parametrize("preset", ["default", "quick"])
def test_snakemake_and_dvc_run_the_same_jobs(tmp_path, env_path, preset, copy_project,
                                             snakemake_jobs):
    copy_project(tmp_path)
    subprocess.run(["jetad", "preset", preset], cwd=tmp_path, check=True, capture_output=True)
    # HLS synthesis is Snakemake-only (dvc.yaml cannot add stages by a parameter) and `auto`
    # turns it on wherever vivado_hls is on PATH: compare with it off on any machine
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["resources"]["synthesis"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    jobs = snakemake_jobs(tmp_path)
    smk = [(j["shellcmd"].strip(), frozenset(j["input"]), frozenset(j["output"])) for j in jobs]
    threads = {j["rule_name"]: j["threads"] for j in jobs}
    dvc, dvc_sections = dvc_stages(tmp_path)
    assert len(smk) == len(dvc) >= 12
    assert sorted(smk, key=str) == sorted(dvc, key=str)
    dvc_declared = [s for s in STAGES if "dvc" in s.engines]
    assert dvc_sections == {s.name: sections(s, params) for s in dvc_declared}
    # the threads a rule asks for are those its DVC command passes (pixelize --threads)
    assert {s.name: threads[s.name] for s in dvc_declared} == {
        s.name: s.threads or 1 for s in dvc_declared}


def test_generated_files_are_current(root):
    assert stale(root) == [], f"run `{WRITE_COMMAND}`"
    assert main(["--root", str(root)]) == 0


def test_every_command_the_engines_run_parses(root):
    """The commands written into both engines' files are valid for the argparse built from
    the same declaration, and pass every required argument."""
    params = dvc_params(yaml.safe_load((root / "params.yaml").read_text()))
    parser = build_parser()
    for stage in STAGES:
        # a DVC matrix item as a job would have it (a chunk is a number)
        command = re.sub(r"\$\{item\.(\w+)\}",
                         lambda m: "0" if m.group(1) == "chunk" else m.group(1),
                         dvc_command(stage, params))
        words = command.split()
        args = parser.parse_args(words[1:])
        assert args.command == stage.name and args.log
        for arg in stage.args:
            if arg.required:
                assert arg.flag in words, (stage.name, arg.flag)


def test_dvc_generates_the_signals_of_params_yaml(tmp_path, copy_project):
    """dvc.yaml's generate matrix is written from generate.signals (DVC cannot join qcd to a
    parameter's list); changing them makes dvc.yaml stale until it is rewritten."""
    copy_project(tmp_path)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["generate"]["signals"] = ["top", "w"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert stale(tmp_path) == ["dvc.yaml"]
    assert main(["--root", str(tmp_path), "--write"]) == 0
    dvc = yaml.safe_load((tmp_path / "dvc.yaml").read_text())["stages"]
    assert dvc["generate"]["matrix"]["process"] == ["qcd", "top", "w"]
    assert "data/jets/w.h5" in dvc["pixelize"]["cmd"].split()
