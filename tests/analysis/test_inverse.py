"""The inverse task's table beside the main run (jetad.analysis.inverse): the headline score of
both tasks, the worst case over the main signals and the inverse task's QCD."""

import pytest

from jetad.analysis import inverse
from jetad.errors import DataError


def _metrics(score, per):
    return {"headline": {"score": score, "per_signal": {
        s: {"auc": a, "auc_68": [a - 0.01, a + 0.01], "rejection_at_eff_s_0p3": r}
        for s, (a, r) in per.items()}}}


def _run(per, score="kl_total", background="top"):
    return {"name": background, "params": {"split": {"background": background}},
            "metrics": _metrics(score, per)}


def test_the_worst_case_covers_the_main_signals_and_the_inverse_qcd():
    main = _metrics("kl_total", {"top": (0.93, 60.0), "w": (0.81, 6.0), "z": (0.84, 7.0)})
    # W and Z against top are worse still, but they are no anomaly of the inverse task's
    inv = _run({"qcd": (0.72, 5.5), "w": (0.40, 1.2), "z": (0.45, 1.3)})
    table = inverse.rows(main, [inv], "qcd")
    assert [(r["task"], r["background"], r["anomaly"], r["in_worst_case"]) for r in table] == [
        ("main", "qcd", "top", 1), ("main", "qcd", "w", 1), ("main", "qcd", "z", 1),
        ("inverse", "top", "qcd", 1), ("inverse", "top", "w", 0), ("inverse", "top", "z", 0)]
    assert inverse.worst_case(table) == {"auc": 0.72, "auc_of": "inverse qcd",
                                         "rejection": 5.5, "rejection_of": "inverse qcd"}
    md = inverse.markdown(table, "kl_total")
    assert md.startswith("Detector output: `kl_total` (evaluate.headline), the same in both "
                         "tasks. Worst case over the main task's signals and the inverse task: "
                         "AUC 0.720 (inverse qcd), 1/eps_B at eps_S = 0.3 5.5 (inverse qcd).")
    assert "| inverse | top | w | 0.400 [0.390, 0.410] | 1.2 | no (information) |" in md
    # a better inverse: the main W is the worst AUC
    table = inverse.rows(main, [_run({"qcd": (0.90, 50.0)})], "qcd")
    assert inverse.worst_case(table)["auc_of"] == "main w"


def test_a_two_process_background_names_both_and_both_count():
    main = _metrics("kl_total", {"top": (0.9, 10.0)})
    table = inverse.rows(main, [_run({"gluon": (0.6, 2.0), "quark": (0.7, 3.0)})],
                         inverse.background_name(["gluon", "quark"]))
    assert table[0]["background"] == "gluon+quark"
    assert [r["in_worst_case"] for r in table] == [1, 1, 1]


def test_runs_of_another_headline_or_without_one_are_refused():
    main = _metrics("kl_total", {"top": (0.9, 10.0)})
    with pytest.raises(DataError, match="top: the inverse run declares mse, the main run "
                                        "kl_total"):
        inverse.rows(main, [_run({"qcd": (0.7, 3.0)}, score="mse")], "qcd")
    with pytest.raises(DataError, match="metrics.json: no headline entry"):
        inverse.rows({"top/jointvae/kl_total": {}}, [], "qcd")
