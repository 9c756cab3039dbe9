# Provenance of a run, shown first in `snakemake --report results/report.html`.


rule provenance:
    input:
        qcd="data/jets/qcd.h5",
        top="data/jets/top.h5",
        code=code("provenance"),
    output:
        json="results/provenance.json",
        html=report(
            "results/provenance.html",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        "logs/provenance.log",
    params:
        sections(*sorted(config)),
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "jetad provenance --in {input.qcd} {input.top} --json {output.json} --html {output.html} --log {log}"
