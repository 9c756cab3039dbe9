"""The vocabulary of the stage registry (jetad.pipeline.registry): a command, its arguments,
and for a pipeline stage its inputs, outputs, parameters and resources.

A stage is written the way a Snakemake rule reads: named inputs and outputs, and arguments
whose pipeline value refers to them (`"{input.images}"`, `"{output.model}/qencoder.h5"`,
`"{threads}"`); a flag named like an input, output or wildcard takes it without saying
(`--train` of a stage with an input `train`). jetad.pipeline.render turns one such
declaration into a Snakemake rule and a DVC stage; jetad.cli turns its arguments into
`jetad <stage>`'s argparse. Kept free of heavy imports: `jetad --help` builds every parser
from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

# dvc.yaml lists an output under one of these keys
OUTS, METRICS, PLOTS = "outs", "metrics", "plots"
# `params=ALL_SECTIONS`: the stage reads every section of params.yaml
ALL_SECTIONS = ("*",)


@dataclass(frozen=True)
class FromParams:
    """A value that depends on params.yaml: `fn`, a function of jetad.pipeline.values,
    called with the parameters. Snakemake calls it on its `config` when it builds the graph;
    dvc.yaml holds its value for DVC's parameters (jetad.pipeline.values.dvc_params), or
    `dvc` when DVC's description differs (a folder dep for Snakemake's list of files)."""

    fn: Callable[[dict], Any]
    dvc: Any = None


@dataclass(frozen=True)
class Arg:
    """One command-line argument of `jetad <stage>` (argparse's add_argument keywords), and
    `value`: what the pipeline passes, a string in Snakemake's shell syntax or a FromParams
    that gives the string. Left out, a flag named like an input, output or wildcard of the
    stage takes it (`--train`: `{input.train}`; the name is the flag's, dashes as
    underscores, or its `dest`); else the pipeline does not pass the argument. `when`, a
    jetad.pipeline.values function: the pipeline passes the argument only where it is true."""

    flag: str
    help: str | None = None
    type: Callable | None = None
    default: Any = None
    required: bool = False
    nargs: str | None = None
    choices: tuple | None = None
    dest: str | None = None
    value: str | FromParams | None = None
    when: Callable[[dict], Any] | None = None

    def add_to(self, parser) -> None:
        kwargs = {k: getattr(self, k) for k in ("help", "type", "nargs", "choices", "dest")
                  if getattr(self, k) is not None}
        if not self.flag.startswith("-"):
            parser.add_argument(self.flag, **kwargs)
            return
        if self.required:
            kwargs["required"] = True
        else:
            kwargs["default"] = self.default
        parser.add_argument(self.flag, **kwargs)


@dataclass(frozen=True)
class Report:
    """An output shown in `snakemake --report`: its caption (relative to workflow/rules/)
    and category; `patterns` for a directory of figures."""

    caption: str
    category: str
    patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Out:
    """An output file (or directory). `dvc`: the dvc.yaml list it goes in (outs, metrics,
    plots), `cache`: whether DVC caches it, `x`: the x column of a DVC plot."""

    path: str | FromParams
    directory: bool = False
    report: Report | None = None
    dvc: str = OUTS
    cache: bool = True
    x: str | None = None


@dataclass(frozen=True)
class Wildcard:
    """A wildcard of a Snakemake rule, which is a `matrix` key of the DVC stage. `pattern`:
    Snakemake's wildcard constraint; `values`: the matrix values in dvc.yaml (a list, a
    `${section.key}` template or a FromParams)."""

    pattern: str | None = None
    values: Any = None


@dataclass(frozen=True)
class Action:
    """`jetad <command> <name>`: one action of a command that has several (args.action)."""

    name: str
    help: str
    args: tuple[Arg, ...] = ()


@dataclass(frozen=True)
class Command:
    """`jetad <name>`: `module` defines run(args, params); `args` its arguments besides
    --params and --log (which every command has); `actions` its sub-commands, if any."""

    name: str
    module: str
    help: str
    args: tuple[Arg, ...] = ()
    needs_params: bool = True
    actions: tuple[Action, ...] = ()

    def add_to(self, parser) -> None:
        """Declare the command's arguments (and actions) on its argparse parser."""
        for arg in self.args:
            arg.add_to(parser)
        if self.actions:
            sub = parser.add_subparsers(dest="action", required=True, metavar="<action>")
            for action in self.actions:
                p = sub.add_parser(action.name, help=action.help, description=action.help)
                for arg in action.args:
                    arg.add_to(p)


@dataclass(frozen=True)
class Stage(Command):
    """A command that is a step of the pipeline: a Snakemake rule and (unless `engines`
    says otherwise) a DVC stage of the same name.

    inputs / outputs: name -> path (inputs: a path, a list of paths or a FromParams; outputs:
    a path or an Out). An input named `params` is the parameter file the command reads
    (`--params`) instead of params.yaml: a run with parameters of its own.

    `params`: what the stage reads of params.yaml, which the engines rerun it for: sections,
    or single keys of a section ("train.kl_eps": that key and no other of `train`, which
    jetad.params enforces). `snakemake_params`: extra keyword params of the rule (name ->
    FromParams). `log`: default logs/<name>.log. `when`: a jetad.pipeline.values function;
    Snakemake defines the rule only where it is true, and dvc.yaml holds the stage only where
    it is true of the parameters it is written from. `resources` values are numbers or
    FromParams. `command`: the stage runs `jetad <command>` (a pipeline stage in another
    setting, e.g. a scan run), or with `action` `jetad <command> <action>` (built by
    action_stage); its rule and DVC stage are named `name`. `tools`: a jetad.pipeline.values
    function giving the programs the stage runs (compilers, Verilator, yosys) for the
    parameters; jetad.cli and the Snakefile check them before any input is read."""

    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    params: tuple[str, ...] = ()
    snakemake_params: dict[str, FromParams] = field(default_factory=dict)
    wildcards: dict[str, Wildcard] = field(default_factory=dict)
    log: str | None = None
    threads: int | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    engines: tuple[str, ...] = ("snakemake", "dvc")
    when: Callable[[dict], Any] | None = None
    command: str | None = None
    action: str | None = None
    tools: Callable[[Any], list[str]] | None = None

    @property
    def log_path(self) -> str:
        return self.log or f"logs/{self.name}.log"

    @property
    def command_name(self) -> str:
        """The `jetad <command>` this stage runs: its own name, or for an action stage the
        command whose action it is (the source files it runs are that command's)."""
        return self.command or self.name

    @property
    def head(self) -> str:
        """The command's words before its arguments. An action's parser does not know
        --params and --log, so an action stage passes them to the command, before it."""
        words = ["jetad", self.command_name]
        if "params" in self.inputs:
            words.append("--params {input.params}")
        if self.action:
            words += ["--log {log}", self.action]
        return " ".join(words)

    def value_of(self, arg: Arg) -> str | FromParams | None:
        """What the pipeline passes for `arg` (see Arg): None when it leaves it out."""
        if arg.value is not None:
            for kind, name in _REFERENCE.findall(arg.value if isinstance(arg.value, str) else ""):
                if name not in (self.inputs if kind == "input" else self.outputs):
                    raise KeyError(f"stage {self.name}: {arg.flag} {arg.value}: no {kind} {name}")
            return arg.value
        name = arg.dest or arg.flag.lstrip("-").replace("-", "_")
        found = [f"{{{kind}.{name}}}" for kind, names in (
            ("input", self.inputs), ("output", self.outputs), ("wildcards", self.wildcards))
                 if name in names]
        if len(found) > 1:
            raise KeyError(f"stage {self.name}: {arg.flag} could be {' or '.join(found)}; "
                           "give its value")
        return found[0] if found else None

    @property
    def pipeline_args(self) -> tuple[Arg, ...]:
        """The arguments the pipeline passes, each with its value."""
        return tuple(replace(a, value=v) for a in self.args if (v := self.value_of(a)) is not None)


_REFERENCE = re.compile(r"\{(input|output)\.(\w+)\}")


def section_of(name: str) -> str:
    """The params.yaml section of a name in a stage's `params`: the name itself, or the
    section of one key declared alone ("dse.n_images" -> "dse")."""
    return name.partition(".")[0]


def out(spec) -> Out:
    """An outputs entry as an Out (a plain path is a cached file in dvc.yaml's outs)."""
    return spec if isinstance(spec, Out) else Out(spec)


def action_stage(command: Command, action: str, name: str, **stage) -> Stage:
    """A pipeline stage that runs `jetad <command> <action>`, with that action's arguments
    (their `value`s are what the pipeline passes)."""
    (act,) = (a for a in command.actions if a.name == action)
    return Stage(name, command.module, act.help, args=act.args, needs_params=command.needs_params,
                 command=command.name, action=action, **stage)
