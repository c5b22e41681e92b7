"""strace -f by PID: ptrace stops every task at both halves of every call and prints them in
the order they happened, arguments decoded raw (-X raw), strings up to 64 KiB (a path may be 4096 bytes).
Quiet as -qq but for the personality notes (`[ Process PID=N runs in 32 bit mode. ]`): they
say which table the calls after them are named in (the 32-bit door, the x32 bit). With each
call's number (-n): strace names an ia32 socketcall subcall and the direct call alike
(`socket(...)`, 102 or 359)."""

import re

from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.tracers import Tracer


OPTIONS = "-f -n -X raw -s 65536 -e quiet=attach,exit -o {out}"


def capabilities() -> Capabilities:
    return Capabilities(
        returns=True, args=True, entry=True, exit=False, new_tasks=True, order=True,
        reasons={"exit": "ptrace never reports a clone's return (0) in the new task: the "
                         "task is stopped only from its first own call on"})


def tracer() -> Tracer:
    return Tracer("strace", f"strace {OPTIONS} -p {{pid}}", "strace", ready="ptrace",
                  caps=capabilities(), blind_spots=BLIND_SPOTS)


# strace reads a path argument up to PATH_MAX - 1 bytes, whatever -s says (wide_names' path of
# PATH_MAX bytes, which the kernel refuses, is shown cut)
BLIND_SPOTS = (
    (re.compile(r"^wrong arguments: .* cut short \(4095 bytes\)(: \d+ events on \d+ tasks? .*)?$"),
     "strace shows a path of PATH_MAX bytes or more cut at PATH_MAX - 1"),
)
