# jetad workflow: every rule is a one-line call of `jetad <stage>`, written with dvc.yaml from
# the stage registry (src/jetad/pipeline/registry.py) by `python -m jetad.pipeline --write`.
# Parameters: params.yaml only.
from jetad.analysis.scan import check as check_runs
from jetad.params import validate_or_exit
from jetad.pipeline.values import particle_level

configfile: "params.yaml"


report: "workflow/report/workflow.rst"

# Refuse a bad params.yaml before any job is scheduled, naming the key; and a scan point or
# seed repeat whose parameters are bad, naming it.
validate_or_exit(config, "params.yaml")
check_runs(config, "params.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/stages.smk"
# Snakemake only: the beta / capacity scan and seed repeats (rules made from params.yaml's scan)
include: "workflow/rules/scan.smk"
# Snakemake only: the inverse task (trained on top, QCD the anomaly), target `inverse`
include: "workflow/rules/inverse.smk"
# Snakemake only: the FPGA design-space scan (rules made from params.yaml's dse)
include: "workflow/rules/dse.smk"


rule all:
    input:
        "results/roc.pdf",
        "results/metrics.json",
        "results/provenance.html",
        "results/fpga/resources.csv",
        "results/fpga/emulation.json",
        # the particle-level study where the jets keep JetNet's arrays (dvc.yaml has it then)
        *(["results/sparse/summary.md"] if particle_level(config) else []),
