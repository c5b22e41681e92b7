"""The Linux audit subsystem (auditd's syscall rules): a rule for every syscall of the process
(-F pid) and of its children (-F ppid), both ABIs, added with auditctl and removed on every
path; the records read as the audit daemon reads them, or from a running auditd's log
(core/audit.py). What it reports is what a SYSCALL record holds."""

import re
import shlex
import sys

from ioworkload.core import audit
from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.tracers import Tracer

STATE = "observed.state"  # beside the check's {out}: what to put back if the session dies


class AuditTracer(Tracer):
    def unavailable(self) -> str | None:
        return audit.unavailable()

    def prepare(self, tmp: str) -> None:
        audit.arm(f"{tmp}/{STATE}")

    def cleanup(self, pid: int, tmp: str) -> None:
        audit.restore(f"{tmp}/{STATE}")


def tracer() -> Tracer:
    caps = Capabilities(
        returns=True, args=True, args_first=audit.ARGS, entry=True, exit=False,
        new_tasks=True, order=True, threads=False,
        reasons={"args": "a SYSCALL record holds the first four arguments (a0-a3) only",
                 "threads": "a record names the process (pid= is the thread group's id), not "
                            "the thread: the process's threads are judged as one task, the "
                            "order of their calls not judged",
                 "exit": "a new task's first return (a clone's 0 in the child) follows no "
                         "audited entry: audit records nothing for it"})
    command = (f"{shlex.quote(sys.executable)} -m ioworkload.core.audit --pid {{pid}} "
               f"--state {{out}}.state")
    return AuditTracer("auditd", command, "audit", ready="line", caps=caps,
                       blind_spots=BLIND_SPOTS)


# The kernel writes a restart code into the record as -EINTR (audit_return_fixup): the
# interrupted call is seen, with -4 for its -ERESTARTSYS (and the like).
_AS_EINTR = re.compile(r"^(undeclared|too many): \w+ -> -4\b")
_RESTART = ("audit records a restart code (-ERESTARTSYS, -ERESTARTNOHAND, "
            "-ERESTART_RESTARTBLOCK) as -EINTR")

BLIND_SPOTS = (
    (re.compile(r"^missing: .* -> -ERESTART\w* on "), _RESTART, _AS_EINTR),
    (_AS_EINTR, _RESTART),
)
