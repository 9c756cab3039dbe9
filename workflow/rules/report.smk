# Provenance of a run, shown first in `snakemake --report results/report.html`.


rule provenance:
    input:
        jets=JET_FILES,
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
        "jetad provenance --in {input.jets} --json {output.json} --html {output.html} --log {log}"
