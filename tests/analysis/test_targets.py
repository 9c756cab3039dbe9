"""bench/targets.py: the JointVAE's targets judged from an evaluation's outputs."""

import importlib.util

import pytest


@pytest.fixture(scope="module")
def targets(root):
    spec = importlib.util.spec_from_file_location("targets", root / "bench" / "targets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.targets


def e(auc, rej=10.0):
    return {"auc": auc, "auc_68": [auc - 0.01, auc + 0.01], "rejection_at_eff_s_0p3": rej}


def metrics(top_best, tau32, w=None):
    m = {"top/jointvae/kl_total": e(top_best, 60.0), "top/jointvae/bce": e(0.5, 2.0),
         "top/baseline/jet_mass": e(0.90, 20.0), "top/baseline/tau32": e(tau32, 30.0),
         "top/baseline/conv_ae_mse": e(0.91, 90.0)}
    if w is not None:
        m["w/jointvae/kl_total"] = e(w)
    return m


TRAINING = {"collapse": {"spread_ratio": 0.6, "active_dims": 9, "latent_dims": 32}}


def test_each_target_is_met_or_missed_by_its_measured_value(targets):
    top, rej, w, z, spread = targets(metrics(0.95, 0.92, w=0.76), TRAINING)
    # 0.95 beats the strongest baseline (tau32 0.92) by 0.03; 60 is below the conv AE's 90
    assert top[1:] == (True, "kl_total 0.950 vs tau32 0.920 (+0.030)")
    assert rej[1:] == (False, "kl_total 60.0 vs conv AE 90.0")
    assert w[1] is True and z[1] is None  # z not generated
    assert spread[1:] == (True, "0.600 (9 of 32 latent dims active)")


def test_a_margin_under_two_points_misses(targets):
    (first, *_) = targets(metrics(0.93, 0.92), TRAINING)
    assert first[1] is False and "(+0.010)" in first[2]
