"""evaluate reports every signal on its own (background vs that process) beside the combined
metrics, with one ROC figure per signal; the inverse task's QCD anomaly is a signal like any."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from jetad.analysis.metrics import auc
from jetad.analysis.scores import read_score_file, write_score_file
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


def _kl_params(d) -> list[str]:
    """params.yaml with KL total declared: the score files made here hold mse and kl_total."""
    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    params["evaluate"]["headline"] = "kl_total"
    (d / "kl_params.yaml").write_text(yaml.safe_dump(params))
    return ["--params", str(d / "kl_params.yaml")]


def _evaluate(d, scores):
    return subprocess.run([*JETAD, "evaluate", "--scores", str(scores), "--roc",
                           str(d / "roc.pdf"), "--metrics", str(d / "metrics.json"),
                           "--figures", str(d / "figs"), *_kl_params(d)],
                          capture_output=True, text=True)


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


def test_a_background_of_two_processes_is_evaluated_as_one(tmp_path):
    """split.background [gluon, quark]: label 0 is every gluon and quark jet, the signals each
    against both together, the background named as the split names it."""
    rng = np.random.default_rng(5)
    counts = {"gluon": 120, "quark": 100, "top": 80, "w": 60}
    process = np.concatenate([np.full(n, PROCESSES.index(p), np.int8) for p, n in counts.items()])
    label = np.isin(process, [PROCESSES.index("top"), PROCESSES.index("w")]).astype(np.int8)
    mass = rng.normal(60.0, 12.0, len(label)) + 100.0 * (process == PROCESSES.index("top"))
    write_score_file(tmp_path / "scores.h5", {"kl_total": mass / 100.0, "mse": rng.random(
        len(label))}, label, mass, {"process": process},
        attrs={"processes": ",".join(PROCESSES), "background": "gluon+quark"})
    proc = _run(tmp_path, tmp_path / "scores.h5", "--summary", str(tmp_path / "summary.md"))
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert sorted({k.split("/")[0] for k in m if k.count("/") == 2}) == ["top", "w"]
    for sig in ("top", "w"):
        r = m[f"{sig}/baseline/jet_mass"]
        assert (r["n_background"], r["n_signal"]) == (220, counts[sig])
    sel = label == 0
    sel |= process == PROCESSES.index("top")
    assert m["top/baseline/jet_mass"]["auc"] == pytest.approx(auc(label[sel], mass[sel]))
    assert "gluon+quark" in (tmp_path / "summary.md").read_text()


def test_a_process_of_both_labels_is_refused(tmp_path):
    _score_file(tmp_path / "scores.h5", {"qcd": 50, "top": 50}, "qcd")
    import h5py

    with h5py.File(tmp_path / "scores.h5", "a") as f:
        f["label"][50:60] = 0  # ten tops with label 0 beside the QCD jets
    proc = _evaluate(tmp_path, tmp_path / "scores.h5")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"jetad evaluate: error: {tmp_path / 'scores.h5'}: jets of "
                                   "top with label 0 and with label 1; a process is background "
                                   "or anomaly, not both")
    assert not (tmp_path / "metrics.json").exists()


def test_label_0_other_than_the_declared_background_is_refused(tmp_path):
    """Every top relabelled 0 beside the QCD jets of a file whose background is qcd."""
    _score_file(tmp_path / "scores.h5", {"qcd": 50, "top": 50, "w": 40}, "qcd")
    import h5py

    with h5py.File(tmp_path / "scores.h5", "a") as f:
        f["label"][50:100] = 0
    proc = _evaluate(tmp_path, tmp_path / "scores.h5")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"jetad evaluate: error: {tmp_path / 'scores.h5'}: label 0 "
                                   "holds qcd, top, but the file's background is qcd")


def _run(d, scores, *extra):
    params = [] if "--params" in extra else _kl_params(d)
    return subprocess.run([*JETAD, "evaluate", "--scores", str(scores), "--roc",
                           str(d / "roc.pdf"), "--metrics", str(d / "metrics.json"), *params,
                           *extra], capture_output=True, text=True)


@pytest.mark.parametrize("background,counts", [
    ("qcd", {"qcd": 200, "top": 80, "w": 60}),
    ("top", {"top": 150, "qcd": 90}),  # the inverse task: QCD is the signal
])
def test_summary_table_sampled_scores_and_supervised_ceiling(tmp_path, background, counts):
    """Every signal x every score in the summary (CSV numbers = metrics.json), the sampled
    latent's scores beside the deterministic ones without changing those, and the supervised
    ceiling under its own key and name."""
    import csv

    import h5py

    from jetad.analysis.summary import SUPERVISED, display

    path = tmp_path / "scores.h5"
    label, process, mass, _, _ = _score_file(path, counts, background)
    proc = _run(tmp_path, path)
    assert proc.returncode == 0, proc.stderr
    before = json.loads((tmp_path / "metrics.json").read_text())
    rng = np.random.default_rng(11)
    sampled = rng.random(len(label)) + 0.6 * label
    with h5py.File(path, "a") as f:
        f.create_group("sampled_scores")["mse"] = sampled
    ceiling = mass / 10 + rng.normal(0, 1, len(label))
    signals = [p for p in counts if p != background]
    # the first signal has its own likelihood ratio (jetad supervised writes one per signal)
    own = rng.random(len(label)) + (process == PROCESSES.index(signals[0]))
    write_score_file(tmp_path / "sup.h5", {"classifier": ceiling, f"classifier_{signals[0]}": own},
                     label, mass, {"process": process})
    proc = _run(tmp_path, path, "--supervised-scores", str(tmp_path / "sup.h5"),
                "--summary", str(tmp_path / "s.md"), "--summary-csv", str(tmp_path / "s.csv"))
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "metrics.json").read_text())
    # the deterministic numbers are the very same; the new keys come beside them
    assert {k: m[k] for k in before} == before
    new = {"jointvae_sampled/mse", "supervised/classifier"}
    assert set(m) - set(before) == {f"{p}{k}" for p in ["", *(f"{s}/" for s in signals)]
                                    for k in new}
    bg = process == PROCESSES.index(background)
    for sig in signals:
        sel = bg | (process == PROCESSES.index(sig))
        assert m[f"{sig}/jointvae_sampled/mse"]["auc"] == pytest.approx(
            auc(label[sel], sampled[sel]))
        assert m[f"{sig}/supervised/classifier"]["auc"] == pytest.approx(
            auc(label[sel], (own if sig == signals[0] else ceiling)[sel]))
    assert m["supervised/classifier"]["auc"] == pytest.approx(auc(label, ceiling))
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    keys = [k for k in before if "/" in k and k.split("/")[0] not in counts] + sorted(new)
    assert sorted((r["signal"], r["key"]) for r in rows) == sorted(
        (display(s), k) for s in signals for k in keys)
    for r in rows:
        sig = next(s for s in signals if display(s) == r["signal"])
        ref = m[f"{sig}/{r['key']}"]
        assert float(r["auc"]) == pytest.approx(ref["auc"], rel=1e-5)
        assert [float(r["auc_lo"]), float(r["auc_hi"])] == pytest.approx(ref["auc_68"], rel=1e-5)
        rej = ref["rejection_at_eff_s_0p3"]
        assert float(r["rejection_at_eff_s_0p3"]) == (
            pytest.approx(rej, rel=1e-5) if rej is not None else float("inf"))
        assert int(r["n_signal"]) == counts[sig]
    md = (tmp_path / "s.md").read_text()
    assert md.startswith("## Detector output: KL total (`evaluate.headline: kl_total`)")
    assert f"\nBackground {display(background)};" in md
    header = next(line for line in md.splitlines() if line.startswith("| score"))
    assert [c.strip() for c in header.strip("|").split("|")] == ["score"] + [
        f"{display(s)} {what}" for s in signals for what in ("AUC", "1/eps_B")]
    assert f"| {SUPERVISED}" in md and "| MSE (sampled latent)" in md
    jm = m[f"{signals[0]}/baseline/jet_mass"]
    assert f"{jm['auc']:.3f} [{jm['auc_68'][0]:.3f}, {jm['auc_68'][1]:.3f}]" in md


def test_a_supervised_file_of_other_jets_is_refused(tmp_path):
    label, process, mass, _, _ = _score_file(tmp_path / "scores.h5", {"qcd": 50, "top": 50},
                                             "qcd")
    write_score_file(tmp_path / "sup.h5", {"classifier": mass[:90]}, label[:90], mass[:90])
    proc = _run(tmp_path, tmp_path / "scores.h5", "--supervised-scores",
                str(tmp_path / "sup.h5"), "--summary", str(tmp_path / "s.md"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"jetad evaluate: error: {tmp_path / 'sup.h5'}: labels differ "
                                   f"from {tmp_path / 'scores.h5'} (90 vs 100 jets); score the "
                                   "same test file")
    assert not (tmp_path / "metrics.json").exists() and not (tmp_path / "s.md").exists()
    write_score_file(tmp_path / "sup.h5", {"mse": mass}, label, mass)
    proc = _run(tmp_path, tmp_path / "scores.h5", "--supervised-scores", str(tmp_path / "sup.h5"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"jetad evaluate: error: {tmp_path / 'sup.h5'}: no score "
                                   "'classifier' (holds mse): not a jetad supervised score file")
    assert not (tmp_path / "metrics.json").exists()


def test_the_nae_is_evaluated_beside_the_jointvae_and_refused_on_other_jets(tmp_path):
    label, process, mass, _, _ = _score_file(tmp_path / "scores.h5",
                                             {"qcd": 60, "top": 50, "w": 40}, "qcd")
    energy = mass + np.random.default_rng(1).normal(0, 30, len(mass))
    write_score_file(tmp_path / "nae.h5", {"energy": energy, "ae_mse": -mass}, label, mass)
    proc = _run(tmp_path, tmp_path / "scores.h5", "--nae-scores", str(tmp_path / "nae.h5"),
                "--summary", str(tmp_path / "s.md"))
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "metrics.json").read_text())
    w = process == PROCESSES.index("w")
    assert m["w/nae/energy"]["auc"] == pytest.approx(auc(label[w | (label == 0)],
                                                         energy[w | (label == 0)]))
    assert m["nae/ae_mse"]["auc"] == pytest.approx(auc(label, -mass))
    md = (tmp_path / "s.md").read_text()
    assert "| NAE energy " in md and "| NAE before its training (AE MSE) " in md
    write_score_file(tmp_path / "nae.h5", {"energy": energy[:100]}, label[:100], mass[:100])
    proc = _run(tmp_path, tmp_path / "scores.h5", "--nae-scores", str(tmp_path / "nae.h5"))
    assert proc.returncode == 2 and "labels differ" in proc.stderr


def test_latent_embeddings_name_every_class_and_umap_is_optional(tmp_path):
    """With the latents in the score file, evaluate draws PCA and t-SNE of both latent parts;
    evaluate.umap asks for UMAP too, which needs umap-learn: without it, a warning, not an
    error."""
    from pathlib import Path

    import h5py
    import yaml

    counts = {"qcd": 60, "top": 30, "z": 20}
    label, process, _, _, _ = _score_file(tmp_path / "scores.h5", counts, "qcd")
    rng = np.random.default_rng(8)
    with h5py.File(tmp_path / "scores.h5", "a") as f:
        f["z_mean"] = rng.normal(process[:, None], 1.0, (len(label), 4)).astype(np.float32)
        f["logits"] = rng.normal(0, 1, (len(label), 5)).astype(np.float32)
        f["category"] = f["logits"][...].argmax(1).astype(np.int16)
    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    params["evaluate"].update(umap=True, embedding_max_points=60, headline="kl_total")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    proc = _run(tmp_path, tmp_path / "scores.h5", "--figures", str(tmp_path / "figs"),
                "--params", str(tmp_path / "p.yaml"))
    assert proc.returncode == 0, proc.stderr
    # umap-learn is pinned in requirements.txt: the UMAP panel must be drawn
    assert "latent embeddings (PCA, t-SNE, UMAP)" in proc.stderr
    assert (tmp_path / "figs" / "latent_embeddings.pdf").read_bytes()[:4] == b"%PDF"


def test_evaluate_with_the_baselines_on_a_tiny_trained_model(tiny_scored, jetad):
    """train -> score -> baseline -> evaluate on real HDF5 files: every key, the per-signal keys,
    the summary and the figures; the mass and tau32 baselines see the fake tops."""
    d = tiny_scored
    jetad(d, "baseline", "--train", "train.h5", "--val", "val.h5", "--test", "test.h5",
          "--out", "baseline_scores.h5")
    jetad(d, "evaluate", "--scores", "scores.h5", "--baseline-scores", "baseline_scores.h5",
          "--roc", "roc.pdf", "--metrics", "metrics.json", "--figures", "figs",
          "--summary", "summary.md")
    m = json.loads((d / "metrics.json").read_text())
    assert "top/jointvae_sampled/mse" in m and "top/jointvae_sampled/kl_total" not in m
    assert "| top AUC" in (d / "summary.md").read_text()
    assert (d / "figs" / "latent_embeddings.pdf").stat().st_size > 1000
    assert "jointvae/kl_total" in m and "baseline/jet_mass" in m and "baseline/conv_ae_mse" in m
    # the one signal's own keys beside the combined ones, and its ROC figure
    assert m["top/jointvae/kl_total"] == m["jointvae/kl_total"]
    assert (d / "figs" / "roc_top.pdf").stat().st_size > 1000
    s = read_score_file(d / "scores.h5")
    for name, values in s["scores"].items():
        assert m[f"jointvae/{name}"]["auc"] == pytest.approx(roc_auc_score(s["label"], values),
                                                            abs=1e-12)
    for r in (v for k, v in m.items() if k != "headline"):
        assert r["n_signal"] == 60 and r["n_background"] == 60
        lo, hi = r["auc_68"]
        assert lo <= r["auc"] <= hi and hi - lo < 0.2
    # The fake tops are heavier by construction: the mass baseline must see it.
    assert m["baseline/jet_mass"]["auc"] > 0.95
    # 1 - tau32: the fake tops' smaller tau32 (0.2-0.6 vs 0.5-0.9) must rank them anomalous,
    # in the combined and the per-signal keys; tau21 is drawn alike for both, so near 0.5
    assert m["baseline/tau32"]["auc"] > 0.85
    assert m["top/baseline/tau32"] == m["baseline/tau32"]
    assert 0.3 < m["top/baseline/tau21"]["auc"] < 0.7
    assert (d / "roc.pdf").stat().st_size > 1000
    assert (d / "figs" / "latent_pca.pdf").is_file()


def test_the_declared_score_leads_and_is_measured_beyond_the_mass(tmp_path):
    """evaluate.headline picks the score of metrics.json's `headline`, of the summary's first
    table and of --headline, --mass-windows and --trigger; the numbers are the libraries' on
    that score's values."""
    import csv
    from pathlib import Path

    import yaml

    from jetad.analysis import mass_windows, working_points

    counts = {"qcd": 300, "top": 100, "w": 80}
    label, process, mass, _, _ = _score_file(tmp_path / "scores.h5", counts, "qcd")
    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    params["evaluate"].update(headline="mse", mass_window_min_jets=20)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    out = ("--summary", "s.md", "--headline", "h.json", "--mass-windows", "w.csv",
           "--trigger", "t.csv", "--figures", "figs")
    proc = _run(tmp_path, tmp_path / "scores.h5", "--params", str(tmp_path / "p.yaml"),
                *(str(tmp_path / a) if not a.startswith("--") else a for a in out))
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "metrics.json").read_text())
    h = json.loads((tmp_path / "h.json").read_text())
    assert m["headline"]["key"] == h["key"] == "jointvae/mse"
    assert h["per_signal"]["w"]["auc"] == m["w/jointvae/mse"]["auc"]
    worst = min(("top", "w"), key=lambda s: m[f"{s}/jointvae/mse"]["auc"])
    assert h["worst_case"]["auc_signal"] == worst
    assert (tmp_path / "s.md").read_text().startswith(
        "## Detector output: MSE (`evaluate.headline: mse`)")
    mse = read_score_file(tmp_path / "scores.h5")["scores"]["mse"]
    bg, w = process == PROCESSES.index("qcd"), process == PROCESSES.index("w")
    sel = bg | w
    assert h["mass_windows"]["per_signal"]["w"] == mass_windows.window_aucs(
        label[sel], mse[sel], mass[sel], 20.0, 20)
    assert len(h["mass_windows"]["per_signal"]["w"]) >= 1
    rows = list(csv.DictReader((tmp_path / "w.csv").open()))
    assert len(rows) == sum(len(v) for v in h["mass_windows"]["per_signal"].values())
    t = working_points.threshold(mse[bg], 0.01)
    assert h["trigger"][0]["threshold"] == t == h["sculpting"]["threshold"]
    assert h["trigger"][0]["efficiency"]["w"] == pytest.approx((mse[w] > t).mean())
    trig = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert [(r["acceptance"], r["signal"]) for r in trig] == [
        (a, s) for a in ("0.01", "0.001") for s in ("top", "w")]
    assert (tmp_path / "figs" / "auc_mass_windows.pdf").read_bytes()[:4] == b"%PDF"


def test_a_declared_score_missing_from_the_score_file_is_refused(tmp_path):
    from pathlib import Path

    import yaml

    _score_file(tmp_path / "scores.h5", {"qcd": 50, "top": 50}, "qcd")
    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    params["evaluate"]["headline"] = "dice"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    proc = _run(tmp_path, tmp_path / "scores.h5", "--params", str(tmp_path / "p.yaml"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"jetad evaluate: error: {tmp_path / 'scores.h5'}: no score "
                                   "'dice' (evaluate.headline); holds mse, kl_total")
    assert not (tmp_path / "metrics.json").exists()
