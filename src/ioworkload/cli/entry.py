"""The `ioworkload` command's entry point (console script and `python -m ioworkload`).

The stop signals (SIGINT, SIGTERM, SIGHUP) are caught from the first line, before the package's
heavier modules are imported, until the process ends: a signal at any moment gives a clean exit
(128 + signal, or the report's own code once the report is out), never a KeyboardInterrupt
traceback from an import, never a death that loses the report. A run installs its own handlers
on top of these (core.runner._StopSignals); other commands get Python's usual handling back once
they are dispatched. The process ends with os._exit after flushing, so no signal can land in
the interpreter's finalization, where the default actions are back.
"""

from __future__ import annotations

import os
import sys

from ioworkload.cli.early_signals import caught, catch, release


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
    from ioworkload.cli import main as cli  # the heavy imports, now that a signal cannot interrupt them
    if not cli.runs_a_scenario(argv):
        release()
    if caught:  # before anything was made: nothing to clean up
        _stopped_before_start(caught[0])
    _flush_and_exit(cli.main(argv))
