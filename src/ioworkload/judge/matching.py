"""Compare what a tracer saw with an expect document (expect.py): every event of every task,
its count, return value and, where the tracer reports them, its arguments.

Observed events are plain dicts, one per syscall or a counted group:
    {"tid": 124, "syscall": "openat" (or "nr": 257), "ret": 3 | -22 | None, "args": {...} or
     [...], "count": 1}
``ret`` is the raw return (-errno on failure), None for a call that never returned (exit),
"unknown" for a return the tracer does not print (it matches any returning event).
``args`` by kernel name, or positionally in the kernel's order (strace); optional.

Rules (also in the README):
  * Only the declared process counts: events of the worker tids, and of the tasks they create
    (helpers, children: declared with tid null, matched as a pool; a result lists their tids,
    and then any other tid is an undeclared task).
  * A count range ({"min", "max"}: a helper polling /proc) takes from min to max calls (max
    None: any number); exact counts are matched first, so a range takes only the rest.
  * Each worker's stream starts at its release: before its first `futex` return of 0 a worker
    only sleeps in its start wait, so a failed `futex` return there (a ptrace attach
    interrupting that wait: -ERESTARTSYS) is not part of the run. Nothing else depends on
    the order of the observed events (per-CPU buffers need not deliver them in order).
  * io_uring requests (`{"opcode", "res", "user_data", "tid"}`) are judged against the
    document's `operations` when the tracer reports any (compare_operations); a syscall
    tracer that reports none is judged on the syscalls alone.
  * A successful execve from a thread that is not the leader (an event with `returns_on`)
    enters under that thread's tid and returns under the PID (the kernel's de_thread): a
    tracer may report the whole call under either. The threads the exec ended stop there;
    the new image's calls are the `image` task's, under the PID.
  * A document's `restarts` (expect.LEAVE_RESTART: io_uring scenarios) allow that many
    interrupted returns (-ERESTARTSYS, or no value from ptrace) of the main thread's leave
    wait, and then its final return -EAGAIN in place of 0 (the word changed meanwhile).
"""

from __future__ import annotations

import errno
import re

from ioworkload.core import expect
from ioworkload.core.errors import errno_value
from ioworkload.core.manifest import split_args


def _ret_matches(form: dict, ret) -> bool:
    if "noreturn" in form:
        return ret is None
    if ret is None:
        return False
    if ret == "unknown":  # the tracer shows that the call returned, not what (perf trace: getppid)
        return True
    if "errno" in form:
        return ret == -form["errno"]
    if "eq" in form:
        return ret == form["eq"]
    return ret >= form["ge"]


def _same_int(want: int, got: int) -> bool:
    # A tracer may print a 32-bit argument as its 32- or 64-bit pattern (-100, 4294967196 or
    # 0xffffffffffffff9c); a value that needs more than 32 bits must be seen whole, on both
    # sides (a tracer cutting it to its low 32 bits is wrong).
    if (want - got) % (1 << 64) == 0:
        return True
    return _fits_32(want) and _fits_32(got) and (want - got) % (1 << 32) == 0


def _fits_32(value: int) -> bool:
    """A 32-bit value: signed or unsigned, or sign-extended to 64 bits."""
    u = value % (1 << 64)
    return u < 1 << 32 or u >= (1 << 64) - (1 << 31)


def arg_differences(expected: dict | None, observed) -> list[str]:
    """Arguments that differ (only those both sides state as a number, path or payload)."""
    if not expected or observed is None:
        return []
    names = list(expected)
    if isinstance(observed, (list, tuple)):
        observed = dict(zip(names, observed))
    out = []
    for name, want in expected.items():
        got = observed.get(name)
        if got is None:
            continue
        if isinstance(want, bool):
            continue
        if isinstance(want, int):
            g = _as_int(got)
            if g is not None and not _same_int(want, g):
                out.append(f"{name}: expected {want}, saw {got}")
            elif want == 0 and isinstance(got, str) and got.startswith('"'):
                # a string where NULL was passed (fanotify_mark's NULL and named paths)
                out.append(f"{name}: expected NULL, saw {got}")
        elif isinstance(want, str) or isinstance(want, dict) and "content" in want:
            text = want if isinstance(want, str) else want["content"]
            g = _as_str(got)
            if got == "NULL" or _as_int(got) == 0:
                # a string is never passed as NULL: a raw 0 is not this event
                out.append(f"{name}: expected {text!r}, saw NULL")
            elif g is not None and g != text:
                out.append(f"{name}: expected {text!r}, saw {g!r}")
    return out


def _specificity(args: dict | None) -> int:
    """How many arguments an event pins down (numbers, strings, payloads)."""
    return sum(1 for v in (args or {}).values()
               if isinstance(v, (int, str)) or isinstance(v, dict) and "content" in v)


def _as_int(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            return None
    return None


def _as_str(v):
    if isinstance(v, str) and len(v) >= 2 and v.startswith('"') and v.endswith('"'):
        return expect.unquote(v)
    if isinstance(v, str) and not v.startswith(("0x", "-")) and not v.isdigit():
        return v if not v.startswith('"') else None
    return None


def name_of(ev: dict) -> str | None:
    """The table's name; a number the table lacks is `syscall_<nr>`, as manifests write it."""
    if ev.get("syscall"):
        return ev["syscall"]
    nr = ev.get("nr")
    return expect.syscall_name(nr) or (f"syscall_{nr}" if nr is not None else None)


def compare(doc: dict, observed: list[dict], check_args: bool = True,
            sees_exit_only: bool = True) -> list[str]:
    """Every difference between the expectation and the observed events (empty: exact).
    sees_exit_only=False: the tracer cannot report returns without an entry (ptrace never shows
    a clone's 0 in the new task), so those events are not expected of it; a call a seccomp
    filter answered (`filtered`) it sees whole (ptrace stops before the filter runs)."""
    workers = {t["tid"] for t in doc["tasks"] if t["tid"] is not None}
    operations = [ob for ob in observed if "opcode" in ob]
    if operations:  # a tracer that reports io_uring requests is judged on them too
        observed = [ob for ob in observed if "opcode" not in ob]
        op_diffs = compare_operations(doc, operations)
    else:
        op_diffs = []
    # Remaining expected calls per declared event, per task key (a worker tid, or None).
    # (the release's return counts for every tracer: its entry merely came before the release)
    # A count range ({"min", "max"}) may take up to its max; fewer than its min are missing.
    least, remaining, taken = {}, {}, {}
    for e in doc["events"]:
        asked = sees_exit_only or e["enter"] or e.get("filtered") or e["phase"] == "release"
        least[id(e)], remaining[id(e)] = count_bounds(e["count"]) if asked else (0, 0)
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
    # Calls whose arguments were seen first: one seen without them (a tracer that lost them)
    # fits any declared event, and must not take the place of one that fits only here.
    counted.sort(key=lambda ob: not ob.get("args"))
    for ob in counted:
        tid = ob.get("tid")
        name = name_of(ob)
        ret = ob.get("ret")
        n = ob.get("count", 1)
        if known is not None and tid not in known:
            diffs.append(f"undeclared task: {name} -> {ret} on tid {tid}")
            continue
        key = tid if tid in workers else None
        declared = [e for e in by_task.get(key, ()) if e["syscall"] == name
                    and _ret_matches(e["ret"], ret)]
        candidates = [e for e in declared if remaining[id(e)] > 0]
        if not candidates:
            where = f"tid {tid}" if key is not None else f"tid {tid} (not a worker)"
            what = "too many" if declared else "undeclared"
            diffs.append(f"{what}: {name} -> {ret} on {where}" + (f" x{n}" if n != 1 else ""))
            continue
        if check_args and ob.get("args") is not None:
            fitting = [e for e in candidates if not arg_differences(e["args"], ob["args"])]
            if not fitting:
                wrong_args.setdefault((tid, name), arg_differences(candidates[0]["args"], ob["args"]))
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
    for e in doc["events"]:
        # (a wrong count sends its excess to 'too many' above)
        left = least[id(e)] - taken.get(id(e), 0)
        if left > 0:
            who = f"tid {e['tid']}" if e["tid"] is not None else f"a {e['role']} of worker {e['index']}"
            diffs.append(f"missing: {e['phase']} #{e['seq']} {e['syscall']} -> {_ret_text(e['ret'])}"
                         f" on {who}: {left} of {least[id(e)]} not seen")
    return diffs + op_diffs


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


_STRACE = re.compile(r"^(?P<tid>\d+)\s+(?P<rest>.*)$")
_CALL = re.compile(r"^(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>\?|0x[0-9a-f]+|-?\d+)"
                   r"(?:\s+(?P<err>E[A-Z0-9_]+))?")
_UNFINISHED = re.compile(r"^(?P<name>\w+)\((?P<args>.*?)\s*<unfinished \.\.\.>$")
# execve from a thread that is not the leader: it returns as the leader. strace -f prints
# "<pid changed to LEADER ...>" at the entry, or "<unfinished ...>" and then, under the
# leader, "+++ superseded by execve in pid THREAD +++"; the call resumes under the leader.
_SUPERSEDED = re.compile(r"^\+\+\+ superseded by execve in pid (?P<by>\d+) \+\+\+$")
_PID_CHANGED = re.compile(r"^(?P<name>\w+)\((?P<args>.*?)\s*<pid changed to (?P<pid>\d+) \.\.\.>$")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>\w+) resumed>(?P<args>.*)$")
# strace prints only the futex arguments an operation uses: for these commands (op without
# FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME) the positions, among the kernel's six, of the
# ones it prints (FUTEX_WAKE_BITSET: uaddr, op, val, val3). Others print a prefix of the six.
_FUTEX_PRINTED = {6: (0, 1, 3), 9: (0, 1, 2, 3, 5), 10: (0, 1, 2, 5), 13: (0, 1, 3)}
_FUTEX_COMMANDS = {"LOCK_PI": 6, "WAIT_BITSET": 9, "WAKE_BITSET": 10, "LOCK_PI2": 13}


def _futex_args(args: list) -> list:
    """strace's printed futex arguments in the kernel's six positions (None: not printed)."""
    if len(args) < 2:
        return args
    op = args[1]
    try:
        cmd = int(op, 0) & ~(128 | 256)
    except ValueError:
        m = re.match(r"FUTEX_(\w+?)(?:_PRIVATE)?(?:\||$)", op)
        cmd = _FUTEX_COMMANDS.get(m[1]) if m else None
    slots = _FUTEX_PRINTED.get(cmd)
    if slots is None or len(args) != len(slots):
        return args
    out = [None] * 6
    for slot, value in zip(slots, args):
        out[slot] = value
    return out


def parse_strace(text: str) -> list[dict]:
    """Observed events from `strace -f -X raw -o FILE` output (one line per call, tid first).
    A call strace cannot name (`syscall_0x1c4`) is named from this build's table."""
    out = []
    pending: dict = {}
    for line in text.splitlines():
        m = _STRACE.match(line)
        if not m:
            continue
        tid, rest = int(m["tid"]), m["rest"].strip()
        if rest.startswith(("---", "+++")):
            s = _SUPERSEDED.match(rest)
            if s and int(s["by"]) in pending:  # the thread's unfinished execve goes on here
                pending[tid] = pending.pop(int(s["by"]))
            continue
        u = _UNFINISHED.match(rest)
        if u:
            pending[tid] = (u["name"], u["args"])
            continue
        p = _PID_CHANGED.match(rest)
        if p:
            pending[int(p["pid"])] = (p["name"], p["args"])
            continue
        r = _RESUMED.match(rest)
        if r and tid in pending:
            name, head = pending.pop(tid)
            rest = f"{name}({head}{r['args'].lstrip()}"
            rest = re.sub(r"\(\s*,", "(", rest)
        c = _CALL.match(rest)
        if not c:
            continue
        name = c["name"]
        m2 = re.fullmatch(r"syscall_(0x[0-9a-f]+|\d+)", name)
        if m2:
            nr = int(m2[1], 0)
            name = expect.syscall_name(nr) or f"syscall_{nr}"
        ret = c["ret"]
        if c["err"]:  # strace prints a restart code as "= ? ERESTARTSYS (...)"
            value = -errno_value(c["err"])
        elif ret == "?":
            value = None
        elif re.fullmatch(r"0[0-7]+", ret):  # umask's old mask, printed in octal
            value = int(ret, 8)
        else:
            value = int(ret, 0)
        args = split_args(c["args"])
        out.append({"tid": tid, "syscall": name, "ret": value,
                    "args": _futex_args(args) if name == "futex" else args})
    return out
