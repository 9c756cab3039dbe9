"""Load params.yaml and validate it against the JSON schema before any stage runs.

The schema is one file per top-level section under jetad/schema/, so each stage owns its
own part; unknown sections and unknown keys are refused with the key's path named.
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from jetad.errors import ConfigError

DEFAULT_PATH = Path("params.yaml")


@cache
def schema() -> dict[str, Any]:
    folder = resources.files("jetad") / "schema"
    top = json.loads((folder / "top.json").read_text())
    properties = dict(top["properties"])
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json") and entry.name != "top.json":
            properties[entry.name[: -len(".json")]] = json.loads(entry.read_text())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": top.get("required", []),
        "properties": properties,
    }


def validate(params: dict[str, Any], origin: str = "params.yaml") -> dict[str, Any]:
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
            problems.append(f"{'.'.join(map(str, path)) or '(top level)'}: {err.message}")
        raise ConfigError(f"{origin}: " + "; ".join(dict.fromkeys(problems)))
    _check_relations(params, origin)
    return params


def validate_or_exit(params: dict[str, Any], origin: str = "params.yaml",
                     prog: str = "jetad workflow") -> dict[str, Any]:
    """validate() for a caller without the CLI's error handler (the Snakefile): a bad file
    gives the one-line error on stderr and exit 2, not a traceback."""
    import sys

    try:
        return validate(params, origin)
    except ConfigError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _check_relations(params: dict[str, Any], origin: str) -> None:
    gen = params.get("generate", {})
    if gen.get("jet_pt_min", 0) >= gen.get("jet_pt_max", float("inf")):
        raise ConfigError(f"{origin}: generate.jet_pt_min must be below jet_pt_max")
    train = params.get("train", {})
    if train.get("objective") == "capacity":
        import math

        cap = train.get("capacity")
        if not cap:
            raise ConfigError(f"{origin}: train.capacity must be set when "
                              "train.objective is 'capacity'")
        k = train.get("latent_disc", 2)
        if cap["disc_max"] > math.log(k) + 1e-9:
            raise ConfigError(f"{origin}: train.capacity.disc_max must be at most "
                              f"log(latent_disc) = {math.log(k):.4g} nats (a categorical of {k} "
                              "classes carries no more)")
    data = params.get("data", {})
    if data.get("source") == "file" and not data.get("file"):
        raise ConfigError(f"{origin}: data.file must be set when data.source is 'file'")
    # refused here, before hours of generation, rather than by split at the end of the data
    background = params.get("split", {}).get("background", "qcd")
    source = data.get("source", "generate")
    known = (["qcd", *gen.get("signals", ["top"])] if source == "generate" else ["qcd", "top"])
    if background not in known:
        why = ("qcd or one of generate.signals" if source == "generate"
               else f"qcd or top with data.source {source}")
        raise ConfigError(f"{origin}: split.background '{background}' is not "
                          f"generated: {why} ({', '.join(known)})")


def load(path: str | os.PathLike | None = None) -> dict[str, Any]:
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
