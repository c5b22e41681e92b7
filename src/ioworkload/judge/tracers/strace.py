"""strace -f by PID: ptrace stops every task at both halves of every call and prints them in
the order they happened, arguments decoded raw (-X raw), strings up to 4096 bytes."""

from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.tracers import Tracer


def tracer() -> Tracer:
    caps = Capabilities(
        returns=True, args=True, entry=True, exit=False, new_tasks=True, order=True,
        reasons={"exit": "ptrace never reports a clone's return (0) in the new task: the "
                         "task is stopped only from its first own call on"})
    return Tracer("strace", "strace -f -X raw -s 4096 -qq -o {out} -p {pid}", "strace",
                  ready="ptrace", caps=caps)
