"""`jetad`'s command line, built from the stage registry (jetad.pipeline.registry)."""

import subprocess
import sys

from jetad.pipeline.registry import STAGES


def test_help_imports_no_stage_module(env_path):
    """`jetad --help` builds every parser from the registry without importing a stage."""
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from jetad.cli import build_parser; "
         "build_parser().format_help(); print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True).stdout.split()
    modules = {c.module for c in STAGES}
    assert "jetad.pipeline.registry" in out
    assert not modules & set(out)
    assert not {"numpy", "tensorflow", "yaml", "h5py"} & set(out)
