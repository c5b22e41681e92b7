"""A tracer's observed events against the expect document: the matching rules (matching), the
tracer presets, the observed-event formats and the verdicts of `ioworkload check`
(conformance). A tracer's own test needs only the two functions below:

    seen = ioworkload.judge.parse_strace(text)
    assert ioworkload.judge.compare(result.expected, seen, sees_exit_only=False) == []
"""

from ioworkload.judge.matching import compare, parse_strace

__all__ = ["compare", "parse_strace"]
