"""Rate of every scenario, for tracer overhead studies: `pytest benchmarks --benchmark-only
-k readwrite` gives ns/syscall per scenario in extra_info (compare runs with --benchmark-json).

pytest-benchmark's time for a round is the run's timed loop (the loop clock, conftest), so
`stats` and `pytest-benchmark compare` show the loop's own rate. Each scenario's iteration
count is calibrated to ~0.2 s of loop, so slow ones (sync, io_destroy) and fast ones (getppid)
are both measured for a sensible time; `--ioworkload-iterations N` fixes it instead, so two runs
set side by side did the same work."""

import pytest

import ioworkload
from ioworkload.core import registry
from ioworkload.core.errors import Unsupported
from conftest import environment, fixed_iterations, loop_timed, median, untraced_run

TARGET_SECONDS = 0.2
NAMES = sorted(registry.all_scenarios())

pytestmark = loop_timed


def _calibrate(name: str) -> int:
    probe = untraced_run(name, duration=0.05)  # same counts with and without --tracer
    per_iter_ns = probe.elapsed_ns / max(1, probe.iterations_done[0])
    return int(min(10_000_000, max(1, TARGET_SECONDS * 1e9 / max(per_iter_ns, 1))))


@pytest.mark.parametrize("name", NAMES)
def test_scenario_rate(benchmark, pinned, name):
    try:
        iterations = fixed_iterations() or _calibrate(name)
    except Unsupported as e:
        pytest.skip(f"unsupported: {e}")
    results = []
    try:
        benchmark.pedantic(lambda: results.append(ioworkload.run(name, iterations=iterations)),
                           rounds=3, iterations=1)
    except Unsupported as e:  # a fixed count skips calibration, the first run finds out
        pytest.skip(f"unsupported: {e}")
    assert all(r.ok for r in results), results[-1].mismatches
    benchmark.extra_info.update(
        environment(), scenario=name, family=results[0].family, iterations=iterations,
        iterations_fixed=fixed_iterations() is not None,
        syscalls_per_iteration=results[0].loop_syscalls // iterations,
        elapsed_ns=[r.elapsed_ns for r in results],
        # None where the loop issues no syscall (iouring_op_sqpoll: ring operations only)
        ns_per_syscall=_median([r.ns_per_syscall for r in results]),
        syscalls_per_second=_median([r.syscalls_per_second for r in results]),
        operations_per_iteration=sum(o.times for o in ioworkload.scenarios()[name].operations))


def _median(values):
    return None if None in values else median(values)
