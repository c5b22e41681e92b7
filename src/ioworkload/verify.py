"""Kernel-witnessed verification: tracepoint counters compared with the manifest.

For each worker thread we count, between the start line and the worker's release:
  * raw_syscalls:sys_enter             every syscall the thread entered (purity: nothing extra)
  * syscalls:sys_enter_<name>          each declared syscall
  * syscalls:sys_exit_<name>           each declared syscall's exits, unfiltered
  * syscalls:sys_exit_<name> + filter  one per distinct expected result (`ret == -22`, ...)
Counters are opened disabled, enabled while the worker is parked and read after it is parked
again, so verification adds no syscall to the counted stream.
"""

from __future__ import annotations

import errno
import os
import re

from ioworkload.errors import Unsupported
from ioworkload.manifest import Expect, Scenario

# Syscalls whose tracepoint carries another name (x86-64 and aarch64 spell these alike).
TRACEPOINT_NAMES = {
    "stat": "newstat",
    "lstat": "newlstat",
    "fstat": "newfstat",
    "sendfile": "sendfile64",
    "uname": "newuname",
    "umount2": "umount",
}

_UNNAMED = re.compile(r"^syscall_(\d+)$")  # a bare number (e.g. the unassigned 1023)


def tracefs_root() -> str:
    for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if os.path.isdir(os.path.join(root, "events")):
            return root
    raise Unsupported("tracefs is not mounted (as root: mount -t tracefs nodev /sys/kernel/tracing)")


def tracepoint_id(category: str, event: str) -> int:
    path = os.path.join(tracefs_root(), "events", category, event, "id")
    try:
        with open(path) as f:
            return int(f.read())
    except FileNotFoundError:
        raise Unsupported(f"the kernel has no tracepoint {category}:{event}") from None
    except PermissionError:
        raise Unsupported(f"cannot read {path}: permission denied (run as root)") from None


class Counter:
    """One tracepoint counter per worker, with what the manifest says it should count:
    expected[phase] = (lo, hi) per pass of the phase; for one worker that is
    setup + iterations x iteration + teardown."""

    def __init__(self, label: str, category: str, event: str, filter: str | None):
        self.label = label        # e.g. "io_setup: returned -EINVAL"
        self.category = category
        self.event = event
        self.tracepoint_id = tracepoint_id(category, event)  # Unsupported if the kernel lacks it
        self.filter = filter
        self.expected: dict = {}
        self.fds: list = []       # one per worker
        self.counts: list = []

    def bounds(self, iterations: int) -> tuple[int, int]:
        lo = hi = 0
        for phase, times in (("setup", 1), ("iteration", iterations), ("teardown", 1)):
            plo, phi = self.expected.get(phase, (0, 0))
            lo += plo * times
            hi += phi * times
        return lo, hi


def _events_of(sc: Scenario):
    for phase in ("setup", "iteration", "teardown"):
        for ev in getattr(sc, phase):
            yield phase, ev


def _tracepoint(syscall: str, direction: str) -> tuple[str, str, str | None]:
    """(category, event, extra filter) for the enter/exit tracepoint of `syscall`."""
    m = _UNNAMED.match(syscall)
    if m:
        return "raw_syscalls", f"sys_{direction}", f"id == {m[1]}"
    return "syscalls", f"sys_{direction}_{TRACEPOINT_NAMES.get(syscall, syscall)}", None


def _join(*filters):
    parts = [f for f in filters if f]
    return " && ".join(f"({p})" for p in parts) if len(parts) > 1 else (parts[0] if parts else None)


def plan(sc: Scenario) -> list[Counter]:
    """The counters that witness scenario `sc` (tracepoint ids checked, nothing opened)."""
    counters: list[Counter] = []

    def add(category, event, flt, label, contributes):
        c = Counter(label, category, event, flt)
        for phase, ev in _events_of(sc):
            how = contributes(ev)
            lo, hi = c.expected.get(phase, (0, 0))
            c.expected[phase] = (lo + ev.times * (how == "all"),
                                 hi + ev.times * (how in ("all", "some")))
        counters.append(c)

    # A noreturn event (exit) is entered but never returns; an exit-only event (a clone's
    # return in the new thread) returns without an entry of its own.
    add("raw_syscalls", "sys_enter", None, "raw_syscalls:sys_enter (every syscall)",
        lambda ev: "all" if ev.enters else "none")
    for name in sc.syscalls:
        cat, enter, extra = _tracepoint(name, "enter")
        add(cat, enter, extra, f"{name}: entered",
            lambda ev, n=name: "all" if ev.syscall == n and ev.enters else "none")
        cat, exit_, extra = _tracepoint(name, "exit")
        add(cat, exit_, extra, f"{name}: returned",
            lambda ev, n=name: "all" if ev.syscall == n and ev.exits else "none")
        expects: list[Expect] = []
        for _, ev in _events_of(sc):
            if ev.syscall == name and ev.exits and ev.expect not in expects:
                expects.append(ev.expect)
        for want in expects:
            add(cat, exit_, _join(extra, want.kernel_filter()), f"{name}: returned {want}",
                lambda ev, n=name, w=want: w.covers(ev.expect) if ev.syscall == n and ev.exits
                else "none")
    return counters


def open_counters(counters: list[Counter], tids: list[int], inherit: bool = False,
                  above: int | None = None) -> None:
    """Open every counter on every thread, disabled. The counters take the lowest free fds,
    like anything else; with `above` (the end of a scenario's own fixed fd numbers) they move
    past it, so a dup2 onto a fixed number can never close one. Not to the top of the fd space:
    a big fd table makes close_range over high numbers slower, and the loop would measure it."""
    from ioworkload import _perf

    if above is not None:
        from ioworkload.probes import fd_limit
        soft = fd_limit()
        need = len(counters) * len(tids)
        if soft is not None and above + need > soft:
            raise Unsupported(f"--verify needs {need} descriptors from fd {above} up, past the "
                              f"scenario's own fixed numbers (ulimit -n is {soft}; raise it)")
    try:
        for c in counters:
            for tid in tids:
                fd = _perf.open_counter(tid, c.tracepoint_id, c.filter, inherit)
                if above is not None:
                    import fcntl
                    fd, old = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, above), fd
                    os.close(old)
                c.fds.append(fd)
    except OSError as e:
        close_counters(counters)
        if e.errno in (errno.EACCES, errno.EPERM):
            raise Unsupported("perf_event_open: permission denied (needs root, CAP_PERFMON, "
                              "or kernel.perf_event_paranoid <= 1)") from None
        if e.errno == errno.EMFILE:
            raise Unsupported("too many open files for the verification counters "
                              "(raise ulimit -n)") from None
        raise


def fds_of_worker(counters: list[Counter], i: int) -> list[int]:
    return [c.fds[i] for c in counters if i < len(c.fds)]


def read_counters(counters: list[Counter]) -> None:
    from ioworkload import _perf

    for c in counters:
        c.counts = [_perf.read_count(fd) for fd in c.fds]


def close_counters(counters: list[Counter]) -> None:
    from ioworkload import _perf

    for c in counters:
        _perf.close_all(c.fds)
        c.fds = []


def evaluate(counters: list[Counter], iterations_per_worker: list[int]) -> tuple[bool, list[dict]]:
    """Compare every counter with the manifest, per worker; rows are summed over workers."""
    rows = []
    all_ok = True
    for c in counters:
        lo_sum = hi_sum = 0
        ok = True
        for count, iters in zip(c.counts, iterations_per_worker):
            lo, hi = c.bounds(iters)
            lo_sum += lo
            hi_sum += hi
            ok = ok and lo <= count <= hi
        all_ok = all_ok and ok
        rows.append({
            "counter": c.label,
            "tracepoint": f"{c.category}:{c.event}",
            "filter": c.filter,
            "expected": lo_sum if lo_sum == hi_sum else [lo_sum, hi_sum],
            "witnessed": sum(c.counts),
            "ok": ok,
        })
    return all_ok, rows
