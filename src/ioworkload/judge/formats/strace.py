"""`strace -f -X raw -o FILE` (one line per call, tid first), or without `-f` (no tid: the one
task traced, `pid`). Numbers as strace prints them: decimal, hex, octal modes and returns
(`0644`, `= 022`), flags joined by `|`.

strace follows each task's personality and says when it changes (`[ Process PID=N runs in 32
bit mode. ]`, unless quiet): a call after `32 bit` is an ia32 call (`"abi": "ia32"`), one after
`x32` a 64-bit call with the x32 bit (named `syscall_<number with the bit>`, as the kernel
numbers it). In 32-bit mode strace names socketcall's and ipc's subcalls (`socket(...)`,
`semop(...)`) with the subcall's own arguments: read back as the multiplexer the kernel saw,
each argument in its place (ipc_call), the call number from the name. strace prints the
direct ia32 socket and SysV calls (socket is 359, socketcall 102) the same way: with -n
(`[ 359] socket(...)`, the preset's) the number says which it was; without, the event is read
as the multiplexer's with the direct call as its alternative (`either`), and the judge counts
it as whichever of the two the expectation declares there (matching.resolve_either), never
as both."""

from __future__ import annotations

import re

from ioworkload.core import expect
from ioworkload.core.errors import errno_value
from ioworkload.core.manifest import split_args
from ioworkload.judge.formats.stream import Observed
from ioworkload.judge.matching import as_int

_STRACE = re.compile(r"^(?P<tid>\d+)\s+(?P<rest>.*)$")
_NUMBER = re.compile(r"^\[\s*(?P<nr>\d+)\]\s*")  # -n: the number the call entered with
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
_PERSONALITY = re.compile(r"^\[ Process PID=(?P<pid>\d+) runs in (?P<mode>32 bit|64 bit|x32) mode\. \]$")
_SOCKETCALLS = ("socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername",
                "socketpair", "send", "recv", "sendto", "recvfrom", "shutdown", "setsockopt",
                "getsockopt", "sendmsg", "recvmsg", "accept4", "recvmmsg", "sendmmsg")
# ipc's subcalls as strace prints them: (the call's constant or None where the printed call
# cannot say it (msgrcv's version in the upper half), and the place among ipc's six arguments
# (call, first, second, third, ptr, fifth) of each argument strace prints (None: not one of
# them, semctl's fourth: the value read through ptr)
_IPC_CALLS = {"semop": ("SEMOP", (1, 4, 2)), "semget": ("SEMGET", (1, 2, 3)),
              "semctl": ("SEMCTL", (1, 2, 3, None)), "semtimedop": ("SEMTIMEDOP", (1, 4, 2, 5)),
              "msgsnd": ("MSGSND", (1, 4, 2, 3)), "msgrcv": (None, (1, 4, 2, 5, 3)),
              "msgget": ("MSGGET", (1, 2)), "msgctl": ("MSGCTL", (1, 2, 4)),
              "shmat": ("SHMAT", (1, 4, 2)), "shmdt": ("SHMDT", (4,)),
              "shmget": ("SHMGET", (1, 2, 3)), "shmctl": ("SHMCTL", (1, 2, 4))}


def _ia32(name: str, args, nr: int | None = None):
    """An ia32 call as strace printed it -> (the kernel's name, its arguments); nr: the number
    it printed (-n), which tells a direct socket or SysV call from the multiplexer's subcall."""
    multiplexed = name in _SOCKETCALLS or name in _IPC_CALLS
    if multiplexed and nr is not None and expect.ia32_syscall_name(nr) not in ("socketcall",
                                                                                  "ipc"):
        return name, args  # the direct call of that name
    if name in _SOCKETCALLS:  # the subcall's own arguments sit behind socketcall's pointer
        return "socketcall", [expect.constants().get(f"SYS_{name.upper()}"), None]
    if name in _IPC_CALLS and isinstance(args, list):
        call, places = _IPC_CALLS[name]
        out = [expect.constants().get(call) if call else None] + [None] * 5
        for place, value in zip(places, args):
            if place is not None:
                out[place] = value
        return "ipc", out
    if name == "_llseek" and isinstance(args, list) and len(args) == 4:
        # strace joins the offset's halves into one number
        offset = as_int(args[1])
        if offset is not None:
            return name, [args[0], str(offset >> 32), str(offset & 0xFFFFFFFF), *args[2:]]
    return name, args


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
    modes: dict = {}  # tid -> strace's personality, where it said (default: 64 bit)
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
        number = _NUMBER.match(rest)
        if number:
            rest = rest[number.end():]
        pers = _PERSONALITY.match(rest)
        if pers:
            modes[int(pers["pid"])] = pers["mode"]
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
        mode = modes.get(tid, "64 bit")
        m2 = re.fullmatch(r"syscall_(0x[0-9a-f]+|\d+)", name)
        if m2:
            nr = int(m2[1], 0)
            name = ((expect.ia32_syscall_name(nr) if mode == "32 bit" else expect.syscall_name(nr))
                    or f"syscall_{nr}")
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
        ev = {"tid": tid, "syscall": name, "ret": value, "args": args}
        if mode == "32 bit":
            nr = int(number["nr"]) if number else None
            ev["syscall"], ev["args"] = _ia32(name, args, nr)
            ev["abi"] = "ia32"
            if nr is None and ev["syscall"] != name and name in expect.ia32_table():
                ev["either"] = [dict(ev, syscall=name, args=args)]  # the direct call, alike
        elif mode == "x32":  # x32 shares x86-64's numbers below 512; the kernel sees the bit
            nr = expect.syscall_number(name)
            if nr is not None:
                ev["syscall"] = f"syscall_{nr | expect.X32_SYSCALL_BIT}"
        out.events.append(ev)
    return out


def parse_strace(text: str, pid: int | None = None) -> list[dict]:
    """Observed events from strace's output (see the module); lines it cannot read are left
    out here (read() counts them)."""
    return read(text, pid).events
