"""The one door for a user's input files: a path that is missing, a directory, empty, not HDF5,
truncated or of the wrong kind becomes a DataError naming the file and what is wrong.

Stages call these checks before any heavy work, and before importing TensorFlow where they can:
TensorFlow prints its own lines on stderr at import, which would bury the one-line error. Only
the errors HDF5 readers raise for a bad file (h5py's OSError, PyTables' HDF5ExtError) are
translated; anything else is a bug and keeps its traceback.

The format-specific checks live with their formats (jetad.data.layout for jet files,
jetad.data.images for image files, jetad.analysis.scores for score files) and open files
through `open_h5` here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from jetad.errors import DataError

# Keras layer classes that carry weights and, in a QKeras model, quantizers (QConv2D, QDense...)
_WEIGHTED_SUFFIXES = ("Conv1D", "Conv2D", "Dense")
CHECKPOINT_STEMS = ("epoch-", "best-")


def _reason(exc: BaseException) -> str:
    """The useful part of an HDF5 library message, on one line: h5py says
    'Unable to synchronously open file (truncated file: eof = ...)', keep the parenthesis;
    PyTables gives HDF5's whole back trace, keep its innermost error and its own summary."""
    text = " ".join(str(exc).split())
    trace, end, tail = text.partition("End of HDF5 error back trace")
    if end:
        frames = re.findall(r'line \d+, in \w+ (.*?)(?= File "|$)', trace.strip())
        return "; ".join(p for p in (frames[-1] if frames else "", tail.strip()) if p)
    inner = re.search(r"\(([^()]*)\)\s*$", text)
    return inner.group(1) if inner else text or type(exc).__name__


def require_file(path: str | os.PathLike, kind: str = "file") -> Path:
    """The path of an existing, non-empty regular file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected {_article(kind)} {kind}")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file, expected {_article(kind)} {kind}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes), expected {_article(kind)} {kind}")
    return path


def read_text(path: str | os.PathLike, kind: str) -> str:
    """The text of an existing, non-empty text file."""
    try:
        return require_file(path, kind).read_text()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file, expected {_article(kind)} {kind}") from None


def read_json_object(path: str | os.PathLike, kind: str) -> dict:
    """A JSON file that holds an object (a dict)."""
    try:
        data = json.loads(read_text(path, kind))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg}), expected {_article(kind)} "
                        f"{kind}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: not a JSON object, expected {_article(kind)} {kind}")
    return data


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def open_h5(path: str | os.PathLike, kind: str = "HDF5 file"):
    """An h5py.File open for reading, or a DataError naming the file and what is wrong."""
    # light: the JSON and text readers here serve Snakemake too; h5py waits for the HDF5 files
    import h5py

    path = require_file(path, kind)
    if not h5py.is_hdf5(path):
        raise DataError(f"{path}: not an HDF5 file (no HDF5 signature), expected "
                        f"{_article(kind)} {kind}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:  # the signature is there but the rest is cut or damaged
        raise DataError(f"{path}: truncated or damaged HDF5 file ({_reason(exc)})") from exc


@contextlib.contextmanager
def reading(path: str | os.PathLike, rows: tuple[int, int] | None = None) -> Iterator[None]:
    """Turn a read error of the HDF5 libraries (a damaged chunk deep in a file that opened)
    into a DataError naming the file (and the rows read, start to stop, when given)."""
    try:
        yield
    except (OSError, *_pytables_errors()) as exc:
        where = f" in rows {rows[0]} to {rows[1] - 1}" if rows else ""
        raise DataError(f"{path}: damaged HDF5 file, reading failed ({_reason(exc)}){where}"
                        ) from exc


def _pytables_errors() -> tuple[type[BaseException], ...]:
    """PyTables' HDF5 error class, when PyTables is loaded (pandas loads it to read a table);
    importing it here only to name the class would cost every command a tenth of a second."""
    tables = sys.modules.get("tables")
    return (tables.HDF5ExtError,) if tables is not None else ()


# -- model directories (jetad.models.jointvae.save_model) ----------------------------------


def read_model_meta(path: str | os.PathLike, architecture: str) -> dict:
    """config.json of a jetad model directory of `architecture`, with its weights files checked
    to be readable HDF5, all without TensorFlow."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such model directory")
    if not path.is_dir():
        raise DataError(f"{path}: not a directory; a jetad model is a directory with "
                        "config.json and weights files")
    meta = _model_meta(path)
    if meta is None:
        raise DataError(f"{path}: not a jetad model directory (no config.json)")
    if "architecture" not in meta:
        raise DataError(f"{path}/config.json: names no architecture, expected '{architecture}'")
    if meta["architecture"] != architecture:
        raise DataError(
            f"{path}: holds a '{meta['architecture']}' model, expected '{architecture}'"
        )
    parts = meta.get("parts")
    if not isinstance(parts, list) or not isinstance(meta.get("config"), dict):
        raise DataError(f"{path}/config.json: no 'parts' list or 'config' of the model")
    for name in parts:
        open_h5(path / f"{name}.weights.h5", f"weights file of the {name}").close()
    return meta


def _model_meta(path: Path) -> dict | None:
    """config.json of a model directory, None when there is none."""
    meta_file = path / "config.json"
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{meta_file}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise DataError(f"{meta_file}: not a model description (a JSON object)")
    return meta


def check_checkpoint_dir(path: str | os.PathLike) -> None:
    """A training checkpoint directory must be absent, empty or hold only checkpoints:
    `jetad train` deletes it when done, so a model or anything else there is refused."""
    path = Path(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise DataError(f"{path}: not a directory; the checkpoint directory holds "
                        "state.json and epoch checkpoints")
    meta = _model_meta(path)
    if meta is not None:
        raise DataError(f"{path}: holds a '{meta.get('architecture')}' model, not training "
                        "checkpoints (jetad train deletes its checkpoint directory when done)")
    stray = sorted(p.name for p in path.iterdir()
                   if p.name != "state.json" and not p.name.startswith(CHECKPOINT_STEMS)
                   and not p.name.startswith(".state.json."))
    if stray:
        raise DataError(f"{path}: not a training checkpoint directory (holds "
                        f"{', '.join(stray[:5])}{' ...' if len(stray) > 5 else ''}); "
                        "jetad train deletes its checkpoint directory when done")


# -- Keras model files (jetad qat: qencoder.h5) ---------------------------------------------


def keras_model_config(path: str | os.PathLike, kind: str = "Keras model file") -> dict:
    """The model_config of a Keras HDF5 model file, read with h5py (no TensorFlow)."""
    path = Path(path)
    if path.is_dir():
        meta = _model_meta(path)
        if meta is not None:
            raise DataError(f"{path}: a jetad '{meta.get('architecture')}' model directory, "
                            f"expected {_article(kind)} {kind}")
    with open_h5(path, kind) as f, reading(path):
        raw = f.attrs.get("model_config")
    if raw is None:
        raise DataError(f"{path}: not a Keras model file (no model_config), expected "
                        f"{_article(kind)} {kind}")
    try:
        config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        layers = config["config"]["layers"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: unreadable Keras model_config ({exc})") from exc
    if not isinstance(layers, list) or not layers:
        raise DataError(f"{path}: Keras model_config without layers")
    return config


def check_quantized_encoder(path: str | os.PathLike) -> tuple[int, ...]:
    """The input shape (without batch) of a QKeras encoder file; a float model is refused."""
    kind = "QKeras encoder file (jetad qat: qencoder.h5)"
    config = keras_model_config(path, kind)
    layers = config["config"]["layers"]
    weighted = [lyr for lyr in layers if str(lyr.get("class_name")).endswith(_WEIGHTED_SUFFIXES)]
    if not weighted or not all(lyr.get("config", {}).get("kernel_quantizer") for lyr in weighted):
        raise DataError(f"{path}: a float model, not quantized (its conv/dense layers have no "
                        "QKeras quantizers); convert the QAT encoder of jetad qat (qencoder.h5), "
                        "not the float one")
    first = layers[0].get("config", {})
    shape = first.get("batch_input_shape") or first.get("batch_shape")
    if layers[0].get("class_name") != "InputLayer" or not shape or len(shape) != 4:
        raise DataError(f"{path}: the model's input is not an image (N, h, w, 1): "
                        f"{layers[0].get('class_name')} {shape}")
    return tuple(int(d) for d in shape[1:])
