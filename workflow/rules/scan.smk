# The beta / capacity scan and the seed repeats of the default model (issue 14): Snakemake
# targets `scan` and `seeds`, not in `all`, and Snakemake-only (not in dvc.yaml). A run is the
# pipeline's train -> score -> evaluate with a params file of its own
# (results/<group>/<run>/params.yaml, written by `jetad scan params`), on the pipeline's split
# and test jets and against its baselines (results/baseline_scores.h5), so the runs differ in
# their parameters only. Wildcards rather than `dvc exp`: the runs share every upstream
# output, run side by side (or on a cluster) and are gathered by a rule into one table; DVC
# experiments would each be a copy of the workspace, queued one after another, with the
# table left to a script outside the pipeline.
import re

from jetad.analysis import scan as scan_lib

scan_lib.check(config, "params.yaml")
SCAN_POINTS = list(scan_lib.points(config))
SEEDS = [str(s) for s in scan_lib.seeds(config)]
RUN = "results/{group}/{run}"


def run_sections(wildcards):
    """The parameters the run's stages read: a change of a point, a seed or a default the
    point keeps reruns that run only."""
    return scan_lib.sections(scan_lib.run_params(config, wildcards.group, wildcards.run))


wildcard_constraints:
    group="scan|seeds",
    run=r"[A-Za-z0-9][A-Za-z0-9_-]*",


rule scan_params:
    input:
        code=code("scan"),
    output:
        RUN + "/params.yaml",
    log:
        "logs/{group}/{run}/params.log",
    params:
        run=run_sections,
    resources:
        runtime=5,
    shell:
        "jetad scan --log {log} params --group {wildcards.group} --run {wildcards.run} --out {output}"


rule scan_train:
    input:
        train="data/split/train.h5",
        val="data/split/val.h5",
        params=RUN + "/params.yaml",
        code=code("train"),
    output:
        model=directory(RUN + "/model"),
        metrics=RUN + "/training_metrics.json",
        history=RUN + "/training_history.csv",
    log:
        "logs/{group}/{run}/train.log",
    params:
        run=run_sections,
    threads: 2
    resources:
        mem_mb=8000,
        runtime=600,
    shell:
        "jetad train --params {input.params} --train {input.train} --val {input.val} --model {output.model} --metrics {output.metrics} --history {output.history} --checkpoint-dir data/checkpoints/{wildcards.group}/{wildcards.run} --log {log}"


rule scan_score:
    input:
        model=RUN + "/model",
        test="data/split/test.h5",
        params=RUN + "/params.yaml",
        code=code("score"),
    output:
        RUN + "/scores.h5",
    log:
        "logs/{group}/{run}/score.log",
    params:
        run=run_sections,
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    shell:
        "jetad score --params {input.params} --model {input.model} --test {input.test} --out {output} --log {log}"


rule scan_evaluate:
    input:
        scores=RUN + "/scores.h5",
        baseline="results/baseline_scores.h5",
        params=RUN + "/params.yaml",
        code=code("evaluate"),
    output:
        roc=RUN + "/roc.pdf",
        metrics=RUN + "/metrics.json",
    log:
        "logs/{group}/{run}/evaluate.log",
    params:
        run=run_sections,
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "jetad evaluate --params {input.params} --scores {input.scores} --baseline-scores {input.baseline} --roc {output.roc} --metrics {output.metrics} --log {log}"


# A run whose parameters are params.yaml's own (the seed repeat of its seed, a scan point
# equal to the default) is the pipeline's run: same parameters, same split and test jets, so
# the same bytes (the project's determinism rule). Its folder is filled from the pipeline's
# outputs instead of training the default model a second time.
PIPELINE_RUNS = scan_lib.pipeline_runs(config)


if PIPELINE_RUNS:

    ruleorder: from_pipeline > scan_train
    ruleorder: from_pipeline > scan_score
    ruleorder: from_pipeline > scan_evaluate

    rule from_pipeline:
        input:
            model="results/model/jointvae",
            metrics="results/training_metrics.json",
            history="results/training_history.csv",
            scores="results/scores.h5",
            roc="results/roc.pdf",
            evaluation="results/metrics.json",
        output:
            model=directory("results/{prun}/model"),
            metrics="results/{prun}/training_metrics.json",
            history="results/{prun}/training_history.csv",
            scores="results/{prun}/scores.h5",
            roc="results/{prun}/roc.pdf",
            evaluation="results/{prun}/metrics.json",
        wildcard_constraints:
            prun="|".join(re.escape(r) for r in PIPELINE_RUNS),
        resources:
            runtime=5,
        shell:
            "cp -r {input.model} {output.model} && cp {input.metrics} {output.metrics}"
            " && cp {input.history} {output.history} && cp {input.scores} {output.scores}"
            " && cp {input.roc} {output.roc} && cp {input.evaluation} {output.evaluation}"


def run_outputs(group, runs):
    return expand(RUN + "/{f}", group=group, run=runs,
                  f=["params.yaml", "training_metrics.json", "metrics.json"])


rule scan:
    input:
        run_outputs("scan", SCAN_POINTS),
        code=code("scan"),
    output:
        csv="results/scan/scan.csv",
        md="results/scan/scan.md",
    log:
        "logs/scan/table.log",
    params:
        sections("scan"),
    resources:
        runtime=5,
    shell:
        "jetad scan --log {log} table --runs " + " ".join(f"results/scan/{p}" for p in SCAN_POINTS)
        + " --csv {output.csv} --md {output.md}"


# `seeds` exists only with seeds to run (the quick preset has none): asked for with an empty
# scan.seeds, Snakemake answers that no rule makes it rather than writing an empty table.
if SEEDS:

    rule seeds:
        input:
            run_outputs("seeds", SEEDS),
            code=code("scan"),
        output:
            csv="results/seeds/seeds.csv",
            md="results/seeds/seeds.md",
            json="results/seeds/seeds.json",
        log:
            "logs/seeds/table.log",
        params:
            sections("scan"),
        resources:
            runtime=5,
        shell:
            "jetad scan --log {log} seeds --runs " + " ".join(f"results/seeds/{s}" for s in SEEDS)
            + " --csv {output.csv} --md {output.md} --json {output.json}"
