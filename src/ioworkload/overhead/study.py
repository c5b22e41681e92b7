"""`ioworkload overhead SCENARIO`: how much each tracer slows a known syscall stream, and
whether it saw every event. This module runs the study and returns its report dict; the
command line is overhead_cli.py, the text table overhead_report.py, the chart overhead_chart.py.

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

from ioworkload.overhead import bpf_stats, tracers as _tracers
from ioworkload.overhead.deferred import signals_deferred as _signals_deferred
from ioworkload.core.args import format_seconds
from ioworkload.core.errors import ScenarioFailed, Unsupported
from ioworkload.core.args import timeout_scale
from ioworkload.core.runner import STOP_SIGNALS
from ioworkload.overhead.tracers import Target, Tracer, read_text as _read

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
TRACED_SECONDS = 2.0        # a traced run's loop is aimed at this long at most (estimated)
MIN_SCALED_ITERATIONS = 1000


class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C: stop, clean up (tracers included: they run in
    their own sessions, so a hang-up would not reach them), report what was measured."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


# ---- child processes -----------------------------------------------------------------------

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
        timeout *= timeout_scale()  # a slow guest: IOWORKLOAD_TIMEOUT_SCALE
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
        end = time.monotonic() + self.tracer.settle * timeout_scale()
        while time.monotonic() < end:
            if self.child.ended():
                # without a ready signal, the settle time is the wait for readiness itself
                raise TracerError(self._died("right after it was ready" if self.tracer.signals_ready
                                             else "before it was ready"))
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
            self.tracer.cleanup(self.target)


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
    # per-tracer iteration scaling: a tracer whose run would take longer than this (by its
    # rough cost per call) runs fewer iterations; 0 never scales
    traced_seconds: float = TRACED_SECONDS
    bpf_cost: bool = False      # one more run per eBPF tracer with kernel.bpf_stats_enabled on
    rate: float | None = None   # paced runs: iterations per second (the workload's --rate)


@dataclass
class Row:
    tracer: Tracer
    status: str = "ok"                  # ok | unavailable | failed
    reason: str | None = None
    runs: list = field(default_factory=list)
    bpf: dict | None = None             # what its eBPF programs cost (bpf_stats.summary)
    bpf_run: dict | None = None         # the extra run that measured it
    iterations: int | None = None       # this tracer's iterations per run (scaled), None: opts'
    # filled by _summarize
    ns: dict | None = None
    slowdown: dict | None = None
    added: float | None = None
    accuracy: float | None = None
    accuracy_range: dict | None = None
    irq: dict = field(default_factory=dict)


def _workload_argv(opts: Options, start_file: str, tid_file: str,
                   iterations: int | None = None) -> list[str]:
    amount = ["--duration", f"{opts.duration:g}"] if opts.duration else \
        ["--iterations", str(iterations or opts.iterations)]
    if opts.rate:
        amount += ["--rate", f"{opts.rate:g}"]
    return [sys.executable, "-m", "ioworkload", opts.scenario.name, *amount, "--json",
            "--start-file", start_file, "--start-timeout", f"{opts.ready_timeout + 30:g}",
            "--tid-file", tid_file, "--cpu", str(opts.tracee_cpu)]


def _wait_pid_line(stdout_path: str, child: Child) -> int:
    pid_timeout = PID_TIMEOUT * timeout_scale()
    deadline = time.monotonic() + pid_timeout
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
            raise ScenarioFailed(f"the workload printed no PID within {pid_timeout:g} s")
        time.sleep(POLL / 2)


def _read_tids(path: str) -> list[int]:
    return [int(x) for x in _read(path).split()]


def run_once(tracer: Tracer, opts: Options, label: str, run: dict | None = None,
             iterations: int | None = None, read_bpf: bool = False) -> dict:
    """One timed run of the workload under `tracer`, filling `run` (the JSON report's dict; a
    caller that passes its own keeps the PIDs even if a Ctrl-C ends the run). A tracer
    problem is the run's `error`; a workload problem raises ScenarioFailed. `iterations`
    overrides opts.iterations (a scaled tracer). read_bpf: the run's `bpf` is what the
    tracer's eBPF programs cost by the kernel's statistics (the caller turns them on)."""
    d = tempfile.mkdtemp(prefix=f"{label}-", dir=opts.workdir)
    start_file, tid_file = os.path.join(d, "start"), os.path.join(d, "tids")
    wl_argv = _workload_argv(opts, start_file, tid_file, iterations)
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
        programs = None
        if att.child is not ender:
            run["drain_s"] = round(att.drain(), 3)
            if read_bpf:
                programs = bpf_stats.programs_of_group(att.child.pid)
            elif tracer.kind == "custom":
                # whether the extra statistics run is worth it for this command
                run["bpf_programs_held"] = len(bpf_stats.prog_ids_of_group(att.child.pid))
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
                   syscalls=res["syscalls"], loop_syscalls=res["loop_syscalls"],
                   iterations_done=sum(res.get("iterations_done") or [0]))
        expected = sum(c["count"] for c in res["calls"].values())
        if read_bpf:
            run["bpf"] = bpf_stats.summary(programs or [], res["syscalls"])
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
            if run.get("error") and att is not None and att.child:
                run["tracer_stderr_tail"] = _tail(att.output()[1])
            if ender is not None and run.get("workload_pid") and not ender.ended():
                _interrupt_workload(run["workload_pid"], ender)  # cut short: let it tear down
            if att is not None:
                att.close()
            if workload is not None:
                workload.reap()
            shutil.rmtree(d, ignore_errors=True)


def _tail(text: str, lines: int = 12, width: int = 300) -> list[str]:
    return [ln[:width] for ln in text.rstrip().splitlines()[-lines:]]


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


def estimate(rows: list[Row], opts: Options, warmup: dict, warmup_s: float) -> dict:
    """The study's rough duration, from the untraced warm-up (its loop and its fixed cost:
    starting the workload, tearing it down) and each tracer's rough cost per call and start-up;
    runs likely to pass --timeout are named."""
    calls = warmup.get("loop_syscalls") or 0
    loop_s = (warmup.get("elapsed_ns") or 0) / 1e9
    fixed_s = max(0.0, warmup_s - loop_s)
    per_run: dict[str, float] = {}
    unknown = []
    for row in rows:
        if row.status != "ok":
            continue
        t = row.tracer
        if t.cost_ns is None:
            unknown.append(t.name)
            continue
        if opts.duration:  # a traced loop runs as long as the untraced one: fewer calls
            loop = opts.duration
        else:
            share = (row.iterations / opts.iterations) if row.iterations and opts.iterations \
                else 1.0
            loop = share * (loop_s + calls * t.cost_ns / 1e9)
        per_run[t.name] = fixed_s + t.start_s + loop
    total = sum(per_run.values()) * opts.repeat + warmup_s
    if opts.bpf_cost:  # the extra run of each eBPF tracer
        total += sum(s for n, s in per_run.items()
                     if next(r for r in rows if r.tracer.name == n).tracer.may_use_bpf)
    slow = sorted((n for n, s in per_run.items() if s - fixed_s > opts.timeout), key=per_run.get)
    runs = len(per_run) + len(unknown)
    text = (f"estimate: about {format_seconds(total)} ({opts.repeat} "
            f"round{'s' if opts.repeat != 1 else ''} of {runs} run{'s' if runs != 1 else ''}"
            + (", custom tracers not counted" if unknown else "") + ")")
    if slow:
        text += "; likely to pass the --timeout of " + f"{opts.timeout:g} s: " + ", ".join(
            f"{n} (~{format_seconds(per_run[n])})" for n in slow) + " (fewer --iterations?)"
    return {"seconds": round(total, 1), "per_run_seconds": {k: round(v, 2) for k, v in
                                                             per_run.items()},
            "over_timeout": slow, "text": text}


def _round2(n: float) -> int:
    """n rounded down to two significant digits (2,345 -> 2,300): iteration counts people read."""
    n = int(n)
    if n < 100:
        return n
    step = 10 ** (len(str(n)) - 2)
    return n // step * step


def scale_iterations(rows: list[Row], opts: Options, warmup: dict) -> None:
    """Per tracer: fewer iterations where its rough cost per call (tracer.cost_ns) would make a
    run last longer than opts.traced_seconds (strace: ~40 us a call). The untraced rows keep
    opts.iterations; ratios and added ns are per syscall, so runs of different lengths pair."""
    calls = warmup.get("loop_syscalls") or 0
    if not (opts.iterations and opts.traced_seconds and calls and warmup.get("elapsed_ns")):
        return
    per_iteration = calls / opts.iterations
    base_ns = warmup["elapsed_ns"] / calls
    for row in rows:
        t = row.tracer
        if row.status != "ok" or t.kind == "none" or t.cost_ns is None:
            continue
        fits = opts.traced_seconds * 1e9 / (per_iteration * (base_ns + t.cost_ns))
        if fits < opts.iterations:
            row.iterations = min(opts.iterations, max(MIN_SCALED_ITERATIONS, _round2(fits)))


def rescale(row: Row, opts: Options, run: dict) -> None:
    """After a traced run whose loop lasted well over opts.traced_seconds (the tracer costs
    more here than its rough cost said: perf trace in a VM), its next runs get fewer
    iterations, from the ns per iteration just measured."""
    if not (opts.iterations and opts.traced_seconds and row.tracer.kind != "none"
            and run.get("elapsed_ns")):
        return
    if run["elapsed_ns"] <= 1.5 * opts.traced_seconds * 1e9:
        return
    done = run.get("iterations_done") or row.iterations or opts.iterations
    fits = done * opts.traced_seconds * 1e9 / run["elapsed_ns"]
    row.iterations = min(opts.iterations, max(MIN_SCALED_ITERATIONS, _round2(fits)))


class Study:
    def __init__(self, opts: Options, tracers: list[Tracer], progress=None, announce=None):
        self.opts = opts
        self.rows = [Row(t) for t in tracers]
        self.progress = progress
        self.announce = announce
        self.estimate: dict | None = None
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
        t0 = time.monotonic()
        self.warmup = run_once(none.tracer, opts, "warmup")
        scale_iterations(self.rows, opts, self.warmup)
        self.estimate = estimate(self.rows, opts, self.warmup, time.monotonic() - t0)
        if self.announce:
            self.announce(self.estimate["text"])
        for rnd in range(1, opts.repeat + 1):
            for row in self.rows:
                if row.status != "ok":
                    continue
                self._say(f"round {rnd}/{opts.repeat}: {row.tracer.name}")
                r = {"round": rnd, "error": "interrupted"}
                row.runs.append(r)
                try:
                    run_once(row.tracer, opts, f"r{rnd}", r, row.iterations)
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
                else:
                    rescale(row, opts, r)
        if opts.bpf_cost:
            self._bpf_cost_runs()

    def _bpf_cost_runs(self) -> None:
        """One more run per eBPF tracer (the bpftrace presets, a custom template whose timed
        runs held BPF programs) with the kernel's BPF statistics on: they cost every program
        run two clock reads, so the timed rounds are done without them. The run's ns are not
        used for the slowdown."""
        why = bpf_stats.unavailable()
        for row in self.rows:
            if row.status != "ok" or not row.tracer.may_use_bpf:
                continue
            if row.tracer.kind == "custom" and not any(r.get("bpf_programs_held")
                                                       for r in row.runs):
                continue  # a command that loaded no BPF program: nothing to read
            if why:
                row.bpf = {"unavailable": why}
                continue
            if self.announce and not getattr(self, "_said_bpf_stats", False):
                self._said_bpf_stats = True  # a host-wide setting: say it when it changes
                self.announce("--bpf-cost: kernel.bpf_stats_enabled is on for one extra run per "
                              "eBPF tracer, then back to its old value")
            self._say(f"eBPF program statistics: {row.tracer.name}")
            r = {"round": "bpf", "error": "interrupted"}
            row.bpf_run = r
            try:
                with bpf_stats.enabled():
                    run_once(row.tracer, self.opts, "bpf", r, row.iterations, read_bpf=True)
            except ScenarioFailed as e:
                r["error"] = str(e)
            if r["error"]:
                row.bpf = {"error": r["error"]}
            elif r.get("bpf", {}).get("programs"):
                row.bpf = r["bpf"]

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
            "traced_seconds": o.traced_seconds,
            "bpf_cost": o.bpf_cost,
            "interrupted": self.interrupted,
            "environment": env,
            "machine": machine_line(env),
            "warmup": self.warmup,
            "estimate": self.estimate,
            "tracers": [{
                "name": row.tracer.name, "kind": row.tracer.kind, "summary": row.tracer.summary,
                "command": row.tracer.display(sc), "status": row.status, "reason": row.reason,
                "iterations": row.iterations or o.iterations,
                "scaled": row.iterations is not None and row.iterations != o.iterations,
                "ns_per_syscall": row.ns, "slowdown": row.slowdown,
                "added_ns_per_syscall": row.added, "accuracy": row.accuracy,
                "accuracy_range": row.accuracy_range, "interrupts_per_1k_syscalls": row.irq,
                "runs": row.runs, "bpf": row.bpf, "bpf_run": row.bpf_run,
                "may_use_bpf": row.tracer.may_use_bpf,
            } for row in self.rows],
        }


TOOL_VERSIONS = (("perf", "--version"), ("strace", "-V"), ("bpftrace", "--version"))


class _Context:
    interrupted: int | None = None


@contextlib.contextmanager
def study_context(opts: Options):
    """Around a study's runs: SIGTERM/SIGHUP become KeyboardInterrupt, a stop signal ends the
    runs (the context's `interrupted` tells which), every child left is stopped and reaped and
    the study's own directory removed, and a further stop signal cannot cut that short."""
    ctx = _Context()

    first: list[int] = []  # the stop signals in order: the first one names the exit code

    def on_stop(signum, frame):
        first.append(signum)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise _Terminated(signum)

    old = {sig: signal.signal(sig, on_stop) for sig in STOP_SIGNALS
           if signal.getsignal(sig) not in (signal.SIG_IGN, None)}  # nohup'd: leave it ignored
    own_dir = not opts.workdir
    if own_dir:
        from ioworkload.core.runner import make_temp_dir
        opts.workdir = make_temp_dir("ioworkload-overhead-")
    try:
        yield ctx
    except KeyboardInterrupt as e:
        # A later signal can replace the first one's exception while the first unwinds
        # (raised again when a deferred cleanup ends): the first one decides.
        ctx.interrupted = first[0] if first else (
            e.signum if isinstance(e, _Terminated) else signal.SIGINT)
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


def study(opts: Options, tracers: list[Tracer], progress=None, announce=None) -> dict:
    """Run the study; the report dict (also after Ctrl-C/SIGTERM/SIGHUP, with `interrupted` set).
    announce(text): told the study's estimated duration once the warm-up has run."""
    st = Study(opts, tracers, progress, announce)
    used = {t.program for t in tracers if t.program}
    env = environment({opts.tracee_cpu}, opts.tracer_cpus,
                      [tv for tv in TOOL_VERSIONS if tv[0] in used])
    with study_context(opts) as ctx:
        st.run()
    st.interrupted = ctx.interrupted
    return st.report(env)
