"""The speed targets, as ratios measured in one run (never absolute times):
  * getppid and aio_setup_einval within 3% of the inline-asm C loop,
  * getppid's fastest round within 3% of the inline-asm C loop's fastest (issue 27: the rounds
    with the least beside them, where the loop's own cost shows),
  * getppid never measurably slower than `perf bench syscall basic` (glibc's getppid(): one
    call around the same instruction, so being faster by the CPU's call/ret cost is no target),
  * --threads 2 at least 1.8x the single-thread aggregate rate,
  * peak RSS the same (within 1 MiB) at 1e3 and 1e7 iterations,
  * `python -m ioworkload getppid` start to exit under 150 ms.
Each round alternates the reference and ioworkload, so drift hits both alike; the ratio is the
median of the paired ratios. Everything single-threaded is pinned to one CPU (conftest).

They are a suite of their own, `pytest benchmarks -m targets`: a loaded machine misses them, so
a run asking for rates (`-k NAME`) never selects them, and a miss reports the load it saw."""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import pytest

import ioworkload
from conftest import (bench_cpu, distribution, environment, interleaved_with_c_loop, load_seen,
                      loop_timed, median)

N = 2_000_000
ROUNDS = 15

pytestmark = pytest.mark.targets


def _pin():
    os.sched_setaffinity(0, {bench_cpu()})


@loop_timed
@pytest.mark.parametrize("scenario,c_kind", [("getppid", "getppid"), ("aio_setup_einval", "io_setup")])
def test_within_3_percent_of_inline_asm_c_loop(benchmark, c_loop, pinned, scenario, c_kind):
    c_ns, ours = [], []
    benchmark.pedantic(lambda: ours.append(ioworkload.run(scenario, iterations=N).ns_per_syscall),
                       setup=lambda: c_ns.append(c_loop(c_kind, N)), rounds=ROUNDS, iterations=1)
    ratio = median([o / c for o, c in zip(ours, c_ns)])
    libc = c_loop("libc_" + c_kind, N)
    benchmark.extra_info.update(environment(), scenario=scenario, iterations=N,
                                ns_per_syscall=median(ours), c_inline_asm_ns=median(c_ns),
                                c_libc_syscall_ns=libc, ratio_vs_c=ratio)
    assert ratio <= 1.03, (f"{scenario}: {median(ours):.1f} ns vs C {median(c_ns):.1f} ns "
                           f"(ratio {ratio:.3f}); {load_seen()}")


@loop_timed
def test_getppid_fastest_round_within_3_percent_of_c_loop_fastest(benchmark, c_loop, pinned):
    runs = interleaved_with_c_loop(benchmark, c_loop, [("getppid", "getppid")], N, ROUNDS)
    d = distribution(*runs["getppid"])
    benchmark.extra_info.update(environment(), scenario="getppid", iterations=N, **d)
    assert d["fastest_ratio"] <= 1.03, (
        f"getppid's fastest round {d['fastest_ns']:.1f} ns vs the C loop's {d['c_fastest_ns']:.1f} "
        f"ns (ratio {d['fastest_ratio']:.3f}; medians {d['median_ratio']:.3f}); {load_seen()}")


def _perf_bench_ns(loops: int) -> float:
    out = subprocess.run(["perf", "bench", "syscall", "basic", "--loop", str(loops)],
                         capture_output=True, text=True, check=True, preexec_fn=_pin).stdout
    m = re.search(r"([\d.]+)\s+usecs/op", out)
    return float(m[1]) * 1000


def _lower_quartile(xs):
    return statistics.quantiles(xs, n=4)[0]


@loop_timed
@pytest.mark.skipif(shutil.which("perf") is None, reason="perf is not installed")
def test_getppid_never_measurably_slower_than_perf_bench_syscall_basic(benchmark, c_loop, pinned):
    try:
        _perf_bench_ns(1000)
    except (subprocess.CalledProcessError, TypeError) as e:
        pytest.skip(f"perf bench syscall basic does not run here: {e}")
    perf_ns, c_ns, ours = [], [], []

    def reference():
        perf_ns.append(_perf_bench_ns(N))
        c_ns.append(c_loop("getppid", N))

    benchmark.pedantic(lambda: ours.append(ioworkload.run("getppid", iterations=N).ns_per_syscall),
                       setup=reference, rounds=ROUNDS, iterations=1)
    ratios = [o / p for o, p in zip(ours, perf_ns)]
    ratio = median(ratios)
    c_ratio = median([c / p for c, p in zip(c_ns, perf_ns)])
    benchmark.extra_info.update(environment(), ns_per_syscall=median(ours),
                                perf_bench_ns=median(perf_ns), c_inline_asm_ns=median(c_ns),
                                ratio_vs_perf_bench=ratio, c_ratio_vs_perf_bench=c_ratio,
                                lower_quartile_ratio_vs_perf_bench=_lower_quartile(ratios))
    # Measurably slower: three rounds in four slower than perf bench (drift alone moves the
    # median by a percent or two either way on a shared machine, never the lower quartile).
    assert _lower_quartile(ratios) <= 1.0, (
        f"getppid {median(ours):.1f} ns vs perf bench {median(perf_ns):.1f} ns: slower in more "
        f"than 3 of 4 rounds (median ratio {ratio:.3f}); {load_seen()}")


@loop_timed
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_two_threads_scale(benchmark):
    one, two = [], []
    benchmark.pedantic(
        lambda: two.append(ioworkload.run("getppid", iterations=N, threads=2).syscalls_per_second),
        setup=lambda: one.append(ioworkload.run("getppid", iterations=N).syscalls_per_second),
        rounds=ROUNDS, iterations=1)
    ratio = median([t / o for o, t in zip(one, two)])
    benchmark.extra_info.update(environment(), rate_1_thread=median(one),
                                rate_2_threads=median(two), scaling=ratio)
    assert ratio >= 1.8, f"two threads {ratio:.2f}x one; {load_seen()}"


def _peak_rss_kib(iterations: str) -> int:
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", "getppid", "-n", iterations, "-q"])
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    assert p.returncode == 0
    return usage.ru_maxrss


def test_peak_rss_independent_of_iterations(benchmark):
    small = _peak_rss_kib("1e3")
    big = benchmark.pedantic(lambda: _peak_rss_kib("1e7"), rounds=1, iterations=1)
    benchmark.extra_info.update(rss_kib_1e3=small, rss_kib_1e7=big)
    assert abs(big - small) <= 1024


def test_cli_start_to_exit(benchmark):
    cmd = [sys.executable, "-m", "ioworkload", "getppid"]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the page cache
    times = []

    def once():
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)

    benchmark.pedantic(once, rounds=15, iterations=1)
    benchmark.extra_info.update(median_ms=median(times) * 1000)
    assert median(times) < 0.150, f"{median(times) * 1000:.0f} ms; {load_seen()}"
