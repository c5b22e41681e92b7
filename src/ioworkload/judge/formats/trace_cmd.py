"""`trace-cmd report` of the raw_syscalls events (the trace-cmd preset, core/ftrace.py):

    ioworkload-123:  python3-124 [001] 12032.552576: sys_enter:  NR 33 (b, 1, 55cf, 0, 7, b)
    ioworkload-123:  python3-124 [001] 12032.552579: sys_exit:   NR 33 = 11

(the instance's name first, then the task's comm and tid; `trace-cmd show` prints the same
lines without the instance's name and with the flags' column). A call is its entry's six raw
registers (hex) and its exit's return, paired per task: an exit is the return of that task's
last entry (rt_sigreturn's exit carries no number of its own); an exit without one is a return
nothing entered (a new task's 0 of a clone), or the return, under the leader, of an exec a
thread entered; an entry never returned (exit, exit_group) is a call without a return. `lost N events` (the preset's last line) and trace-cmd's own `[N EVENTS
DROPPED]` are what the ring buffers lost.
"""

from __future__ import annotations

import re

from ioworkload.core import expect
from ioworkload.judge.formats.stream import Observed, lines

_EVENT = re.compile(r"^(?:\S+:\s+)?(?P<comm>.*?)-(?P<tid>\d+)\s+\[\d+\]\s+(?:\S+\s+)?"
                    r"[\d.]+:\s+(?P<event>sys_enter|sys_exit):\s+NR (?P<nr>-?\d+)\s*"
                    r"(?:\((?P<args>[0-9a-f, ]*)\)|= (?P<ret>-?\d+))$")
# trace-cmd's header and the notes it prints around the events (`#` lines: the header of
# `trace-cmd show`, the kernel's own text of the buffer, which the preset falls back to)
_NOTE = re.compile(r"^(cpus=\d+|version = .*|CPU \d+ is empty|ready|trace-cmd: .*|#.*)$")
_DROPPED = re.compile(r"\[(\d+) EVENTS DROPPED\]")


def _name(nr: int) -> str:
    return expect.syscall_name(nr) or f"syscall_{nr}"


def read(text: str, pid: int | None = None, source: str = "observed") -> Observed:
    out = Observed()
    entered: dict = {}  # tid -> (number, raw arguments) of the call it is in
    for line, s in lines(text, out, _NOTE):
        dropped = _DROPPED.search(s)
        if dropped:
            out.lost += int(dropped[1])
            continue
        e = _EVENT.match(s)
        if e is None or (e["event"] == "sys_enter") != (e["args"] is not None):
            out.unparsed.append(line)
            continue
        tid, nr = int(e["tid"]), int(e["nr"])
        if e["event"] == "sys_enter":
            if tid in entered:  # an entry that never returned (exit_group ends the task)
                out.events.append(_call(tid, *entered.pop(tid), None))
            entered[tid] = (nr, [int(a, 16) for a in e["args"].split(",")])
        elif tid in entered and (entered[tid][0] == nr or nr == -1):  # (-1: rt_sigreturn)
            out.events.append(_call(tid, *entered.pop(tid), int(e["ret"])))
        elif _EXECS.get(nr) and (by := _exec_entered(entered, nr)) is not None:
            # a thread's execve returns as the leader (the kernel's de_thread): the whole
            # call under the leader, with the thread's entry
            out.events.append(_call(tid, *entered.pop(by), int(e["ret"])))
        else:  # a return nothing entered on this task: a new task's first return
            out.events.append({"tid": tid, "syscall": _name(nr), "ret": int(e["ret"])})
    out.events += [_call(tid, nr, args, None) for tid, (nr, args) in entered.items()]
    return out


_EXECS = {expect.syscall_number("execve"): True, expect.syscall_number("execveat"): True}


def _exec_entered(entered: dict, nr: int) -> int | None:
    """The task whose entry of this exec call has not returned (one only), or None."""
    tasks = [t for t, (n, _) in entered.items() if n == nr]
    return tasks[0] if len(tasks) == 1 else None


def _call(tid: int, nr: int, raw: list, ret) -> dict:
    name = _name(nr)
    names = expect.kernel_arg_names(name)
    args = dict(zip(names, raw)) if names is not None else raw
    return {"tid": tid, "syscall": name, "ret": ret, "args": args}
