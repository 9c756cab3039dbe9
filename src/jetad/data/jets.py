"""The jet files of each source and their processes (the command that gathers them into one
file per process is jetad.stages.jets).

Generated chunks, the downloaded Zenodo files and a user's own file all end as
`<out-dir>/<process>.h5`:
- source generate: one file per generated process, qcd and each of `generate.signals`
  (their chunks `<in>/<process>_<chunk>.h5`); every signal keeps is_signal_new = 1, the file
  name says which process it is;
- source download / file: qcd.h5 and top.h5, told apart by is_signal_new (the published
  layout knows only these two).
"""

from __future__ import annotations

from pathlib import Path

from jetad.errors import DataError
from jetad.params import default


def processes(source: str, params: dict) -> list[str]:
    """The processes whose jet files `jetad jets` writes for `source` (Snakemake asks too)."""
    if source == "generate":
        # Snakemake's config is params.yaml as written: a key left out takes the schema's default
        return ["qcd", *params["generate"].get("signals", default("generate", "signals"))]
    return ["qcd", "top"]


def input_files(source: str, path: str, params: dict) -> list[str]:
    """The files a source contributes: only those params name, never stray files in a folder."""
    if source == "generate":
        chunks = params["generate"]["chunks"]
        return [str(Path(path) / f"{p}_{c}.h5") for p in processes(source, params)
                for c in chunks]
    if source == "download":
        return [str(Path(path) / name) for name in params["download"]["files"]]
    return [path]


def by_process(source: str, paths: list[str], parts: list, params: dict) -> dict:
    """process -> its jets. Generated chunks are named by process and must carry the label of
    that process (0 for QCD, 1 for every signal); other sources split on is_signal_new."""
    # light: Snakemake asks processes() and input_files(); the layout's pandas and h5py wait
    from jetad.data.layout import Jets

    names = processes(source, params)
    if source == "generate":
        per_chunk = len(params["generate"]["chunks"])
        grouped = {}
        for k, name in enumerate(names):
            chunk_parts = parts[k * per_chunk:(k + 1) * per_chunk]
            want = 0 if name == "qcd" else 1
            for path, part in zip(paths[k * per_chunk:(k + 1) * per_chunk], chunk_parts,
                                  strict=True):
                if (part.label != want).any():
                    raise DataError(f"{path}: is_signal_new must be {want} in a {name} chunk")
            grouped[name] = Jets.concatenate(chunk_parts)
        return grouped
    jets = Jets.concatenate(parts)
    grouped = {name: jets.take(jets.label == label) for label, name in enumerate(names)}
    for name, subset in grouped.items():
        if len(subset) == 0:
            raise DataError(f"{', '.join(paths)}: no {name} jets in "
                            f"{'these files' if len(paths) > 1 else 'the file'}")
    return grouped
