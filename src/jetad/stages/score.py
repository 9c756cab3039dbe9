"""`jetad score`: the eight anomaly scores of [Valente 2022] ch. 3 for every test jet, and a ninth,
the latent density (jetad.analysis.latent_density): -log p of the jet's latent mean under a
Gaussian mixture fitted to the validation (background) jets' latent means.

The KL scores come from the encoder's distribution parameters alone (analytic KL, no sampling).
The reconstruction fed to the image scores uses the latent without noise (z = mean,
c = softmax(logits / tau)) unless `score.sample: true`, which draws one seeded sample per jet.
Either way the file also holds /sampled_scores: the image scores from one seeded latent sample
per jet, as the authors scored, so evaluate reports them beside the deterministic ones (the KL
scores need no sample: they are the same), and /val_scores: every score of the validation
(background) jets, which standardize a score without a label (the seed ensemble).
With --figures, also draws the mean images and reconstructions per class (named from the test
file's processes), the decoded path between a typical background jet's latent and a typical jet
of each anomalous process, and the weights per layer.
The test and validation files are read `data.chunk` jets at a time (rounded down to whole
batches of score.batch_size), every row checked before TensorFlow starts: the memory holds one
chunk's images and reconstructions and every jet's few values (scores, latents), never every
jet's images. The class means are summed as NumPy's mean of every image at once sums them, so
the file is the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetad import log
from jetad.analysis import latent_density, plots
from jetad.analysis import scores as sc
from jetad.analysis.collapse import ACTIVE_KL
from jetad.atomic import atomic_path, make_dir
from jetad.data.images import ImageFile, check_background_images, check_images
from jetad.data.processes import PROCESSES
from jetad.inputs import read_model_meta
from jetad.models.determinism import setup_tf
from jetad.models.scoring import (
    class_names,
    encode_file,
    interpolation_rows,
    read_rows,
    score_file,
)
from jetad.params import default

logger = log.get("jetad.score")
EXAMPLES = 4  # jets per class in examples.pdf


def run(args, params) -> None:
    sp, seed = params.score, params.seed
    rows = read_rows(sp.batch_size, params.data.chunk)
    # the inputs are checked, every row, before TensorFlow is imported (it prints on stderr)
    meta = read_model_meta(args.model, "jointvae")
    npix = int(meta["config"].get("npix", default("pixelize", "npix")))
    expects = f"the model {args.model} expects"
    test = check_images(args.test, rows, npix=npix, expected_by=expects)
    val = check_background_images(args.val, rows, npix, "validation", expects)
    setup_tf(seed)
    # heavy: the JointVAE module imports TensorFlow; it loads after the inputs are checked
    from jetad.models.jointvae import load

    model = load(args.model)
    logger.info("loaded JointVAE from %s (%s)", args.model, model.param_counts())
    n_top = int((test.label == 1).sum())
    names = class_names(test)
    logger.info("read %d test jets from %s (%d %s, %d %s), %d at a time", test.n, args.test,
                test.n - n_top, names[0], n_top, names[1], rows)
    density = fit_density(model, val, rows, sp, seed)
    # the same seeds as `score.sample: true`, so with it the two sets are equal
    logger.info("scoring the test jets from the latent means and from a sampled latent")
    examples = np.concatenate([np.flatnonzero(test.label == c)[:EXAMPLES] for c in (0, 1)])
    with log.Progress(logger, test.n, "jets") as progress:
        res = score_file(model, test, rows, sp.batch_size, sp.sample, seed, progress,
                         sampled=True, means=True, keep=examples)
    values = res.values
    values["latent_density"] = latent_density.score(density, values["z_mean"])
    extra = extras(test, res)
    extra[sc.VAL_GROUP] = val_scores(model, val, rows, density, sp, seed)
    scores = {k: values[k] for k in sc.NAMES}
    sc.write_score_file(args.out, scores, test.label, res.fields["jet_mass"], extra,
                        attrs=attributes(args, sp, test, density))
    logger.info("wrote %d x %d scores to %s", test.n, len(scores), args.out)
    if args.figures:
        write_figures(model, test, res.kept, extra, Path(args.figures), params,
                      values["kl_total"])


def fit_density(model, val: ImageFile, rows: int, sp, seed) -> latent_density.LatentDensity:
    """The latent density of the validation (background) jets, fitted on their latent means."""
    logger.info("encoding %d validation jets from %s for the latent density", val.n, val.path)
    with log.Progress(logger, val.n, "jets") as progress:
        mean, logvar = encode_file(model, val, rows, sp.batch_size, progress)
    density = latent_density.fit(mean, logvar, sp.density_components, sp.density_covariance,
                                 seed)
    if density.fallback:
        logger.warning("%d validation jets are fewer than the free parameters of %d %s "
                       "Gaussian(s) in %d dimensions: the latent density is one diagonal "
                       "Gaussian instead", density.n_fit, min(sp.density_components),
                       sp.density_covariance, len(density.dims))
    logger.info("latent density: %d %s Gaussian(s) on %d of %d latent dimensions (active: "
                "mean KL > %g nats) of %d validation jets; BIC per candidate %s",
                density.components, density.covariance, len(density.dims), mean.shape[1],
                ACTIVE_KL, density.n_fit,
                ", ".join(f"{k}: {b:.1f}" for k, b in density.bic.items()))
    return density


def val_scores(model, val: ImageFile, rows: int, density, sp, seed) -> dict:
    """Every score of the validation (background) jets, scored as the test jets are: the
    statistics a score is standardized by without a label (jetad.analysis.ensemble). Their
    latent density is in-sample (the mixture was fitted on these jets)."""
    logger.info("scoring the %d validation jets", val.n)
    res = score_file(model, val, rows, sp.batch_size, sp.sample, seed).values
    out = {k: res[k] for k in sc.JET_SCORES}
    out["latent_density"] = latent_density.score(density, res["z_mean"])
    return {k: out[k] for k in sc.NAMES}


def extras(test: ImageFile, res) -> dict:
    """The score file's arrays beside the scores; pops the latents from `res.values`."""
    mean_img, mean_rec = res.means.result()
    values, fields = res.values, res.fields
    return {
        "z_mean": values.pop("z_mean").astype(np.float32),
        "z_logvar": values.pop("z_logvar").astype(np.float32),
        "category": np.argmax(values["logits"], axis=1).astype(np.int16),
        # the categorical code's distribution, for evaluate's embeddings of the discrete part
        "logits": values.pop("logits").astype(np.float32),
        "jet_pt": fields["jet_pt"],
        # N-subjettiness from pixelize, for evaluate's tau21 / tau32 baselines on these jets
        "tau21": fields["tau21"].astype(np.float32),
        "tau32": fields["tau32"].astype(np.float32),
        # each jet's process, so that evaluate reports every signal on its own
        "process": test.process.astype(np.int8),
        "mean_image": mean_img,
        "mean_reconstruction": mean_rec,
        "sampled_scores": res.sampled,
    }


def attributes(args, sp, test: ImageFile, density) -> dict:
    return {"model": str(args.model), "test": str(args.test), "val": str(args.val),
            "sample": sp.sample,
            "classes": "index 0 = background (label 0), 1 = anomalies (label 1) for "
                       "mean_image / mean_reconstruction",
            "processes": ",".join(PROCESSES),
            "background": str(test.attrs.get("background", default("split", "background"))),
            # what latent_density read: the latent dimensions and the mixture's size
            "latent_density_dims": density.dims.astype(np.int16),
            "latent_density_components": density.components,
            "latent_density_covariance": density.covariance}


def write_figures(model, test: ImageFile, kept: dict, extra, folder: Path, params,
                  kl_total) -> None:
    """The figures; `kept`: row -> (image, reconstruction) of the first EXAMPLES jets of each
    class."""
    note = plots.data_note(params)
    names = class_names(test)
    make_dir(folder)
    with atomic_path(folder / "mean_images.pdf", suffix=".pdf") as tmp:
        plots.mean_images(extra["mean_image"], extra["mean_reconstruction"], tmp, note, names)
    rows = sorted(kept)
    with atomic_path(folder / "examples.pdf", suffix=".pdf") as tmp:
        plots.example_reconstructions(np.array([kept[i][0] for i in rows]),
                                      np.array([kept[i][1] for i in rows]), test.label[rows],
                                      tmp, note, per_class=EXAMPLES, names=names)
    rows = interpolation_rows(model, test, extra, kl_total)
    if rows:
        with atomic_path(folder / "latent_interpolation.pdf", suffix=".pdf") as tmp:
            plots.jet_interpolation(rows, tmp, note)
    with atomic_path(folder / "weights.pdf", suffix=".pdf") as tmp:
        plots.weight_histograms({"JointVAE encoder": model.encoder,
                                 "JointVAE decoder": model.decoder}, tmp, note)
    logger.info("wrote %d figures to %s", 3 + bool(rows), folder)
