"""`jetad scan table|seeds` on run folders: tables written, a bad folder refused in one line."""

import csv
import json
import subprocess
import sys

import pytest
import yaml


def write_run(folder, run):
    folder.mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(run["params"]))
    (folder / "training_metrics.json").write_text(json.dumps(run["training"]))
    (folder / "metrics.json").write_text(json.dumps(run["metrics"]))


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
    r = jetad("scan", "--params", root / "params.yaml", "seeds", "--runs", *runs,
              "--csv", tmp_path / "s.csv", "--md", tmp_path / "s.md", "--json", tmp_path / "s.json",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    spread = json.loads((tmp_path / "s.json").read_text())
    assert spread["top_diagnostic_best_auc"]["mean"] == pytest.approx(0.92)


def test_a_run_without_metrics_is_one_line_and_writes_nothing(tmp_path, root, fake_run):
    write_run(tmp_path / "a", fake_run("a", {"top": {"kl_total": 0.9}}))
    (tmp_path / "a" / "metrics.json").unlink()
    r = jetad("scan", "--params", root / "params.yaml", "table", "--runs", tmp_path / "a",
              "--csv", tmp_path / "t.csv", "--md", tmp_path / "t.md", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"jetad scan: error: {tmp_path / 'a' / 'metrics.json'}: no such file"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
