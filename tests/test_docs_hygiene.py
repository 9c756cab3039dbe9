"""Code, tests and docs cite their sources by the keys of docs/references.md ([Valente 2022],
[Dupont 2018], ...), never an internal specification a reader of the repository does not have, and
never the number of a tracker item: both mean nothing outside the tracker they came from. Upstream
work is named as owner/repo#N (e.g. hls4ml#717), which stays readable anywhere."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# what a reader gets: the package, its tests and benchmarks, the workflow and the docs
SCANNED = ("src", "tests", "bench", "workflow", "docs", ".ci", "README.md", "Snakefile", "Makefile")
SKIP_DIRS = {"__pycache__", ".snakemake", ".ipynb_checkpoints"}
PATTERNS = {
    "a citation of the internal specification": re.compile(r"\bSPEC\b"),
    "a tracker item by number": re.compile(r"(?i)\bissues?\s*#?\d+"),
    "a tracker item in parentheses": re.compile(r"\(#\d+\)"),
    "a bare tracker number": re.compile(r"(?<=[\s(])#\d+\b"),
}


def _tracked(top: Path) -> list[Path]:
    """The files git tracks under `top` (what a reader of the repository gets: not the
    egg-info or caches an install leaves in the tree); every file when this is no checkout."""
    out = subprocess.run(["git", "ls-files", "-z", "--", str(top)], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        return sorted(p for p in top.rglob("*") if p.is_file())
    return [ROOT / name for name in out.stdout.split("\0") if name]


def _texts():
    for name in SCANNED:
        top = ROOT / name
        files = [top] if top.is_file() else _tracked(top)
        for path in files:
            if SKIP_DIRS & set(path.relative_to(ROOT).parts) or path.stat().st_size > 2_000_000:
                continue
            try:
                yield path, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:  # binary fixtures
                continue


def test_patterns_catch_what_they_are_for():
    # the examples are split so that this file does not hold what it looks for
    assert PATTERNS["a citation of the internal specification"].search("as in SP" "EC §2")
    assert PATTERNS["a tracker item by number"].search("the target of issue" " 15")
    assert PATTERNS["a tracker item by number"].search("(Issue #" "14 item 8)")
    assert PATTERNS["a tracker item in parentheses"].search("thin stages (#" "12)")
    assert PATTERNS["a bare tracker number"].search("see #" "12 for the stages")
    for fine in ("hls4ml#717", "color='#336699'", "specs", "jetad.pipeline.spec", "SPECIAL = {"):
        assert not any(p.search(fine) for p in PATTERNS.values()), fine


@pytest.mark.parametrize("what", sorted(PATTERNS))
def test_no_internal_references(what):
    pattern = PATTERNS[what]
    hits = [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
            for path, text in _texts() for m in pattern.finditer(text)]
    assert not hits, f"{len(hits)} x {what} (cite docs/references.md keys instead):\n" + "\n".join(hits)
