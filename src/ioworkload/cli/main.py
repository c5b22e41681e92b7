"""Command line: `ioworkload SCENARIO [options]`, `list`, `describe`, `overhead`, `check`,
`coverage`, `kernels`, and ior's `--scenario=NAME` protocol. Every error is one line on stderr and a non-zero exit."""

from __future__ import annotations

import errno
import os
import signal
import stat
import sys
import time

from ioworkload.cli import early_signals, terminal
from ioworkload.core import ior_mode as ior_protocol, registry
from ioworkload.core.args import Parser, parse_cpus, parse_rate, parse_seconds, parse_threads
from ioworkload.core.errors import (EXIT_FAILED, EXIT_OK, EXIT_UNSUPPORTED, EXIT_USAGE, Interrupted, IoworkloadError,
                               PrestartFailed, SHOWN_CHARS, ScenarioFailed, Unsupported, UsageError,
                               cap_words, shown)

PROG = "ioworkload"
START_POLL = 0.010
START_TIMEOUT = 30.0
HOLD_POLL = 0.050
HOLD_TIMEOUT = 120.0
IOR_DEFAULT_DELAY_MS = 8000
IOR_ENV = ior_protocol.ENV


def _emit(text: str) -> None:
    """Write to stdout; a reader that left (broken pipe) costs the output, not the run's exit
    code, its stderr lines or its hold file."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()


def _warn(text: str) -> None:
    """Write to stderr; a vanished reader there must not change the exit code either."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except OSError:  # a reader that left, or stderr on a full device (/dev/full): ENOSPC
        _to_devnull(2)


def _to_devnull(fd: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)  # also what the interpreter's final flush will find
    os.close(null)


def _stdout_to_devnull() -> None:
    _to_devnull(1)
    sys.stdout = open(1, "w", closefd=False)


def _exists(path: str) -> bool | None:
    """True once `path` exists; None (keep waiting) before."""
    return True if os.path.exists(path) else None


def _wait_until(ready, timeout: float, poll: float, what: str, stopped=lambda: False):
    """Poll `ready()` until it gives something other than None (returned), a stop signal came
    (None), or `timeout` seconds passed (ScenarioFailed naming `what`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value is not None:
            return value
        if stopped():
            return None
        if time.monotonic() > deadline:
            raise ScenarioFailed(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


def _reserve_std_fds() -> None:
    """Started with stdin/stdout/stderr closed (`>&-`): put /dev/null there, so a scenario's
    own descriptors never land on 0-2 and our output has somewhere harmless to go."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_RDWR)  # the lowest free number: fd, as 0..fd-1 are open
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))


def _run_parser() -> Parser:
    p = Parser(prog=PROG, add_help=True,
                description="Run one named syscall scenario and report what it issued.",
                epilog="Other commands: `ioworkload list`, `ioworkload describe SCENARIO`, "
                       "`ioworkload overhead SCENARIO`, `ioworkload check SCENARIO`, "
                       "`ioworkload coverage`, `ioworkload kernels --kernel K COMMAND`.")
    p.add_argument("scenario", help="scenario name (snake_case or ior's hyphenated form)")
    from ioworkload import __version__
    p.add_argument("--version", "-V", action="version", version=f"{PROG} {__version__}")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--iterations", "-n", metavar="N",
                   help="iterations per thread: 1000000, 1_000_000 or 1e6 (default 1)")
    g.add_argument("--duration", "-d", metavar="SECONDS", help="run this long instead of N iterations")
    p.add_argument("--rate", metavar="R",
                   help="paced: each thread starts at most R iterations a second (waits on the "
                        "vDSO clock, no syscall: the stream is the same)")
    p.add_argument("--threads", "-t", default="1", metavar="T",
                   help="threads, each running every iteration, started together (default 1)")
    p.add_argument("--verify", action="store_true",
                   help="count the syscalls with the kernel's tracepoints and compare with the manifest")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no report; the exit code tells")
    p.add_argument("--wide", "-w", action="store_true",
                   help="whole report lines (the default when the output is not a terminal)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--start-file", metavar="PATH",
                       help="print the PID, then wait until PATH exists")
    start.add_argument("--start-delay", metavar="SECONDS", help="print the PID, then wait this long")
    p.add_argument("--clear-start-file", action="store_true",
                   help="remove a start file left by an earlier run (else such a file is refused)")
    p.add_argument("--start-timeout", metavar="SECONDS",
                   help=f"give up waiting for the start file after this long "
                        f"(default {START_TIMEOUT:g})")
    p.add_argument("--hold-file", metavar="PATH", help="after the run, stay alive until PATH exists")
    p.add_argument("--tid-file", metavar="PATH",
                   help="write the worker threads' ids (one per line) before the PID line")
    p.add_argument("--expect-file", metavar="PATH",
                   help="write the run's whole expected syscall stream (JSON, schema "
                        "ioworkload-expect/1) before the PID line")
    p.add_argument("--cpu", metavar="LIST", help="pin the process to these CPUs (e.g. 1 or 0,1 or 0-3)")
    p.add_argument("--pid-namespace", action="store_true",
                   help="the scenario process starts a new PID namespace, as pid 1 (as a container "
                        "runtime does); the PID line and tid file stay in this command's numbering, "
                        "the expect file gives both (tid, ns_tid). Needs CAP_SYS_ADMIN")
    return p


def _fmt_int(n) -> str:
    return f"{n:,}"


def _check_parent(path: str, what: str, written: bool = True) -> str:
    """A path we will poll for or write: fail now, not after a 30 s wait. A file only waited
    for (start, hold) needs a directory we can search, not write: someone else creates it."""
    if not path:
        raise UsageError(f"{what} needs a path, not an empty string")
    target = _follow_symlinks(path, what) if written else os.path.abspath(path)
    parent = os.path.dirname(target) or "/"
    if not os.path.isdir(parent):
        through = f" (where the symlink {path} leads)" if target != os.path.abspath(path) else ""
        raise UsageError(f"{what} directory {parent} does not exist{through}")
    if written and not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{what} directory {parent} is not writable")
    if not written and not os.access(parent, os.X_OK):
        raise UsageError(f"{what} directory {parent} cannot be searched (no x permission)")
    if len(os.fsencode(os.path.basename(path))) > os.pathconf(parent, "PC_NAME_MAX"):
        raise UsageError(f"{what} name is too long: {os.path.basename(path)[:40]}...")
    if os.path.isdir(path):
        raise UsageError(f"{what} {path} is a directory")
    return path


def _write_out(path: str, text: bytes, what: str, stopped, timeout: float) -> None:
    """Write a file the caller named (tid file, expect file) before the PID line; a host
    limit that stops the write (ulimit -f, a full file system) is Unsupported naming it."""
    try:
        _write_file(path, text, what, stopped, timeout)
    except OSError as e:
        if e.errno not in (errno.EFBIG, errno.ENOSPC, errno.EDQUOT):
            raise
        import resource
        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        limit = (f" under ulimit -f {soft // 1024}"
                 if e.errno == errno.EFBIG and soft != resource.RLIM_INFINITY else "")
        raise Unsupported(f"cannot write the {what} {path}: {e.strerror} "
                          f"({errno.errorcode[e.errno]}){limit}") from None


def _write_file(path: str, text: bytes, what: str, stopped, timeout: float) -> None:
    path = _follow_symlinks(path, what)  # a symlink stays; what it points to is written (or made)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        # a FIFO or device the caller made: write into it, never replace it
        fd = _open_for_writing(path, what, stopped, timeout)
        if fd is None:
            return
        try:
            os.write(fd, text)
        except BrokenPipeError:
            raise ScenarioFailed(f"the reader of {what} {path} closed it before it was "
                                 f"written") from None
        finally:
            os.close(fd)
        return
    import tempfile
    fd, tmp = tempfile.mkstemp(prefix=".ioworkload-", dir=os.path.dirname(path))
    try:
        with open(fd, "wb") as f:
            f.write(text)
        if st is not None:  # replaced, not re-made: the file keeps its mode and owner
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.chown(tmp, st.st_uid, st.st_gid)
                except PermissionError:
                    pass  # not root: the file becomes ours, as a rewrite by its owner would
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would have made it
        os.replace(tmp, path)  # readers never see a half-written file
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _follow_symlinks(path: str, what: str) -> str:
    """`path` with every symlink resolved, refusing the links the kernel's fs.protected_symlinks
    rule would not let us follow: a link in a sticky world-writable directory (/tmp) owned by
    neither us nor the directory's owner, which another user could have planted to make us
    (root) overwrite a file of their choosing. Resolving first and then renaming over the
    target would bypass the kernel's own check, so it is made here."""
    parts = os.path.abspath(path).split("/")[1:]
    resolved = "/"
    hops = 0
    while parts:
        name = parts.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = os.path.join(resolved, name)
        try:
            st = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            return os.path.join(candidate, *parts)  # made later (or refused by open/rename)
        if not stat.S_ISLNK(st.st_mode):
            resolved = candidate
            continue
        hops += 1
        if hops > 40:  # the kernel's limit (ELOOP)
            raise UsageError(f"{what} {path}: too many levels of symbolic links")
        parent = os.stat(resolved)
        if (parent.st_mode & stat.S_ISVTX and parent.st_mode & stat.S_IWOTH
                and st.st_uid not in (os.geteuid(), parent.st_uid)):
            raise UsageError(f"{what} {path}: refusing to follow the symlink {candidate}, owned "
                             f"by uid {st.st_uid} in the sticky world-writable directory "
                             f"{resolved} (the kernel's protected_symlinks rule)")
        target = os.readlink(candidate)
        if target.startswith("/"):
            resolved = "/"
        parts = target.split("/") + parts
    return resolved


def _open_for_writing(path: str, what: str, stopped, timeout: float) -> int | None:
    """Open without blocking: a FIFO nobody reads yet is retried (like the start file, same
    cap) instead of hanging where no signal can end the wait. None: a stop signal came."""

    def try_open() -> int | None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if e.errno != errno.ENXIO:  # ENXIO: a FIFO without a reader
                raise
            return None
        os.set_blocking(fd, True)
        return fd

    return _wait_until(try_open, timeout, START_POLL, f"a reader of {what} {path}", stopped)


def _distinct_files(written: dict, waited: dict) -> None:
    """Every file we write is a file of its own, and none is one we wait for: one would
    overwrite the other, or writing it would create the start or hold file."""
    seen: dict[str, str] = {}
    for what, path in written.items():
        if not path:
            continue
        real = os.path.realpath(path)
        if real in seen:
            raise UsageError(f"the {seen[real]} and the {what} are the same file ({path}): "
                             f"one would overwrite the other")
        seen[real] = what
        for other_what, other in waited.items():
            if other and real == os.path.realpath(other):
                raise UsageError(f"the {what} and the {other_what} are the same file ({other}): "
                                 f"writing one would create the other")


class _Attach:
    """The attach protocol: PID on the first stdout line, then a start file or delay, and a
    hold file after the run (ior's IOR_WORKLOAD_* variables are honoured too)."""

    def __init__(self, args, ior_mode: bool):
        env = os.environ
        ior_env = {k: env[k] for k in IOR_ENV if k in env}
        # Explicit options win over ior's variables; the variables apply in either mode.
        self.start_file = self.delay = None
        if args.start_file is not None:
            self.start_file = args.start_file
        elif args.start_delay is not None:
            self.delay = parse_seconds(args.start_delay, "start delay", allow_zero=True)
        elif ior_env.get("IOR_WORKLOAD_STARTUP_FILE"):
            self.start_file = ior_env["IOR_WORKLOAD_STARTUP_FILE"]
        elif "IOR_WORKLOAD_STARTUP_DELAY_MS" in ior_env:
            self.delay = self._ior_delay(ior_env["IOR_WORKLOAD_STARTUP_DELAY_MS"])
        elif ior_mode:
            self.delay = IOR_DEFAULT_DELAY_MS / 1000
        self.hold_file = args.hold_file if args.hold_file is not None else \
            ior_env.get("IOR_WORKLOAD_HOLD_FILE") or None
        self.tid_file = args.tid_file
        self.expect_file = args.expect_file
        self.start_timeout = START_TIMEOUT
        if args.start_timeout is not None:
            self.start_timeout = parse_seconds(args.start_timeout, "start timeout")
            if self.start_file is None:
                raise UsageError("--start-timeout needs a start file (--start-file or "
                                 "IOR_WORKLOAD_STARTUP_FILE)")
        # ior mode polls like ior's workload: a bad path fails at its first stat() (exit 1)
        self.file_present = ior_protocol.file_present if ior_mode else _exists
        self.ior_tid_file = ior_env.get(ior_protocol.TID_FILE) if ior_mode else None
        self.ior_child_pid_file = ior_env.get(ior_protocol.CHILD_PID_FILE) if ior_mode else None
        self.child_pid_written = False
        self.announced = False
        if self.start_file is not None and not ior_mode:
            _check_parent(self.start_file, "start file", written=False)
            if os.path.lexists(self.start_file):
                # Left by an earlier run: the scenario would start before the tracer attached.
                if not args.clear_start_file:
                    raise UsageError(f"the start file {self.start_file} already exists: the run "
                                     f"would start at once, before anything could attach; "
                                     f"remove it, or pass --clear-start-file")
                os.unlink(self.start_file)
        if self.hold_file is not None and not ior_mode:
            _check_parent(self.hold_file, "hold file", written=False)
        if self.tid_file is not None:
            _check_parent(self.tid_file, "tid file")
        if self.expect_file is not None:
            _check_parent(self.expect_file, "expect file")
        _distinct_files({"tid file": self.tid_file, "expect file": self.expect_file,
                         "ior's tid file": self.ior_tid_file,
                         "ior's child pid file": self.ior_child_pid_file},
                        {"start file": self.start_file, "hold file": self.hold_file})
        # Any of these means a harness is waiting for the PID line.
        self.active = bool(self.start_file or self.hold_file or self.delay is not None
                           or ior_mode or ior_env)

    @staticmethod
    def _ior_delay(text: str) -> float:
        # ior: a non-integer or negative value falls back to 8000 ms.
        try:
            ms = int(text)
        except ValueError:
            ms = -1
        if ms < 0:
            return IOR_DEFAULT_DELAY_MS / 1000
        if ms > 10**12:
            raise UsageError(f"IOR_WORKLOAD_STARTUP_DELAY_MS is too long: {shown(text)}")
        return ms / 1000

    def announce(self, stopped, tids, expected) -> None:
        if self.tid_file:
            _write_out(self.tid_file, "".join(f"{t}\n" for t in tids).encode(), "tid file",
                       stopped, self.start_timeout)
        if self.expect_file:
            import json
            _write_out(self.expect_file, (json.dumps(expected) + "\n").encode(), "expect file",
                       stopped, self.start_timeout)
        # ior's prestart hooks publish the task they parked: a thread's tid, a child's pid
        parked = ior_protocol.parked_task(expected)
        child = any(t.get("prestart") and t["role"] == "child" for t in expected["tasks"])
        if self.ior_tid_file:  # else worker 0: the main thread
            ior_protocol.write_tid_file(self.ior_tid_file, parked if parked and not child
                                        else tids[0])
        if self.ior_child_pid_file and child:
            ior_protocol.write_tid_file(self.ior_child_pid_file, parked,
                                        ior_protocol.CHILD_PID_FILE)
            self.child_pid_written = True
        if not self.active:
            return
        _emit(f"{expected['pid']}\n")
        self.announced = True
        if self.start_file:
            _wait_until(lambda: self.file_present(self.start_file), self.start_timeout, START_POLL,
                        f"start file {self.start_file}", stopped)
        elif self.delay:
            end = time.monotonic() + self.delay
            while not stopped() and time.monotonic() < end:
                time.sleep(min(0.05, max(0.0, end - time.monotonic())))

    def after_run(self, expected) -> None:
        """ior's fork-inherit-fds writes its child's pid where asked: here after the run,
        from the expect document (the scenario process writes nothing)."""
        if self.ior_child_pid_file and not self.child_pid_written and expected:
            pid = ior_protocol.first_child(expected)
            if pid:
                ior_protocol.write_tid_file(self.ior_child_pid_file, pid,
                                            ior_protocol.CHILD_PID_FILE)

    def hold(self, stopped) -> None:
        if not self.hold_file:
            return
        _wait_until(lambda: self.file_present(self.hold_file), HOLD_TIMEOUT, HOLD_POLL,
                    f"hold file {self.hold_file}", stopped)


def _report(res, columns: int | None = terminal.DEFAULT_WIDTH) -> str:
    """The run's report; `columns` None: every line whole (--wide)."""
    lines: list[str] = []
    w = lines.append
    if res.duration is not None:
        what = f"{res.duration:g} s"
    else:
        what = f"{_fmt_int(res.iterations)} iterations"
    many = res.threads > 1
    w(f"scenario      {res.scenario} ({res.family})\n")
    w(terminal.wrap(f"{what} x {res.threads} thread{'s' if many else ''}  (iterations done: "
                    f"{', '.join(_fmt_int(i) for i in res.iterations_done)})",
                    columns, indent=" " * 14, first="ran           ") + "\n")
    w(f"elapsed       {res.elapsed_ns / 1e9:.6f} s (timed loop)\n")
    w(f"syscalls      {_fmt_int(res.syscalls)} ({_fmt_int(res.loop_syscalls)} in the loop)\n")
    if res.rate is not None:
        # The loop waits between iterations: a time per call would be the pacing, not the call.
        done = res.iterations_done
        achieved = (sum(done) / len(done)) * 1e9 / res.elapsed_ns if res.elapsed_ns and done else 0
        w(f"paced         at most {res.rate:,.6g} iterations/s per thread; "
          f"achieved {achieved:,.6g}\n")
    elif res.ns_per_syscall is not None:
        together = f" ({1e9 / res.syscalls_per_second:,.1f} for the {res.threads} together)" \
            if many and res.syscalls_per_second else ""
        w(f"ns/syscall    {res.ns_per_syscall:,.1f}{' per thread' if many else ''}{together}\n")
        w(f"syscalls/s    {_fmt_int(round(res.syscalls_per_second or 0))}"
          f"{f' ({res.threads} threads together)' if many else ''}\n")
    if res.interrupted:
        w(f"interrupted   by {signal.Signals(res.interrupted).name}: partial result\n")
    w("\n")
    rows = [(name, _fmt_int(c["count"]), _fmt_int(c["ok"]),
             ", ".join(f"{e} {_fmt_int(n)}" for e, n in c["errors"].items()) or "-")
            for name, c in res.calls.items()]
    name_w = max([len("syscall")] + [len(r[0]) for r in rows])
    count_w = max([len("count")] + [len(r[1]) for r in rows])
    ok_w = max([len("ok")] + [len(r[2]) for r in rows])
    lead = name_w + count_w + ok_w + 6
    w(f"{'syscall':<{name_w}}  {'count':>{count_w}}  {'ok':>{ok_w}}  errors\n")
    for name, count, ok, errs in rows:
        row = f"{name:<{name_w}}  {count:>{count_w}}  {ok:>{ok_w}}  "
        w(terminal.wrap(errs, columns, indent=" " * lead, first=row) + "\n")
    if res.verification is not None:
        w("\nkernel tracepoint counts (perf_event_open, per thread):\n")
        cells = []
        for r in res.verification:
            exp = r["expected"]
            exp = _fmt_int(exp) if isinstance(exp, int) else \
                f"{_fmt_int(exp[0])}..{'' if exp[1] is None else _fmt_int(exp[1])}"
            cells.append((r["counter"], exp, _fmt_int(r["witnessed"]),
                          "ok" if r["ok"] else "MISMATCH"))
        exp_w = max([len("expected")] + [len(c[1]) for c in cells])
        wit_w = max([len("witnessed")] + [len(c[2]) for c in cells])
        numbers = exp_w + wit_w + 14  # two gaps, the verdict
        lab_w = max(len(c[0]) for c in cells)
        if columns is not None:
            lab_w = min(lab_w, max(20, columns - 2 - numbers))
        w(f"  {'tracepoint':<{lab_w}}  {'expected':>{exp_w}}  {'witnessed':>{wit_w}}\n")
        for label, exp, wit, verdict in cells:
            if len(label) > lab_w:  # its own line, the numbers under it
                w(terminal.wrap(label, columns, indent="    ", first="  ") + "\n")
                label = ""
            w(f"  {label:<{lab_w}}  {exp:>{exp_w}}  {wit:>{wit_w}}  {verdict}\n")
        if any(r["counter"].startswith("ia32:") for r in res.verification):
            w("  (ia32 calls: at raw_syscalls by their ia32 number, with any call of that number; "
              "no syscalls:sys_enter_* tracepoint fires for a compat call on x86)\n")
        w(f"verified      {'yes' if res.verified else 'NO'}\n")
    return "".join(lines)


def _warn_if_long(sc, args) -> None:
    """One line before a run expected to take over a minute (a scenario whose iterations wait:
    aio's io_destroy, for one): a long silence is otherwise taken for a hang."""
    if not sc.iteration_seconds or args.iterations is None or args.quiet:
        return
    from ioworkload.core.args import format_seconds, parse_count
    seconds = parse_count(args.iterations) * sc.iteration_seconds
    if seconds > 60:
        _warn(f"{PROG}: {sc.name}: {_fmt_int(parse_count(args.iterations))} iterations take about "
              f"{format_seconds(seconds)} (each ~{sc.iteration_seconds * 1000:g} ms on the "
              f"reference machine: see `ioworkload describe {sc.name}`); Ctrl-C stops it "
              f"cleanly\n")


def _cmd_run(argv: list[str], ior_mode: bool = False) -> int:
    args = _run_parser().parse_args(argv)
    sc = registry.get(args.scenario)
    if ior_mode:
        sc = ior_protocol.scenario_for_ior(sc)
        ior_protocol.prestart_file(sc)  # ior's prestart needs its file: fails before the PID
    threads = parse_threads(args.threads)
    if threads > 1 and getattr(sc, "one_worker", False):
        raise UsageError(f"{sc.name} in ior mode is ior's own sequence, on descriptors another "
                         f"thread could hold: one thread only")
    iterations = args.iterations
    if iterations is None:
        iterations = sc.ior_repeat if ior_mode else 1
    _warn_if_long(sc, args)
    attach = _Attach(args, ior_mode)
    if args.cpu is not None:
        os.sched_setaffinity(0, parse_cpus(args.cpu))  # the workers inherit it
    from ioworkload.core import _runner
    _runner.set_comm(PROG)  # the spawned scenario process inherits it: tracers can filter by comm
    # Past ulimit -f a write returns EFBIG, a limit the report names (exit 77), instead of
    # SIGXFSZ killing the command or the scenario process (which inherits the disposition).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    orphaned = _Controller()
    try:
        return _run_attached(args, sc, ior_mode, threads, iterations, attach, orphaned)
    finally:
        orphaned.orphaned_cleanup()


def _run_attached(args, sc, ior_mode, threads, iterations, attach, orphaned) -> int:
    from ioworkload.core.runner import Hooks, execute
    outcome = {}

    def announce(stopped, tids, expected):
        # A stop signal that came before the run's own handlers took over (early_signals kept it)
        # stops the run here, before the PID line's harness is told anything more.
        outcome["stopped"] = lambda: stopped() or orphaned()
        attach.announce(lambda: outcome["stopped"]() or early_signals.first_signal(), tids, expected)
        if early_signals.first_signal() or orphaned():
            raise Interrupted(early_signals.first_signal() or orphaned())

    def after_run(res):
        # The scenario process is still alive here, its main thread waiting to exit: the report
        # comes first, then the hold file keeps it alive for the tracer (ior mode: a failure
        # exits at once, as ior's workload does).
        outcome["code"] = _report_outcome(args, sc, res, ior_mode)
        if res.interrupted or (ior_mode and outcome["code"]):
            return
        attach.after_run(res.expected)
        attach.hold(outcome["stopped"])
        late = outcome["stopped"]()
        if late:  # the report above is whole; the signal ended what came after it
            after = "the hold wait" if attach.hold_file else "the run's end"
            _warn(f"{PROG}: {signal.Signals(late).name} stopped {after}; the result above is "
                  f"complete\n")
            outcome["code"] = 128 + late

    try:
        res = execute(sc, iterations=None if args.duration else iterations, threads=threads,
                      duration=args.duration, verify=args.verify,
                      hooks=Hooks(announce, after_run, orphaned), own_process=True,
                      rate=parse_rate(args.rate, "--rate") if args.rate is not None else None,
                      pid_namespace=args.pid_namespace)
    except Unsupported as e:
        if not ior_mode:
            raise
        # ior's workload announces its PID before it can fail: ours is the command's
        if not attach.announced:
            _emit(f"{os.getpid()}\n")
        _warn(f"unsupported: {e}\n")
        return EXIT_FAILED
    if "code" not in outcome:  # after_run did not run (a signal stopped the run early)
        outcome["code"] = _report_outcome(args, sc, res, ior_mode)
    return outcome["code"]


class _Controller:
    """For a command spawn() started: calling it gives SIGHUP once its controller is gone
    (this process re-parented), so the start and hold waits and the run itself end and clean
    up at once, not after their timeouts; then `orphaned_cleanup()` removes the control directory. Other
    commands never hang up this way."""

    def __init__(self):
        from ioworkload.core.workload import CONTROL_DIR_ENV, CONTROLLER_ENV
        pid = os.environ.pop(CONTROLLER_ENV, "")  # not inherited by anything this one starts
        self.pid = int(pid) if pid.isdigit() else None
        self.control = os.environ.pop(CONTROL_DIR_ENV, None)

    def __call__(self) -> int | None:
        return signal.SIGHUP if self.pid is not None and os.getppid() != self.pid else None

    def orphaned_cleanup(self) -> None:
        if self() and self.control and os.path.basename(self.control).startswith(
                "ioworkload-spawn-"):
            import shutil
            shutil.rmtree(self.control, ignore_errors=True)


def _report_outcome(args, sc, res, ior_mode) -> int:
    """Print the result as asked; the exit code it calls for."""
    if ior_mode:
        ior_protocol.tolerate(res)  # what ior's workload accepts does not fail the run
    if args.json:
        d = res.to_dict()
        d.pop("tmpdir", None)
        d["dir"] = res.tmpdir
        import json
        _emit(json.dumps(d) + "\n")
    elif not args.quiet and not ior_mode:
        _emit(_report(res, terminal.prose_width(args.wide)))
    from ioworkload.core.runner import limit_reason
    reason = limit_reason(res)
    if reason:  # the host's limit, not the scenario: one line, not every event it cut short
        _warn(f"unsupported: {reason}\n")
        return EXIT_FAILED if ior_mode else EXIT_UNSUPPORTED
    for m in res.mismatches:
        _warn(f"{PROG}: {sc.name}: {m}\n")
    if res.verified is False:
        bad = [r["counter"] for r in res.verification if not r["ok"]]
        _warn(f"{PROG}: {sc.name}: kernel counts differ from the manifest: "
              f"{', '.join(bad)}\n")
        from ioworkload.core.verify import bpf_on_syscall_tracepoints, restarts_unasked
        attached = bpf_on_syscall_tracepoints()
        if attached:
            _warn(f"{PROG}: {sc.name}: BPF programs are attached to syscall tracepoints: "
                  f"{'; '.join(attached)}; the kernel gives a tracepoint's perf counters only "
                  f"the events its program returns nonzero for, so a program that filters "
                  f"by returning 0 hides calls from --verify: run it without them\n")
        restarts = restarts_unasked(res.verification)
        if restarts:
            _warn(f"{PROG}: {sc.name}: the run was stopped and continued (SIGSTOP/SIGCONT or a "
                  f"debugger): the kernel interrupted {restarts} sleeping call(s) more than "
                  f"declared and restarted them (re-executed, or resumed with restart_syscall), "
                  f"which is where the counts differ\n")
    if res.interrupted:
        return 128 + res.interrupted
    if sc.exit_status:  # ior's crash: the process failed on purpose, and so does the command
        _warn(f"scenario {sc.name} failed: intentional crash for testing (its process exited "
              f"with status {sc.exit_status})\n")
        return EXIT_FAILED
    return EXIT_OK if res.ok and res.verified is not False else EXIT_FAILED


def _cmd_list(argv: list[str]) -> int:
    from ioworkload.cli import catalog
    return catalog.list_main(argv)


def _cmd_describe(argv: list[str]) -> int:
    from ioworkload.cli import catalog
    return catalog.describe_main(argv)


def _cmd_overhead(argv: list[str]) -> int:
    try:
        from ioworkload.cli import overhead as overhead_cli
    except ImportError:
        raise UsageError("the overhead command is not available in this build") from None
    return overhead_cli.main(argv)


def _cmd_check(argv: list[str]) -> int:
    from ioworkload.judge import conformance
    return conformance.main(argv)


def _cmd_coverage(argv: list[str]) -> int:
    from ioworkload.cli import coverage
    return coverage.main(argv)


def _cmd_kernels(argv: list[str]) -> int:
    from ioworkload.kernels import command
    return command.main(argv)


COMMANDS = {"list": _cmd_list, "describe": _cmd_describe, "overhead": _cmd_overhead,
            "check": _cmd_check, "coverage": _cmd_coverage, "kernels": _cmd_kernels}


def runs_a_scenario(argv: list[str]) -> bool:
    """Whether `argv` is a run (the scenario name or ior's --scenario=), not another command:
    runs keep early_signals' stop-signal handling, the others get Python's back."""
    if not argv or argv[0] in COMMANDS or argv[0] in ("-h", "--help", "--version", "-V"):
        return False
    return True


def _dispatch(argv: list[str]) -> int:
    if not argv:
        raise UsageError("no scenario given (try `ioworkload list` or `ioworkload --help`)")
    ior = [a for a in argv if a.startswith(("--scenario=", "-scenario="))]
    if ior or argv[0] in ("--scenario", "-scenario"):
        # ior's harness: `ioworkload --scenario=NAME` (Go flag syntax, so -scenario too)
        rest = [a for a in argv if a not in ior]
        if ior:
            name = ior[0].split("=", 1)[1]
        else:
            if len(argv) < 2:
                raise UsageError("usage: ioworkload --scenario=<name>")
            name, rest = argv[1], argv[2:]
        if not name:
            raise UsageError("usage: ioworkload --scenario=<name>")
        return _cmd_run([name] + rest, ior_mode=True)
    if argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if argv[0] in ("-h", "--help"):
        _run_parser().print_help()
        return EXIT_OK
    if argv[0] in ("--version", "-V"):
        from ioworkload import __version__
        print(f"{PROG} {__version__}")
        return EXIT_OK
    return _cmd_run(argv, ior_mode=ior_protocol.requested())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _reserve_std_fds()
    try:
        return _dispatch(argv)
    except IoworkloadError as e:
        message = cap_words(str(e), 2 * SHOWN_CHARS)  # whatever it echoes, the line stays short
        if e.exit_code == 77:
            _warn(f"unsupported: {message}\n")
        elif isinstance(e, PrestartFailed):  # ior's line as it is
            _warn(f"{message}\n")
        else:
            _warn(f"{PROG}: error: {message}\n")
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except MemoryError:  # ulimit -v: the shared worker memory or Python itself
        _warn("unsupported: out of memory (is ulimit -v too low for this many threads?)\n")
        return EXIT_UNSUPPORTED
    except BrokenPipeError:
        # `ioworkload list | head`: the reader left; not an error worth a traceback.
        _stdout_to_devnull()
        return EXIT_OK
    except OSError as e:
        _warn(f"{PROG}: error: {e}\n")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
