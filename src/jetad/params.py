"""Load params.yaml, validate it against the JSON schema and build its typed sections.

The schema (jetad/schema/, loaded by jetad.sections) is the one home of every key: its type,
its default and its description. Unknown sections and unknown keys are refused with the key's
path named; a key left out takes its schema default. params.yaml itself is written from the
schema by `jetad preset <name>` (`defaults`, overlaid with the preset, then `render`), every key
with its value and its description.

`load` returns a `Params`: the top-level `seed` and `preset`, and one typed object per section
(jetad.sections). jetad.cli hands a command its `Params.restrict`ed to the sections it declares
in the stage registry (its `params=`, from which Snakemake and DVC rerun it): reading any other
section is refused, so that a change of a section reruns every stage that reads it.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from jetad.errors import ConfigError, UndeclaredSection
from jetad.sections import SECTIONS, default_of, schema, spec_of

DEFAULT_PATH = Path("params.yaml")


def validate(params: dict[str, Any], origin: str = "params.yaml") -> dict[str, Any]:
    # jsonschema (and its referencing stack) loads only when a file is validated
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        # One line (the house style): a list item's index is dropped from the key, since the
        # message quotes the offending value ("generate.signals: 'hvy' is not one of ...").
        problems = []
        for err in errors:
            path = list(err.absolute_path)
            while path and isinstance(path[-1], int):
                path.pop()
            problems.append(f"{'.'.join(map(str, path)) or '(top level)'}: "
                            f"{_message(validator, err)}")
        raise ConfigError(f"{origin}: " + "; ".join(dict.fromkeys(problems)))
    _check_relations(build(params), origin)
    return params


def _message(validator, err) -> str:
    """The error's message; for a key of several forms (oneOf: a name or a list of names), the
    message of the form the value has, the deepest first ('higgs' is not one of [...])."""
    if err.validator != "oneOf" or not err.context:
        return err.message
    branches = [b.get("type") for b in err.schema["oneOf"]]

    def branch(e):
        return branches[e.relative_schema_path[0]]

    # the branch whose type the value has (a list: the list's), else those that name no type
    typed = [e for e in err.context if branch(e) and validator.is_type(err.instance, branch(e))]
    candidates = typed or [e for e in err.context if not branch(e)] or list(err.context)
    return max(candidates, key=lambda e: len(e.absolute_path)).message


def validate_or_exit(params: dict[str, Any], origin: str = "params.yaml",
                     prog: str = "jetad workflow") -> dict[str, Any]:
    """validate() for a caller without the CLI's error handler (the Snakefile): a bad file
    gives the one-line error on stderr and exit 2, not a traceback."""
    try:
        return validate(params, origin)
    except ConfigError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _check_relations(params: Params, origin: str) -> None:
    def bad(message: str) -> ConfigError:
        return ConfigError(f"{origin}: {message}")

    gen = params.get("generate")
    if gen is not None and gen.jet_pt_min >= gen.jet_pt_max:
        raise bad("generate.jet_pt_min must be below jet_pt_max")
    train = params.get("train")
    if train is not None and train.objective == "capacity":
        k = train.latent_disc
        if train.capacity.disc_max > math.log(k) + 1e-9:
            raise bad(f"train.capacity.disc_max must be at most log(latent_disc) = "
                      f"{math.log(k):.4g} nats (a categorical of {k} classes carries no more)")
    dse = params.get("dse")
    for width, integer in (dse.precisions if dse is not None else []):
        # quantized_bits(width, integer) keeps a sign bit: width - 1 - integer fraction bits
        if width < 2 or integer > width - 1:
            raise bad(f"dse.precisions: [{width}, {integer}]: the integer part {integer} must be "
                      f"at most width - 1 = {width - 1} (one bit is the sign), width at least 2")
    pix = params.get("pixelize")
    if pix is not None and pix.rescale is not None and not pix.rescale[0] < pix.rescale[1]:
        raise bad(f"pixelize.rescale: {pix.rescale} must be [m0, E0] with m0 < E0 (a jet at "
                  f"rest has no axis to image around)")
    data = params.get("data")
    if data is not None and data.source == "file" and not data.file:
        raise bad("data.file must be set when data.source is 'file'")
    split = params.get("split")
    if split is None or data is None:
        return
    # refused here, before hours of generation, rather than by split at the end of the data
    known, why = _source_processes(data.source, gen, data)
    wanted = split.background if isinstance(split.background, list) else [split.background]
    missing = [b for b in wanted if b not in known]
    if missing:
        raise bad(f"split.background '{missing[0]}' is not generated: {why} "
                  f"({', '.join(known)})")


# JetNet's classes as jetad's processes (jetad.data.jetnet.CLASSES; params sits below data)
_JETNET_PROCESSES = {"g": "gluon", "q": "quark", "t": "top", "w": "w", "z": "z"}


def _source_processes(source: str, gen, data) -> tuple[list[str], str]:
    """The processes a data source gives, and how to say so in an error."""
    if source == "generate":
        backgrounds = gen.backgrounds if gen is not None else default("generate", "backgrounds")
        signals = gen.signals if gen is not None else default("generate", "signals")
        return [*backgrounds, *signals], "one of generate.backgrounds or generate.signals"
    if source == "jetnet":
        return ([_JETNET_PROCESSES[c] for c in data.jetnet_classes],
                "the process of one of data.jetnet_classes")
    return ["qcd", "top"], f"qcd or top with data.source {source}"


def merge(base: dict, overlay: dict) -> dict:
    """`base` with `overlay` merged key by key: a nested mapping given in part keeps the
    entries it leaves out (presets, scan points, seed runs)."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def default(section: str, key: str) -> Any:
    """The schema's default of `section.key`: for library functions called without params."""
    return default_of(spec_of(f"{section}.{key}"))


def or_default(value: Any, section: str, key: str) -> Any:
    """`value`, or the schema's default of `section.key` when it is None: a library function's
    keyword left out by its caller."""
    return default(section, key) if value is None else value


def defaults() -> dict[str, Any]:
    """Every key of params.yaml at its schema default, in the schema's order."""
    return {name: default_of(spec) for name, spec in schema()["properties"].items()}


# width of the comments in a written params.yaml
WIDTH = 100


def flow(value: Any) -> str:
    """A value on one line, as YAML's flow style writes it."""
    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"), sort_keys=False)
    return text.removesuffix("\n...\n").strip()


def _comment(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=f"{indent}# ", subsequent_indent=f"{indent}# ",
                         break_on_hyphens=False)


def _wrapped(head: str, value: Any, indent: str) -> list[str]:
    """`head` and the value in flow style, wrapped at WIDTH (a flow collection may go on on
    lines indented further)."""
    return textwrap.wrap(f"{head}{flow(value)}", WIDTH, subsequent_indent=indent + "    ",
                         break_long_words=False, break_on_hyphens=False)


def _key_lines(key: str, value: Any, spec: dict[str, Any], indent: str) -> list[str]:
    """`key: value` with its description: after the value when the line has room, else above;
    a mapping of mappings (scan.points) one entry a line."""
    desc = spec["description"]
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        lines = _comment(desc, indent) + [f"{indent}{key}:"]
        for name, entry in value.items():
            lines += _wrapped(f"{indent}  {name}: ", entry, indent + "  ")
        return lines
    lines = _wrapped(f"{indent}{key}: ", value, indent)
    if len(lines) == 1 and len(lines[0]) + len(desc) + 4 <= WIDTH:
        return [f"{lines[0]}  # {desc}"]
    return _comment(desc, indent) + lines


def render(params: dict[str, Any], header: str) -> str:
    """params.yaml's text of a complete mapping `params` (every key, in the schema's order):
    each key with its value and, as a comment, its description; `header` (comment lines)
    first."""
    props = schema()["properties"]
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for name, value in params.items():
        spec = props[name]
        if "properties" not in spec or not isinstance(value, dict):
            lines += _key_lines(name, value, spec, "")
            continue
        lines += ["", *_comment(spec["description"], ""), f"{name}:"]
        for key, sub in value.items():
            lines += _key_lines(key, sub, spec["properties"][key], "  ")
    text = "\n".join(lines) + "\n"
    # neither the comments nor the flow style may change a value, its type or the key order
    if repr(yaml.safe_load(text)) != repr(params):
        raise RuntimeError("the params.yaml written does not read back as its values")
    return text


def load_raw(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The validated params.yaml as plain data, as written (no defaults filled in)."""
    path = Path(path or os.environ.get("JETAD_PARAMS", DEFAULT_PATH))
    if not path.is_file():
        raise ConfigError(f"{path}: no such parameter file (run from the project directory)")
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    return validate(params, str(path))


def load(path: str | os.PathLike | None = None) -> Params:
    """The validated params.yaml with its defaults filled in, as typed sections."""
    return build(load_raw(path))


class Params:
    """The validated parameters: `seed`, `preset` and one typed object per section, read as
    attributes (`params.train.epochs`) or by name (`params["train"]`)."""

    def __init__(self, values: dict[str, Any], raw: dict[str, Any],
                 stage: str | None = None, declared: frozenset[str] | None = None):
        self._values, self._raw = values, raw
        self._stage, self._declared = stage, declared

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._values:
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            raise KeyError(name)
        if self._declared is None or name in self._declared:
            return self._values[name]
        keys = frozenset(d.partition(".")[2] for d in self._declared if d.startswith(name + "."))
        if not keys:
            raise UndeclaredSection(
                f"jetad {self._stage} reads params.yaml section '{name}' but declares only "
                f"{', '.join(sorted(self._declared))}; declare it (params= of its entry in "
                "jetad.pipeline.registry) or pass it another way")
        return _DeclaredKeys(self._values[name], keys, f"jetad {self._stage}", name)

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self._values else default

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def __iter__(self):
        """The sections that may be read (in whole or by some keys)."""
        if self._declared is None:
            return iter(self._values)
        sections = {d.partition(".")[0] for d in self._declared}
        return iter([k for k in self._values if k in sections])

    @property
    def raw(self) -> dict[str, Any]:
        """The declared part of params.yaml as written (for provenance)."""
        return {k: copy.deepcopy(v if self._declared is None or k in self._declared
                                 else {n: x for n, x in v.items() if f"{k}.{n}" in self._declared})
                for k, v in self._raw.items() if k in set(self)}

    def restrict(self, names: tuple[str, ...], who: str) -> Params:
        """These parameters as `who` may read them: only `names` ("*": all), each a section or
        one key of a section ("train.kl_eps": that key only, reading another one of the
        section raises). jetad.cli restricts each command to what it declares in the stage
        registry."""
        return Params(self._values, self._raw, who, None if "*" in names else frozenset(names))


class _DeclaredKeys(Mapping):
    """A section of which a stage declares some keys only: reading another key of it raises
    UndeclaredSection, as reading an undeclared section does."""

    def __init__(self, section, keys: frozenset[str], who: str, name: str):
        self._section, self._keys, self._who, self._name = section, keys, who, name

    def __getitem__(self, key: str) -> Any:
        if key in self._section and key not in self._keys:
            raise UndeclaredSection(
                f"{self._who} reads params.yaml key '{self._name}.{key}' but declares only "
                f"{', '.join(f'{self._name}.{k}' for k in sorted(self._keys))} of that section; "
                "declare it (params= of its entry in jetad.pipeline.registry)")
        return self._section[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __contains__(self, key) -> bool:
        return key in self._section

    def __iter__(self):
        return iter(self._section)

    def __len__(self) -> int:
        return len(self._section)


def _fill(value: Any, spec: dict[str, Any], cls: type | None) -> Any:
    """A key's value with schema defaults filled in; a mapping given in part keeps the
    default's entries for the keys it leaves out (e.g. generate.pthat_min per process)."""
    default = default_of(spec)
    if isinstance(value, dict) and isinstance(default, dict):
        value = {**default, **value}
    if cls is not None and isinstance(value, dict):
        return _section(cls, value, spec)
    return copy.deepcopy(value)


def _section(cls, values: dict[str, Any], spec: dict[str, Any]):
    kwargs = {}
    for field in dataclasses.fields(cls):
        sub = spec["properties"][field.name]
        value = values[field.name] if field.name in values else default_of(sub)
        kwargs[field.name] = _fill(value, sub, cls.nested.get(field.name))
    return cls(**kwargs)


def build(params: dict[str, Any]) -> Params:
    """Typed parameters from a validated params.yaml mapping, schema defaults filled in."""
    values: dict[str, Any] = {}
    for name, spec in schema()["properties"].items():
        cls = SECTIONS.get(name)
        if cls is None:
            values[name] = copy.deepcopy(params[name]) if name in params else default_of(spec)
        elif name in params or not spec.get("required"):
            # a section left out takes its schema defaults, unless the schema asks for some of
            # its keys to be written
            values[name] = _section(cls, params.get(name, {}), spec)
    return Params(values, params)
