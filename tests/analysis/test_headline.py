"""The detector's declared output (jetad.analysis.headline): its figures of merit per signal and
their worst case over the anomaly classes."""

import pytest

from jetad.analysis import headline
from jetad.analysis.scores import NAMES
from jetad.errors import DataError
from jetad.sections import spec_of


def entry(auc, rej):
    return {"auc": auc, "auc_68": [auc - 0.01, auc + 0.01], "rejection_at_eff_s_0p3": rej,
            "rejection_at_eff_s_0p3_68": None if rej is None else [rej - 1, rej + 1],
            "n_signal": 10, "n_background": 20, "tpr_at_fpr_10pct": 0.5}


RESULTS = {"top/jointvae/kl_total": entry(0.90, None), "w/jointvae/kl_total": entry(0.70, 8.0),
           "z/jointvae/kl_total": entry(0.75, 5.0), "top/jointvae/bce": entry(0.95, 40.0),
           "w/jointvae/bce": entry(0.60, 3.0), "z/jointvae/bce": entry(0.65, 4.0)}


def test_the_worst_case_is_the_lowest_auc_and_rejection_each_with_its_signal():
    fom = headline.figures_of_merit(RESULTS, "kl_total", ["top", "w", "z"])
    assert fom["key"] == "jointvae/kl_total" and list(fom["per_signal"]) == ["top", "w", "z"]
    assert fom["per_signal"]["w"]["auc_68"] == [0.69, 0.71]
    assert "tpr_at_fpr_10pct" not in fom["per_signal"]["w"]
    # W has the lowest AUC, Z the lowest 1/eps_B; top's unbounded 1/eps_B (None) is the largest
    assert fom["worst_case"] == {"auc": 0.70, "auc_signal": "w",
                                 "rejection_at_eff_s_0p3": 5.0, "rejection_signal": "z"}
    # another declared score: its own numbers, not the best of each signal
    other = headline.figures_of_merit(RESULTS, "bce", ["top", "w", "z"])
    assert other["worst_case"]["auc"] == 0.60 and other["per_signal"]["top"]["auc"] == 0.95


def test_unbounded_everywhere_and_no_per_signal_keys():
    fom = headline.figures_of_merit({"jointvae/kl_total": entry(0.8, None)}, "kl_total", [])
    assert list(fom["per_signal"]) == ["all"]
    assert fom["worst_case"]["rejection_at_eff_s_0p3"] is None


def test_a_score_file_without_the_declared_score_is_refused_naming_both():
    with pytest.raises(DataError, match=r"s\.h5: no score 'dice' \(evaluate\.headline\); "
                                        r"holds mse, kl_total"):
        headline.check("dice", {"scores": {"mse": 0, "kl_total": 0}}, "s.h5")


def test_the_declarable_scores_are_the_scores_jetad_score_writes():
    """evaluate.headline's enum is the schema's copy of jetad.analysis.scores.NAMES: a score
    added there must be added to the enum too (and one removed taken out)."""
    spec = spec_of("evaluate.headline")
    assert spec["enum"] == list(NAMES) and spec["default"] in NAMES
