"""Compare what a tracer saw with an expect document (expect.py): every event of every task,
its count, return value and, where the tracer reports them, its arguments.

Observed events are plain dicts, one per syscall or a counted group:
    {"tid": 124, "syscall": "openat" (or "nr": 257), "ret": 3 | -22 | None, "args": {...} or
     [...], "count": 1}
``ret`` is the raw return (-errno on failure), None for a call that never returned (exit),
"unknown" for a return the tracer does not print (it matches any returning event).
``args`` by kernel name, or positionally in the kernel's order (strace); optional.

Rules (also in docs/contract.md):
  * Only the declared process counts: events of the worker tids, and of the tasks they create
    (helpers, children: declared with tid null, matched as a pool; a result lists their tids,
    and then any other tid is an undeclared task).
  * A count range ({"min", "max"}: a helper polling /proc) takes from min to max calls (max
    None: any number); exact counts are matched first, so a range takes only the rest.
  * Each worker's stream starts at its release: before its first `futex` return of 0 a worker
    only sleeps in its start wait, so a failed `futex` return there (a ptrace attach
    interrupting that wait: -ERESTARTSYS) is not part of the run. Order counts only for a
    tracer that claims it (capabilities.py): then each worker's calls must come as declared.
  * A tracer that names processes, not threads (no `threads` capability: audit's pid=) is
    judged per process (by_process): the process's threads are one task, the order of a
    process whose threads made calls is not judged, and nothing is verified per thread.
  * What a tracer claims to report (capabilities.py) decides what is asked of it; values it
    shows are compared whatever it claims, numbers at the kernel's width (arg_bits).
  * An event's `abi` (default: this architecture's own table) names the table its syscall
    and nr are in; an observed call matches only a declared one of the same ABI (`"abi":
    "ia32"` for a call through int $0x80), so a tracer that names an ia32 call with the
    64-bit table (5: fstat for open) is caught naming the wrong call.
  * The whole contract, for other languages: docs/contract.md.
  * A successful execve from a thread that is not the leader (an event with `returns_on`)
    enters under that thread's tid and returns under the PID (the kernel's de_thread): a
    tracer may report the whole call under either. The threads the exec ended stop there;
    the new image's calls are the `image` task's, under the PID.
  * io_uring requests (`{"opcode", "res", "user_data", "tid"}`) are judged against the
    document's `operations` when the tracer reports any (compare_operations); a syscall
    tracer that reports none is judged on the syscalls alone.
  * A document's `restarts` (expect.LEAVE_RESTART: io_uring scenarios) allow that many
    interrupted returns (-ERESTARTSYS, or no value from ptrace) of the main thread's leave
    wait, and then its final return -EAGAIN in place of 0 (the word changed meanwhile).
"""

from __future__ import annotations

import errno
import re

from ioworkload.core import expect
from ioworkload.core.errors import errno_value
from ioworkload.judge.capabilities import Capabilities


def _ret_matches(form: dict, ret) -> bool:
    if ret == "unknown":  # the tracer does not show what the call returned (perf trace: getppid)
        return True
    if "noreturn" in form:
        return ret is None
    if ret is None:
        return False
    if "errno" in form:
        return ret == -form["errno"]
    if "eq" in form:
        return ret == form["eq"]
    return ret >= form["ge"]


# The kernel's argument types that are 32 bits wide: the kernel reads the register's low half
# only, so a tracer that prints the whole register may show any upper half for these. Every
# other argument is compared as 64 bits.
_NARROW_TYPES = re.compile(r"^(const )?(unsigned |signed )?(int|short|char|unsigned|u32|s32|__u32|"
                           r"__s32|u16|pid_t|uid_t|gid_t|old_uid_t|old_gid_t|umode_t|mode_t|"
                           r"key_serial_t|key_t|mqd_t|timer_t|clockid_t|qid_t|rwf_t)$")
_widths: dict = {}


def arg_bits(syscall: str | None, name: str) -> int:
    """32 for an argument the kernel declares 32 bits wide (its tracepoint's field type), else
    64 (also where tracefs cannot be read: the stricter comparison)."""
    if syscall and syscall.startswith("ia32:"):
        return 32  # the 32-bit door: every argument is a 32-bit register
    if syscall not in _widths:
        table: dict = {}
        tp = expect.tracepoint_name(syscall) if syscall else None
        try:
            with open(f"/sys/kernel/tracing/events/syscalls/sys_enter_{tp}/format") as f:
                for m in re.finditer(r"field:(.+?) \*?(\w+);", f.read()):
                    table[m[2]] = 32 if _NARROW_TYPES.match(m[1].strip()) else 64
        except (OSError, TypeError):
            pass
        _widths[syscall] = table
    return _widths[syscall].get(name, 64)


def _same_int(want: int, got: int, bits: int = 64) -> bool:
    return (want - got) % (1 << bits) == 0


def arg_differences(expected: dict | None, observed, syscall: str | None = None,
                    caps: Capabilities | None = None) -> list[str]:
    """Arguments that differ (those both sides state: a number, path or payload). A number is
    compared at the kernel's width (arg_bits), a string whole. Where the tracer claims the
    argument (caps), a value that is not a number where one is declared differs too (a
    tracer that claims nothing may print decoded names: `op: WAKE`)."""
    if not expected or observed is None:
        return []
    names = list(expected)
    if isinstance(observed, (list, tuple)):
        observed = dict(zip(names, observed))
    if not isinstance(observed, dict):
        return []
    out = []
    for name, want in expected.items():
        got = observed.get(name)
        if got is None:
            continue
        if isinstance(want, bool):
            continue
        if isinstance(want, int):
            g = as_int(got)
            if g is not None:
                if not _same_int(want, g, arg_bits(syscall, name)):
                    out.append(f"{name}: expected {want}, saw {got}"
                               + (" (cut to 32 bits)" if _same_int(want, g, 32) else ""))
            elif want == 0 and isinstance(got, str) and got.startswith('"'):
                # a string where NULL was passed (fanotify_mark's NULL and named paths)
                out.append(f"{name}: expected NULL, saw {got}")
            elif caps is not None and caps.claims_args(name, syscall) and not _decoded(got):
                out.append(f"{name}: expected {want}, saw {got!r}, which is not a number")
        elif isinstance(want, str) or isinstance(want, dict) and "content" in want:
            text = want if isinstance(want, str) else want["content"]
            g, cut = _as_str(got)
            if got == "NULL" or as_int(got) == 0:
                # a string is never passed as NULL: a raw 0 is not this event
                out.append(f"{name}: expected {text!r}, saw NULL")
            elif cut and g is not None:
                out.append(f"{name}: expected {text!r} ({len(text)} bytes), saw {g!r} cut short "
                           f"({len(g)} bytes)")
            elif g is not None and g != text:
                out.append(f"{name}: expected {text!r}"
                           + (f" ({len(text)} bytes), saw {g!r} ({len(g)} bytes)"
                              if text.startswith(g) else f", saw {g!r}"))
    return out


def _decoded(got) -> bool:
    """A value a tracer printed decoded where a number is declared: a struct, an array, a
    pointer's address in a comment (strace's `[3]`, `{...}`): not comparable as a number."""
    return isinstance(got, str) and got[:1] in "{[&"


def _specificity(args: dict | None) -> int:
    """How many arguments an event pins down (numbers, strings, payloads)."""
    return sum(1 for v in (args or {}).values()
               if isinstance(v, (int, str)) or isinstance(v, dict) and "content" in v)


def as_int(v):
    """An integer as a tracer prints it: a number, or text in C's forms (`0x1f`, `0644`
    octal, `-2`), flags joined by `|` (`0x200|0600`), a value followed by a comment (`10 /* NAME
    */`); None if it is none of these."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if not isinstance(v, str) or not v or len(v) > 200:
        return None
    if v == "NULL":
        return 0
    # strace -X raw keeps the name beside a raw value as a comment: `10 /* SYSLOG_ACTION_... */`
    v = re.sub(r"\s*/\*.*?\*/\s*$", "", v)
    value = 0
    for part in v.split("|"):
        part = part.strip()
        if not part and "|" in v:  # strace -X raw leaves a flag that is 0 empty: `|0x1000`
            continue
        digits = part[1:] if part.startswith("-") else part
        try:
            n = int(digits, 8) if re.fullmatch(r"0[0-7]+", digits) else int(digits, 0)
        except ValueError:
            return None
        value |= -n if part.startswith("-") else n
    return value


def _as_str(v) -> tuple[str | None, bool]:
    """(the text of a string argument, whether the tracer cut it short: strace's `"..."...`)."""
    if isinstance(v, str) and len(v) >= 5 and v.startswith('"') and v.endswith('"...'):
        return expect.unquote(v[:-3]), True
    if isinstance(v, str) and len(v) >= 2 and v.startswith('"') and v.endswith('"'):
        return expect.unquote(v), False
    if isinstance(v, str) and as_int(v) is None and not v.startswith(('"', "{", "[")):
        return v, False
    return None, False


def name_of(ev: dict) -> str | None:
    """The table's name; a number the table lacks is `syscall_<nr>`, as manifests write it. A
    call the tracer reports with `"abi": "ia32"` is named in the ia32 table, as `ia32:open`
    (the declared events' key_of); without an abi, in this architecture's own table."""
    ia32 = ev.get("abi") == "ia32"
    if ev.get("syscall"):
        return f"ia32:{ev['syscall']}" if ia32 else ev["syscall"]
    nr = ev.get("nr")
    if nr is None:
        return None
    if ia32:
        return f"ia32:{expect.ia32_syscall_name(nr) or f'syscall_{nr}'}"
    return expect.syscall_name(nr) or f"syscall_{nr}"


def key_of(e: dict) -> str:
    """A declared event's syscall as one name across tables: `ia32:open` for an ia32 call."""
    return f"ia32:{e['syscall']}" if e.get("abi") == "ia32" else e["syscall"]


class Comparison:
    """compare()'s whole answer: the differences, and what was verified: how many of the
    declared arguments (distinct syscall and name) were compared on every event that carries
    them, and on how many tasks the order was judged."""

    def __init__(self, differences: list[str], args_compared: int = 0, args_declared: int = 0,
                 ordered_tasks: int = 0, numbering: str = "tid", folded: int = 0):
        self.differences = differences
        self.args_compared, self.args_declared = args_compared, args_declared
        self.ordered_tasks = ordered_tasks
        self.numbering = numbering  # which of the document's tids the stream used (numbered())
        self.folded = folded  # judged per process (by_process): threads_asked


def numbered(doc: dict, observed: list[dict]) -> tuple[dict, str]:
    """(the document in the numbering the stream's tids use, "tid" or "ns_tid"). A scenario
    process in a PID namespace of its own has two ids per task (expect.py: tid, as the command
    and a tracer outside see it; ns_tid, as it sees itself, NSpid's last): a stream that names
    only namespace ids is judged on a copy renumbered so. The created tasks' tids (clone's
    returns) are the namespace's: under the outer numbering they are not known."""
    inner = {t["tid"]: t["ns_tid"] for t in doc["tasks"]
             if t["tid"] is not None and t.get("ns_tid", t["tid"]) != t["tid"]}
    if not inner:
        return doc, "tid"
    seen = {ob.get("tid") for ob in observed}
    if seen & set(inner) or not seen & set(inner.values()):
        tasks = [dict(t, tids_complete=False) if t["role"] not in ("worker", "io_thread")
                 and t["tid"] is None else t for t in doc["tasks"]]
        return dict(doc, tasks=tasks), "tid"

    return expect.renumbered(doc, inner), "ns_tid"


# The tasks of the scenario process itself; a child it forks is a process of its own (its pid)
IN_PROCESS = ("worker", "helper", "image", "io_thread")


def by_process(doc: dict) -> dict:
    """The document as a tracer that names processes, not threads (capabilities' `threads`),
    sees it: the scenario process's tasks (workers, helpers, io threads, an exec's image)
    folded into one worker task under the process's id, their events its events with the
    counts, returns and arguments declared (each keeps the task it came from, `from_task`); a
    forked child stays a task of its own. Where the calls asked come from more than one of
    the process's tasks (threads_asked), their order is not judged (they interleave as they
    ran) and the verdict is at best `limited`."""
    if doc.get("by_process"):
        return doc
    pid = doc["pid"]
    main = next((t for t in doc["tasks"] if t["tid"] == pid and t["role"] == "worker"),
                {"tid": pid, "role": "worker", "index": 0, "main": True})
    events = []
    for e in doc["events"]:
        if e["role"] in IN_PROCESS:
            # (a task created during the run keeps its role: not asked of a tracer without
            # new-tasks, _asked; an exec's image goes on where its thread stopped)
            e = dict(e, tid=pid, created=e["tid"] is None and e["role"] != "worker",
                     from_task=[e["role"] if e["role"] != "image" else "helper", e["index"],
                                e["tid"] if e["role"] == "worker" else None])
            e.pop("returns_on", None)  # (a non-leader exec: seen whole under the pid)
        events.append(e)
    tasks = [main] + [t for t in doc["tasks"] if t["role"] not in IN_PROCESS]
    out = dict(doc, tasks=tasks, events=events, by_process=True)
    for key in ("restarts", "operations"):
        if key in doc:
            out[key] = [dict(r, tid=pid) for r in doc[key]]
    return out


def threads_asked(doc: dict, caps: Capabilities) -> int:
    """How many of the process's tasks the calls asked of the tracer come from, in a document
    folded by by_process (0 where it is not)."""
    return len({tuple(e["from_task"]) for e in doc["events"] if "from_task" in e
                and count_bounds(e["count"] or 0)[1] > 0 and _asked(e, caps)})


_CREATES = frozenset({"clone", "clone3", "fork", "vfork"})
FUTEX_WAIT = 0


def _release(ob: dict) -> bool:
    """The release as the contract defines it: a worker's start wait (futex FUTEX_WAIT, not
    private) returning 0. Without arguments, any futex returning 0; named arguments without
    op are perf trace's, which leaves out those that are 0 (FUTEX_WAIT is)."""
    if name_of(ob) != "futex" or ob.get("ret") != 0:
        return False
    args = ob.get("args")
    op = args[1] if isinstance(args, (list, tuple)) and len(args) > 1 else \
        args.get("op", FUTEX_WAIT) if isinstance(args, dict) else FUTEX_WAIT
    return as_int(op) == FUTEX_WAIT or op == "FUTEX_WAIT"


def launched(doc: dict, observed: list[dict]) -> tuple[list[dict], int]:
    """A tracer that started the command itself (`{command}`) saw more than the run: the
    command's start-up and its own calls all along, and each worker before its release (the
    scenario process's fork, its threads' start). Keep the workers' events from their release
    on (its futex return included: the contract's rule for a tracer attached before the
    release) and those of the tasks the workers create (the document's tids, and what their
    clone/fork returned after the release); (the kept events, how many were set aside). Where
    those returns are another numbering's (a PID namespace of its own, seen from outside), a
    task first seen after a release is the workers': the command starts none during the run."""
    two = any(t.get("ns_tid", t["tid"]) != t["tid"] for t in doc["tasks"] if t["tid"] is not None)
    doc, numbering = numbered(doc, observed)
    workers = {t["tid"] for t in doc["tasks"] if t["tid"] is not None}
    created = set().union(*(t.get("tids", ()) for t in doc["tasks"]))
    if two and numbering == "tid":
        created = _new_after_release(observed, workers)
    released: set = set()
    theirs = set(workers) | created
    grown = True
    while grown:  # a child's first call may come before its parent's clone return is printed
        grown, released = False, set()
        for ob in observed:
            tid = ob.get("tid")
            if tid in workers and tid not in released:
                if _release(ob):
                    released.add(tid)
                continue
            ret = ob.get("ret")
            if tid in theirs and name_of(ob) in _CREATES and isinstance(ret, int) and ret > 0 \
                    and ret not in theirs:
                theirs.add(ret)
                grown = True
    kept, aside, released = [], 0, set()
    for ob in observed:
        tid = ob.get("tid")
        if tid in workers and tid not in released:
            if not _release(ob):
                aside += ob.get("count", 1)
                continue
            released.add(tid)
        if tid in theirs:
            kept.append(ob)
        else:
            aside += ob.get("count", 1)
    return kept, aside


def _new_after_release(observed: list[dict], workers: set) -> set:
    """The tids a stream shows first after one of the workers' releases."""
    before, after, released = set(), set(), False
    for ob in observed:
        tid = ob.get("tid")
        released = released or tid in workers and _release(ob)
        if tid not in before and tid not in workers:
            (after if released else before).add(tid)
    return after - before


def compare(doc: dict, observed: list[dict], check_args: bool = True,
            sees_exit_only: bool = True, caps: Capabilities | None = None) -> list[str]:
    """Every difference between the expectation and the observed events (empty: exact).
    caps: what the tracer states it reports (capabilities.py); without it nothing is required
    and sees_exit_only says whether it sees returns without an entry (False: ptrace, which
    never shows a clone's 0 in the new task, so those events are not asked of it; a call a
    seccomp filter answered (`filtered`) it sees whole: ptrace stops before the filter runs)."""
    return compare_detail(doc, observed, check_args, sees_exit_only, caps).differences


def _asked(e: dict, caps: Capabilities) -> bool:
    """Whether the tracer is asked for this declared event at all (its claimed capabilities)."""
    if (e["tid"] is None or e.get("created")) and e["role"] != "worker" and not caps.new_tasks:
        return False
    if "noreturn" in e["ret"] and not caps.entry:
        return False
    # (the release's return counts for every tracer: its entry merely came before the release)
    return bool(caps.exit or e["enter"] or e.get("filtered") or e["phase"] == "release")


def compare_detail(doc: dict, observed: list[dict], check_args: bool = True,
                   sees_exit_only: bool = True, caps: Capabilities | None = None) -> Comparison:
    if caps is None:
        caps = Capabilities(exit=sees_exit_only)
    doc, numbering = numbered(doc, observed)
    if not caps.threads:
        doc = by_process(doc)
    observed = resolve_either(doc, observed)
    workers = {t["tid"] for t in doc["tasks"] if t["tid"] is not None}
    operations = [ob for ob in observed if "opcode" in ob]
    if operations:  # a tracer that reports io_uring requests is judged on them too
        observed = [ob for ob in observed if "opcode" not in ob]
        op_diffs = compare_operations(doc, operations)
    else:
        op_diffs = []
    # Remaining expected calls per declared event, per task key (a worker tid, or None).
    # A count range ({"min", "max"}) may take up to its max; fewer than its min are missing.
    least, remaining, taken = {}, {}, {}
    for e in doc["events"]:
        least[id(e)], remaining[id(e)] = count_bounds(e["count"]) if _asked(e, caps) else (0, 0)
    by_task: dict = {}
    for e in doc["events"]:
        by_task.setdefault(e["tid"], []).append(e)
        if "returns_on" in e:  # a non-leader exec: seen whole under either tid
            by_task.setdefault(e["returns_on"], []).append(e)
    # The tids of created tasks, where the document knows them all (a result): then a tid that
    # is neither a worker's nor one of these is a task nobody declared.
    created = [t for t in doc["tasks"] if t["role"] not in ("worker", "io_thread")]
    known = set(workers).union(*(t.get("tids", ()) for t in created)) \
        if all(t.get("tids_complete") for t in created) else None
    released: set = set()
    releases: set = set()  # the observed release events (by id)
    diffs: list[str] = []
    wrong_args: dict = {}
    counted = []
    # declared restarts (expect.LEAVE_RESTART): up to `max` interrupted returns of that wait;
    # ptrace shows such a return as `= ? ERESTARTSYS`, i.e. no value
    restarts = {(r["tid"], r["syscall"]): r["count"]["max"] if r["count"]["max"] is not None
                else float("inf") for r in doc.get("restarts", ())}
    restarted: set = set()
    for ob in observed:
        tid = ob.get("tid")
        if tid in workers and tid not in released and name_of(ob) == "futex":
            ret = ob.get("ret")
            if isinstance(ret, int) and ret < 0:
                continue  # its start wait, interrupted before the release (a ptrace attach)
            released.add(tid)
            releases.add(id(ob))
        key = (tid, name_of(ob))
        if restarts.get(key, 0) > 0 and ob.get("ret") in (None, -expect.ERESTARTSYS):
            restarts[key] -= 1
            restarted.add(key)
            continue
        if key in restarted and ob.get("ret") == -errno.EAGAIN:
            # the restarted wait found its word already changed (the release came meanwhile):
            # it returns -EAGAIN where the uninterrupted wait returns 0
            ob = dict(ob, ret=0)
        counted.append(ob)
    in_order = list(counted)
    # Calls whose arguments were seen first: one seen without them (a tracer that lost them)
    # fits any declared event, and must not take the place of one that fits only here.
    counted.sort(key=lambda ob: not ob.get("args"))
    assigned: list = []  # (observed event, the declared event it was counted as)
    for ob in counted:
        tid = ob.get("tid")
        name = name_of(ob)
        ret = ob.get("ret", "unknown")
        n = ob.get("count", 1)
        if known is not None and tid not in known:
            diffs.append(f"undeclared task: {name} -> {ret} on tid {tid}")
            continue
        if caps.returns and (ret == "unknown" or "ret" not in ob):
            diffs.append(f"no return value: {name} on tid {tid}" + (f" x{n}" if n != 1 else ""))
        key = tid if tid in workers else None
        declared = [e for e in by_task.get(key, ()) if key_of(e) == name
                    and _ret_matches(e["ret"], ret)]
        candidates = [e for e in declared if remaining[id(e)] > 0]
        if not candidates:
            where = f"tid {tid}" if key is not None else f"tid {tid} (not a worker)"
            what = "too many" if declared else "undeclared"
            diffs.append(f"{what}: {name} -> {ret} on {where}" + (f" x{n}" if n != 1 else ""))
            continue
        if check_args and ob.get("args") is not None:
            fitting = [e for e in candidates
                       if not arg_differences(e["args"], ob["args"], name, caps)]
            if not fitting:
                wrong_args.setdefault((tid, name), arg_differences(candidates[0]["args"],
                                                                   ob["args"], name, caps))
            else:
                candidates = fitting
        # exact results first, then the tightest lower bound; the most specific arguments first,
        # so a call that fits a wildcard too does not take the place of one that fits only here
        # (and exact counts before count ranges, which take only what nothing else declares:
        # first up to each range's least, then any more)
        candidates.sort(key=lambda e: (isinstance(e["count"], dict),
                                       0 if "ge" not in e["ret"] else 1, -e["ret"].get("ge", 0),
                                       -_specificity(e["args"])))
        for fill in (True, False):
            for e in candidates:
                room = remaining[id(e)]
                if fill and isinstance(e["count"], dict):
                    room = max(0, least[id(e)] - taken.get(id(e), 0))
                take = min(n, room)
                if take:
                    assigned.append((ob, e))
                remaining[id(e)] -= take
                taken[id(e)] = taken.get(id(e), 0) + take
                n -= take
                if not n:
                    break
            if not n:
                break
        if n:
            diffs.append(f"too many: {name} -> {ret} on tid {tid} ({n} more than declared)")
    for (tid, name), d in wrong_args.items():
        diffs.append(f"wrong arguments: {name} on tid {tid}: {'; '.join(d)}")
    compared, declared_args = _args_verified(assigned, caps, check_args, diffs, releases)
    for e in doc["events"]:
        # (a wrong count sends its excess to 'too many' above)
        left = least[id(e)] - taken.get(id(e), 0)
        if left > 0:
            who = f"tid {e['tid']}" if e["tid"] is not None else f"a {e['role']} of worker {e['index']}"
            if "from_task" in e:  # (folded: which of the process's tasks it was declared on)
                role, index, _ = e["from_task"]
                who += f" ({'worker' if role == 'worker' else f'a {role} of worker'} {index})"
            diffs.append(f"missing: {e['phase']} #{e['seq']} {key_of(e)} -> {_ret_text(e['ret'])}"
                         f" on {who}: {left} of {least[id(e)]} not seen")
    ordered = 0
    folded = threads_asked(doc, caps)
    if caps.order and folded <= 1:  # (several threads' calls have no one order)
        for tid in sorted(workers):
            why = _order_difference(doc, [e for e in by_task.get(tid, ()) if _asked(e, caps)],
                                    [ob for ob in in_order if ob.get("tid") == tid])
            if why is not None:
                ordered += 1
                if why:
                    diffs.append(f"order: tid {tid}: {why}")
    return Comparison(group(diffs) + op_diffs, compared, declared_args, ordered, numbering,
                      folded)


def _checkable(value) -> bool:
    return (isinstance(value, (int, str)) and not isinstance(value, bool)
            or isinstance(value, dict) and "content" in value)


def _args_verified(assigned: list, caps: Capabilities, check_args: bool,
                   diffs: list[str], releases: set) -> tuple[int, int]:
    """Which declared arguments every event that was counted carried and had compared, (that
    many, of how many); an event without an argument its tracer claims is a difference."""
    present: dict = {}
    lacking: dict = {}
    for ob, e in assigned:
        names = [n for n, v in (e["args"] or {}).items()
                 if _checkable(v) and caps.reports_arg(e["syscall"], n)]
        got = ob.get("args")
        if isinstance(got, (list, tuple)):
            got = dict(zip(list(e["args"] or {}), got))
        got = got if isinstance(got, dict) else {}
        for n in names:
            pair = (key_of(e), n)
            have = n in got and got[n] is not None and check_args and (
                as_int(got[n]) is not None if isinstance(e["args"][n], int)
                else _as_str(got[n])[0] is not None or as_int(got[n]) == 0)
            (present if have else lacking)[pair] = True
        # (the release's wait was entered before any tracer attached, and a return without an
        # entry in its task, the new task's 0 of a clone, has none: their arguments are not
        # asked, only compared where a tracer has them)
        asked = id(ob) not in releases and e["enter"] is not None
        claimed = [n for n in names if caps.claims_args(n, e["syscall"])] if asked else []
        if not claimed:
            continue
        if not got:
            diffs.append(f"no arguments: {key_of(e)} on tid {ob.get('tid')}")
        elif caps.args is not True:  # (all: a tracer may leave out what a call does not use,
            # strace's futex and clone: those it shows are compared, and counted in args N/M)
            gone = [n for n in claimed if got.get(n) is None]
            if gone:
                diffs.append(f"no argument {', '.join(gone)}: {key_of(e)} on tid {ob.get('tid')}")
    pairs = set(present) | set(lacking)
    return sum(1 for p in pairs if p in present and p not in lacking), len(pairs)


def _declared_order(doc: dict, events: list[dict]) -> "tuple[list[dict], set] | None":
    """A task's declared events in the order it makes them (setup, every iteration's, the
    rest), and the names declared more than once in a row; None where no one order is
    declared (a count range, counts that are not whole iterations)."""
    iterations = doc.get("iterations") or 0
    head, loop, tail = [], [], []
    repeated = set()
    for e in sorted(events, key=lambda e: (expect.PHASES.index(e["phase"]), e["seq"])):
        if isinstance(e["count"], dict):
            return None
        if e["phase"] == "iteration":
            if not iterations or e["count"] % iterations:
                return None
            per = e["count"] // iterations
            loop.append(e)
        else:
            per = e["count"]
            (head if e["phase"] in ("release", "setup") else tail).append(e)
        if per > 1:
            repeated.add(key_of(e))
    return head + loop * iterations + tail, repeated


def resolve_either(doc: dict, observed: list[dict]) -> list[dict]:
    """A stream whose events may each be one of several calls (`either`: strace prints an ia32
    socketcall subcall and the direct call of that name alike) with each such event counted
    as one of its forms, never as two: on a worker, the form its declared order has next
    (looking past calls the stream lacks); else a form the task still has declared calls of
    by that name; else the first."""
    if not any("either" in ob for ob in observed):
        return observed
    workers = {t["tid"] for t in doc["tasks"] if t["tid"] is not None}
    left: dict = {}  # (task key, name) -> declared calls not yet taken
    for e in doc["events"]:
        left[(e["tid"], key_of(e))] = left.get((e["tid"], key_of(e)), 0) + count_bounds(
            e["count"] or 0)[1]
    sequence, position = {}, {}
    for tid in workers:
        order = _declared_order(doc, [e for e in doc["events"] if e["tid"] == tid])
        sequence[tid], position[tid] = [key_of(e) for e in order[0]] if order else [], 0
    out = []
    for ob in observed:
        key = ob.get("tid") if ob.get("tid") in workers else None
        forms = [{k: v for k, v in f.items() if k != "either"} for f in [ob] + ob.get("either", [])]
        names = [name_of(f) for f in forms]
        seq, at = sequence.get(key, []), position.get(key, 0)
        next_at = next((i for i in range(at, len(seq)) if seq[i] in names), None)
        if next_at is not None:
            chosen = forms[names.index(seq[next_at])]
            position[key] = next_at + 1
        else:
            chosen = next((f for f, n in zip(forms, names) if left.get((key, n), 0) > 0),
                          forms[0])
        left[(key, name_of(chosen))] = left.get((key, name_of(chosen)), 0) - chosen.get("count", 1)
        out.append(chosen)
    return out


def _order_difference(doc: dict, events: list[dict], seen: list[dict]) -> str | None:
    """The first place where a task's observed calls leave the declared order, "" if they
    keep it, None where the order cannot be judged: a count range, counts that are not whole
    iterations, or calls other than the declared ones (those are differences already). A call
    declared more than once in a row (`x3`) says how often, not how it interleaves with its
    neighbours (tgkill x3 and rt_sigreturn x3 alternate): calls of that name are left out."""
    iterations = doc.get("iterations") or 0
    order = _declared_order(doc, events)
    if order is None:
        return None
    want_all, repeated = order
    got_all = [name_of(ob) for ob in seen for _ in range(ob.get("count", 1))]
    if sorted(got_all) != sorted(key_of(e) for e in want_all
                                 for _ in range(e["count"] // (iterations or 1)
                                                if e["phase"] == "iteration" else e["count"])):
        return None
    want = [e for e in want_all if key_of(e) not in repeated]
    got = [n for n in got_all if n not in repeated]
    for i, (g, w) in enumerate(zip(got, want)):
        if g != key_of(w):
            later = next(e for e in want[i:] if key_of(e) == g)
            return (f"{g} ({later['phase']} #{later['seq']}) seen before {w['syscall']} "
                    f"({w['phase']} #{w['seq']}), which is declared first")
    return ""


def group(diffs: list[str]) -> list[str]:
    """Identical differences on several tasks as one line: the count of events, the tasks and
    the first few tids; the first of each kind where it first appeared."""
    groups: dict = {}
    for d in diffs:
        m = re.search(r" on tid (\d+)", d)
        if not m:
            groups.setdefault(d, []).append((None, 1))
            continue
        n = re.search(r" x(\d+)$", d)
        key = d[:m.start()] + " on tid *" + d[m.end():n.start() if n else len(d)]
        groups.setdefault(key, []).append((int(m[1]), int(n[1]) if n else 1))
    out = []
    for key, hits in groups.items():
        tids = list(dict.fromkeys(t for t, _ in hits))
        events = sum(k for _, k in hits)
        if "tid *" not in key:
            out += [key] * len(hits)
        elif len(hits) == 1:
            out.append(key.replace("tid *", f"tid {tids[0]}") + (f" x{events}" if events > 1 else ""))
        else:
            shown = ", ".join(map(str, tids[:3])) + (", ..." if len(tids) > 3 else "")
            out.append(key.replace(" on tid *", "")
                       + f": {events} events on {len(tids)} task{'s' if len(tids) > 1 else ''}"
                         f" (tid {shown})")
    return out


def compare_operations(doc: dict, observed: list[dict]) -> list[str]:
    """io_uring requests a tracer reports, against the document's `operations`: each observed
    `{"opcode": "IORING_OP_READ" or its number, "res": 26, "user_data": 2, "tid": ..., "count"}`
    (tid: the worker whose ring it is; user_data optional) must match a declared operation's
    opcode and result, as often as declared."""
    by_number = {o["op"]: o["opcode"] for o in doc.get("operations", ()) if o["op"] is not None}
    remaining = {id(o): o["count"] or 0 for o in doc.get("operations", ())}
    diffs = []
    for ob in observed:
        opcode = by_number.get(ob["opcode"], ob["opcode"]) if isinstance(ob["opcode"], int) \
            else ob["opcode"]
        n = ob.get("count", 1)
        candidates = [o for o in doc.get("operations", ())
                      if o["opcode"] == opcode and o["tid"] == ob.get("tid", o["tid"])
                      and o["user_data"] == ob.get("user_data", o["user_data"])
                      and _ret_matches(o["res"], ob.get("res")) and remaining[id(o)] > 0]
        for o in candidates:
            take = min(n, remaining[id(o)])
            remaining[id(o)] -= take
            n -= take
            if not n:
                break
        if n:
            diffs.append(f"undeclared or too many: {opcode} -> {ob.get('res')} on tid "
                         f"{ob.get('tid')}" + (f" x{n}" if n != 1 else ""))
    for o in doc.get("operations", ()):
        if remaining[id(o)]:
            diffs.append(f"missing: operation #{o['seq']} {o['opcode']} -> {_ret_text(o['res'])} "
                         f"on tid {o['tid']}: {remaining[id(o)]} of {o['count']} not seen")
    return diffs


def count_bounds(count) -> tuple:
    """(least, most) of an expect event's count: an int, or a range {"min", "max"} (max None:
    no bound, most inf)."""
    if isinstance(count, dict):
        return count["min"], float("inf") if count["max"] is None else count["max"]
    return count, count


def _ret_text(form: dict) -> str:
    if "noreturn" in form:
        return "noreturn"
    if "errno" in form:
        return "-" + form["name"]
    if "eq" in form:
        return str(form["eq"])
    return f">={form['ge']}"
