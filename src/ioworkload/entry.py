"""The `ioworkload` command's entry point (console script and `python -m ioworkload`).

The stop signals (SIGINT, SIGTERM, SIGHUP) are caught from the first line, before the package's
heavier modules are imported, until the process ends: a signal at any moment gives a clean exit
(128 + signal, or the report's own code once the report is out), never a KeyboardInterrupt
traceback from an import, never a death that loses the report. A run installs its own handlers
on top of these (runner._StopSignals); other commands get Python's usual handling back once
they are dispatched. The process ends with os._exit after flushing, so no signal can land in
the interpreter's finalization, where the default actions are back.
"""

from __future__ import annotations

import os
import sys

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


def _flush_and_exit(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a reader that left, a full device, a closed stream
            pass
    os._exit(code)


def _stopped_before_start(signum: int) -> None:
    try:
        import signal as named
        sys.stderr.write(f"ioworkload: interrupted by {named.Signals(signum).name} before "
                         f"anything started\n")
    except (OSError, ValueError, AttributeError):
        pass
    _flush_and_exit(128 + signum)


def main() -> None:
    catch()
    argv = sys.argv[1:]
    from ioworkload import cli  # the heavy imports, now that a signal cannot interrupt them
    if not cli.runs_a_scenario(argv):
        release()
    if caught:  # before anything was made: nothing to clean up
        _stopped_before_start(caught[0])
    _flush_and_exit(cli.main(argv))
