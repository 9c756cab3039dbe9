"""What the detector's declared output (jetad.analysis.headline) sees beyond the jet mass, and
its trigger view: its AUC inside jet-mass windows per signal (jetad.analysis.mass_windows), the
background mass sculpting of a cut on it at eps_B = 1% (jetad.analysis.sculpting), and its
thresholds at fixed background acceptance with each signal's efficiency there
(jetad.analysis.working_points). One dict, written by `jetad evaluate --headline`.
"""

from __future__ import annotations

import numpy as np

from jetad.analysis import mass_windows, sculpting, working_points


def report(inp, score: str, ep, seed: int) -> dict:
    """{mass_windows, sculpting, trigger} of the JointVAE score `score` on the jets of `inp`
    (jetad.analysis.evaluation.Inputs); `ep`: the evaluate section."""
    values = np.asarray(inp.vae["scores"][score], np.float64)
    mass = np.asarray(inp.vae["jet_mass"], np.float64)
    label = inp.label
    sigs = inp.signals or {"all": label == 1}
    windows = {}
    for sig, mask in sigs.items():
        sel = (label == 0) | mask
        windows[sig] = mass_windows.window_aucs(label[sel], values[sel], mass[sel],
                                                ep.mass_window_gev, ep.mass_window_min_jets)
    bkg = label == 0
    return {"mass_windows": {"bin_gev": ep.mass_window_gev,
                             "min_jets": ep.mass_window_min_jets, "per_signal": windows},
            "sculpting": sculpting.sculpting(values[bkg], mass[bkg], ep.mass_window_gev, seed),
            "trigger": working_points.working_points(label, values, sigs)}

