"""Atomic file writes: outputs appear complete or not at all, so a killed job never leaves
a half-written file that Snakemake, DVC or a later stage would take as done."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Marks every temporary name, so that .dvcignore can hide the ones a SIGKILL leaves behind
# inside a DVC-tracked folder (DVC would otherwise count them as part of the output).
TMP_MARK = "jetad-tmp"

# Every output this process has put in place, in order: a command that fails after some of its
# outputs landed removes them (`discard_written`, called by jetad.cli), so a failed stage leaves
# none of its outputs behind for an engine or a later stage to take as done.
_written: list[Path] = []
# Folders made on the way to them, removed after them when empty (never with their contents: a
# parallel job may be writing into the same new folder).
_made: list[Path] = []


def _make_parent(path: Path) -> None:
    missing = [p for p in path.parents if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    _made.extend(reversed(missing))


def make_dir(path: str | os.PathLike) -> Path:
    """mkdir -p for an output folder whose files are then written one by one: the folders it
    makes are removed, when empty, if the command fails."""
    path = Path(path)
    _make_parent(path / "_")
    return path


def written() -> list[Path]:
    return list(_written)


def claim(path: str | os.PathLike) -> None:
    """An output built in place rather than renamed into place (a folder of hls4ml projects
    whose files name their own folder): removed like the others if the command fails."""
    _written.append(Path(path))


def forget_written() -> None:
    """Start a new record: a command run in a process that ran others before (tests, a
    notebook) removes only its own outputs when it fails."""
    _written.clear()
    _made.clear()


def discard_written() -> list[Path]:
    """Remove every output this process has written (files and directories), then the folders
    it made for them if they are empty; returns the outputs removed."""
    gone = []
    while _written:
        path = _written.pop()
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        gone.append(path)
    while _made:
        with contextlib.suppress(OSError):  # not empty: another output lives there
            _made.pop().rmdir()
    return gone


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it onto `path` on success.

    The temporary lives in the same directory so the final rename is atomic on POSIX, and
    its unique name means two parallel jobs never write the same file.
    """
    path = Path(path)
    _make_parent(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{TMP_MARK}.", suffix=suffix or ".tmp", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; outputs should get the usual permissions of a new file
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
        _written.append(path)
    except Exception as exc:
        if disk_full(exc):
            raise no_space(path) from exc
        raise
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def disk_full(exc: BaseException) -> bool:
    """Whether a write failed for want of space: an OSError of errno ENOSPC, or an HDF5
    library's error (h5py's OSError, PyTables' HDF5ExtError) that quotes it."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc)
    return f"errno = {errno.ENOSPC}," in text or os.strerror(errno.ENOSPC) in text


def no_space(path: str | os.PathLike) -> OSError:
    """The one-line error of an output that did not fit (the HDF5 libraries' own message
    runs over lines and names the temporary file)."""
    free = shutil.disk_usage(Path(path).parent).free
    return OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({free:,} bytes free)",
                   str(path))


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside `path`; on success it replaces `path`.

    A directory cannot be renamed over a non-empty one, so an old `path` is first moved aside
    under a unique name and deleted after the swap: `path` is never seen half-written.
    """
    path = Path(path)
    _make_parent(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{TMP_MARK}.", dir=path.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide the result from other users
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.{TMP_MARK}.old.", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
        _written.append(path)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def file_md5(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def create_h5(path: str | os.PathLike):
    """A new HDF5 file (h5py) with no time stamps on any object, the root group included,
    so identical contents give identical bytes. Pair it with atomic_path."""
    # light: the pipeline's writers use this module too; h5py waits for the stages that write HDF5
    import h5py

    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fid = h5py.h5f.create(str(path).encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
    return h5py.File(fid)


def create_h5_group(parent, name: str):
    """A group without time stamps (h5py's create_group always records them) that keeps its
    members in creation order."""
    # light: as in create_h5
    import h5py

    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    gcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
    h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl)
    return parent[name]

