"""`python -m jetad.pipeline [--write]`: check (default) or rewrite the files generated from
the stage registry: dvc.yaml (with the code deps of jetad.code_deps) and
workflow/rules/stages.smk."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jetad.pipeline.render import DVC_FILE, SMK_FILE, WRITE_COMMAND, dvc_yaml, snakemake_rules


def generated(root: str | Path = ".") -> dict[str, str]:
    """File (relative to root) -> the text the registry gives it. dvc.yaml's code deps are
    those of root's sources, its generate processes those of root's params.yaml."""
    import yaml

    from jetad.pipeline.registry import STAGES

    root = Path(root).resolve()
    params = yaml.safe_load((root / "params.yaml").read_text())
    return {DVC_FILE: dvc_yaml(STAGES, params, root), SMK_FILE: snakemake_rules(STAGES)}


def stale(root: str | Path = ".") -> list[str]:
    """The generated files whose text differs from what the registry gives."""
    root = Path(root)
    return [name for name, text in generated(root).items()
            if not (root / name).is_file() or (root / name).read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jetad.pipeline",
        description=f"Check (default) or rewrite {DVC_FILE} and {SMK_FILE} from the stage "
                    "registry (src/jetad/pipeline/registry.py).")
    parser.add_argument("--write", action="store_true", help="rewrite the files in place")
    parser.add_argument("--root", default=".", help="project directory (default: .)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.write:
        from jetad.atomic import write_text

        for name, text in generated(root).items():
            if not (root / name).is_file() or (root / name).read_text() != text:
                write_text(root / name, text)
                print(f"{name}: rewritten")
            else:
                print(f"{name}: up to date")
        return 0
    bad = stale(root)
    for name in bad:
        print(f"{name}: stale; run `{WRITE_COMMAND}`", file=sys.stderr)
    if not bad:
        print(f"{DVC_FILE}, {SMK_FILE}: up to date")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
