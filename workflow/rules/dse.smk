# The FPGA design-space scan (issue 15): Snakemake target `dse`, not in `all`, and Snakemake-only
# (not in dvc.yaml), as the beta / capacity scan (scan.smk). One QAT and one whole-encoder
# emulation per precision, one job per (precision, io_type, strategy, reuse factor), gathered
# by `dse` into results/dse/dse.{csv,md} and pareto.pdf. The points are a grid from params.yaml
# run side by side (or as cluster jobs) and gathered by a rule: a dvc.yaml stage list is fixed
# when written, and `dvc repro` of a second pipeline file would need the registry's renderer to
# write a matrix of matrices and a parity test of its own (left for later, see README).
from jetad.fpga import dse as dse_lib
from jetad.params import build as build_params

DSE = build_params(config).dse
DSE_POINTS = dse_lib.points(DSE)
DSE_DIR = "results/dse/{precision}"
DSE_POINT = DSE_DIR + "/{io_type}/{strategy}/rf{reuse}"


wildcard_constraints:
    precision=r"p\d+_\d+",
    io_type="io_parallel|io_stream",
    strategy="Latency|Resource",
    reuse=r"\d+",


rule dse_qat:
    input:
        train="data/split/train.h5",
        vae="results/model/jointvae",
        code=code("dse"),
    output:
        DSE_DIR + "/qencoder.h5",
    log:
        "logs/dse/{precision}/qat.log",
    params:
        sections("seed", "data", "qat"),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
    shell:
        "jetad dse --log {log} qat --precision {wildcards.precision} --train {input.train} "
        "--vae {input.vae} --out {output}"


rule dse_emulate:
    input:
        model=DSE_DIR + "/qencoder.h5",
        test="data/split/test.h5",
        code=code("dse"),
    output:
        DSE_DIR + "/emulation.json",
    log:
        "logs/dse/{precision}/emulate.log",
    params:
        sections("seed", "train", "hls"),
        n_images=DSE.n_images,
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
    shell:
        "jetad dse --log {log} emulate --precision {wildcards.precision} --model {input.model} "
        "--test {input.test} --out {output}"


rule dse_point:
    input:
        model=DSE_DIR + "/qencoder.h5",
        emulation=DSE_DIR + "/emulation.json",
        code=code("dse"),
    output:
        project=directory(DSE_POINT + "/project"),
        point=DSE_POINT + "/point.json",
    log:
        "logs/dse/{precision}/{io_type}/{strategy}/rf{reuse}.log",
    params:
        sections("hls", "resources"),
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "jetad dse --log {log} point --precision {wildcards.precision} "
        "--io-type {wildcards.io_type} --strategy {wildcards.strategy} "
        "--reuse-factor {wildcards.reuse} --model {input.model} --emulation {input.emulation} "
        "--project-dir {output.project} --out {output.point}"


rule dse:
    input:
        points=[DSE_POINT.format(precision=p["precision"], io_type=p["io_type"],
                                 strategy=p["strategy"], reuse=p["reuse_factor"]) + "/point.json"
                for p in DSE_POINTS],
        code=code("dse"),
    output:
        csv="results/dse/dse.csv",
        md="results/dse/dse.md",
        figure="results/dse/pareto.pdf",
    log:
        "logs/dse/table.log",
    params:
        sections("data"),
        pareto_signal=DSE.pareto_signal,
    resources:
        runtime=5,
    shell:
        "jetad dse --log {log} table --points {input.points} --csv {output.csv} "
        "--md {output.md} --figure {output.figure}"
