"""What a reader gives: the events, the loss the tracer reported, the lines it could not read."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Observed:
    events: list = field(default_factory=list)
    lost: int = 0  # events the tracer itself says it dropped
    unparsed: list = field(default_factory=list)  # lines no rule of the reader could read
    set_aside: int = 0  # a launching tracer's events that were not the run's (matching.launched)
    text: str = ""  # what the tracer printed, as it was read (a test doctors a copy)
