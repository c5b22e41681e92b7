"""`ioworkload overhead SCENARIO`: how much each tracer slows a known syscall stream, and
whether it saw every event.

Each run starts the workload (`python -m ioworkload SCENARIO --json --start-file F --tid-file T
--cpu C`), which prints its PID once its worker threads exist and then waits; the tracer is
attached to those threads and awaited until ready; only then is F created, so tracer start-up
is never timed. The workload times its own loop. Runs are interleaved (none, A, B, none, A,
B, ...) `--repeat` times; a tracer's slowdown is the median of its ratios to the untraced run
of the same round. Every child runs in its own process group, and every group is killed and
reaped after its run, on every path (error, timeout, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from ioworkload import registry, tracers as _tracers
from ioworkload.errors import (EXIT_FAILED, EXIT_OK, ScenarioFailed, Unsupported, UsageError)
from ioworkload.runner import STOP_SIGNALS, parse_count, parse_seconds
from ioworkload.tracers import Target, Tracer, read_text as _read

SCHEMA = "ioworkload-overhead/1"
DEFAULT_ITERATIONS = 100_000
DEFAULT_REPEAT = 5
RUN_TIMEOUT = 60.0          # start file created -> workload exited (plus --duration)
READY_TIMEOUT = 20.0        # the workload waits for its start file this long plus a margin
PID_TIMEOUT = 30.0          # workload started -> PID line
STOP_GRACE = 10.0           # SIGINT -> SIGTERM (perf and bpftrace write their results on SIGINT)
TERM_GRACE = 3.0            # SIGTERM -> SIGKILL
DRAIN_QUIET = 0.25          # a tracer idle this long after the run has written what it saw
DRAIN_LIMIT = 15.0
POLL = 0.02
IRQ_ROWS = ("IWI", "CAL", "RES", "LOC")
PLOT_HINT = "pip install 'ioworkload[plot]' (or: pip install matplotlib)"


class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C: stop, clean up (tracers included: they run in
    their own sessions, so a hang-up would not reach them), report what was measured."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


# ---- child processes -----------------------------------------------------------------------

@contextlib.contextmanager
def _signals_deferred():
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


_LIVE_CHILDREN: set = set()  # every Child not yet reaped


class Child:
    """A command in its own session and process group, output to files. The leader is only
    reaped by `reap()`, after the whole group got SIGKILL, so the group id is never stale.
    Its TMPDIR is `cwd`, the run's own directory: whatever a killed child leaves in it (a
    workload's private directory) goes when the run's directory does."""

    def __init__(self, argv: list[str], stdout: str, stderr: str, cwd: str,
                 cpus: set[int] | None = None):
        self.argv = argv
        self.stdout_path, self.stderr_path = stdout, stderr
        self.stop_signal: str | None = None
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        with _signals_deferred(), open(stdout, "ab") as out, open(stderr, "ab") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         cwd=cwd, env=dict(os.environ, TMPDIR=cwd),
                                         start_new_session=True, preexec_fn=pin)
            self.pid = self.proc.pid
            # a signal held back above is raised on leaving the block, before our caller has
            # the object: the study reaps whatever is still listed here when it ends
            _LIVE_CHILDREN.add(self)

    def ended(self) -> bool:
        """The leader exited (it stays a zombie until reap())."""
        if self.proc.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def wait_end(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ended():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)
        return True

    def signal_group(self, sig: int) -> None:
        if self.proc.returncode is not None:
            return  # reaped: the group id is no longer ours
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGINT to the group, then SIGTERM, then SIGKILL; `stop_signal` tells which ended it."""
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, TERM_GRACE)):
            if self.ended():
                return
            self.stop_signal = sig.name
            self.signal_group(sig)
            if self.wait_end(wait):
                return
        self.stop_signal = "SIGKILL"
        self.reap()

    def reap(self) -> int:
        """Kill what is left of the group and reap the leader; its return code."""
        with _signals_deferred():
            self.signal_group(signal.SIGKILL)
            rc = self.proc.wait()
            _LIVE_CHILDREN.discard(self)
            return rc

    def exit_text(self) -> str:
        rc = self.proc.returncode if self.proc.returncode is not None else self.peek_status()
        if rc is None:
            return "running"
        if rc < 0:
            try:
                return f"killed by {signal.Signals(-rc).name}"
            except ValueError:
                return f"killed by signal {-rc}"
        return f"exit status {rc}"

    def peek_status(self) -> int | None:
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return None
        if info is None:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    def stderr_tail(self) -> str:
        lines = [ln.strip() for ln in _read(self.stderr_path).splitlines() if ln.strip()]
        return lines[-1][:200] if lines else ""


def _last_cpu(pid: int) -> int | None:
    """The CPU process `pid` last ran on (/proc/PID/stat field 39)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[36])
    except (OSError, IndexError, ValueError):
        return None


class TracerError(Exception):
    """The tracer could not be attached or stopped properly; the message is the row's reason."""


class Attached:
    """One tracer process attached to one target: start, ready, stop, counts, always reaped.

    Used by `overhead` runs and by the benchmarks' --tracer option."""

    def __init__(self, tracer: Tracer, target: Target, cpus: set[int] | None = None,
                 workload: list[str] | None = None):
        self.tracer, self.target, self.cpus = tracer, target, cpus
        self.child: Child | None = None
        self.cpus_seen: set[int] = set()
        argv = tracer.command(target, workload)
        if argv:
            self.child = Child(argv, os.path.join(target.workdir, "tracer.out"),
                               os.path.join(target.workdir, "tracer.err"), target.workdir, cpus)

    @property
    def argv(self) -> list[str]:
        return self.child.argv if self.child else []

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child else None

    def output(self) -> tuple[str, str]:
        if not self.child:
            return "", ""
        return _read(self.child.stdout_path), _read(self.child.stderr_path)

    def wait_ready(self, timeout: float = READY_TIMEOUT, alive=lambda: True) -> None:
        """Until the tracer says it is attached; TracerError if it exits or never gets there."""
        if not self.child:
            return
        deadline = time.monotonic() + timeout
        while True:
            if self.child.ended():
                raise TracerError(self._died("before it was ready"))
            if self.tracer.ready(self.target, self.child.pid, *self.output()):
                break
            if not alive():
                raise TracerError("the workload exited while the tracer was starting")
            if time.monotonic() >= deadline:
                raise TracerError(f"not ready after {timeout:g} s ({self._ready_what()})")
            time.sleep(POLL)
        self.sample_cpu()
        end = time.monotonic() + self.tracer.settle
        while time.monotonic() < end:
            if self.child.ended():
                raise TracerError(self._died("right after it was ready"))
            time.sleep(POLL)

    def _ready_what(self) -> str:
        t = self.tracer
        if isinstance(t, _tracers.Template):
            return f"no output line matched --ready-regex {t.regex.pattern!r}" if t.regex \
                else "still starting"
        if isinstance(t, _tracers._Perf):
            return "its perf events were not all opened"
        if isinstance(t, _tracers._Strace):
            return "the threads are not ptraced by it"
        return f"no {_tracers.READY_MARK!r} line from its BEGIN probe"

    def _died(self, when: str) -> str:
        tail = self.child.stderr_tail() or _read(self.child.stdout_path).strip()[-200:]
        return f"tracer {self.child.exit_text()} {when}" + (f": {tail}" if tail else "")

    def sample_cpu(self) -> None:
        if self.child and not self.child.ended():
            cpu = _last_cpu(self.child.pid)
            if cpu is not None:
                self.cpus_seen.add(cpu)

    def _activity(self) -> tuple:
        """CPU ticks of the tracer and sizes of its files: unchanged while it is idle."""
        try:
            with open(f"/proc/{self.child.pid}/stat") as f:
                ticks = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
        except (OSError, ValueError):
            ticks = None
        sizes = []
        for name in sorted(os.listdir(self.target.workdir)):
            try:
                sizes.append(os.path.getsize(os.path.join(self.target.workdir, name)))
            except OSError:
                pass
        return ticks, tuple(sizes)

    def drain(self, quiet: float = DRAIN_QUIET, limit: float = DRAIN_LIMIT) -> float:
        """After the run: wait until the tracer has caught up (no CPU time used, no output
        written for `quiet` s), so events still in its buffers are not cut off by the stop
        signal (perf trace, for one, exits on SIGINT without reading what is left).
        Returns the seconds waited."""
        if not self.child:
            return 0.0
        t0 = time.monotonic()
        last, since = self._activity(), t0
        while not self.child.ended():
            time.sleep(POLL * 2.5)
            now = time.monotonic()
            cur = self._activity()
            if cur != last:
                last, since = cur, now
            elif now - since >= quiet or now - t0 >= limit:
                break
        return time.monotonic() - t0

    def stop(self, grace: float = STOP_GRACE) -> str | None:
        """Stop and reap the tracer; returns a problem worth reporting, or None."""
        if not self.child:
            return None
        ended_alone = self.child.ended()
        self.sample_cpu()
        self.child.stop(grace)
        rc = self.child.reap()
        if ended_alone and rc != 0:
            return self._died("during the run")
        return None  # a tracer that needed SIGTERM/SIGKILL is noted (stopped_by), not failed

    def counted(self) -> _tracers.Counted:
        try:
            return self.tracer.counted(self.target, *self.output())
        except (OSError, ValueError) as e:
            return _tracers.Counted(None, {"parse_error": str(e)})

    def close(self) -> None:
        if self.child:
            self.child.reap()


# ---- environment ---------------------------------------------------------------------------

def _cmd_line(argv: list[str]) -> str | None:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (r.stdout.strip() or r.stderr.strip()).splitlines()
    return text[0].strip() if text else None


def _cpuinfo() -> dict:
    model = flags = None
    for line in _read("/proc/cpuinfo").splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key == "flags" and flags is None:
            flags = value.split()
    return {"model": model or platform.processor() or "unknown", "flags": flags or []}


def _cpu_list(cpus) -> str:
    cpus = sorted(cpus)
    out, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}")
        i = j + 1
    return ",".join(out)


def environment(tracee_cpus=None, tracer_cpus=None, tools=()) -> dict:
    """Kernel, CPU, virtualization, mitigations and pinning: what a result depends on."""
    info = _cpuinfo()
    virt = {"hypervisor_flag": "hypervisor" in info["flags"]}
    if shutil.which("systemd-detect-virt"):
        for key, flag in (("vm", "--vm"), ("container", "--container")):
            virt[key] = _cmd_line(["systemd-detect-virt", flag]) or "none"
    hyp = _read("/sys/hypervisor/type").strip()
    if hyp:
        virt["sys_hypervisor"] = hyp
    vuln_dir = "/sys/devices/system/cpu/vulnerabilities"
    try:
        vulns = {n: _read(os.path.join(vuln_dir, n)).strip() for n in sorted(os.listdir(vuln_dir))}
    except OSError:
        vulns = {}
    cmdline_mit = re.search(r"(?:^|\s)mitigations=(\S+)", _read("/proc/cmdline"))
    allowed = os.sched_getaffinity(0)
    u = os.uname()
    env = {
        "kernel": u.release, "kernel_version": u.version, "machine": u.machine,
        "cpu_model": info["model"], "cpus_online": os.cpu_count(), "cpus_allowed": _cpu_list(allowed),
        "virtualization": virt,
        "mitigations": {"cmdline": cmdline_mit[1] if cmdline_mit else None, "vulnerabilities": vulns},
        "tracee_cpu": _cpu_list(tracee_cpus) if tracee_cpus else None,
        "tracer_cpu": _cpu_list(tracer_cpus) if tracer_cpus else f"unpinned ({_cpu_list(allowed)})",
        "python": platform.python_version(),
        "ioworkload": _version(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "euid": os.geteuid(),
        "loadavg": _loadavg(),
    }
    env["tools"] = {}
    for prog, flag in tools:
        if shutil.which(prog):
            env["tools"][prog] = _cmd_line([prog, flag])
    return env


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _version() -> str:
    from ioworkload import __version__
    return __version__


def machine_line(env: dict) -> str:
    """One line: kernel, CPU, virtualization, mitigations, pinning."""
    v = env["virtualization"]
    kinds = [k for k in (v.get("vm"), v.get("container"), v.get("sys_hypervisor")) if k and k != "none"]
    if not kinds and v.get("hypervisor_flag"):
        kinds = ["hypervisor"]
    virt = "+".join(kinds) or "bare metal"
    vulns = env["mitigations"]["vulnerabilities"]
    if vulns:
        spectre = vulns.get("spectre_v2", "")
        mit = "mitigations " + ("off" if env["mitigations"]["cmdline"] == "off" else "on")
        if spectre:
            mit += f" (spectre_v2: {spectre.split(';')[0].replace('Mitigation: ', '')})"
    else:
        mit = "mitigations unknown"
    return (f"Linux {env['kernel']} {env['machine']}, {env['cpu_model']} x{env['cpus_online']}, "
            f"{virt}, {mit}; tracee on CPU {env['tracee_cpu']}, tracer {env['tracer_cpu']}")


def read_interrupts() -> dict[str, list[int]]:
    """Per-CPU counts of the /proc/interrupts rows IWI, CAL, RES, LOC."""
    lines = _read("/proc/interrupts").splitlines()
    if not lines:
        return {}
    ncpu = len(lines[0].split())
    out = {}
    for line in lines[1:]:
        label, _, rest = line.partition(":")
        label = label.strip()
        if label in IRQ_ROWS:
            try:
                out[label] = [int(x) for x in rest.split()[:ncpu]]
            except ValueError:
                pass
    return out


def _irq_delta(before: dict, after: dict) -> dict[str, list[int]]:
    return {k: [b - a for a, b in zip(before[k], after[k])] for k in before if k in after}


# ---- one run -------------------------------------------------------------------------------

@dataclass
class Options:
    scenario: object
    iterations: int | None
    duration: float | None
    repeat: int
    tracee_cpu: int
    tracer_cpus: set[int] | None
    timeout: float = RUN_TIMEOUT
    ready_timeout: float = READY_TIMEOUT
    workdir: str = ""


@dataclass
class Row:
    tracer: Tracer
    status: str = "ok"                  # ok | unavailable | failed
    reason: str | None = None
    runs: list = field(default_factory=list)
    # filled by _summarize
    ns: dict | None = None
    slowdown: dict | None = None
    added: float | None = None
    accuracy: float | None = None
    accuracy_range: dict | None = None
    irq: dict = field(default_factory=dict)


def _workload_argv(opts: Options, start_file: str, tid_file: str) -> list[str]:
    amount = ["--duration", f"{opts.duration:g}"] if opts.duration else \
        ["--iterations", str(opts.iterations)]
    return [sys.executable, "-m", "ioworkload", opts.scenario.name, *amount, "--json",
            "--start-file", start_file, "--start-timeout", f"{opts.ready_timeout + 30:g}",
            "--tid-file", tid_file, "--cpu", str(opts.tracee_cpu)]


def _wait_pid_line(stdout_path: str, child: Child) -> int:
    deadline = time.monotonic() + PID_TIMEOUT
    while True:
        text = _read(stdout_path)
        if "\n" in text:
            first = text.split("\n", 1)[0].strip()
            if first.isdigit():
                return int(first)
            raise ScenarioFailed(f"the workload printed {first[:80]!r} instead of its PID")
        if child.ended():
            child.reap()
            what = child.stderr_tail()
            raise ScenarioFailed(f"the workload {child.exit_text()} before it started"
                                 + (f": {what}" if what else ""))
        if time.monotonic() >= deadline:
            raise ScenarioFailed(f"the workload printed no PID within {PID_TIMEOUT:g} s")
        time.sleep(POLL / 2)


def _read_tids(path: str) -> list[int]:
    return [int(x) for x in _read(path).split()]


def run_once(tracer: Tracer, opts: Options, label: str, run: dict | None = None) -> dict:
    """One timed run of the workload under `tracer`, filling `run` (the JSON report's dict; a
    caller that passes its own keeps the PIDs even if a Ctrl-C ends the run). A tracer
    problem is the run's `error`; a workload problem raises ScenarioFailed."""
    d = tempfile.mkdtemp(prefix=f"{label}-", dir=opts.workdir)
    start_file, tid_file = os.path.join(d, "start"), os.path.join(d, "tids")
    wl_argv = _workload_argv(opts, start_file, tid_file)
    sc = opts.scenario
    run = {} if run is None else run
    run["error"] = None
    workload: Child | None = None
    ender: Child | None = None          # the process whose exit ends the run
    att: Attached | None = None
    try:
        if tracer.starts_workload:
            # the tracer runs the workload: its stdout is the workload's
            target = Target(None, [], sc.syscalls, sc.helper_threads, d)
            att = Attached(tracer, target, opts.tracer_cpus, wl_argv)
            run["tracer_pid"] = att.pid
            ender, out_path = att.child, att.child.stdout_path
            pid = _wait_pid_line(out_path, ender)
            target.pid, target.tids = pid, _read_tids(tid_file)
        else:
            workload = Child(wl_argv, os.path.join(d, "workload.out"),
                             os.path.join(d, "workload.err"), d)
            ender, out_path = workload, workload.stdout_path
            run["workload_pid"] = workload.pid
            pid = _wait_pid_line(out_path, workload)
            target = Target(pid, _read_tids(tid_file), sc.syscalls, sc.helper_threads, d)
            att = Attached(tracer, target, opts.tracer_cpus)
            run["tracer_pid"] = att.pid
        run["workload_pid"] = pid
        run["tids"] = target.tids
        run["command"] = att.argv
        try:
            att.wait_ready(opts.ready_timeout, alive=lambda: not ender.ended())
        except TracerError as e:
            run["error"] = str(e)
            return run

        irq0 = read_interrupts()
        with open(start_file, "w"):
            pass
        deadline = time.monotonic() + opts.timeout
        next_sample = 0.0
        while not ender.ended():
            now = time.monotonic()
            if now >= deadline:
                run["error"] = f"timed out after {opts.timeout:g} s"
                _interrupt_workload(pid, ender)
                return run
            if now >= next_sample and att.child is not ender:
                att.sample_cpu()
                next_sample = now + 0.05
            time.sleep(POLL)
        irq1 = read_interrupts()
        if att.child is not ender:
            run["drain_s"] = round(att.drain(), 3)
            problem = att.stop()
            if problem:
                run["error"] = problem
        else:
            att.sample_cpu()
            att.child.reap()
        rc = ender.reap()
        run["tracer_cpus"] = sorted(att.cpus_seen)
        run["tracer_stopped_by"] = att.child.stop_signal if att.child else None
        run["tracer_exit"] = att.child.exit_text() if att.child else None
        run["interrupts"] = _irq_delta(irq0, irq1)
        res = _workload_result(_read(out_path), rc, ender)
        run.update(ns_per_syscall=res["ns_per_syscall"], elapsed_ns=res["elapsed_ns"],
                   syscalls=res["syscalls"], loop_syscalls=res["loop_syscalls"])
        expected = sum(c["count"] for c in res["calls"].values())
        counted = att.counted()
        run["expected_events"] = expected
        run["reported_events"] = counted.reported
        run["accuracy"] = (counted.reported / expected) if counted.reported is not None and expected \
            else None
        if counted.details:
            run["details"] = counted.details
        return run
    finally:
        with _signals_deferred():
            if ender is not None and run.get("workload_pid") and not ender.ended():
                _interrupt_workload(run["workload_pid"], ender)  # cut short: let it tear down
            if att is not None:
                att.close()
            if workload is not None:
                workload.reap()
            shutil.rmtree(d, ignore_errors=True)


def _interrupt_workload(pid: int, ender: Child) -> None:
    """A run that overstayed: SIGINT ends its loop (teardown runs), then the group is killed."""
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    ender.wait_end(5.0)


def _workload_result(text: str, rc: int, child: Child) -> dict:
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    try:
        res = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        res = None
    if rc == 77:
        raise Unsupported(child.stderr_tail().removeprefix("unsupported: "))
    if res is None or rc != 0:
        what = child.stderr_tail()
        raise ScenarioFailed(f"the workload {child.exit_text()}" + (f": {what}" if what else ""))
    if res.get("ns_per_syscall") is None:
        raise ScenarioFailed("the workload ran no timed loop (no ns_per_syscall)")
    return res


# ---- the study -----------------------------------------------------------------------------

def _stats(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def _summarize(rows: list[Row]) -> None:
    """Fill each row's per-run slowdown and its summary (paired with the round's `none`)."""
    base = {r["round"]: r for r in rows[0].runs if r.get("ns_per_syscall") and not r["error"]}
    base_median = statistics.median([r["ns_per_syscall"] for r in base.values()]) if base else None
    for row in rows:
        good = [r for r in row.runs if not r["error"] and r.get("ns_per_syscall")]
        for r in good:
            b = base.get(r["round"])
            if row.tracer.kind == "none":
                r["slowdown"] = r["ns_per_syscall"] / base_median
                r["added_ns"] = r["ns_per_syscall"] - base_median
            elif b:
                r["slowdown"] = r["ns_per_syscall"] / b["ns_per_syscall"]
                r["added_ns"] = r["ns_per_syscall"] - b["ns_per_syscall"]
        row.ns = _stats([r["ns_per_syscall"] for r in good])
        sl = _stats([r["slowdown"] for r in good if "slowdown" in r])
        if sl and row.tracer.kind == "none":
            sl["median"] = 1.0
        row.slowdown = sl
        added = [r["added_ns"] for r in good if "added_ns" in r]
        row.added = 0.0 if row.tracer.kind == "none" and added else \
            (statistics.median(added) if added else None)
        counted = [r for r in good if r.get("accuracy") is not None]
        row.accuracy = (sum(r["reported_events"] for r in counted)
                        / sum(r["expected_events"] for r in counted)) if counted else None
        row.accuracy_range = _stats([r["accuracy"] for r in counted])
        irq = {}
        for k in IRQ_ROWS:
            per_k = [1000 * sum(r["interrupts"][k]) / r["syscalls"] for r in good
                     if k in r.get("interrupts", {}) and r.get("syscalls")]
            if per_k:
                irq[k] = statistics.median(per_k)
        row.irq = irq


class Study:
    def __init__(self, opts: Options, tracers: list[Tracer], progress=None):
        self.opts = opts
        self.rows = [Row(t) for t in tracers]
        self.progress = progress
        self.warmup: dict | None = None
        self.interrupted: int | None = None
        sc = opts.scenario
        for row in self.rows:
            reason = row.tracer.unavailable(sc)
            if reason:
                row.status, row.reason = "unavailable", reason

    def run(self) -> None:
        opts = self.opts
        none = self.rows[0]
        self._say("warm-up run (untraced, not counted)")
        self.warmup = run_once(none.tracer, opts, "warmup")
        for rnd in range(1, opts.repeat + 1):
            for row in self.rows:
                if row.status != "ok":
                    continue
                self._say(f"round {rnd}/{opts.repeat}: {row.tracer.name}")
                r = {"round": rnd, "error": "interrupted"}
                row.runs.append(r)
                try:
                    run_once(row.tracer, opts, f"r{rnd}", r)
                except ScenarioFailed as e:
                    if row.tracer.kind == "none":
                        raise
                    r["error"] = str(e)  # under this tracer only: the tracer's doing
                except KeyboardInterrupt:
                    r["error"] = "interrupted"
                    raise
                if r["error"]:
                    if row.tracer.kind == "none":
                        raise ScenarioFailed(f"the untraced run failed: {r['error']}")
                    row.status, row.reason = "failed", r["error"]

    def _say(self, text: str) -> None:
        if self.progress:
            self.progress(text)

    def report(self, env: dict) -> dict:
        _summarize(self.rows)
        sc, o = self.opts.scenario, self.opts
        return {
            "schema": SCHEMA,
            "scenario": sc.name, "family": sc.family, "syscalls": sc.syscalls,
            "iterations": o.iterations, "duration": o.duration, "repeat": o.repeat,
            "interrupted": self.interrupted,
            "environment": env,
            "machine": machine_line(env),
            "warmup": self.warmup,
            "tracers": [{
                "name": row.tracer.name, "kind": row.tracer.kind, "summary": row.tracer.summary,
                "command": row.tracer.display(sc), "status": row.status, "reason": row.reason,
                "ns_per_syscall": row.ns, "slowdown": row.slowdown,
                "added_ns_per_syscall": row.added, "accuracy": row.accuracy,
                "accuracy_range": row.accuracy_range, "interrupts_per_1k_syscalls": row.irq,
                "runs": row.runs,
            } for row in self.rows],
        }


# ---- output --------------------------------------------------------------------------------

def _fmt_ns(v) -> str:
    return "-" if v is None else (f"{v:,.0f}" if v >= 1000 else f"{v:.1f}")


def _fmt_x(v) -> str:
    return "-" if v is None else (f"{v:,.0f}x" if v >= 100 else f"{v:.3g}x" if v >= 10 else f"{v:.2f}x")


def format_table(rep: dict) -> str:
    amount = f"{rep['duration']:g} s" if rep["duration"] else f"{rep['iterations']:,} iterations"
    out = [f"ioworkload overhead: {rep['scenario']} ({', '.join(rep['syscalls'])}), {amount} x "
           f"{rep['repeat']} interleaved rounds",
           f"machine: {rep['machine']}", ""]
    head = ("tracer", "ns/syscall min", "median", "max", "slowdown", "(min-max)", "+ns/call",
            "accuracy", "IWI/1k", "CAL/1k", "RES/1k")
    lines = []
    for t in rep["tracers"]:
        name = t["name"] if len(t["name"]) <= 28 else t["name"][:25] + "..."
        if t["status"] == "unavailable" or (t["status"] == "failed" and not t["ns_per_syscall"]):
            lines.append((name, f"{t['status']}: {t['reason']}"))
            continue
        if not t["ns_per_syscall"]:
            last = t["runs"][-1]["error"] if t["runs"] else None
            lines.append((name, "not measured" + (f": {last}" if last else "")))
            continue
        ns, sl = t["ns_per_syscall"] or {}, t["slowdown"] or {}
        acc = t["accuracy"]
        rng = t["accuracy_range"]
        acc_s = "-" if acc is None else (f"{acc:.4f}" if not rng or rng["min"] == rng["max"]
                                         else f"{rng['min']:.4f}-{rng['max']:.4f}")
        irq = t["interrupts_per_1k_syscalls"]
        cells = (name, _fmt_ns(ns.get("min")), _fmt_ns(ns.get("median")), _fmt_ns(ns.get("max")),
                 _fmt_x(sl.get("median")),
                 f"({_fmt_x(sl['min'])}-{_fmt_x(sl['max'])})" if sl else "",
                 _fmt_ns(t["added_ns_per_syscall"]), acc_s,
                 *(f"{irq[k]:.2f}" if k in irq else "-" for k in ("IWI", "CAL", "RES")))
        if t["status"] == "failed":
            cells += (f"failed after {len(t['runs']) - 1} runs: {t['reason']}",)
        lines.append(cells)
    widths = [max([len(head[i])] + [len(c[i]) for c in lines if len(c) > 2]) for i in range(len(head))]
    fmt = lambda cells: "  ".join(  # noqa: E731
        c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells[:len(head)]))
    out.append(fmt(head))
    for c in lines:
        if len(c) == 2:
            out.append(f"{c[0].ljust(widths[0])}  {c[1]}")
        else:
            out.append(fmt(c) + (f"  {c[len(head)]}" if len(c) > len(head) else ""))
    out += ["", "slowdown: median of traced/untraced ns per syscall over runs paired by round; "
                "accuracy: events the tracer reported / syscalls issued (from the workload's tallies); "
                "IWI/CAL/RES: irq-work, function-call and reschedule interrupts per 1000 syscalls."]
    for t in rep["tracers"]:
        hard = [r["tracer_stopped_by"] for r in t["runs"] if r.get("tracer_stopped_by") in
                ("SIGTERM", "SIGKILL")]
        if hard:
            out.append(f"note: {t['name']}: {len(hard)} of {len(t['runs'])} runs did not stop on "
                       f"SIGINT within {STOP_GRACE:g} s ({', '.join(sorted(set(hard)))} needed)")
        lost = sum((r.get("details") or {}).get("lost", 0) for r in t["runs"])
        if lost:
            out.append(f"note: {t['name']}: the tracer itself reported {lost:,} lost events")
    load = rep["environment"].get("loadavg")
    if load is not None and load > 0.75 * (rep["environment"].get("cpus_online") or 1):
        out.append(f"note: load average {load:.2f} at the start: other processes shared these "
                   "CPUs, so the figures are noisier than on an idle machine")
    if rep["interrupted"]:
        out.append(f"interrupted by {signal.Signals(rep['interrupted']).name}: partial result")
    return "\n".join(out) + "\n"


def check_plot(path: str) -> str:
    """Validate --plot before anything runs: format by suffix, matplotlib present, dir writable."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in ("png", "svg"):
        raise UsageError(f"--plot {path}: the file name must end in .png or .svg")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--plot {path}: directory {parent} is not writable")
    if os.path.isdir(path):
        raise UsageError(f"--plot {path} is a directory")
    try:
        import matplotlib
    except ImportError:
        raise UsageError(f"--plot needs matplotlib: {PLOT_HINT}") from None
    del matplotlib
    return ext


def write_plot(rep: dict, path: str) -> None:
    """Slowdown per tracer on a log axis, min/max whiskers, titled with scenario and machine."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [t for t in rep["tracers"] if t["slowdown"]]
    missing = [t for t in rep["tracers"] if not t["slowdown"]]
    names = [t["name"] if len(t["name"]) <= 30 else t["name"][:27] + "..." for t in rows]
    med = [t["slowdown"]["median"] for t in rows]
    lo = [max(0.0, m - t["slowdown"]["min"]) for m, t in zip(med, rows)]
    hi = [max(0.0, t["slowdown"]["max"] - m) for m, t in zip(med, rows)]
    fig, ax = plt.subplots(figsize=(9, 1.9 + 0.42 * max(1, len(rows))))
    y = list(range(len(rows)))
    colors = ["#777777" if t["kind"] == "none" else "#1f77b4" if t["accuracy"] in (None, 1.0)
              else "#d62728" for t in rows]
    ax.barh(y, [m - 1 if m > 1 else 0 for m in med], left=1, height=0.5, color=colors, alpha=0.35)
    ax.errorbar(med, y, xerr=[lo, hi], fmt="none", ecolor="black", capsize=4, lw=1)
    ax.scatter(med, y, color=colors, zorder=3, s=22)
    ax.set_xscale("log")
    top = max([t["slowdown"]["max"] for t in rows] + [2.0])
    ax.set_xlim(0.8, top * 3)
    for yi, t, m in zip(y, rows, med):
        label = _fmt_x(m)
        if t["accuracy"] is not None:
            label += f"   accuracy {t['accuracy']:.4f}"
        ax.text(t["slowdown"]["max"] * 1.12, yi, label, va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("slowdown vs untraced, log scale (median of paired runs; whiskers: min-max)")
    amount = f"{rep['duration']:g} s" if rep["duration"] else f"{rep['iterations']:,} iterations"
    import textwrap
    ax.set_title(f"ioworkload overhead: {rep['scenario']} ({amount} x {rep['repeat']} rounds)\n"
                 + textwrap.fill(rep["machine"], 115), fontsize=9)
    if missing:
        fig.text(0.01, 0.01, "not measured: " + "; ".join(
            f"{t['name'][:30]} ({t['status']}: {(t['reason'] or '')[:60]})" for t in missing),
            fontsize=7, wrap=True)
    if any(c == "#d62728" for c in colors):
        ax.text(0.99, 0.01, "red: the tracer reported fewer events than were issued",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="#d62728")
    ax.grid(axis="x", which="both", alpha=0.25)
    fig.tight_layout(rect=(0, 0.04 if missing else 0, 1, 1))
    fig.savefig(path, format=os.path.splitext(path)[1].lower().lstrip("."), dpi=130)
    plt.close(fig)


# ---- command line --------------------------------------------------------------------------

def _parser():
    from ioworkload.cli import _Parser
    p = _Parser(prog="ioworkload overhead",
                description="Measure how much each tracer slows a scenario's syscall stream and "
                            "whether it counted every event.",
                epilog="Tracer presets: " + ", ".join(_tracers.PRESETS) + ". A custom tracer is a "
                       "command with {pid} (also {tid}, {syscalls}, {comm}), e.g. "
                       "--tracer 'strace -c -p {tid}'.")
    p.add_argument("scenario")
    p.add_argument("--tracer", action="append", metavar="T",
                   help="a preset or a command template; repeatable (default: every preset)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--iterations", "-n", metavar="N",
                   help=f"iterations per run (default {DEFAULT_ITERATIONS:,})")
    g.add_argument("--duration", "-d", metavar="SECONDS", help="run this long instead")
    p.add_argument("--repeat", "-r", default=str(DEFAULT_REPEAT), metavar="R",
                   help=f"interleaved rounds (default {DEFAULT_REPEAT})")
    p.add_argument("--cpu", metavar="C", help="tracee CPU (default: the last CPU)")
    p.add_argument("--tracer-cpu", metavar="LIST", help="pin tracers to these CPUs (default: unpinned)")
    p.add_argument("--ready-regex", metavar="RE", help="custom tracers: ready when a line matches")
    p.add_argument("--settle", metavar="SECONDS",
                   help="custom tracers: wait this long after start (or after --ready-regex)")
    p.add_argument("--ready-timeout", default=str(READY_TIMEOUT), metavar="SECONDS",
                   help=f"give up on a tracer not ready by then (default {READY_TIMEOUT:g})")
    p.add_argument("--timeout", metavar="SECONDS",
                   help=f"give up on a run after this long (default {RUN_TIMEOUT:g}, "
                        f"plus --duration)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--plot", metavar="FILE", help="write a chart (.png or .svg; needs matplotlib)")
    return p


def _tracer_list(args) -> list[Tracer]:
    settle = None
    if args.settle is not None:
        settle = parse_seconds(args.settle, "--settle", allow_zero=True)
    specs = args.tracer or list(_tracers.PRESETS)
    out: list[Tracer] = [_tracers.NoTracer()]
    seen = {"none"}
    for spec in specs:
        t = _tracers.resolve(spec, args.ready_regex, settle)
        if t.name not in seen:
            seen.add(t.name)
            out.append(t)
    return out


def parse(argv: list[str]) -> tuple[Options, list[Tracer], object]:
    from ioworkload.cli import _parse_cpus
    args = _parser().parse_args(argv)
    sc = registry.get(args.scenario)
    iterations = duration = None
    if args.duration is not None:
        duration = parse_seconds(args.duration)
    else:
        iterations = parse_count(args.iterations if args.iterations is not None else DEFAULT_ITERATIONS)
    repeat = parse_count(args.repeat, "repeat", maximum=1000)
    if args.cpu is not None:
        cpus = _parse_cpus(args.cpu)
        if len(cpus) != 1:
            raise UsageError(f"--cpu takes one CPU for the tracee, not {args.cpu!r}")
        tracee = cpus.pop()
    else:
        tracee = max(os.sched_getaffinity(0))
    tracer_cpus = _parse_cpus(args.tracer_cpu, "--tracer-cpu") if args.tracer_cpu is not None \
        else None
    tracers = _tracer_list(args)
    if args.timeout is None:
        timeout = RUN_TIMEOUT + (duration or 0)
    else:
        timeout = parse_seconds(args.timeout, "--timeout")
        if duration and timeout <= duration:
            raise UsageError(f"--timeout {args.timeout} must be longer than --duration "
                             f"{args.duration}")
    opts = Options(sc, iterations, duration, repeat, tracee, tracer_cpus, timeout=timeout,
                   ready_timeout=parse_seconds(args.ready_timeout, "--ready-timeout"))
    if args.plot is not None:
        check_plot(args.plot)
    reason = sc.unsupported_reason()
    if reason:
        raise Unsupported(reason)
    return opts, tracers, args


TOOL_VERSIONS = (("perf", "--version"), ("strace", "-V"), ("bpftrace", "--version"))


def study(opts: Options, tracers: list[Tracer], progress=None) -> dict:
    """Run the study; the report dict (also after Ctrl-C/SIGTERM/SIGHUP, with `interrupted` set)."""
    st = Study(opts, tracers, progress)
    used = {t.program for t in tracers if t.program}
    env = environment({opts.tracee_cpu}, opts.tracer_cpus,
                      [tv for tv in TOOL_VERSIONS if tv[0] in used])

    def on_term(signum, frame):
        raise _Terminated(signum)

    old = {sig: signal.signal(sig, on_term) for sig in (signal.SIGTERM, signal.SIGHUP)
           if signal.getsignal(sig) is not signal.SIG_IGN}  # nohup'd: leave it ignored
    own_dir = not opts.workdir
    if own_dir:
        from ioworkload.runner import make_temp_dir
        opts.workdir = make_temp_dir("ioworkload-overhead-")
    try:
        st.run()
    except KeyboardInterrupt as e:
        st.interrupted = e.signum if isinstance(e, _Terminated) else signal.SIGINT
    finally:
        # Already stopping (or done): a further stop signal must not cut the cleanup short.
        held = {sig: signal.signal(sig, lambda signum, frame: None) for sig in STOP_SIGNALS
                if signal.getsignal(sig) not in (signal.SIG_IGN, None)}
        try:
            for child in list(_LIVE_CHILDREN):  # started, but a signal came before it was ours
                child.stop(grace=TERM_GRACE)
                child.reap()
            if own_dir:
                shutil.rmtree(opts.workdir, ignore_errors=True)
                opts.workdir = ""
        finally:
            for sig, prev in held.items():
                signal.signal(sig, prev)
            for sig, prev in old.items():
                signal.signal(sig, prev)
    return st.report(env)


def main(argv: list[str]) -> int:
    opts, tracers, args = parse(argv)
    def show(text):
        sys.stderr.write(f"\r\033[K{text}")
        sys.stderr.flush()

    progress = show if not args.json and sys.stderr.isatty() else None
    rep = study(opts, tracers, progress)
    if progress:
        sys.stderr.write("\r\033[K")
    if args.json:
        sys.stdout.write(json.dumps(rep) + "\n")
    else:
        sys.stdout.write(format_table(rep))
    sys.stdout.flush()
    if args.plot and rep["tracers"][0]["slowdown"]:
        write_plot(rep, args.plot)
        if not args.json:
            sys.stdout.write(f"chart written to {args.plot}\n")
    if rep["interrupted"]:
        return 128 + rep["interrupted"]
    return EXIT_OK if rep["tracers"][0]["slowdown"] else EXIT_FAILED
