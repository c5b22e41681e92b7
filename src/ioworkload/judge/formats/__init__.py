"""Readers of what tracers print, one module per format; each gives an Observed stream.

A reader never drops a line silently: a line it cannot read is counted in `unparsed` (with
the first few quoted), and a stream with unparsed lines is not `exact` (conformance.verdict).
A new format is one module here with a `read(text, pid, source) -> Observed` and its name in
READERS.
"""

from __future__ import annotations

from ioworkload.core.errors import UsageError
from ioworkload.judge.formats import (audit, jsonl, libbpf_tools, ltrace, perf_trace, strace,
                                      trace_cmd)
from ioworkload.judge.formats.stream import Observed

READERS = {"jsonl": jsonl.read, "strace": strace.read, "perf-trace": perf_trace.read,
           "audit": audit.read, "trace-cmd": trace_cmd.read, "ltrace": ltrace.read,
           **libbpf_tools.READERS}
FORMATS = tuple(READERS)


def read(fmt: str, text: str, pid: int | None, source: str = "observed") -> Observed:
    if fmt not in READERS:
        raise UsageError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    return READERS[fmt](text, pid, source)


__all__ = ["FORMATS", "Observed", "READERS", "read"]
