"""strace as the launcher: `strace -f ... {command}` starts `ioworkload SCENARIO` itself, the way
many test harnesses run their tracer, so it sees the command's start-up and the scenario
process from its fork on; the judge keeps the scenario process's tasks from their release on
(matching.launched) and says how many events it set aside. What it reports is strace's."""

from ioworkload.judge.tracers import Tracer
from ioworkload.judge.tracers.strace import BLIND_SPOTS, OPTIONS, capabilities


def tracer() -> Tracer:
    return Tracer("strace-launch", f"strace {OPTIONS} {{command}}", "strace",
                  caps=capabilities(), blind_spots=BLIND_SPOTS)
