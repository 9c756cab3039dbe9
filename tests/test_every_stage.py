"""Every stage of `snakemake all`, on a tiny project: what each run really imports against the
code dependencies both engines declare, an edit of one module per package against the stages
each engine plans to rerun, the README's DVC record step against a plain `dvc status`, and a
failure at the final rename of each stage's outputs (and a SIGKILL per engine) against what is
left behind and what a rerun writes.

The tiny project is the quick preset made smaller still (one chunk, a JointVAE trained for one
epoch on 96 jets, one small hls4ml part, a tiny trigger student); the runs are real, watched from
outside through tests/fixtures/process_hooks (imports and output renames traced; a fault or a
SIGKILL at a chosen rename), so jetad itself holds no test hook."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.build]

HOOKS = Path(__file__).resolve().parent / "fixtures" / "process_hooks"
# the stages' own settings, smaller than the quick preset's where it costs minutes
TINY = {
    "generate": {"chunks": [0], "jets_per_chunk": {"qcd": 240, "top": 60, "w": 60, "z": 60}},
    "train": {"epochs": 1, "max_train_jets": 96, "max_val_jets": 32, "batch_size": 32},
    "baseline": {"epochs": 1, "max_train_jets": 96, "max_val_jets": 32, "batch_size": 32,
                 "filters": [4, 8, 8], "latent": 8},
    "supervised": {"epochs": 1, "max_train_jets": 96, "filters": [4, 8], "dense": 8},
    "evaluate": {"mass_window_min_jets": 10, "embedding_max_points": 60, "pca_max_points": 200},
    "qat": {"epochs": 1, "max_images": 96, "batch_size": 32},
    "hls": {"parts": ["block"], "only": ["heads"], "n_images": 40},
    "distill": {"pool": 8, "conv": [2], "dense": [4], "epochs": 2, "batch_size": 32,
                "sparsity_scan": [0.0], "prune_epochs": 1, "bits_scan": []},
}
# one module per package, each imported by some stages and not by others
TOUCHED = ["jetad/data/images.py", "jetad/analysis/bootstrap.py", "jetad/models/losses.py",
           "jetad/quant/energy.py", "jetad/trigger/levers.py", "jetad/fpga/hls4ml/csim.py",
           "jetad/fpga/estimate/rho.py", "jetad/fpga/rtl/yosys.py", "jetad/fpga/keras_graph.py",
           "jetad/stages/provenance.py"]


def run(cmd, cwd, env, check=True):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check:
        assert result.returncode == 0, (
            f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def digests(workdir: Path) -> dict[str, str]:
    return {str(p.relative_to(workdir)): hashlib.md5(p.read_bytes()).hexdigest()
            for top in ("data", "results") for p in sorted((workdir / top).rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(workdir).parts)}


def environment(workdir: Path, trace: Path | None = None, **hooks) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=f"{workdir / 'src'}{os.pathsep}{HOOKS}",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for name in ("JETAD_TRACE", "JETAD_FAIL_RENAME", "JETAD_KILL_AT_RENAME"):
        env.pop(name, None)
    if trace is not None:
        env["JETAD_TRACE"] = str(trace)
    env.update({k: str(v) for k, v in hooks.items()})
    return env


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, copy_project):
    """The tiny project after `snakemake --cores 2 all` with every process traced. Returns
    (folder, {stage: [trace, ...]}, digests of data/ and results/)."""
    d = copy_project(tmp_path_factory.mktemp("every_stage"))
    trace = tmp_path_factory.mktemp("trace")
    env = environment(d)
    run(["jetad", "preset", "quick"], d, env)
    params = yaml.safe_load((d / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section].update(values)
    (d / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run([sys.executable, "-m", "jetad.pipeline", "--write"], d, env)
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        run(cmd, d, env)
    shutil.copy(Path(__file__).resolve().parents[1] / ".dvc" / "config", d / ".dvc" / "config")
    run(["snakemake", "--cores", "2", "all"], d, environment(d, trace))
    traces = defaultdict(list)
    for path in sorted(trace.glob("*.json")):
        doc = json.loads(path.read_text())
        if Path(doc["argv"][0]).name == "jetad":
            traces[doc["argv"][1]].append(doc)
    return d, dict(traces), digests(d)


def dvc_stages(workdir: Path) -> dict:
    return yaml.safe_load((workdir / "dvc.yaml").read_text())["stages"]


def cli_modules(workdir: Path, tmp_path: Path) -> set[str]:
    """What `jetad` imports before it imports a stage: its entry point and the registry that
    declares the arguments (left out of the code dependencies on purpose, jetad.pipeline.code_deps)."""
    run([sys.executable, "-c", "import jetad.cli"], workdir, environment(workdir, tmp_path))
    (doc,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    return set(doc["modules"])


def module_file(workdir: Path, module: str) -> str:
    path = Path("src", *module.split("."))
    return str(path / "__init__.py" if (workdir / path).is_dir() else path.with_suffix(".py"))


def test_each_stage_imports_exactly_its_declared_code(tiny, tmp_path):
    """For every stage of dvc.yaml, the jetad modules a real run imported (sys.modules at exit)
    are its declared code dependencies, apart from those the entry point itself brings."""
    d, traces, _ = tiny
    stages = dvc_stages(d)
    assert set(traces) == set(stages), "every stage of dvc.yaml ran and was traced"
    cli = cli_modules(d, tmp_path)
    for stage, docs in traces.items():
        declared = {p for p in stages[stage]["deps"] if p.startswith("src/") and p.endswith(".py")}
        for doc in docs:
            imported = {module_file(d, m) for m in doc["modules"]}
            loaded_by_cli = {module_file(d, m) for m in cli}
            assert imported - loaded_by_cli <= declared, (stage, sorted(imported - declared))
            assert declared <= imported, (stage, sorted(declared - imported))


def importers(traces: dict, module: str) -> set[str]:
    name = module.removesuffix(".py").replace("/", ".")
    return {stage for stage, docs in traces.items() if any(name in doc["modules"] for doc in docs)}


def snakemake_inputs(workdir: Path, snakemake_jobs) -> dict[str, set[str]]:
    """Rule -> its input files, from Snakemake's forced dry run of `all`. Snakemake reruns a
    job whose input is newer than its outputs; its plan names only the first such job of a
    chain (the others wait on their inputs), so the inputs are what says which rules an edit
    reaches directly."""
    inputs = defaultdict(set)
    for job in snakemake_jobs(workdir, "all"):
        inputs[job["rule_name"]] |= set(job["input"])
    return inputs


def planned_for(dry_run: str, path: str) -> set[str]:
    """Rules a Snakemake dry run plans because `path`, one of their inputs, was updated."""
    rules, rule = set(), None
    for line in dry_run.splitlines():
        if m := re.match(r"(?:local)?rule (\w+):", line):
            rule = m.group(1)
        elif "reason: Updated input files" in line and path in line:
            rules.add(rule)
    return rules


@pytest.fixture(scope="module")
def recorded(tiny):
    """The README's record step after `snakemake all`: a plain `dvc commit --force`."""
    d, _, _ = tiny
    run(["dvc", "commit", "--force", "-q"], d, environment(d))
    return tiny


def test_dvc_status_is_clean_after_the_readme_record_step(recorded):
    d, _, _ = recorded
    env = environment(d)
    assert json.loads(run(["dvc", "status", "--json"], d, env).stdout) == {}
    dry = run(["snakemake", "-n", "--cores", "1", "all"], d, env)
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_an_edit_of_one_module_per_package_reruns_exactly_its_importers(recorded, snakemake_jobs):
    """Each module of TOUCHED gets one more line: DVC (`dvc status`) must name exactly the
    stages whose real run imported it, and so must Snakemake (the rules it is an input of; the
    first of them is the job its dry run plans for that changed input)."""
    d, traces, _ = recorded
    env = environment(d)
    inputs = snakemake_inputs(d, snakemake_jobs)
    seen = set()
    for module in TOUCHED:
        expected = importers(traces, module)
        assert expected and expected != set(traces), f"{module} separates no stages"
        seen |= expected
        path = d / "src" / module
        text, stat = path.read_text(), path.stat()
        try:
            path.write_text(text + "# an edit\n")
            status = json.loads(run(["dvc", "status", "--json"], d, env).stdout)
            rel = f"src/{module}"
            assert {s.split("@")[0] for s in status} == expected, module
            assert all(rel in json.dumps(v) for v in status.values()), module
            assert {rule for rule, files in inputs.items() if rel in files} == expected, module
            planned = planned_for(run(["snakemake", "-n", "--cores", "1", "all"], d, env).stdout, rel)
            assert planned and planned <= expected, module
        finally:
            path.write_text(text)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert {"qat", "hls", "distill", "resources"} <= seen  # the FPGA stages included


def topological(stages: dict) -> list[str]:
    """Stage names, each after the stages whose outputs it reads."""
    outs = {o: s for s, v in stages.items() for o in v.get("outs", [])
            for o in ([o] if isinstance(o, str) else list(o))}
    order, done = [], set()

    def visit(name):
        if name in done:
            return
        done.add(name)
        for dep in stages[name].get("deps", []):
            for out, owner in outs.items():
                if dep == out or dep.startswith(out + "/"):
                    visit(owner)
        order.append(name)

    for name in stages:
        visit(name)
    return order


def declared_outputs(stages: dict, doc: dict) -> list[str]:
    """A stage's outputs from dvc.yaml; a matrix stage's from the command line of its run."""
    outs = [o for spec in stages[doc["argv"][1]].get("outs", [])
            for o in ([spec] if isinstance(spec, str) else list(spec))]
    if any("${" in o for o in outs):
        argv = doc["argv"]
        return [argv[argv.index("--out") + 1]]
    return outs


def remove(workdir: Path, paths) -> None:
    for rel in paths:
        path = workdir / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def test_a_fault_at_the_final_rename_leaves_none_of_a_stages_outputs(tiny, tmp_path):
    """Stage by stage, last first (so each finds its inputs): its outputs removed (as both
    engines do before a job), its command run again from the traced run with the final rename
    of its outputs failing. One line names the file, exit status 2, none of its declared outputs
    is left; then `snakemake all` makes them all again, the same bytes as the undisturbed run."""
    d0, traces, before = tiny
    d = tmp_path / "project"
    shutil.copytree(d0, d, symlinks=True)
    stages = dvc_stages(d)
    for stage in reversed(topological(stages)):
        doc = traces[stage][0]
        outs = declared_outputs(stages, doc)
        remove(d, outs)
        r = run(["jetad", *doc["argv"][1:]], d, environment(d, JETAD_FAIL_RENAME=doc["renames"]),
                check=False)
        errors = [x for x in r.stderr.splitlines() if x.startswith(f"jetad {stage}: error: ")]
        assert (r.returncode, len(errors)) == (2, 1), (stage, r.stderr[-2000:])
        assert errors[0].endswith("injected fault at the final rename"), errors
        assert "Traceback" not in r.stderr
        assert not [o for o in outs if (d / o).exists()], stage
    run(["snakemake", "--cores", "2", "all"], d, environment(d))
    assert digests(d) == before


@pytest.mark.parametrize("engine", ["snakemake", "dvc"])
def test_training_killed_at_its_final_rename_by_each_engine(recorded, tmp_path, engine):
    """The longest stage of the tiny run, `train`, SIGKILLed by itself just before its first
    declared output is renamed into place (that temporary complete, the checkpoints before it
    written), under each engine: the engine reports the failure, none of train's outputs is
    there, and the engine's rerun writes the same bytes as the undisturbed run. (A SIGKILL
    later, between two outputs, leaves the first in place under DVC, which does not clean up
    after a failed command; Snakemake removes a failed job's outputs.)"""
    d0, traces, before = recorded
    d = tmp_path / "project"
    shutil.copytree(d0, d, symlinks=True)
    stages = dvc_stages(d)
    outs = declared_outputs(stages, traces["train"][0])
    remove(d, outs)
    if engine == "snakemake":
        cmd = ["snakemake", "--cores", "2", *outs]
    else:
        cmd = ["dvc", "repro", "--single-item", "--force", "train"]
    renamed = [os.path.relpath(p, d0) if os.path.isabs(p) else p
               for p in traces["train"][0]["renamed"]]
    first = next(k for k, p in enumerate(renamed, 1)
                 if any(p == o or p.startswith(o + "/") for o in outs))
    kill = environment(d, JETAD_KILL_AT_RENAME=first)
    r = run(cmd, d, kill, check=False)
    assert r.returncode != 0
    assert not [o for o in outs if (d / o).exists()]
    assert list(d.rglob(".*jetad-tmp*")), "the kill came after the temporary was written"
    run(cmd, d, environment(d))
    after = digests(d)
    assert {k: after[k] for k in before if k in after} == before
    assert set(after) == set(before)
