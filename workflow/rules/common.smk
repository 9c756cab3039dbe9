# Helpers shared by the rules.


def sections(*names):
    """The params.yaml sections a rule depends on: Snakemake reruns the rule when they change."""
    return {name: config[name] for name in names}


def jets_source_input(wildcards):
    source = config["data"]["source"]
    if source == "generate":
        return expand(
            "data/chunks/{process}_{chunk}.h5",
            process=["qcd", "top"],
            chunk=config["generate"]["chunks"],
        )
    if source == "download":
        return expand("data/download/{name}", name=config["download"]["files"])
    return [config["data"]["file"]]


JETS_IN = {"generate": "data/chunks", "download": "data/download"}.get(
    config["data"]["source"], config["data"]["file"]
)
