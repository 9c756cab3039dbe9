"""`jetad scan table|seeds` on run folders: tables written, a bad folder refused in one line."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from jetad.analysis.scores import VAL_GROUP, read_score_file, write_score_file


def write_run(folder, run):
    folder.mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(run["params"]))
    (folder / "training_metrics.json").write_text(json.dumps(run["training"]))
    (folder / "metrics.json").write_text(json.dumps(run["metrics"]))


def write_scores(folder, kl_total, val):
    """A seed run's scores.h5: the same 4 QCD and 4 top test jets in every run."""
    label = np.r_[np.zeros(4), np.ones(4)].astype(int)
    write_score_file(folder / "scores.h5", {"kl_total": kl_total}, label, np.arange(8.0),
                     {"process": label.astype(np.int8), VAL_GROUP: {"kl_total": val}})


def jetad(*args, cwd):
    return subprocess.run([sys.executable, "-m", "jetad.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True)


def test_scan_table_and_seeds_from_run_folders(tmp_path, root, fake_run):
    for s, a in ((1, 0.90), (2, 0.94)):
        write_run(tmp_path / "runs" / str(s), fake_run(str(s), {"top": {"kl_total": a}}, seed=s))
    runs = [tmp_path / "runs" / "1", tmp_path / "runs" / "2"]
    r = jetad("scan", "--params", root / "params.yaml", "table", "--runs", *runs,
              "--csv", tmp_path / "t.csv", "--md", tmp_path / "t.md", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert [row["run"] for row in rows[:2]] == ["1", "2"]
    assert rows[2]["baseline"] == "jet_mass"
    assert float(rows[1]["top_headline_auc"]) == 0.94
    # equal validation background: the tie goes by name; run 2's better AUC chooses nothing
    assert [row["chosen"] for row in rows[:2]] == ["1", "0"]
    assert "Chosen without signal labels: **1**" in (tmp_path / "t.md").read_text()
    # seed 1 ranks every top above every QCD jet; seed 2 on a scale 100 times larger, the
    # reverse: standardized, seed 1's margin is the larger, so the ensemble keeps its order
    write_scores(runs[0], np.r_[0, 1, 2, 3, 10, 11, 12, 13.0], np.array([0, 1, 2, 3.0]))
    write_scores(runs[1], np.r_[4, 5, 6, 7, 0, 1, 2, 3.0] * 100, np.array([0, 2, 4, 6.0]) * 100)
    r = jetad("scan", "--params", root / "params.yaml", "seeds", "--runs", *runs,
              "--csv", tmp_path / "s.csv", "--md", tmp_path / "s.md", "--json", tmp_path / "s.json",
              "--ensemble", tmp_path / "e.h5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    spread = json.loads((tmp_path / "s.json").read_text())
    assert spread["top_diagnostic_best_auc"]["mean"] == pytest.approx(0.92)
    assert spread["ensemble"]["per_signal"]["top"]["auc"] == 1.0
    assert spread["ensemble"]["standardization"]["2"]["mean"] == 300.0
    ens = read_score_file(tmp_path / "e.h5")["scores"]["ensemble"]
    # jet 0: seed 1 (0 - 1.5) / 1.118, seed 2 (400 - 300) / 223.6
    assert ens[0] == pytest.approx(((0 - 1.5) / 1.25 ** 0.5 + 100 / 5 ** 0.5 / 100) / 2)
    md = (tmp_path / "s.md").read_text().splitlines()
    # the result first: the headline over the seeds, then the ensemble, then the seeds
    assert md[2].startswith("| detector | top AUC | top 1/eps_B |")
    assert md[4].startswith("| kl_total, mean ± std over 2 seeds | 0.920 ± 0.028 |")
    assert md[5].startswith("| ensemble: mean of kl_total standardized on each seed's "
                            "validation QCD | 1.000 [1.000, 1.000] |")


def test_the_headline_rule_reads_the_validation_background_not_the_labels(tmp_path, root,
                                                                         fake_run):
    """Three seeds whose bce orders the validation QCD alike and whose kl_total does not: the
    rule names bce (and warns that kl_total is declared); permuting the test jets' labels
    changes the ensemble's AUC, not the rule's line."""
    rng = np.random.default_rng(2)
    base = rng.normal(size=50)
    runs = [tmp_path / "runs" / str(s) for s in (1, 2, 3)]
    for k, folder in enumerate(runs):
        write_run(folder, fake_run(folder.name, {"top": {"kl_total": 0.9}}, seed=k + 1))
    args = ("scan", "--params", root / "params.yaml", "seeds", "--runs", *runs, "--csv",
            tmp_path / "s.csv", "--md", tmp_path / "s.md", "--json", tmp_path / "s.json",
            "--ensemble", tmp_path / "e.h5")
    vals = [{"kl_total": rng.normal(size=50), "bce": base + rng.normal(0, 0.1, 50)}
            for _ in runs]
    out, lines = [], []
    for label in (np.r_[np.zeros(4), np.ones(4)], np.r_[1, 0, 1, 0, 1, 0, 1, 0]):
        label = label.astype(int)
        for folder, val in zip(runs, vals, strict=True):
            write_score_file(folder / "scores.h5", {"kl_total": np.arange(8.0)}, label,
                             np.arange(8.0), {"process": label.astype(np.int8), VAL_GROUP: val})
        r = jetad(*args, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "the label-free headline rule picks bce" in r.stderr
        spread = json.loads((tmp_path / "s.json").read_text())
        assert spread["headline_rule"]["score"] == "bce"
        assert spread["headline_rule"]["reproducibility"]["bce"] > 0.9
        rule_line = [ln for ln in (tmp_path / "s.md").read_text().splitlines()
                     if ln.startswith("Label-free headline rule")]
        assert len(rule_line) == 1 and "**bce**, not the declared `kl_total`" in rule_line[0]
        out.append(spread["ensemble"]["per_signal"]["top"]["auc"])
        lines.append(rule_line[0])
    assert out[0] == 1.0 and out[1] < 1.0
    assert lines[0] == lines[1]


def test_a_run_without_metrics_is_one_line_and_writes_nothing(tmp_path, root, fake_run):
    write_run(tmp_path / "a", fake_run("a", {"top": {"kl_total": 0.9}}))
    (tmp_path / "a" / "metrics.json").unlink()
    r = jetad("scan", "--params", root / "params.yaml", "table", "--runs", tmp_path / "a",
              "--csv", tmp_path / "t.csv", "--md", tmp_path / "t.md", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"jetad scan: error: {tmp_path / 'a' / 'metrics.json'}: no such file"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_the_chosen_point_follows_the_validation_background_not_the_signals(tmp_path, root,
                                                                            fake_run):
    """Run b has the lower validation negative ELBO and is chosen; rewriting every signal AUC
    of both runs' metrics.json leaves that choice."""
    for name, bce, auc in (("a", 6.0, 0.95), ("b", 5.0, 0.60)):
        run = fake_run(name, {"top": {"kl_total": auc}})
        run["training"]["val"]["bce"] = bce
        write_run(tmp_path / name, run)
    args = ("scan", "--params", root / "params.yaml", "table", "--runs", tmp_path / "a",
            tmp_path / "b", "--csv", tmp_path / "t.csv", "--md", tmp_path / "t.md")
    chosen = []
    for auc_a, auc_b in ((0.95, 0.60), (0.10, 0.99)):
        for name, auc in (("a", auc_a), ("b", auc_b)):
            m = json.loads((tmp_path / name / "metrics.json").read_text())
            m["top/jointvae/kl_total"]["auc"] = auc
            (tmp_path / name / "metrics.json").write_text(json.dumps(m))
        r = jetad(*args, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        rows = list(csv.DictReader((tmp_path / "t.csv").open()))
        assert float(rows[0]["top_headline_auc"]) == auc_a
        chosen.append([row["chosen"] for row in rows[:2]])
    assert chosen == [["0", "1"], ["0", "1"]]


def test_scan_inverse_sets_the_inverse_run_beside_the_main_one(tmp_path, root, fake_run):
    run = fake_run("top", {"qcd": {"kl_total": 0.72}, "w": {"kl_total": 0.41}})
    run["params"]["split"] = {"background": "top"}
    run["metrics"]["headline"] = {"score": "kl_total", "per_signal": {
        s: run["metrics"][f"{s}/jointvae/kl_total"] for s in ("qcd", "w")}}
    write_run(tmp_path / "inverse" / "top", run)
    main = fake_run("main", {"top": {"kl_total": 0.93}, "w": {"kl_total": 0.80}})["metrics"]
    main["headline"] = {"score": "kl_total", "per_signal": {
        s: main[f"{s}/jointvae/kl_total"] for s in ("top", "w")}}
    (tmp_path / "metrics.json").write_text(json.dumps(main))
    r = jetad("scan", "--params", root / "params.yaml", "inverse", "--main",
              tmp_path / "metrics.json", "--runs", tmp_path / "inverse" / "top", "--csv",
              tmp_path / "i.csv", "--md", tmp_path / "i.md", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader((tmp_path / "i.csv").open()))
    assert [(x["task"], x["background"], x["anomaly"], x["auc"], x["in_worst_case"])
            for x in rows] == [("main", "qcd", "top", "0.93", "1"), ("main", "qcd", "w", "0.8", "1"),
                               ("inverse", "top", "qcd", "0.72", "1"),
                               ("inverse", "top", "w", "0.41", "0")]
    assert "AUC 0.720 (inverse qcd)" in (tmp_path / "i.md").read_text()
