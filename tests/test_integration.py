"""The real workflow on the `quick` preset, end to end, through both engines.

Snakemake runs the pipeline in one copy of the project, `dvc repro` in another; the outputs
must be the same bytes, `dvc commit` after Snakemake must leave the same dvc.lock as
`dvc repro`, a second `dvc repro` must do nothing, each engine must find nothing to do after
the other, a one-line change of the pixelize code must rerun pixelize and what follows (and
not generation) in both, push/pull must round-trip through the default local remote,
`dvc exp run -S` must work and `snakemake --report` must build.

Each copy runs its own source (PYTHONPATH=<copy>/src), the one its stages depend on.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jetad.data.images import read_images

pytestmark = pytest.mark.integration
SPLIT = ["data/split/train.h5", "data/split/val.h5", "data/split/test.h5"]
TARGETS = ["results/roc.pdf", "results/metrics.json", "results/provenance.html"]
STAGES = ["evaluate", "provenance"]
# README: the one command that records a Snakemake run in DVC
RECORD = ["dvc", "commit", "--force", "--with-deps", *STAGES]


def digests(workdir: Path, top: str) -> dict[str, str]:
    files = sorted(p for p in (workdir / top).rglob("*")
                   if p.is_file() and not p.name.startswith("."))
    return {str(p.relative_to(workdir)): hashlib.md5(p.read_bytes()).hexdigest() for p in files}


def run(cmd, cwd, env, **kw):
    if (Path(cwd) / "src" / "jetad").is_dir():  # a project copy runs its own code
        env = dict(env, PYTHONPATH=str(Path(cwd) / "src"))
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def git_dvc_init(workdir: Path, env) -> None:
    run(["git", "init", "-q"], workdir, env)
    run(["git", "config", "user.email", "ci@example.invalid"], workdir, env)
    run(["git", "config", "user.name", "ci"], workdir, env)
    run(["dvc", "init", "-q"], workdir, env)
    shutil.copy(Path(__file__).resolve().parents[1] / ".dvc" / "config",
                workdir / ".dvc" / "config")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, copy_project):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    smk = copy_project(tmp_path_factory.mktemp("snakemake"))
    dvc = copy_project(tmp_path_factory.mktemp("dvc"))
    for workdir in (smk, dvc):
        run(["jetad", "preset", "quick"], workdir, env)
        git_dvc_init(workdir, env)
    run(["snakemake", "--cores", "2", *TARGETS], smk, env)
    run(["dvc", "repro", *STAGES], dvc, env)
    return smk, dvc, env


def test_engines_produce_identical_bytes(runs):
    smk, dvc, _ = runs
    data = digests(smk, "data")
    assert set(SPLIT) <= set(data)
    assert data == digests(dvc, "data")
    results = digests(smk, "results")
    assert set(TARGETS) <= set(results)
    assert results == digests(dvc, "results")


def test_split_outputs_hold_what_the_preset_asks(runs):
    smk, _, _ = runs
    train, val, test = (read_images(smk / t) for t in SPLIT)
    assert (train.label == 0).all() and (val.label == 0).all()
    n_qcd = len(train) + len(val) + int((test.label == 0).sum())
    assert n_qcd == 2 * 200  # quick: 2 chunks of 200 QCD jets
    signals = yaml.safe_load((smk / "params.yaml").read_text())["generate"]["signals"]
    assert len(signals) == 3  # quick inherits the default's top, W and Z
    assert int((test.label == 1).sum()) == 2 * 60 * len(signals)  # 2 chunks of 60 each
    assert abs(int((test.label == 0).sum()) - 0.25 * n_qcd) <= 1


# Measured on the quick preset (2 chunks, 600 training jets, 2 epochs, width 0.125; 2026-11-30):
# KL total AUC 0.894 (bootstrap 68% interval 0.870-0.918), KL continuous 0.894, KL discrete
# 0.798; a detector that learned nothing sits at 0.5. The threshold leaves 0.09 (about four
# bootstrap standard deviations) for other CPUs' rounding and small code changes.
KL_AUC_THRESHOLD = 0.80


def test_the_trained_detector_separates_top_from_qcd(runs):
    """Real Pythia jets through every stage: the declared detector output (evaluate.headline,
    not the best score picked with the labels) must find the tops (top against QCD: the
    all-signals entry mixes in W and Z)."""
    smk, _, _ = runs
    m = json.loads((smk / "results" / "metrics.json").read_text())
    headline = yaml.safe_load((smk / "params.yaml").read_text())["evaluate"]["headline"]
    top = m[f"top/jointvae/{headline}"]
    assert top["auc"] > KL_AUC_THRESHOLD, (headline, top["auc"])
    lo, hi = top["auc_68"]
    assert lo < top["auc"] < hi and hi - lo < 0.1
    assert top["n_signal"] == 2 * 60 and top["n_background"] == 100
    # the all-signals entry counts the jets of every signal against the same background
    assert m["jointvae/kl_total"]["n_signal"] == 3 * 2 * 60
    assert m["jointvae/kl_total"]["n_background"] == 100


# Controls of the same architecture on the same test jets, measured on the quick preset: the
# trained KL total scores top 0.897 (68% interval 0.879-0.917), the untrained (seeded) model
# 0.572, the collapsed one (latent heads zeroed: every jet at the prior) 0.500. The margin
# asked, 0.15, is about seven half-widths of the trained model's 68% interval.
CONTROL_MARGIN = 0.15


def _top_auc(path: Path, name: str) -> float:
    from jetad.analysis.metrics import auc
    from jetad.analysis.scores import read_score_file
    from jetad.data.processes import PROCESSES

    s = read_score_file(path)
    sel = (s["label"] == 0) | (s["process"] == PROCESSES.index("top"))
    return auc(s["label"][sel], s["scores"][name][sel])


def test_the_detector_beats_its_untrained_and_collapsed_controls(runs, tmp_path):
    """A detector that learned nothing must not pass: the same test jets scored by the same
    architecture untrained (seeded as the training was) and deliberately collapsed (its latent
    heads zeroed) must stay CONTROL_MARGIN below the trained model's declared score (KL total
    by default), whose latent keeps active dimensions."""
    import numpy as np

    from jetad.models import jointvae
    from jetad.models.determinism import setup_tf

    smk, _, env = runs
    trained = jointvae.load(smk / "results" / "model" / "jointvae")
    setup_tf(int(yaml.safe_load((smk / "params.yaml").read_text())["seed"]))
    jointvae.save(jointvae.JointVAE(trained.cfg), tmp_path / "untrained")
    for name in ("z_mean", "z_var", "z_categorical"):
        layer = trained.encoder.get_layer(name)
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    jointvae.save(trained, tmp_path / "collapsed")
    headline = yaml.safe_load((smk / "params.yaml").read_text())["evaluate"]["headline"]
    auc = {"trained": _top_auc(smk / "results" / "scores.h5", headline)}
    for control in ("untrained", "collapsed"):
        run(["jetad", "score", "--model", str(tmp_path / control), "--test",
             "data/split/test.h5", "--val", "data/split/val.h5", "--out",
             str(tmp_path / f"{control}.h5")], smk, env)
        auc[control] = _top_auc(tmp_path / f"{control}.h5", headline)
    assert auc["collapsed"] == 0.5, auc  # every jet the same score
    assert auc["trained"] > max(auc["untrained"], auc["collapsed"]) + CONTROL_MARGIN, auc
    collapse = json.loads((smk / "results" / "training_metrics.json").read_text())["collapse"]
    assert collapse["active_dims"] > 0


# Measured on the quick preset (same run, commit 352339f, 2026-11-30): 1 - tau32 AUC 0.947
# (68% 0.934-0.962), 1 - tau21 0.605, jet mass 0.941. The threshold leaves 0.15 for rounding
# and code changes; the wrong direction (tau32 itself) would give 0.05, a random score 0.5.
TAU32_AUC_THRESHOLD = 0.80


def test_the_n_subjettiness_baseline_finds_the_three_prong_tops(runs):
    """pixelize -> split -> score -> evaluate carry tau32 row for row: on real jets,
    1 - tau32 ranks the tops (three prongs) above QCD, per signal too."""
    smk, _, _ = runs
    m = json.loads((smk / "results" / "metrics.json").read_text())
    top = m["top/baseline/tau32"]
    assert top["auc"] > TAU32_AUC_THRESHOLD, top
    assert top["n_signal"] == 2 * 60
    assert m["baseline/tau32"]["n_signal"] == 3 * 2 * 60
    # W and Z have two prongs: 1 - tau32 ranks them below the tops
    assert m["w/baseline/tau32"]["auc"] < top["auc"] and m["z/baseline/tau32"]["auc"] < top["auc"]


def test_dvc_commit_after_snakemake_gives_the_same_lock(runs):
    smk, dvc, env = runs
    run(RECORD, smk, env)
    lock_smk = yaml.safe_load((smk / "dvc.lock").read_text())
    lock_dvc = yaml.safe_load((dvc / "dvc.lock").read_text())
    assert set(lock_smk["stages"]) == set(lock_dvc["stages"])
    assert lock_smk == lock_dvc


def test_second_repro_does_nothing_and_snakemake_agrees(runs):
    smk, dvc, env = runs
    before = digests(dvc, "results")
    out = run(["dvc", "repro", *STAGES], dvc, env).stdout
    assert "Running stage" not in out
    assert digests(dvc, "results") == before
    dry = run(["snakemake", "-n", "--cores", "2", *TARGETS], smk, env)
    assert "Nothing to be done" in dry.stdout + dry.stderr


def snakemake_summary(workdir: Path, env, *extra) -> list[dict[str, str]]:
    """The rows of `snakemake -n --summary` (a tab-separated table of the outputs of the
    requested jobs with their rule and the plan for them: "update pending" or "no update")."""
    out = run(["snakemake", "-n", "--summary", "--cores", "1", *extra, *TARGETS],
              workdir, env).stdout.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("output_file\t"))
    columns = out[header].split("\t")
    return [dict(zip(columns, line.split("\t"), strict=True)) for line in out[header + 1:] if line]


def snakemake_plan(workdir: Path, env, *extra) -> dict[str, str]:
    """rule -> "update pending" or "no update" (snakemake_summary)."""
    plan: dict[str, str] = {}
    for row in snakemake_summary(workdir, env, *extra):  # pending if any of its outputs is
        if plan.get(row["rule"]) != "update pending":
            plan[row["rule"]] = row["plan"]
    return plan


def dvc_status(workdir: Path, env) -> dict:
    import json

    return json.loads(run(["dvc", "status", "--json", *STAGES, "--with-deps"], workdir, env).stdout)


def reverse_mtimes(workdir: Path) -> None:
    """Give the files under data/ and results/ the reverse of their order in time, the worst
    that rewriting them in an arbitrary order (as `dvc commit` and `dvc checkout` do) can give:
    each input is then newer than the outputs made from it. Snakemake's own time stamps of its
    directory outputs are left alone (DVC ignores them, .dvcignore)."""
    files = [p for top in ("data", "results") for p in (workdir / top).rglob("*")
             if p.is_file() and p.name != ".snakemake_timestamp"]
    files.sort(key=lambda p: p.stat().st_mtime_ns)
    start = max(p.stat().st_mtime_ns for p in files) + 10**9
    for rank, path in enumerate(reversed(files)):
        t = start + rank * 10**7
        os.utime(path, ns=(t, t))


def test_engines_agree_after_each_other(runs):
    """After a Snakemake run and the README's one command to record it in DVC, neither engine
    has anything to do, even with every file rewritten in the worst order; after `dvc repro`,
    Snakemake has nothing to do either. Snakemake compares the content of an input newer than
    the outputs with what it recorded (profiles/default raises the 1 MB limit of that check)."""
    smk, dvc, env = runs
    run(RECORD, smk, env)
    assert dvc_status(smk, env) == {}
    reverse_mtimes(smk)
    plan = snakemake_plan(smk, env)
    assert {"generate", "jets", "pixelize", "split", "train", "evaluate", "provenance"} <= set(plan)
    assert set(plan.values()) == {"no update"}, plan
    # the check can fail: Snakemake comparing no content at all would rerun. (The quick
    # preset's files are all under Snakemake's default 1 MB limit; that the profile lifts it is
    # tested in tests/cluster/test_profiles.py.)
    assert "update pending" in snakemake_plan(smk, env, "--max-checksum-file-size", "0").values()
    assert dvc_status(smk, env) == {}
    # the other direction: DVC's run, then Snakemake
    assert dvc_status(dvc, env) == {}
    plan = snakemake_plan(dvc, env)
    assert set(plan.values()) == {"no update"}, plan


PIXELIZE = "src/jetad/data/pixel_kernel.py"
# one line of the kernel: every image shifts by one pixel, so pixelize's output bytes change
# and DVC (which compares content) reruns the stages after it as Snakemake does
LINE, CHANGED = "    half = npix / 2.0\n", "    half = npix / 2.0 + 1.0\n"
AFTER_PIXELIZE = {"pixelize", "split", "train", "score", "baseline", "supervised", "evaluate"}


def stage_logs(workdir: Path) -> dict[str, tuple[int, int]]:
    """log -> (size, mtime): every stage appends to its log when it runs, in either engine."""
    return {str(p.relative_to(workdir / "logs")): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in (workdir / "logs").rglob("*.log")}


def ran(before: dict, after: dict) -> set[str]:
    """Stages whose log changed (generate/qcd_0.log -> generate)."""
    return {name.split("/")[0].removesuffix(".log") for name in after
            if before.get(name) != after[name]}


def test_a_pixelize_code_change_reruns_pixelize_and_what_follows(runs, tmp_path):
    """Copies of both finished projects get the same one-line change of the pixelize kernel.
    Snakemake plans pixelize, split, train, score, baseline, supervised and evaluate, not
    generate, jets or provenance (`snakemake -n --summary`); DVC reports pixelize's code dep as changed and
    nothing else (`dvc status`: the stages after it change only if pixelize's output does).
    Then both run: the same stages run (their logs grow), the others do not, and the two
    engines again make the same bytes."""
    smk0, dvc0, env = runs
    copies = {}
    for name, source in (("snakemake", smk0), ("dvc", dvc0)):
        copies[name] = tmp_path / name
        shutil.copytree(source, copies[name], symlinks=True)
        code = (copies[name] / PIXELIZE).read_text()
        assert code.count(LINE) == 1, f"{PIXELIZE} no longer has the line this test changes"
        (copies[name] / PIXELIZE).write_text(code.replace(LINE, CHANGED))
    smk, dvc = copies["snakemake"], copies["dvc"]

    plan = snakemake_plan(smk, env)
    assert {r for r, p in plan.items() if p == "update pending"} == AFTER_PIXELIZE
    assert dvc_status(dvc, env) == {"pixelize": [{"changed deps": {PIXELIZE: "modified"}}]}

    images = digests(smk, "data/images")
    logs = stage_logs(smk)
    run(["snakemake", "--cores", "2", *TARGETS], smk, env)
    assert ran(logs, stage_logs(smk)) == AFTER_PIXELIZE
    assert digests(smk, "data/images") != images

    logs = stage_logs(dvc)
    run(["dvc", "repro", *STAGES], dvc, env)
    assert ran(logs, stage_logs(dvc)) == AFTER_PIXELIZE
    assert digests(smk, "data") == digests(dvc, "data")
    assert digests(smk, "results") == digests(dvc, "results")


def test_a_parameter_reruns_only_the_stages_that_read_it(runs, tmp_path):
    """Each stage declares what it reads of params.yaml, by key where it reads a few keys of a
    section (jetad.pipeline.registry). Dry runs on copies of both finished projects, one
    change of params.yaml at a time: Snakemake's plan (`snakemake -n --summary`) and the DVC
    stages whose own parameters changed (`dvc status`; the stages after them change only if
    their outputs do). data.file, with the generated source, is read by no stage (jets takes
    data.source and its folder as arguments; the stages after it read data.source, for their
    figures' caveat), so provenance alone, which records every parameter, reruns; a new
    chunk generates that chunk only; train.epochs reruns the training and what follows."""
    smk0, dvc0, env = runs
    smk, dvc = tmp_path / "snakemake", tmp_path / "dvc"
    shutil.copytree(smk0, smk, symlinks=True)
    shutil.copytree(dvc0, dvc, symlinks=True)
    written = {w: (w / "params.yaml").read_text() for w in (smk, dvc)}

    def change(section, key, value):
        """(Snakemake's outputs to make, by rule; the DVC stages whose deps changed)."""
        for workdir, text in written.items():
            params = yaml.safe_load(text)
            params[section][key] = value
            (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        pending: dict[str, set[str]] = {}
        for row in snakemake_summary(smk, env):
            if row["plan"] == "update pending":
                pending.setdefault(row["rule"], set()).add(row["output_file"])
        return pending, set(dvc_status(dvc, env))

    pending, stale = change("data", "file", "elsewhere.h5")
    assert (set(pending), stale) == ({"provenance"}, {"provenance"})

    generated = yaml.safe_load(written[smk])["generate"]
    pending, stale = change("generate", "chunks", [*generated["chunks"], 7])
    processes = ("qcd", *generated["signals"])
    assert pending["generate"] == {f"data/chunks/{p}_7.h5" for p in processes}
    assert set(pending) == {"generate", "jets", "provenance", *AFTER_PIXELIZE}
    assert stale == {"jets", "provenance", *(f"generate@{p}-7" for p in processes)}

    pending, stale = change("train", "epochs", 1)
    assert (set(pending), stale) == ({"train", "score", "evaluate", "provenance"},
                                     {"train", "provenance"})


def test_push_and_pull_round_trip_on_a_fresh_clone(runs, tmp_path):
    _, dvc, env = runs
    run(["git", "add", "-A"], dvc, env)
    run(["git", "commit", "-qm", "quick run"], dvc, env)
    run(["dvc", "push"], dvc, env)
    assert any((dvc / ".dvc-storage").rglob("*"))
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(dvc), str(clone)], tmp_path, env)
    assert not (clone / "data" / "split" / "test.h5").exists()
    # the clone reads the first copy's storage: point the default remote at it
    run(["dvc", "remote", "modify", "--local", "local", "url", str(dvc / ".dvc-storage")],
        clone, env)
    # only the stages this test ran (the FPGA stages were not)
    run(["dvc", "pull", "--with-deps", *STAGES], clone, env)
    assert digests(clone, "data") == digests(dvc, "data")
    status = run(["dvc", "status", "--with-deps", *STAGES], clone, env).stdout
    assert "up to date" in status


def test_experiment_with_changed_epochs(runs):
    _, dvc, env = runs
    out = run(["dvc", "exp", "run", "-S", "train.epochs=1", "evaluate"], dvc, env)
    assert "Running stage 'train'" in out.stdout
    shown = json.loads(run(["dvc", "exp", "show", "--json"], dvc, env).stdout)
    # every train.epochs that exp show reports for params.yaml: the experiment's 1 among them
    assert 1 in set(_param_values(shown, "train", "epochs"))


def _param_values(node, section: str, key: str):
    """The values of params.yaml's section.key anywhere in `dvc exp show --json`'s tree."""
    if isinstance(node, dict):
        if "params.yaml" in node and isinstance(node["params.yaml"], dict):
            data = node["params.yaml"].get("data", node["params.yaml"])
            if isinstance(data, dict) and isinstance(data.get(section), dict) \
                    and key in data[section]:
                yield data[section][key]
        for value in node.values():
            yield from _param_values(value, section, key)
    elif isinstance(node, list):
        for value in node:
            yield from _param_values(value, section, key)


def test_snakemake_report_builds(runs):
    smk, _, env = runs
    run(["snakemake", "--cores", "1", "--report", "results/report.html", *TARGETS], smk, env)
    report = (smk / "results" / "report.html").read_text()
    for piece in ("Provenance", "roc.pdf", "training.pdf"):
        assert piece in report
