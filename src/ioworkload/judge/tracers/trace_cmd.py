"""ftrace's raw_syscalls events through trace-cmd: a tracefs instance of the preset's own,
filtered on the process's tasks (set_event_pid, event-fork for the tasks they create), read
back with `trace-cmd extract` and printed by `trace-cmd report` (core/ftrace.py says why
trace-cmd does not set the instance up itself here)."""

import shlex
import sys

from ioworkload.core import ftrace
from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.tracers import Tracer


class FtraceTracer(Tracer):
    def unavailable(self) -> str | None:
        return ftrace.unavailable()

    def cleanup(self, pid: int, tmp: str) -> None:
        ftrace.remove_instance(pid)


def tracer() -> Tracer:
    # Every task's both halves, the six registers at the entry, in the order each CPU's
    # buffer recorded them (report merges the CPUs by time).
    caps = Capabilities(returns=True, args=True, entry=True, exit=True, new_tasks=True,
                        order=True)
    command = (f"{shlex.quote(sys.executable)} -m ioworkload.core.ftrace --pid {{pid}} "
               f"--data {{out}}.dat")
    return FtraceTracer("trace-cmd", command, "trace-cmd", ready="line", caps=caps,
                        blind_spots=BLIND_SPOTS)


BLIND_SPOTS = ()
