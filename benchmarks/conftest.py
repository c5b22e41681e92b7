"""Shared pieces of the benchmark suite: the C reference loop (built here with the system cc,
so it is measured in the same run, on the same CPU, as ioworkload) and pinning."""

import os
import platform
import shutil
import statistics
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def bench_cpu() -> int:
    """Benchmarks pin to the last allowed CPU (the tracee CPU of `ioworkload overhead`)."""
    return max(os.sched_getaffinity(0))


def environment() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return {"kernel": platform.release(), "machine": platform.machine(), "cpu_model": model,
            "cpus": os.cpu_count(), "pinned_cpu": bench_cpu()}


@pytest.fixture(scope="session")
def c_loop(tmp_path_factory):
    """c_loop(kind, n) -> ns per call of the C reference loop, pinned to bench_cpu()."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler for the reference loop")
    exe = tmp_path_factory.mktemp("ref") / "ref_loop"
    subprocess.run([cc, "-O2", "-o", str(exe), os.path.join(HERE, "ref_loop.c")], check=True)

    def run(kind: str, n: int) -> float:
        out = subprocess.run([str(exe), kind, str(n)], check=True, capture_output=True, text=True,
                             preexec_fn=lambda: os.sched_setaffinity(0, {bench_cpu()}))
        return float(out.stdout)

    return run


@pytest.fixture
def pinned():
    """Pin this process (and the worker threads it starts) to bench_cpu() for the test."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {bench_cpu()})
    yield bench_cpu()
    os.sched_setaffinity(0, old)


def median(xs):
    return statistics.median(xs)


def interleaved_with_c_loop(benchmark, c_loop, pairs, n: int, rounds: int) -> dict:
    """`rounds` rounds, each running, for every (scenario, C loop kind) of `pairs`, the C loop
    and then ioworkload.run(scenario), n calls each, pinned: {scenario: (C ns, ioworkload ns)},
    one entry a round. Only ioworkload's loops advance the loop clock."""
    import ioworkload
    c_ns = {scenario: [] for scenario, _ in pairs}
    ours = {scenario: [] for scenario, _ in pairs}

    def one_round():
        for scenario, kind in pairs:
            c_ns[scenario].append(c_loop(kind, n))
            res = ioworkload.run(scenario, iterations=n)
            assert res.ok and res.iterations_done == [n], f"{scenario}: {res.mismatches}"
            ours[scenario].append(res.ns_per_syscall)

    benchmark.pedantic(one_round, rounds=rounds, iterations=1)
    return {scenario: (c_ns[scenario], ours[scenario]) for scenario, _ in pairs}


def distribution(c_ns: list, ns: list) -> dict:
    """Fastest, median and slowest of paired rounds, each against the C loop's same statistic;
    the median ratio is also given as the median of the ratios paired by round."""
    return {"ns": ns, "c_ns": c_ns,
            "fastest_ns": min(ns), "median_ns": median(ns), "slowest_ns": max(ns),
            "c_fastest_ns": min(c_ns), "c_median_ns": median(c_ns), "c_slowest_ns": max(c_ns),
            "fastest_ratio": min(ns) / min(c_ns), "median_ratio": median(ns) / median(c_ns),
            "slowest_ratio": max(ns) / max(c_ns),
            "paired_median_ratio": median([o / c for o, c in zip(ns, c_ns)])}


# ---- the loop clock: a benchmark's time is the timed loop ---------------------------------------
#
# pytest-benchmark times a round with its timer. Wall time around ioworkload.run() would add the
# thread start, the private directory, teardown and result building (milliseconds against a
# loop of microseconds), so `stats` and `compare` would not show the loop's rate. The loop clock
# advances only by each run's own elapsed_ns (first loop start to last loop end), so a round of
# the benchmarks that use it measures exactly the loops it ran; a tracer's attaching and
# stopping fall outside it too.

_loop_ns = [0]


def loop_clock() -> float:
    """Seconds of timed loop run so far by ioworkload.run in this session."""
    return _loop_ns[0] / 1e9


loop_timed = pytest.mark.benchmark(timer=loop_clock)


def _clocked(run):
    def clocked_run(*args, **kwargs):
        res = run(*args, **kwargs)
        _loop_ns[0] += res.elapsed_ns
        return res
    return clocked_run


# ---- --tracer: the same suite with a tracer attached -------------------------------------------
#
# `pytest benchmarks --tracer strace` (any `ioworkload overhead` preset, or a command template
# with {pid}/{tid}/{syscalls}/{comm}) attaches that tracer to the worker threads of every
# ioworkload.run() a benchmark makes, through the runner's attach hook, once the threads exist
# and before their loop starts: outside the loop clock, so `pytest-benchmark compare` sets
# traced loops against untraced ones of the same suite. Every benchmark's extra_info records
# the tracer ("none" without --tracer), its command and the environment of `ioworkload overhead`.

import tempfile

_session: dict = {}        # tracer, cpus, environment, iterations


def pytest_addoption(parser):
    g = parser.getgroup("ioworkload", "ioworkload benchmarks")
    g.addoption("--ioworkload-iterations", metavar="N", default=None,
                help="run every scenario rate for exactly N iterations (default: calibrated to "
                     "about 0.2 s each), so two runs set side by side did the same work")
    g.addoption("--tracer", metavar="T", default=None,
                help="attach this tracer to the measured worker threads: a preset of "
                     "`ioworkload overhead` (perf-stat, strace, bpftrace-count...) or a command "
                     "with {pid}, {tid}, {syscalls}, {comm}")
    g.addoption("--tracer-ready-regex", metavar="RE", default=None,
                help="custom --tracer: attached once a line of its output matches")
    g.addoption("--tracer-settle", metavar="SECONDS", default=None,
                help="custom --tracer: wait this long after start (or after the regex)")
    g.addoption("--tracer-cpu", metavar="LIST", default=None,
                help="pin the tracer to these CPUs (default: every CPU this session may use)")


def fixed_iterations() -> int | None:
    """--ioworkload-iterations, or None (calibrate)."""
    return _session.get("iterations")


def pytest_configure(config):
    config.addinivalue_line("markers", "untraced: compares untraced loops; skipped under --tracer")
    config.addinivalue_line("markers", "targets: the pass/fail speed targets; run only with "
                                       "`-m targets`, never selected by -k alone")
    _session["cpus"] = os.sched_getaffinity(0)   # before any benchmark pins itself
    from ioworkload.core.errors import UsageError
    from ioworkload.core.args import parse_count
    n = config.getoption("--ioworkload-iterations")
    try:
        _session["iterations"] = None if n is None else parse_count(n, "--ioworkload-iterations")
    except UsageError as e:
        raise pytest.UsageError(str(e)) from None
    spec = config.getoption("--tracer")
    _session["tracer"] = None
    if not spec:
        return
    from ioworkload.overhead import tracers
    from ioworkload.core.args import parse_cpus, parse_seconds
    try:
        settle = config.getoption("--tracer-settle")
        settle = None if settle is None else parse_seconds(settle, "--tracer-settle")
        tracer = tracers.resolve(spec, config.getoption("--tracer-ready-regex"), settle)
        if config.getoption("--tracer-cpu"):
            _session["cpus"] = parse_cpus(config.getoption("--tracer-cpu"))
    except UsageError as e:
        raise pytest.UsageError(f"--tracer: {e}") from None
    if tracer.starts_workload:
        raise pytest.UsageError(f"--tracer {spec}: it runs the workload itself, so it cannot "
                                "attach to this process (use it with `ioworkload overhead`)")
    if tracer.kind != "none" and tracer.program and not (shutil.which(tracer.program)
                                                        or os.access(tracer.program, os.X_OK)):
        raise pytest.UsageError(f"--tracer {spec}: unavailable: {tracer.program} not found")
    _session["tracer"] = tracer


def pytest_collection_modifyitems(config, items):
    # The targets fail on a loaded machine: a user asking for rates (-k NAME) must not get them.
    if "targets" not in (config.getoption("markexpr") or ""):
        kept = [i for i in items if not i.get_closest_marker("targets")]
        if len(kept) != len(items):
            config.hook.pytest_deselected(items=[i for i in items if i not in kept])
            items[:] = kept
    if _session.get("tracer") is None:
        return
    skip = pytest.mark.skip(reason="a speed target of untraced loops; not run under --tracer")
    for item in items:
        if item.get_closest_marker("targets") or item.get_closest_marker("untraced"):
            item.add_marker(skip)


def load_seen() -> str:
    """The load averages, for the message of a missed target (a loaded machine misses them)."""
    one, five, fifteen = os.getloadavg()
    return (f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
            f"{' (busy: the ratio may be noise)' if one >= 0.5 else ''}")


def _environment() -> dict:
    if "environment" not in _session:
        from ioworkload.overhead import study as overhead
        tracer = _session.get("tracer")
        tools = [tv for tv in overhead.TOOL_VERSIONS if tracer and tv[0] == tracer.program]
        _session["environment"] = overhead.environment({bench_cpu()}, _session["cpus"], tools)
    return _session["environment"]


def untraced_run(*args, **kwargs):
    """ioworkload.run without the --tracer: for calibration probes, so a traced suite runs the
    same iteration counts as an untraced one and `pytest-benchmark compare` pairs like with like."""
    from ioworkload.core.runner import run
    return run(*args, **kwargs)


def _traced_run(tracer, runs: list):
    """ioworkload.run with `tracer` attached to the worker threads of each run."""
    from ioworkload.overhead import study as overhead
    from ioworkload.core import registry, runner
    from ioworkload.overhead.tracers import Target

    def run(name, iterations=1, threads=1, duration=None, verify=False):
        sc = registry.get(name)
        reason = tracer.unavailable(sc)
        if reason:
            pytest.skip(f"--tracer {tracer.name}: unavailable: {reason}")
        held: dict = {}

        def attach(stopped, tids, expected):
            held["dir"] = tempfile.mkdtemp(prefix="ioworkload-bench-tracer-")
            target = Target(os.getpid(), list(tids), sc.syscalls, sc.helper_threads, held["dir"])
            held["att"] = overhead.Attached(tracer, target, _session["cpus"])
            held["att"].wait_ready(overhead.READY_TIMEOUT, alive=lambda: not stopped())

        problem = counted = None
        try:
            res = runner.execute(sc, iterations, threads, duration, verify,
                                 hooks=runner.Hooks(attach))
        except overhead.TracerError as e:
            problem = str(e)
            res = None
        finally:
            att = held.get("att")
            if att is not None:
                if problem is None:
                    att.drain()
                    problem = att.stop()
                att.close()
                counted = att.counted()
            if "dir" in held:
                shutil.rmtree(held["dir"], ignore_errors=True)
        if problem:
            pytest.fail(f"--tracer {tracer.name}: {problem}", pytrace=False)
        expected = sum(c["count"] for c in res.calls.values())
        runs.append({"scenario": sc, "ns_per_syscall": res.ns_per_syscall,
                     "expected_events": expected,
                     "reported_events": counted.reported if counted else None,
                     "tracer_cpus": sorted(att.cpus_seen) if att else []})
        if res.interrupted == 2:
            raise KeyboardInterrupt
        return res

    return run


@pytest.fixture(autouse=True)
def _tracer(request, monkeypatch):
    """Advance the loop clock by every ioworkload.run of the test, attaching --tracer to each;
    record the tracer in extra_info."""
    import ioworkload
    tracer = _session.get("tracer")
    runs: list = []
    monkeypatch.setattr(ioworkload, "run",
                        _clocked(_traced_run(tracer, runs) if tracer else ioworkload.run))
    # taken now: it is torn down after this fixture, so its extra_info is still there below
    bench = request.getfixturevalue("benchmark") if "benchmark" in request.fixturenames else None
    yield
    if bench is None:
        return
    info = {"tracer": tracer.name if tracer else "none",
            "tracer_kind": tracer.kind if tracer else "none",
            "tracer_environment": _environment()}
    if tracer is not None:
        if runs:
            info["tracer_command"] = tracer.display(runs[-1]["scenario"])
        reported = [r["reported_events"] for r in runs]
        if runs and None not in reported:
            info["tracer_accuracy"] = sum(reported) / max(1, sum(r["expected_events"] for r in runs))
        info["tracer_runs"] = len(runs)
        info["tracer_cpus"] = sorted({c for r in runs for c in r["tracer_cpus"]})
    bench.extra_info.update(info)
