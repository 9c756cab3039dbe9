"""Plain logging: one line per fact, to stderr and (when given) to a per-rule log file.

With a log file (every Snakemake rule and DVC stage passes one), the terminal shows the stage's
own lines (loggers under `jetad`) and any error; what the libraries say about themselves goes to
the log file only: their Python loggers (TensorFlow's deprecation and retracing notes), Python
warnings (tf_keras on HDF5 saving) and whatever C/C++ code writes on stderr (TensorFlow's CUDA
probing, absl's start-up lines, graph warnings of tf.data). The log file then holds all of it, in
order. Without a log file everything goes to stderr.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import time
from pathlib import Path

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
OWN = "jetad"

# While native stderr goes to a log file: (a descriptor of the original stderr, the sys.stderr
# that Python code had before).
_native: tuple[int, object] | None = None


class _OwnLines(logging.Filter):
    """The terminal's share of the records: jetad's own, and every library's errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return (record.levelno >= logging.ERROR or record.name == OWN
                or record.name.startswith(OWN + "."))


def setup(level: str = "INFO", logfile: str | None = None) -> None:
    _native_stderr_back()
    if logfile:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        _native_stderr_to(logfile)
    terminal = logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [terminal]
    if logfile:
        terminal.addFilter(_OwnLines())
        handlers.append(logging.FileHandler(logfile, mode="a"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    # warnings become records of the "py.warnings" logger: in the log file, not on the terminal
    logging.captureWarnings(bool(logfile))
    # numexpr (under pandas) announces its thread count at INFO on the root logger when
    # imported after this setup: not a fact of the run, and a second line beside an error
    logging.getLogger("numexpr").setLevel(logging.WARNING)
    # tf.data reports each epoch's "Sharding callback duration" through absl at INFO
    logging.getLogger("absl").setLevel(logging.WARNING)


def get(name: str) -> logging.Logger:
    return logging.getLogger(name)


def _native_stderr_to(logfile: str) -> None:
    """Point file descriptor 2 (what C/C++ code and child processes write to) at `logfile` and
    give Python's sys.stderr a descriptor of the original stderr, for the rest of the process.

    TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL (absl prints them before its
    logging is initialised) and tf.data's graph warnings come at any time, so a redirection around
    the import would not catch them all. Only when sys.stderr is this process's own descriptor 2:
    a caller that redirected sys.stderr (a test running the CLI in-process) keeps its streams."""
    global _native
    stream = sys.stderr
    if stream is None or stream is not sys.__stderr__:
        return
    try:
        if stream.fileno() != 2:
            return
    except (AttributeError, OSError, ValueError):
        return
    stream.flush()
    original = os.dup(2)
    target = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        os.dup2(target, 2)
    finally:
        os.close(target)
    # unbuffered like stderr, so tqdm's bars and tracebacks appear at once
    sys.stderr = io.TextIOWrapper(io.FileIO(original, "w"), encoding=stream.encoding,
                                  errors="backslashreplace", line_buffering=True,
                                  write_through=True)
    _native = (original, stream)


def _native_stderr_back() -> None:
    """Undo `_native_stderr_to` (a second setup in the same process starts from the original)."""
    global _native
    if _native is None:
        return
    original, stream = _native
    _native = None
    sys.stderr.flush()
    os.dup2(original, 2)
    sys.stderr.close()  # closes `original`
    sys.stderr = stream


@contextlib.contextmanager
def native_stdout_to_stderr():
    """Inside: what C/C++ code prints on stdout goes to stderr (the log file under a log file).

    For a library's banner: printed once per process in the middle of a stage's lines."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class Progress:
    """A log line at least every `every` seconds on long work: items done, share, rate.

    Log lines rather than a bar, so the per-rule log file of a cluster job says how far a stage
    got and how fast; the last line (from `close`) gives the total and the mean rate.
    """

    def __init__(self, logger: logging.Logger, total: int, what: str = "jets",
                 every: float = 30.0, clock=None):
        self._clock = clock or time.monotonic
        self.logger, self.total, self.what, self.every = logger, int(total), what, float(every)
        self.done = 0
        self._start = self._last = self._clock()

    def update(self, n: int) -> None:
        self.done += int(n)
        now = self._clock()
        if now - self._last >= self.every:
            self._last = now
            self._line(now, "")

    def close(self) -> None:
        self._line(self._clock(), " done")

    def _line(self, now: float, tail: str) -> None:
        elapsed = max(now - self._start, 1e-9)
        share = 100.0 * self.done / self.total if self.total else 100.0
        self.logger.info("%s/%s %s (%.0f%%), %s %s/s%s", f"{self.done:,}", f"{self.total:,}",
                         self.what, share, f"{self.done / elapsed:,.0f}", self.what, tail)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
