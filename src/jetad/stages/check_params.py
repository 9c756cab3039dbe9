"""`jetad check-params`: validate params.yaml and say so (called first by the Snakefile)."""


def run(args, params) -> None:
    print("params OK: " + ", ".join(sorted(params.raw)))
