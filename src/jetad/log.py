"""Plain logging: one line per fact, to stderr and (when given) to a per-rule log file."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def setup(level: str = "INFO", logfile: str | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile:
        from pathlib import Path

        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="a"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)


def get(name: str) -> logging.Logger:
    return logging.getLogger(name)
