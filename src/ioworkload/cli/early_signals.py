"""The stop signals (SIGINT, SIGTERM, SIGHUP) recorded from the command's first line until a
run installs its own handlers (core.runner._StopSignals) or a command gets Python's usual
handling back: a signal at any moment gives a clean exit, never a traceback from an import."""

from __future__ import annotations

# The C module: `signal` itself imports enum, milliseconds before the handlers could be set.
import _signal as signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

caught: list[int] = []  # stop signals that arrived outside a run, first one first
_caught_here = False


def _record(signum, frame) -> None:
    caught.append(signum)


def catch() -> None:
    """Record the stop signals from now on (a nohup'd, ignored signal stays ignored)."""
    global _caught_here
    for s in STOP_SIGNALS:
        if signal.getsignal(s) is not signal.SIG_IGN:
            signal.signal(s, _record)
    _caught_here = True


def release() -> None:
    """Give the stop signals Python's usual handling back (KeyboardInterrupt, default death)."""
    for s in STOP_SIGNALS:
        if signal.getsignal(s) is _record:
            signal.signal(s, signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL)


def first_signal() -> int | None:
    """The first stop signal this command caught outside a run, if it runs under catch()."""
    return caught[0] if _caught_here and caught else None
