"""The targets of the anomaly detector, met or missed, judged on its declared output.

    .venv/bin/python bench/targets.py                        # results/metrics.json, ...
    .venv/bin/python bench/targets.py --run results/scan/cap20 --inverse results/inverse/top

The detector is the one score of `evaluate.headline`, declared before evaluation (metrics.json's
`headline` entry); no score is picked per signal by its AUC. Targets (on the default preset):

- worst case over top, W and Z: the lowest AUC of the headline score at least 0.80;
- inverse task (trained on top, QCD the anomaly; `snakemake inverse`): AUC at least 0.70;
- top: AUC at least 0.93, and 1/eps_B at eps_S = 0.3 above the conv autoencoder's;
- spread over training seeds (results/seeds/seeds.json, `snakemake seeds`): the headline
  AUC's sample standard deviation at most 0.01 on each signal.

Each line prints the measured value against the target. A target whose inputs are missing (a
signal not generated, no inverse run, no seed repeats) is reported as not measured.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

MIN_WORST_AUC = 0.80
WORST_OVER = ("top", "w", "z")
MIN_INVERSE_AUC = 0.70
INVERSE_ANOMALY = "qcd"
MIN_TOP_AUC = 0.93
MAX_SEED_STD = 0.01
BASELINE = "top/baseline/conv_ae_mse"


def rej(entry: dict) -> float:
    r = entry.get("rejection_at_eff_s_0p3")
    return math.inf if r is None else float(r)


def _auc(entry: dict) -> str:
    lo, hi = entry.get("auc_68") or (math.nan, math.nan)
    return f"{entry['auc']:.3f} [{lo:.3f}, {hi:.3f}]"


def headline(metrics: dict, origin: str = "metrics.json") -> dict:
    """metrics.json's `headline` entry (jetad evaluate's declared output), checked."""
    entry = metrics.get("headline")
    if not isinstance(entry, dict) or not isinstance(entry.get("per_signal"), dict):
        raise ValueError(f"{origin}: no headline entry (written by an older jetad evaluate; "
                         "rerun evaluate)")
    return entry


def main_targets(metrics: dict) -> list[tuple[str, bool | None, str]]:
    """(target, met (None: not measured), measured) of the main task's headline score."""
    hl = headline(metrics)
    per, score = hl["per_signal"], hl["score"]
    missing = [s for s in WORST_OVER if s not in per]
    what = f"worst case AUC over top, W, Z >= {MIN_WORST_AUC:.2f}"
    if missing:
        out = [(what, None, f"{', '.join(missing)} not evaluated")]
    else:
        worst = min(WORST_OVER, key=lambda s: per[s]["auc"])
        out = [(what, per[worst]["auc"] >= MIN_WORST_AUC,
                f"{score} {per[worst]['auc']:.3f} ({worst}); "
                + ", ".join(f"{s} {per[s]['auc']:.3f}" for s in WORST_OVER))]
    if "top" not in per:
        return out + [(f"top: AUC >= {MIN_TOP_AUC:.2f}", None, "top not evaluated"),
                      ("top: 1/eps_B at eps_S=0.3 above the conv AE's", None,
                       "top not evaluated")]
    top = per["top"]
    out.append((f"top: AUC >= {MIN_TOP_AUC:.2f}", top["auc"] >= MIN_TOP_AUC,
                f"{score} {_auc(top)}"))
    ae = metrics.get(BASELINE)
    out.append(("top: 1/eps_B at eps_S=0.3 above the conv AE's",
                None if ae is None else rej(top) > rej(ae),
                f"{score} {rej(top):.1f} vs conv AE "
                + ("not evaluated" if ae is None else f"{rej(ae):.1f}")))
    return out


def inverse_target(metrics: dict | None) -> tuple[str, bool | None, str]:
    what = f"inverse task (trained on top, QCD the anomaly): AUC >= {MIN_INVERSE_AUC:.2f}"
    if metrics is None:
        return what, None, "no inverse run (snakemake inverse)"
    hl = headline(metrics, "the inverse run's metrics.json")
    e = hl["per_signal"].get(INVERSE_ANOMALY)
    if e is None:
        return what, None, f"{INVERSE_ANOMALY} not among the inverse run's anomalies"
    return what, e["auc"] >= MIN_INVERSE_AUC, f"{hl['score']} {_auc(e)}"


def seed_targets(spread: dict | None, signals) -> list[tuple[str, bool | None, str]]:
    """The headline AUC's standard deviation over the seeds (seeds.json of jetad scan seeds)."""
    what = f"spread over seeds: std of the AUC <= {MAX_SEED_STD:.2f}"
    if spread is None:
        return [(what, None, "no seed repeats (snakemake seeds)")]
    out = []
    for sig in signals:
        entry = spread.get(f"{sig}_headline_auc")
        if entry is None or entry.get("std") is None:
            out.append((f"{sig}: {what}", None, f"{sig}: fewer than two seeds"))
            continue
        out.append((f"{sig}: {what}", entry["std"] <= MAX_SEED_STD,
                    f"mean {entry['mean']:.3f} ± {entry['std']:.3f} over seeds "
                    f"{', '.join(map(str, spread.get('seeds', [])))}"))
    return out


def targets(metrics: dict, inverse: dict | None = None,
            spread: dict | None = None) -> list[tuple[str, bool | None, str]]:
    """(target, met (None: not measured), measured values) of every target."""
    signals = sorted(headline(metrics)["per_signal"])
    return [*main_targets(metrics), inverse_target(inverse), *seed_targets(spread, signals)]


def _optional(path: Path, what: str, given: bool):
    """A JSON object, or None for a default path that is not there."""
    # light: jetad only when run (the test imports this file by path)
    from jetad.inputs import read_json_object

    if not given and not path.exists():
        return None
    return read_json_object(path, what)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default=None, help="a run folder with metrics.json "
                        "(default: the pipeline's results/)")
    parser.add_argument("--inverse", default=None, help="the inverse run's folder "
                        "(default: results/inverse/top, when it is there)")
    parser.add_argument("--seeds", default=None, help="seeds.json of jetad scan seeds "
                        "(default: results/seeds/seeds.json, when it is there)")
    args = parser.parse_args(argv)
    # light: jetad only when run (the test imports this file by path)
    from jetad.errors import JetadError
    from jetad.inputs import read_json_object

    try:
        metrics = read_json_object(Path(args.run or "results") / "metrics.json",
                                   "jetad evaluate's metrics")
        inverse = _optional(Path(args.inverse or "results/inverse/top") / "metrics.json",
                            "the inverse run's metrics", args.inverse is not None)
        spread = _optional(Path(args.seeds or "results/seeds/seeds.json"),
                           "jetad scan seeds' spread", args.seeds is not None)
        rows = targets(metrics, inverse, spread)
    except (JetadError, ValueError) as exc:
        print(f"targets.py: error: {exc}", file=sys.stderr)
        return 2
    for what, met, measured in rows:
        flag = "not measured" if met is None else ("met" if met else "MISSED")
        print(f"{flag:>12}  {what}: {measured}")
    return 0 if all(m is not False for _, m, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
