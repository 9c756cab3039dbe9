"""`jetad provenance`: what a result was made from, for the report and for DVC.

Records the parameters, the data source with the md5 of every jet file, the versions of the
packages that shape the numbers, the git revision and the machine, as JSON and as an HTML
table that `snakemake --report` shows under "Provenance".
"""

from __future__ import annotations

import html
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from jetad import log, tables
from jetad.atomic import file_md5, write_text

LOG = log.get("jetad.stages.provenance")
PACKAGES = ("jetad", "numpy", "pandas", "tables", "h5py", "tensorflow", "tf_keras", "qkeras",
            "hls4ml", "scikit-learn", "pythia8mc", "fastjet", "snakemake", "dvc", "matplotlib")


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def collect(inputs: list[str], params: dict) -> dict:
    return {
        "git_revision": git_revision(),
        "data_source": params["data"]["source"],
        "data_note": "Pythia8 + FastJet particle-level jets, no detector simulation"
        if params["data"]["source"] == "generate" else "top-tagging files (Pythia8 + Delphes)",
        "files": {p: {"md5": file_md5(p), "bytes": Path(p).stat().st_size} for p in inputs},
        "params": params,
        "packages": versions(),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
    }


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += _flatten(value, name + ".")
        else:
            rows.append((name, json.dumps(value)))
    return rows


def to_html(info: dict) -> str:
    parts = [
        "<html><head><meta charset='utf-8'><title>jetad provenance</title></head><body>",
        f"<h2>Provenance</h2><p>git revision <code>{html.escape(info['git_revision'])}</code>; "
        f"data source <b>{html.escape(info['data_source'])}</b> "
        f"({html.escape(info['data_note'])}); Python {info['python']} on {info['machine']}</p>",
        "<h3>Data files</h3>",
        tables.html([(p, f["md5"], f["bytes"]) for p, f in info["files"].items()],
                    ("file", "md5", "bytes")),
        "<h3>Parameters (params.yaml)</h3>",
        tables.html(_flatten(info["params"]), ("key", "value")),
        "<h3>Packages</h3>",
        tables.html(sorted(info["packages"].items()), ("package", "version")),
        "</body></html>",
    ]
    return "\n".join(parts)


def run(args, params) -> None:
    # as params.yaml spells it: the defaults the schema fills in are not written
    info = collect(args.inputs, params.raw)
    write_text(args.json, json.dumps(info, indent=2, sort_keys=True) + "\n")
    write_text(args.html, to_html(info))
    LOG.info("wrote %s and %s: %d files checksummed, git %s", args.json, args.html,
             len(info["files"]), info["git_revision"])
