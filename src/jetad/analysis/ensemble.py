"""The seed ensemble: one detector made of the default model's repeats over training seeds.

Every seed's model scores the same test jets with the declared headline score
(`evaluate.headline`), but the scales differ from seed to seed (a KL total of 20 nats in one
run is typical, in another anomalous), so the scores are put on one scale first: each seed's
score is standardized by the mean and standard deviation of that seed's score on its
validation jets, which are background (QCD) only, z = (s - mean_val) / std_val. The ensemble
score of a jet is the mean of its z over the seeds. Nothing in it reads a label or a test jet:
the statistics come from the validation background alone, the same for every test jet, so
the ensemble is as label-free as each seed's score. Averaging models trained from different
seeds is the deep-ensemble recipe of [Lakshminarayanan et al. 2017]; standardizing each
member on background-only data is what makes an average of unnormalized anomaly scores
meaningful.

The standard deviation is the population one (ddof 0); a seed whose validation scores are all
equal has no scale and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jetad.analysis import evaluation, headline
from jetad.analysis.scores import VAL_GROUP, read_score_file, write_score_file
from jetad.errors import DataError

KEY = "ensemble"
# the test jets' arrays every seed's file must hold alike: the same jets, scored by each seed
SAME_JETS = ("label", "jet_mass", "process")


@dataclass(frozen=True)
class Standardization:
    mean: float
    std: float
    n: int  # validation jets


def standardization(val_scores) -> Standardization:
    """Mean and standard deviation of one seed's score on its validation background jets.
    Raises ValueError with fewer than two jets or no spread."""
    v = np.asarray(val_scores, np.float64)
    if v.ndim != 1 or len(v) < 2:
        raise ValueError(f"{v.size} validation scores: need two or more to standardize")
    if not np.isfinite(v).all():
        raise ValueError("NaN or inf among the validation scores")
    std = float(v.std())
    if not std > 0:
        raise ValueError("the validation scores are all equal: no scale to standardize by")
    return Standardization(float(v.mean()), std, len(v))


def standardize(scores, st: Standardization) -> np.ndarray:
    return (np.asarray(scores, np.float64) - st.mean) / st.std


def combine(test_scores: list, val_scores: list) -> tuple[np.ndarray, list[Standardization]]:
    """(ensemble score per test jet, each seed's standardization): the mean over the seeds of
    each seed's test scores standardized on its own validation scores."""
    if not test_scores or len(test_scores) != len(val_scores):
        raise ValueError(f"{len(test_scores)} seeds' test scores and {len(val_scores)} seeds' "
                         "validation scores: need one of each per seed, at least one seed")
    stats = [standardization(v) for v in val_scores]
    z = np.stack([standardize(s, st) for s, st in zip(test_scores, stats, strict=True)])
    return z.mean(axis=0), stats


def read_seeds(paths: list, score: str) -> dict:
    """The seeds' score files: {"first": the first file (its labels, masses, processes),
    "test": [test scores per seed], "val": [validation scores per seed]}; a DataError naming
    the file that lacks the score or its validation scores, or holds other jets."""
    first, test, val = None, [], []
    for path in paths:
        f = read_score_file(path)
        headline.check(score, f, path)
        if score not in f.get(VAL_GROUP, {}):
            raise DataError(f"{path}: no validation scores /{VAL_GROUP}/{score} (written by an "
                            "older jetad score); score the run again")
        first = first or {**f, "path": path}
        for k in SAME_JETS:
            if (k in first) != (k in f) or (k in f and not np.array_equal(first[k], f[k])):
                raise DataError(f"{path}: {k} differs from {first['path']}'s; every seed must "
                                "score the same test file")
        test.append(f["scores"][score])
        val.append(f[VAL_GROUP][score])
    if first is None:
        raise DataError("no seed score files to combine")
    return {"first": first, "test": test, "val": val}


def figures_of_merit(first: dict, values: np.ndarray, score: str, seed: int) -> dict:
    """The ensemble's AUC and 1/eps_B at eps_S = 0.3 with seeded 68% bootstrap intervals, on
    every signal alone and on all anomalies, and the worst case over the signals."""
    label = first["label"].astype(int)
    _, sigs = evaluation.signals(first, first["path"])
    sel = evaluation.selections(label, sigs)
    res = evaluation.figures_of_merit(label, {KEY: values}, sel, {}, seed)
    keep = ("auc", "auc_68", "rejection_at_eff_s_0p3", "rejection_at_eff_s_0p3_68",
            "n_signal", "n_background")
    per = {(p.rstrip("/") or "all"): {k: res[p + KEY].get(k) for k in keep} for p in sel}
    signals = {s: per[s] for s in sigs} or {"all": per["all"]}
    return {"score": score, "per_signal": per, "worst_case": headline.worst_case(signals)}


def build(paths: list, score: str, seed: int, out=None) -> dict:
    """The ensemble of the seeds' score files `paths` on the headline `score`: its figures of
    merit and each seed's standardization; with `out`, its score file written there (the
    ensemble score as /scores/ensemble, with the first file's labels, masses, processes)."""
    seeds = read_seeds(paths, score)
    values, stats = combine(seeds["test"], seeds["val"])
    first = seeds["first"]
    if out is not None:
        extra = {k: first[k] for k in ("process", "tau21", "tau32") if k in first}
        attrs = {k: first["attrs"][k] for k in ("processes", "background")
                 if k in first["attrs"]}
        attrs.update(score=score, runs=",".join(str(Path(p).parent) for p in paths),
                     val_mean=[s.mean for s in stats], val_std=[s.std for s in stats])
        write_score_file(out, {KEY: values}, first["label"], first["jet_mass"], extra, attrs)
    fom = figures_of_merit(first, values, score, seed)
    fom["method"] = (f"mean over {len(paths)} seeds of {score} standardized on each seed's "
                     "validation background jets")
    fom["standardization"] = {str(Path(p).parent.name): {"mean": s.mean, "std": s.std, "n": s.n}
                              for p, s in zip(paths, stats, strict=True)}
    return evaluation.jsonable(fom)
