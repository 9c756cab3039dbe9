"""The source files each `jetad <stage>` runs: the code dependencies of the DVC stages and
Snakemake rules, so that changing a module reruns the stages that use it and nothing else.

A stage runs `jetad.params` (which reads the JSON schema of top-level keys and of the
sections the stage declares), the stage's module, and every `jetad` module these import,
found by a static scan of `import jetad...` and `from jetad... import ...`, including imports
inside functions. A package data file counts when a module names it in a string
(`Path(__file__).with_name("nnet_instancenorm.h")`). The stage registry names each command's
module in a string, not an import: one stage does not depend on another's code.

Left out: the entry point jetad.cli, which parses the arguments and hands the stage its
parameters (jetad.params, which counts), and jetad.pipeline, which declares the arguments and
writes the engines' files: a change there that matters to a stage changes its command line,
inputs or parameters, which both engines compare already, so that editing a help string
reruns nothing.

dvc.yaml holds these lists, written by `python -m jetad.pipeline --write`; Snakemake computes
the same lists when it builds its graph (code() in workflow/rules/common.smk).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from jetad.pipeline.registry import COMMANDS
from jetad.pipeline.spec import section_of

PACKAGE = "jetad"
SRC = "src"
# run by every stage: the parameter check
COMMON = ("jetad.params",)
# not followed (the module docstring says why)
LEFT_OUT = ("jetad.cli", "jetad.pipeline")


def _module_path(root: Path, name: str) -> Path | None:
    """The file of module `name` under root/src, or None if it is not a jetad module."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root / SRC / Path(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _parents(name: str) -> list[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imports(root: Path, name: str, path: Path) -> set[str]:
    """jetad modules that module `name` (file `path`) imports anywhere in its body."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # `from jetad import log`: log may be a module of its own
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if _module_path(root, m) is not None}


def _data_files(path: Path) -> set[Path]:
    """Package data next to a module that the module names in a string literal."""
    siblings = {p.name: p for p in path.parent.iterdir()
                if p.is_file() and p.suffix not in (".py", ".pyc")}
    tree = ast.parse(path.read_text(), filename=str(path))
    return {siblings[node.value] for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value in siblings}


@cache
def module_files(root: Path, name: str) -> frozenset[Path]:
    """Every file that running module `name` reads from the package: itself, its parent
    packages, the jetad modules it imports (transitively) and the data files they name."""
    files: set[Path] = set()
    todo, seen = [name], set()
    while todo:
        mod = todo.pop()
        if mod in seen or any(mod == m or mod.startswith(m + ".") for m in LEFT_OUT):
            continue
        seen.add(mod)
        path = _module_path(root, mod)
        if path is None:
            continue
        files.add(path)
        files |= _data_files(path)
        todo.extend(_parents(mod))
        todo.extend(_imports(root, mod, path))
    return frozenset(files)


def stage_modules() -> dict[str, str]:
    """`jetad <stage>` -> module, from the stage registry."""
    return {c.name: c.module for c in COMMANDS}


def stage_files(stage: str, sections=(), root: str | Path = ".") -> list[str]:
    """Project-relative paths of the source files `jetad <stage>` runs, with the schema of
    the top-level keys and of each params.yaml section in `sections`."""
    root = Path(root).resolve()
    module = stage_modules()[stage]
    files: set[Path] = set()
    for name in (*COMMON, module):
        files |= module_files(root, name)
    schema = root / SRC / PACKAGE / "schema"
    for key in ("top", *sections):
        section = section_of(key)
        if (schema / f"{section}.json").is_file():
            files.add(schema / f"{section}.json")
    return sorted(str(p.relative_to(root)) for p in files)
