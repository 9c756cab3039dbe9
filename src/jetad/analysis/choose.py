"""Choosing a point of the beta / capacity scan from background jets only.

An anomaly detector may not be tuned on the anomalies it is tested on: picking the point
with the best AUC on the test signals makes that AUC a fitted number. The chooser therefore
sees nothing but what each run's training wrote about its held-out background (validation)
jets, `training_metrics.json`: no label, no score of a test jet, no metrics.json.

The rule: points whose latent collapsed (no active continuous dimension, jetad.analysis.collapse)
are set aside, unless every point did: such a model encodes nothing about the jet, so every
score that reads its latent is noise and its reconstruction is nearly one image for every jet
(the ELBO alone prefers them: a collapsed posterior pays no KL). Of the others, the lowest
validation negative ELBO, reconstruction BCE + KL of the continuous
latent + KL of the discrete latent, in nats per jet, at each run's best epoch. It is the
same quantity whatever the objective (beta or capacity only weight the KL in training), so
the points compare on one scale: the bound on -log p(background jet) of [Kingma & Welling
2014], the held-out likelihood a VAE is selected by. Points whose negative ELBO lies within
`tolerance` (relative) of the lowest count as equally good, a stand-in for the noise of a mean
over the validation jets; among them the least collapsed wins: the most active latent
dimensions, then the largest reconstruction spread ratio (jetad.analysis.collapse, also
measured on validation background), then the lower negative ELBO, then the name.

The headline score (`evaluate.headline`, the detector's one output) is chosen by a second rule,
`choose_score`, from the seed repeats' scores of the validation jets, which are background only:
the score whose ranking of the same background jets is most reproducible over training seeds,
measured as the mean over pairs of seeds of Spearman's rank correlation between the two seeds'
scores of those jets. A detector's output is a cut on the score at a fixed background
acceptance; a score that orders the background differently from one seed to the next selects
different jets at that cut, so its efficiencies move with the seed whatever the anomaly. Scores
within `tolerance` (absolute) of the most reproducible count as equally good, and the first of
them in a stated prior order wins: the encoder-only scores first (KL total, then its two
parts), which need no decoder in a trigger, then the reconstruction scores. The latent density
is not a candidate: its mixture is fitted on these validation jets, so their ranking is not a
held-out measurement. The rule reads no label and no test jet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# the prior order among equally reproducible scores: encoder-only first (what the FPGA encoder
# and the trigger student compute), then the reconstruction scores
SCORE_PRIOR = ("kl_total", "kl_cont", "kl_disc", "bce", "mse", "dice", "pixel_diff", "total")
SCORE_RULE = ("the most reproducible ranking of the validation background over training seeds "
              "(mean pairwise Spearman correlation); within {tolerance:g} of it, the first of "
              + ", ".join(SCORE_PRIOR))
RULE = ("points with an active latent dimension (all, if none has one); of them, the "
        "lowest validation-background negative ELBO (BCE + KL cont. + KL disc.); within "
        "{tolerance:g} relative of it, the most active latent dimensions, then the largest "
        "spread ratio")


@dataclass(frozen=True)
class Choice:
    run: str
    rule: str
    neg_elbo: dict[str, float]  # every run's validation negative ELBO, nats per jet
    tied: tuple[str, ...]  # the runs within the tolerance of the lowest, the chosen among them
    collapsed: tuple[str, ...] = ()  # the runs set aside: no active latent dimension


def neg_elbo(training: dict) -> float:
    """Validation negative ELBO of one run's training_metrics.json, nats per jet."""
    val = training["val"]
    return float(val["bce"]) + float(val["kl_cont"]) + float(val["kl_disc"])


def choose(training: dict[str, dict], tolerance: float) -> Choice:
    """The scan point to use, from {run name: its training_metrics.json} alone (see the
    module's rule). Raises ValueError on no runs or a non-finite negative ELBO."""
    if not training:
        raise ValueError("no runs to choose from")
    elbo = {name: neg_elbo(t) for name, t in training.items()}
    bad = sorted(name for name, v in elbo.items() if not math.isfinite(v))
    if bad:
        raise ValueError(f"no finite validation negative ELBO for {', '.join(bad)}")
    collapsed = tuple(sorted(name for name, t in training.items()
                             if int(t["collapse"]["active_dims"]) == 0))
    candidates = {name: v for name, v in elbo.items() if name not in collapsed} or elbo
    lowest = min(candidates.values())
    tied = sorted(name for name, v in candidates.items()
                  if v <= lowest + tolerance * abs(lowest))

    def preference(name: str):
        col = training[name]["collapse"]
        return (-int(col["active_dims"]), -float(col["spread_ratio"]), elbo[name], name)

    return Choice(run=min(tied, key=preference), rule=RULE.format(tolerance=tolerance),
                  neg_elbo=elbo, tied=tuple(sorted(tied, key=preference)),
                  collapsed=collapsed if len(candidates) < len(elbo) else ())


@dataclass(frozen=True)
class ScoreChoice:
    score: str
    rule: str
    reproducibility: dict[str, float]  # every candidate's mean pairwise rank correlation
    tied: tuple[str, ...]  # the candidates within the tolerance, in the prior order


def ranks(values) -> list[float]:
    """Ranks 1..n of `values`, ties given their average rank (as Spearman's coefficient asks)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(a, b) -> float:
    """Spearman's rank correlation of two equally long sequences; NaN when either is constant
    (no ranking to compare)."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"{len(a)} and {len(b)} values: need two equally long sequences of "
                         "two or more")
    ra, rb = ranks(list(a)), ranks(list(b))
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else math.nan


def reproducibility(per_seed: list) -> float:
    """Mean over pairs of seeds of the rank correlation of their scores of the same jets."""
    pairs = [(i, j) for i in range(len(per_seed)) for j in range(i + 1, len(per_seed))]
    return sum(spearman(per_seed[i], per_seed[j]) for i, j in pairs) / len(pairs)


def choose_score(val_scores: dict[str, dict], tolerance: float) -> ScoreChoice:
    """The headline score from {seed run: {score: its scores of the validation (background)
    jets, the same jets in the same order for every run}} alone (see the module's rule).
    Raises ValueError with fewer than two runs, runs of different jets, or no candidate."""
    if len(val_scores) < 2:
        raise ValueError(f"{len(val_scores)} seed run(s): reproducibility needs two or more")
    runs = sorted(val_scores)
    sizes = {len(v) for r in runs for k, v in val_scores[r].items() if k in SCORE_PRIOR}
    if len(sizes) > 1:
        raise ValueError(f"the runs scored different numbers of validation jets {sorted(sizes)}")
    rep = {}
    for name in SCORE_PRIOR:
        if all(name in val_scores[r] for r in runs):
            value = reproducibility([list(val_scores[r][name]) for r in runs])
            if math.isfinite(value):
                rep[name] = value
    if not rep:
        raise ValueError("no candidate score with a ranking in every run: "
                         + ", ".join(SCORE_PRIOR))
    best = max(rep.values())
    tied = tuple(n for n in SCORE_PRIOR if n in rep and rep[n] >= best - tolerance)
    return ScoreChoice(score=tied[0], rule=SCORE_RULE.format(tolerance=tolerance),
                       reproducibility=rep, tied=tied)
