"""The metrics table of `jetad distill` (the levers' training runs in tests/trigger/test_distill.py)."""

from __future__ import annotations


def _doc(met: bool, mismatches: int) -> dict:
    return {"n_test": 460, "pooled_shape": [10, 10],
            "auc": {"teacher (JointVAE)": {"all": 0.7, "top": 0.9},
                    "pruned 0.5 <8>": {"all": 0.65}},
            "levers": [{"model": "float student", "lever": "distillation + pooling (float)",
                        "val_loss": 1.25, "kernel_sparsity": None},
                       {"model": "pruned 0.5 <8>", "lever": "pruning", "val_loss": 1.5,
                        "kernel_sparsity": 0.5, "da4ml_LUT": 17630.0, "latency_cycles": 5}],
            "student": "pruned 0.5 <8>",
            "rtl": {"LUT": 1234, "FF": 56, "latency_cycles": 5, "latency_ns": 25.0,
                    "interval_cycles": 1, "mismatches": mismatches, "n_compared": 460},
            "target": {"reference": "float reduced encoder", "signal": "top", "met": met,
                       "checks": {"LUT": True, "bit-exact": mismatches == 0},
                       "auc_drop": 0.0123, "auc_drop_interval_68": [0.001, 0.02]}}


def test_markdown_shows_every_model_the_chosen_netlist_and_the_target():
    from jetad.trigger.levers import markdown

    text = markdown(_doc(met=True, mismatches=0))
    assert "# Distilled trigger student (460 test jets; input 10x10" in text
    # a model without a signal's AUC gets nan, not a missing column
    row = next(line for line in text.splitlines() if line.startswith("| pruned 0.5 <8>")
               and "nan" in line)
    # tabulate reads the formatted "0.6500" back as a number and prints 0.65
    assert "| 0.65 " in row.replace("  ", " ")
    assert "17,630" in text
    assert "LUT 1234, FF 56, DSP 0, latency 5 cycles (25 ns)" in text
    assert "0 of 460 jets differ" in text
    assert "MET LUT ok, bit-exact ok (AUC drop +0.0123" in text

    bad = markdown(_doc(met=False, mismatches=3))
    assert "NOT met" in bad and "bit-exact FAIL" in bad and "3 of 460 jets differ" in bad
