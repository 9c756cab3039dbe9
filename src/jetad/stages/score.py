"""`jetad score`: the eight anomaly scores of [Valente 2022] ch. 3 for every test jet.

The KL scores come from the encoder's distribution parameters alone (analytic KL, no sampling).
The reconstruction fed to the image scores uses the latent without noise (z = mean,
c = softmax(logits / tau)) unless `score.sample: true`, which draws one seeded sample per jet.
Either way the file also holds /sampled_scores: the image scores from one seeded latent sample
per jet, as the authors scored, so evaluate reports them beside the deterministic ones (the KL
scores need no sample: they are the same).
With --figures, also draws the mean images and reconstructions per class (named from the test
file's processes), the decoded path between a typical background jet's latent and a typical jet
of each anomalous process, and the weights per layer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetad import log
from jetad.analysis import plots
from jetad.analysis import scores as sc
from jetad.atomic import atomic_path
from jetad.data.images import read_images
from jetad.data.processes import PROCESSES
from jetad.inputs import read_model_meta
from jetad.models.determinism import setup_tf
from jetad.models.scoring import class_means, class_names, interpolation_rows, score_images
from jetad.params import default

logger = log.get("jetad.score")


def run(args, params) -> None:
    sp, seed = params.score, params.seed
    # both inputs are checked before TensorFlow is imported (it prints on stderr)
    meta = read_model_meta(args.model, "jointvae")
    test = read_images(args.test, npix=int(meta["config"].get("npix", default("pixelize", "npix"))),
                       expected_by=f"the model {args.model} expects")
    setup_tf(seed)
    # heavy: the JointVAE module imports TensorFlow; it loads after the inputs are checked
    from jetad.models.jointvae import load

    model = load(args.model)
    logger.info("loaded JointVAE from %s (%s)", args.model, model.param_counts())
    n_top = int((test.label == 1).sum())
    names = class_names(test)
    logger.info("read %d test jets from %s (%d %s, %d %s)", len(test), args.test,
                len(test) - n_top, names[0], n_top, names[1])
    res = score_images(model, test.images, sp.batch_size, sp.sample, seed)
    rec = res.pop("reconstruction")
    # the same seeds as `score.sample: true`, so with it the two sets are equal
    sampled = score_images(model, test.images, sp.batch_size, True, seed)
    sampled = {k: sampled[k] for k in sc.IMAGE_SCORES}
    mean_img, mean_rec = class_means(test.images, rec, test.label)
    extra = {
        "z_mean": res.pop("z_mean").astype(np.float32),
        "z_logvar": res.pop("z_logvar").astype(np.float32),
        "category": np.argmax(res["logits"], axis=1).astype(np.int16),
        # the categorical code's distribution, for evaluate's embeddings of the discrete part
        "logits": res.pop("logits").astype(np.float32),
        "jet_pt": test.jet_pt,
        # N-subjettiness from pixelize, for evaluate's tau21 / tau32 baselines on these jets
        "tau21": test.tau21.astype(np.float32),
        "tau32": test.tau32.astype(np.float32),
        # each jet's process, so that evaluate reports every signal on its own
        "process": test.process.astype(np.int8),
        "mean_image": mean_img,
        "mean_reconstruction": mean_rec,
        "sampled_scores": sampled,
    }
    sc.write_score_file(
        args.out, res, test.label, test.jet_mass, extra,
        attrs={"model": str(args.model), "test": str(args.test), "sample": sp.sample,
               "classes": "index 0 = background (label 0), 1 = anomalies (label 1) for "
                          "mean_image / mean_reconstruction",
               "processes": ",".join(PROCESSES),
               "background": str(test.attrs.get("background", default("split", "background")))},
    )
    logger.info("wrote %d x %d scores to %s", len(test), len(res), args.out)
    if args.figures:
        write_figures(model, test, rec, extra, Path(args.figures), params, res["kl_total"])


def write_figures(model, test, rec, extra, folder: Path, params, kl_total) -> None:
    note = plots.data_note(params)
    names = class_names(test)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "mean_images.pdf", suffix=".pdf") as tmp:
        plots.mean_images(extra["mean_image"], extra["mean_reconstruction"], tmp, note, names)
    with atomic_path(folder / "examples.pdf", suffix=".pdf") as tmp:
        plots.example_reconstructions(test.images, rec, test.label, tmp, note, names=names)
    rows = interpolation_rows(model, test, extra, kl_total)
    if rows:
        with atomic_path(folder / "latent_interpolation.pdf", suffix=".pdf") as tmp:
            plots.jet_interpolation(rows, tmp, note)
    with atomic_path(folder / "weights.pdf", suffix=".pdf") as tmp:
        plots.weight_histograms({"JointVAE encoder": model.encoder,
                                 "JointVAE decoder": model.decoder}, tmp, note)
    logger.info("wrote %d figures to %s", 3 + bool(rows), folder)
