"""The house rules of the package: layers only point down (import-linter's contracts in
pyproject.toml), the top-level package holds only the core, and no private name is used
outside the module that defines it."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "jetad"
CORE = {"__init__", "cli", "params", "sections", "inputs", "tables", "atomic", "log", "errors"}


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts of `project`/pyproject.toml over the jetad under `project`/src."""
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
         "sys.exit(lint_imports_command())", "--no-cache"],
        cwd=project, env=env, capture_output=True, text=True)


def test_the_layer_contracts_hold():
    out = lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The contracts can fail: data importing the model code is named."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(SRC, tmp_path / "src" / "jetad",
                    ignore=shutil.ignore_patterns("__pycache__"))
    kinematics = tmp_path / "src" / "jetad" / "data" / "kinematics.py"
    kinematics.write_text(kinematics.read_text() + "\nfrom jetad.models import losses  # noqa\n")
    out = lint_imports(tmp_path)
    assert out.returncode != 0
    assert "jetad.data is not allowed to import jetad.models" in out.stdout
    assert "jetad.data.kinematics -> jetad.models.losses" in out.stdout


def test_the_top_level_package_holds_only_the_core():
    modules = {p.stem for p in SRC.glob("*.py")}
    assert modules == CORE, f"move {sorted(modules - CORE)} into a package"


def _private_uses(path: Path) -> list[str]:
    """`from jetad.x import _y` and `module._y` on a jetad module imported into `path`."""
    tree = ast.parse(path.read_text())
    modules: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jetad"):
            for alias in node.names:
                if alias.name.startswith("_") and alias.name != "__version__":
                    found.append(f"{path.name}:{node.lineno}: imports {alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("jetad") and alias.asname:
                    modules.add(alias.asname)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in modules and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            found.append(f"{path.name}:{node.lineno}: uses {node.value.id}.{node.attr}")
    return found


def test_no_private_name_crosses_a_module():
    found = [use for path in sorted(SRC.rglob("*.py")) for use in _private_uses(path)]
    assert not found, "\n".join(found)


def test_the_private_name_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from jetad.analysis.plots import _secret\nfrom jetad.fpga import design as dz\n"
                   "dz._row(1)\n")
    assert _private_uses(bad) == ["bad.py:1: imports _secret", "bad.py:3: uses dz._row"]
