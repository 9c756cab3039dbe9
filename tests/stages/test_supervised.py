"""`jetad supervised`, the supervised ceiling, on real tiny images: it learns (it sees labels),
it scores every test jet once, and no test jet ever trains the model that scores it."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import yaml

from jetad.analysis.metrics import auc
from jetad.data.images import read_images, write_images
from jetad.models.supervised import folds


@pytest.fixture(scope="module")
def sup_dir(tmp_path_factory, root, fake_jets, jetad):
    d = tmp_path_factory.mktemp("supervised")
    write_images(d / "train.h5", fake_jets(120, 0, 1))
    write_images(d / "test.h5", fake_jets(60, 60, 3))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["supervised"].update(epochs=4, batch_size=32, max_train_jets=100)
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    jetad(d, "supervised", "--train", "train.h5", "--test", "test.h5", "--out", "sup.h5")
    return d


def _scores(path):
    with h5py.File(path) as f:
        return f["scores"]["classifier"][...], f["fold"][...], f["label"][...]


def test_folds_deal_every_process_evenly_and_are_seeded():
    process = np.array([0] * 7 + [1] * 5 + [2] * 4, np.int8)
    label = (process != 0).astype(np.int8)
    f = folds(process, label, 2, seed=5)
    for p in (0, 1, 2):
        counts = np.bincount(f[process == p], minlength=2)
        assert abs(counts[0] - counts[1]) <= 1
    np.testing.assert_array_equal(f, folds(process, label, 2, seed=5))
    assert not np.array_equal(f, folds(process, label, 2, seed=6))
    assert sorted(np.bincount(folds(process, label, 3, seed=5)[process == 1])) == [1, 2, 2]


def test_the_ceiling_learns_and_scores_every_test_jet_once(sup_dir):
    s, fold, label = _scores(sup_dir / "sup.h5")
    test = read_images(sup_dir / "test.h5")
    np.testing.assert_array_equal(label, test.label)
    assert s.shape == (120,) and np.isfinite(s).all()
    assert sorted(np.bincount(fold)) == [60, 60]
    # trained with labels on three-prong fake tops: far above the anomaly detectors' 0.5-0.7
    assert auc(label, s) > 0.9
    with h5py.File(sup_dir / "sup.h5") as f:
        assert "not anomaly detection" in f.attrs["note"]
        # one class per process: the top's own likelihood ratio; with one signal, the same
        # ranking as the any-anomaly score
        assert list(f["scores"]) == ["classifier", "classifier_top"]
        np.testing.assert_allclose(f["scores"]["classifier_top"][...], s)


def test_no_test_jet_trains_the_model_that_scores_it(sup_dir, jetad):
    """Change one test jet and rerun: a background jet is never trained on, so only its own
    score moves; an anomalous jet trains the other fold's model only, so the scores of its own
    fold, itself aside, stay bit for bit."""
    d = sup_dir
    ref, fold, label = _scores(d / "sup.h5")
    test = read_images(d / "test.h5")
    for row in (int(np.flatnonzero(label == 0)[3]), int(np.flatnonzero(label == 1)[3])):
        changed = read_images(d / "test.h5")
        changed.images[row] = test.images[row][::-1, ::-1]  # a different, valid jet image
        write_images(d / "changed.h5", changed)
        jetad(d, "supervised", "--train", "train.h5", "--test", "changed.h5", "--out", "c.h5")
        new, _, _ = _scores(d / "c.h5")
        moved = np.flatnonzero(new != ref)
        if label[row] == 0:
            assert moved.tolist() == [row]
        else:
            same_fold = fold == fold[row]
            assert moved[same_fold[moved]].tolist() == [row]
            assert (~same_fold[moved]).any()  # the other fold's model did learn from it


def test_rerun_gives_the_same_bytes(sup_dir, jetad):
    d = sup_dir
    jetad(d, "supervised", "--train", "train.h5", "--test", "test.h5", "--out", "again.h5")
    assert (d / "again.h5").read_bytes() == (d / "sup.h5").read_bytes()


def test_too_few_anomalies_or_anomalies_in_training_are_refused(sup_dir, jetad, fake_jets):
    d = sup_dir
    write_images(d / "one.h5", fake_jets(30, 1, 7))
    p = jetad(d, "supervised", "--train", "train.h5", "--test", "one.h5", "--out", "x.h5",
              check=False)
    assert p.returncode == 2
    assert p.stderr.strip().endswith(
        "one.h5: 1 anomalous jets (label 1), the supervised classifier needs at least "
        "supervised.folds = 2 to train on")
    p = jetad(d, "supervised", "--train", "test.h5", "--test", "test.h5", "--out", "x.h5",
              check=False)
    assert p.returncode == 2 and "60 anomalous jets (label 1) in the training set" in p.stderr
    assert not (d / "x.h5").exists()
