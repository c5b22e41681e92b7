"""How wide the command's output may be: a terminal's width (or $COLUMNS) by default, every
line whole with --wide or when the output is not a terminal (a pipe, a file: grep sees all)."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap

DEFAULT_WIDTH = 80


def width(wide: bool = False) -> int | None:
    """The column budget, or None for whole lines."""
    if wide:
        return None
    if os.environ.get("COLUMNS", "").isdigit():
        return max(40, int(os.environ["COLUMNS"]))
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return max(40, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def prose_width(wide: bool = False) -> int | None:
    """For wrapped prose (notes, summaries): the terminal's width, 80 when not a terminal."""
    if wide:
        return None
    return width() or DEFAULT_WIDTH


def cut(text: str, columns: int | None) -> str:
    """One line, cut to `columns` with an ellipsis."""
    if columns is None or len(text) <= columns:
        return text
    return text[: max(0, columns - 1)] + "…"


def wrap(text: str, columns: int | None, indent: str = "", first: str | None = None) -> str:
    """`text` wrapped to `columns` (whole when None), every line after the first indented."""
    first = indent if first is None else first
    if columns is None:
        return first + text
    return textwrap.fill(text, width=columns, initial_indent=first, subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False)

