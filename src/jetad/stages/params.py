"""`jetad params --explain [key ...]`: every key of params.yaml as its schema declares it.

One row per key (its dotted path; a mapping's entries follow it): type, default and
description, all read from jetad/schema/*.json. Names given: only those keys and the keys
under them.
"""

from __future__ import annotations

import shutil
import textwrap
from typing import Any

from jetad.errors import ConfigError
from jetad.params import flow
from jetad.sections import default_of, schema

COLUMNS = ("key", "type", "default", "description")


def _bounds(spec: dict[str, Any]) -> str:
    lo = (f"[{spec['minimum']}" if "minimum" in spec
          else f"({spec['exclusiveMinimum']}" if "exclusiveMinimum" in spec else None)
    hi = (f"{spec['maximum']}]" if "maximum" in spec
          else f"{spec['exclusiveMaximum']})" if "exclusiveMaximum" in spec else None)
    if lo and hi:
        return f" in {lo}, {hi}"
    if lo:
        return (" >= " if lo[0] == "[" else " > ") + lo[1:]
    if hi:
        return (" <= " if hi[-1] == "]" else " < ") + hi[:-1]
    return ""


def type_of(spec: dict[str, Any]) -> str:
    """A key's type in a few words: "integer >= 1", "list of (top | w | z)", ..."""
    if "oneOf" in spec:
        return " or ".join(type_of(s) for s in spec["oneOf"])
    if "enum" in spec:
        return " | ".join(flow(v) for v in spec["enum"])
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    words = []
    for t in types:
        if t == "array":
            item = type_of(spec["items"]) if "items" in spec else "any"
            words.append(f"list of {item if ' ' not in item else f'({item})'}")
        elif t == "object":
            extra = spec.get("additionalProperties")
            words.append(f"mapping of {type_of(extra)}" if isinstance(extra, dict) else "mapping")
        elif t in ("integer", "number"):
            words.append(t + _bounds(spec))
        else:
            words.append(t)
    return " | ".join(words)


def rows(spec: dict[str, Any] | None = None, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, type, default, description) of every key under `spec` (the whole schema)."""
    out = []
    for name, sub in (spec or schema())["properties"].items():
        key = f"{prefix}{name}"
        if not prefix and "properties" in sub:  # a section: its description, then its keys
            out.append((key, "section", "", sub["description"]))
        else:
            out.append((key, type_of(sub), flow(default_of(sub)), sub["description"]))
        if "properties" in sub:
            out += rows(sub, f"{key}.")
    return out


def table(selected: list[tuple[str, ...]], width: int) -> str:
    """The rows as a text table, cells wrapped to fit `width` columns."""
    widths = [max(len(COLUMNS[0]), *(len(r[0]) for r in selected)),
              min(24, max(len(r[1]) for r in selected)),
              min(24, max(len(r[2]) for r in selected))]
    widths.append(max(30, width - sum(widths) - 2 * len(widths)))
    lines = []
    for row in [COLUMNS, tuple("-" * w for w in widths), *selected]:
        cells = [textwrap.wrap(c, w, break_on_hyphens=False) or [""]
                 for c, w in zip(row, widths, strict=True)]
        for i in range(max(map(len, cells))):
            parts = [(cell[i] if i < len(cell) else "").ljust(w)
                     for cell, w in zip(cells, widths, strict=True)]
            lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def run(args, params) -> None:
    if args.explain is None:
        raise ConfigError("nothing to do: --explain lists the keys of params.yaml")
    selected = rows()
    if args.explain:
        known = {r[0] for r in selected}
        unknown = [k for k in args.explain if k not in known]
        if unknown:
            raise ConfigError(f"params.yaml has no key {', '.join(unknown)}")
        selected = [r for r in selected
                    if any(r[0] == k or r[0].startswith(f"{k}.") for k in args.explain)]
    print(table(selected, shutil.get_terminal_size((120, 24)).columns))
