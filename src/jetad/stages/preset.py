"""`jetad preset <name>`: apply workflow/presets/<name>.yaml on top of params.yaml.

A preset holds only the keys that differ from the default params.yaml; `default` restores
the committed file's values for them. The result is validated before it is written.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from jetad.atomic import write_text
from jetad.errors import ConfigError
from jetad.params import merge

PRESET_DIR = Path("workflow/presets")


def apply(name: str, params_path: Path, preset_dir: Path = PRESET_DIR) -> dict:
    from jetad.params import validate

    preset = preset_dir / f"{name}.yaml"
    if not preset.is_file():
        known = sorted(p.stem for p in preset_dir.glob("*.yaml"))
        raise ConfigError(f"{preset}: no such preset (known: {', '.join(known)})")
    base = yaml.safe_load(params_path.read_text())
    overlay = yaml.safe_load(preset.read_text()) or {}
    params = merge(base, overlay)
    params["preset"] = name
    validate(params, f"{params_path} with preset {name}")
    header = (f"# Written by `jetad preset {name}` from {preset}; see the committed params.yaml"
              " for comments.\n")
    write_text(params_path, header + yaml.safe_dump(params, sort_keys=False))
    return params


def run(args, params) -> None:
    path = Path(args.params or "params.yaml")
    apply(args.name, path)
    print(f"{path} now uses preset {args.name}")
    # the engines' job lists written from params.yaml (generate's processes, the dse grid)
    # follow it, in a project that has them
    root = path.parent
    if (root / "dvc.yaml").is_file() and (root / "src" / "jetad").is_dir():
        from jetad.pipeline.__main__ import write

        for name in write(root):
            print(f"{name} rewritten for the preset's parameters")
