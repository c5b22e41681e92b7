"""spawn(): a scenario in a process of its own, held at the start line, for a test that attaches
a tracer by PID before a single counted syscall:

    with ioworkload.spawn("stat_statx", iterations=1000) as w:
        tracer = attach(w.pid)          # by PID: nothing undeclared happens in that process
        w.start()
        result = w.wait()
        compare(tracer_events(), w.expected)

It drives the command line's attach protocol (`--start-file`, `--hold-file`, `--expect-file`,
`--json`), so what a test sees is what a shell user sees. Leaving the `with` block (normally,
on an exception or on Ctrl-C) ends the run and removes everything it made.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import weakref

from ioworkload.core.errors import (EXIT_UNSUPPORTED, EXIT_USAGE, ScenarioFailed, Unsupported,
                               UsageError)
from ioworkload.core import expect, pidns
from ioworkload.core.runner import Result, make_temp_dir
from ioworkload.core.args import timeout_scale

READY_TIMEOUT = 30.0
# The spawned command's parent and its control directory: once its parent is another process
# (the controller died, the command was re-parented), the command stops as on SIGHUP instead
# of waiting out its timeouts, and removes the control directory nobody else will.
CONTROLLER_ENV = "IOWORKLOAD_CONTROLLER_PID"
CONTROL_DIR_ENV = "IOWORKLOAD_CONTROL_DIR"


class Workload:
    """A spawned scenario: `pid` (the scenario process), `tids` (its workers, `tids[0] == pid`),
    `dir` (its private directory), `expected` (the expect document). `start()` releases it,
    `wait()` returns its Result, `release()` lets it exit after `wait()` (it is held until then
    so a tracer can drain)."""

    def __init__(self, argv: list[str], control: str, ready_timeout: float,
                 wrapper: list[str] | None = None):
        self._control = control
        self._start = os.path.join(control, "start")
        self._hold = os.path.join(control, "hold")
        expect_path = os.path.join(control, "expect.json")
        # Under a wrapper the command's parent is the wrapper, not this process: it is not told
        # its controller (it would take itself for orphaned); its timeouts still end it.
        controller = {} if wrapper else {CONTROLLER_ENV: str(os.getpid()),
                                         CONTROL_DIR_ENV: control}
        self._proc = subprocess.Popen(
            list(wrapper or []) + argv + ["--start-file", self._start, "--hold-file", self._hold,
                                          "--expect-file", expect_path, "--json"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(os.environ, **controller))
        # A handle dropped without close() (or left open at exit) still ends the run and
        # removes its control directory; the callback holds no reference to the handle.
        self._finalizer = weakref.finalize(self, _end, self._proc, control, None)
        self._wait_lock = threading.Lock()
        self.result: Result | None = None
        try:
            line = self._line(ready_timeout, "its PID line")
            self.pid = int(line)
            # a wrapper that made a PID namespace (unshare --pid --fork): the ids here
            self._outer = pidns.outer_ids(self._proc.pid, self.pid) if wrapper else {}
            self.pid = self._outer.get(self.pid, self.pid)
            # the command itself, not its wrapper, is told to end (unshare --fork ignores SIGTERM)
            self._command_pid = _parent(self.pid) if wrapper else None
            if self._command_pid:  # (a dropped handle too)
                self._finalizer.detach()
                self._finalizer = weakref.finalize(self, _end, self._proc, control, None, 30.0,
                                                   self._command_pid)
            with open(expect_path) as f:
                self.expected: dict = expect.seen_from_outside(json.load(f), self._outer)
        except BaseException:
            self.close()
            raise
        self.tids: list[int] = [t["tid"] for t in self.expected["tasks"] if t["role"] == "worker"]
        self.ns_tids: list[int] = [t.get("ns_tid", t["tid"]) for t in self.expected["tasks"]
                                   if t["role"] == "worker"]
        self.dir: str | None = self.expected["dir"]

    def _line(self, timeout: float, what: str, watch=None) -> str:
        out = self._proc.stdout
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ScenarioFailed(f"timed out after {timeout:g} s waiting for {what}")
            if select.select([out], [], [], min(left, 0.5))[0]:
                line = out.readline()
                if line:
                    return line.decode()
                self._failed(what)
            elif self._proc.poll() is not None:
                self._failed(what)
            elif watch is not None:
                watch()

    def _failed(self, what: str):
        code = self._proc.wait()
        err = self._proc.stderr.read().decode(errors="replace").strip().splitlines()
        reason = err[-1] if err else f"exit status {code}"
        for prefix in ("unsupported: ", "ioworkload: error: "):
            if reason.startswith(prefix):
                reason = reason[len(prefix):]
        if code == EXIT_UNSUPPORTED:
            raise Unsupported(reason)
        if code == EXIT_USAGE:
            raise UsageError(reason)
        raise ScenarioFailed(f"the workload ended before {what}: {reason}")

    def start(self) -> None:
        """Release the run (the workers leave their start wait)."""
        open(self._start, "w").close()

    def wait(self, timeout: float | None = None, watch=None) -> Result:
        """The run's Result, once it is over (the process stays held until release()). Any
        number of threads may wait: each gets the same Result. watch: called every half
        second or so while the run goes on; what it raises ends the wait (a tracer that
        died: conformance.observe)."""
        deadline = time.monotonic() + (timeout if timeout is not None else 10**9)
        # one reader of the pipe at a time; the others wait their own timeout for its result
        if not self._wait_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise ScenarioFailed(f"timed out after {timeout:g} s waiting for the result")
        try:
            if self.result is None:
                self.result = result_from_json(self._line(deadline - time.monotonic(),
                                                          "the result", watch))
                if self._outer:
                    self.result.expected = expect.seen_from_outside(self.result.expected,
                                                                    self._outer)
                    self.result.pid = self.pid
                    self.result.tids = [self._outer.get(t, t) for t in self.result.tids]
        finally:
            self._wait_lock.release()
        return self.result

    def release(self) -> None:
        """Let the held process exit."""
        if os.path.isdir(self._control):
            open(self._hold, "w").close()

    def close(self, timeout: float = 30.0) -> int:
        """End the run whatever its state, reap it, remove the control files; its exit code."""
        self._finalizer.detach()
        self._resume()
        return _end(self._proc, self._control, self._hold if self.result is not None else None,
                    timeout, getattr(self, "_command_pid", None))

    def _resume(self) -> None:
        """A scenario process left stopped (a ptrace tracer that died after its attach's
        SIGSTOP, a SIGSTOP from outside) cannot leave, nor see the command's stop flag: let
        it go on. Only while it is still the command's child (its pid not yet reused), and
        only when stopped: a traced process would show its tracer the SIGCONT."""
        pid = getattr(self, "pid", None)
        parent = getattr(self, "_command_pid", None) or self._proc.pid  # (under a wrapper)
        if pid is None or self._proc.poll() is not None or not _stopped(pid, parent):
            return
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "Workload":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stopped(pid: int, parent: int) -> bool:
    """Whether a task of process `pid`, a child of `parent`, is in a group stop (state T)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            if int(f.read().rsplit(")", 1)[1].split()[1]) != parent:
                return False
        tids = os.listdir(f"/proc/{pid}/task")
    except (OSError, ValueError, IndexError):
        return False
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "T":
                    return True
        except OSError:
            continue
    return False


def result_from_json(line: str) -> Result:
    """The Result of the command's --json line."""
    fields = json.loads(line)
    fields["tmpdir"] = fields.pop("dir", None)
    return Result(**{k: fields[k] for k in Result.__annotations__ if k in fields})


def command(name: str, iterations: int | str | None = None, threads: int = 1,
            start_timeout: float = 600.0) -> list[str]:
    """The command line that runs scenario `name` (the registry's name) held at its start."""
    return [sys.executable, "-m", "ioworkload", name, "--threads", str(threads),
            "--start-timeout", str(start_timeout),
            "--iterations", str(1 if iterations is None else iterations)]


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _end(proc: subprocess.Popen, control: str, hold: str | None, timeout: float = 30.0,
         command_pid: int | None = None) -> int:
    """End a spawned command: let it leave through its hold file when its result was read,
    else SIGTERM (its teardown and cleanup still run; to the command itself when it runs under
    a wrapper); reap it, remove its control directory."""
    if proc.poll() is None:
        if hold is not None and os.path.isdir(control):
            open(hold, "w").close()
        elif command_pid:
            try:
                os.kill(command_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    import shutil
    shutil.rmtree(control, ignore_errors=True)
    return proc.returncode


def spawn(name: str, iterations: int | str | None = None, threads: int = 1,
          duration: float | None = None, verify: bool = False, cpu: str | None = None,
          ready_timeout: float = READY_TIMEOUT, start_timeout: float = 600.0,
          rate: float | None = None, pid_namespace: bool = False,
          wrapper: list[str] | None = None) -> Workload:
    """Start scenario `name` in a process of its own, held before its first counted syscall.
    rate: paced, at most this many iterations a second per thread (no extra syscalls).
    pid_namespace: that process starts a PID namespace of its own (pid 1 there); `pid` and
    `tids` stay the caller's numbering, `ns_tids` are the namespace's.
    wrapper: a command the run is started under (`["unshare", "--pid", "--fork",
    "--mount-proc"]`, `["unshare", "-Ur"]`); where it made a PID namespace, `pid`, `tids` and
    the documents are given in the caller's numbering all the same (ns_tids: the command's)."""
    if not isinstance(verify, bool):
        raise UsageError(f"verify must be True or False, not {verify!r}")
    if duration is not None and iterations is not None:
        raise UsageError("give iterations or duration, not both")
    from ioworkload.core import registry
    # The registry's name, not the caller's text: "--help" or "list" never reach the command
    name = registry.get(name).name
    argv = command(name, iterations, threads, start_timeout)
    if duration is not None:
        argv[-2:] = ["--duration", str(duration)]
    if rate is not None:
        from ioworkload.core.args import parse_rate
        argv += ["--rate", repr(parse_rate(rate))]
    if verify:
        argv.append("--verify")
    if not isinstance(pid_namespace, bool):
        raise UsageError(f"pid_namespace must be True or False, not {pid_namespace!r}")
    if pid_namespace:
        argv.append("--pid-namespace")
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    control = make_temp_dir("ioworkload-spawn-")
    try:
        # a slow guest (IOWORKLOAD_TIMEOUT_SCALE) takes longer to print its PID line
        return Workload(argv, control, ready_timeout * timeout_scale(), wrapper)
    except BaseException:
        import shutil
        shutil.rmtree(control, ignore_errors=True)
        raise
