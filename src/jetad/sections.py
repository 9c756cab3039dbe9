"""The JSON schema of params.yaml and its typed sections, made from it.

The schema is one file per top-level section under jetad/schema/, named in top.json's
`properties` (whose order is the order of params.yaml). It is the one home of every key: its
type, its `default` and its `description`. A key with `properties` of its own (a per-process
mapping, `train.capacity`) takes the mapping of their defaults; a nested key with a `title` is a
nested section, typed by a class of that name.

Each section is a frozen dataclass generated here, `Train` for `train` and so on, its fields the
section's keys in the schema's order. The classes hold no defaults: a key left out of
params.yaml takes its schema default, filled in by jetad.params when the file is loaded. Each
section also reads as a read-only mapping (`section["key"]`, `dict(section)`), so library
functions that take a plain dict of settings accept it unchanged.

`from_schema` types another dataclass by the schema (the model configurations that take a
subset of a section's keys), so that no key is declared twice.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any, ClassVar

# JSON types as Python annotations
_TYPES = {"integer": "int", "number": "float", "string": "str", "boolean": "bool",
          "array": "list", "object": "dict", "null": "None"}


@cache
def schema() -> dict[str, Any]:
    """The whole schema of params.yaml: top.json with each section's file in its place."""
    folder = resources.files("jetad") / "schema"
    top = json.loads((folder / "top.json").read_text())
    properties = {}
    for name, spec in top["properties"].items():
        properties[name] = (json.loads((folder / spec["$ref"]).read_text()) if "$ref" in spec
                            else spec)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": top.get("required", []),
        "properties": properties,
    }


def spec_of(path: str) -> dict[str, Any]:
    """The schema of a dotted key ("train.capacity.gamma"; a section's name: the section)."""
    spec = schema()
    for part in path.split("."):
        try:
            spec = spec["properties"][part]
        except KeyError:
            raise KeyError(f"params.yaml has no key {path}") from None
    return spec


def default_of(spec: dict[str, Any]) -> Any:
    """A key's default: its own, or the mapping of the defaults of its `properties`."""
    if "default" in spec:
        return copy.deepcopy(spec["default"])
    if "properties" in spec:
        return {key: default_of(sub) for key, sub in spec["properties"].items()}
    raise KeyError("no default")


def annotation(spec: dict[str, Any]) -> str:
    """The Python type of a key, as an annotation string."""
    if "title" in spec:
        return spec["title"]
    if "oneOf" in spec:
        return " | ".join(dict.fromkeys(annotation(s) for s in spec["oneOf"]))
    if "enum" in spec:
        names = {bool: "bool", int: "int", float: "float", str: "str", type(None): "None"}
        return " | ".join(dict.fromkeys(names[type(v)] for v in spec["enum"]))
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    return " | ".join(_TYPES[t] for t in types)


class Section(Mapping):
    """Mapping view of a frozen dataclass section; nested sections are listed in `nested`."""

    nested: ClassVar[dict[str, type[Section]]] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dataclass_fields__)

    def __len__(self) -> int:
        return len(self.__dataclass_fields__)

    def asdict(self) -> dict[str, Any]:
        """The section as plain data (nested sections as dicts), as params.yaml spells it."""
        return dataclasses.asdict(self)


def _section_class(name: str, spec: dict[str, Any]) -> type[Section]:
    nested = {key: _section_class(sub["title"], sub)
              for key, sub in spec["properties"].items() if "title" in sub}
    cls = dataclasses.make_dataclass(
        name, [(key, annotation(sub)) for key, sub in spec["properties"].items()],
        bases=(Section,), frozen=True, eq=True,
        namespace={"nested": nested, "__module__": __name__,
                   "__doc__": spec.get("description", f"params.yaml's `{name.lower()}`")})
    globals()[name] = cls
    return cls


# params.yaml section -> its class; the top-level scalars `seed` and `preset` are plain values.
# The classes are also this module's attributes (jetad.sections.Train, ...).
SECTIONS: dict[str, type[Section]] = {
    name: _section_class(name.capitalize(), spec)
    for name, spec in schema()["properties"].items() if "properties" in spec
}


def from_schema(*keys: str, defaults: bool = False):
    """Class decorator: the class as a dataclass whose first fields are the params keys named
    ("section.key", each field named by its key), typed as the schema types them and in the
    order given; with `defaults`, each takes its schema default. Fields the class annotates
    itself follow them."""

    def wrap(cls):
        own = dict(cls.__dict__.get("__annotations__", {}))
        fields = {}
        for path in keys:
            name, spec = path.rsplit(".", 1)[-1], spec_of(path)
            fields[name] = annotation(spec)
            if defaults:
                setattr(cls, name, dataclasses.field(
                    default_factory=lambda spec=spec: default_of(spec)))
        cls.__annotations__ = {**fields, **own}
        return dataclasses.dataclass(cls)

    return wrap
