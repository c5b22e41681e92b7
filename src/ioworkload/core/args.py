"""The command-line values every command shares: counts (1e6), seconds, threads, CPU lists,
and an argparse whose usage error is one line. Used by cli, runner and overhead, which
import it and nothing of each other for it."""

from __future__ import annotations

import argparse
import math
import os
import re
from decimal import Decimal

from ioworkload.core.errors import UsageError, cap_words, shown

MAX_THREADS = 1024
U64_MAX = 2**64 - 1


# ASCII digits, "_" only between digits (as in Python literals), optional fraction and exponent
_DIGITS = r"\d+(?:_\d+)*"
_NUMBER = re.compile(rf"[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?\d+)?",
                     re.ASCII)


def parse_count(text, what: str = "iterations", minimum: int = 1, maximum: int = U64_MAX) -> int:
    """An exact integer count: 1000000, 1_000_000 or 1e6 (not 1.5, negatives, > maximum)."""
    too_big = (f"{what} must fit in 64 bits (at most {U64_MAX})" if maximum == U64_MAX
               else f"{what} must be at most {maximum}") + f", not {shown(text)}"
    if isinstance(text, bool):
        raise UsageError(f"{what} must be an integer")
    if isinstance(text, int):
        value = text
    else:
        s = str(text).strip()
        if not _NUMBER.fullmatch(s):
            raise UsageError(f"{what} must be an integer like 1000, 1_000 or 1e3, not {shown(text)}")
        d = Decimal(s.replace("_", ""))
        if d.is_zero():
            d = Decimal(0)  # 0e999999999 is 0 (its exponent says nothing about the size)
        if d.adjusted() > 20:  # before int(): 1e999999999 would take forever to expand
            raise UsageError(too_big)
        if d != d.to_integral_value():
            raise UsageError(f"{what} must be a whole number, not {shown(text)}")
        value = int(d)
    if value < minimum:
        raise UsageError(f"{what} must be at least {minimum}, not {shown(text)}")
    if value > maximum:
        raise UsageError(too_big)
    return value


def parse_seconds(text, what: str = "duration", allow_zero: bool = False) -> float:
    s = str(text).strip()
    if not (isinstance(text, (int, float)) and not isinstance(text, bool) or _NUMBER.fullmatch(s)
            or s.lower().lstrip("+-") in ("inf", "infinity", "nan")):
        raise UsageError(f"{what} must be a number of seconds, not {shown(text)}")
    value = float(s.replace("_", ""))
    if _NUMBER.fullmatch(s) and not math.isfinite(value) and not s.startswith("-"):
        raise UsageError(f"{what} is too long: {shown(text)}")  # a 100,000-digit number
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise UsageError(f"{what} must be a {kind} number of seconds, not {shown(text)}")
    if value > 10**9:
        raise UsageError(f"{what} is too long: {shown(text)}")
    if value and value < 1e-9 and not allow_zero:  # would run for 0 ns: no iteration at all
        raise UsageError(f"{what} must be at least 1e-9 seconds (one nanosecond), not {shown(text)}")
    return value


MAX_RATE = 1e9  # one iteration a nanosecond: the pacing clock's resolution
MIN_RATE = 1e-9  # one iteration in ~32 years: the period, in ns, still fits in 64 bits


def parse_rate(text, what: str = "rate") -> float:
    """Iterations per second for a paced run: a number from 1e-9 up to 1e9 (1000, 2.5e4)."""
    s = str(text).strip()
    if isinstance(text, bool) or not (isinstance(text, (int, float)) or _NUMBER.fullmatch(s)):
        raise UsageError(f"{what} must be a number of iterations per second, not {shown(text)}")
    value = float(s.replace("_", ""))
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{what} must be a positive number of iterations per second, "
                         f"not {shown(text)}")
    if value > MAX_RATE:
        raise UsageError(f"{what} must be at most {MAX_RATE:g} iterations per second, "
                         f"not {shown(text)}")
    if value < MIN_RATE:  # a longer period overflows the pacing clock: it would run unpaced
        raise UsageError(f"{what} must be at least {MIN_RATE:g} iterations per second, "
                         f"not {shown(text)}")
    return value


TIMEOUT_SCALE_ENV = "IOWORKLOAD_TIMEOUT_SCALE"


def timeout_scale(text=None, what: str = TIMEOUT_SCALE_ENV) -> float:
    """How much longer than on the host the tracers' ready, settle and drain waits should be:
    `text`, else $IOWORKLOAD_TIMEOUT_SCALE, else 1 (a slow guest, e.g. under software
    emulation, sets it: `ioworkload kernels` does)."""
    if text is None:
        text = os.environ.get(TIMEOUT_SCALE_ENV) or "1"
    s = str(text).strip()
    value = float(s) if _NUMBER.fullmatch(s) else math.nan
    if not math.isfinite(value) or not 0 < value <= 1000:
        raise UsageError(f"{what} must be a factor from 0 to 1000 like 10 or 2.5, not {text!r}")
    return value


def parse_threads(text) -> int:
    """A thread count from 1 to MAX_THREADS."""
    return parse_count(text, "threads", maximum=MAX_THREADS)


def parse_cpus(text: str, option: str = "--cpu") -> set[int]:
    """A CPU list (1, 0,2 or 0-3), every CPU one this process may use."""
    allowed = os.sched_getaffinity(0)
    unavailable = UsageError(f"{option} {text}: CPUs available here are "
                             f"{','.join(map(str, sorted(allowed)))}")
    cpus: set[int] = set()
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        if not (lo.isascii() and lo.isdigit() and (not dash or hi.isascii() and hi.isdigit())):
            raise UsageError(f"{option} takes a CPU list like 1, 0,2 or 0-3, not {shown(text)}")
        lo, hi = int(lo), int(hi) if dash else int(lo)
        if lo > hi:
            raise UsageError(f"{option} {text}: the range {lo}-{hi} is empty (write it low-high)")
        if hi > max(allowed):  # checked before the range is built: 0-999999999
            raise unavailable
        cpus.update(range(lo, hi + 1))
    if not cpus <= allowed:
        raise unavailable
    return cpus


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2), never a usage dump."""

    def error(self, message):
        raise UsageError(cap_words(message))


def format_seconds(seconds: float) -> str:
    """'45 s', '12 min', '1.5 h': a duration people read (estimates, warnings)."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
