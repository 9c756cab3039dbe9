"""Scoring test jets with a trained JointVAE ([Valente 2022] ch. 3): the eight anomaly scores, latents and
per-class means batch by batch, the validation jets' latents for the latent density, and the
decoded interpolation between the classes' latents. Image files are read a chunk of rows at a
time (score_file, encode_file): the memory holds one chunk's images and every jet's few
values, not every jet's images and reconstructions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetad.analysis import scores as sc
from jetad.analysis.summary import display
from jetad.data.images import FIELDS, ImageFile, read_image_rows
from jetad.params import default


def _forward(model, sample: bool):
    """The model's forward pass, compiled once for every batch: (images, [seed, first row of
    the batch]) -> (reconstruction, logits, mean, logvar)."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf

    npix = model.cfg.npix
    spec = [tf.TensorSpec((None, npix, npix), tf.float32), tf.TensorSpec((2,), tf.int32)]

    @tf.function(input_signature=spec)
    def forward(x, s):
        return model.forward(x, training=False, sample=sample, seed=s)

    return forward


def _score_batch(model, forward, x: np.ndarray, seed: int, start: int) -> tuple[dict, np.ndarray]:
    """The scores and latents of one batch whose first jet is row `start`, and its
    reconstruction."""
    # heavy: TensorFlow loads once a model is scored, after the inputs were checked
    import tensorflow as tf

    rec, logits, mean, logvar = (
        t.numpy() for t in forward(tf.constant(x), tf.constant([seed, start], tf.int32))
    )
    values = sc.all_scores(x, rec, mean, logvar, logits, model.cfg.kl_eps)
    return {**values, "z_mean": mean, "z_logvar": logvar, "logits": logits}, rec


def score_images(model, images: np.ndarray, batch_size: int, sample: bool, seed: int,
                 progress=None) -> dict:
    """Scores, latents and reconstructions of images in memory, batch by batch; `progress`
    (a jetad.log.Progress) counts the jets done."""
    forward = _forward(model, sample)
    parts: dict[str, list] = {}
    for start in range(0, len(images), batch_size):
        values, rec = _score_batch(model, forward, images[start:start + batch_size], seed, start)
        for k, v in {**values, "reconstruction": rec}.items():
            parts.setdefault(k, []).append(v)
        if progress is not None:
            progress.update(len(rec))
    return {k: np.concatenate(v) for k, v in parts.items()}


def read_rows(batch_size: int, chunk: int) -> int:
    """Rows of an image file read at a time while scoring it: `chunk` (data.chunk) rounded down
    to whole batches, at least one. Whole batches, so that every batch holds the jets it held
    when the whole file was in memory: the sampled latents are seeded by their batch's first
    row, and the arithmetic of a batch may depend on its size."""
    return batch_size * max(1, chunk // batch_size)


@dataclass
class FileScores:
    """What score_file keeps of a file's jets: per jet, the scores, z_mean, z_logvar and
    logits (`values`), the image scores from a sampled latent (`sampled`, when asked) and the
    file's fields (`fields`: jetad.data.images.FIELDS); the class means of images and
    reconstructions (`means`, when asked); and the image and reconstruction of the jets asked
    to be kept (`kept`: row -> (image, reconstruction))."""

    values: dict
    sampled: dict
    fields: dict
    means: ClassMeans | None
    kept: dict[int, tuple[np.ndarray, np.ndarray]]


def score_file(model, images: ImageFile, rows: int, batch_size: int, sample: bool, seed: int,
               progress=None, sampled: bool = False, means: bool = False,
               keep=()) -> FileScores:
    """score_images of an image file, `rows` rows (a multiple of batch_size) read at a time:
    the same values, with the reconstructions summed into class means (`means`) and dropped,
    so the memory is that of one read and of the small per-jet values. `sampled`: also the
    image scores from one seeded latent sample per jet, seeded as score_images(sample=True)
    seeds it. `progress` counts the jets done."""
    if rows % batch_size:
        raise ValueError(f"rows {rows} must be a multiple of batch_size {batch_size}")
    forwards = {"values": _forward(model, sample)}
    if sampled:
        forwards["sampled"] = _forward(model, True)
    parts: dict[str, dict[str, list]] = {name: {} for name in forwards}
    acc = ClassMeans(images.shape) if means else None
    keep = set(int(i) for i in keep)
    kept = {}
    fields: dict[str, list] = {k: [] for k in FIELDS}
    for first, chunk in images.chunks(rows):
        for k, v in fields.items():
            v.append(getattr(chunk, k))
        x_all = chunk.images
        for start in range(0, len(x_all), batch_size):
            x = x_all[start:start + batch_size]
            for name, forward in forwards.items():
                values, rec = _score_batch(model, forward, x, seed, first + start)
                if name == "sampled":
                    values = {k: values[k] for k in sc.IMAGE_SCORES}
                else:
                    if acc is not None:
                        acc.add(x, rec, chunk.label[start:start + len(x)])
                    for i in keep.intersection(range(first + start, first + start + len(x))):
                        kept[i] = (x[i - first - start], rec[i - first - start])
                for k, v in values.items():
                    parts[name].setdefault(k, []).append(v)
            if progress is not None:
                progress.update(len(x))
    out = {name: {k: np.concatenate(v) for k, v in p.items()} for name, p in parts.items()}
    return FileScores(out["values"], out.get("sampled", {}),
                      {k: np.concatenate(v) for k, v in fields.items()}, acc, kept)


def encode_file(model, images: ImageFile, rows: int, batch_size: int, progress=None):
    """(mean, logvar) of the continuous latent, (N, latent_cont) each, of an image file read
    `rows` rows at a time, batch by batch: the encoder alone, as the KL scores read it."""
    # heavy: TensorFlow starts only in the stages that build or run a model
    import tensorflow as tf

    npix = model.cfg.npix

    @tf.function(input_signature=[tf.TensorSpec((None, npix, npix), tf.float32)])
    def encode(x):
        return model.encoder(x[..., None], training=False)

    means, logvars = [], []
    for _, chunk in images.chunks(rows):
        for start in range(0, len(chunk), batch_size):
            x = chunk.images[start:start + batch_size]
            _, mean, logvar = (t.numpy() for t in encode(tf.constant(x)))
            means.append(mean)
            logvars.append(logvar)
            if progress is not None:
                progress.update(len(x))
    return np.concatenate(means), np.concatenate(logvars)


class ClassMeans:
    """The mean image and mean reconstruction of each class (index 0 the background, label 0;
    1 the anomalies) of jets added batch by batch, the bytes NumPy's mean of all of them at
    once gives: over the first axis of float32 images it adds them one after the other in
    float32 (no pairwise summation across rows) and divides by the count, so each batch is
    added onto the running sum in the same order and the division is the same."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)
        self.sums: list[list[np.ndarray | None]] = [[None, None], [None, None]]  # [what][class]
        self.counts = [0, 0]

    def add(self, images: np.ndarray, rec: np.ndarray, label: np.ndarray) -> None:
        for cls in (0, 1):
            sel = label == cls
            if not sel.any():
                continue
            self.counts[cls] += int(sel.sum())
            for what, arr in enumerate((images, rec)):
                total = self.sums[what][cls]
                # the running sum as the first row: added to before the batch's rows, in order
                rows = arr[sel] if total is None else np.concatenate([total[None], arr[sel]])
                self.sums[what][cls] = rows.sum(axis=0)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean images, mean reconstructions), each (2, h, w) float32; zeros for a class
        without jets."""
        out = []
        for sums in self.sums:
            per_class = []
            for cls, total in enumerate(sums):
                if total is None:
                    per_class.append(np.zeros(self.shape))
                else:
                    # np.mean's own division: by the count as a NumPy integer, into the sum
                    per_class.append(np.true_divide(total, np.intp(self.counts[cls]),
                                                    out=np.empty_like(total), casting="unsafe"))
            out.append(np.stack(per_class).astype(np.float32))
        return out[0], out[1]


def class_names(test: ImageFile) -> tuple[str, str]:
    """(background, anomalies) as the figures name them, from the test file's processes."""
    names = test.process_names()
    background = display(str(test.attrs.get("background", default("split", "background"))))
    signals = [display(str(n)) for n in dict.fromkeys(names[test.label == 1])]
    return background, (signals[0] if len(signals) == 1
                        else f"anomalies ({', '.join(signals)})" if signals else "anomalies")


def interpolation_rows(model, test: ImageFile, extra, kl_total, n_steps: int = 8) -> list[dict]:
    """For every anomalous process: the background jet and that process's jet of median KL
    total (typical jets, chosen without randomness; their images read from the test file),
    and the decoded straight path between their latents (z = mean, c = softmax(logits / tau),
    as the deterministic reconstruction)."""
    # heavy: the JointVAE module imports TensorFlow
    from jetad.models.jointvae import deterministic_latent

    def typical(mask):
        idx = np.flatnonzero(mask)
        return int(idx[np.argsort(kl_total[idx], kind="stable")[len(idx) // 2]])

    def image(row):
        return read_image_rows(test.path, row, row + 1).images[0]

    names = test.process_names()
    bg = test.label == 0
    if not bg.any() or bg.all():
        return []
    start = typical(bg)
    rows = []
    for proc in dict.fromkeys(names[test.label == 1]):
        end = typical(names == proc)
        z, c = deterministic_latent(extra["z_mean"][[start, end]], extra["logits"][[start, end]],
                                    model.cfg.tau)
        ends = np.concatenate([np.asarray(z), np.asarray(c)], axis=1)
        steps = np.linspace(0.0, 1.0, n_steps)
        path = ((1 - steps[:, None]) * ends[0] + steps[:, None] * ends[1]).astype(np.float32)
        rows.append({
            "title": f"{display(names[start])} to {display(proc)}",
            "start": image(start), "end": image(end),
            "start_name": display(names[start]), "end_name": display(proc),
            "decoded": model.decoder(path, training=False).numpy()[..., 0], "steps": steps,
        })
    return rows
