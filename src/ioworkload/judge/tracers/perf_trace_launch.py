"""perf trace as the launcher: `perf trace ... -- {command}` starts `ioworkload SCENARIO` itself
and follows it and every task it starts (perf's events are inherited, so unlike -p it sees the
tasks created during the run); the judge keeps the scenario process's tasks from their release
on (matching.launched). What it prints is perf trace's (perf_trace.py)."""

import dataclasses

from ioworkload.judge.tracers import Tracer
from ioworkload.judge.tracers.perf_trace import BLIND_SPOTS, capabilities


def tracer() -> Tracer:
    # -p's limit (the tasks created after the attach) and its blind spot are not the launcher's
    by_pid = capabilities()
    caps = dataclasses.replace(by_pid, new_tasks=True, reasons={
        k: why for k, why in by_pid.reasons.items() if k != "new-tasks"})
    return Tracer("perf-trace-launch", "perf trace --comm -o {out} -- {command}", "perf-trace",
                  caps=caps, blind_spots=BLIND_SPOTS[1:])
