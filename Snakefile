# jetad workflow: every rule is a one-line call of `jetad <stage>`; dvc.yaml holds the same
# stages (tests/test_workflow_parity.py keeps the two in step). Parameters: params.yaml only.
from jetad.params import validate

configfile: "params.yaml"

# Refuse a bad params.yaml before any job is scheduled, naming the key.
validate(config, "params.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"


rule all:
    input:
        "data/split/train.h5",
        "data/split/val.h5",
        "data/split/test.h5",
