"""The benchmark suite tells the truth: pytest-benchmark's time for a round is the run's own
timed loop, a fixed iteration count gives every run the same work, and the speed targets are
never selected by -k. Runs benchmarks/ in a child pytest with small counts (no timing
assertions: the reported time is compared with the run's own elapsed_ns, not with a speed)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
ITERATIONS = 20_000
# getppid alone: -k getppid would also pick getppid_burst (15,000 calls an iteration)
GETPPID = "getppid and not burst"


def bench(tmp_path, *args, name="out.json"):
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--benchmark-only", f"--benchmark-json={out}", *args],
                          cwd=BENCH, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {b["name"]: b for b in json.loads(out.read_text())["benchmarks"]}


def round_times_match_loops(b, tolerance=0.03):
    """Each round's reported seconds against that round's elapsed_ns."""
    rounds, loops = b["stats"]["data"], [ns / 1e9 for ns in b["extra_info"]["elapsed_ns"]]
    assert len(rounds) == len(loops) == 3
    for r, loop in zip(rounds, loops):
        assert abs(r - loop) <= tolerance * loop, (b["name"], rounds, loops)


def test_round_time_is_the_timed_loop_and_iterations_are_fixed(tmp_path):
    got = bench(tmp_path, "-k", f"({GETPPID}) or readwrite_basic",
                f"--ioworkload-iterations={ITERATIONS}")
    assert set(got) == {"test_scenario_rate[getppid]", "test_scenario_rate[readwrite_basic]"}
    for b in got.values():
        round_times_match_loops(b)
        assert b["extra_info"]["iterations"] == ITERATIONS
        assert b["extra_info"]["iterations_fixed"] is True


def test_the_wall_clock_would_fail_the_check():
    """The check above can fail: wall time around a whole run (thread start, private
    directory, teardown) is far from its loop at this count."""
    import time
    import ioworkload
    t = time.perf_counter()
    res = ioworkload.run("getppid", iterations=1000)
    wall = time.perf_counter() - t
    with pytest.raises(AssertionError):
        round_times_match_loops({"name": "wall", "stats": {"data": [wall] * 3},
                                 "extra_info": {"elapsed_ns": [res.elapsed_ns] * 3}})


def collected(*args):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--collect-only", *args], cwd=BENCH, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [l for l in proc.stdout.splitlines() if "::" in l]


def test_targets_only_with_m_targets():
    by_name = collected("-k", "getppid")
    assert by_name and not any("test_bench_targets" in t for t in by_name), by_name
    targets = collected("-m", "targets")
    assert targets and all("test_bench_targets" in t for t in targets), targets
    assert not any("faster_than_perf" in t for t in targets)  # the retired 5% target


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_compare_shows_the_per_syscall_ratio(tmp_path):
    """stats of an untraced and a strace run of the same work stand in the ratio of their
    ns_per_syscall (what `pytest-benchmark compare` sets side by side)."""
    args = ("-k", GETPPID, "--ioworkload-iterations=2000")
    plain = bench(tmp_path, *args, name="plain.json")["test_scenario_rate[getppid]"]
    traced = bench(tmp_path, *args, "--tracer", "strace",
                   name="strace.json")["test_scenario_rate[getppid]"]
    assert traced["extra_info"]["tracer"] == "strace"
    round_times_match_loops(traced)
    stats_ratio = traced["stats"]["median"] / plain["stats"]["median"]
    info_ratio = traced["extra_info"]["ns_per_syscall"] / plain["extra_info"]["ns_per_syscall"]
    assert stats_ratio > 2  # strace did stop every call
    assert abs(stats_ratio / info_ratio - 1) <= 0.03, (stats_ratio, info_ratio)
