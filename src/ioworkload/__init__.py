"""ioworkload: named, exactly-counted Linux syscall workloads for testing and measuring
syscall tracers. `run("aio_setup_einval", iterations=10**6)` issues exactly one million
io_setup(0, &ctx) calls, each returning -EINVAL, from a Cython nogil loop."""

from ioworkload.errors import (IoworkloadError, ScenarioFailed, Unsupported, UsageError)
from ioworkload.manifest import Event, Expect, Scenario
from ioworkload.runner import Result, run
from ioworkload.spawn import Workload, spawn

__version__ = "0.1.0"


def scenarios() -> dict:
    """Every registered scenario by name."""
    from ioworkload import registry
    return registry.all_scenarios()


def check(expected, observed, lost: int = 0, sees_exit_only: bool = True):
    """Judge a tracer's observed events (dicts, or JSON lines) against an expect document:
    a Verdict with `status` (exact, lost, wrong) and every difference (conformance.py)."""
    from ioworkload import conformance
    return conformance.check(expected, observed, lost, sees_exit_only)


def describe(name: str) -> dict:
    """A scenario's manifest as plain data (setup, iteration and teardown events)."""
    from ioworkload import registry
    return registry.get(name).describe()


__all__ = ["run", "spawn", "check", "Workload", "scenarios", "describe", "Result", "Scenario", "Event", "Expect",
           "IoworkloadError", "UsageError", "Unsupported", "ScenarioFailed", "__version__"]
