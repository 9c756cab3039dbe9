"""`jetad <stage>`: the one entry point that Snakemake rules and DVC stages call.

Each command's arguments are declared in the stage registry (jetad.pipeline.registry); its
module defines run(args, params) and is imported only when the command runs, so `--help`
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from jetad import atomic, log
from jetad.errors import JetadError
from jetad.pipeline.registry import COMMANDS, command_run, declared, missing_tools, tools_message


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jetad",
        description="Anomalous jet detection with a Joint VAE: stages of the pipeline.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="<stage>")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        p.add_argument("--params", default=None, help="parameter file (default: params.yaml)")
        p.add_argument("--log", default=None, help="also append the log to this file")
        command.add_to(p)
        p.set_defaults(_command=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log.setup(logfile=args.log)
    atomic.forget_written()
    try:
        command = args._command
        module = importlib.import_module(command.module)
        params = None
        if command.needs_params:
            # light `jetad --help`: params.yaml is read (yaml, the schema) only when a command runs
            from jetad import params as params_mod

            action = getattr(args, "action", None)
            who = " ".join(filter(None, (command.name, action)))
            params = params_mod.load(args.params).restrict(declared(command.name, action), who)
            # the programs it runs before any input is read: a missing one costs seconds,
            # not the minutes of work before it
            missing = missing_tools(command_run(command.name, action), params)
            if missing:
                raise JetadError(tools_message(missing))
        module.run(args, params)
    except JetadError as exc:
        _discard_outputs(args.command)
        print(f"jetad {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # a full disk, a lost mount, a failed rename: the file and the system's reason
        _discard_outputs(args.command)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"jetad {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except BaseException:
        _discard_outputs(args.command)
        raise
    return 0


def _discard_outputs(command: str) -> None:
    """A failed command leaves none of the outputs it wrote: a stage's outputs are one
    result, and part of them next to the previous run's rest is neither."""
    for path in atomic.discard_written():
        log.get(f"jetad.{command}").info("removed %s: the command failed", path)


if __name__ == "__main__":
    sys.exit(main())
