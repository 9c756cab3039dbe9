"""Every markdown table of the reports, and the HTML table of the provenance page, through
pandas (DataFrame.to_markdown, which calls tabulate, and DataFrame.to_html).

Two markdown layouts, each the one its reports have always had, so that no committed report is
rewritten for whitespace alone:
- `markdown`: `| a | b |` under a `|---|` rule, with no padding to the column width (tabulate's
  own pipe and github formats pad every cell and align numbers); cells are written as given
  (no number parsing): the callers format their numbers.
- `aligned`: pandas' own to_markdown (tabulate's pipe format: cells padded to the column
  width, numbers aligned), the layout of the design, DSE, evaluation-summary and distillation
  tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from tabulate import DataRow, TableFormat

if TYPE_CHECKING:
    import pandas as pd

MARKDOWN = TableFormat(
    lineabove=None,
    linebelowheader=lambda widths, _aligns: "|" + "|".join("---" for _ in widths) + "|",
    linebetweenrows=None, linebelow=None,
    headerrow=DataRow("|", "|", "|"), datarow=DataRow("|", "|", "|"),
    padding=1, with_header_hide=None,
)


def markdown(rows: Iterable[Sequence], columns: Sequence[str]) -> str:
    """A markdown table (no trailing newline) of `rows`, one sequence of cells per row; each
    cell is written as str() writes it."""
    # heavy: pandas (half a second) only when a report is written
    import pandas as pd

    df = pd.DataFrame([[str(c) for c in row] for row in rows], columns=list(columns),
                      dtype=object)
    unaligned = [None] * len(columns)
    return df.to_markdown(index=False, tablefmt=MARKDOWN, colalign=unaligned,
                          headersalign=unaligned, disable_numparse=True)


def aligned(frame: pd.DataFrame) -> str:
    """The markdown table (no trailing newline) of `frame`'s columns and rows, in pandas'
    to_markdown layout (no index column)."""
    return frame.to_markdown(index=False)


def html(rows: Iterable[Sequence], columns: Sequence[str]) -> str:
    """An HTML table of `rows` (cells escaped), for the provenance page."""
    # heavy: pandas, as in markdown()
    import pandas as pd

    df = pd.DataFrame(list(rows), columns=list(columns), dtype=object)
    return df.to_html(index=False, escape=True, border=1, na_rep="")
