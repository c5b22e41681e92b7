"""What a reader gives: the events, the loss the tracer reported, the lines it could not read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Observed:
    events: list = field(default_factory=list)
    lost: int = 0  # events the tracer itself says it dropped
    unparsed: list = field(default_factory=list)  # lines no rule of the reader could read
    set_aside: int = 0  # a launching tracer's events that were not the run's (matching.launched)
    text: str = ""  # what the tracer printed, as it was read (a test doctors a copy)


_LOST = re.compile(r"lost (\d+)(?: events)?")


def lines(text: str, out: Observed, note: re.Pattern):
    """(line, stripped) of each line that is not blank, not one of the tool's notes, and not
    the loss a session program reports last (`lost N [events]`: added to out.lost)."""
    for line in text.splitlines():
        s = line.strip()
        if not s or note.match(s):
            continue
        m = _LOST.fullmatch(s)
        if m:
            out.lost += int(m[1])
            continue
        yield line, s
