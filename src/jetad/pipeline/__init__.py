"""The pipeline, declared once (jetad.pipeline.registry): each `jetad <stage>`'s arguments,
inputs, outputs, parameter sections and resources. `jetad <stage>`'s argparse is built from
it, and `python -m jetad.pipeline --write` writes the Snakemake rules and dvc.yaml from it.

To add a stage: a module with run(args, params), one Stage in registry.py, then
`python -m jetad.pipeline --write` (without --write: check the files are current).
"""
