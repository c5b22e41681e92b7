"""What the tracer session programs (audit.py, ftrace.py) share: they run until SIGINT,
SIGTERM or SIGHUP, and then put back what they changed without being cut short."""

from __future__ import annotations

import signal
import sys

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop(Exception):
    """A stop signal arrived."""


def _raise_stop(signum, frame):
    raise Stop()


def stop_on_signals() -> None:
    for sig in SIGNALS:
        signal.signal(sig, _raise_stop)


def ignore_signals() -> None:
    """From here on the program finishes what it does (its restore) whatever arrives."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def run(name: str, body, errors: tuple) -> int:
    """A session program's exit status: body()'s, 130 when a stop signal came before it was
    under way, 1 (and one line naming the program) for one of `errors`."""
    stop_on_signals()
    try:
        return body()
    except Stop:
        return 130
    except errors as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 1


def listed(text: str) -> list[str] | None:
    """A comma list's items; None for none."""
    return [w for w in text.split(",") if w] or None
