"""The null-syscall rate (issue 27): the inline-asm C loop (ref_loop.c) and ioworkload's
getppid, gettid, enosys and aio_setup_einval, interleaved and pinned to one CPU, reported as a
distribution over the rounds, each against the C loop of the same syscall in the same run:

  fastest  the round with the least beside it: what the loop itself costs
  median   what a user of the machine gets (also the median of the ratios paired by round)
  slowest  how far the machine's other load reached

`pytest benchmarks/test_bench_nullsys.py --benchmark-only` prints the table; every statistic
is in the benchmark's extra_info (--benchmark-json). The pass/fail target on getppid's fastest
round is test_bench_targets.py's; tools/nullsys.py runs the experiments behind the numbers."""

import pytest

from conftest import distribution, environment, interleaved_with_c_loop, load_seen, loop_timed

NULL_SYSCALLS = [("getppid", "getppid"), ("gettid", "gettid"), ("enosys", "enosys"),
                 ("aio_setup_einval", "io_setup")]
N = 1_000_000
ROUNDS = 15


@loop_timed
@pytest.mark.untraced
def test_null_syscalls_against_inline_asm_c_loop(benchmark, c_loop, pinned, capsys):
    runs = interleaved_with_c_loop(benchmark, c_loop, NULL_SYSCALLS, N, ROUNDS)
    stats = {scenario: distribution(*runs[scenario]) for scenario, _ in NULL_SYSCALLS}
    benchmark.extra_info.update(environment(), iterations=N, rounds=ROUNDS, load=load_seen(),
                                distribution=stats)
    lines = [f"null syscalls, {ROUNDS} interleaved rounds of {N:,} calls pinned to CPU {pinned}; "
             f"{load_seen()}",
             f"{'scenario':18} {'ns fastest':>10} {'median':>8} {'slowest':>8}   "
             f"{'x C loop: fastest':>17} {'median':>7} {'slowest':>7}"]
    for scenario, d in stats.items():
        lines.append(f"{scenario:18} {d['fastest_ns']:10.1f} {d['median_ns']:8.1f} "
                     f"{d['slowest_ns']:8.1f}   {d['fastest_ratio']:17.3f} "
                     f"{d['median_ratio']:7.3f} {d['slowest_ratio']:7.3f}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    for scenario, d in stats.items():
        assert len(d["c_ns"]) == len(d["ns"]) == ROUNDS, scenario
