"""No function in src/jetad is longer than 60 lines (decorators, signature and docstring
included): a longer one is split into named steps."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "jetad"
MAX_LINES = 60
# Better left whole, with the functions nested in them:
ALLOWED = {
    # the pixelization kernel, compiled by Numba: one parallel loop over blocks of jets whose
    # steps share the block's scratch arrays; helpers would have to be inlined back by Numba
    # to keep that loop as fast
    "data/pixel_kernel.py": {"images_kernel"},
}


def long_functions(path: Path, allowed: frozenset[str] = frozenset()) -> list[str]:
    """`name (n lines)` of every function of `path` over MAX_LINES, nested ones included,
    except those in `allowed` and the functions nested in them."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if child.name in allowed:
                    continue
                start = min([child.lineno] + [d.lineno for d in child.decorator_list])
                lines = child.end_lineno - start + 1
                if lines > MAX_LINES:
                    found.append(f"{prefix}{child.name} ({lines} lines)")
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text()), "")
    return found


def test_no_function_is_longer_than_60_lines():
    found = [f"{path.relative_to(SRC).as_posix()}: {name}"
             for path in sorted(SRC.rglob("*.py"))
             for name in long_functions(path, frozenset(
                 ALLOWED.get(path.relative_to(SRC).as_posix(), ())))]
    assert not found, "split into named steps:\n" + "\n".join(found)


def test_the_allowed_functions_are_still_long():
    for module, names in ALLOWED.items():
        long = {n.split(" ")[0] for n in long_functions(SRC / module)}
        assert names <= long, f"{module}: {sorted(names - long)} no longer needs to be allowed"


def test_the_length_check_can_fail(tmp_path):
    lines = [f"x{i} = {i}" for i in range(MAX_LINES)]
    method = "".join(f"        {line}\n" for line in lines)
    function = "".join(f"    {line}\n" for line in lines)
    bad = tmp_path / "bad.py"
    bad.write_text(f"class A:\n    def long(self):\n{method}\n\n"
                   f"def short():\n    return 1\n\n\n@staticmethod\ndef f():\n{function}")
    assert long_functions(bad) == ["A.long (61 lines)", "f (62 lines)"]
    assert long_functions(bad, frozenset({"f"})) == ["A.long (61 lines)"]
