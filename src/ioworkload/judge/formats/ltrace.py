"""`ltrace -S -L -f -o FILE` (system calls only, one line a call, tid first):

    4711 SYS_openat(0xffffff9c, 0x7f09a3ef80b1, 0x80000, 0) = 3
    4711 SYS_futex(0x7f1c..., 128, 0, 0 <unfinished ...>
    4711 <... SYS_futex resumed> ) = 0
    4711 SYS_exit_group(0 <no return ...>
    4711 SYS_execve("/bin/true"..., 0x5612..., 0x5613... <no return ...>

Names come from ltrace's own table (2013's: newer calls are `SYS_<nr>`, a few named
otherwise than the kernel names them); returns are raw (-errno on failure). Arguments are
printed through ltrace's prototypes (four words where it has none, strings cut at 32 bytes):
not the kernel's registers, so they are not read.
"""

from __future__ import annotations

import re

from ioworkload.core import expect
from ioworkload.judge.formats.stream import Observed
from ioworkload.judge.matching import as_int

# ltrace's names that are not the kernel's (its x86-64 table predates them)
ALIASES = {"pread": "pread64", "pwrite": "pwrite64", "umount": "umount2"}

_LINE = re.compile(r"^(?:\[pid )?(?P<tid>\d+)\]?\s+(?P<rest>.*)$")
_CALL = re.compile(r"^SYS_(?P<name>\w+)\(.*?\)?\s*=\s*(?P<ret>-?(?:0x[0-9a-f]+|\d+))$")
_UNFINISHED = re.compile(r"^SYS_(?P<name>\w+)\(.*<(?P<how>unfinished|no return) \.\.\.>$")
_RESUMED = re.compile(r"^<\.\.\. SYS_(?P<name>\w+) resumed>.*?=\s*(?P<ret>-?(?:0x[0-9a-f]+|\d+))$")
_NOTE = re.compile(r"^(---|\+\+\+) .*(---|\+\+\+)$")


def _name(text: str) -> str:
    if text.isdigit():
        return expect.syscall_name(int(text)) or f"syscall_{text}"
    return ALIASES.get(text, text)


def _unreturned(tid: int, name: str) -> dict:
    """A call ltrace printed `<no return ...>` and never resumed: exit and exit_group; a
    successful execve (its `--- Called exec() ---` follows, never its 0)."""
    return {"tid": tid, "syscall": name,
            "ret": "unknown" if name in ("execve", "execveat") else None}


def read(text: str, pid: int | None = None, source: str = "observed") -> Observed:
    out = Observed()
    pending: dict = {}  # tid -> the name of the call printed unfinished (or `no return`)
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _LINE.match(line.strip())
        if m is None:
            out.unparsed.append(line)
            continue
        tid, rest = int(m["tid"]), m["rest"].strip()
        if _NOTE.match(rest):
            continue
        r = _RESUMED.match(rest)
        if tid in pending and (r is None or _name(r["name"]) != pending[tid]):
            out.events.append(_unreturned(tid, pending.pop(tid)))  # it never came back
        u = _UNFINISHED.match(rest)
        if u:
            # (`no return` is not always so: a wait4 so printed may still resume)
            pending[tid] = _name(u["name"])
            continue
        c = r or _CALL.match(rest)
        if c is None:
            out.unparsed.append(line)
            continue
        pending.pop(tid, None)  # (a new task's clone may resume where nothing was unfinished)
        out.events.append({"tid": tid, "syscall": _name(c["name"]), "ret": as_int(c["ret"])})
    out.events += [_unreturned(tid, name) for tid, name in pending.items()]
    return out
