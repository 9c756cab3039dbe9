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
from jetad.analysis import scores as sc
from jetad.data.images import read_background_images, read_images, subsample
from jetad.data.processes import PROCESSES
from jetad.errors import DataError
from jetad.models import supervised
from jetad.models.determinism import setup_tf

logger = log.get("jetad.supervised")


def run(args, params) -> None:
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

    ibg = subsample(len(train), sp.get("max_train_jets"), seed)
    logits, fold, signals = supervised.cross_fit(train, ibg, test, sp, seed, str(args.test),
                                                 logger)
    scores = supervised.likelihood_ratios(logits, [PROCESSES[p] for p in signals])
    sc.write_score_file(
        args.out, scores, test.label, test.jet_mass,
        {"process": test.process.astype(np.int8), "fold": fold},
        attrs={"model": supervised.ARCHITECTURE, "test": str(args.test), "train": str(args.train),
               "processes": ",".join(PROCESSES),
               "note": "trained with labels: a ceiling, not anomaly detection; test jets "
                       f"cross-fitted over {k} folds, background from the training part"},
    )
    logger.info("wrote %d supervised scores to %s", len(test), args.out)
