# Helpers shared by the rules.
from jetad.data.jets import processes as jet_processes


def sections(*names):
    """The params.yaml sections a rule depends on: Snakemake reruns the rule when they change."""
    return {name: config[name] for name in names}


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
