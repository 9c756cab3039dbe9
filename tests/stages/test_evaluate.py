"""evaluate reports every signal on its own (background vs that process) beside the combined
metrics, with one ROC figure per signal; the inverse task's QCD anomaly is a signal like any."""

import json
import subprocess
import sys

import numpy as np
import pytest

from jetad.analysis.metrics import auc
from jetad.analysis.scores import write_score_file
from jetad.data.processes import PROCESSES

JETAD = [sys.executable, "-m", "jetad.cli"]


def _score_file(path, counts: dict[str, int], background: str, seed: int = 3):
    """A score file whose jet mass tells the processes apart by different amounts: the 'mass'
    of each process is drawn around its own centre; tau21 is small for the two-prong W and Z,
    tau32 for the three-prong top, as on real jets."""
    rng = np.random.default_rng(seed)
    centre = {"qcd": 60.0, "top": 175.0, "w": 80.0, "z": 91.0}
    process = np.concatenate([np.full(n, PROCESSES.index(p), np.int8)
                              for p, n in counts.items()])
    mass = np.concatenate([rng.normal(centre[p], 12.0, n) for p, n in counts.items()])
    label = (process != PROCESSES.index(background)).astype(np.int8)
    scores = {"mse": rng.random(len(label)) + 0.3 * label, "kl_total": mass / 100.0}
    tau21 = np.concatenate([rng.normal(0.35 if p in ("w", "z") else 0.6, 0.1, n)
                            for p, n in counts.items()])
    tau32 = np.concatenate([rng.normal(0.45 if p == "top" else 0.7, 0.1, n)
                            for p, n in counts.items()])
    write_score_file(path, scores, label, mass,
                     {"process": process, "tau21": tau21, "tau32": tau32},
                     attrs={"processes": ",".join(PROCESSES), "background": background})
    return label, process, mass, tau21, tau32


def _evaluate(d, scores):
    return subprocess.run([*JETAD, "evaluate", "--scores", str(scores), "--roc",
                           str(d / "roc.pdf"), "--metrics", str(d / "metrics.json"),
                           "--figures", str(d / "figs")], capture_output=True, text=True)


@pytest.mark.parametrize("background,counts", [
    ("qcd", {"qcd": 300, "top": 100, "w": 80, "z": 60}),
    ("top", {"top": 200, "qcd": 150, "w": 50}),  # the inverse task
])
def test_every_signal_on_its_own(tmp_path, background, counts):
    label, process, mass, tau21, tau32 = _score_file(tmp_path / "scores.h5", counts, background)
    proc = _evaluate(tmp_path, tmp_path / "scores.h5")
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "metrics.json").read_text())
    signals = [p for p in counts if p != background]
    # the combined keys stay as they were
    assert m["baseline/jet_mass"]["n_signal"] == sum(counts[s] for s in signals)
    assert m["baseline/jet_mass"]["auc"] == pytest.approx(auc(label, mass))
    bg = process == PROCESSES.index(background)
    for sig in signals:
        sel = bg | (process == PROCESSES.index(sig))
        for name in ("jointvae/mse", "jointvae/kl_total", "baseline/jet_mass", "baseline/tau21",
                     "baseline/tau32"):
            r = m[f"{sig}/{name}"]
            assert r["n_signal"] == counts[sig] and r["n_background"] == counts[background]
        assert m[f"{sig}/baseline/jet_mass"]["auc"] == pytest.approx(auc(label[sel], mass[sel]))
        # the N-subjettiness baselines score 1 - tau: fewer prongs = less anomalous
        for name, tau in (("tau21", tau21), ("tau32", tau32)):
            assert m[f"{sig}/baseline/{name}"]["auc"] == pytest.approx(
                auc(label[sel], 1 - tau[sel]))
        assert (tmp_path / "figs" / f"roc_{sig}.pdf").stat().st_size > 1000
    # no key for the background against itself, no figure of an absent process
    assert not any(k.startswith(f"{background}/") for k in m)
    assert sorted(p.name for p in (tmp_path / "figs").glob("roc_*.pdf")) == sorted(
        f"roc_{s}.pdf" for s in signals)
    # the signals differ: a W is nearer QCD's mass than a top is
    if background == "qcd":
        assert m["w/baseline/jet_mass"]["auc"] < m["top/baseline/jet_mass"]["auc"]
        # and tau21 finds the two-prong W, tau32 the three-prong top
        assert m["w/baseline/tau21"]["auc"] > 0.85 > m["top/baseline/tau21"]["auc"]
        assert m["top/baseline/tau32"]["auc"] > 0.85 > m["w/baseline/tau32"]["auc"]


def test_a_score_file_without_n_subjettiness_is_evaluated_without_those_baselines(tmp_path):
    """Score files from before tau21 / tau32 were carried: the other scores, and a warning."""
    import h5py

    _score_file(tmp_path / "scores.h5", {"qcd": 60, "top": 40}, "qcd")
    with h5py.File(tmp_path / "scores.h5", "a") as f:
        del f["tau21"], f["tau32"]
    proc = _evaluate(tmp_path, tmp_path / "scores.h5")
    assert proc.returncode == 0, proc.stderr
    assert "holds no tau21 / tau32" in proc.stderr
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert "baseline/jet_mass" in m and "top/jointvae/mse" in m
    assert not any("tau" in k for k in m)


def test_a_score_file_whose_background_is_two_processes_is_refused(tmp_path):
    _score_file(tmp_path / "scores.h5", {"qcd": 50, "top": 50}, "qcd")
    import h5py

    with h5py.File(tmp_path / "scores.h5", "a") as f:
        f["label"][50:60] = 0  # ten tops with label 0 beside the QCD jets
    proc = _evaluate(tmp_path, tmp_path / "scores.h5")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"jetad evaluate: error: {tmp_path / 'scores.h5'}: label 0 "
                                   "must be one process, the background, not qcd, top")
    assert not (tmp_path / "metrics.json").exists()
