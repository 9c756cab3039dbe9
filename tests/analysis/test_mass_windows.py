"""The headline score's AUC inside jet-mass windows (jetad.analysis.mass_windows), against
windows and AUCs counted by hand."""

import numpy as np
import pytest

from jetad.analysis import mass_windows


def test_edges_are_multiples_of_the_width_covering_every_mass():
    assert mass_windows.edges(np.array([5.0, 39.9]), 20.0).tolist() == [0.0, 20.0, 40.0]
    # a mass on an edge opens the next bin, so that bin exists
    assert mass_windows.edges(np.array([20.0, 40.0]), 20.0).tolist() == [20.0, 40.0, 60.0]
    assert mass_windows.edges(np.array([-3.0, 0.0]), 20.0).tolist() == [-20.0, 0.0, 20.0]


def test_window_aucs_by_hand():
    # (mass, score, label): three windows of 10 GeV
    jets = [(1, 0.1, 0), (2, 0.4, 0), (3, 0.3, 1), (4, 0.5, 1),            # [0, 10)
            (11, 0.9, 0), (12, 0.8, 0), (13, 0.7, 0), (15, 0.95, 1),       # [10, 20): 1 signal
            (21, 0.2, 0), (22, 0.6, 0), (25, 0.1, 1), (26, 0.3, 1),        # [20, 30)
            (30, 0.0, 0), (31, 1.0, 1)]                                     # [30, 40): 1 + 1
    mass, score, label = (np.array(c, float) for c in zip(*jets, strict=True))
    got = mass_windows.window_aucs(label, score, mass, width=10.0, min_jets=2)
    # [0, 10): signal 0.3 beats 0.1 only, 0.5 beats both: 3 of 4 pairs.
    # [20, 30): 0.1 beats neither, 0.3 beats 0.2 only: 1 of 4 pairs.
    # [10, 20) and [30, 40) hold one signal jet: below min_jets. The mass 30 opens [30, 40).
    assert got == [
        {"lo": 0.0, "hi": 10.0, "n_background": 2, "n_signal": 2, "auc": pytest.approx(0.75)},
        {"lo": 20.0, "hi": 30.0, "n_background": 2, "n_signal": 2, "auc": pytest.approx(0.25)},
    ]
    # with min_jets 1 the [10, 20) window counts: the signal 0.95 beats all three
    windows = mass_windows.window_aucs(label, score, mass, width=10.0, min_jets=1)
    assert [(w["lo"], w["auc"]) for w in windows] == [(0.0, 0.75), (10.0, 1.0), (20.0, 0.25),
                                                     (30.0, 1.0)]


def test_a_score_that_is_the_mass_separates_overall_but_not_inside_a_window():
    """The case the windows exist for: the score is the mass itself, so inside a window it
    sees only the small mass differences left (a top-hat window; uniform masses in it)."""
    rng = np.random.default_rng(0)
    bkg = rng.uniform(0, 40, 4000)
    sig = rng.uniform(20, 60, 4000)
    mass = np.r_[bkg, sig]
    label = np.r_[np.zeros(4000), np.ones(4000)]
    (w,) = mass_windows.window_aucs(label, mass, mass, width=20.0, min_jets=1000)
    # the one window with both classes: [20, 40), the same flat mass for both: AUC 1/2
    assert (w["lo"], w["hi"]) == (20.0, 40.0)
    assert w["auc"] == pytest.approx(0.5, abs=0.03)
