"""A small CNN trained with labels (background vs anomaly): the supervised ceiling beside the
anomaly detectors. It is not anomaly detection: it sees the signal it is scored on.

Two conv + pool blocks on the image, then a dense layer that also reads the jet's high-level
features (jet mass, tau21, tau32, standardized): a ceiling must not fall below the baselines it
bounds, and on the quick preset's real jets the image alone (5 epochs) reached AUC 0.926 for
top, under 1 - tau32's 0.941. ~55k parameters at 40x40, cheap enough to train twice
(cross-fitting) on 2 cores. The outputs are class logits; the stage turns them into log-likelihood ratios.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from jetad.data.processes import PROCESSES
from jetad.errors import DataError
from jetad.params import or_default

if TYPE_CHECKING:
    import tf_keras as keras

ARCHITECTURE = "supervised_cnn"


FEATURES = ("jet_mass", "tau21", "tau32")


def build(npix: int | None = None, filters=None, dense: int | None = None,
          n_classes: int = 2) -> keras.Model:
    """Logits of n_classes classes: 0 the background, then each anomalous process. Left out,
    npix, filters and dense are the schema defaults of pixelize.npix, supervised.filters,
    supervised.dense."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras as keras

    npix, dense = or_default(npix, "pixelize", "npix"), or_default(dense, "supervised", "dense")
    filters = tuple(or_default(filters, "supervised", "filters"))
    if npix % 2 ** len(filters):
        raise ValueError(f"npix {npix} must be divisible by {2 ** len(filters)}")
    x_in = keras.Input((npix, npix), name="image")
    x = keras.layers.Reshape((npix, npix, 1))(x_in)
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, padding="same", activation="relu",
                                kernel_initializer="he_normal", name=f"conv{i}")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    f_in = keras.Input((len(FEATURES),), name="features")
    x = keras.layers.Concatenate()([x, f_in])
    x = keras.layers.Dense(dense, activation="relu", kernel_initializer="he_normal",
                           name="dense")(x)
    x = keras.layers.Dense(n_classes, name="logits")(x)
    return keras.Model([x_in, f_in], x, name=ARCHITECTURE)


def folds(process: np.ndarray, label: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold of every test jet: each process dealt round-robin over a seeded permutation, so
    every fold holds the same share (to one jet) of every process."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
    out = np.empty(len(label), np.int8)
    for p in np.unique(process):
        idx = np.flatnonzero(process == p)
        out[idx[rng.permutation(len(idx))]] = np.arange(len(idx)) % k
    return out


def logsumexp(a: np.ndarray) -> np.ndarray:
    m = a.max(axis=1)
    return m + np.log(np.exp(a - m[:, None]).sum(axis=1))


def likelihood_ratios(logits: np.ndarray, signals: list[str]) -> dict[str, np.ndarray]:
    """Log-likelihood ratios: each signal against the background (the optimal test of that
    pair) as `classifier_<signal>`, and every anomaly together as `classifier`."""
    scores = {"classifier": logsumexp(logits[:, 1:]) - logits[:, 0]}
    for i, name in enumerate(signals):
        scores[f"classifier_{name}"] = logits[:, i + 1] - logits[:, 0]
    return scores


def cross_fit(train, ibg: np.ndarray, test, sp, seed: int, where: str, logger) -> tuple:
    """(logits, fold, signal process ids) of every test jet, each scored by the model of its
    fold: trained on the background jets `ibg` of `train` against the anomalous test jets of
    the other folds. `sp` is the `supervised` params section; `where` names the test file in
    errors. TensorFlow must be set up (determinism.setup_tf) before."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tf_keras as keras

    k = int(sp["folds"])
    npix = train.images.shape[1]
    bg = np.asarray(train.images[ibg], np.float32)
    # jet images sum to 1 (pixels ~1e-3): one scale from the training background brings them
    # to unit spread, the same for every fold and for scoring; the features likewise
    scale = np.float32(1.0 / max(float(bg.std()), 1e-12))

    def features(data, rows):
        return np.stack([getattr(data, name)[rows] for name in FEATURES], 1).astype(np.float64)

    bg_feat = features(train, ibg)
    mu, sd = bg_feat.mean(0), np.where(bg_feat.std(0) > 0, bg_feat.std(0), 1.0)

    def standard(f):
        return ((f - mu) / sd).astype(np.float32)

    fold = folds(test.process, test.label, k, seed)
    # classes: the background, then each anomalous process of the test file
    signals = [int(p) for p in np.unique(test.process[test.label == 1])]
    cls = np.zeros(len(test), np.int64)
    for i, p in enumerate(signals):
        cls[test.process == p] = i + 1
    logits = np.zeros((len(test), 1 + len(signals)), np.float64)
    for f in range(k):
        sig = np.flatnonzero((test.label == 1) & (fold != f))
        x = np.concatenate([bg, test.images[sig]]) * scale
        feat = standard(np.concatenate([bg_feat, features(test, sig)]))
        y = np.r_[np.zeros(len(bg), np.int64), cls[sig]]
        # every class weighs the same share of the loss, whatever the counts
        counts = np.bincount(y, minlength=1 + len(signals))
        if (counts == 0).any():
            raise DataError(f"{where}: too few jets of "
                            f"{PROCESSES[signals[int(np.argmin(counts[1:]))]]} to train on "
                            f"outside fold {f + 1} of supervised.folds = {k}")
        w = (len(y) / (len(counts) * counts))[y].astype(np.float32)
        keras.utils.set_random_seed(seed + 1000 * (f + 1))  # a fold's model: its seed only
        model = build(npix, tuple(sp["filters"]), int(sp["dense"]), n_classes=1 + len(signals))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=sp["learning_rate"]),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        hist = model.fit([x, feat], y, sample_weight=w, epochs=int(sp["epochs"]),
                         batch_size=int(sp["batch_size"]), shuffle=True, verbose=0)
        mine = np.flatnonzero(fold == f)
        logits[mine] = model.predict([test.images[mine] * scale,
                                      standard(features(test, mine))], batch_size=1024,
                                     verbose=0).astype(np.float64)
        logger.info("fold %d/%d: trained on %d background (training part) + %d anomalous jets "
                    "(other folds), loss %s; scored %d test jets", f + 1, k, len(bg), len(sig),
                    [round(v, 4) for v in hist.history["loss"]], len(mine))
        del model
        keras.backend.clear_session()
    return logits, fold, signals
