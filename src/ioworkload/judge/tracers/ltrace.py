"""ltrace -S by PID (-f: the tasks it creates too; -L: no library calls): ptrace stops every
task at both halves of every call, like strace, and prints the calls through its own table."""

import re

from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.tracers import Tracer

PACKAGE = "ltrace"


class LtraceTracer(Tracer):
    def unavailable(self) -> str | None:
        why = super().unavailable()
        return f"{why} (Debian package {PACKAGE})" if why else None


def tracer() -> Tracer:
    caps = Capabilities(
        returns=True, args=False, entry=True, exit=False, new_tasks=True, order=True,
        reasons={"args": "it prints arguments through its own prototypes (four words where it "
                         "has none, strings cut at 32 bytes), not the registers",
                 "exit": "ptrace never reports a clone's return (0) in the new task"})
    return LtraceTracer("ltrace", "ltrace -S -L -f -o {out} -p {pid}", "ltrace",
                        ready="ptrace", caps=caps, blind_spots=BLIND_SPOTS)


BLIND_SPOTS = (
    (re.compile(r"^no return value: execve(at)? "),
     "ltrace prints a successful execve as `<no return ...>`, without its 0"),
)
