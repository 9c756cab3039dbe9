# Stage 4: reduced quantized encoder (QAT), hls4ml emulation and FPGA resources (SPEC 4, 5).
from jetad.fpga.synth import projects as synth_projects


rule qat:
    input:
        train="data/split/train.h5",
        test="data/split/test.h5",
        vae="results/model/jointvae",
        scores="results/scores.h5",
        code=code("qat"),
    output:
        model=directory("results/quantized/model"),
        metrics="results/quantized/metrics.json",
        table=report("results/quantized/metrics.md", caption="../report/quantized.rst", category="FPGA"),
        roc=report("results/quantized/roc.pdf", caption="../report/quantized_roc.rst", category="FPGA"),
        energy="results/quantized/energy.csv",
        energy_table=report("results/quantized/energy.md", caption="../report/energy.rst", category="FPGA"),
    log:
        "logs/qat.log",
    params:
        sections("seed", "qat"),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
    shell:
        "jetad qat --train {input.train} --vae {input.vae} --test {input.test} --scores {input.scores} --out {output.model} --metrics {output.metrics} --table {output.table} --roc {output.roc} --energy {output.energy} --energy-table {output.energy_table} --log {log}"


rule hls:
    input:
        model="results/quantized/model",
        test="data/split/test.h5",
        code=code("hls"),
    output:
        projects=directory("results/hls"),
        report="results/fpga/emulation.json",
        table=report("results/fpga/emulation.md", caption="../report/emulation.rst", category="FPGA"),
    log:
        "logs/hls.log",
    params:
        sections("seed", "train", "hls"),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
    shell:
        "jetad hls --model {input.model}/qencoder.h5 --test {input.test} --out-dir {output.projects} --report {output.report} --table {output.table} --log {log}"


# Layer projects that Vivado/Vitis HLS synthesizes, one job each ('<mode>/<part>'); empty when
# resources.synthesis is off (or auto without the tool), and then the graph is dvc.yaml's.
SYNTH_PROJECTS = synth_projects(config)


if SYNTH_PROJECTS:

    rule synth:
        input:
            projects="results/hls",
            code=code("synth"),
        output:
            project=directory("results/synth/{mode}/{part}"),
        log:
            "logs/synth/{mode}/{part}.log",
        params:
            logic_synthesis=config["resources"].get("logic_synthesis", False),
        wildcard_constraints:
            mode="layer|block",
        threads: 1
        # generous: Vivado HLS time and memory grow with the unrolled multipliers of a layer
        resources:
            mem_mb=16000,
            runtime=720,
        shell:
            "jetad synth --project {input.projects}/{wildcards.mode}/{wildcards.part} --out {output.project} --log {log}"


rule resources:
    input:
        model="results/quantized/model",
        synthesized=expand("results/synth/{project}", project=SYNTH_PROJECTS),
        copied_back=config["resources"].get("reports", []),
        code=code("resources"),
    output:
        csv="results/fpga/resources.csv",
        json="results/fpga/resources.json",
        table=report("results/fpga/resources.md", caption="../report/resources.rst", category="FPGA"),
        design="results/fpga/design.csv",
        design_json="results/fpga/design.json",
        design_table=report("results/fpga/design.md", caption="../report/design.rst", category="FPGA"),
    log:
        "logs/resources.log",
    params:
        sections("hls", "resources"),
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        (
            "jetad resources --model {input.model}/qencoder.h5 --out {output.csv} --json {output.json} --table {output.table}"
            " --design {output.design} --design-json {output.design_json} --design-table {output.design_table}"
            + (" --reports {input.synthesized}" if SYNTH_PROJECTS else "")
            + " --log {log}"
        )
