"""`jetad scan`: the runs of the beta / capacity scan and of the seed repeats (jetad.analysis.scan).

    jetad scan params --group scan --run beta1 --out results/scan/beta1/params.yaml
    jetad scan table --runs results/scan/beta1 results/scan/cap15 --csv scan.csv --md scan.md
    jetad scan seeds --runs results/seeds/1 results/seeds/2 --csv seeds.csv --md seeds.md \
        --json seeds.json --ensemble ensemble.h5
    jetad scan inverse --main results/metrics.json --runs results/inverse/top --csv ... --md ...

`params` writes the whole parameter file of one run (of group scan, seeds or inverse), which
`jetad split|train|score|evaluate --params` then read; `table` and `seeds` gather the runs'
outputs into one table, `inverse` the inverse task's beside the main run's
(jetad.analysis.inverse). `seeds` also combines the seeds' headline scores into the seed
ensemble (jetad.analysis.ensemble), from each run folder's scores.h5.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from jetad import log
from jetad.analysis import choose, ensemble, evaluation, inverse, scan
from jetad.analysis.scores import VAL_GROUP, read_score_file
from jetad.atomic import write_text
from jetad.errors import DataError
from jetad.inputs import read_json_object
from jetad.params import or_default

logger = log.get("jetad.scan")


def run(args, params) -> None:
    if args.action == "params":
        out = scan.run_params(params.raw, args.group, args.run, args.params or "params.yaml")
        header = (f"# Written by `jetad scan params --group {args.group} --run {args.run}`: "
                  "params.yaml with this run's changes.\n")
        write_text(args.out, header + yaml.safe_dump(out, sort_keys=False))
        logger.info("wrote %s (%s, seed %d)", args.out, scan.describe(out["train"]), out["seed"])
        return
    # every run is read and checked before anything is written
    runs = [scan.read_run(folder) for folder in args.runs]
    if args.action == "inverse":
        _inverse(args, params, runs)
        return
    names = [r["name"] for r in runs]
    if len(set(names)) != len(names):
        raise DataError(f"{args.runs[0]}: two run folders of the same name ({', '.join(names)})")
    signals = {tuple(scan.signal_names(r["metrics"])) for r in runs}
    if len(signals) > 1:
        raise DataError(f"{args.runs[0]}: the runs were evaluated on different signals "
                        f"({sorted(signals)}); rerun them on the same test file")
    if args.action == "table":
        # the point chosen without labels: from the runs' training metrics alone
        tolerance = or_default(params.raw.get("scan", {}).get("choose_tolerance"), "scan",
                               "choose_tolerance")
        write_text(args.csv, scan.to_csv(scan.scan_rows(runs, tolerance)
                                         + scan.baseline_rows(runs[0])))
        write_text(args.md, scan.scan_markdown(runs, tolerance))
        logger.info("chosen without signal labels: %s", scan.chosen(runs, tolerance).run)
    else:
        _seeds(args, params, runs)
    logger.info("wrote the %s of %d runs to %s and %s", args.action, len(runs), args.csv,
                args.md)


def _seeds(args, params, runs: list[dict]) -> None:
    """The spread over the seeds and the seed ensemble of their headline score."""
    declared = scan.headline(runs)
    ens = ensemble.build([Path(folder) / "scores.h5" for folder in args.runs], declared,
                         params.seed, args.ensemble)
    logger.info("seed ensemble of %s: worst-case AUC %.4f (%s)", declared,
                ens["worst_case"]["auc"], ens["worst_case"]["auc_signal"])
    rule = headline_rule(args, params) if len(runs) > 1 else None
    if rule is not None:
        level = logger.info if rule["score"] == declared else logger.warning
        level("the label-free headline rule picks %s (reproducibility %.4f); declared: %s",
              rule["score"], rule["reproducibility"][rule["score"]], declared)
    write_text(args.csv, scan.to_csv(scan.rows(runs)))
    # an unbounded 1/eps_B makes an infinite mean: null in JSON
    summary = evaluation.jsonable({**scan.seed_summary(runs), "ensemble": ens,
                                   "headline_rule": rule})
    write_text(args.json, json.dumps(summary, indent=2) + "\n")
    write_text(args.md, scan.seeds_markdown(runs, ens, rule))


def headline_rule(args, params) -> dict:
    """The headline score the seeds' validation (background) scores point to
    (jetad.analysis.choose.choose_score): handed those scores and nothing else."""
    tolerance = or_default(params.raw.get("scan", {}).get("headline_tolerance"), "scan",
                           "headline_tolerance")
    val = {}
    for folder in args.runs:
        path = Path(folder) / "scores.h5"
        f = read_score_file(path)
        if VAL_GROUP not in f:
            raise DataError(f"{path}: no validation scores /{VAL_GROUP} (written by an older "
                            "jetad score); score the run again")
        val[Path(folder).name] = f[VAL_GROUP]
    try:
        c = choose.choose_score(val, tolerance)
    except ValueError as exc:
        raise DataError(f"{args.runs[0]}: {exc}") from None
    return {"score": c.score, "rule": c.rule, "reproducibility": c.reproducibility,
            "tied": list(c.tied)}


def _inverse(args, params, runs: list[dict]) -> None:
    """The inverse runs' headline beside the main run's, with the worst case over both."""
    main = read_json_object(args.main, "jetad evaluate's metrics")
    table = inverse.rows(main, runs, inverse.background_name(params.raw["split"]["background"]),
                         args.main)
    write_text(args.csv, scan.to_csv(table))
    write_text(args.md, inverse.markdown(table, main["headline"]["score"]))
    w = inverse.worst_case(table)
    logger.info("worst case over the main task and the inverse task: AUC %.4f (%s)", w["auc"],
                w["auc_of"])
