"""The expect file: a run's whole declared syscall stream, task by task, in the form a tracer's
test compares with what it saw (schema ``ioworkload-expect/1``, ``expect.schema.json``).

A manifest (manifest.py) says what one worker issues per phase, with arguments as written for
people. Here it becomes events with the kernel's argument names and values (numbers, absolute
paths, references to earlier results), tracepoint names, syscall numbers and total counts, for
every task of the process: each worker's scenario events, framed by the runner's own events
(the release it wakes from, the wake-up that reports it done, its exit), and the events of the
helper threads and child processes it creates.
"""

from __future__ import annotations

import codecs
import json
import os
import re

from ioworkload.core.errors import errno_name
from ioworkload.core.manifest import Event, Scenario

SCHEMA = "ioworkload-expect/1"
PHASES = ("release", "setup", "iteration", "teardown", "exit")

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
# Entries of the x86-64 table that no kernel implements any more, or never did: the kernel
# enters and leaves them (sys_ni_syscall, -ENOSYS) with no per-syscall tracepoint. With how many
# arguments strace decodes for each: an expect file names them arg0, arg1, ... (no tracepoint
# names them).
REMOVED = {"uselib": 1, "_sysctl": 1, "create_module": 2, "get_kernel_syms": 1,
           "query_module": 5, "nfsservctl": 3, "getpmsg": 5, "putpmsg": 5, "afs_syscall": 5,
           "tuxcall": 3, "security": 3, "lookup_dcookie": 3, "epoll_ctl_old": 4,
           "epoll_wait_old": 4, "vserver": 5}
# Entries of the table that the kernel serves with sys_ni_syscall (-ENOSYS), so that it has no
# syscalls:sys_enter_<name> tracepoint for them: witnessed at raw_syscalls by number, like a
# bare number (x86-64 keeps i386's TLS calls in its table).
RAW_ONLY = frozenset({"set_thread_area", "get_thread_area"})
# The table a call without an `abi` of its own is in (x86_64, aarch64): the expect file's
# default ABI.
NATIVE_ABI = os.uname().machine
# The 32-bit door (`ia32:` events, int $0x80): no syscalls:sys_enter_<name> tracepoint fires for
# a compat call on x86 (arch/x86/include/asm/ftrace.h, arch_trace_is_compat_syscall: "ia32
# syscalls do not map to x86_64 syscall numbers ... just do not trace them", so the per-syscall
# handlers in kernel/trace/trace_syscalls.c return early), only raw_syscalls, with the ia32
# number. Their argument names (the kernel's SYSCALL_DEFINE/COMPAT_SYSCALL_DEFINE ones) for the
# calls x86-64 has no tracepoint of: the others take the x86-64 call's names.
IA32_ARGS = {"stat64": ["filename", "statbuf"], "fstat64": ["fd", "statbuf"],
             "_llseek": ["fd", "offset_high", "offset_low", "result", "whence"],
             "mmap2": ["addr", "len", "prot", "flags", "fd", "pgoff"],
             "socketcall": ["call", "args"],
             "ipc": ["call", "first", "second", "third", "ptr", "fifth"]}
# x32's calls are 64-bit `syscall`s with this bit in the number (__X32_SYSCALL_BIT).
X32_SYSCALL_BIT = 0x40000000

# The runner's own events around each worker's scenario (runner.py, _runner.pyx). Every worker
# sleeps in a futex wait on the shared start word from before the PID line; the release wakes
# it. After teardown it adds itself to the done count and wakes the controller, then ends: a
# thread with exit(0); the process's main thread (worker 0 of a spawned run) waits once more
# until the controller lets it go (after the hold file), then ends the process.
RELEASE = (Event.parse("futex(&start_word, FUTEX_WAIT, 0, NULL, NULL, 0) -> 0 exit-only"),)
DONE = Event.parse("futex(&done_count, FUTEX_WAKE, 2147483647, NULL, NULL, 0) -> >=0")
THREAD_EXIT = (DONE, Event.parse("exit(0) -> noreturn"))
PROCESS_EXIT = (DONE, Event.parse("futex(&leave_word, FUTEX_WAIT, 0, NULL, NULL, 0) -> 0"),
                Event.parse("exit_group(0) -> noreturn"))
# The end of an image a non-leader exec started (Scenario.execs): it waits for SIGUSR1 (blocked
# since the runner's workers block every signal; the mask survives the exec), which the
# controller sends once the hold file is there, then ends the process. The worker itself has no
# ending: the exec's de_thread killed it.
IMAGE_EXIT = (Event.parse("image: rt_sigtimedwait(&usr1, NULL, NULL, 8) -> 10"),
              Event.parse("image: exit_group(0) -> noreturn"))

_tables: dict = {}


def _table(name: str) -> dict:
    if name not in _tables:
        with open(os.path.join(os.path.dirname(__file__), name)) as f:
            _tables[name] = json.load(f)
    return _tables[name]


def tracepoint_name(syscall: str) -> str | None:
    """The name in syscalls:sys_enter_<name> (None for a bare number, a RAW_ONLY entry or an
    ia32 call: raw_syscalls only)."""
    if _UNNAMED.match(syscall) or syscall in RAW_ONLY or syscall.startswith("ia32:"):
        return None
    return TRACEPOINT_NAMES.get(syscall, syscall)


_present: "frozenset | None | bool" = False


def _syscall_tracepoints() -> frozenset | None:
    """The events under tracefs's syscalls/ on this kernel (None: tracefs cannot be read)."""
    global _present
    if _present is False:
        _present = None
        for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
            try:
                _present = frozenset(os.listdir(os.path.join(root, "events", "syscalls")))
                break
            except OSError:
                continue
    return _present


def has_tracepoint(syscall: str) -> bool:
    """The kernel names this syscall's tracepoints (syscalls:sys_enter_<name>): not a bare
    number, a RAW_ONLY or a removed entry, and where tracefs can be read, present on this kernel (a call
    the kernel was built without, e.g. init_module without CONFIG_MODULES, has none)."""
    tp = tracepoint_name(syscall)
    if tp is None or syscall in REMOVED:
        return False
    present = _syscall_tracepoints()
    return present is None or f"sys_enter_{tp}" in present


def tracepoint(syscall: str, direction: str) -> tuple[str, str, str | None]:
    """(category, event, extra filter) of a syscall's enter/exit tracepoint: a syscall without
    one of its own (has_tracepoint) is counted at raw_syscalls, filtered on its number."""
    if not has_tracepoint(syscall):
        return "raw_syscalls", f"sys_{direction}", f"id == {syscall_number(syscall)}"
    return "syscalls", f"sys_{direction}_{tracepoint_name(syscall)}", None


def _tracepoint_text(syscall: str, direction: str) -> str:
    category, event, _ = tracepoint(syscall, direction)
    return f"{category}:{event}"


def kernel_arg_names(syscall: str) -> list[str] | None:
    """The kernel's argument names (the tracepoint's fields); a removed entry's by position
    (arg0, ...); None for a bare number or a RAW_ONLY entry."""
    if syscall in REMOVED:
        return [f"arg{k}" for k in range(REMOVED[syscall])]
    if syscall.startswith("ia32:"):
        name = syscall[5:]
        return IA32_ARGS.get(name) or _table("syscall_args.json").get(TRACEPOINT_NAMES.get(name, name))
    tp = tracepoint_name(syscall)
    return None if tp is None else _table("syscall_args.json").get(tp)


def syscall_number(syscall: str) -> int | None:
    """The number of a name in its table: `ia32:open` in the ia32 table, else this
    architecture's."""
    m = _UNNAMED.match(syscall)
    if m:
        return int(m[1])
    if syscall.startswith("ia32:"):
        m = _UNNAMED.match(syscall[5:])
        return int(m[1]) if m else ia32_table().get(syscall[5:])
    from ioworkload.core._syscall_numbers import NUMBERS
    return NUMBERS.get(syscall)


def ia32_table() -> dict[str, int]:
    """The ia32 table by name (<asm/unistd_32.h> at build time; empty but on x86-64)."""
    from ioworkload.core import _syscall_numbers
    return dict(getattr(_syscall_numbers, "NUMBERS_IA32", {}))


_ia32_names: dict | None = None


def ia32_syscall_name(nr: int) -> str | None:
    """The ia32 table's name of number `nr` (None: not in it)."""
    global _ia32_names
    if _ia32_names is None:
        _ia32_names = {n: name for name, n in ia32_table().items()}
    return _ia32_names.get(nr)


def syscall_table() -> dict[str, int]:
    """This architecture's syscalls by name (from the build's headers)."""
    from ioworkload.core._syscall_numbers import NUMBERS
    return dict(NUMBERS)


_names: dict | None = None


def syscall_name(nr: int) -> str | None:
    """The table's name of syscall number `nr` (None: not in this build's table)."""
    global _names
    if _names is None:
        from ioworkload.core._syscall_numbers import NUMBERS
        _names = {n: name for name, n in NUMBERS.items()}
    return _names.get(nr)


_constants: dict | None = None


def constants() -> dict[str, int]:
    """Every constant a manifest may name: the common headers' and each family's own."""
    global _constants
    if _constants is None:
        from ioworkload.core import _consts, registry
        table = dict(_consts.COMMON)
        for module in registry.family_modules():
            table.update(getattr(module, "CONSTANTS", {}))
        table["NULL"] = 0
        _constants = table
    return _constants


_NUMBER = re.compile(r"-?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_IDENT = re.compile(r"[a-z_][a-z0-9_]*")
_CONST = re.compile(r"[A-Z_][A-Z0-9_]*")
# Arguments that hold a C string the kernel reads as a name: kept as a string. Anything else
# given as a string is a payload: {"content": ..., "len": bytes}.
_NAME_ARGS = re.compile(r"name|path|file|^type$|^uargs$")


def _number(token: str) -> int:
    neg = token.startswith("-")
    t = token[1:] if neg else token
    if t.startswith(("0x", "0X")):
        v = int(t, 16)
    elif len(t) > 1 and t.startswith("0"):
        v = int(t, 8)
    else:
        v = int(t)
    return -v if neg else v


def unquote(token: str) -> str:
    """The text of a double-quoted C string literal (escapes decoded)."""
    return codecs.decode(token[1:-1].encode("latin-1", "backslashreplace"), "unicode_escape")


def _string(token: str, dirpath: str | None) -> str:
    text = unquote(token)
    return text.replace("<dir>", dirpath) if dirpath is not None else text


def arg_value(token: str, argname: str, bound: dict[str, int], dirpath: str | None = None):
    """One written argument as the expect file states it (see manifest.py for the forms)."""
    t = token.strip()
    if t == "?":
        return {"any": True}
    if t.startswith("&"):
        return {"pointer": True}
    if t[:1] in "{[":
        return {"pointer": True, "struct": t}
    if t.startswith('"') and t.endswith('"') and len(t) >= 2:
        s = _string(t, dirpath)
        if _NAME_ARGS.search(argname):
            return s
        return {"content": s, "len": len(s.encode("utf-8", "surrogateescape"))}
    if _IDENT.fullmatch(t):
        if t not in bound:
            raise ValueError(f"{t!r} is not bound by an earlier event of this task")
        return {"fd_of": bound[t]}
    value = 0
    table = constants()
    for part in t.split("|"):
        part = part.strip()
        if _NUMBER.fullmatch(part):
            value |= _number(part)
        elif _CONST.fullmatch(part) and part in table:
            value |= table[part]
        else:
            raise ValueError(f"unknown value {part!r} (a number, a known constant, a string, "
                             f"&name, {{...}}, a bound name or ?)")
    return value


def event_args(ev: Event, bound: dict[str, int], dirpath: str | None = None) -> dict | None:
    """The event's arguments by kernel name; None for a syscall without a tracepoint."""
    names = kernel_arg_names(ev.key)
    if names is None:
        return None
    written = ev.arg_list()
    if len(written) != len(names):
        raise ValueError(f"{ev.syscall} takes {len(names)} arguments ({', '.join(names)}), "
                         f"{len(written)} written")
    return {name: arg_value(tok, name, bound, dirpath) for name, tok in zip(names, written)}


def ret_form(ev: Event) -> dict:
    x = ev.expect
    if x.kind == "noreturn":
        return {"noreturn": True}
    if x.kind == "err":
        return {"errno": x.value, "name": errno_name(x.value)}
    return {x.kind: x.value}


def task_streams(sc: Scenario, own_process: bool, main: bool) -> dict[str, list]:
    """Per role ('worker', 'helper', 'child'): [(phase, manifest slot or None, Event)] in order.
    The slot is the event's tally index in its phase (None for the runner's own events)."""
    streams: dict[str, list] = {"worker": [(p, None, e) for p in ("release",) for e in RELEASE]}
    for phase in ("setup", "iteration", "teardown"):
        for k, ev in enumerate(getattr(sc, phase)):
            streams.setdefault(ev.role, []).append((phase, k, ev))
    ending = THREAD_EXIT
    if own_process and main:
        ending = PROCESS_EXIT if not sc.exit_status else PROCESS_EXIT[:-1] + (
            Event.parse(f"exit_group({sc.exit_status}) -> noreturn"),)
    if sc.execs and main:  # the exec ends the worker; the image ends the process
        ending = ()
        streams.setdefault("image", []).extend(("exit", None, e) for e in IMAGE_EXIT)
    streams["worker"] += [("exit", None, e) for e in ending]
    return streams


def validate(sc: Scenario) -> list[str]:
    """Problems with a scenario's manifest as an expectation (empty: none)."""
    problems = []
    for role, stream in task_streams(sc, False, False).items():
        bound: dict[str, int] = {}
        for seq, (phase, _, ev) in enumerate(stream):
            if syscall_number(ev.key) is None:
                problems.append(f"{sc.name}: {ev}: no syscall {ev.syscall} on this architecture")
                continue
            try:
                event_args(ev, bound)
            except ValueError as e:
                problems.append(f"{sc.name}: {phase} {ev}: {e}")
            if ev.bind:
                bound[ev.bind] = seq
    return problems


def _passes(phase: str, iterations: int | None) -> int | None:
    return iterations if phase == "iteration" else 1


def _count(ev: Event, passes: int | None):
    """An event's total count: an int, None (a duration decides), or {"min", "max"} for a count
    range (max None: no bound)."""
    if passes is None:
        return None
    if not ev.upto:
        return passes * ev.times
    least, most = ev.count_range(passes)
    return {"min": least, "max": most}
def _instances(stream: list) -> tuple[bool, int]:
    """(created in each iteration?, how many per pass) of a helper or child task: one per
    return of its creating clone/fork in the new task (the role's exit-only events)."""
    created = [(phase, ev) for phase, _, ev in stream if ev.exit_only]
    if not created:
        return any(phase == "iteration" for phase, _, _ in stream), 1
    each_iteration = any(phase == "iteration" for phase, _ in created)
    return each_iteration, sum(ev.times for phase, ev in created
                               if (phase == "iteration") == each_iteration)


def _execs(ev: Event) -> bool:
    """A successful execve of a helper: with Scenario.execs, the non-leader exec."""
    return ev.role == "helper" and ev.syscall in ("execve", "execveat") and ev.expect.kind != "err"


def build(sc: Scenario, *, pid: int, tids: list[int], dirs: list[str | None],
          iterations: int | None, own_process: bool, root: str | None,
          prestarted: "list[int] | None" = None, ns_ids: "dict[int, int] | None" = None) -> dict:
    """The expect document for a run about to start (counts per task; None where a duration
    decides the iteration count). prestarted: per worker, the task its prestart left parked
    (sc.prestart_task's role), named here by its tid. ns_ids: each of those tids (and the
    pid) as the task sees itself in its PID namespace (NSpid's last), where that differs."""
    tasks: list[dict] = []
    events: list[dict] = []
    for index, tid in enumerate(tids):
        main = own_process and index == 0
        dirpath = dirs[index] if index < len(dirs) else None
        for role, stream in task_streams(sc, own_process, main).items():
            if role == "worker":
                task = {"tid": tid, "role": "worker", "index": index, "main": main}
            elif role == "image":
                # runs under the PID once the parked thread's execve returns (de_thread)
                task = {"tid": pid, "role": role, "index": index, "parent": tid,
                        **({"exec_of": prestarted[index]} if prestarted else {}),
                        "each_iteration": False, "per_pass": 1, "instances": 1, "tids": [pid],
                        "tids_complete": True}
            elif role == sc.prestart_task and prestarted:
                # one task, from before the PID line: its stream starts at the release
                task = {"tid": prestarted[index], "role": role, "index": index, "parent": tid,
                        "prestart": True, "each_iteration": False, "per_pass": 1,
                        "instances": 1, "tids": [prestarted[index]], "tids_complete": True}
            else:
                each_iteration, per_pass = _instances(stream)
                task = {"tid": None, "role": role, "index": index, "parent": tid,
                        "each_iteration": each_iteration, "per_pass": per_pass,
                        "instances": (None if iterations is None else iterations * per_pass)
                        if each_iteration else per_pass}
            tasks.append(task)
            bound: dict[str, int] = {}
            for seq, (phase, slot, ev) in enumerate(stream):
                passes = _passes(phase, iterations)
                # a parked task's wait, entered before the PID line: its release
                shown = "release" if task.get("prestart") and seq == 0 and ev.exit_only else phase
                events.append({
                    "tid": task["tid"], "role": role, "index": index, "phase": shown, "seq": seq,
                    "syscall": ev.syscall, "abi": ev.abi or NATIVE_ABI, "nr": syscall_number(ev.key),
                    "enter": _tracepoint_text(ev.key, "enter") if ev.enter_traced else None,
                    "exit": _tracepoint_text(ev.key, "exit") if ev.exits else None,
                    "args": event_args(ev, bound, dirpath),
                    "args_list": None,
                    "ret": ret_form(ev),
                    "count": _count(ev, passes),
                    "harness": slot is None,
                    "slot": None if slot is None else [phase, slot],
                    "bind": ev.bind,
                    **({"filtered": True} if ev.filtered else {}),
                    **({"returns_on": pid} if sc.execs and _execs(ev) else {}),
                })
                if ev.bind:
                    bound[ev.bind] = seq
    doc = {
        "schema": SCHEMA, "scenario": sc.name, "family": sc.family, "pid": pid,
        "iterations": iterations, "threads": len(tids), "dir": root,
        "own_process": own_process,
        "exit_status": sc.exit_status if own_process else None,
        "release": "each worker's seq 0: the futex wait it sleeps in from before the PID line "
                   "returns 0 at the release; a task's events before that return are not part "
                   "of the run (a tracer attaching by ptrace may show that wait interrupted "
                   "and restarted, -ERESTARTSYS)",
        "tasks": tasks, "events": events,
    }
    for index, tid in enumerate(tids):
        for comm in sc.io_threads:  # kernel threads of the process, no syscalls of their own
            tasks.append({"tid": None, "role": "io_thread", "index": index, "parent": tid,
                          # iou-sqp-<worker tid>; iou-wrk-<tid of the task that queued the
                          # work: the worker, or its iou-sqp thread>
                          "comm": f"{comm}-*",
                          "instances": {"min": 0, "max": None}, "tids": [],
                          "tids_complete": True})
    _in_own_namespace(doc, ns_ids or {})
    _positional(events)
    if sc.operations:
        doc["operations"] = operations(sc, tids, dirs, iterations)
    if any(sc.task_work_restarts) and own_process and tids:
        doc["restarts"] = [LEAVE_RESTART | {"tid": tids[0], "index": 0, "count": {
            "min": 0, "max": sc.restarts_at_most(iterations)}}]
    return doc


def _in_own_namespace(doc: dict, ns_ids: dict) -> None:
    """Each task's tid as it sees itself (`ns_tid`; the same as `tid` but in a PID namespace of
    its own) and the pid likewise (`ns_pid`): a tracer inside the namespace reports these.
    Values in arguments and returns (getpid's, kill's, a child's from clone) are always the
    namespace's: the kernel's tracepoints show what the task passed and got."""
    if doc["pid"] is not None:  # None: describe's document of no run
        doc["ns_pid"] = ns_ids.get(doc["pid"], doc["pid"])
    for task in doc["tasks"]:
        if task["tid"] is not None:
            task["ns_tid"] = ns_ids.get(task["tid"], task["tid"])


def renumbered(doc: dict, ids: dict) -> dict:
    """A copy of the document with every task id found in `ids` (old -> new) renamed: the pid,
    the tasks' tid, parent and exec_of, the events' tid and returns_on, the restarts' and
    operations' tid. Values in arguments and returns stay as the tasks saw them."""
    def renamed(item: dict, *keys: str) -> dict:
        return dict(item, **{k: ids.get(item[k], item[k]) for k in keys if k in item})

    out = dict(doc, pid=ids.get(doc["pid"], doc["pid"]),
               tasks=[renamed(t, "tid", "parent", "exec_of") for t in doc["tasks"]],
               events=[renamed(e, "tid", "returns_on") for e in doc["events"]])
    for key in ("restarts", "operations"):
        if key in doc:
            out[key] = [renamed(r, "tid") for r in doc[key]]
    return out


def seen_from_outside(doc: dict, outer: dict) -> dict:
    """The document of a command that ran in a PID namespace below the caller's (`unshare
    --pid --fork`), as the caller sees it: each task's tid the caller's (outer: the command's
    id -> the caller's), its ns_tid what the task sees itself as (the command's, or the
    namespace of its own the document already names), as --pid-namespace's documents do."""
    if not outer:
        return doc
    inner = dict(doc, tasks=[dict(t, ns_tid=t.get("ns_tid", t["tid"])) if t["tid"] is not None
                             else t for t in doc["tasks"]])
    if doc["pid"] is not None:
        inner["ns_pid"] = doc.get("ns_pid", doc["pid"])
    return renumbered(inner, outer)


ERESTARTSYS = 512  # a kernel-internal return: the syscall is restarted, user space never sees it
# A declared harness event with a count range: the main thread's leave wait interrupted by task
# work the kernel queues after the run (io_uring's ring exit), then restarted (its futex
# entered again, returning 0 as declared in `events`).
LEAVE_RESTART = {
    "role": "worker", "phase": "exit", "syscall": "futex",
    "args": {"uaddr": {"pointer": True}, "op": 0, "val": 0, "utime": 0, "uaddr2": 0, "val3": 0},
    "ret": {"errno": ERESTARTSYS, "name": "ERESTARTSYS"},
    "harness": True,
    "why": "the kernel's task work for a closed io_uring ring (its exit work reaches every task "
           "that used the ring, asynchronously) may interrupt the leave wait, once per ring at "
           "most; each time the wait is restarted (another futex entry); a restart after the "
           "controller let it go returns -EAGAIN instead of the declared 0",
}


def operations(sc: Scenario, tids: list, dirs: list, iterations: int | None) -> list[dict]:
    """Each worker's io_uring requests (the manifest's `operations`): not syscalls, so not in
    `events`; their CQE result and count per run, and the user_data that tells them apart."""
    out = []
    for index, tid in enumerate(tids):
        dirpath = dirs[index] if index < len(dirs) else None
        for k, op in enumerate(sc.operations):
            out.append({
                "tid": tid, "index": index, "seq": k, "opcode": op.opcode,
                "op": constants().get(op.opcode), "user_data": k + 1,
                "args": op.args.replace("<dir>", dirpath) if dirpath else op.args,
                "async": op.force_async, "res": ret_form(op),
                "count": None if iterations is None else iterations * op.times,
            })
    return out


def resolve(sc: Scenario, doc: dict, per_worker: list[dict], iterations_done: list[int]) -> dict:
    """The same document after the run: references resolved to the values that occurred
    (each bound event's result, when every call of it returned the same value), counts from
    the iterations actually done, and what each event's tally saw (``observed``)."""
    out = dict(doc, tasks=[dict(t) for t in doc["tasks"]], events=[],
               iterations_done=list(iterations_done))
    for t in out["tasks"]:
        if t["role"] in ("worker", "io_thread", "image") or t.get("prestart"):
            continue
        if t.get("each_iteration"):  # per_pass such tasks per iteration the worker ran
            t["instances"] = iterations_done[t["index"]] * t.get("per_pass", 1)
        # Their tids, as the worker's clone/fork returned them (the first IOW_TASK_LOG of them).
        w = per_worker[t["index"]]
        t["tids"] = w.get("task_tids", [])
        t["tids_complete"] = len(t["tids"]) == w.get("tasks_created", 0)
    values: dict[tuple, int] = {}
    for ev in doc["events"]:
        e = dict(ev)
        key = (e["index"], e["role"])
        declared = RELEASE[0]  # any exact single event: the runner's own
        if ev["slot"] is not None:
            phase, k = ev["slot"]
            declared = getattr(sc, phase)[k]
            tally = per_worker[e["index"]][phase][k]
            e["observed"] = {"count": tally["ok"] + sum(tally["errors"].values()),
                             "ok": tally["ok"],
                             "errors": {errno_name(n): c for n, c in tally["errors"].items()}}
            if ev["bind"] and tally["ok"] and tally["ok_min"] == tally["ok_max"]:
                values[key + (ev["seq"],)] = tally["ok_min"]
        e["count"] = _count(declared, _passes(e["phase"], iterations_done[e["index"]]))
        if e["args"]:
            e["args"] = {name: _resolved(v, values, key) for name, v in e["args"].items()}
        out["events"].append(e)
    _positional(out["events"])
    if "restarts" in doc:
        out["restarts"] = [dict(r, count={"min": 0, "max": sc.restarts_at_most(iterations_done[0])})
                           for r in doc["restarts"]]
    if "operations" in doc:
        out["operations"] = []
        for o in doc["operations"]:
            op = sc.operations[o["seq"]]
            tally = per_worker[o["index"]]["iteration"][len(sc.iteration) + o["seq"]]
            out["operations"].append(dict(
                o, count=iterations_done[o["index"]] * op.times,
                observed={"count": tally["ok"] + sum(tally["errors"].values()), "ok": tally["ok"],
                          "errors": {errno_name(n): c for n, c in tally["errors"].items()}}))
    return out


def _positional(events: list[dict]) -> None:
    """`args_list`: the same values as `args`, in the kernel's order, for readers whose maps
    lose a JSON object's key order (Go maps, serde's default)."""
    for e in events:
        e["args_list"] = None if e["args"] is None else list(e["args"].values())


def _resolved(v, values: dict, key: tuple):
    got = values.get(key + (v["fd_of"],)) if isinstance(v, dict) and "fd_of" in v else None
    return v if got is None else got  # unresolved: a different value each call, or none
