"""A tracer's observed events against the expect document: the matching rules (matching), what
a tracer claims to report (capabilities), the presets (tracers/), the formats (formats/) and the
verdicts of `ioworkload check` (conformance). A tracer's own test needs one call:

    v = ioworkload.judge.trace("open_basic", "mytool --pid {pid}", reports="returns,args,order")
    assert v.status == "exact", v.differences

or, with a stream it recorded itself, the matching rules:

    seen = ioworkload.judge.parse_strace(text)
    assert ioworkload.judge.compare(result.expected, seen, sees_exit_only=False) == []
"""

from ioworkload.judge.formats.strace import parse_strace
from ioworkload.judge.matching import compare


def trace(scenario: str, tracer, **options):
    """Judge `tracer` (a preset, a tracer file or a template) on `scenario`: conformance.trace."""
    from ioworkload.judge.conformance import trace as run
    return run(scenario, tracer, **options)


__all__ = ["compare", "parse_strace", "trace"]
