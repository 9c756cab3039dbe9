import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import jetad  # noqa: F401  (sets TF_USE_LEGACY_KERAS before any TensorFlow import)

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture
def env_path(monkeypatch):
    """Make `jetad`, `snakemake` and `dvc` of this environment the ones on PATH."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    return VENV_BIN


def copy_project(dest: Path) -> Path:
    """A scratch copy of the workflow files and the source (not data, results or the venv).

    The source is there because stages depend on it (dvc.yaml deps, rule inputs); to run the
    copy's code rather than the installed one, put `dest/src` first on PYTHONPATH."""
    for name in ("Snakefile", "dvc.yaml", "params.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "workflow", dest / "workflow")
    shutil.copytree(ROOT / "profiles", dest / "profiles")
    shutil.copytree(ROOT / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def jets_from_ptetaphi(pt, eta, phi) -> np.ndarray:
    """Massless constituents (N, M, 4) as (E, px, py, pz) from (pt, eta, phi) arrays (N, M)."""
    pt, eta, phi = (np.asarray(a, dtype=np.float64) for a in (pt, eta, phi))
    p4 = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)],
                  axis=-1)
    p4[pt <= 0] = 0
    return p4.astype(np.float32)
