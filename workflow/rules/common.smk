# Helpers shared by the rules.
from jetad.code_deps import stage_files
from jetad.data.jets import processes as jet_processes


def sections(*names):
    """The params.yaml sections a rule depends on: Snakemake reruns the rule when they change."""
    return {name: config[name] for name in names}


def code(stage):
    """Input function: the source files `jetad <stage>` runs (its modules, the jetad modules
    they import, and the schema of the sections in the rule's `params:`), the same list as
    the stage's deps in dvc.yaml (src/jetad/code_deps.py), so that a code change reruns the
    rules that use the changed module and the rules after them."""

    def files(wildcards):
        declared = [name for p in workflow.get_rule(stage).params if isinstance(p, dict)
                    for name in p]
        return stage_files(stage, declared)

    return files


def jets_source_input(wildcards):
    source = config["data"]["source"]
    if source == "generate":
        return expand(
            "data/chunks/{process}_{chunk}.h5",
            process=JET_PROCESSES,
            chunk=config["generate"]["chunks"],
        )
    if source == "download":
        return expand("data/download/{name}", name=config["download"]["files"])
    return [config["data"]["file"]]


# the processes of data/jets/<process>.h5: qcd and generate.signals, or qcd and top
JET_PROCESSES = jet_processes(config["data"]["source"], config)
JET_FILES = expand("data/jets/{process}.h5", process=JET_PROCESSES)

JETS_IN = {"generate": "data/chunks", "download": "data/download"}.get(
    config["data"]["source"], config["data"]["file"]
)
