"""No assertion that cannot fail: an AUC or efficiency checked to lie in [0, 1], `assert True`,
or a test whose only assertion is `x is not None` proves nothing about the code."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_unit_interval(node: ast.AST) -> bool:
    """`0 <= x <= 1` (or with <, and 0.0 / 1.0)."""
    return (isinstance(node, ast.Compare) and len(node.ops) == 2
            and all(isinstance(op, ast.Lt | ast.LtE) for op in node.ops)
            and isinstance(node.left, ast.Constant) and node.left.value == 0
            and isinstance(node.comparators[1], ast.Constant) and node.comparators[1].value == 1)


def _is_not_none(node: ast.AST) -> bool:
    return (isinstance(node, ast.Compare) and len(node.ops) == 1
            and isinstance(node.ops[0], ast.IsNot)
            and isinstance(node.comparators[0], ast.Constant) and node.comparators[0].value is None)


def vacuous(source: str, name: str = "<test>") -> list[str]:
    """Each assertion of the test functions in `source` that cannot fail, as 'name:line: why'."""
    found = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) \
                or not fn.name.startswith("test"):
            continue
        asserts = [n for n in ast.walk(fn) if isinstance(n, ast.Assert)]
        for a in asserts:
            if isinstance(a.test, ast.Constant) and a.test.value:
                found.append(f"{name}:{a.lineno}: assert of a true constant")
            if any(_is_unit_interval(n) for n in ast.walk(a.test)):
                found.append(f"{name}:{a.lineno}: 0 <= x <= 1 holds for any AUC or rate")
        if len(asserts) == 1 and _is_not_none(asserts[0].test):
            found.append(f"{name}:{asserts[0].lineno}: the only assertion is `is not None`")
    return found


def test_no_test_asserts_what_cannot_fail():
    found = [f for p in sorted(TESTS.rglob("test_*.py"))
             for f in vacuous(p.read_text(), str(p.relative_to(TESTS)))]
    assert not found, "\n".join(found)


def test_the_check_finds_each_kind():
    source = '''
def test_a(m):
    assert 0.0 <= m["auc"] <= 1.0
def test_b(rs):
    assert all(0 < r < 1 for r in rs) and len(rs) == 3
def test_c():
    assert TRUE_CONSTANT
def test_d(x):
    assert x is not None
def test_e(x, y):
    assert x is not None
    assert y == 2
def helper(x):
    assert 0 <= x <= 1
'''
    # the constant is put in here, so that this file holds no vacuous assertion of its own
    source = source.replace("TRUE_CONSTANT", "True")
    assert vacuous(source) == [
        "<test>:3: 0 <= x <= 1 holds for any AUC or rate",
        "<test>:5: 0 <= x <= 1 holds for any AUC or rate",
        "<test>:7: assert of a true constant",
        "<test>:9: the only assertion is `is not None`",
    ]
