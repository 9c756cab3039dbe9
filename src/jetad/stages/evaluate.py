"""`jetad evaluate`: ROC curves and figures of merit for every score, with the baselines.

Baselines side by side (simple ones do well on these benchmarks, [McDermott et al.]): the jet mass alone,
the N-subjettiness ratios as `baseline/tau21` = 1 - tau21 and `baseline/tau32` = 1 - tau32 (all three
read from the JointVAE score file, so they are the same test jets), and the plain conv autoencoder's MSE
(`jetad baseline`). Every score is "larger = more anomalous", its direction fixed before any label
is seen: a two-prong (W, Z) jet has a small tau21 and a three-prong (top) jet a small tau32, hence
1 - tau. A score file without tau21 / tau32 (an older jetad score's) is evaluated without those
two baselines, with a warning.
metrics.json holds, per score: AUC, TPR at FPR 10%, 1%, 0.1%, and 1/eps_B at eps_S = 0.3, with
seeded bootstrap 68% intervals on AUC and 1/eps_B (`auc_68`, `rejection_at_eff_s_0p3_68`).
Keys "<model>/<score>" compare the background (label 0) with every anomaly together; when the
score file holds each jet's `process` (jetad score copies it from the test file), keys
"<signal>/<model>/<score>" compare the background with that one process (top, w, z, or qcd when
the background is another class), and `<figures>/roc_<signal>.pdf` shows its ROC curves.
Beside them: `jointvae_sampled/<score>`, the image scores from a sampled latent (jetad score
writes both; the deterministic keys are unchanged), and `supervised/classifier`, the ceiling of
a classifier trained with labels (`jetad supervised`; not anomaly detection), and with
--nae-scores `nae/energy`, the normalized autoencoder's (`jetad nae`; `nae/ae_mse` its
pre-trained autoencoder's MSE). --summary and
--summary-csv write the signal x score table of AUC and 1/eps_B with their intervals.
The detector's output is one score, `evaluate.headline`, declared before anything is
evaluated (jetad.analysis.headline): metrics.json's `headline` entry holds its figures of merit
per signal and their worst case; summary.md leads with them, and --headline writes them with
its AUC in jet-mass windows, the background mass sculpting of a cut on it and the trigger view
(--mass-windows and --trigger: the same as CSV; --figures: auc_mass_windows.pdf).
The measurements: jetad.analysis.evaluation; the figures: jetad.analysis.evaluation_figures.
"""

from __future__ import annotations

import json

from jetad import log
from jetad.analysis import beyond_mass, evaluation, evaluation_figures, headline, plots, summary
from jetad.atomic import write_text


def run(args, params) -> None:
    logger = log.get("jetad.evaluate")
    # every score file is read and checked before anything is logged or written
    inp = evaluation.read_inputs(args.scores, args.baseline_scores, args.supervised_scores,
                                 args.nae_scores)
    declared = params.evaluate.headline
    headline.check(declared, inp.vae, args.scores)
    logger.info("read %d jets (%d anomalous) with %d scores from %s", len(inp.label),
                int(inp.label.sum()), len(inp.vae["scores"]), args.scores)
    series, own = evaluation.series(inp, logger)
    selections = evaluation.selections(inp.label, inp.signals)
    results = evaluation.figures_of_merit(inp.label, series, selections, own, params.seed)
    if inp.signals:
        logger.info("background %s; signals %s", inp.background,
                    ", ".join(f"{s} ({int(m.sum())} jets)" for s, m in inp.signals.items()))
    fom = headline.figures_of_merit(results, declared, list(inp.signals))
    write_text(args.metrics, json.dumps(evaluation.jsonable({**results, "headline": fom}),
                                        indent=2) + "\n")
    logger.info("wrote metrics of %d scores to %s", len(results), args.metrics)
    evaluation.log_results(results, logger)
    beyond = beyond_mass.report(inp, declared, params.evaluate, params.seed)
    _write_headline(args, fom, beyond, logger)

    table = summary.rows(results, list(series), list(inp.signals), headline.key(declared))
    if args.summary_csv:
        write_text(args.summary_csv, summary.to_csv(table))
    if args.summary:
        write_text(args.summary, summary.to_markdown(
            table, inp.background, summary.headline_markdown(fom, beyond, inp.background)))
    if args.summary or args.summary_csv:
        logger.info("wrote the summary of %d signals x %d scores to %s", max(1, len(inp.signals)),
                    len(series), " and ".join(p for p in (args.summary, args.summary_csv) if p))

    drawn = evaluation_figures.drawn(series)
    note = plots.data_note(params)
    evaluation_figures.roc_figure(args.roc, inp.label, drawn, results, note)
    logger.info("wrote %s", args.roc)
    if args.figures:
        evaluation_figures.figures(args.figures, inp, drawn, own, selections, results,
                                   params.evaluate, params.seed, note, logger)
        evaluation_figures.mass_window_figure(args.figures, beyond, fom, inp.background, note)


def _write_headline(args, fom: dict, beyond: dict, logger) -> None:
    """The declared score's outputs: --headline (JSON), --mass-windows and --trigger (CSV)."""
    w = fom["worst_case"]
    logger.info("headline %s: worst case AUC %.4f (%s), 1/eps_B %s (%s)", fom["key"], w["auc"],
                w["auc_signal"], w["rejection_at_eff_s_0p3"], w["rejection_signal"])
    if args.headline:
        write_text(args.headline, json.dumps(evaluation.jsonable({**fom, **beyond}), indent=2)
                   + "\n")
    if args.mass_windows:
        write_text(args.mass_windows, summary.windows_csv(beyond))
    if args.trigger:
        write_text(args.trigger, summary.trigger_csv(beyond))
