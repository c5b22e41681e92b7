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
        new_tasks=True, order=True,
        reasons={"args": "a SYSCALL record holds the first four arguments (a0-a3) only",
                 "exit": "a new task's first return (a clone's 0 in the child) follows no "
                         "audited entry: audit records nothing for it"})
    command = (f"{shlex.quote(sys.executable)} -m ioworkload.core.audit --pid {{pid}} "
               f"--state {{out}}.state")
    return AuditTracer("auditd", command, "audit", ready="line", caps=caps,
                       blind_spots=BLIND_SPOTS)


# A helper thread's calls, recorded under the process's id, are the worker's too many (or fit
# its declared calls with other arguments) and the helper's missing: each explains the other,
# and neither alone.
_HELPER_MISSING = re.compile(r"^missing: .* on a (helper|io_thread) of worker \d+: ")
_WORKER_EXTRA = re.compile(r"^(too many|undeclared|order|wrong arguments): ")
_BY_PROCESS = ("a record names the process (pid= is the thread group's id), not the thread: a "
               "helper thread's calls count as the worker's")
# The kernel writes a restart code into the record as -EINTR (audit_return_fixup): the
# interrupted call is seen, with -4 for its -ERESTARTSYS (and the like).
_AS_EINTR = re.compile(r"^(undeclared|too many): \w+ -> -4\b")
_RESTART = ("audit records a restart code (-ERESTARTSYS, -ERESTARTNOHAND, "
            "-ERESTART_RESTARTBLOCK) as -EINTR")

BLIND_SPOTS = (
    (_HELPER_MISSING, _BY_PROCESS, _WORKER_EXTRA),
    (_WORKER_EXTRA, _BY_PROCESS, _HELPER_MISSING),
    (re.compile(r"^missing: .* -> -ERESTART\w* on "), _RESTART, _AS_EINTR),
    (_AS_EINTR, _RESTART),
)
