"""The seed ensemble (jetad.analysis.ensemble): each seed's headline score standardized on its
own validation background jets, averaged over the seeds; no label and no test jet sets the
scale."""

import json

import numpy as np
import pytest

from jetad.analysis import ensemble, metrics
from jetad.analysis.scores import VAL_GROUP, read_score_file, write_score_file
from jetad.errors import DataError


def test_standardization_by_hand():
    # seed a: validation 1, 3 -> mean 2, std 1; seed b: 10, 10, 20, 20 -> mean 15, std 5
    values, stats = ensemble.combine([[2.0, 4.0, 0.0], [20.0, 15.0, 10.0]],
                                     [[1.0, 3.0], [10.0, 10.0, 20.0, 20.0]])
    assert [(s.mean, s.std, s.n) for s in stats] == [(2.0, 1.0, 2), (15.0, 5.0, 4)]
    # z: a (0, 2, -2), b (1, 0, -1); the mean over the seeds
    np.testing.assert_allclose(values, [0.5, 1.0, -1.5])


def test_the_scale_comes_from_the_validation_background_alone():
    rng = np.random.default_rng(0)
    val = [rng.normal(5.0, 2.0, 50), rng.normal(-1.0, 0.5, 50)]
    test = [rng.normal(5.0, 2.0, 20), rng.normal(-1.0, 0.5, 20)]
    values, stats = ensemble.combine(test, val)
    # the test jets 10..19 are the signal: make them as anomalous as can be in both seeds
    moved = [t.copy() for t in test]
    for t in moved:
        t[10:] += 1000.0
    values2, stats2 = ensemble.combine(moved, val)
    assert stats2 == stats
    np.testing.assert_array_equal(values2[:10], values[:10])
    assert (values2[10:] > values[10:] + 100).all()
    # the validation jets do set it
    _, stats3 = ensemble.combine(test, [val[0] * 2, val[1]])
    assert stats3[0] != stats[0] and stats3[1] == stats[1]


def test_a_seed_without_a_scale_is_refused():
    with pytest.raises(ValueError, match="all equal"):
        ensemble.standardization([3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="two or more"):
        ensemble.standardization([3.0])
    with pytest.raises(ValueError, match="one of each per seed"):
        ensemble.combine([[1.0, 2.0]], [])


def _score_file(path, test, val, label, score="kl_total"):
    n = len(label)
    write_score_file(path, {score: test, "mse": np.zeros(n)}, label, np.linspace(50, 200, n),
                     {"process": np.where(label == 1, 1, 0).astype(np.int8),
                      VAL_GROUP: {score: val, "mse": np.zeros(len(val))}},
                     attrs={"background": "qcd"})
    return path


@pytest.fixture
def seed_files(tmp_path):
    rng = np.random.default_rng(1)
    label = np.r_[np.zeros(300), np.ones(200)].astype(int)
    paths = []
    for i, (shift, scale) in enumerate(((0.0, 1.0), (50.0, 10.0), (-3.0, 0.1))):
        truth = rng.normal(0, 1, len(label)) + 0.8 * label
        val = shift + scale * rng.normal(0, 1, 100)
        (tmp_path / str(i)).mkdir()
        paths.append(_score_file(tmp_path / str(i) / "scores.h5", shift + scale * truth, val,
                                 label))
    return paths, label


def test_the_ensemble_file_and_its_figures_are_the_same_bytes_twice(seed_files, tmp_path):
    paths, label = seed_files
    a = ensemble.build(paths, "kl_total", 7, tmp_path / "a.h5")
    b = ensemble.build(paths, "kl_total", 7, tmp_path / "b.h5")
    assert json.dumps(a) == json.dumps(b)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    f = read_score_file(tmp_path / "a.h5")
    top = a["per_signal"]["top"]
    assert top["auc"] == pytest.approx(metrics.auc(label, f["scores"]["ensemble"]))
    assert top["auc_68"][0] < top["auc"] < top["auc_68"][1]
    assert top["n_signal"] == 200 and top["n_background"] == 300
    assert a["worst_case"]["auc_signal"] == "top"
    assert sorted(a["standardization"]) == ["0", "1", "2"]
    assert a["standardization"]["1"]["std"] == pytest.approx(10.0, rel=0.2)


def test_files_of_other_jets_or_without_validation_scores_are_refused(seed_files, tmp_path):
    paths, label = seed_files
    # a score file of an older jetad score: no validation scores
    old = tmp_path / "old.h5"
    write_score_file(old, {"kl_total": np.zeros(len(label))}, label, np.zeros(len(label)))
    with pytest.raises(DataError, match="no validation scores /val_scores/kl_total"):
        ensemble.read_seeds([paths[0], old], "kl_total")
    other = _score_file(tmp_path / "other.h5", np.zeros(len(label)), np.arange(3.0),
                        label[::-1].copy())
    with pytest.raises(DataError, match="label differs from"):
        ensemble.read_seeds([paths[0], other], "kl_total")
    with pytest.raises(DataError, match="no score 'bce'"):
        ensemble.read_seeds(paths, "bce")
