"""What a scenario declares: its syscall events per phase and their expected results.

A manifest event is one string, e.g. ``"fd = openat(AT_FDCWD, "<dir>/aio-target", O_RDWR|O_CREAT, 0600) -> >=0"``:

    [ROLE: ][NAME = ]syscall(ARG, ARG, ...) -> RESULT [exit-only] [xN | xMIN..MAX | xMIN..]

* ``syscall``: the syscall as the kernel's table names it (``stat``, not ``newstat``).
* ARGs: exactly the kernel's arguments, in order (their names are the tracepoint's fields,
  ``syscall_args.json``), each written as one of
    - a number: ``0``, ``-1``, ``4096``, ``0x1c``, C octal ``0644``;
    - constants from the family's headers joined by ``|``: ``O_RDWR|O_CREAT``; ``NULL`` is 0;
    - a string in double quotes, C escapes: what the kernel reads there (a path, a payload, an
      xattr name). ``<dir>`` in it stands for the worker's private directory, so
      ``"<dir>/aio-target"`` is the absolute path the call passes;
    - ``&name``: a pointer to memory of ours (an output buffer, a struct), value not fixed;
    - ``{...}`` or ``[...]``: a pointer to a struct or array, its content described for people;
    - ``name``: the value an earlier event of the same task returned (bound with ``name = ``);
    - ``?``: a value known only at run time that no earlier event returned (an AIO context).
* RESULT: an exact value (``0``, ``21``), a lower bound (``>=0``), an error (``-EINVAL``), or
  ``noreturn`` (exit, exit_group: the kernel sees the entry only).
* ``exit-only``: a return with no entry of its own (a raw clone's 0 in the new thread).
* ``filtered``: a call a seccomp filter answered (SECCOMP_RET_ERRNO) before the sys_enter
  tracepoints: the kernel's tracepoints see its return only, a ptrace tracer both stops.
* ``ia32:`` before the name: a call through the 32-bit door (``int $0x80``), named and
  numbered in the kernel's ia32 table (``ia32:open``, 5; 5 is ``fstat`` in x86-64's); its
  arguments are the 32-bit registers' values.
* ``xN``: one call site issues the call N times per pass of its phase (a loop over 64 fds), all
  tallied in this event's slot.
* ``xMIN..MAX`` / ``xMIN..``: a count range, MIN to MAX times (no upper bound without MAX) per
  pass: a call whose count the run cannot fix, e.g. a helper polling
  ``/proc/.../syscall`` until a thread is blocked. The expect file states it as
  ``"count": {"min": .., "max": .. or null}``; --verify, the tally check and the judge accept
  any count in the range. Everything else stays exact: use it only for such polling.
* RESULT ``-ERESTARTSYS`` (512), ``-ERESTARTNOINTR`` (513), ``-ERESTARTNOHAND`` (514),
  ``-ERESTART_RESTARTBLOCK`` (516): the kernel's restart codes, the return a sys_exit
  tracepoint (and strace) sees for a call a signal interrupted; the restarted call
  (``read`` again, ``restart_syscall``) is an event of its own.
* ``rt_sigreturn``: the kernel never fires its ``syscalls:sys_exit_rt_sigreturn`` (the restored
  registers make it no syscall at its exit: ``raw_syscalls:sys_exit`` reports id -1). Its
  RESULT is what tracers that read the return register print (strace): the value restored,
  e.g. ``0`` when a handler returns to a read it restarts (x86-64 restores rax = the read's
  syscall number, 0), ``-EINTR`` when the interrupted call fails. The expect file gives it
  ``"exit": null`` and that ``ret``.
* ROLE: ``helper:`` a thread the worker clones, ``child:`` a process it forks; default the
  worker itself. Their events are theirs in the expect file (own task, tid known at run time).

io_uring operations. Work a ring does for the worker is not a syscall of the worker: a scenario
lists it apart, in ``operations`` (performed each iteration, in order, after the iteration's
syscalls that submit them), one string per request:

    IORING_OP_NAME(ARG, ...) -> RESULT [async] [xN]

* ARGs: the request's fields as the SQE carries them, in the grammar above (``"<dir>/f"``,
  ``fd`` of an earlier event, constants); for people and tracers, not resolved by kernel name.
* RESULT: the completion's ``res`` (CQE), as for a syscall: ``26``, ``>=0``, ``-ENOENT``.
* ``async``: submitted with IOSQE_ASYNC, so the kernel runs it on an io-wq worker thread.
* ``xN``: N such requests per iteration.
Each operation is submitted with user_data = its position + 1 (1, 2, ...), so a tracer (and
``--verify``, on the io_uring:io_uring_submit_req / io_uring_complete tracepoints) can tell
them apart. The syscalls that submit and reap them (io_uring_enter, or none under SQPOLL) are
ordinary events of the manifest.
"""

from __future__ import annotations

import re
from collections import namedtuple

from ioworkload.core.errors import errno_name, errno_value

_EVENT = re.compile(r"^\s*(?:(?P<role>helper|child|image):\s*)?(?:(?P<bind>[a-z_][a-z0-9_]*)\s*=\s*)?"
                    r"(?:(?P<abi>ia32):)?(?P<name>[a-z_][a-z0-9_]*)\s*(?P<args>\(.*\))?\s*->\s*(?P<expect>\S+)"
                    r"(?:\s+(?P<only>exit-only|filtered))?"
                    r"(?:\s+x(?P<times>[0-9]+)(?P<range>\.\.(?P<upto>[0-9]*))?)?\s*$")
ROLES = ("worker", "helper", "child", "image")
# Syscalls whose per-syscall sys_exit tracepoint never fires (see the docstring).
NO_EXIT_TRACEPOINT = frozenset({"rt_sigreturn"})


# Plain named tuples, not dataclasses: `dataclasses` pulls in `inspect`, a third of the CLI's
# start-up time.
class Expect(namedtuple("Expect", "kind value")):
    """An expected syscall result: kind 'eq' (== value), 'ge' (>= value), 'err' (-errno) or
    'noreturn' (the call does not return: sys_enter only)."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> "Expect":
        t = text.strip()
        if t == "noreturn":
            return cls("noreturn", 0)
        if t.startswith("-E"):
            return cls("err", errno_value(t[1:]))
        if t.startswith(">="):
            return cls("ge", int(t[2:]))
        return cls("eq", int(t))

    def __str__(self) -> str:
        if self.kind == "noreturn":
            return "noreturn"
        if self.kind == "err":
            return "-" + errno_name(self.value)
        if self.kind == "ge":
            return f">={self.value}"
        return str(self.value)

    def kernel_filter(self, field: str = "ret") -> str:
        """The ftrace filter on sys_exit_* `ret` (or another field: a CQE's `res`) that matches
        this result."""
        if self.kind == "err":
            return f"{field} == -{self.value}"
        if self.kind == "ge":
            return f"{field} >= {self.value}"
        return f"{field} == {self.value}"

    def covers(self, other: "Expect") -> str:
        """How a result expected as `other` relates to this one: 'all', 'some' or 'none'."""
        if self == other:
            return "all"
        if "noreturn" in (self.kind, other.kind):
            return "none"
        if self.kind == "err" or other.kind == "err":
            return "none"
        if self.kind == "ge":
            if other.kind == "eq":
                return "all" if other.value >= self.value else "none"
            return "all" if other.value >= self.value else "some"
        # self is eq
        if other.kind == "ge":
            return "some" if self.value >= other.value else "none"
        return "none"

    def matches_tally(self, count: int, ok: int, ok_min, ok_max, errors: dict) -> bool:
        if count == 0:
            return True
        if self.kind == "noreturn":
            return ok == count  # tallied as 0 just before the call
        if self.kind == "err":
            return ok == 0 and errors.get(self.value, 0) == count
        if errors or ok != count:
            return False
        if self.kind == "ge":
            return ok_min >= self.value
        return ok_min == ok_max == self.value


_OPERATION = re.compile(r"^\s*(?P<op>IORING_OP_[A-Z0-9_]+)\s*(?P<args>\(.*\))?\s*->\s*(?P<expect>\S+)"
                        r"(?:\s+(?P<async>async))?(?:\s+x(?P<times>[1-9][0-9]*))?\s*$")


class Operation(namedtuple("Operation", "opcode args expect times force_async")):
    """One io_uring request per pass (``times`` of them), its CQE result expected as `expect`.
    It is not a syscall: `syscall` is None and the kernel sees no sys_enter/sys_exit for it."""

    __slots__ = ()
    syscall = None
    key = None  # (an event's `abi:name`; a request has none)
    enters = False
    exits = False
    exit_only = False
    filtered = False
    enter_traced = False
    role = "worker"
    bind = None
    upto = 0
    times_max = property(lambda self: self.times)

    def count_range(self, passes: int) -> "tuple[int, int]":
        return passes * self.times, passes * self.times

    @classmethod
    def parse(cls, text: str) -> "Operation":
        m = _OPERATION.match(text)
        if not m:
            raise ValueError(f"bad io_uring operation {text!r} "
                             f"(want 'IORING_OP_NAME(args) -> result [async] [xN]')")
        expect = Expect.parse(m["expect"])
        if expect.kind == "noreturn":
            raise ValueError(f"bad io_uring operation {text!r}: every request completes")
        return cls(m["op"], (m["args"] or "")[1:-1].strip(), expect, int(m["times"] or 1),
                   bool(m["async"]))

    def __str__(self) -> str:
        return (f"{self.opcode}({self.args}) -> {self.expect}" + (" async" if self.force_async else "")
                + (f" x{self.times}" if self.times != 1 else ""))


class Event(namedtuple("Event", "syscall args expect times exit_only role bind filtered upto abi",
                       defaults=(1, False, "worker", None, False, 0, None))):
    """One manifest event. times: calls per pass of the phase (``xN``), all with this expected
    result; exit_only: a return without an entry of its own (a clone child's 0); role: the task
    that issues it (worker, helper, child); bind: the name later events use for its result;
    filtered: answered by a seccomp filter before the sys_enter tracepoints (a call of its own
    that the tracepoints see returning only); upto: 0 for exactly `times` calls, else a range
    from `times` to upto (-1: no bound); abi: None for this architecture's own table, "ia32"
    for a call through the 32-bit door (``ia32:open(...)``: its name and number in that table)."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> "Event":
        m = _EVENT.match(text)
        if not m:
            raise ValueError(f"bad manifest event {text!r} (want 'name(args) -> result [xN]')")
        times = int(m["times"] or 1)
        upto = 0
        if m["range"]:
            upto = int(m["upto"]) if m["upto"] else -1
            if upto != -1 and upto < times:
                raise ValueError(f"bad manifest event {text!r}: the range x{times}..{upto} is empty")
        elif times == 0:
            raise ValueError(f"bad manifest event {text!r}: x0 (an event is issued at least once)")
        ev = cls(m["name"], (m["args"] or "")[1:-1].strip(), Expect.parse(m["expect"]),
                 times, m["only"] == "exit-only", m["role"] or "worker", m["bind"],
                 m["only"] == "filtered", upto, m["abi"])
        if m["only"] and ev.expect.kind == "noreturn":
            raise ValueError(f"bad manifest event {text!r}: noreturn cannot be {m['only']}")
        return ev

    @property
    def key(self) -> str:
        """The syscall as one name across tables: ``ia32:open`` for the 32-bit door's open."""
        return f"{self.abi}:{self.syscall}" if self.abi else self.syscall

    @property
    def enters(self) -> bool:
        """The kernel sees a sys_enter for this event."""
        return not self.exit_only

    @property
    def enter_traced(self) -> bool:
        """The kernel's sys_enter tracepoints fire for this event (a seccomp filter answers
        before them)."""
        return self.enters and not self.filtered

    @property
    def exits(self) -> bool:
        """The kernel's sys_exit_<syscall> tracepoint sees this event's return."""
        return self.expect.kind != "noreturn" and self.syscall not in NO_EXIT_TRACEPOINT

    @property
    def times_max(self) -> "int | None":
        """The most calls per pass of the phase (None: no bound)."""
        return self.times if self.upto == 0 else (None if self.upto < 0 else self.upto)

    def count_range(self, passes: int) -> "tuple[int, int | None]":
        """(least, most) calls over `passes` passes of the phase (most None: no bound)."""
        most = self.times_max
        return passes * self.times, None if most is None else passes * most

    def arg_list(self) -> list[str]:
        """The arguments as written, split at top-level commas."""
        return split_args(self.args)

    def __str__(self) -> str:
        return ((f"{self.role}: " if self.role != "worker" else "")
                + (f"{self.bind} = " if self.bind else "")
                + f"{self.key}({self.args}) -> {self.expect}"
                + (" exit-only" if self.exit_only else "")
                + (" filtered" if self.filtered else "")
                + (f" x{self.times}.." + (str(self.upto) if self.upto > 0 else "") if self.upto
                   else f" x{self.times}" if self.times != 1 else ""))


_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def split_args(text: str) -> list[str]:
    """Split an argument list at the commas outside quotes and brackets."""
    out: list[str] = []
    if not text.strip():
        return out
    depth: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        if ch in _CLOSERS:
            depth.append(_CLOSERS[ch])
        elif depth and ch == depth[-1]:
            depth.pop()
        elif ch == "," and not depth:
            out.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    if depth:
        raise ValueError(f"unbalanced brackets in arguments {text!r}")
    out.append("".join(cur).strip())
    return out


class Scenario:
    """A registry entry: name, family, summary, the C kernel and the manifest.

    requires: run-time probes, each returning None when the host can run the scenario, else
    why not. needs_dir: gets a private directory under $TMPDIR. ior_repeat: iterations when run
    as ior's `--scenario=NAME`. helper_threads: the kernel starts its own short-lived threads,
    whose syscalls are counted with the worker's (perf inherit). prepare: a Python callable run
    just before the workers start (after the requirements), for state the kernels read but
    cannot capture themselves (e.g. the process cwd to return to); returns None or why it
    cannot run. exit_status: the status a scenario process ends with (its main thread's final
    exit_group); non-zero makes the run a failure on purpose (ior's `crash`), and such a
    scenario runs only in a process of its own. operations: the io_uring requests each
    iteration performs (see the module docstring); an iteration may then issue no syscall at
    all (SQPOLL). task_work_restarts: (per thread, per iteration) how often the kernel's task
    work may restart the main thread's leave wait at most (io_uring: once per ring it closed).
    prestart_task: the role ("helper" or "child") of the task the kernel's prestart leaves
    parked before the PID line (ior mode's variants, as ior's prestart hooks): its calls before
    the release are outside the expectation; from the release on its events are that role's,
    under the tid the expect file names. prestart_required: ior's prestart hook needs the file
    that publishes the task (ior mode fails without it); False where ior has no hook and ior
    mode parks a task anyway (a thread that exists before the tracer attaches): the file is
    written when set. once: ior's sequences that run once (a prestart's, crash's): the events
    are setup's, the iteration may declare none. execs: ior mode's non-leader exec: the
    prestart's parked helper thread execs a new image (the `image` role's events, its own
    calls); the exec's de_thread ends the worker (its stream ends with its last declared call,
    no exit of its own) and the image runs on under the PID; it ends like the main thread
    does: it waits until the controller lets it go (after the hold file), then exit_group(0)
    (expect.IMAGE_EXIT). iteration_seconds: the wall time of one iteration where a wait
    dominates it (an RCU grace period, a sleep), on the reference machine: the command warns
    before a run expected to take over a minute.
    ipc_objects: the kernel objects outside any fd or file that an iteration holds, which would
    outlive a killed scenario process: ("sysv", "shm"|"msg"|"sem") for the SysV object whose id
    the worker keeps in w.sysv_id, ("mq", "ior-mq-{tid}-{index}") for a POSIX queue's name; the
    runner gives such a process an IPC namespace of its own where it may (the kernel then
    frees them), else removes them itself once the process is gone."""

    FIELDS = ("name", "family", "summary", "kernel", "setup", "iteration", "teardown",
              "requires", "needs_dir", "ior_repeat", "helper_threads", "prepare", "fixed_fds",
              "notes", "exit_status", "operations", "task_work_restarts", "io_threads",
              "prestart_task", "prestart_required", "once", "execs", "iteration_seconds",
              "ipc_objects")

    def __init__(self, name: str, family: str, summary: str, kernel: object, setup=(),
                 iteration=(), teardown=(), requires=(), needs_dir: bool = False,
                 ior_repeat: int = 1, helper_threads: bool | None = None, prepare=None,
                 fixed_fds: "tuple[int, int] | None" = None, notes: str = "",
                 exit_status: int = 0, operations=(),
                 task_work_restarts: "tuple[int, int]" = (0, 0), io_threads=(),
                 prestart_task: "str | None" = None, prestart_required: bool = True,
                 once: bool = False, execs: bool = False, iteration_seconds: float = 0.0,
                 ipc_objects=()):
        self.name, self.family, self.summary, self.kernel = name, family, summary, kernel
        self.setup, self.iteration, self.teardown = (
            tuple(e if isinstance(e, Event) else Event.parse(e) for e in phase)
            for phase in (setup, iteration, teardown))
        self.requires = tuple(requires)
        self.needs_dir, self.ior_repeat = needs_dir, ior_repeat
        self.prepare = prepare
        # (first, per_thread): fd numbers the scenario picks itself, first + per_thread * thread
        # + slot; the runner keeps everything else (the --verify counters) out of that range.
        self.fixed_fds = fixed_fds
        self.notes = notes
        self.iteration_seconds = iteration_seconds
        self.exit_status = exit_status
        self.operations = tuple(o if isinstance(o, Operation) else Operation.parse(o)
                                for o in operations)
        # The kernel may interrupt a spawned process's main thread in its leave wait with task
        # work it queues after the run (io_uring: a closed ring's exit work reaches every task
        # that used the ring, asynchronously), once per ring at most: (rings per thread in
        # setup/teardown, rings per iteration). Each interruption restarts the wait
        # (-ERESTARTSYS, another futex entry). Declared in the expect file's `restarts`.
        self.task_work_restarts = tuple(task_work_restarts)
        # Threads the kernel starts in the process for a worker's rings (io_uring's SQPOLL and
        # io-wq threads, "iou-sqp"/"iou-wrk"): they issue no syscalls; declared as tasks with
        # no events in the expect file, so a tracer knows them and anything seen from one is
        # still undeclared.
        self.io_threads = tuple(io_threads)
        if prestart_task not in (None, "helper", "child"):
            raise ValueError(f"{name}: prestart_task is 'helper' or 'child', not {prestart_task!r}")
        self.prestart_task = prestart_task
        self.prestart_required = prestart_required
        self.once = once
        self.execs = execs
        self.ipc_objects = tuple(tuple(o) for o in ipc_objects)
        for kind, what in self.ipc_objects:
            if (kind, what) not in (("sysv", "shm"), ("sysv", "msg"), ("sysv", "sem")) and \
                    (kind != "mq" or "{tid}" not in what):
                raise ValueError(f"{name}: ipc_objects has ({kind!r}, {what!r})")
        # Threads or processes of its own (helper:/child: events): followed by perf inherit
        # (None: derived from the events; False: count the worker alone, as a test may).
        self.helper_threads = helper_threads if helper_threads is not None else any(
            e.role != "worker" for e in self.setup + self.iteration + self.teardown)
        if not self.iteration and not self.operations and not once:
            raise ValueError(f"{self.name}: a scenario issues at least one syscall or io_uring "
                             f"operation per iteration (but one marked once)")

    def replace(self, **changes) -> "Scenario":
        """A copy with some fields changed (tests use it to pair a kernel with a wrong manifest)."""
        return Scenario(**{f: changes.get(f, getattr(self, f)) for f in self.FIELDS})

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, family={self.family!r})"

    @property
    def ior_name(self) -> str:
        return self.name.replace("_", "-")

    @property
    def syscalls(self) -> list[str]:
        """Every syscall name the manifest declares, in first-use order."""
        seen: dict[str, None] = {}
        for e in self.setup + self.iteration + self.teardown:
            seen.setdefault(e.key, None)
        return list(seen)

    def phase_counts(self) -> dict[str, tuple[int, int, int]]:
        """Calls of each syscall per thread: (in setup, in each iteration, in teardown). An
        exit-only event is another call's second return, not a call of its own. A count
        range (``x1..``) counts its least."""
        out: dict[str, list[int]] = {}
        for i, phase in enumerate((self.setup, self.iteration, self.teardown)):
            for e in phase:
                if e.enters:
                    out.setdefault(e.key, [0, 0, 0])[i] += e.times
        return {name: tuple(c) for name, c in out.items()}

    def expected_counts(self, iterations: int) -> dict[str, int]:
        """Total calls of each syscall for one thread running `iterations` iterations."""
        return {name: setup + iterations * each + teardown
                for name, (setup, each, teardown) in self.phase_counts().items()}

    def restarts_at_most(self, iterations: int | None) -> int | None:
        """How often the main thread's leave wait may be restarted (None: unbounded, a
        duration run)."""
        per_thread, per_iteration = self.task_work_restarts
        if per_iteration and iterations is None:
            return None
        return per_thread + per_iteration * (iterations or 0)

    def unsupported_reason(self, threads: "int | None" = None) -> "str | None":
        """Why this host cannot run the scenario (None: it can). threads: the run's thread
        count, for the probes that depend on it (None: the most a run can have)."""
        for probe in self.requires:
            reason = probe(threads) if getattr(probe, "takes_threads", False) else probe()
            if reason:
                return reason
        return None

    def describe(self) -> dict:
        return {
            "name": self.name,
            "ior_name": self.ior_name,
            "family": self.family,
            "summary": self.summary,
            "setup": [str(e) for e in self.setup],
            "iteration": [str(e) for e in self.iteration],
            "teardown": [str(e) for e in self.teardown],
            "syscalls": self.syscalls,
            "counts_per_thread": {name: {"setup": c[0], "each_iteration": c[1], "teardown": c[2]}
                                  for name, c in self.phase_counts().items()},
            "operations": [str(o) for o in self.operations],
            "needs_dir": self.needs_dir,
            "exit_status": self.exit_status,
            "notes": self.notes,
            "iteration_seconds": self.iteration_seconds,
        }


def scenarios(family: str, entries) -> list[Scenario]:
    """Build a family's Scenario list from its table of plain dicts."""
    return [Scenario(family=family, **entry) for entry in entries]
