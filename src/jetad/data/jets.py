"""The jet files of each source and their processes (the command that gathers them into one
file per process is jetad.stages.jets).

Generated chunks, the downloaded Zenodo files and a user's own file all end as
`<out-dir>/<process>.h5`:
- source generate: one file per generated process, qcd and each of `generate.signals`
  (their chunks `<in>/<process>_<chunk>.h5`); every signal keeps is_signal_new = 1, the file
  name says which process it is;
- source download / file: qcd.h5 and top.h5, told apart by is_signal_new (the published
  layout knows only these two);
- source jetnet: one file per class of data.jetnet_classes, `<in>/<class>.hdf5` in the JetNet
  layout (jetad.data.jetnet), named by its process (g -> gluon.h5, q -> quark.h5, t -> top.h5).

Chunks generated with generate.layout jetnet are read as JetNet files too. Jets that come in
the JetNet layout keep its arrays in their jet file (group `jetnet`), for a particle-level
model.
"""

from __future__ import annotations

from pathlib import Path

from jetad.data.processes import signal_label
from jetad.errors import DataError
from jetad.params import default

# JetNet's class -> jetad's process (jetad.data.jetnet.CLASSES, whose numpy waits)
JETNET_PROCESSES = {"g": "gluon", "q": "quark", "t": "top", "w": "w", "z": "z"}


def _get(params: dict, section: str, key: str):
    # Snakemake's config is params.yaml as written: a key left out takes the schema's default
    return params[section].get(key, default(section, key))


def processes(source: str, params: dict) -> list[str]:
    """The processes whose jet files `jetad jets` writes for `source` (Snakemake asks too)."""
    if source == "generate":
        return [*_get(params, "generate", "backgrounds"), *_get(params, "generate", "signals")]
    if source == "jetnet":
        return [JETNET_PROCESSES[c] for c in _get(params, "data", "jetnet_classes")]
    return ["qcd", "top"]


def jetnet_layout(source: str, params: dict) -> bool:
    """Whether the files of `source` are in the JetNet layout (else the top-tagging one)."""
    if source == "generate":
        return _get(params, "generate", "layout") == "jetnet"
    return source == "jetnet"


def input_files(source: str, path: str, params: dict) -> list[str]:
    """The files a source contributes: only those params name, never stray files in a folder."""
    if source == "generate":
        chunks = params["generate"]["chunks"]
        return [str(Path(path) / f"{p}_{c}.h5") for p in processes(source, params)
                for c in chunks]
    if source == "download":
        return [str(Path(path) / name) for name in params["download"]["files"]]
    if source == "jetnet":
        return [str(Path(path) / f"{c}.hdf5") for c in _get(params, "data", "jetnet_classes")]
    return [path]


def file_processes(source: str, params: dict) -> list[str]:
    """The process of each of input_files' files, for the sources whose files are named by
    process (generate, jetnet)."""
    if source == "generate":
        return [p for p in processes(source, params) for _ in params["generate"]["chunks"]]
    return processes(source, params)


def by_process(source: str, paths: list[str], parts: list, params: dict) -> dict:
    """process -> its jets. Generated chunks and JetNet files are named by process and must
    carry the label of that process (0 for QCD, 1 for every signal); other sources split on
    is_signal_new."""
    # light: Snakemake asks processes() and input_files(); the layout's pandas and h5py wait
    from jetad.data.layout import Jets

    names = processes(source, params)
    if source in ("generate", "jetnet"):
        per_file = len(params["generate"]["chunks"]) if source == "generate" else 1
        grouped = {}
        for k, name in enumerate(names):
            chunk_parts = parts[k * per_file:(k + 1) * per_file]
            want = signal_label(name)
            for path, part in zip(paths[k * per_file:(k + 1) * per_file], chunk_parts,
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
