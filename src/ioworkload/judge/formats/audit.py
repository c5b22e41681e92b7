"""audit.log's SYSCALL records, as the auditd preset prints them (core/audit.py) or as a
running auditd's log holds them:

    type=SYSCALL msg=audit(1796609611.030:43): arch=c000003e syscall=9 success=yes
    exit=140206413115392 a0=0 a1=2000 a2=3 a3=22 items=0 ppid=30690 pid=30813 ... key="..."

One record a call, written at its return; exit and exit_group have theirs when the task ends,
without `exit=`. A record names the process (`pid=` is the thread group's id), never the
thread, and holds the first four arguments only, raw, in hex. `lost N` (the preset's last line):
how much the kernel's count of records its backlog could not hold grew during the run.
Other record types (PATH, CWD, PROCTITLE, EOE: parts of the same event) are not calls.
"""

from __future__ import annotations

import re

from ioworkload.core import expect
from ioworkload.core.audit import ARGS
from ioworkload.judge.formats.stream import Observed, lines

ARCHES = {"c000003e": "", "40000003": "ia32"}  # AUDIT_ARCH_X86_64, AUDIT_ARCH_I386

_RECORD = re.compile(r"^type=(?P<type>\w+) msg=audit\([\d.]+:(?P<serial>\d+)\): (?P<fields>.*)$")
_READY = re.compile(r"^ready$")
_FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')


def _name(arch: str, nr: int) -> str:
    """The call's name in its own table: `ia32:open` for a 32-bit call (the judge's name_of)."""
    if ARCHES[arch]:
        return f"ia32:{expect.ia32_syscall_name(nr) or f'syscall_{nr}'}"
    return expect.syscall_name(nr) or f"syscall_{nr}"


def read(text: str, pid: int | None = None, source: str = "observed") -> Observed:
    out = Observed()
    for line, s in lines(text, out, _READY):
        r = _RECORD.match(s)
        if r is None:
            out.unparsed.append(line)
            continue
        if r["type"] != "SYSCALL":
            continue
        fields = dict(_FIELD.findall(r["fields"].split("\x1d")[0]))
        try:
            arch, nr, tgid = fields["arch"], int(fields["syscall"]), int(fields["pid"])
            if arch not in ARCHES:
                raise ValueError(arch)
            name = _name(arch, nr)
            ret = int(fields["exit"]) if "exit" in fields else None
            raw = [int(fields[f"a{k}"], 16) for k in range(ARGS)]
        except (KeyError, ValueError):
            out.unparsed.append(line)
            continue
        names = expect.kernel_arg_names(name)
        args = dict(zip(names, raw)) if names is not None else None
        if ARCHES[arch]:  # (the judge names it in the ia32 table by its abi)
            out.events.append({"tid": tgid, "nr": nr, "abi": "ia32", "ret": ret, "args": args})
        else:
            out.events.append({"tid": tgid, "syscall": name, "ret": ret, "args": args})
    return out
