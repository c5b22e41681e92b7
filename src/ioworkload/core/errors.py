"""The error types, the exit codes they map to, and errno -> OSError in one place."""

from __future__ import annotations

import errno as _errno
import os

EXIT_OK = 0
EXIT_FAILED = 1        # the scenario failed or did not issue what its manifest says
EXIT_USAGE = 2
EXIT_UNSUPPORTED = 77  # the automake/ctest "skipped" convention
# a signal that stops a run exits 128 + its number: SIGINT 130, SIGTERM 143, SIGHUP 129


class IoworkloadError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = EXIT_FAILED


class UsageError(IoworkloadError, ValueError):
    """Bad input: unknown scenario, bad number, bad flag combination."""

    exit_code = EXIT_USAGE


class Unsupported(IoworkloadError):
    """This host cannot run the scenario (privilege, kernel feature, missing program)."""

    exit_code = EXIT_UNSUPPORTED


class ScenarioFailed(IoworkloadError):
    """The scenario ran but failed, or issued something its manifest does not declare."""

    exit_code = EXIT_FAILED


class PrestartFailed(ScenarioFailed):
    """ior mode: a prestart hook failed before the PID line; the message is ior's whole line,
    `scenario <name> prestart failed: <why>`."""


class Interrupted(IoworkloadError):
    """SIGINT/SIGTERM/SIGHUP arrived before the run started (during the start wait)."""

    def __init__(self, signum: int):
        import signal
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum


SHOWN_CHARS = 80  # the longest value a message echoes whole


def shown(value) -> str:
    """repr(value) for a one-line message, cut to SHOWN_CHARS with an ellipsis and the length:
    a 100,000-character argument must not become a 100,000-character error."""
    r = repr(value)
    if len(r) <= SHOWN_CHARS:
        return r
    return f"{r[:SHOWN_CHARS - 3]}... ({len(str(value))} characters)"


def cap_words(message: str, limit: int = SHOWN_CHARS) -> str:
    """`message` with every word longer than `limit` cut to SHOWN_CHARS with an ellipsis and
    its length (argparse's own messages; with a larger limit, the last line of defence before
    any error is printed, which leaves a shown() value with a short prefix alone)."""
    if len(message) <= limit:
        return message
    return " ".join(w if len(w) <= limit else
                    f"{w[:SHOWN_CHARS - 3]}... ({len(w)} characters)"
                    for w in message.split(" "))


# The kernel's restart codes: a syscall interrupted by a signal returns one of these (a sys_exit
# tracepoint and strace see it); user space never does (it sees the restarted call, or EINTR).
KERNEL_ONLY = {"ERESTARTSYS": 512, "ERESTARTNOINTR": 513, "ERESTARTNOHAND": 514,
               "ERESTART_RESTARTBLOCK": 516}
_KERNEL_ONLY_NAMES = {v: k for k, v in KERNEL_ONLY.items()}


def errno_name(e: int) -> str:
    """'EINVAL' for 22, 'ERESTARTSYS' for 512; 'E<n>' for numbers without a name."""
    return _errno.errorcode.get(e) or _KERNEL_ONLY_NAMES.get(e, f"E{e}")


def errno_value(name: str) -> int:
    if name in KERNEL_ONLY:
        return KERNEL_ONLY[name]
    value = getattr(_errno, name, None)
    if not isinstance(value, int) or not name.startswith("E"):
        raise ValueError(f"unknown errno name {name!r}")
    return value


def os_error(e: int, what: str) -> OSError:
    """OSError for errno e; Python picks the subclass (FileNotFoundError, PermissionError...)."""
    return OSError(e, f"{what}: {os.strerror(e)}")
