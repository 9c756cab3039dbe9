"""The eight anomaly scores of [Valente 2022] ch. 3, in NumPy, one value per image (higher = more anomalous),
and the name of a ninth, the latent density (jetad.analysis.latent_density).

x is the input image, x' the reconstruction, both (N, H, W). The KL scores need only the
encoder's distribution parameters (mean, logvar, categorical logits). The latent density needs
more than the jet: the density of the validation jets' latents, fitted once per model.

Deliberately unlike the authors' public scoring code ([Valente et al. ISGC 2023]): names are bound to
values by key, never by zipping two lists; BCE is -[x log x' + (1 - x) log(1 - x')] with the input as the
target; Dice is the loss 1 - coefficient, not the inverse coefficient.
"""

from __future__ import annotations

import h5py
import numpy as np

from jetad.atomic import atomic_path, create_h5, create_h5_group
from jetad.errors import DataError
from jetad.inputs import open_h5, reading

# the scores of a jet alone, what all_scores returns
JET_SCORES = ("mse", "bce", "dice", "pixel_diff", "total", "kl_cont", "kl_disc", "kl_total")
# Order in files, tables and plots.
NAMES = (*JET_SCORES, "latent_density")
LABELS = {
    "mse": "MSE", "bce": "BCE", "dice": "Dice loss", "pixel_diff": "Pixel difference",
    "total": "Total (BCE + Dice)", "kl_cont": "KL continuous", "kl_disc": "KL discrete",
    "kl_total": "KL total", "latent_density": "Latent density (-log p)",
}
EPS = 1e-7
# the scores of the reconstruction, which a sampled latent changes (KL reads the encoder alone)
IMAGE_SCORES = ("mse", "bce", "dice", "pixel_diff", "total")
# the group of the validation (background) jets' scores: other jets than the test jets, so of a
# length of its own; what a score is standardized by without reading a label
VAL_GROUP = "val_scores"


def _flat(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape[0], -1)


def mse(x, x_rec) -> np.ndarray:
    """Energy difference: sum over pixels of (x - x')^2."""
    return np.sum((_flat(x) - _flat(x_rec)) ** 2, axis=1)


def bce(x, x_rec, eps: float = EPS) -> np.ndarray:
    x, r = _flat(x), np.clip(_flat(x_rec), eps, 1.0 - eps)
    return -np.sum(x * np.log(r) + (1.0 - x) * np.log(1.0 - r), axis=1)


def dice(x, x_rec) -> np.ndarray:
    """1 - 2 sum x x' / (sum x + sum x'); two empty images count as identical (loss 0)."""
    x, r = _flat(x), _flat(x_rec)
    den = x.sum(axis=1) + r.sum(axis=1)
    num = 2.0 * np.sum(x * r, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    return 1.0 - coef


def pixel_diff(x_rec) -> np.ndarray:
    """1 - sum x', signed, as the talk writes it: inputs sum to 1, so this is how much of the
    jet's pT the reconstruction misses (negative when it adds some). There is no published
    number to match: the talk's "pixel diff 84.18%" row is the authors' BCE with swapped
    arguments, and their own pixel difference scored 49.99% ([Valente et al. ISGC 2023])."""
    return 1.0 - _flat(x_rec).sum(axis=1)


def kl_cont(mean, logvar) -> np.ndarray:
    mean, logvar = np.asarray(mean, np.float64), np.asarray(logvar, np.float64)
    return -0.5 * np.sum(1.0 + logvar - mean**2 - np.exp(logvar), axis=1)


def softmax(logits) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def kl_disc(logits, eps: float = EPS) -> np.ndarray:
    q = softmax(logits)
    k = q.shape[1]
    return np.sum(q * np.log(q + eps) - q * np.log(1.0 / k + eps), axis=1)


def all_scores(x, x_rec, mean, logvar, logits, eps_kl: float = EPS) -> dict[str, np.ndarray]:
    out = {
        "mse": mse(x, x_rec),
        "bce": bce(x, x_rec),
        "dice": dice(x, x_rec),
        "pixel_diff": pixel_diff(x_rec),
        "kl_cont": kl_cont(mean, logvar),
        "kl_disc": kl_disc(logits, eps_kl),
    }
    out["total"] = out["bce"] + out["dice"]
    out["kl_total"] = out["kl_cont"] + out["kl_disc"]
    return {name: out[name] for name in JET_SCORES}


def write_score_file(path, scores: dict[str, np.ndarray], label, jet_mass,
                     extra: dict[str, np.ndarray] | None = None, attrs: dict | None = None) -> None:
    """HDF5: /scores/<name> (N,), label (N,) int8, jet_mass (N,), optional extra arrays; an
    extra value that is a dict becomes a group of (N,) scores (e.g. /sampled_scores/<name>),
    or of the validation jets' scores (/val_scores/<name>, one per validation jet)."""
    with atomic_path(path, suffix=".h5") as tmp, create_h5(tmp) as f:
        g = create_h5_group(f, "scores")
        for name, values in scores.items():
            g.create_dataset(name, data=np.asarray(values, np.float64), track_times=False)
        f.create_dataset("label", data=np.asarray(label, np.int8), track_times=False)
        f.create_dataset("jet_mass", data=np.asarray(jet_mass, np.float32), track_times=False)
        for name, values in (extra or {}).items():
            if isinstance(values, dict):
                sub = create_h5_group(f, name)
                for k, v in values.items():
                    sub.create_dataset(k, data=np.asarray(v, np.float64), track_times=False)
            else:
                f.create_dataset(name, data=values, track_times=False)
        for key, value in (attrs or {}).items():
            f.attrs[key] = value


def _check_finite(path, arrays: dict, n: int, what: str) -> None:
    for k, v in arrays.items():
        if v.shape != (n,):
            raise DataError(f"{path}: {k} has shape {v.shape}, expected ({n},) for {n} {what}")
        bad = np.flatnonzero(~np.isfinite(v))
        if len(bad):
            raise DataError(f"{path}: NaN or inf in {k}, rows {', '.join(map(str, bad[:10]))}")


def read_score_file(path) -> dict:
    """{'scores': {name: array}, 'label', 'jet_mass', other datasets, 'attrs'}, checked: every
    score and the jet mass one finite value per jet (the validation jets' scores, when held,
    one per validation jet), labels 0 (QCD) or 1 (top)."""
    with open_h5(path, "score file") as f, reading(path):
        missing = [k for k in ("scores", "label", "jet_mass") if k not in f]
        if missing:
            raise DataError(f"{path}: not a score file (missing {', '.join(missing)};"
                            f" found {', '.join(sorted(f)[:10]) or 'nothing'})")
        if not isinstance(f["scores"], h5py.Group) or not len(f["scores"]):
            raise DataError(f"{path}: not a score file (/scores holds no scores)")
        out = {"scores": {k: f["scores"][k][...] for k in f["scores"]}}
        groups = []  # further groups of per-jet scores, e.g. sampled_scores
        for k in f:
            if k != "scores" and isinstance(f[k], h5py.Group):
                out[k] = {name: f[k][name][...] for name in f[k]}
                groups.append(k)
            elif k != "scores":
                out[k] = f[k][...]
        out["attrs"] = dict(f.attrs)
    n = len(out["label"])
    if n == 0:
        raise DataError(f"{path}: holds no jets")
    # tau21 / tau32: optional (a file from before they were carried), checked when present
    per_jet = {k: out[k] for k in ("jet_mass", "tau21", "tau32") if k in out}
    per_jet.update({f"{g}/{k}": v for g in groups if g != VAL_GROUP for k, v in out[g].items()})
    _check_finite(path, {**out["scores"], **per_jet}, n, "jets")
    if VAL_GROUP in out:
        val = {f"{VAL_GROUP}/{k}": v for k, v in out[VAL_GROUP].items()}
        n_val = len(next(iter(val.values()), ()))
        _check_finite(path, val, n_val, "validation jets")
    bad = np.flatnonzero(~np.isin(out["label"], (0, 1)))
    if len(bad):
        raise DataError(f"{path}: label must be 0 (QCD) or 1 (top), not in rows "
                        f"{', '.join(map(str, bad[:10]))}")
    return out
