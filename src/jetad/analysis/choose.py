"""Choosing a point of the beta / capacity scan from background jets only.

An anomaly detector may not be tuned on the anomalies it is tested on: picking the point
with the best AUC on the test signals makes that AUC a fitted number. The chooser therefore
sees nothing but what each run's training wrote about its held-out background (validation)
jets, `training_metrics.json`: no label, no score of a test jet, no metrics.json.

The rule: the lowest validation negative ELBO, reconstruction BCE + KL of the continuous
latent + KL of the discrete latent, in nats per jet, at each run's best epoch. It is the
same quantity whatever the objective (beta or capacity only weight the KL in training), so
the points compare on one scale: the bound on -log p(background jet) of [Kingma & Welling
2014], the held-out likelihood a VAE is selected by. Points whose negative ELBO lies within
`tolerance` (relative) of the lowest count as equally good, a stand-in for the noise of a mean
over the validation jets; among them the least collapsed wins: the most active latent
dimensions, then the largest reconstruction spread ratio (jetad.analysis.collapse, also
measured on validation background), then the lower negative ELBO, then the name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RULE = ("lowest validation-background negative ELBO (BCE + KL cont. + KL disc.); within "
        "{tolerance:g} relative of it, the most active latent dimensions, then the largest "
        "spread ratio")


@dataclass(frozen=True)
class Choice:
    run: str
    rule: str
    neg_elbo: dict[str, float]  # every run's validation negative ELBO, nats per jet
    tied: tuple[str, ...]  # the runs within the tolerance of the lowest, the chosen among them


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
    lowest = min(elbo.values())
    tied = sorted(name for name, v in elbo.items()
                  if v <= lowest + tolerance * abs(lowest))

    def preference(name: str):
        col = training[name]["collapse"]
        return (-int(col["active_dims"]), -float(col["spread_ratio"]), elbo[name], name)

    return Choice(run=min(tied, key=preference), rule=RULE.format(tolerance=tolerance),
                  neg_elbo=elbo, tied=tuple(sorted(tied, key=preference)))
