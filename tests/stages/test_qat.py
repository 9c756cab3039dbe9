"""`jetad qat` on tiny real files (tests/stages/conftest.py): the reduced encoders after one QAT
epoch, their metrics and energy, the same bytes on a rerun."""

from __future__ import annotations

import csv
import json
import math

import pytest
from sklearn.metrics import roc_auc_score

from jetad.analysis.scores import read_score_file

pytestmark = pytest.mark.build  # with the rest of the FPGA chain (make test-fast leaves it out)


def test_qat_writes_models_metrics_and_energy(qat_done):
    d = qat_done
    from jetad.models.reduced_encoder import is_quantized, load_qmodel

    assert is_quantized(load_qmodel(d / "quantized" / "qencoder.h5"))
    assert not is_quantized(load_qmodel(d / "quantized" / "encoder_float.h5"))
    m = json.loads((d / "q" / "metrics.json").read_text())
    assert set(m["kl"]) == {"large JointVAE", "float reduced", "quantized (QKeras)"}
    for per in m["kl"].values():
        assert set(per) == {"kl_disc", "kl_cont", "kl_total"}
        for r in per.values():
            assert r["n_signal"] == 40 and r["n_background"] == 40
    # the large model's row is the KL of scores.h5, the file qat was given
    s = read_score_file(d / "scores.h5")
    for name, r in m["kl"]["large JointVAE"].items():
        assert r["auc"] == pytest.approx(roc_auc_score(s["label"], s["scores"][name]), abs=1e-12)
    assert all(math.isfinite(v) for v in m["losses"]["quantized"].values())
    assert m["energy_uj"]["quantized"]["total"] < m["energy_uj"]["float"]["total"]
    table = (d / "q" / "metrics.md").read_text()
    assert "| quantized (QKeras) | KL total |" in table
    assert (d / "q" / "roc.pdf").read_bytes()[:4] == b"%PDF"
    assert (d / "q" / "weights.pdf").read_bytes()[:4] == b"%PDF"
    rows = list(csv.DictReader((d / "q" / "energy.csv").open()))
    assert rows[-1]["layer"] == "TOTAL"
    conv = next(r for r in rows if r["layer"] == "conv1_b0_0")
    # QTools counted the grouped conv as ungrouped: real MACs are a quarter of its count
    assert int(conv["macs_qtools"]) == 4 * int(conv["macs"])
    assert float(conv["quantized_energy_pj_real_macs"]) < float(conv["quantized_energy_pj"])


def test_qat_rerun_gives_the_same_bytes(qat_done, jetad, file_tree):
    d = qat_done
    jetad(d, "qat", "--train", "train.h5", "--vae", "model", "--test", "test.h5",
          "--scores", "scores.h5", "--out", "quantized_again", "--metrics", "q2/metrics.json")
    first, again = file_tree(d / "quantized"), file_tree(d / "quantized_again")
    assert sorted(first) == sorted(again) == ["encoder_float.h5", "qencoder.h5"]
    assert [k for k in first if first[k] != again[k]] == []
    m1, m2 = (json.loads((d / f).read_text()) for f in ("q/metrics.json", "q2/metrics.json"))
    assert m1["kl"] == m2["kl"] and m1["energy_uj"] == m2["energy_uj"]
