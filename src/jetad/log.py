"""Plain logging: one line per fact, to stderr and (when given) to a per-rule log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def setup(level: str = "INFO", logfile: str | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="a"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    # numexpr (under pandas) announces its thread count at INFO on the root logger when
    # imported after this setup: not a fact of the run, and a second line beside an error
    logging.getLogger("numexpr").setLevel(logging.WARNING)


def get(name: str) -> logging.Logger:
    return logging.getLogger(name)
