"""`jetad preset <name>`: write params.yaml from the schema's defaults and a preset.

params.yaml holds every key (DVC reads the keys a stage declares from it, Snakemake its
values): the defaults of jetad/schema/*.json overlaid with workflow/presets/<name>.yaml, which
holds only what differs from them (`default` holds nothing), each key with its description
as a comment. The result is validated before it is written. The committed params.yaml is
`jetad preset default`'s (tests/test_params.py checks it).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from jetad.atomic import write_text
from jetad.errors import ConfigError
from jetad.params import defaults, merge, render, validate
from jetad.pipeline.__main__ import write

PRESET_DIR = Path("workflow/presets")

HEADER = """\
Every parameter of the pipeline, for Snakemake and DVC alike; validated against
src/jetad/schema/*.json before any stage runs. Written by `jetad preset {name}`: the schema's
defaults (each key's type, default and description live there) overlaid with
workflow/presets/{name}.yaml. Change a default in the schema or a value in a preset, then
rerun `jetad preset <name>` (quick: smoke tests; default: 2 cores, < 1 h; thesis: a GPU node;
jetnet: JetNet-like jets); a value edited here holds until then. `jetad params --explain` lists
every key.
"""


def values(name: str, preset_dir: Path = PRESET_DIR) -> dict:
    """params.yaml's values for preset `name`: the schema's defaults overlaid with it."""
    preset = preset_dir / f"{name}.yaml"
    if not preset.is_file():
        known = sorted(p.stem for p in preset_dir.glob("*.yaml"))
        raise ConfigError(f"{preset}: no such preset (known: {', '.join(known)})")
    overlay = yaml.safe_load(preset.read_text()) or {}
    if not isinstance(overlay, dict):
        raise ConfigError(f"{preset}: expected a mapping of sections")
    params = merge(defaults(), overlay)
    params["preset"] = name
    return validate(params, f"{preset} over the schema's defaults")


def text(name: str, preset_dir: Path = PRESET_DIR) -> str:
    """params.yaml as `jetad preset name` writes it."""
    return render(values(name, preset_dir), HEADER.format(name=name))


def apply(name: str, params_path: Path, preset_dir: Path = PRESET_DIR) -> dict:
    """Write params.yaml for preset `name`; returns its values."""
    params = values(name, preset_dir)
    write_text(params_path, render(params, HEADER.format(name=name)))
    return params


def run(args, params) -> None:
    path = Path(args.params or "params.yaml")
    apply(args.name, path)
    print(f"{path} now uses preset {args.name}")
    # the engines' job lists written from params.yaml (generate's processes, the dse grid)
    # follow it, in a project that has them
    root = path.parent
    if (root / "dvc.yaml").is_file() and (root / "src" / "jetad").is_dir():
        for name in write(root):
            print(f"{name} rewritten for the preset's parameters")
