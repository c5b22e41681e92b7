"""Kernel-witnessed verification: tracepoint counters compared with the manifest.

For each worker we count, from the release (the counters are enabled while it sleeps in its
start wait) to the end of its thread (for a spawned process's main thread: to the wait before
its exit_group):
  * raw_syscalls:sys_enter             every syscall the thread entered (purity: nothing extra)
  * syscalls:sys_enter_<name>          each declared syscall, the runner's own included
  * syscalls:sys_exit_<name>           each declared syscall's exits, unfiltered
  * syscalls:sys_exit_<name> + filter  one per distinct expected result (`ret == -22`, ...)
A call without a tracepoint of its own (a bare number, a removed entry, and every ia32 call:
no syscalls:sys_enter_* fires for a compat call on x86, see expect.IA32_ARGS) is counted at
raw_syscalls:sys_enter/sys_exit filtered on its number, which counts every call with that
number in either table: the counter's expectation adds them all.
Threads and processes the worker creates (helper:/child: events) are counted with it (perf
inherit). The counters are driven from outside the workers: verification adds no syscall.
"""

from __future__ import annotations

import ctypes
import errno
import os

from ioworkload.core import expect
from ioworkload.core.errors import Unsupported
from ioworkload.core.manifest import Event, Expect, Operation, Scenario



TRACEFS = "/sys/kernel/tracing"
_mounted_here = False


def tracefs_root(mount: bool = True) -> str:
    """Where tracefs is. As root, a tracefs that is not mounted is mounted at /sys/kernel/tracing
    first, as perf does (one line on stderr says so); otherwise Unsupported says whether it is
    missing or not readable, and with which privileges."""
    denied = []
    for root in (TRACEFS, "/sys/kernel/debug/tracing"):
        if os.path.isdir(os.path.join(root, "events")):
            return root
        if _mounted_tracefs(root) and not os.access(root, os.R_OK | os.X_OK):
            denied.append(root)
    if denied:
        raise Unsupported(f"tracefs at {denied[0]} is not readable here ({_privilege_state()}); "
                          f"run as root or make tracefs readable")
    if mount and os.geteuid() == 0 and _mount_tracefs():
        return TRACEFS
    raise Unsupported(f"tracefs is not mounted ({_privilege_state()}; as root: "
                      f"mount -t tracefs nodev {TRACEFS})")


def _mount_tracefs() -> bool:
    global _mounted_here
    import ctypes
    import sys
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"nodev", TRACEFS.encode(), b"tracefs", 0, None) != 0:
        return False
    if not _mounted_here:
        _mounted_here = True
        sys.stderr.write(f"ioworkload: tracefs was not mounted: mounted it at {TRACEFS} "
                         f"(as perf does)\n")
    return os.path.isdir(os.path.join(TRACEFS, "events"))


def _mounted_tracefs(path: str) -> bool:
    try:
        with open("/proc/self/mounts") as f:
            return any(line.split()[1:3] == [path, "tracefs"] for line in f)
    except OSError:
        return False


def _privilege_state() -> str:
    """What perf_event_open on a tracepoint would look at: euid, CAP_PERFMON, the paranoid level."""
    from ioworkload.core.probes import capability, in_initial_user_namespace
    try:
        with open("/proc/sys/kernel/perf_event_paranoid") as f:
            paranoid = f.read().strip()
    except OSError:
        paranoid = "unreadable"
    cap = "with" if capability("CAP_PERFMON")() is None else "without"
    if cap == "with" and not in_initial_user_namespace():
        cap = "with CAP_PERFMON only in a user namespace of its own (perf needs it in the host's):"
        return f"uid {os.geteuid()}, {cap} kernel.perf_event_paranoid = {paranoid}"
    return f"uid {os.geteuid()}, {cap} CAP_PERFMON, kernel.perf_event_paranoid = {paranoid}"


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
    """One tracepoint counter per worker; `contributes(event)` says whether a declared event
    lands in it: 'all' its calls, 'some' (a >= result against an exact filter) or 'none'."""

    def __init__(self, label: str, category: str, event: str, filter: str | None, contributes):
        self.label = label        # e.g. "io_setup: returned -EINVAL"
        self.category = category
        self.event = event
        self.tracepoint_id = tracepoint_id(category, event)  # Unsupported if the kernel lacks it
        self.filter = filter
        self.contributes = contributes
        self.fds: list = []       # one per worker (and per task a prestart left)
        self.owners: list = []    # the worker each fd counts for
        self.workers = 0
        self.counts: list = []

    def bounds(self, events, iterations: int, restarts: int = 0) -> tuple[int, float]:
        """(least, most) this counter may witness (most: inf under an unbounded count range)."""
        lo, hi = 0, 0
        for phase, ev in events:
            least, most = ev.count_range(iterations if phase == "iteration" else 1)
            how = self.contributes(ev)
            if ev is _LEAVE_RESTARTED:  # from none up to `restarts` times
                least = most = restarts
                how = "some" if how == "all" else how
            lo += least * (how == "all")
            if how in ("all", "some"):
                hi += float("inf") if most is None else most
        return lo, hi


# What a spawned process's main thread has done when the counters are read: entered its leave
# wait, not yet returned from it, not yet entered exit_group.
_LEAVE_ENTERED = Event.parse("futex(&leave_word, FUTEX_WAIT, 0, NULL, NULL, 0) -> noreturn")


# ... and, where the scenario declares it, once more: interrupted by task work, restarted.
_LEAVE_RESTARTED = Event("futex", "&leave_word, FUTEX_WAIT, 0, NULL, NULL, 0",
                         Expect("err", expect.ERESTARTSYS))


# An exec'd image (Scenario.execs) when the counters are read: asleep in its wait for the
# controller's SIGUSR1, not yet returned from it, exit_group not yet entered.
_IMAGE_WAIT_ENTERED = Event("rt_sigtimedwait", "&usr1, NULL, NULL, 8", Expect("noreturn", 0),
                            role="image")


def worker_events(sc: Scenario, own_process: bool, index: int) -> list[tuple[str, Event]]:
    """Everything one worker's counters witness: its stream, its helpers' and children's."""
    main = own_process and index == 0
    out = []
    for role, stream in expect.task_streams(sc, own_process, main).items():
        if role == "image" and main:
            stream = stream[:-2] + [("exit", None, _IMAGE_WAIT_ENTERED)]
        elif role == "worker" and main and not sc.execs:
            stream = stream[:-2] + [("exit", None, _LEAVE_ENTERED)]
            if any(sc.task_work_restarts):
                stream.append(("exit", None, _LEAVE_RESTARTED))
        out += [(phase, ev) for phase, _, ev in stream]
    out += [("iteration", op) for op in sc.operations]  # not syscalls: only op counters see them
    return out


def _join(*filters):
    parts = [f for f in filters if f]
    return " && ".join(f"({p})" for p in parts) if len(parts) > 1 else (parts[0] if parts else None)


def plan(sc: Scenario, own_process: bool = False) -> list[Counter]:
    """The counters that witness scenario `sc` (tracepoint ids checked, nothing opened)."""
    counters: list[Counter] = []
    events = [ev for i in (0, 1) for _, ev in worker_events(sc, own_process, i)]
    # A noreturn event (exit) is entered but never returns; an exit-only event (a clone's
    # return in the new thread) returns without an entry of its own; a filtered one (seccomp)
    # is answered before the sys_enter tracepoints.
    counters.append(Counter("raw_syscalls:sys_enter (every syscall)", "raw_syscalls", "sys_enter",
                            None, lambda ev: "all" if ev.enter_traced else "none"))
    names = list(dict.fromkeys(ev.key for ev in events if ev.syscall is not None))
    for name in names:
        same = _same_call(name)
        # a raw_syscalls counter shared with another table's call of the same number says so
        label = " + ".join([name] + [n for n in names if n != name and same(_probe_event(n))])
        cat, enter, extra = expect.tracepoint(name, "enter")
        counters.append(Counter(f"{label}: entered", cat, enter, extra,
                                lambda ev, same=same: "all" if same(ev) and ev.enter_traced else "none"))
        cat, exit_, extra = expect.tracepoint(name, "exit")
        counters.append(Counter(f"{label}: returned", cat, exit_, extra,
                                lambda ev, same=same: "all" if same(ev) and ev.exits else "none"))
        expects: list[Expect] = []
        for ev in events:
            if same(ev) and ev.exits and ev.expect not in expects:
                expects.append(ev.expect)
        for want in expects:
            counters.append(Counter(
                f"{label}: returned {want}", cat, exit_, _join(extra, want.kernel_filter()),
                lambda ev, same=same, w=want: w.covers(ev.expect) if same(ev) and ev.exits
                else "none"))
    counters += operation_counters(sc)
    if "restart_syscall" not in names:
        # Undeclared, so expected 0: a run stopped and continued (SIGSTOP/SIGCONT, a debugger)
        # while a worker slept shows here, and the report can say why the counts differ.
        cat, enter, extra = expect.tracepoint("restart_syscall", "enter")
        counters.append(Counter(STOPPED_COUNTER, cat, enter, extra, lambda ev: "none"))
    # Every restart code the kernel returned, declared or not: more than the declared ones (a
    # stopped child's sleep, a handled signal's read) means calls were interrupted by something
    # the scenario does not do, a stop and continue of its process, and the report says so.
    counters.append(Counter(RESTARTS_COUNTER, "raw_syscalls", "sys_exit",
                            f"ret >= -{max(RESTART_CODES)} && ret <= -{min(RESTART_CODES)}",
                            _returns_a_restart_code))
    return counters


def _same_call(name: str):
    """Which declared events the counters of syscall `name` (a key: `ia32:open`) see: at a
    tracepoint of its own, its own events; at raw_syscalls, filtered on its number, every event
    with that number in either table (ia32's open and x86-64's fstat are both id 5 there)."""
    if expect.has_tracepoint(name):
        return lambda ev: ev.key == name
    nr = expect.syscall_number(name)
    return lambda ev: ev.syscall is not None and expect.syscall_number(ev.key) == nr


def _probe_event(key: str) -> Event:
    """An event of syscall `key` (`ia32:open`), to ask a _same_call which calls it counts."""
    abi, _, name = key.rpartition(":")
    return Event(name, "", Expect("eq", 0), abi=abi or None)


STOPPED_COUNTER = "restart_syscall: entered"
RESTARTS_COUNTER = "raw_syscalls:sys_exit (restart codes)"
RESTART_CODES = range(512, 517)  # ERESTARTSYS .. ERESTART_RESTARTBLOCK


def _returns_a_restart_code(ev) -> str:
    want = getattr(ev, "expect", None)
    return "all" if (getattr(ev, "exits", False) and want is not None and want.kind == "err"
                     and want.value in RESTART_CODES) else "none"


BPF_SYSCALL_NR = 321  # x86-64
BPF_TASK_FD_QUERY = 20
BPF_FD_TYPE_TRACEPOINT = 1


class _TaskFdQuery(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint32), ("fd", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("buf_len", ctypes.c_uint32), ("buf", ctypes.c_uint64),
                ("prog_id", ctypes.c_uint32), ("fd_type", ctypes.c_uint32),
                ("probe_offset", ctypes.c_uint64), ("probe_addr", ctypes.c_uint64)]


def bpf_on_syscall_tracepoints() -> list[str]:
    """The BPF programs attached through perf events to syscalls:* or raw_syscalls:*
    tracepoints now, as "sys_enter_openat (program 42 of opensnoop, pid 1234)" (what `bpftool
    perf` lists; root). The kernel hands such an event to the tracepoint's perf counters only
    when its program returns nonzero, so a program that filters by returning 0 (libbpf-tools'
    opensnoop does) hides calls from --verify's counters: a mismatch then is its doing."""
    libc = ctypes.CDLL(None, use_errno=True)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:[perf_event]":
                    continue
            except OSError:
                continue
            name = ctypes.create_string_buffer(256)
            q = _TaskFdQuery(pid=int(pid), fd=int(fd), buf_len=len(name),
                             buf=ctypes.addressof(name))
            if libc.syscall(BPF_SYSCALL_NR, BPF_TASK_FD_QUERY, ctypes.byref(q),
                            ctypes.sizeof(q)) != 0 or q.fd_type != BPF_FD_TYPE_TRACEPOINT:
                continue
            tp = name.value.decode(errors="replace")
            if tp.startswith(("sys_enter", "sys_exit")):
                try:
                    with open(f"/proc/{pid}/comm") as f:
                        comm = f.read().strip()
                except OSError:
                    comm = "?"
                found.append(f"{tp} (program {q.prog_id} of {comm}, pid {pid})")
    return sorted(set(found))


def restarts_unasked(rows: list[dict] | None) -> int:
    """How many calls the kernel interrupted and restarted beyond what the manifest declares
    (restart_syscall where none is declared, restart codes past the declared ones): the run
    was stopped and continued while a task slept (0: it was not)."""
    extra = 0
    for r in rows or ():
        most = r["expected"] if isinstance(r["expected"], int) else r["expected"][1]
        if most is None:
            continue
        if (r["counter"] == STOPPED_COUNTER and most == 0) or r["counter"] == RESTARTS_COUNTER:
            extra = max(extra, r["witnessed"] - most)
    return extra


def operation_counters(sc: Scenario) -> list[Counter]:
    """The io_uring requests, witnessed in the process's tasks (the worker, and with perf
    inherit its SQPOLL and io-wq threads): every submission and completion, and per operation
    (its user_data) its submissions with the right opcode, its completions with the expected
    result, and for an IOSQE_ASYNC one its queueing to io-wq."""
    if not sc.operations:
        return []
    consts = expect.constants()
    is_op = lambda ev: "all" if isinstance(ev, Operation) else "none"  # noqa: E731
    out = [Counter("io_uring: requests submitted", "io_uring", "io_uring_submit_req", None, is_op),
           Counter("io_uring: requests completed", "io_uring", "io_uring_complete", None, is_op)]
    for k, op in enumerate(sc.operations):
        tag = f"user_data == {k + 1}"
        this = lambda ev, o=op: "all" if ev is o else "none"  # noqa: E731
        out.append(Counter(f"{op.opcode} #{k + 1}: submitted", "io_uring", "io_uring_submit_req",
                           _join(tag, f"opcode == {consts[op.opcode]}"), this))
        out.append(Counter(f"{op.opcode} #{k + 1}: completed {op.expect}", "io_uring",
                           "io_uring_complete", _join(tag, op.expect.kernel_filter("res")), this))
        if op.force_async:
            out.append(Counter(f"{op.opcode} #{k + 1}: queued to io-wq", "io_uring",
                               "io_uring_queue_async_work", tag, this))
    return out


def open_counters(counters: list[Counter], tids: list[int], inherit: bool = False,
                  above: int | None = None, also: "list[list[int]] | None" = None) -> None:
    """Open every counter on every thread, disabled. The counters take the lowest free fds,
    like anything else; with `above` (the end of a scenario's own fixed fd numbers) they move
    past it, so a dup2 onto a fixed number can never close one. Not to the top of the fd space:
    a big fd table makes close_range over high numbers slower, and the loop would measure it.
    also: per worker, tasks that existed before the counters (a prestart's parked thread or
    child), counted as the worker's own (inherit cannot reach them)."""
    from ioworkload.core import _perf

    owners = [(i, tid) for i, tid in enumerate(tids)] + [
        (i, t) for i, extra in enumerate(also or []) for t in extra]

    if above is not None:
        from ioworkload.core.probes import fd_limit
        soft = fd_limit()
        need = len(counters) * len(owners)
        if soft is not None and above + need > soft:
            raise Unsupported(f"--verify needs {need} descriptors from fd {above} up, past the "
                              f"scenario's own fixed numbers (ulimit -n is {soft}; raise it)")
    try:
        for c in counters:
            c.workers = len(tids)
            for owner, tid in owners:
                fd = _perf.open_counter(tid, c.tracepoint_id, c.filter, inherit)
                if above is not None:
                    import fcntl
                    fd, old = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, above), fd
                    os.close(old)
                c.fds.append(fd)
                c.owners.append(owner)
    except OSError as e:
        close_counters(counters)
        if e.errno in (errno.EACCES, errno.EPERM):
            raise Unsupported(f"perf_event_open: permission denied ({_privilege_state()}; needs "
                              f"root, CAP_PERFMON, or kernel.perf_event_paranoid <= 1)") from None
        if e.errno == errno.EMFILE:
            raise Unsupported("too many open files for the verification counters "
                              "(raise ulimit -n)") from None
        raise


def read_counters(counters: list[Counter]) -> None:
    from ioworkload.core import _perf

    for c in counters:
        c.counts = [0] * c.workers
        for fd, owner in zip(c.fds, c.owners):
            c.counts[owner] += _perf.read_count(fd)


def close_counters(counters: list[Counter]) -> None:
    from ioworkload.core import _perf

    for c in counters:
        _perf.close_all(c.fds)
        c.fds = []
        c.owners = []


def evaluate(sc: Scenario, counters: list[Counter], iterations_per_worker: list[int],
             own_process: bool = False) -> tuple[bool, list[dict]]:
    """Compare every counter with the declared events, per worker; rows are summed over
    workers."""
    per_worker = [worker_events(sc, own_process, i) for i in range(len(iterations_per_worker))]
    rows = []
    all_ok = True
    for c in counters:
        lo_sum = hi_sum = 0
        ok = True
        for count, iters, events in zip(c.counts, iterations_per_worker, per_worker):
            lo, hi = c.bounds(events, iters, sc.restarts_at_most(iters) or 0)
            lo_sum += lo
            hi_sum += hi
            ok = ok and lo <= count <= hi
        all_ok = all_ok and ok
        rows.append({
            "counter": c.label,
            "tracepoint": f"{c.category}:{c.event}",
            "filter": c.filter,
            "expected": lo_sum if lo_sum == hi_sum else
                        [lo_sum, None if hi_sum == float("inf") else hi_sum],
            "witnessed": sum(c.counts),
            "ok": ok,
        })
    return all_ok, rows
