"""`jetad jets`: gather the jets of any source into one file per class (top-tagging layout).

Generated chunks, the downloaded Zenodo files and a user's own file all end here as
data/jets/qcd.h5 and data/jets/top.h5, so every later stage is the same whatever the source.
"""

from __future__ import annotations

from jetad import log
from jetad.errors import DataError

HELP = "merge generated chunks / downloaded or user files into one file per class"
LOG = log.get("jetad.jets")


def add_arguments(parser) -> None:
    parser.add_argument("--source", choices=("generate", "download", "file"), required=True)
    parser.add_argument("--in", dest="input", required=True,
                        help="folder of generated chunks or downloaded files, or the own file")
    parser.add_argument("--qcd", required=True, help="output file for QCD jets")
    parser.add_argument("--top", required=True, help="output file for top jets")


def input_files(source: str, path: str, params: dict) -> list[str]:
    """The files a source contributes: only those params name, never stray files in a folder."""
    from pathlib import Path

    if source == "generate":
        chunks = params["generate"]["chunks"]
        return [str(Path(path) / f"{p}_{c}.h5") for p in ("qcd", "top") for c in chunks]
    if source == "download":
        return [str(Path(path) / name) for name in params["download"]["files"]]
    return [path]


def run(args, params) -> None:
    from jetad.atomic import file_md5
    from jetad.data.layout import Jets, read_jets, write_jets

    args.inputs = input_files(args.source, args.input, params)
    # every file is read and checked before anything is logged or written
    parts = [read_jets(path) for path in args.inputs]
    jets = Jets.concatenate(parts)
    subsets = {}
    for name, label in (("QCD", 0), ("top", 1)):
        subsets[name] = jets.take(jets.label == label)
        if len(subsets[name]) == 0:
            raise DataError(f"{', '.join(args.inputs)}: no {name} jets in "
                            f"{'these files' if len(args.inputs) > 1 else 'the file'}")
    for path, part in zip(args.inputs, parts, strict=True):
        LOG.info("read %s: %d jets (%d QCD, %d top), md5 %s", path, len(part),
                 int((part.label == 0).sum()), int((part.label == 1).sum()), file_md5(path))
    for (name, subset), out in zip(subsets.items(), (args.qcd, args.top), strict=True):
        write_jets(out, subset)
        LOG.info("wrote %s: %d %s jets, md5 %s", out, len(subset), name, file_md5(out))
