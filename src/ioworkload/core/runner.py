"""Run one scenario: validate, probe, private directory, workers, optional verification,
result. The threads, start barrier, timing and tallies live in _runner.pyx; this is the
Python side that steers them.
"""

from __future__ import annotations

import copy
import errno
import os
import signal
import stat
import time

from ioworkload.core import _runner, expect, pidns, registry, verify as _verify
from ioworkload.core.args import MAX_THREADS, parse_count, parse_rate, parse_seconds  # noqa: F401 (API)
from ioworkload.core.args import timeout_scale
from ioworkload.core.errors import (Interrupted, PrestartFailed, ScenarioFailed, Unsupported, UsageError,
                               SHOWN_CHARS, errno_name, shown)
from ioworkload.core.manifest import Scenario
from ioworkload.core.probes import fd_limit

class Result:
    """What a run did (the CLI's --json object has the same fields)."""

    scenario: str
    family: str
    iterations: int | None        # per thread, as asked (None with a duration)
    duration: float | None
    rate: float | None             # paced: iterations per second per thread (None: unpaced)
    threads: int
    iterations_done: list          # per thread
    elapsed_ns: int                # wall time of the timed loops (first start to last end)
    syscalls: int                  # every syscall issued, setup and teardown included
    loop_syscalls: int             # those inside the timed loops
    ns_per_syscall: float | None   # loop time per loop syscall, per thread
    syscalls_per_second: float | None  # loop syscalls of all threads per wall second
    calls: dict                    # syscall -> {count, ok, errors: {ENAME: n}}
    events: list                   # each manifest event: phase, event, expected, count, matched
    operations: list               # each io_uring operation: its CQE results, the same way
    ok: bool                       # every event returned what the manifest says
    mismatches: list
    pid: int
    tids: list
    verified: bool | None          # kernel counters agreed (None: not asked)
    verification: list | None
    interrupted: int | None        # the signal that stopped the run early
    raw_syscall_instruction: bool  # the syscall instruction inline (not libc's syscall())
    tmpdir: str | None             # the private directory (removed by now)
    expected: dict | None          # the expect document, every reference resolved (expect.py)

    def __init__(self, **fields):
        fields.setdefault("raw_syscall_instruction", _runner.RAW_SYSCALLS)
        fields.setdefault("tmpdir", None)
        fields.setdefault("expected", None)
        fields.setdefault("operations", [])
        fields.setdefault("rate", None)
        missing = set(self.__annotations__) - set(fields)
        if missing:
            raise TypeError(f"Result lacks {', '.join(sorted(missing))}")
        self.__dict__.update(fields)

    def to_dict(self) -> dict:
        return copy.deepcopy({k: self.__dict__[k] for k in self.__annotations__})

    def __repr__(self) -> str:
        return "Result(" + ", ".join(f"{k}={self.__dict__[k]!r}" for k in self.__annotations__) + ")"


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # exit 128 + signal number


class _StopSignals:
    """While active, SIGINT/SIGTERM/SIGHUP stop the run (teardown still runs) instead of killing
    it: a closed terminal or a harness that hangs up must not leave files or AIO contexts behind."""

    def __init__(self):
        self.signum: int | None = None
        self.on_signal = None  # called from the handler: the runner's request_stop
        self._old = {}

    def __enter__(self):
        try:
            for s in STOP_SIGNALS:
                # the kernel's view: a handler (or SIG_IGN) set from C is invisible to Python
                raw, ignored = _runner.saved_disposition(s)
                if not ignored:  # nohup'd: leave it ignored
                    self._old[s] = (signal.signal(s, self._handle), raw)
        except ValueError:
            pass  # not the main thread: signals stay the caller's business
        return self

    def _handle(self, signum, frame):
        self.deliver(signum)

    def deliver(self, signum: int) -> None:
        """As if signum came: the run stops (teardown still runs)."""
        if self.signum is None:
            self.signum = signum
        if self.on_signal:
            self.on_signal()

    def __exit__(self, *exc):
        for s, (h, raw) in self._old.items():
            if h is not None:  # None: a handler Python never knew, set before it started
                signal.signal(s, h)  # Python's table
            _runner.restore_disposition(s, raw)  # and the kernel's, a C handler included


class _CwdKept:
    """Workers that are threads of this process share its cwd (dir_chdir moves it): whatever
    they did, the caller gets its cwd back, by an fd (O_PATH: no read permission needed), so
    also when the path no longer leads there."""

    def __init__(self, active: bool):
        self.fd = None
        if active:
            try:
                self.fd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                os.fchdir(self.fd)
            finally:
                os.close(self.fd)


class Hooks:
    """Callbacks around a run (the CLI's attach protocol, spawn()'s handle).

    before_start(stopped, tids, expected): the workers exist, parked, and nothing is counted
    yet; `expected` is the expect document (expect.py); `stopped()` gives the stop signal that
    came (it should give up then), or None; every wait of the hook calls it, as it also
    watches a spawned process: its death raises ScenarioFailed at once.
    after_run(result): the run is over and the result whole; a spawned process is still alive,
    its main thread waiting to exit (the hold file is waited for here, calling the same
    `stopped`).
    orphaned(): a signal number once whoever the run reports to is gone (spawn()'s controller
    died): the run stops as on that signal, checked by the wait for the workers' end."""

    def __init__(self, before_start=None, after_run=None, orphaned=None):
        self.before_start = before_start
        self.after_run = after_run
        self.orphaned = orphaned


def _remove_private_dir(root: str) -> None:
    import shutil  # only here: keeps the CLI's start-up short
    shutil.rmtree(root, ignore_errors=True)


def temp_base() -> str:
    """Exactly $TMPDIR (/tmp when unset or empty), checked: never tempfile's silent fallbacks
    (/tmp, /var/tmp, the cwd) when it is missing, read-only or full. UsageError names it."""
    given = os.environ.get("TMPDIR") or "/tmp"
    # named as given, unless it is long enough to drown the message
    name = given if len(given) <= 2 * SHOWN_CHARS else shown(given)
    name = f"TMPDIR={name}" if os.environ.get("TMPDIR") else name
    # absolute: the expect file's paths are, and a worker's chdir must not change their meaning
    base = os.path.abspath(given)
    try:
        is_dir = stat.S_ISDIR(os.stat(base).st_mode)
    except OSError as e:
        raise UsageError(f"{name}: {_stat_failure(base, e)}") from None
    if not is_dir:
        raise UsageError(f"{name}: not a directory")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"{name}: not writable here" + (
            " (a read-only filesystem)" if os.statvfs(base).f_flag & os.ST_RDONLY else ""))
    st = os.statvfs(base)
    blocks = st.f_bfree if os.geteuid() == 0 else st.f_bavail
    if (st.f_blocks and blocks == 0) or (st.f_files and st.f_favail == 0):  # ramfs: no counts
        raise UsageError(f"{name}: the filesystem is full")
    return base


def _stat_failure(path: str, e: OSError) -> str:
    """Why stat(path) failed, in words (a path too long is not a missing one)."""
    if e.errno == errno.ENAMETOOLONG:
        size = len(os.fsencode(path))
        path_max = os.pathconf("/", "PC_PATH_MAX")
        if size >= path_max:
            return f"the path is too long ({size} bytes, PATH_MAX is {path_max})"
        return f"a name in the path is too long (NAME_MAX is {os.pathconf('/', 'PC_NAME_MAX')})"
    return {errno.ENOENT: "no such directory", errno.ENOTDIR: "not a directory"}.get(
        e.errno, e.strerror.lower() if e.strerror else str(e))


def make_temp_dir(prefix: str) -> str:
    """A fresh private directory under temp_base(); a failure is one UsageError line."""
    import tempfile
    base = temp_base()
    try:
        return tempfile.mkdtemp(prefix=prefix, dir=base)
    except OSError as e:
        raise UsageError(f"cannot create a directory in {base}: {e.strerror}") from None


def _make_root(sc: Scenario) -> str | None:
    """The run's private directory under $TMPDIR (None: the scenario touches no files)."""
    if not sc.needs_dir:
        return None
    root = make_temp_dir(f"ioworkload-{sc.ior_name}-")  # ior's tests match paths on this name
    longest = len(os.fsencode(os.path.join(root, f"w{MAX_THREADS}")))
    if longest >= _runner.MAX_DIR_BYTES:
        os.rmdir(root)
        raise UsageError(f"the temporary directory {root} is too long for the scenarios' paths "
                         f"({longest} bytes, at most {_runner.MAX_DIR_BYTES - 1}): set TMPDIR "
                         f"to a shorter one")
    return root


def _make_worker_dirs(root: str | None, threads: int) -> list[bytes]:
    """One directory per worker thread: their file names never collide."""
    if root is None:
        return []
    dirs = []
    for i in range(threads):
        d = os.path.join(root, f"w{i}")
        os.mkdir(d, 0o700)
        dirs.append(os.fsencode(d))
    return dirs


PARK_TIMEOUT = 10.0


def _park_timeout() -> float:
    """PARK_TIMEOUT, longer in a slow guest ($IOWORKLOAD_TIMEOUT_SCALE, set by `ioworkload
    kernels`), as the tracers' ready and settle waits are."""
    return PARK_TIMEOUT * timeout_scale()
DONE_POLL = 0.05  # the longest a signal or a dead spawned process goes unnoticed


def _sleeping_in(pid: int, tid: int, syscall: str) -> "list[str] | None":
    """The thread's /proc syscall line (number, then arguments) while it sleeps in `syscall`
    (state S: a tracer's syscall-entry stop shows the same line, state t, and the call has not
    begun); None otherwise."""
    seen = _syscall_line_and_state(f"/proc/{pid}/task/{tid}")
    if seen is None:
        return None
    fields, state = seen
    asleep = state == "S" and fields and fields[0] == str(expect.syscall_number(syscall))
    return fields if asleep else None


def _syscall_line_and_state(task_dir: str) -> "tuple[list[str], str] | None":
    """A task's /proc syscall line (split) and its state letter; None once it is gone."""
    try:
        with open(f"{task_dir}/syscall") as f:
            fields = f.read().split()
        with open(f"{task_dir}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return fields, state


def _in_futex_wait(pid: int, tid: int, address: int) -> bool:
    """The thread sleeps in futex(address, FUTEX_WAIT, ...) (a wake before that would make it
    return -EAGAIN)."""
    fields = _sleeping_in(pid, tid, "futex")
    return fields is not None and len(fields) > 2 and int(fields[1], 16) == address \
        and int(fields[2], 16) == 0


def _image_waiting(pid: int) -> bool:
    """A non-leader exec's image is the process's one task, asleep in its wait for the
    controller (expect.IMAGE_EXIT): then the counters hold every call but that wait's return
    and the exit_group."""
    try:
        alone = os.listdir(f"/proc/{pid}/task") == [str(pid)]
    except OSError:
        return False
    return alone and _sleeping_in(pid, pid, "rt_sigtimedwait") is not None


class _Watch:
    """The `stopped()` a hook's waits call: the stop signal that came, or None; a spawned
    process that died meanwhile (killed while held at its start or its end) is reaped and
    reported at once, as ScenarioFailed, instead of waiting out a start or hold file."""

    def __init__(self, stop: "_StopSignals", proc: "_Process | None"):
        self.stop = stop
        self.proc = proc
        self.held = "while held before its release"

    def __call__(self) -> int | None:
        if self.proc is not None and self.proc.poll() is not None:
            raise ScenarioFailed(f"the scenario process {self.proc.death()} {self.held}")
        return self.stop.signum


class _Process:
    """The spawned scenario process, reaped once."""

    def __init__(self, pid: int):
        self.pid = pid
        self.status: int | None = None

    def poll(self) -> int | None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status

    def death(self) -> str:
        st = self.status
        if os.WIFSIGNALED(st):
            return f"was killed by {signal.Signals(os.WTERMSIG(st)).name}"
        return f"exited with status {os.WEXITSTATUS(st)}"

    def reap(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        while self.poll() is None:
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                self.status = 0
                return
            time.sleep(0.001)


def _parent_declared(sc: Scenario) -> "str | None":
    """A worker's getppid declared to return a parent (not 0), as text; None if none is."""
    for ev in sc.setup + sc.iteration + sc.teardown:
        if ev.role == "worker" and ev.syscall == "getppid" and (
                ev.expect.kind == "ge" and ev.expect.value > 0
                or ev.expect.kind == "eq" and ev.expect.value != 0):
            return str(ev.expect)
    return None


def _pid_namespace_refused(e: OSError) -> str:
    """Why the scenario process could not have a PID namespace of its own."""
    if e.errno == errno.EPERM:
        return ("a PID namespace needs CAP_SYS_ADMIN (run as root, or inside a user namespace "
                "of your own: unshare -Ur)")
    return f"cannot make a PID namespace: {os.strerror(e.errno)}"


def _thread_limit(threads: int, err: int, what: str = "") -> str:
    """Why threads or a process could not start, naming the limits that can refuse them (a
    new thread's stack needs address space: glibc reports that EAGAIN too)."""
    import resource
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    space = resource.getrlimit(resource.RLIMIT_AS)[0]
    limits = [f"RLIMIT_NPROC: ulimit -u is "
              f"{'unlimited' if nproc == resource.RLIM_INFINITY else nproc}"]
    if space != resource.RLIM_INFINITY:
        limits.insert(0, f"RLIMIT_AS: ulimit -v is {space // 1024} KiB of address space, and "
                         f"each thread needs its stack")
    what = what or f"start {threads} worker threads"
    return f"cannot {what}: {os.strerror(err)} ({'; '.join(limits)})"


def _wait_parked(run, proc: "_Process | None", threads: int, stop: _StopSignals,
                 numbering: pidns.Numbering) -> list[int]:
    """Until every worker sleeps in its start wait: their tids (as they see them: gettid's)."""
    deadline = time.monotonic() + _park_timeout()
    pause = 20e-6
    while True:
        if stop.signum is not None:
            raise Interrupted(stop.signum)
        if run.launch_error:  # read at once: the process stays alive, waiting to be let go
            raise Unsupported(_thread_limit(threads, run.launch_error))
        if proc is not None and proc.poll() is not None:
            raise ScenarioFailed(f"the scenario process {proc.death()} before it started")
        tids = run.ready()
        if tids and all(_in_futex_wait(numbering.proc_pid, numbering.proc(t),
                                       run.start_word_address) for t in tids):
            return tids
        if time.monotonic() > deadline:
            raise ScenarioFailed(f"the workers did not reach their start line in {_park_timeout():g} s")
        time.sleep(pause)
        pause = min(pause * 2, 0.005)


def _asleep(tid: int) -> bool:
    """The task sleeps inside a syscall (state S: a futex wait, a pipe read)."""
    seen = _syscall_line_and_state(f"/proc/{tid}")
    if seen is None:
        return False
    fields, state = seen
    return state == "S" and bool(fields) and fields[0].isdigit()


def _exited(tid: int) -> bool:
    """The task is gone or a zombie."""
    try:
        with open(f"/proc/{tid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def _prestarted(sc: Scenario, run, stop: _StopSignals, numbering: pidns.Numbering) -> list[int]:
    """Per worker, the task its prestart left parked (0: none), once each sleeps where it waits
    for the release; PrestartFailed (before any PID line) when a prestart failed or its task
    exited."""
    parked = run.prestarted()
    failed = [rc for rc in parked if rc < 0 or (sc.prestart_task and rc == 0)]
    if failed:
        why = f"{errno_name(-failed[0])} ({os.strerror(-failed[0])})" if failed[0] else "no task"
        raise PrestartFailed(f"scenario {sc.ior_name} prestart failed: {why}")
    deadline = time.monotonic() + _park_timeout()
    for tid in parked:
        while tid and not _asleep(numbering.proc(tid)):
            if stop.signum is not None:
                raise Interrupted(stop.signum)
            if _exited(numbering.proc(tid)):
                raise PrestartFailed(f"scenario {sc.ior_name} prestart failed: its task {tid} "
                                     f"exited before it parked")
            if time.monotonic() > deadline:
                raise PrestartFailed(f"scenario {sc.ior_name} prestart failed: its task {tid} did "
                                     f"not park in {_park_timeout():g} s")
            time.sleep(0.0005)
    return parked


def _wait_done(run, proc: "_Process | None", execs: bool = False, stop: _StopSignals | None = None,
               orphaned=None, proc_pid: int = 0) -> bool:
    """Until every worker finished: woken by the last one, not by polling; the timeout only
    lets Python run its signal handlers and notices a spawned process that died, and
    orphaned() (Hooks) stops the run as its signal would. execs (a
    non-leader exec, Scenario.execs): the exec ends the worker before it reports done; True
    once the image it started waits for us (False: the exec failed and the worker went on)."""
    while not run.wait_done(DONE_POLL):
        if proc is not None and proc.poll() is not None:
            raise ScenarioFailed(f"the scenario process {proc.death()} during the run")
        if execs and _image_waiting(proc_pid or proc.pid):
            return True
        signum = orphaned() if orphaned and stop and stop.signum is None else None
        if signum:
            stop.deliver(signum)
    return False


PF_IO_WORKER = 0x10


def _io_worker(pid: int, tid: str) -> bool:
    """Whether the task is one of io_uring's io-wq workers (PF_IO_WORKER): a kernel thread of
    the process that never returns to user space, so issues no call. Before Linux 6.15 or so
    an io-wq keeps its last worker until the process exits (6.1 and 6.12 did), so the
    wind-down cannot wait for it."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            flags = int(f.read().rsplit(")", 1)[1].split()[6])
    except (OSError, ValueError, IndexError):
        return False
    return bool(flags & PF_IO_WORKER)


def _wait_leaving(run, proc: _Process, threads: int, proc_pid: int) -> None:
    """Until a spawned process (/proc's `proc_pid`) is down to its main thread (and io-wq
    workers, which issue nothing), asleep before its exit: then the counters hold every call
    but the last two (expect.py: the leave wait's return, exit_group)."""
    task_dir = f"/proc/{proc_pid}/task"
    deadline = time.monotonic() + _park_timeout()
    while True:
        if proc.poll() is not None:
            raise ScenarioFailed(f"the scenario process {proc.death()} after the run")
        try:
            alone = all(t == str(proc_pid) or _io_worker(proc_pid, t) for t in os.listdir(task_dir))
        except OSError:
            alone = False
        if alone and _in_futex_wait(proc_pid, proc_pid, run.leave_word_address):
            return
        if time.monotonic() > deadline:
            raise ScenarioFailed("the scenario process did not wind down its threads")
        time.sleep(0.0002)


def execute(sc: Scenario, iterations: int | None = 1, threads: int = 1, duration: float | None = None,
            verify: bool = False, hooks: Hooks | None = None, own_process: bool = False,
            rate: float | None = None, pid_namespace: bool = False) -> Result:
    """Run `sc`; SIGINT/SIGTERM/SIGHUP end it early with `interrupted` set (teardown still runs).
    own_process: the workers live in a process of their own (the CLI's way: every syscall of
    that process is declared); otherwise they are threads of this one. rate: each worker
    starts at most this many iterations a second (paced on the vDSO clock: no syscall).
    pid_namespace: the process of its own is the first of a new PID namespace (pid 1 there);
    the expect document gives each task's id in both numberings (tid, ns_tid)."""
    if not isinstance(verify, bool):
        raise UsageError(f"verify must be True or False, not {verify!r}")
    if duration is not None and iterations is not None:
        raise UsageError("give iterations or duration, not both")
    if duration is None:
        iterations = parse_count(1 if iterations is None else iterations)
    else:
        duration = parse_seconds(duration)
        iterations = None
    if rate is not None:
        rate = parse_rate(rate)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise UsageError(f"threads must be an integer from 1 to {MAX_THREADS}, not {threads!r}")
    if sc.exit_status and not own_process:
        raise Unsupported(f"{sc.name} ends its process with exit_group({sc.exit_status}): it runs "
                          f"only in a process of its own (the command line, spawn())")
    if pid_namespace and not own_process:
        raise UsageError("a PID namespace is for a scenario process of its own (the command "
                         "line, spawn()), not for threads of the caller")
    if pid_namespace and _parent_declared(sc):
        raise Unsupported(f"{sc.name} declares getppid() -> {_parent_declared(sc)} on its "
                          f"process: the first process of a PID namespace has no parent there "
                          f"(getppid returns 0)")
    if sc.execs and not own_process:
        raise Unsupported(f"{sc.name} execs a new image in its process: it runs only in a "
                          f"process of its own (the command line, spawn())")
    reason = sc.unsupported_reason(threads) or (sc.prepare() if sc.prepare else None)
    if reason:
        raise Unsupported(reason)
    fd_base, fixed_end = _fixed_fds(sc, threads)
    counters = _verify.plan(sc, own_process) if verify else []

    # The stop signals are ours from before the private directory exists until after it is
    # gone: a signal at any moment ends the run, never the process mid-cleanup.
    with _StopSignals() as stop, _CwdKept(not own_process):
        result = _execute(sc, iterations, threads, duration, counters, fd_base, fixed_end,
                          hooks or Hooks(), stop, own_process, rate, pid_namespace)
    if result.interrupted is None and stop.signum is not None:
        result.interrupted = stop.signum  # arrived after the loop: the result is whole
    return result


def _open_fds() -> list[int]:
    """The fd numbers open in this process now, sorted (the listing's own fd included)."""
    return sorted(int(n) for n in os.listdir("/proc/self/fd"))


def _fixed_fds(sc: Scenario, threads: int) -> tuple[int, int | None]:
    """Where the scenario's fd numbers go: (base of its fixed blocks, one past their end), the
    blocks holding no fd open now (the caller's, or one inherited, is never replaced or
    closed); Unsupported if the blocks do not fit under ulimit -n, or if a number the manifest
    names literally as never open (an -EBADF target, close_range_empty's range) is open."""
    open_fds = _open_fds()
    for lo, hi in _literal_fds(sc):
        held = [fd for fd in open_fds if lo <= fd <= hi]
        if held:
            which = f"fd {held[0]}" if len(held) == 1 else f"{len(held)} fds in {held[0]}..{held[-1]}"
            span = f"fd {lo}" if lo == hi else f"fds {lo}..{hi}"
            raise Unsupported(f"{which} open here (inherited?): {sc.name} needs {span} closed "
                              f"(its manifest names them) and never touches a descriptor it did "
                              f"not open")
    if not sc.fixed_fds:
        return 0, None
    first, per_thread = sc.fixed_fds
    span = per_thread * threads
    base = first
    for fd in open_fds:  # the lowest base whose blocks [base, base + span) hold no open fd
        if fd >= base + span:
            break
        if fd >= base:
            base = fd + 1
    end = base + span
    soft = fd_limit()
    if soft is not None and end > soft:
        above = f" (fds up to {base - 1} are taken)" if base > first else ""
        raise Unsupported(f"{threads} thread(s) use fd numbers up to {end - 1}{above}, and ulimit "
                          f"-n is {soft} (raise it, or use fewer threads)")
    return base, end


_FD_ARGS = {"fd", "fildes", "fd_in", "fd_out", "dfd", "oldfd", "newfd"}


def _literal_fds(sc: Scenario) -> list[tuple[int, int]]:
    """The fd numbers a manifest writes as literals ((lo, hi) ranges): `fd`-named kernel
    arguments given as a number >= 0, close_range's literal (first, last)."""
    out = []
    for ev in sc.setup + sc.iteration + sc.teardown:
        if "REGISTERED_RING" in ev.args:  # io_uring_enter/register: a ring index, not an fd
            continue
        names = expect.kernel_arg_names(ev.key) or []
        values = []
        for name, token in zip(names, ev.arg_list()):
            try:
                values.append((name, int(token, 0)))
            except ValueError:
                values.append((name, None))
        if ev.syscall == "close_range" and len(values) >= 2 and None not in (values[0][1], values[1][1]):
            out.append((values[0][1], values[1][1]))
            continue
        out += [(v, v) for name, v in values if name in _FD_ARGS and v is not None and v >= 0]
    return out


def _execute(sc, iterations, threads, duration, counters, fd_base, fixed_end, hooks, stop,
             own_process, rate=None, pid_namespace=False) -> Result:
    root = run = proc = None
    left = False
    try:
        root = _make_root(sc)
        dirs = _make_worker_dirs(root, threads)
        run = _runner.Run(sc.kernel, threads, iterations or 0, duration or 0.0, dirs,
                          (len(sc.setup), len(sc.iteration) + len(sc.operations),
                           len(sc.teardown)), fd_base, rate or 0.0)
        stop.on_signal = run.request_stop
        if own_process:
            try:
                proc = _Process(run.spawn(sc.exit_status, private_ipc=bool(sc.ipc_objects),
                                          pid_namespace=pid_namespace,
                                          own_proc=pid_namespace or not pidns.proc_is_own()))
            except OSError as e:
                if pid_namespace and e.errno != errno.EAGAIN:
                    raise Unsupported(_pid_namespace_refused(e)) from None
                if e.errno != errno.EAGAIN:
                    raise
                raise Unsupported(_thread_limit(threads, e.errno, "fork the scenario process")) \
                    from None

        else:
            try:
                run.start()
            except OSError as e:
                raise Unsupported(_thread_limit(threads, e.errno)) from None
        try:
            numbering = pidns.Numbering(run.pid, pid_namespace)
        except LookupError as e:
            raise Unsupported(str(e)) from None
        ns_tids = _wait_parked(run, proc, threads, stop, numbering)
        if proc is not None and run.own_proc < 0:
            raise Unsupported(f"/proc here does not show the scenario process's PID namespace, "
                              f"and it cannot mount one of its own: "
                              f"{os.strerror(-run.own_proc)} (mount one for it: unshare "
                              f"--pid --fork --mount-proc)")
        ns_parked = _prestarted(sc, run, stop, numbering)
        # this command's numbering from here on (the PID line, perf, the expect file's tids)
        tids = [numbering.own(t) for t in ns_tids]
        parked = [numbering.own(t) for t in ns_parked]
        if counters:  # before the PID is announced: no permission means no announcement
            _verify.open_counters(counters, tids, inherit=sc.helper_threads, above=fixed_end,
                                  also=[[t] if t else [] for t in parked])
        doc = expect.build(sc, pid=run.pid, tids=tids, dirs=[os.fsdecode(d) for d in dirs],
                           iterations=iterations, own_process=own_process, root=root,
                           prestarted=parked,
                           ns_ids=dict(zip(tids + parked, ns_tids + ns_parked)))
        watch = _Watch(stop, proc)
        if hooks.before_start:
            hooks.before_start(watch, tids, doc)
        if stop.signum is not None:
            raise Interrupted(stop.signum)
        if counters:
            from ioworkload.core import _perf
            _perf.enable([fd for c in counters for fd in c.fds])
        run.release()
        exec_image = _wait_done(run, proc, sc.execs, stop, hooks.orphaned, numbering.proc_pid)
        if proc is None:
            run.join()
        elif not exec_image:
            _wait_leaving(run, proc, threads, numbering.proc_pid)
        signum = stop.signum
        per_worker = run.results()
        verified = rows = None
        if counters:
            _verify.read_counters(counters)
            verified, rows = _verify.evaluate(sc, counters, [w["iterations"] for w in per_worker],
                                              own_process)
        result = _summarize(sc, iterations, duration, threads, per_worker, signum, verified, rows,
                            root, run.pid)
        result.tids = tids  # the workers' own gettid gave their namespace's ids
        result.rate = rate
        result.expected = expect.resolve(sc, doc, per_worker, result.iterations_done)
        if hooks.after_run:
            watch.held = "while held after its run"
            hooks.after_run(result)
        if proc is not None:
            if exec_image:  # its wait ends with this signal (blocked: it stays pending)
                os.kill(proc.pid, signal.SIGUSR1)
            else:
                run.let_leave()
            left = True
            proc.reap(PARK_TIMEOUT)
        return result
    finally:
        if proc is not None and proc.status is None:
            if not left:
                os.kill(proc.pid, signal.SIGKILL)  # an error or a signal: no hold, no report
            proc.reap(PARK_TIMEOUT)
        elif run is not None:
            run.abort()  # no-op after a clean join; reaps the threads on any error path
        if proc is not None and sc.ipc_objects:
            _remove_ipc_objects(sc, run)
        _verify.close_counters(counters)
        if root:
            _remove_private_dir(root)


def _remove_ipc_objects(sc: Scenario, run) -> None:
    """After the scenario process is gone (however it ended): what it may have left in the
    kernel. Nothing to do when it had an IPC namespace of its own (the kernel freed it with
    the process); else each worker's SysV object still held, each POSIX queue by name, and a
    shared memory segment by its creator's pid (killed inside shmget, a worker never learnt
    its id). A message queue or semaphore set killed inside its msgget/semget stays: nothing
    names its creator."""
    if run.private_ipc:
        return
    workers = run.results()
    for kind, what in sc.ipc_objects:
        if kind == "sysv":
            ids = {ident for ident in run.sysv_ids() if ident >= 0}
            if what == "shm":
                ids |= _segments_made_by(run.pid)
            for ident in ids:
                _runner.remove_ipc_object(what, ident)
        else:
            for index, worker in enumerate(workers):
                if worker["tid"]:
                    _runner.remove_ipc_object(kind, what.format(tid=worker["tid"], index=index))


def _segments_made_by(pid: int) -> set[int]:
    """The ids of the SysV shared memory segments process `pid` created (their cpid)."""
    try:
        with open("/proc/sysvipc/shm") as f:
            rows = [line.split() for line in f.readlines()[1:]]
    except OSError:
        return set()
    return {int(row[1]) for row in rows if len(row) > 4 and row[4] == str(pid)}


def _summarize(sc, iterations, duration, threads, per_worker, signum, verified, rows, root,
               pid) -> Result:
    events = []
    mismatches = []
    calls: dict[str, dict] = {}
    total = loop_total = 0
    for phase in ("setup", "iteration", "teardown"):
        for k, ev in enumerate(getattr(sc, phase)):
            ok = count = expected_count = 0
            expected_most: "int | None" = 0
            errors: dict[int, int] = {}
            lo = hi = None
            for w in per_worker:
                t = w[phase][k]
                n_err = sum(t["errors"].values())
                count += t["ok"] + n_err
                ok += t["ok"]
                for e, n in t["errors"].items():
                    errors[e] = errors.get(e, 0) + n
                if t["ok"]:
                    lo = t["ok_min"] if lo is None else min(lo, t["ok_min"])
                    hi = t["ok_max"] if hi is None else max(hi, t["ok_max"])
                ran = w["setup_rc"] == 0 or phase != "iteration"
                passes = w["iterations"] if phase == "iteration" else 1
                least, most = ev.count_range(passes) if ran else (0, 0)
                expected_count += least
                expected_most = None if expected_most is None or most is None else expected_most + most
            in_range = expected_count <= count and (expected_most is None or count <= expected_most)
            matched = in_range and ev.expect.matches_tally(count, ok, lo, hi, errors)
            named = {errno_name(e): n for e, n in sorted(errors.items())}
            if not matched:
                got = f"{ok} ok" + (f" ({lo}..{hi})" if ok else "") + "".join(
                    f", {n} {name}" for name, n in named.items())
                want = (str(expected_count) if expected_most == expected_count
                        else f"{expected_count}..{'' if expected_most is None else expected_most}")
                mismatches.append(f"{phase} {ev}: expected {want} x {ev.expect}, "
                                  f"got {count} calls: {got}")
            events.append({"phase": phase, "event": str(ev), "syscall": ev.syscall,
                           "expected": str(ev.expect), "expected_count": expected_count,
                           "count": count, "ok": ok, "errors": named, "matched": matched})
            c = calls.setdefault(ev.key, {"count": 0, "ok": 0, "errors": {}})
            if ev.enters:
                c["count"] += count
                c["ok"] += ok
            for name, n in named.items():
                c["errors"][name] = c["errors"].get(name, 0) + n
            if ev.enters:  # an exit-only event is not a syscall of its own
                total += count
                if phase == "iteration":
                    loop_total += count
    operations = _operation_outcomes(sc, per_worker, mismatches)
    mismatches[:0] = _waits_given_up(per_worker)
    failed_setup = [w for w in per_worker if w["setup_rc"] != 0]
    if failed_setup:
        rc = failed_setup[0]["setup_rc"]
        mismatches.insert(0, f"setup failed on {len(failed_setup)} thread(s): {errno_name(-rc)}")
    started = [w for w in per_worker if w["t1"]]
    elapsed = (max(w["t1"] for w in started) - min(w["t0"] for w in started)) if started else 0
    busy = sum(w["t1"] - w["t0"] for w in started)
    return Result(
        scenario=sc.name, family=sc.family, iterations=iterations, duration=duration,
        threads=threads, iterations_done=[w["iterations"] for w in per_worker],
        elapsed_ns=elapsed, syscalls=total, loop_syscalls=loop_total,
        ns_per_syscall=(busy / loop_total) if loop_total else None,
        syscalls_per_second=(loop_total * 1e9 / elapsed) if elapsed and loop_total else None,
        calls=calls, events=events, operations=operations, ok=not mismatches,
        mismatches=mismatches,
        pid=pid, tids=[w["tid"] for w in per_worker],
        verified=verified, verification=rows, interrupted=signum, tmpdir=root,
    )


def _waits_given_up(per_worker) -> list[str]:
    """A line per worker whose scenario gave up a wait for another task (a child, a helper,
    its stopper): the reason the counts below it differ, so it leads."""
    return [f"thread {w['tid']}: the wait for {w['wait_note']} was "
            f"{_runner.WAIT_FAILURES.get(w['wait_failed'], 'given up')}"
            for w in per_worker if w["wait_failed"]]


def _operation_outcomes(sc, per_worker, mismatches: list) -> list[dict]:
    """Each io_uring operation's CQE results, tallied after the iteration's syscall events;
    a mismatch is appended to `mismatches`."""
    out = []
    for k, op in enumerate(sc.operations):
        slot = len(sc.iteration) + k
        ok = count = expected_count = 0
        errors: dict[int, int] = {}
        lo = hi = None
        for w in per_worker:
            t = w["iteration"][slot]
            count += t["ok"] + sum(t["errors"].values())
            ok += t["ok"]
            for e, n in t["errors"].items():
                errors[e] = errors.get(e, 0) + n
            if t["ok"]:
                lo = t["ok_min"] if lo is None else min(lo, t["ok_min"])
                hi = t["ok_max"] if hi is None else max(hi, t["ok_max"])
            expected_count += w["iterations"] * op.times if w["setup_rc"] == 0 else 0
        matched = count == expected_count and op.expect.matches_tally(count, ok, lo, hi, errors)
        named = {errno_name(e): n for e, n in sorted(errors.items())}
        if not matched:
            got = f"{ok} ok" + (f" ({lo}..{hi})" if ok else "") + "".join(
                f", {n} {name}" for name, n in named.items())
            mismatches.append(f"operation {op}: expected {expected_count} x {op.expect}, "
                              f"got {count} completions: {got}")
        out.append({"operation": str(op), "opcode": op.opcode, "expected": str(op.expect),
                    "expected_count": expected_count, "count": count, "ok": ok,
                    "errors": named, "matched": matched})
    return out


def limit_reason(result: Result) -> str | None:
    """Why a failed run failed for want of a host limit (EMFILE: ulimit -n; EAGAIN from
    clone/fork: ulimit -u; EFBIG: ulimit -f; ENOSPC, EDQUOT: the file system's space, inodes
    or quota), not for the scenario's own sake; None otherwise."""
    if result.ok or result.interrupted:
        return None
    errors = {name for ev in result.events if not ev["matched"] for name in ev["errors"]}
    if "EMFILE" in errors:
        soft = fd_limit()
        return (f"the scenario ran out of file descriptors (EMFILE) under ulimit -n {soft}; "
                f"raise it")
    if "EFBIG" in errors:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if soft != resource.RLIM_INFINITY:  # else a file system's own maximum: the scenario's
            return (f"a write went past the file size limit (EFBIG) under ulimit -f "
                    f"{soft // 1024}; raise it")
    if "ENOSPC" in errors or "EDQUOT" in errors:
        return _file_system_full(result.tmpdir, "EDQUOT" if "EDQUOT" in errors else "ENOSPC")
    forks = {ev["syscall"] for ev in result.events
             if not ev["matched"] and "EAGAIN" in ev["errors"]} & {"clone", "clone3", "fork", "vfork"}
    if forks:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_NPROC)[0]
        return (f"{sorted(forks)[0]} failed with EAGAIN under ulimit -u "
                f"{'unlimited' if soft == resource.RLIM_INFINITY else soft}; raise it")
    return None


def _file_system_full(root: str | None, code: str) -> str:
    """The reason for ENOSPC (blocks or inodes: the run's files are gone by now, so which one
    cannot be told afterwards) or EDQUOT, and where."""
    base = os.path.dirname(root) if root else (os.environ.get("TMPDIR") or "/tmp")
    what = ("is over its disk quota (EDQUOT)" if code == "EDQUOT"
            else "has no space or no inodes left (ENOSPC)")
    return f"the file system of {base} {what}; free some, or set TMPDIR elsewhere"


def run(name: str, iterations: int | str | None = None, threads: int = 1,
        duration: float | None = None, verify: bool = False, before_start=None,
        rate: float | None = None) -> Result:
    """Run scenario `name` in this process (its workers are threads here) and return its Result.

    before_start(tids, expected): called once the worker threads exist, parked, before anything
    is counted (attach a tracer to `tids` here); `expected` is the expect document of the
    workers (this process's other threads are yours, so only the workers are declared: for a
    whole process, use spawn()).

    iterations defaults to 1; give iterations or duration, not both.
    Raises UsageError (bad arguments, unknown name), Unsupported (the host cannot run it,
    also when the run failed for want of descriptors or processes under a ulimit);
    a Ctrl-C ends the run cleanly (teardown runs) and is then re-raised as KeyboardInterrupt;
    SIGTERM/SIGHUP likewise, then delivered again to the caller's own handler (by default it
    ends the process, as it would have without us).
    """
    if before_start is not None and not callable(before_start):
        raise UsageError(f"before_start must be callable, not {before_start!r}")
    hooks = Hooks(before_start=(lambda stopped, tids, doc: before_start(tids, doc))
                  if before_start else None)
    result = execute(registry.get(name), iterations, threads, duration, verify, hooks, rate=rate)
    reason = limit_reason(result)
    if reason:
        raise Unsupported(reason)
    if result.interrupted == signal.SIGINT:
        raise KeyboardInterrupt
    if result.interrupted:
        signal.raise_signal(result.interrupted)
    return result
