"""Stop signals held back while a child process is started or cleaned up (the study and the
eBPF statistics share it)."""

from __future__ import annotations

import contextlib
import signal
import threading

from ioworkload.core.runner import STOP_SIGNALS


@contextlib.contextmanager
def signals_deferred():
    """Hold back the stop signals while a child is started or cleaned up, so a Ctrl-C can neither
    lose a child between fork and bookkeeping nor cut a cleanup short; the signal is raised
    again afterwards. (Handlers, not a blocked mask: children must not inherit a mask.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old = {}
    for sig in STOP_SIGNALS:
        prev = signal.getsignal(sig)
        if prev is not None:
            old[sig] = signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for sig, prev in old.items():
            signal.signal(sig, prev)
        if caught:
            signal.raise_signal(caught[0])
