# jetad workflow: every rule is a one-line call of `jetad <stage>`; dvc.yaml holds the same
# stages (tests/test_workflow_parity.py keeps the two in step). Parameters: params.yaml only.
from jetad.params import validate

configfile: "params.yaml"


report: "workflow/report/workflow.rst"

# Refuse a bad params.yaml before any job is scheduled, naming the key.
validate(config, "params.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/fpga.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/scan.smk"


rule all:
    input:
        "results/roc.pdf",
        "results/metrics.json",
        "results/provenance.html",
        "results/fpga/resources.csv",
        "results/fpga/emulation.json",
