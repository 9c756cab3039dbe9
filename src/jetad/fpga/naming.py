"""Names of generated designs: hls4ml names a project's top function and files after it, and
da4ml its Verilog modules, so both routes need the same C++/Verilog identifier."""

from __future__ import annotations

import re


def project_name(name: str) -> str:
    """A C++ identifier for the project (hls4ml names its top function and files after it)."""
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return clean if clean[:1].isalpha() else f"p_{clean}"
