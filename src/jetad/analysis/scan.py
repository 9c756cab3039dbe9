"""The beta / capacity scan and the training-seed repeats of the default model.

A run is the default parameters with a few changed: a scan point changes `train.*` keys
(`scan.points`: name -> overrides, merged key by key, so `capacity: {cont_max: 15}` keeps the
default gamma and ramp), a seed repeat changes the top-level `seed` (`scan.seeds`), which
seeds the weights, the latent noise, the shuffling and the draw of the training jets. Each run
is trained, scored and evaluated on the same split and test jets as the pipeline, under
results/scan/<point>/ or results/seeds/<seed>/, from a params.yaml of its own that the stages
read with `--params` (Snakemake: workflow/rules/scan.smk).

The tables put side by side, per run and per signal, the detector's declared output (the score
of `evaluate.headline`, the same in every run) with its AUC and 1/eps_B at eps_S = 0.3, and the
two collapse measures of jetad.analysis.collapse. Beside them, labelled as a diagnostic only,
the best JointVAE score of each signal (the highest AUC on that signal, the score named): it is
chosen with the signal labels, so it is no result. Baselines do not depend on the run: their
rows come from the first run's metrics.json. The point to use is chosen without signal labels,
from each run's training_metrics.json alone (jetad.analysis.choose): the table says which and
by what rule, and its `chosen` column marks it.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import yaml

from jetad import tables
from jetad.analysis import choose
from jetad.analysis.headline import DIAGNOSTIC
from jetad.errors import ConfigError, DataError
from jetad.inputs import read_json_object, read_text

# a run's params file is params.yaml with its changes merged key by key, as a preset is
from jetad.params import default, merge, or_default, validate

GROUPS = ("scan", "seeds", "inverse")
# the run's parameters that a stage after split reads: a change of any other section does not
# make a run stale (an inverse run splits the images itself: its split section too)
RUN_SECTIONS = ("seed", "train", "score", "evaluate")
# the inverse task of [Finke et al. 2021]: the same method trained on top jets, with QCD (and
# every other process) the anomaly; a run of group `inverse` is named by its background
INVERSE = ("top",)
BASELINES = ("jet_mass", "tau21", "tau32", "conv_ae_mse")


def points(params: dict) -> dict[str, dict]:
    return dict((params.get("scan") or {}).get("points") or {})


def seeds(params: dict) -> list[int]:
    return [int(s) for s in (params.get("scan") or {}).get("seeds") or []]


def run_params(params: dict, group: str, run: str, origin: str = "params.yaml") -> dict:
    """The whole parameter set of one run, validated: the scan point's train overrides, or
    the seed of a repeat. Raises ConfigError naming the point or seed."""
    if group == "scan":
        known = points(params)
        if run not in known:
            raise ConfigError(f"{origin}: scan.points has no point '{run}' "
                              f"(known: {', '.join(known) or 'none'})")
        out = merge(params, {"train": known[run] or {}})
        where = f"{origin} with scan point {run}"
    elif group == "seeds":
        if not run.isdigit() or int(run) not in seeds(params):
            raise ConfigError(f"{origin}: scan.seeds has no seed '{run}' "
                              f"(known: {', '.join(map(str, seeds(params))) or 'none'})")
        out = merge(params, {"seed": int(run)})
        where = f"{origin} with seed {run}"
    elif group == "inverse":
        if run not in INVERSE:
            raise ConfigError(f"{origin}: no inverse task '{run}' (known: {', '.join(INVERSE)})")
        out = merge(params, {"split": {"background": run}})
        where = f"{origin} with the background {run} (the inverse task)"
    else:
        raise ConfigError(f"{origin}: unknown run group '{group}' (known: {', '.join(GROUPS)})")
    validate(out, where)
    return out


def check(params: dict, origin: str = "params.yaml") -> None:
    """Refuse a bad scan section before any job: every point and seed must give valid
    parameters, and a seed may appear once."""
    for name in points(params):
        run_params(params, "scan", name, origin)
    s = seeds(params)
    if len(set(s)) != len(s):
        raise ConfigError(f"{origin} is invalid:\n  scan.seeds lists a seed twice ({s})")
    for seed in s:
        run_params(params, "seeds", str(seed), origin)


def sections(params: dict, group: str = "scan") -> dict:
    """The part of a run's parameters its stages read (Snakemake's params): those after split,
    and an inverse run's split."""
    names = (*RUN_SECTIONS, "split") if group == "inverse" else RUN_SECTIONS
    return {k: params[k] for k in names if k in params}


def pipeline_runs(params: dict) -> list[str]:
    """The runs ("<group>/<run>") whose parameters are params.yaml's own in every section a
    run's stages read: the seed repeat of params.yaml's seed, a scan point equal to the
    default. Such a run is the pipeline's own run (same parameters, same split and test jets,
    so the same bytes): the workflow copies the pipeline's outputs instead of training again."""
    own = sections(params)
    runs = [("scan", name) for name in points(params)] + [("seeds", str(s)) for s in seeds(params)]
    return [f"{group}/{run}" for group, run in runs
            if sections(run_params(params, group, run)) == own]


def describe(train: dict) -> str:
    """The objective of a run in a few words, for the tables."""
    if train.get("objective") == "capacity":
        c = train["capacity"]
        return (f"capacity gamma {c['gamma']:g}, C_cont {c['cont_max']:g}, "
                f"C_disc {c['disc_max']:g}, ramp {c['epochs']} ep")
    return f"beta {train['beta']:g}"


def read_run(folder: str | Path) -> dict:
    """params.yaml, training_metrics.json and metrics.json of one run folder, with every key
    the tables read checked to be there (a DataError naming the file otherwise)."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"{folder}: no such run folder")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a directory; a run folder holds params.yaml, "
                        "training_metrics.json and metrics.json")
    path = folder / "params.yaml"
    try:
        params = yaml.safe_load(read_text(path, "run's parameter file"))
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(params, dict) or "seed" not in params or not isinstance(
            params.get("train"), dict):
        raise DataError(f"{path}: no seed or train section, not a run's parameter file")
    try:
        describe(params["train"])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{path}: train section without its objective's values (beta, or "
                        "capacity gamma, cont_max, disc_max, epochs)") from None
    path = folder / "training_metrics.json"
    training = read_json_object(path, "jetad train's metrics")
    if not isinstance(training.get("collapse"), dict):
        raise DataError(f"{path}: no collapse measures (written by an older jetad train)")
    missing = [f"{part}.{key}" for part, keys in (
        ("collapse", ("active_dims", "latent_dims", "spread_ratio")),
        ("val", ("bce", "kl_cont", "kl_disc")))
               for key in keys if key not in (training.get(part) or {})]
    if missing:
        raise DataError(f"{path}: no {', '.join(missing)}")
    path = folder / "metrics.json"
    metrics = read_json_object(path, "jetad evaluate's metrics")
    if not any("jointvae/" in k for k in metrics):
        raise DataError(f"{path}: no jointvae scores")
    # the entries the tables read: every JointVAE score and baseline
    bad = sorted(k for k, v in metrics.items() if ("jointvae/" in k or "baseline/" in k)
                 and (not isinstance(v, dict) or not isinstance(v.get("auc"), (int, float))))
    if bad:
        raise DataError(f"{path}: no AUC for {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}")
    declared = f"jointvae/{headline_of(params)}"
    missing = [_key(s, declared) for s in signal_names(metrics)
               if _key(s, declared) not in metrics]
    if missing:
        raise DataError(f"{path}: no {', '.join(missing)} (the run's evaluate.headline)")
    return {"name": folder.name, "params": params, "training": training, "metrics": metrics}


def headline_of(params: dict) -> str:
    """The run's declared detector output (`evaluate.headline`; the schema's default for a run
    written before the key existed)."""
    return (params.get("evaluate") or {}).get("headline") or default("evaluate", "headline")


def headline(runs: list[dict]) -> str:
    """The headline score the runs share; a DataError naming the runs when they differ (their
    tables would compare different detectors)."""
    names = {r["name"]: headline_of(r["params"]) for r in runs}
    if len(set(names.values())) > 1:
        raise DataError(f"the runs declare different evaluate.headline scores ("
                        f"{', '.join(f'{k}: {v}' for k, v in names.items())}); rerun them with one")
    return next(iter(names.values()))


def signal_names(metrics: dict) -> list[str]:
    """The signals evaluated one by one ("<signal>/jointvae/..." keys), else [""] for the
    all-anomalies keys of a file without them."""
    names = sorted({k.split("/")[0] for k in metrics if k.count("/") == 2})
    return names or [""]


def _key(signal: str, name: str) -> str:
    return f"{signal}/{name}" if signal else name


def best_score(metrics: dict, signal: str) -> str:
    """DIAGNOSTIC: the JointVAE score with the highest AUC on `signal` (first in name order on
    a tie), chosen with the signal labels."""
    prefix = _key(signal, "jointvae/")
    names = sorted(k[len(prefix):] for k in metrics if k.startswith(prefix))
    return max(names, key=lambda n: (metrics[prefix + n]["auc"], -names.index(n)))


def _auc(entry: dict) -> tuple[float, float, float]:
    lo, hi = entry.get("auc_68") or (math.nan, math.nan)
    return entry["auc"], lo, hi


def _rej(entry: dict) -> float:
    r = entry.get("rejection_at_eff_s_0p3")
    return math.inf if r is None else float(r)


def rows(runs: list[dict]) -> list[dict]:
    """One flat row per run: parameters, collapse measures, and per signal the headline score's
    AUC, 68% interval and 1/eps_B, and the diagnostic best score's (`diagnostic_best_*`)."""
    out, declared = [], headline(runs)
    for run in runs:
        m, col = run["metrics"], run["training"]["collapse"]
        row = {"run": run["name"], "objective": describe(run["params"]["train"]),
               "seed": run["params"]["seed"],
               "active_dims": col["active_dims"], "latent_dims": col["latent_dims"],
               "spread_ratio": col["spread_ratio"],
               "val_bce": run["training"]["val"]["bce"],
               "val_kl_cont": run["training"]["val"]["kl_cont"],
               "val_kl_disc": run["training"]["val"]["kl_disc"],
               "val_neg_elbo": choose.neg_elbo(run["training"])}
        for sig in signal_names(m):
            p = f"{sig}_" if sig else ""
            best = best_score(m, sig)
            for label, score in (("headline", declared), ("diagnostic_best", best)):
                e = m[_key(sig, f"jointvae/{score}")]
                auc, lo, hi = _auc(e)
                row.update({f"{p}{label}_auc": auc, f"{p}{label}_auc_lo": lo,
                            f"{p}{label}_auc_hi": hi, f"{p}{label}_rejection": _rej(e),
                            f"{p}{label}_score": score})
        out.append(row)
    return out


def baseline_rows(run: dict) -> list[dict]:
    """The baselines' AUC and 1/eps_B per signal (the same for every run: same test jets)."""
    m = run["metrics"]
    out = []
    for b in BASELINES:
        row = {"baseline": b}
        for sig in signal_names(m):
            e = m.get(_key(sig, f"baseline/{b}"))
            if e is None:
                continue
            p = f"{sig}_" if sig else ""
            auc, lo, hi = _auc(e)
            row.update({f"{p}auc": auc, f"{p}auc_lo": lo, f"{p}auc_hi": hi,
                        f"{p}rejection": _rej(e)})
        if len(row) > 1:
            out.append(row)
    return out


def to_csv(table: list[dict]) -> str:
    fields: list[str] = []
    for row in table:
        fields += [k for k in row if k not in fields]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def _fmt_auc(auc: float, lo: float, hi: float) -> str:
    return f"{auc:.3f} [{lo:.3f}, {hi:.3f}]"


def _fmt_rej(r: float) -> str:
    return "inf" if math.isinf(r) else f"{r:.1f}"


def chosen(runs: list[dict], tolerance: float) -> choose.Choice:
    """The point chosen without signal labels: from the runs' training metrics alone."""
    try:
        return choose.choose({r["name"]: r["training"] for r in runs}, tolerance)
    except ValueError as exc:
        raise DataError(f"{runs[0]['name']}: cannot choose a point ({exc})") from None


def scan_rows(runs: list[dict], tolerance: float) -> list[dict]:
    """rows() of the scan with `chosen` (1 for the point chosen without labels, else 0)."""
    pick = chosen(runs, tolerance).run
    return [{**row, "chosen": int(row["run"] == pick)} for row in rows(runs)]


def chosen_line(choice: choose.Choice) -> str:
    """The scan table's line naming the point chosen without labels, and its rule."""
    elbo = ", ".join(f"{k} {v:.3f}" for k, v in sorted(choice.neg_elbo.items(),
                                                      key=lambda kv: (kv[1], kv[0])))
    return (f"Chosen without signal labels: **{choice.run}** ({choice.rule}; tied: "
            f"{', '.join(choice.tied)}"
            + (f"; set aside, latent collapsed: {', '.join(choice.collapsed)}"
               if choice.collapsed else "")
            + f"). Validation negative ELBO, nats per jet: {elbo}. "
            "The signal columns are shown for information; they choose nothing.\n")


def scan_markdown(runs: list[dict], tolerance: float | None = None) -> str:
    """The scan table as Markdown: the point chosen without labels, one line per run, then the
    baselines on the same jets."""
    tolerance = or_default(tolerance, "scan", "choose_tolerance")
    table, sigs = rows(runs), signal_names(runs[0]["metrics"])
    names = [s or "all" for s in sigs]
    declared = headline(runs)
    head = (["run", "objective"]
            + [f"{n} {declared}: AUC [68%], 1/eps_B" for n in names]
            + [f"{n} best score (diagnostic): AUC [68%], 1/eps_B" for n in names]
            + ["active dims", "spread ratio"])
    lines = [_lead(declared), chosen_line(chosen(runs, tolerance)),
             tables.markdown([_run_cells(r, sigs) for r in table], head)]
    baselines = []
    for b in baseline_rows(runs[0]):
        cells = [b["baseline"]]
        for s in sigs:
            p = f"{s}_" if s else ""
            cells.append(f"{_fmt_auc(b[p + 'auc'], b[p + 'auc_lo'], b[p + 'auc_hi'])}, "
                         f"{_fmt_rej(b[p + 'rejection'])}" if p + "auc" in b else "-")
        baselines.append(cells)
    lines += ["", "Baselines on the same test jets (AUC [68%], 1/eps_B at eps_S = 0.3):", "",
              tables.markdown(baselines, ["baseline", *names])]
    return "\n".join(lines) + "\n"


def _run_cells(r: dict, sigs: list[str]) -> list:
    """A run's line of the scan table: its headline and diagnostic best score on each signal,
    collapse."""
    cells = [r["run"], r["objective"]]
    for label in ("headline", "diagnostic_best"):
        for s in sigs:
            k = (f"{s}_" if s else "") + label
            cell = (f"{_fmt_auc(r[k + '_auc'], r[k + '_auc_lo'], r[k + '_auc_hi'])}, "
                    f"{_fmt_rej(r[k + '_rejection'])}")
            if label == "diagnostic_best":
                cell += f" ({r[k + '_score']})"
            cells.append(cell)
    return cells + [f"{r['active_dims']}/{r['latent_dims']}", f"{r['spread_ratio']:.3f}"]


def seed_summary(runs: list[dict]) -> dict:
    """Mean and sample standard deviation over the seeds of every numeric column."""
    # light: Snakemake imports this module to read the scan; numpy waits for the summary
    import numpy as np

    table = rows(runs)
    out = {"seeds": [r["seed"] for r in table], "n": len(table)}
    for k in table[0]:
        vals = [r[k] for r in table]
        if k != "seed" and all(isinstance(v, (int, float)) for v in vals):
            a = np.asarray(vals, np.float64)
            # one seed has no spread: null in JSON, not NaN (not JSON)
            out[k] = {"mean": float(a.mean()),
                      "std": float(a.std(ddof=1)) if len(a) > 1 else None}
    return out


def _mean_std(entry: dict, digits: int) -> str:
    std = "-" if entry["std"] is None else f"{entry['std']:.{digits}f}"
    return f"{entry['mean']:.{digits}f} ± {std}"


def _fmt_rej_68(r, iv) -> str:
    """1/eps_B with its 68% interval; None (no background passes) is unbounded."""
    if r is None:
        return "inf"
    return f"{r:.1f}" + (f" [{iv[0]:.1f}, {iv[1]:.1f}]" if iv else "")


def headline_markdown(runs: list[dict], ensemble: dict | None = None) -> str:
    """The seeds' result: the headline score's AUC and 1/eps_B at eps_S = 0.3 per signal as
    mean ± standard deviation over the seeds, then the seed ensemble (jetad.analysis.ensemble)
    with its 68% bootstrap intervals."""
    summary, declared = seed_summary(runs), headline(runs)
    sigs = signal_names(runs[0]["metrics"])
    names = [s or "all" for s in sigs]
    head = ["detector", *(f"{n} {c}" for n in names for c in ("AUC", "1/eps_B"))]
    spread = [f"{declared}, mean ± std over {summary['n']} seeds"]
    for s in sigs:
        p = f"{s}_" if s else ""
        spread += [_mean_std(summary[f"{p}headline_auc"], 3),
                   _mean_std(summary[f"{p}headline_rejection"], 1)]
    lines = [spread]
    if ensemble is not None:
        row = [f"ensemble: mean of {declared} standardized on each seed's validation QCD"]
        for n in names:
            e = ensemble["per_signal"][n]
            row += [_fmt_auc(e["auc"], *e["auc_68"]),
                    _fmt_rej_68(e["rejection_at_eff_s_0p3"], e["rejection_at_eff_s_0p3_68"])]
        lines.append(row)
    return tables.markdown(lines, head) + "\n"


def rule_markdown(rule: dict, declared: str) -> str:
    """What the label-free headline rule (jetad.analysis.choose.choose_score) says of these
    seeds, beside the declared score."""
    rep = rule["reproducibility"]
    order = sorted(rep, key=lambda k: -rep[k])
    verdict = ("the declared score" if rule["score"] == declared
               else f"not the declared `{declared}`: set evaluate.headline and rerun")
    return (f"Label-free headline rule ({rule['rule']}): **{rule['score']}**, {verdict}. "
            "Mean pairwise rank correlation over seeds on the validation QCD: "
            + ", ".join(f"{k} {rep[k]:.3f}" for k in order) + ".\n")


def seeds_markdown(runs: list[dict], ensemble: dict | None = None,
                   rule: dict | None = None) -> str:
    """The headline over the seeds and their ensemble first, then one line per seed."""
    table, summary = rows(runs), seed_summary(runs)
    sigs = signal_names(runs[0]["metrics"])
    cols = [(f"{s}_" if s else "", s or "all") for s in sigs]
    declared = headline(runs)
    head = (["seed"] + [f"{n} {declared} AUC" for _, n in cols]
            + [f"{n} best AUC (diagnostic)" for _, n in cols] + ["active dims", "spread ratio"])
    keys = ([f"{p}headline_auc" for p, _ in cols] + [f"{p}diagnostic_best_auc" for p, _ in cols]
            + ["active_dims", "spread_ratio"])
    lines = [[r["seed"], *(f"{r[k]:.3f}" if isinstance(r[k], float) else r[k] for k in keys)]
             for r in table]
    lines.append(["mean ± std", *(f"{summary[k]['mean']:.3f} ± "
                                  + ("-" if summary[k]["std"] is None else f"{summary[k]['std']:.3f}")
                                  for k in keys)])
    return (_lead(declared) + "\n" + headline_markdown(runs, ensemble)
            + (f"\n{rule_markdown(rule, declared)}" if rule else "")
            + "\nAUC and 1/eps_B at eps_S = 0.3; the ensemble's with 68% bootstrap intervals "
            "(test-set statistics). Per seed:\n\n" + tables.markdown(lines, head) + "\n")


def _lead(declared: str) -> str:
    """The line above a run table: which columns are the result, which a diagnostic."""
    return (f"Detector output: `{declared}` (evaluate.headline, declared before evaluation). "
            "Best score (diagnostic): the JointVAE score with the highest AUC on that signal, "
            f"{DIAGNOSTIC}.\n")
