"""`perf trace --comm -o FILE`: `TIME ( DURATION ms): COMM/TID name(arg: value, ...) = RET`;
a call another event interrupted is printed at its entry (`...`) and `[continued]` later."""

from __future__ import annotations

import re

from ioworkload.core.errors import KERNEL_ONLY, errno_value
from ioworkload.core.manifest import NO_EXIT_TRACEPOINT, split_args
from ioworkload.judge.formats.stream import Observed

_PERF_LINE = re.compile(r"^\s*(?:[\d.?]+)\s+\(\s*[\d.]*\s*(?:ms)?\s*\):\s+(?:(?P<comm>\S+?)/(?P<tid>\d+)\s+)?"
                        r"(?:\.\.\. \[continued\]: )?(?P<name>\w+)\((?P<args>.*?)\)\)?\s*"
                        r"(?:\.\.\.|=\s*(?P<ret>\?|0x[0-9a-f]+|-?\d+)?(?:\s+(?P<err>E\w+))?.*)?$")


# perf trace 6.1 prints an errno it cannot name as "-1 (unknown) (INTERNAL ERROR:
# strerror_r(512, [buf], 128)=22)"; libc's own text is "Unknown error 512"
_UNKNOWN_ERROR = re.compile(r"strerror_r\((\d+),|Unknown error (\d+)")


def read(text: str, pid: int | None = None, source: str = "observed") -> Observed:
    out = Observed()
    events = out.events
    pending: dict = {}  # tid -> (name, args) of a call printed before its return (`) ...`)
    for line in text.splitlines():
        m = re.search(r"LOST (\d+) events", line)
        if m:
            out.lost += int(m[1])
            continue
        m = _PERF_LINE.match(line)
        if not m:
            if line.strip():
                out.unparsed.append(line)
            continue
        tid = int(m["tid"]) if m["tid"] else pid
        args = {}
        raw = m["args"]
        if raw.count("(") > raw.count(")"):  # `pid: 123 (comm))`: the pattern took its `)`
            raw += ")"
        raw = re.sub(r"\b(-?\d+) \([^()]*\)", r"\1", raw)  # perf names a pid's task: `123 (comm)`
        try:
            parts = split_args(raw)
        except ValueError:
            out.unparsed.append(line)
            continue
        for part in parts:
            k, colon, v = part.partition(": ")
            if colon:  # an fd may carry what it is: `3<socket:[1542216]>`, `3</tmp/x>`
                args[k.strip()] = re.sub(r"^(-?\d+)<.*>$", r"\1", v.strip())
        left = pending.get(tid)
        if left and left[0] in NO_EXIT_TRACEPOINT and "[continued]" not in line:
            # rt_sigreturn: printed as an entry whose return never comes (no sys_exit of its own)
            events.append({"tid": tid, "syscall": left[0], "ret": "unknown", "args": left[1]})
            del pending[tid]
        if line.rstrip().endswith("...") and "[continued]" not in line:
            if tid in pending:  # a call printed at entry that never went on (rt_sigreturn)
                events.append(_unreturned(tid, *pending.pop(tid)))
            pending[tid] = (m["name"], args)  # another event came between entry and return
            continue
        if "[continued]" in line and pending.get(tid, ("",))[0] == m["name"]:
            args = pending.pop(tid)[1]
        ret = m["ret"]
        if ret is None and "=" in line.rsplit(")", 1)[-1]:
            value = "unknown"  # "= " and nothing: perf trace prints no value for some calls
        elif ret is None or ret == "?":
            value = None
        elif m["err"] in KERNEL_ONLY:  # a restart (-ERESTARTSYS ...), which perf trace names
            value = -KERNEL_ONLY[m["err"]]
        elif m["err"]:
            try:
                value = -errno_value(m["err"])
            except ValueError:  # a name this Python does not know: not read, so counted
                out.unparsed.append(line)
                continue
        else:
            value = int(ret, 0)
            unknown = _UNKNOWN_ERROR.search(line) if value == -1 else None
            if unknown:  # an errno libc cannot name (a restart: 512 and up)
                value = -int(unknown[1] or unknown[2])
        events.append({"tid": tid, "syscall": m["name"], "ret": value, "args": args})
    events += [_unreturned(tid, name, args) for tid, (name, args) in pending.items()]
    return out


def parse_perf_trace(text: str, pid: int) -> tuple[list[dict], int]:
    """Observed events from `perf trace --comm -o FILE` output; (events, LOST count)."""
    o = read(text, pid)
    return o.events, o.lost


def _unreturned(tid: int, name: str, args: dict) -> dict:
    """A call perf trace printed at its entry and never continued: exit and exit_group do not
    return; rt_sigreturn does (the register it restores), but perf trace cannot show it."""
    return {"tid": tid, "syscall": name,
            "ret": "unknown" if name in NO_EXIT_TRACEPOINT else None, "args": args}
