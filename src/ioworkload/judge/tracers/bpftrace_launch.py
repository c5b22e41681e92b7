"""bpftrace as the launcher: `bpftrace -c '{command}'` starts `ioworkload SCENARIO` itself (its
child, `cpid`, held until the probes are attached) with the preset's program (bpftrace.py),
which here follows the child and every process started below it (sched_process_fork) instead
of one PID and its children; the judge keeps the scenario process's tasks from their release
on (matching.launched)."""

from ioworkload.judge.tracers import Tracer
from ioworkload.judge.tracers.bpftrace import BLIND_SPOTS, BPFTRACE_PROGRAM, capabilities

_BY_PID = "/pid == PID || curtask->real_parent->tgid == PID/"
_BEGIN = 'BEGIN { printf("ready\\n"); }'
assert BPFTRACE_PROGRAM.count(_BY_PID) == 2 and _BEGIN in BPFTRACE_PROGRAM
LAUNCH_PROGRAM = (
    BPFTRACE_PROGRAM.replace(_BY_PID, "/@follow[pid]/").replace("/pid == PID/", "/@follow[pid]/")
    .replace(_BEGIN, 'BEGIN { @follow[cpid] = 1; printf("ready\\n"); }\n'
                     "tracepoint:sched:sched_process_fork /@follow[pid]/ "
                     "{ @follow[args->child_pid] = 1; }")
    .replace("END { ", "END { clear(@follow); "))


def tracer() -> Tracer:
    # -c takes the command as one string ({command} inside a word: shell-quoted)
    return Tracer("bpftrace-launch", "bpftrace -o {out} -c{command} {program}", "jsonl",
                  caps=capabilities(), program=LAUNCH_PROGRAM, blind_spots=BLIND_SPOTS)
