"""Tracers for `ioworkload overhead`: the presets and custom command templates.

A tracer is a command started against an already running workload (its PID and worker
thread ids are known, its timed loop has not begun). Each tracer says how to build its
command line, how to tell it is attached ("ready"), and, where its output holds counts, how
many of the scenario's syscalls it reported. `overhead.py` starts, times, stops and reaps
them; nothing here starts a process.

Presets attach to the worker threads (`-t`, `-p TID`, `tid ==`), not the whole process, so the
controlling Python thread (which polls for the start file with stat calls) never adds to a
count. A scenario whose kernel starts helper threads is traced by thread inheritance (perf),
by process (bpftrace `pid ==`) or with `-f` (strace).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field

from ioworkload.core import audit, expect, ftrace, syscount, verify
from ioworkload.core.errors import Unsupported, UsageError
from ioworkload.core.manifest import Scenario

COMM = "ioworkload"             # the workers' thread name (prctl PR_SET_NAME in _runner)
READY_MARK = "ioworkload-tracer-ready"
PLACEHOLDERS = ("pid", "tid", "syscalls", "comm")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_UNNAMED = re.compile(r"^syscall_(\d+)$")  # a bare number the kernel has no name for (enosys)

# Unrelated syscalls for the `filtered` preset, first one the scenario does not issue is used.
_UNRELATED = ("acct", "vhangup", "syslog", "getpid")


@dataclass
class Target:
    """What one run's tracer is attached to, and where it may write its files."""

    pid: int | None              # None before the workload exists (tracers that start it)
    tids: list[int]
    syscalls: list[str]          # the manifest's syscall names, first-use order
    follow_threads: bool         # the scenario starts helper threads of its own
    workdir: str                 # private, empty directory for this run's tracer files

    @property
    def tid_list(self) -> str:
        return ",".join(map(str, self.tids))

    def bpf_filter(self) -> str:
        if self.follow_threads:
            return f"pid == {self.pid}"
        return " || ".join(f"tid == {t}" for t in self.tids)


@dataclass
class Counted:
    """What a tracer's output says it saw: `reported` events of the scenario's syscalls (None:
    its output holds no counts) and details worth keeping (lost events, samples...)."""

    reported: int | None
    details: dict = field(default_factory=dict)


def read_text(path: str) -> str:
    """A file's text, or "" if it cannot be read (tracer output that was never written)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def tracefs_events() -> str | None:
    try:
        return os.path.join(verify.tracefs_root(), "events")
    except Unsupported:
        return None


def tracefs_problem() -> str:
    """Why tracefs cannot be read: not mounted, or not readable with these privileges."""
    try:
        verify.tracefs_root()
    except Unsupported as e:
        return str(e)
    return "tracefs has no syscall events"


def tracepoint(syscall: str, direction: str = "enter") -> tuple[str, str | None]:
    """('category:event', filter on `id` or None) of a syscall's enter/exit tracepoint."""
    category, event, flt = expect.tracepoint(syscall, direction)
    return f"{category}:{event}", flt


def _missing_tracepoints(syscalls, directions=("enter",)) -> str | None:
    events = tracefs_events()
    if events is None:
        return tracefs_problem()
    for s in syscalls:
        for d in directions:
            tp, _ = tracepoint(s, d)
            if not os.path.isdir(os.path.join(events, *tp.split(":"))):
                return f"the kernel has no tracepoint {tp}"
    return None


def perf_event_fds(pid: int) -> int:
    """How many perf_event file descriptors process `pid` holds (0 if it is gone)."""
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[perf_event]":
                    n += 1
            except OSError:
                pass
    except OSError:
        return 0
    return n


def tracer_pid_of(tid: int) -> int:
    """The TracerPid of thread `tid` (0: not ptraced, or gone)."""
    for line in read_text(f"/proc/{tid}/status").splitlines():
        if line.startswith("TracerPid:"):
            return int(line.split()[1])
    return 0


def _alternation(names) -> str:
    """A regex group matching any of `names` literally."""
    return "(" + "|".join(map(re.escape, names)) + ")"


def _count_names(syscalls) -> dict[str, str]:
    """Names a tracer may print for each manifest syscall -> the manifest name."""
    out = {}
    for s in syscalls:
        out[s] = s
        m = _UNNAMED.match(s)
        if m:
            out[f"syscall_{int(m[1]):#x}"] = s  # strace and perf print unknown numbers in hex
    return out


class Tracer:
    """One way of tracing; the subclasses are the presets, `Template` is a custom command."""

    name = ""
    kind = "preset"
    program: str | None = None
    summary = ""
    settle = 0.0                # seconds to wait after the ready condition holds
    # False: nothing says it is ready; it counts as ready once `settle` has passed
    signals_ready = True
    starts_workload = False     # the tracer runs the workload itself (strace --seccomp-bpf)
    # Rough costs for the study's duration estimate only (never a result): added ns per traced
    # call (strace's ptrace stops: ~40 us a call on the project machines) and start-up seconds.
    cost_ns = 300.0
    start_s = 0.5
    may_use_bpf = False         # its eBPF programs' cost is worth reading (bpf_stats)

    def unavailable(self, sc: Scenario) -> str | None:
        if self.program and not shutil.which(self.program):
            return f"{self.program} not found"
        if self.program and any(s.startswith("ia32:") for s in sc.syscalls):
            # the tracers here select and count calls by their name in the 64-bit table
            return "its calls go through the 32-bit door (int $0x80), outside the 64-bit table"
        return None

    def command(self, t: Target, workload: list[str] | None = None) -> list[str]:
        raise NotImplementedError

    def display(self, sc: Scenario) -> str:
        """The command with placeholders, for the report."""
        t = Target(pid="PID", tids=["TID"], syscalls=sc.syscalls,  # type: ignore[arg-type]
                   follow_threads=sc.helper_threads, workdir="DIR")
        return shlex.join(self.command(t, ["WORKLOAD..."]))

    def ready(self, t: Target, tracer_pid: int, stdout: str, stderr: str) -> bool:
        return True

    def counted(self, t: Target, stdout: str, stderr: str) -> Counted:
        return Counted(None)

    def cleanup(self, t: Target) -> None:
        """Put back what the tracer changed on the host once it is reaped (it may have been
        killed before it could): audit rules and settings, a tracefs instance."""


class NoTracer(Tracer):
    name = "none"
    kind = "none"
    summary = "no tracer: the untraced baseline"

    def command(self, t, workload=None):
        return []

    def display(self, sc):
        return ""


# ---- perf ----------------------------------------------------------------------------------

class _Perf(Tracer):
    program = "perf"
    settle = 0.3                # perf enables its events right after opening them

    def unavailable(self, sc):
        reason = super().unavailable(sc) or _missing_tracepoints(self.syscalls_needed(sc))
        if reason:
            return reason
        if os.geteuid() != 0 and read_text("/proc/sys/kernel/perf_event_paranoid").strip() not in ("-1",):
            return "perf tracepoint events need root or kernel.perf_event_paranoid = -1"
        return None

    def syscalls_needed(self, sc: Scenario) -> list[str]:
        return sc.syscalls

    def fds_needed(self, t: Target) -> int:
        return len(t.tids)

    def ready(self, t, tracer_pid, stdout, stderr):
        return perf_event_fds(tracer_pid) >= self.fds_needed(t)

    @staticmethod
    def events(syscalls) -> list[str]:
        args = []
        for s in syscalls:
            tp, flt = tracepoint(s)
            args += ["-e", tp] + (["--filter", flt] if flt else [])
        return args


class PerfStat(_Perf):
    name = "perf-stat"
    summary = "in-kernel counting: perf stat -e syscalls:sys_enter_<each manifest syscall>"

    def fds_needed(self, t):
        return len(t.tids) * len(t.syscalls)

    def command(self, t, workload=None):
        return ["perf", "stat", "-x,", "-o", os.path.join(t.workdir, "perf-stat.csv"),
                *self.events(t.syscalls), "-t", t.tid_list]

    def counted(self, t, stdout, stderr):
        return Counted(*_perf_stat_total(read_text(os.path.join(t.workdir, "perf-stat.csv"))))


def _perf_stat_total(csv: str) -> tuple[int | None, dict]:
    total, per_event = 0, {}
    for line in csv.splitlines():
        cols = line.split(",")
        if len(cols) < 3 or line.startswith("#"):
            continue
        try:
            value = int(cols[0])
        except ValueError:
            return None, {"not_counted": cols[2]}  # "<not counted>" / "<not supported>"
        per_event[cols[2]] = per_event.get(cols[2], 0) + value
        total += value
    return (total if per_event else None), {"per_event": per_event}


class Filtered(_Perf):
    name = "filtered"
    summary = "syscall tracing on, this scenario filtered out: perf stat on an unrelated tracepoint"

    @staticmethod
    def unrelated(syscalls) -> str:
        return next(s for s in _UNRELATED if s not in syscalls)

    def syscalls_needed(self, sc):
        return [self.unrelated(sc.syscalls)]

    def command(self, t, workload=None):
        return ["perf", "stat", "-x,", "-o", os.path.join(t.workdir, "perf-stat.csv"),
                *self.events([self.unrelated(t.syscalls)]), "-t", t.tid_list]

    def counted(self, t, stdout, stderr):
        seen, details = _perf_stat_total(read_text(os.path.join(t.workdir, "perf-stat.csv")))
        return Counted(None, {"unrelated_events": seen, **details})


class PerfRecord(_Perf):
    name = "perf-record"
    summary = "buffered streaming: perf record -e raw_syscalls:sys_enter to a file"

    def syscalls_needed(self, sc):
        return []

    def unavailable(self, sc):
        reason = super().unavailable(sc)
        if reason is None and not os.path.isdir(os.path.join(tracefs_events() or "", "raw_syscalls")):
            return "the kernel has no raw_syscalls tracepoints"
        return reason

    def command(self, t, workload=None):
        return ["perf", "record", "-e", "raw_syscalls:sys_enter", "-o",
                os.path.join(t.workdir, "perf.data"), "-t", t.tid_list]

    def counted(self, t, stdout, stderr):
        # raw_syscalls records every syscall of the thread, by number only: its sample count
        # is kept, but it is no count of the manifest's syscalls.
        details = {}
        m = re.search(r"\((\d+) samples\)", stderr)
        if m:
            details["samples"] = int(m[1])
        m = re.search(r"lost (\d+) chunks", stderr)
        if m:
            details["lost_chunks"] = int(m[1])
        return Counted(None, details)


class PerfTrace(_Perf):
    name = "perf-trace"
    cost_ns = 5_000.0
    summary = "per-event streaming and formatting: perf trace -t"
    settle = 0.5

    def syscalls_needed(self, sc):
        return []

    def fds_needed(self, t):
        return 2 * len(t.tids)  # raw_syscalls sys_enter and sys_exit per thread

    def command(self, t, workload=None):
        return ["perf", "trace", "-o", os.path.join(t.workdir, "perf-trace.txt"), "-t", t.tid_list]

    def counted(self, t, stdout, stderr):
        names = _count_names(t.syscalls)
        line_re = re.compile(r"\b" + _alternation(names) + r"\(")
        n = lost = 0
        with open(os.path.join(t.workdir, "perf-trace.txt"), errors="replace") as f:
            for line in f:
                if "[continued]" in line:
                    continue
                if line_re.search(line):
                    n += 1
                m = re.search(r"LOST (\d+) events", line)
                if m:
                    lost += int(m[1])
        return Counted(n, {"lost": lost} if lost else {})


# ---- strace --------------------------------------------------------------------------------

class _Strace(Tracer):
    program = "strace"
    cost_ns = 40_000.0

    def unavailable(self, sc):
        reason = super().unavailable(sc)
        if reason:
            return reason
        scope = read_text("/proc/sys/kernel/yama/ptrace_scope").strip()
        if os.geteuid() != 0 and scope not in ("", "0") and not self.starts_workload:
            return f"attaching with ptrace needs root here (kernel.yama.ptrace_scope = {scope})"
        if scope == "3":
            return "ptrace is disabled (kernel.yama.ptrace_scope = 3)"
        return None


class Strace(_Strace):
    name = "strace"
    summary = "ptrace, every syscall stops the thread: strace -c -p TID (counts only)"
    settle = 0.05

    def command(self, t, workload=None):
        attach = ["-f", "-p", str(t.pid)] if t.follow_threads else \
            [a for tid in t.tids for a in ("-p", str(tid))]
        return ["strace", "-c", "-o", os.path.join(t.workdir, "strace-c.txt"), *attach]

    def ready(self, t, tracer_pid, stdout, stderr):
        return all(tracer_pid_of(tid) == tracer_pid for tid in t.tids)

    def counted(self, t, stdout, stderr):
        return Counted(*_strace_c_total(read_text(os.path.join(t.workdir, "strace-c.txt")), t.syscalls))


def _strace_c_total(text: str, syscalls) -> tuple[int | None, dict]:
    names = _count_names(syscalls)
    per, found_table = {}, False
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 5 and cols[-1] != "total" and cols[0][0].isdigit():
            found_table = True
            if cols[-1] in names:
                per[names[cols[-1]]] = per.get(names[cols[-1]], 0) + int(cols[3])
    if not found_table:
        return None, {}
    return sum(per.values()), {"per_syscall": per}


class StraceSeccomp(_Strace):
    """`--seccomp-bpf` only works for processes strace starts itself (with -p strace says
    "--seccomp-bpf is not enabled for processes attached with -p"). So this preset runs the
    workload under strace; the workload still waits for the start file before its timed loop,
    so strace's start-up (and Python's, traced) is never timed."""

    name = "strace-seccomp"
    summary = "ptrace with a seccomp-bpf filter: strace -f --seccomp-bpf -e trace=<syscalls> runs the workload"
    starts_workload = True

    def unavailable(self, sc):
        reason = super().unavailable(sc)
        if reason is None and any(_UNNAMED.match(s) for s in sc.syscalls):
            return "strace -e trace= cannot select a syscall by bare number"
        return reason

    def command(self, t, workload=None):
        return ["strace", "-f", "--seccomp-bpf", "-e", f"trace={','.join(t.syscalls)}",
                "-ff", "-o", os.path.join(t.workdir, "strace"), "--", *(workload or [])]

    def ready(self, t, tracer_pid, stdout, stderr):
        return all(tracer_pid_of(tid) == tracer_pid for tid in t.tids)

    def counted(self, t, stdout, stderr):
        line_re = re.compile("^" + _alternation(t.syscalls) + r"\(")
        n = 0
        for tid in t.tids:
            path = os.path.join(t.workdir, f"strace.{tid}")
            if not os.path.exists(path):
                return Counted(None, {"missing": path})
            with open(path, errors="replace") as f:
                n += sum(1 for line in f if line_re.match(line))
        return Counted(n)


# ---- bpftrace ------------------------------------------------------------------------------

class _Bpftrace(Tracer):
    program = "bpftrace"
    may_use_bpf = True
    start_s = 2.0
    directions = ("enter",)

    def unavailable(self, sc):
        reason = super().unavailable(sc) or _missing_tracepoints(sc.syscalls, self.directions)
        if reason is None and os.geteuid() != 0:
            return "bpftrace needs root"
        return reason

    def probes(self, t: Target, direction: str):
        """(probe, predicate, syscall) for each manifest syscall's tracepoint."""
        for s in t.syscalls:
            tp, flt = tracepoint(s, direction)
            pred = f"({t.bpf_filter()})" + (f" && args->{flt}" if flt else "")
            yield f"tracepoint:{tp}", pred, s

    def program_text(self, t: Target) -> str:
        raise NotImplementedError

    def command(self, t, workload=None):
        return ["bpftrace", "-e", self.program_text(t)]

    def ready(self, t, tracer_pid, stdout, stderr):
        # BEGIN fires once every other probe is attached
        return READY_MARK in stdout

    @staticmethod
    def begin() -> str:
        return f'BEGIN {{ printf("{READY_MARK}\\n"); }}\n'


class BpftraceCount(_Bpftrace):
    name = "bpftrace-count"
    summary = "in-kernel counting in a BPF map: @[probe] = count() on sys_enter_<x>"

    def program_text(self, t):
        return self.begin() + "".join(f"{p} /{pred}/ {{ @calls[probe] = count(); }}\n"
                                      for p, pred, _ in self.probes(t, "enter"))

    def counted(self, t, stdout, stderr):
        counts = [int(m[1]) for m in re.finditer(r"^@calls\[[^\]]*\]: (\d+)$", stdout, re.M)]
        return Counted(sum(counts) if READY_MARK in stdout else None)


class BpftraceHist(_Bpftrace):
    name = "bpftrace-hist"
    summary = "in-kernel aggregation, enter + exit: latency histogram per syscall"
    directions = ("enter", "exit")

    def program_text(self, t):
        enter = "".join(f"{p} /{pred}/ {{ @start[tid] = nsecs; }}\n"
                        for p, pred, _ in self.probes(t, "enter"))
        leave = "".join(f"{p} /@start[tid]/ {{ @ns[probe] = hist(nsecs - @start[tid]); "
                        f"delete(@start[tid]); }}\n" for p, _, _ in self.probes(t, "exit"))
        return self.begin() + enter + leave + "END { clear(@start); }\n"

    def counted(self, t, stdout, stderr):
        n = sum(int(m[1]) for m in re.finditer(r"^\[[^\]\n]*[\])]\s+(\d+)\s+\|", stdout, re.M))
        return Counted(n if "@ns[" in stdout else None)


class BpftracePrintf(_Bpftrace):
    name = "bpftrace-printf"
    cost_ns = 3_000.0
    summary = "per-event streaming: one printf line per syscall"

    def program_text(self, t):
        return self.begin() + "".join(f'{p} /{pred}/ {{ printf("{s} %d\\n", tid); }}\n'
                                      for p, pred, s in self.probes(t, "enter"))

    def counted(self, t, stdout, stderr):
        line_re = re.compile("^" + _alternation(t.syscalls) + r" \d+$", re.M)
        lost = sum(int(m[1]) for m in re.finditer(r"Lost (\d+) events", stdout + stderr))
        return Counted(len(line_re.findall(stdout)), {"lost": lost} if lost else {})


# ---- libbpf-tools --------------------------------------------------------------------------

class Syscount(Tracer):
    """syscount counts in a BPF map (raw_syscalls sys_enter and sys_exit: every syscall of the
    process pays for both) and prints the counts when it stops. Its filter is the process, so
    the controlling thread's polls count too when they are the scenario's syscall."""

    name = "syscount"
    program = "syscount"
    summary = "in-kernel counting per syscall by a libbpf tool: syscount -p PID (libbpf-tools)"
    may_use_bpf = True
    start_s = 1.0

    def unavailable(self, sc):
        reason = super().unavailable(sc)
        if reason:
            return reason + " (Debian package libbpf-tools)"
        if not os.path.exists("/sys/kernel/btf/vmlinux"):
            return "syscount needs the kernel's BTF (/sys/kernel/btf/vmlinux)"
        if shutil.which("stdbuf") is None:
            return "stdbuf not found"
        return None

    def command(self, t, workload=None):
        # (stdout is a file: without line buffering its banner, the ready sign, comes at exit)
        return ["stdbuf", "-oL", "syscount", "-T", "1000", "-p", str(t.pid)]

    def ready(self, t, tracer_pid, stdout, stderr):
        return "Tracing syscalls" in stdout  # printed once its programs are attached

    def counted(self, t, stdout, stderr):
        if not re.search(r"^SYSCALL\s+COUNT$", stdout, re.M):
            return Counted(None)  # stopped before it printed its counts
        rows = dict(filter(None, map(syscount.row, stdout.splitlines())))
        return Counted(sum(rows.get(syscount.key(s), 0) for s in t.syscalls))


# ---- the audit subsystem and ftrace (core/audit.py, core/ftrace.py) ------------------------

class _Session(Tracer):
    """A preset run by one of core's session programs: it prints `ready` once its rules or
    events are in, and puts back what it changed when stopped; cleanup() does that for one
    that was killed."""

    start_s = 1.0

    def ready(self, t, tracer_pid, stdout, stderr):
        return "ready" in stdout.splitlines()

    @staticmethod
    def _lost(stdout: str) -> dict:
        m = re.search(r"^lost (\d+)", stdout, re.M)
        return {"lost": int(m[1])} if m and int(m[1]) else {}


class Auditd(_Session):
    name = "auditd"
    cost_ns = 5_000.0
    summary = ("audit: one auditctl rule for the traced syscalls (-F pid), backlog 8192 (auditd's "
               "own), every record read by netlink")
    session_args: tuple = ("--backlog-limit", "8192", "--count-only")

    def unavailable(self, sc):
        return audit.unavailable()

    def state(self, t: Target) -> str:
        return os.path.join(t.workdir, "audit.state")

    def command(self, t, workload=None):
        return [sys.executable, "-m", "ioworkload.core.audit", "--pid", str(t.pid), "--state",
                self.state(t), "--syscalls", ",".join(self.rule_syscalls(t)), *self.session_args]

    def rule_syscalls(self, t: Target) -> list[str]:
        return t.syscalls

    def counted(self, t, stdout, stderr):
        numbers = {str(expect.syscall_number(s)) for s in t.syscalls}
        n = sum(int(m[2]) for m in re.finditer(r"^records (\d+) (\d+)$", stdout, re.M)
                if m[1] in numbers)
        return Counted(n if re.search(r"^lost \d+", stdout, re.M) else None, self._lost(stdout))

    def cleanup(self, t):
        audit.restore(self.state(t))


class AuditdRules(Auditd):
    name = "auditd-rules"
    summary = ("audit: a rule per syscall of the table (-F pid each): every call walks the "
               "whole list; the traced syscalls' records read")
    session_args = Auditd.session_args + ("--rule-per-syscall",)

    def rule_syscalls(self, t):
        table = sorted(expect.syscall_table(), key=expect.syscall_number)
        return t.syscalls + [s for s in table if s not in t.syscalls]


class AuditdBacklog(Auditd):
    name = "auditd-backlog"
    summary = ("audit with its backlog overflowing: one rule, backlog_limit 1, nothing read "
               "(every record past the first is dropped at once and counted lost)")
    session_args = ("--backlog-limit", "1", "--no-read")

    def counted(self, t, stdout, stderr):
        return Counted(None, self._lost(stdout))


class TraceCmd(_Session):
    name = "trace-cmd"
    cost_ns = 500.0
    summary = ("ftrace: the traced syscalls' sys_enter and sys_exit events in a tracefs "
               "instance of its own (trace-cmd's ring buffer), counted in the buffer")

    def unavailable(self, sc):
        return ftrace.unavailable() or _missing_tracepoints(sc.syscalls, ("enter", "exit"))

    def command(self, t, workload=None):
        tasks = [] if t.follow_threads else ["--tids", t.tid_list]
        return [sys.executable, "-m", "ioworkload.core.ftrace", "--pid", str(t.pid), "--data",
                os.path.join(t.workdir, "trace.dat"), "--syscalls", ",".join(t.syscalls),
                "--count-only", *tasks]

    def counted(self, t, stdout, stderr):
        m = re.search(r"^events (\d+)", stdout, re.M)
        details = self._lost(stdout)
        if m:
            details["events"] = int(m[1])
        # the buffer holds both halves of every call and overwrites its oldest: no count of
        # the scenario's calls
        return Counted(None, details)

    def cleanup(self, t):
        if t.pid is not None:
            ftrace.remove_instance(t.pid)


# ---- custom --------------------------------------------------------------------------------

class Template(Tracer):
    """A user command: {pid}, {tid} (worker tids, comma list), {syscalls} (comma list) and
    {comm} are replaced; other braces are left alone (bpftrace programs keep theirs). Ready
    when --ready-regex matches its stdout or stderr, else after --settle seconds."""

    kind = "custom"
    summary = "custom command template"
    may_use_bpf = True          # whatever it is: a run finds its programs, if it has any
    cost_ns = None  # unknown: left out of the estimate

    def __init__(self, text: str, ready_regex: str | None = None, settle: float | None = None,
                 name: str | None = None, count_regex: str | None = None):
        self.name = name or text
        self.text = text
        try:
            self.words = shlex.split(text)
        except ValueError as e:
            raise UsageError(f"tracer command {text!r}: {e}") from None
        if not self.words:
            raise UsageError("empty tracer command")
        if not re.search(r"\{(pid|tid)\}", text):
            raise UsageError(f"tracer command {text!r} has no {{pid}} or {{tid}} to attach to")
        self.program = self.words[0]
        self.regex = _compile("--ready-regex", ready_regex)
        self.count_regex = _compile("--count-regex", count_regex)
        self.settle = settle if settle is not None else (0.0 if self.regex else 1.0)

    def unavailable(self, sc):
        if os.sep in self.program:
            if not os.access(self.program, os.X_OK):
                return f"{self.program} not found or not executable"
            return None
        return None if shutil.which(self.program) else f"{self.program} not found"

    def command(self, t, workload=None):
        values = {"pid": str(t.pid), "tid": t.tid_list, "syscalls": ",".join(t.syscalls),
                  "comm": COMM}
        return [_PLACEHOLDER.sub(lambda m: values[m[1]], w) for w in self.words]

    def display(self, sc):
        return self.text

    @property
    def signals_ready(self):
        return self.regex is not None

    def ready(self, t, tracer_pid, stdout, stderr):
        if self.regex is None:
            return True
        return bool(self.regex.search(stdout) or self.regex.search(stderr))

    def counted(self, t, stdout, stderr):
        """With --count-regex: the sum of every match's first group (or the whole match) in
        its stdout and stderr, so accuracy works for it too; no match counts as none seen."""
        if self.count_regex is None:
            return Counted(None)
        total = 0
        for text in (stdout, stderr):
            for m in self.count_regex.finditer(text):
                number = (m.group(1) if self.count_regex.groups else m.group(0)).strip()
                try:
                    total += int(number.replace(",", "").replace("_", ""))
                except ValueError:
                    raise ValueError(f"--count-regex matched {number!r}, not a count") from None
        return Counted(total)


def _compile(option: str, pattern: str | None):
    if pattern is None:
        return None
    try:
        return re.compile(pattern, re.M)
    except re.error as e:
        raise UsageError(f"{option} {pattern!r}: {e}") from None


PRESETS: dict[str, type[Tracer]] = {cls.name: cls for cls in (
    NoTracer, Filtered, PerfStat, PerfRecord, PerfTrace, Strace, StraceSeccomp,
    BpftraceCount, BpftraceHist, BpftracePrintf, Syscount, Auditd, AuditdRules, AuditdBacklog,
    TraceCmd)}


_NAMED = re.compile(r"([A-Za-z][\w.-]*)=(.*)", re.S)


def resolve(spec: str, ready_regex: str | None = None, settle: float | None = None,
            count_regex: str | None = None) -> Tracer:
    """A preset by name, or a custom template (a command with {pid} or {tid}), optionally
    named: NAME=TEMPLATE."""
    key = spec.strip()
    if key in PRESETS:
        if count_regex is not None:
            raise UsageError(f"--count-regex is for custom tracers; {key} counts by itself")
        return PRESETS[key]()
    named = _NAMED.fullmatch(key)
    if named and _PLACEHOLDER.search(named[2]):
        name = named[1]
        if name in PRESETS:
            raise UsageError(f"tracer name {name!r} is a preset's; name it otherwise")
        return Template(named[2].strip(), ready_regex, settle, name, count_regex)
    if _PLACEHOLDER.search(key) or " " in key:
        return Template(key, ready_regex, settle, count_regex=count_regex)
    import difflib
    close = difflib.get_close_matches(key, list(PRESETS), n=2)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise UsageError(f"unknown tracer {spec!r}: {hint}presets are {', '.join(PRESETS)}; "
                     "a custom command needs {pid} or {tid} (name it with NAME=COMMAND)")
