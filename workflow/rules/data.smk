# Stage 1-2: jets (generate / download / own file), jet images, split.


rule generate:
    input:
        code=code("generate"),
    output:
        "data/chunks/{process}_{chunk}.h5",
    log:
        "logs/generate/{process}_{chunk}.log",
    params:
        sections("seed", "generate"),
    wildcard_constraints:
        process="qcd|top|w|z",
        chunk=r"\d+",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    shell:
        "jetad generate --process {wildcards.process} --chunk {wildcards.chunk} --out {output} --log {log}"


rule download:
    input:
        code=code("download"),
    output:
        "data/download/{name}",
    log:
        "logs/download/{name}.log",
    params:
        sections("download"),
    resources:
        mem_mb=1000,
        runtime=240,
    shell:
        "jetad download --name {wildcards.name} --out {output} --log {log}"


rule jets:
    input:
        jets_source_input,
        code=code("jets"),
    output:
        JET_FILES,
    log:
        "logs/jets.log",
    params:
        sections("data", "generate", "download"),
    resources:
        mem_mb=8000,
        runtime=60,
    shell:
        "jetad jets --source " + config["data"]["source"] + " --in " + JETS_IN
        + " --out-dir data/jets --log {log}"


rule pixelize:
    input:
        jets=JET_FILES,
        code=code("pixelize"),
    output:
        "data/images/images.h5",
    log:
        "logs/pixelize.log",
    params:
        sections("pixelize"),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    shell:
        "jetad pixelize --in {input.jets} --out {output} --threads {threads} --log {log}"


rule split:
    input:
        images="data/images/images.h5",
        code=code("split"),
    output:
        train="data/split/train.h5",
        val="data/split/val.h5",
        test="data/split/test.h5",
    log:
        "logs/split.log",
    params:
        sections("seed", "split"),
    resources:
        mem_mb=8000,
        runtime=30,
    shell:
        "jetad split --in {input.images} --train {output.train} --val {output.val} --test {output.test} --log {log}"
