"""The targets for a trained JointVAE, met or missed, from its evaluation's outputs.

    .venv/bin/python bench/targets.py                       # results/metrics.json + training
    .venv/bin/python bench/targets.py --run results/scan/cap20   # a scan or seed run folder

Targets (on the default preset): the best learned score beats every anomaly-detection
baseline (jet mass, 1 - tau21, 1 - tau32, the conv autoencoder) by at least 2 points of AUC on
top and has a higher 1/eps_B at eps_S = 0.3 than the conv autoencoder; AUC at least 0.75 on W
and 0.79 on Z; reconstructions not collapsed (spread ratio at least 0.5). "Best learned
score" is, per signal, the JointVAE score with the highest AUC on that signal. A signal that
was not generated is reported as not measured.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

BASELINES = ("jet_mass", "tau21", "tau32", "conv_ae_mse")
MIN_AUC = {"w": 0.75, "z": 0.79}
TOP_MARGIN = 0.02
MIN_SPREAD = 0.5


def best(metrics: dict, signal: str) -> tuple[str, dict]:
    prefix = f"{signal}/jointvae/"
    names = sorted(k[len(prefix):] for k in metrics if k.startswith(prefix))
    name = max(names, key=lambda n: metrics[prefix + n]["auc"])
    return name, metrics[prefix + name]


def rej(entry: dict) -> float:
    r = entry.get("rejection_at_eff_s_0p3")
    return math.inf if r is None else float(r)


def targets(metrics: dict, training: dict) -> list[tuple[str, bool | None, str]]:
    """(target, met (None: not measured), measured values)."""
    out = []
    if any(k.startswith("top/jointvae/") for k in metrics):
        name, e = best(metrics, "top")
        base = {b: metrics[f"top/baseline/{b}"] for b in BASELINES
                if f"top/baseline/{b}" in metrics}
        strongest = max(base, key=lambda b: base[b]["auc"])
        margin = e["auc"] - base[strongest]["auc"]
        out.append((f"top: best learned score >= {TOP_MARGIN:.2f} AUC above every baseline",
                    margin >= TOP_MARGIN,
                    f"{name} {e['auc']:.3f} vs {strongest} {base[strongest]['auc']:.3f} "
                    f"({margin:+.3f})"))
        ae = metrics.get("top/baseline/conv_ae_mse")
        out.append(("top: 1/eps_B at eps_S=0.3 above the conv AE's",
                    None if ae is None else rej(e) > rej(ae),
                    f"{name} {rej(e):.1f} vs conv AE "
                    + ("not evaluated" if ae is None else f"{rej(ae):.1f}")))
    for sig, threshold in MIN_AUC.items():
        if not any(k.startswith(f"{sig}/jointvae/") for k in metrics):
            out.append((f"{sig}: AUC >= {threshold}", None, f"{sig} not generated"))
            continue
        name, e = best(metrics, sig)
        out.append((f"{sig}: AUC >= {threshold}", e["auc"] >= threshold,
                    f"{name} {e['auc']:.3f} [{e['auc_68'][0]:.3f}, {e['auc_68'][1]:.3f}]"))
    spread = training["collapse"]["spread_ratio"]
    out.append((f"spread ratio >= {MIN_SPREAD}", spread >= MIN_SPREAD,
                f"{spread:.3f} ({training['collapse']['active_dims']} of "
                f"{training['collapse']['latent_dims']} latent dims active)"))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default=None, help="a run folder (metrics.json and "
                        "training_metrics.json inside); default: the pipeline's results/")
    args = parser.parse_args(argv)
    folder = Path(args.run or "results")
    from jetad.errors import JetadError
    from jetad.inputs import read_json_object

    try:
        metrics = read_json_object(folder / "metrics.json", "jetad evaluate's metrics")
        training = read_json_object(folder / "training_metrics.json", "jetad train's metrics")
    except JetadError as exc:
        print(f"targets.py: error: {exc}", file=sys.stderr)
        return 2
    rows = targets(metrics, training)
    for what, met, measured in rows:
        flag = "not measured" if met is None else ("met" if met else "MISSED")
        print(f"{flag:>12}  {what}: {measured}")
    return 0 if all(m is not False for _, m, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
