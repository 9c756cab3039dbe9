"""`jetad <stage>`: the one entry point that Snakemake rules and DVC stages call.

Each stage module defines HELP, add_arguments(parser) and run(args, params); modules keep
heavy imports (TensorFlow, Pythia8) inside run() so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from jetad import log
from jetad.errors import JetadError

# Stage name -> module. Order is the order of the pipeline.
COMMANDS: dict[str, str] = {
    "preset": "jetad.presets",
    "check-params": "jetad.check_params",
    "generate": "jetad.data.generate",
    "download": "jetad.data.download",
    "jets": "jetad.data.jets",
    "pixelize": "jetad.data.pixelize",
    "split": "jetad.data.split",
    "train": "jetad.stages.train",
    "score": "jetad.stages.score",
    "evaluate": "jetad.stages.evaluate",
    "scan": "jetad.stages.scan",
    "baseline": "jetad.stages.baseline",
    "qat": "jetad.stages.qat",
    "hls": "jetad.stages.hls",
    "synth": "jetad.stages.synth",
    "resources": "jetad.stages.resources",
    "provenance": "jetad.provenance",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jetad",
        description="Anomalous jet detection with a Joint VAE: stages of the pipeline.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="<stage>")
    for name, modname in COMMANDS.items():
        module = importlib.import_module(modname)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        p.add_argument("--params", default=None, help="parameter file (default: params.yaml)")
        p.add_argument("--log", default=None, help="also append the log to this file")
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log.setup(logfile=args.log)
    try:
        module = args._module
        params = None
        if getattr(module, "NEEDS_PARAMS", True):
            from jetad import params as params_mod

            params = params_mod.load(args.params)
        module.run(args, params)
    except JetadError as exc:
        print(f"jetad {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
