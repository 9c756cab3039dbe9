"""One declaration of each stage (jetad.pipeline.registry) gives `jetad <stage>`'s argparse,
the Snakemake rules and dvc.yaml (jetad.pipeline.render). The generated files must be current,
and each engine, asked through its own interface, must run the same commands with the same
inputs and outputs, including the source files each stage runs (jetad.pipeline.code_deps)."""

import os
import re
import subprocess
import sys

import pytest
import yaml

from jetad.cli import build_parser
from jetad.pipeline.__main__ import FILES, main, stale
from jetad.pipeline.registry import DSE_STAGES, INVERSE_STAGES, SCAN_STAGES, STAGES
from jetad.pipeline.render import DSE_DVC_FILE, WRITE_COMMAND, dvc_command, in_dvc, sections
from jetad.pipeline.values import dvc_params


def dvc_stages(workdir, dvcfile="dvc.yaml"):
    """(command, deps, outs) of every stage of the pipeline file `dvcfile` as DVC resolves it
    (matrix, templates, wdir; paths relative to the project), and stage -> the params.yaml
    sections it depends on."""
    from dvc.repo import Repo

    def rel(path):
        return os.path.relpath(path, workdir)

    if not (workdir / ".dvc").is_dir():
        subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=workdir, check=True)
    with Repo(str(workdir)) as repo:
        every = list(repo.index.stages)
        outs = {rel(o.fs_path) for s in every for o in s.outs}
        result, params = [], {}
        for s in every:
            if rel(s.dvcfile.path) != dvcfile:
                continue
            deps = set()
            for d in s.deps:
                if d.__class__.__name__ == "ParamsDependency":
                    params[s.name.split("@")[0]] = list(d.params)
                    continue
                path = rel(d.fs_path)
                inside = {o for o in outs if o.startswith(path.rstrip("/") + "/")}
                deps |= inside or {path}  # a folder dep stands for the stage outs inside it
            result.append((s.cmd, frozenset(deps), frozenset(rel(o.fs_path) for o in s.outs)))
        return result, params


@pytest.mark.integration
@pytest.mark.parametrize("preset, parts", [("default", 1), ("quick", 3), ("jetnet", 1)],
                         ids=["default", "quick-pixelize-parts", "jetnet"])
def test_snakemake_and_dvc_run_the_same_jobs(tmp_path, env_path, preset, parts, copy_project,
                                             snakemake_jobs):
    """With pixelize.parts 3, pixelize's 3 part jobs and their gather in both."""
    copy_project(tmp_path)
    subprocess.run(["jetad", "preset", preset], cwd=tmp_path, check=True, capture_output=True)
    # HLS synthesis is Snakemake-only (dvc.yaml cannot add stages by a parameter) and `auto`
    # turns it on wherever vivado_hls is on PATH: compare with it off on any machine
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["resources"]["synthesis"] = False
    params["pixelize"]["parts"] = parts
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert main(["--root", str(tmp_path), "--write"]) == 0
    jobs = snakemake_jobs(tmp_path)
    smk = [(j["shellcmd"].strip(), frozenset(j["input"]), frozenset(j["output"])) for j in jobs]
    threads = {j["rule_name"]: j["threads"] for j in jobs}
    dvc, dvc_sections = dvc_stages(tmp_path)
    assert len(smk) == len(dvc) >= 12
    assert sorted(smk, key=str) == sorted(dvc, key=str)
    rules = [j["rule_name"] for j in jobs]
    assert (rules.count("pixelize"), rules.count("pixelize_part"),
            rules.count("pixelize_gather")) == ((1, 0, 0) if parts == 1 else (0, parts, 1))
    # pixelize's parts and gather are stages with pixelize.parts > 1 only
    dvc_declared = [s for s in STAGES if in_dvc(s, dvc_params(params))]
    # the particle-level stage is in both engines' files where the jets keep JetNet's arrays
    assert ("sparse" in dvc_sections) == (preset == "jetnet")
    assert dvc_sections == {s.name: sections(s, params) for s in dvc_declared}
    # the threads a rule asks for are those its DVC command passes (pixelize --threads)
    assert {s.name: threads[s.name] for s in dvc_declared} == {
        s.name: s.threads or 1 for s in dvc_declared}


@pytest.mark.integration
def test_the_design_space_scan_runs_the_same_jobs_in_both_engines(tmp_path, env_path,
                                                                   copy_project, snakemake_jobs):
    """workflow/dse/dvc.yaml (wdir at the root) against `snakemake dse`, on the quick
    preset's grid: not in a fresh project, written by `--dse`, then kept current by `jetad
    preset`."""
    copy_project(tmp_path)
    assert not (tmp_path / DSE_DVC_FILE).exists()
    subprocess.run([sys.executable, "-m", "jetad.pipeline", "--write"], cwd=tmp_path, check=True)
    assert not (tmp_path / DSE_DVC_FILE).exists()  # --write alone does not add it
    subprocess.run([sys.executable, "-m", "jetad.pipeline", "--dse"], cwd=tmp_path, check=True)
    default = yaml.safe_load((tmp_path / DSE_DVC_FILE).read_text())["stages"]
    done = subprocess.run(["jetad", "preset", "quick"], cwd=tmp_path, check=True,
                          capture_output=True, text=True)
    assert f"{DSE_DVC_FILE} rewritten" in done.stdout
    assert stale(tmp_path) == []
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    quick = yaml.safe_load((tmp_path / DSE_DVC_FILE).read_text())["stages"]
    assert len(default["dse"]["deps"]) > len(quick["dse"]["deps"])  # the grids differ
    jobs = [j for j in snakemake_jobs(tmp_path, "dse") if j["rule_name"].startswith("dse")]
    smk = [(j["shellcmd"].strip(), frozenset(j["input"]), frozenset(j["output"])) for j in jobs]
    dvc, dvc_sections = dvc_stages(tmp_path, DSE_DVC_FILE)
    grid = params["dse"]
    n_points = (len(grid["precisions"]) * len(grid["io_types"]) * len(grid["strategies"])
                * len(grid["reuse_factors"]))
    assert len(smk) == len(dvc) == 2 * len(grid["precisions"]) + n_points + 1
    assert sorted(smk, key=str) == sorted(dvc, key=str)
    assert dvc_sections == {s.name: sections(s, params) for s in DSE_STAGES}
    assert dvc_sections["dse_emulate"] == ["seed", "train.kl_eps", "hls", "dse.n_images"]
    threads = {j["rule_name"]: j["threads"] for j in jobs}
    assert threads == {s.name: s.threads or 1 for s in DSE_STAGES}


def test_plain_dvc_repro_runs_dvc_yaml_only(tmp_path, env_path):
    """The layout the design-space scan relies on, with real DVC on a two-file pipeline: a
    pipeline file in workflow/dse with `wdir` at the root runs only when named, writes its
    outputs at the root, and sees the main pipeline's outputs as its inputs."""
    (tmp_path / "workflow" / "dse").mkdir(parents=True)
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  main:\n    cmd: echo main > main.txt\n    outs: [main.txt]\n")
    (tmp_path / DSE_DVC_FILE).write_text(
        "stages:\n  scan:\n    wdir: ../..\n    cmd: cat main.txt > scan.txt\n"
        "    deps: [main.txt]\n    outs: [scan.txt]\n")
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=tmp_path, check=True)

    def repro(*target):
        return subprocess.run(["dvc", "repro", *target], cwd=tmp_path, check=True,
                              capture_output=True, text=True).stdout

    assert "'scan'" not in repro() and (tmp_path / "main.txt").is_file()
    assert not (tmp_path / "scan.txt").exists()
    out = repro(DSE_DVC_FILE)
    assert "Running stage 'workflow/dse/dvc.yaml:scan'" in out
    assert "'main'" not in out.replace("Stage 'main' didn't change", "")
    assert (tmp_path / "scan.txt").read_text() == "main\n"
    assert (tmp_path / "workflow" / "dse" / "dvc.lock").is_file()


def test_generated_files_are_current(root):
    assert set(FILES) == {"dvc.yaml", "workflow/rules/stages.smk", "workflow/rules/scan.smk",
                          "workflow/rules/inverse.smk", "workflow/rules/dse.smk"}
    # written on demand only: DVC would list a committed, never-run scan in every `dvc status`
    assert DSE_DVC_FILE not in subprocess.run(["git", "ls-files"], cwd=root, capture_output=True,
                                              text=True, check=True).stdout
    assert stale(root) == [], f"run `{WRITE_COMMAND}`"
    assert main(["--root", str(root)]) == 0


def test_every_command_the_engines_run_parses(root):
    """The commands written into the engines' files are valid for the argparse built from
    the same declaration, and pass every required argument (the scan's runs too, Snakemake's
    only: the command is the same whichever engine fills it in)."""
    params = dvc_params(yaml.safe_load((root / "params.yaml").read_text()))
    parser = build_parser()
    item = {"chunk": "0", "reuse": "0", "group": "scan", "part": "0"}  # as a job has them
    for stage in (*STAGES, *DSE_STAGES, *SCAN_STAGES, *INVERSE_STAGES):
        command = re.sub(r"\$\{item\.(\w+)\}", lambda m: item.get(m.group(1), m.group(1)),
                         dvc_command(stage, params))
        words = command.split()
        args = parser.parse_args(words[1:])
        assert args.command == stage.command_name and args.log
        assert getattr(args, "action", None) == stage.action
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


def test_a_scan_run_runs_its_pipeline_stage_on_its_own_parameters(root):
    """workflow/rules/scan.smk's train, score and evaluate of one run: the pipeline stage's
    command on the run's parameter file, less the outputs a run does not write."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    flags = {s.name: [w for w in dvc_command(s, params).split() if w.startswith("--")]
             for s in SCAN_STAGES if not s.action}
    assert flags == {
        "scan_train": ["--params", "--train", "--val", "--model", "--metrics", "--history",
                       "--checkpoint-dir", "--log"],
        "scan_score": ["--params", "--model", "--test", "--val", "--out", "--log"],
        "scan_evaluate": ["--params", "--scores", "--baseline-scores", "--roc", "--metrics",
                          "--log"]}
    train = next(s for s in SCAN_STAGES if s.name == "scan_train")
    assert dvc_command(train, params).startswith(
        "jetad train --params results/${item.group}/${item.run}/params.yaml --train "
        "data/split/train.h5 ")
