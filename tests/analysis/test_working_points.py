"""The trigger view (jetad.analysis.working_points): thresholds at fixed background acceptance
and the signal efficiencies there, on a hand-made sample."""

import numpy as np
import pytest

from jetad.analysis import working_points


def test_thresholds_and_efficiencies_by_hand():
    bkg = np.arange(1.0, 1001.0)  # 1000 background jets scored 1 ... 1000
    sig_a = np.array([995.0, 999.5, 500.0, 1000.5])
    sig_b = np.array([10.0, 20.0])
    score = np.r_[bkg, sig_a, sig_b]
    label = np.r_[np.zeros(1000), np.ones(6)]
    signals = {"a": np.r_[np.zeros(1000, bool), np.ones(4, bool), np.zeros(2, bool)],
               "b": np.r_[np.zeros(1004, bool), np.ones(2, bool)]}
    one, tenth = working_points.working_points(label, score, signals)
    # 1%: 10 jets (991 ... 1000) lie above 990; a: 995, 999.5 and 1000.5 pass, 500 does not
    assert (one["acceptance"], one["threshold"], one["background_pass"]) == (0.01, 990.0, 10)
    assert one["realized_acceptance"] == 0.01 and one["n_background"] == 1000
    assert one["efficiency"] == {"a": 0.75, "b": 0.0}
    # 0.1%: only 1000 lies above 999; a: 999.5 and 1000.5
    assert (tenth["threshold"], tenth["background_pass"]) == (999.0, 1)
    assert tenth["efficiency"] == {"a": 0.5, "b": 0.0}


def test_too_few_background_jets_or_ties_pass_fewer_than_asked():
    # 1% of 50 jets is less than one: the largest score is the threshold, nothing passes
    assert working_points.threshold(np.arange(50.0), 0.01) == 49.0
    # five tied top scores: the cut that keeps one would split the tie, so it keeps none
    bkg = np.r_[np.full(5, 5.0), np.ones(95)]
    p = working_points.working_point(np.zeros(100), bkg, {}, 0.01)
    assert (p["threshold"], p["background_pass"], p["realized_acceptance"]) == (5.0, 0, 0.0)


def test_a_float_product_does_not_lose_a_jet():
    # 0.29 * 100 is 28.999999999999996 in floats: still 29 jets above the threshold
    assert working_points.threshold(np.arange(100.0), 0.29) == pytest.approx(70.0)
