"""`strace -f -X raw -o FILE` (one line per call, tid first), or without `-f` (no tid: the one
task traced, `pid`). Numbers as strace prints them: decimal, hex, octal modes and returns
(`0644`, `= 022`), flags joined by `|`."""

from __future__ import annotations

import re

from ioworkload.core import expect
from ioworkload.core.errors import errno_value
from ioworkload.core.manifest import split_args
from ioworkload.judge.formats.stream import Observed
from ioworkload.judge.matching import as_int

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
# strace's own notes, not calls: signals, exits, attach messages
_NOTE = re.compile(r"^(---|\+\+\+|strace: )")


# strace prints some calls' arguments by name (`clone(child_stack=0x..., flags=0x...)`), in
# its own order and with its own names: the kernel's for these
_NAMED = re.compile(r"^(?P<key>[a-z_]+)=(?P<value>.*)$", re.S)
_KERNEL_NAMES = {"clone": {"child_stack": "newsp", "stack": "newsp", "flags": "clone_flags",
                           "parent_tid": "parent_tidptr", "parent_tidptr": "parent_tidptr",
                           "child_tidptr": "child_tidptr", "tls": "tls"}}


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


def _args(name: str, parts: list[str]):
    """The arguments positionally, or by the kernel's names where strace named them."""
    named = [_NAMED.match(p) for p in parts]
    if not parts or not all(named):
        return _futex_args(parts) if name == "futex" else parts
    names = _KERNEL_NAMES.get(name, {})
    return {names.get(m["key"], m["key"]): m["value"] for m in named}


def read(text: str, pid: int | None = None, source: str = "observed") -> Observed:
    out = Observed()
    pending: dict = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _STRACE.match(line)
        if m:
            tid, rest = int(m["tid"]), m["rest"].strip()
        elif pid is not None:  # strace without -f: the one task it traces
            tid, rest = pid, line.strip()
        else:
            out.unparsed.append(line)
            continue
        if _NOTE.match(rest):
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
            out.unparsed.append(line)
            continue
        name = c["name"]
        m2 = re.fullmatch(r"syscall_(0x[0-9a-f]+|\d+)", name)
        if m2:
            nr = int(m2[1], 0)
            name = expect.syscall_name(nr) or f"syscall_{nr}"
        try:
            if c["err"]:  # strace prints a restart code as "= ? ERESTARTSYS (...)"
                value = -errno_value(c["err"])
            elif c["ret"] == "?":
                value = None
            else:
                value = as_int(c["ret"])
            args = _args(name, split_args(c["args"]))
        except ValueError:
            out.unparsed.append(line)
            continue
        out.events.append({"tid": tid, "syscall": name, "ret": value, "args": args})
    return out


def parse_strace(text: str, pid: int | None = None) -> list[dict]:
    """Observed events from strace's output (see the module); lines it cannot read are left
    out here (read() counts them)."""
    return read(text, pid).events
