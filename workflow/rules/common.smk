# Helpers of the generated rules (stages.smk, scan.smk, dse.smk): they need Snakemake's
# `config` and `workflow`.
import sys

from jetad.pipeline.code_deps import stage_files
from jetad.pipeline.registry import missing_tools, pipeline_stage, tools_message


def sections(*names):
    """The params.yaml sections a rule depends on: Snakemake reruns the rule when they change.
    A name may be one key of a section ("train.kl_eps", the one the stage reads), as in
    dvc.yaml's params."""

    def value(name):
        section, _, key = name.partition(".")
        return config[section][key] if key else config[section]

    return {name: value(name) for name in names}


def code(stage, command=None):
    """Input function: the source files rule `stage` runs (`jetad <stage>`, or `jetad
    <command>` for a rule that runs one of its actions): its modules, the jetad modules they
    import, and the schema of the sections in the rule's `params:` (a scan run's rule names
    its pipeline stage's rule). The same list as the stage's deps in dvc.yaml
    (src/jetad/pipeline/code_deps.py), so that a code change reruns the rules that use the
    changed module and the rules after them. It also checks the programs the rule runs."""

    def files(wildcards):
        # a program the rule runs that is missing stops the workflow here, while the graph
        # is built: before the first job, naming what to install
        missing = missing_tools(pipeline_stage(stage), config)
        if missing:
            print(f"jetad workflow: error: rule {stage} {tools_message(missing, 'no job was started')}",
                  file=sys.stderr)
            raise SystemExit(2)
        declared = [name for p in workflow.get_rule(stage).params if isinstance(p, dict)
                    for name in p]
        return stage_files(command or stage, declared)

    return files
