"""`python -m jetad.pipeline [--write] [--dse]`: check (default) or rewrite the files generated
from the stage registry: dvc.yaml (with the code deps of jetad.pipeline.code_deps) and
workflow/rules/stages.smk, the beta / capacity scan's workflow/rules/scan.smk, the inverse
task's workflow/rules/inverse.smk and the design-space scan's workflow/rules/dse.smk; with
`--dse`, also write the design-space scan's DVC pipeline, workflow/dse/dvc.yaml.

That last file is not committed: DVC collects every dvc.yaml in the project, so a scan
pipeline that never ran would make a plain `dvc status` list its stages as changed forever.
Written on demand, it is there only for a user who runs the scan through DVC, and kept current
by `--write` from then on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from jetad.atomic import write_text
from jetad.pipeline.registry import DSE_STAGES, INVERSE_STAGES, SCAN_STAGES, STAGES
from jetad.pipeline.render import (
    DSE_DVC_FILE,
    DSE_DVC_INTRO,
    DSE_SMK_FILE,
    DSE_SMK_INTRO,
    DVC_FILE,
    INVERSE_SMK_FILE,
    INVERSE_SMK_INTRO,
    SCAN_SMK_FILE,
    SCAN_SMK_INTRO,
    SMK_FILE,
    WRITE_COMMAND,
    dvc_yaml,
    snakemake_rules,
)

# the committed generated files, in the order they are checked and reported
FILES = (DVC_FILE, SMK_FILE, SCAN_SMK_FILE, INVERSE_SMK_FILE, DSE_SMK_FILE)


def generated(root: str | Path = ".", dse: bool | None = None) -> dict[str, str]:
    """File (relative to root) -> the text the registry gives it. dvc.yaml's code deps are
    those of root's sources, its generate processes and the scan's grid those of root's
    params.yaml. The design-space scan's DVC file is among them when `dse` is true, or (None)
    when root already has one."""
    root = Path(root).resolve()
    params = yaml.safe_load((root / "params.yaml").read_text())
    texts = {DVC_FILE: dvc_yaml(STAGES, params, root), SMK_FILE: snakemake_rules(STAGES),
             SCAN_SMK_FILE: snakemake_rules(SCAN_STAGES, SCAN_SMK_INTRO, pipeline=STAGES),
             INVERSE_SMK_FILE: snakemake_rules(INVERSE_STAGES, INVERSE_SMK_INTRO),
             DSE_SMK_FILE: snakemake_rules(DSE_STAGES, DSE_SMK_INTRO)}
    if (root / DSE_DVC_FILE).is_file() if dse is None else dse:
        texts[DSE_DVC_FILE] = dvc_yaml(DSE_STAGES, params, root, DSE_DVC_INTRO, wdir="../..")
    return texts


def write(root: str | Path = ".", dse: bool | None = None) -> list[str]:
    """Rewrite the stale generated files (with the design-space scan's DVC file as in
    `generated`); returns their names."""
    root = Path(root)
    texts = generated(root, dse)
    names = stale(root, texts)
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_text(root / name, texts[name])
    return names


def stale(root: str | Path = ".", texts: dict[str, str] | None = None) -> list[str]:
    """The generated files whose text differs from what the registry gives (`texts`: those
    of generated(root), when the caller has them already)."""
    root = Path(root)
    texts = generated(root) if texts is None else texts
    return [name for name, text in texts.items()
            if not (root / name).is_file() or (root / name).read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jetad.pipeline",
        description=f"Check (default) or rewrite {', '.join(FILES)} from the stage registry "
                    "(src/jetad/pipeline/registry.py).")
    parser.add_argument("--write", action="store_true", help="rewrite the files in place")
    parser.add_argument("--dse", action="store_true",
                        help=f"also write {DSE_DVC_FILE}, the design-space scan for DVC "
                             f"(not committed: run before `dvc repro {DSE_DVC_FILE}`)")
    parser.add_argument("--root", default=".", help="project directory (default: .)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.write or args.dse:
        rewritten = write(root, True if args.dse else None)
        for name in (*FILES, DSE_DVC_FILE) if (root / DSE_DVC_FILE).is_file() else FILES:
            print(f"{name}: {'rewritten' if name in rewritten else 'up to date'}")
        return 0
    bad = stale(root)
    for name in bad:
        print(f"{name}: stale; run `{WRITE_COMMAND}`", file=sys.stderr)
    if not bad:
        print(f"{', '.join(FILES)}: up to date")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
