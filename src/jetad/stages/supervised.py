"""`jetad supervised`: the supervised ceiling, a small CNN trained with labels on the jet image
and the jet mass, tau21 and tau32, scored on the test jets of every other score, for
`jetad evaluate --supervised-scores`.

It is not anomaly detection: it must see signal jets, and the only signal jets are in the test
part (split sends every anomaly there). So the test jets are cross-fitted: each process of the
test file is dealt at random (seeded) into `supervised.folds` folds; the model of fold k is
trained on the background jets of the *training* part (never a test jet) against the anomalous
test jets outside fold k, and scores the jets of fold k only. Every test jet is thus scored by
a model that never saw it, the test background is never trained on, and the scores cover the
very jets of the other scores (same order, same labels). The price: each model sees (k-1)/k of
the signal, so the ceiling is slightly conservative, and the folds' models differ a little.
One model with a class per process (background and each anomalous process, classes weighted
equally) serves all signals: score `classifier_<signal>` is the log-likelihood ratio of that
signal against the background (a single background-vs-all model ranked QCD jets near the W
mass above tops), `classifier` that of any anomaly; evaluate reports them as
`<signal>/supervised/classifier` and `supervised/classifier`.
"""

from __future__ import annotations

import numpy as np

from jetad import log
from jetad.errors import DataError

logger = log.get("jetad.supervised")


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


def run(args, params) -> None:
    from jetad.analysis import scores as sc
    from jetad.data.images import read_background_images, read_images, subsample
    from jetad.data.processes import PROCESSES
    from jetad.models.determinism import setup_tf

    params = params.for_stage(args.command)
    sp, seed = params.supervised, params.seed
    k = int(sp["folds"])
    # inputs first: TensorFlow prints on stderr when imported
    train = read_background_images(args.train)
    npix = train.images.shape[1]
    test = read_images(args.test, npix=npix,
                       expected_by=f"the training images {args.train} have")
    n_sig = int((test.label == 1).sum())
    if n_sig < k:
        raise DataError(f"{args.test}: {n_sig} anomalous jets (label 1), the supervised "
                        f"classifier needs at least supervised.folds = {k} to train on")
    setup_tf(seed)
    import tf_keras as keras

    from jetad.models import supervised

    ibg = subsample(len(train), sp.get("max_train_jets"), seed)
    bg = np.asarray(train.images[ibg], np.float32)
    # jet images sum to 1 (pixels ~1e-3): one scale from the training background brings them
    # to unit spread, the same for every fold and for scoring; the features likewise
    scale = np.float32(1.0 / max(float(bg.std()), 1e-12))

    def features(data, rows):
        return np.stack([getattr(data, k)[rows] for k in supervised.FEATURES], 1).astype(
            np.float64)

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
            raise DataError(f"{args.test}: too few jets of "
                            f"{PROCESSES[signals[int(np.argmin(counts[1:]))]]} to train on "
                            f"outside fold {f + 1} of supervised.folds = {k}")
        w = (len(y) / (len(counts) * counts))[y].astype(np.float32)
        keras.utils.set_random_seed(seed + 1000 * (f + 1))  # a fold's model: its seed only
        model = supervised.build(npix, tuple(sp["filters"]), int(sp["dense"]),
                                 n_classes=1 + len(signals))
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
    # log-likelihood ratios: each signal against the background (the optimal test of that pair),
    # and every anomaly together against the background
    scores = {"classifier": logsumexp(logits[:, 1:]) - logits[:, 0]}
    for i, p in enumerate(signals):
        scores[f"classifier_{PROCESSES[p]}"] = logits[:, i + 1] - logits[:, 0]
    sc.write_score_file(
        args.out, scores, test.label, test.jet_mass,
        {"process": test.process.astype(np.int8), "fold": fold},
        attrs={"model": supervised.ARCHITECTURE, "test": str(args.test), "train": str(args.train),
               "processes": ",".join(PROCESSES),
               "note": "trained with labels: a ceiling, not anomaly detection; test jets "
                       f"cross-fitted over {k} folds, background from the training part"},
    )
    logger.info("wrote %d supervised scores to %s", len(test), args.out)
