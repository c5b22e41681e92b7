"""perf trace --comm by PID (measured with perf 6.1 here)."""

import re

from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.tracers import Tracer

# What it cannot show by design: a run whose every difference is one of these is `limited`.
BLIND_SPOTS = (
    (re.compile(r"^missing: .* on a (helper|child) of worker \d+: "),
     "perf trace -p follows only the threads that exist when it attaches"),
    (re.compile(r"^missing: \w+ #\d+ (syscall_\d+|cachestat|fchmodat2|getxattrat|setxattrat|"
                r"listxattrat|removexattrat) .*: (\d+) of \2 not seen$"),
     "perf trace shows no call its syscall table cannot name (newer calls, unassigned numbers)"),
)


def capabilities() -> Capabilities:
    return Capabilities(
        returns=False, args=False, entry=True, exit=True, new_tasks=False, order=False,
        reasons={"returns": "it prints no value for some returns (getppid's, rt_sigreturn's)",
                 "args": "it leaves out arguments whose value is 0 and prints others decoded",
                 "new-tasks": "-p follows only the threads that exist when it attaches",
                 "order": "a call interrupted by another is printed in two halves; the order "
                          "across them is not stated"})


def tracer() -> Tracer:
    return Tracer("perf-trace", "perf trace --comm -o {out} -p {pid}", "perf-trace",
                  ready="settle", caps=capabilities(), blind_spots=BLIND_SPOTS)
