# Stage 3: JointVAE training on QCD, scores, baselines, evaluation.


rule train:
    input:
        train="data/split/train.h5",
        val="data/split/val.h5",
        code=code("train"),
    output:
        model=directory("results/model/jointvae"),
        metrics="results/training_metrics.json",
        history="results/training_history.csv",
        plot=report("results/training.pdf", caption="../report/training.rst", category="Training"),
    log:
        "logs/train.log",
    params:
        sections("seed", "train"),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=600,
        # the thesis preset is a day of CPU: ask the cluster for a GPU there
        gpu=1 if config.get("preset") == "thesis" else 0,
    shell:
        "jetad train --train {input.train} --val {input.val} --model {output.model} --metrics {output.metrics} --history {output.history} --plot {output.plot} --checkpoint-dir data/checkpoints/jointvae --log {log}"


rule score:
    input:
        model="results/model/jointvae",
        test="data/split/test.h5",
        code=code("score"),
    output:
        scores="results/scores.h5",
        figures=report(
            directory("results/figures/score"),
            patterns=["{name}.pdf"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        "logs/score.log",
    params:
        sections("seed", "score"),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    shell:
        "jetad score --model {input.model} --test {input.test} --out {output.scores} --figures {output.figures} --log {log}"


rule baseline:
    input:
        train="data/split/train.h5",
        val="data/split/val.h5",
        test="data/split/test.h5",
        code=code("baseline"),
    output:
        "results/baseline_scores.h5",
    log:
        "logs/baseline.log",
    params:
        sections("seed", "baseline"),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
    shell:
        "jetad baseline --train {input.train} --val {input.val} --test {input.test} --out {output} --log {log}"


rule evaluate:
    input:
        scores="results/scores.h5",
        baseline="results/baseline_scores.h5",
        code=code("evaluate"),
    output:
        roc=report("results/roc.pdf", caption="../report/roc.rst", category="Evaluation"),
        metrics="results/metrics.json",
        figures=report(
            directory("results/figures/evaluate"),
            patterns=["{name}.pdf"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        "logs/evaluate.log",
    params:
        sections("seed", "evaluate"),
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "jetad evaluate --scores {input.scores} --baseline-scores {input.baseline} --roc {output.roc} --metrics {output.metrics} --figures {output.figures} --log {log}"
