"""ioworkload: named, exactly-counted Linux syscall workloads for testing and measuring
syscall tracers. `run("aio_setup_einval", iterations=10**6)` issues exactly one million
io_setup(0, &ctx) calls, each returning -EINVAL, from a Cython nogil loop."""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Imported on first use: the command's entry point (cli/entry.py) catches its stop signals before
# anything else loads, so importing the package itself runs no import at all.
_LAZY = {"IoworkloadError": "core.errors", "ScenarioFailed": "core.errors",
         "Unsupported": "core.errors", "UsageError": "core.errors", "Event": "core.manifest",
         "Expect": "core.manifest", "Scenario": "core.manifest", "Result": "core.runner",
         "run": "core.runner", "Workload": "core.workload", "spawn": "core.workload"}

TYPE_CHECKING = False  # typing itself costs ~5 ms of imports (re, enum) before the handlers
if TYPE_CHECKING:
    from ioworkload.core.errors import IoworkloadError, ScenarioFailed, Unsupported, UsageError
    from ioworkload.core.manifest import Event, Expect, Scenario
    from ioworkload.core.runner import Result, run
    from ioworkload.core.workload import Workload, spawn


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"ioworkload.{_LAZY[name]}"), name)
    elif not name.startswith("__"):
        try:  # the sub-packages (ioworkload.core, .judge, ...), as after an eager import
            value = importlib.import_module(f"ioworkload.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"ioworkload.{name}":
                raise
            raise AttributeError(f"module 'ioworkload' has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module 'ioworkload' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def scenarios() -> dict:
    """Every registered scenario by name."""
    from ioworkload.core import registry
    return registry.all_scenarios()


def check(expected, observed, lost: int = 0, sees_exit_only: bool = True):
    """Judge a tracer's observed events (dicts, or JSON lines) against an expect document:
    a Verdict with `status` (exact, lost, wrong) and every difference (judge/conformance.py)."""
    from ioworkload.judge import conformance
    return conformance.check(expected, observed, lost, sees_exit_only)


def describe(name: str) -> dict:
    """A scenario's manifest as plain data (setup, iteration and teardown events)."""
    from ioworkload.core import registry
    return registry.get(name).describe()


__all__ = ["run", "spawn", "check", "Workload", "scenarios", "describe", "Result", "Scenario", "Event", "Expect",
           "IoworkloadError", "UsageError", "Unsupported", "ScenarioFailed", "__version__"]
