"""What the libbpf-tools print (measured with Debian bookworm's libbpf-tools 0.26), one reader
each. A tool's header and banner lines are known and skipped; any other line that is not an
event is unparsed. Paths and strings are kept as the tool prints them (quoted, as strace does,
so a value is never read as a number); a task is the PID the tool prints.

  syscount    `SYSCALL  COUNT` rows at its end: counts per syscall of the whole process
  opensnoop   -e: `PID COMM FD ERR FLAGS PATH` (FD -1 and ERR the errno on a failure)
  statsnoop   `PID COMM RET ERR PATH`
  sigsnoop    -k: `TIME PID COMM SIG TPID RESULT`
  execsnoop   -q -x: `PCOMM PID PPID RET "ARG" ...`, every exec on the host: the process's and
              its children's are kept (its own PID, or its PID as the parent)
  mountsnoop  `COMM PID TID MNT_NS CALL`, CALL as C: `mount("src", "dst", "fs", MS_A | MS_B,
              "data") = 0`, `umount("dst", 0x0) = -ENOENT`
  bindsnoop   -x: `PID COMM RET PROTO OPTS IF PORT ADDR`
"""

from __future__ import annotations

import re

from ioworkload.core import expect, syscount
from ioworkload.core.errors import errno_value
from ioworkload.judge.formats.stream import Observed

_SYSCOUNT_SKIP = re.compile(r"^(Tracing syscalls|\[\d\d:\d\d:\d\d\]$|SYSCALL\s+COUNT$|Detaching)")
_HEADER = re.compile(r"^\s*(PID\s+COMM|TIME\s+PID|PCOMM\s+PID|COMM\s+PID|Tracing|Detaching)")
# (comm: 16 bytes at most, spaces allowed; the columns around it are numbers)
_OPENSNOOP = re.compile(r"^(?P<pid>\d+)\s+(?P<comm>.{1,16}?)\s+(?P<fd>-?\d+)\s+(?P<err>\d+)\s+"
                        r"(?P<flags>[0-7]+) (?P<path>.*)$")
_STATSNOOP = re.compile(r"^(?P<pid>\d+)\s+(?P<comm>.{1,20}?)\s+(?P<ret>-?\d+)\s+(?P<err>\d+)\s+"
                        r"(?P<path>.*)$")
_SIGSNOOP = re.compile(r"^\d\d:\d\d:\d\d\s+(?P<pid>\d+)\s+(?P<comm>.{1,16}?)\s+(?P<sig>\d+)\s+"
                       r"(?P<tpid>-?\d+)\s+(?P<ret>-?\d+)\s*$")
_EXECSNOOP = re.compile(r"^(?P<comm>.{1,16}?)\s+(?P<pid>\d+)\s+(?P<ppid>\d+)\s+(?P<ret>-?\d+)\s"
                        r"(?P<args>.*)$")
_MOUNTSNOOP = re.compile(r"^(?P<comm>.{1,16}?)\s+(?P<pid>\d+)\s+(?P<tid>\d+)\s+\d+\s+"
                         r"(?P<call>mount|umount)\((?P<args>.*)\) = (?P<ret>-?\w+)\s*$")
_BINDSNOOP = re.compile(r"^\s*(?P<pid>\d+)\s+(?P<comm>.{1,16}?)\s+(?P<ret>-?\d+)\s+(?P<proto>\w+)\s+"
                        r"(?P<opts>[.FTNRr]{5})\s+(?P<if>\d+)\s+(?P<port>\d+)\s+(?P<addr>\S+)\s*$")


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _reader(event, header=_HEADER):
    """A reader: `event(line, pid)` is the line's event, None for a line it cannot read, or
    False for another process's (execsnoop's, which has no PID filter)."""
    def read(text: str, pid: int | None = None, source: str = "observed") -> Observed:
        out = Observed()
        for line in text.splitlines():
            if not line.strip() or header.match(line):
                continue
            ev = event(line, pid)
            if ev is None:
                out.unparsed.append(line)
            elif ev is not False:
                out.events.append(ev)
        return out
    return read


def _syscount(line: str, pid: int | None):
    found = syscount.row(line)
    if found is None:
        return None
    key, count = found
    return {"tid": pid, ("nr" if isinstance(key, int) else "syscall"): key, "count": count}


def _opensnoop(line: str, pid: int | None):
    """An open, unnamed (the same line for open and openat): named by the judge (scope.py)."""
    m = _OPENSNOOP.match(line)
    if not m:
        return None
    fd, err = int(m["fd"]), int(m["err"])
    return {"tid": int(m["pid"]), "ret": -err if fd < 0 else fd,
            "args": {"filename": _quoted(m["path"]), "flags": int(m["flags"], 8)}}


def _statsnoop(line: str, pid: int | None):
    m = _STATSNOOP.match(line)
    if not m:
        return None
    path, err = _quoted(m["path"]), int(m["err"])
    return {"tid": int(m["pid"]), "ret": -err if err else int(m["ret"]),
            "args": {"filename": path, "pathname": path}}


def _sigsnoop(line: str, pid: int | None):
    m = _SIGSNOOP.match(line)
    if not m:
        return None
    # TPID: kill's and tkill's first argument, tgkill's second (the thread), both `pid`
    return {"tid": int(m["pid"]), "ret": int(m["ret"]),
            "args": {"pid": int(m["tpid"]), "sig": int(m["sig"])}}


_EXEC_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _execsnoop(line: str, pid: int | None):
    """(no PID filter in the tool: the process's execs and its children's are kept)"""
    m = _EXECSNOOP.match(line)
    if not m:
        return None
    if pid is not None and pid not in (int(m["pid"]), int(m["ppid"])):
        return False
    argv = _EXEC_ARG.findall(m["args"])
    # its first word is the file the call was given, the rest argv[1:]
    return {"tid": int(m["pid"]), "syscall": None, "ret": int(m["ret"]),
            "args": {"filename": '"' + argv[0] + '"'} if argv else {}}


_C_ARGS = re.compile(r'"(?:[^"\\]|\\.)*"|[^,]+')


# <linux/mount.h>'s MS_ flags, by the names mountsnoop prints (bit 15 has two)
_MS_FLAGS = dict(zip(
    ("MS_RDONLY MS_NOSUID MS_NODEV MS_NOEXEC MS_SYNCHRONOUS MS_REMOUNT MS_MANDLOCK MS_DIRSYNC "
     "MS_NOSYMFOLLOW _ MS_NOATIME MS_NODIRATIME MS_BIND MS_MOVE MS_REC MS_SILENT MS_POSIXACL "
     "MS_UNBINDABLE MS_PRIVATE MS_SLAVE MS_SHARED MS_RELATIME MS_KERNMOUNT MS_I_VERSION "
     "MS_STRICTATIME MS_LAZYTIME").split(), (1 << bit for bit in range(26))))
_MS_FLAGS.update(MS_VERBOSE=1 << 15, MS_ACTIVE=1 << 30, MS_NOUSER=1 << 31)


def _mount_flags(text: str) -> int | None:
    """`MS_A | MS_B` or `0x0`, by the kernel's values of the names the tool printed."""
    names = dict(_MS_FLAGS, **expect.constants())
    value = 0
    for part in text.split("|"):
        part = part.strip()
        if part.startswith("0x") or part.isdigit():
            value |= int(part, 0)
        elif part in names:
            value |= names[part]
        else:
            return None
    return value


def _mountsnoop(line: str, pid: int | None):
    m = _MOUNTSNOOP.match(line)
    if not m:
        return None
    parts = [p.strip() for p in _C_ARGS.findall(m["args"])]
    if len(parts) != (5 if m["call"] == "mount" else 2):
        return None
    flags = _mount_flags(parts[3] if m["call"] == "mount" else parts[1])
    try:
        ret = -errno_value(m["ret"][1:]) if m["ret"].startswith("-E") else int(m["ret"])
    except ValueError:
        return None
    if flags is None:
        return None
    if m["call"] == "mount":
        # an empty string is how it prints NULL too: such a value says nothing
        names = ("dev_name", "dir_name", "type", None, "data")
        args = {n: v for n, v in zip(names, parts) if n and v != '""'}
        args["flags"] = flags
        return {"tid": int(m["tid"]), "syscall": "mount", "ret": ret, "args": args}
    # the kernel's umount tracepoint is umount2's
    return {"tid": int(m["tid"]), "syscall": "umount2", "ret": ret,
            "args": {"name": parts[0], "flags": flags}}


def _bindsnoop(line: str, pid: int | None):
    m = _BINDSNOOP.match(line)
    return {"tid": int(m["pid"]), "syscall": "bind", "ret": int(m["ret"])} if m else None


READERS = {"syscount": _reader(_syscount, _SYSCOUNT_SKIP), "opensnoop": _reader(_opensnoop),
           "statsnoop": _reader(_statsnoop), "sigsnoop": _reader(_sigsnoop),
           "execsnoop": _reader(_execsnoop), "mountsnoop": _reader(_mountsnoop),
           "bindsnoop": _reader(_bindsnoop)}
