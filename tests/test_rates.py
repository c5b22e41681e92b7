"""Rates a tracer author can trust (issue 13): the per-syscall overhead table, per-tracer
iteration scaling, the eBPF programs' own cost, paced runs (--rate) and the lossless rate.

Real tracers against real workloads, small counts; no timing assertions (a paced run's
lower bound on its length is the pacing itself, not a speed)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ioworkload.overhead import bpf_stats, sweep as overhead_sweep

ROOT = os.geteuid() == 0


def ioworkload(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "ioworkload", *args], capture_output=True,
                          text=True, timeout=timeout)


def one_line_error(p):
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    return p.stderr.strip()


def row_of(rep, name):
    return next(t for t in rep["tracers"] if t["name"] == name)


# ---- paced runs ----------------------------------------------------------------------------

def test_paced_run_keeps_the_declared_stream_and_its_pace():
    """200 iterations at 2,000 a second take at least 199 periods (99.5 ms), and the kernel's
    own counters see exactly the declared calls: the pacing issues no syscall."""
    if not ROOT:
        pytest.skip("--verify needs root")
    p = ioworkload("getppid", "-n", "200", "--rate", "2000", "--verify", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["verified"] is True and r["rate"] == 2000.0
    assert r["calls"]["getppid"]["count"] == 200
    assert r["elapsed_ns"] >= 199 * 500_000


def test_paced_run_with_a_duration_and_threads():
    p = ioworkload("getppid", "-d", "0.2", "--rate", "500", "--threads", "2", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    # at most one iteration per 2 ms per thread in 0.2 s (plus the one at t0)
    assert all(1 <= n <= 101 for n in r["iterations_done"]), r["iterations_done"]


def test_paced_report_line():
    p = ioworkload("gettid", "-n", "3", "--rate", "1e4")
    assert p.returncode == 0, p.stderr
    assert "paced         at most 10,000 iterations/s per thread" in p.stdout


@pytest.mark.parametrize("rate, message", [
    ("0", "positive"), ("-5", "positive"), ("abc", "iterations per second"),
    ("1e10", "at most 1e+09"), ("inf", "iterations per second"), ("nan", "iterations per second"),
])
def test_bad_rate_is_one_line(rate, message):
    assert message in one_line_error(ioworkload("getppid", "--rate", rate))


def test_run_api_takes_a_rate():
    import ioworkload as iow
    r = iow.run("getppid", iterations=20, rate=1000)
    assert r.rate == 1000.0 and r.calls["getppid"]["count"] == 20
    assert r.elapsed_ns >= 19 * 1_000_000


# ---- the per-syscall table -----------------------------------------------------------------

@pytest.fixture(scope="module")
def baseline_table():
    if not ROOT:
        pytest.skip("perf tracepoints need root")
    p = ioworkload("overhead", "--family", "baseline", "-n", "2e4", "--repeat", "2",
                   "--tracer", "perf-stat", "--tracer", "strace", "--traced-seconds", "0.2",
                   "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_table_has_a_row_per_scenario_with_added_ns_and_slowdown(baseline_table):
    rep = baseline_table
    assert rep["schema"] == "ioworkload-overhead-table/1"
    assert rep["tracers"] == ["perf-stat", "strace"]
    by = {r["scenario"]: r for r in rep["rows"]}
    assert set(by) == {"getppid", "gettid", "enosys"}
    assert by["getppid"]["syscalls"] == ["getppid"] and by["gettid"]["syscalls"] == ["gettid"]
    for name in ("getppid", "gettid"):
        for tracer in ("perf-stat", "strace"):
            cell = by[name]["tracers"][tracer]
            assert cell["status"] == "ok", cell
            assert cell["added_ns"] is not None and cell["slowdown"] > 0
        assert by[name]["tracers"]["perf-stat"]["accuracy"] == 1.0
        assert by[name]["untraced_ns"] > 0
    assert len(rep["studies"]) == 3


def test_slow_tracer_runs_fewer_iterations_and_still_pairs(baseline_table):
    """strace (~40 us a call by its rough cost) is scaled to ~0.2 s a run; perf-stat is not;
    the scaled runs still give per-syscall ratios and full accuracy."""
    study = next(s for s in baseline_table["studies"] if s["scenario"] == "getppid")
    strace, perf = row_of(study, "strace"), row_of(study, "perf-stat")
    assert perf["scaled"] is False and perf["iterations"] == 20_000
    assert strace["scaled"] is True and 1000 <= strace["iterations"] < 20_000
    # (a run that still lasted too long makes the next ones shorter: counts may differ)
    assert all(1000 <= r["expected_events"] == r["iterations_done"] < 20_000
               for r in strace["runs"])
    assert strace["accuracy"] == 1.0 and strace["slowdown"]["median"] > 1


def test_scaling_is_shown_in_the_text_report():
    if not ROOT:
        pytest.skip("strace attach needs root here")
    p = ioworkload("overhead", "getppid", "-n", "2e4", "--repeat", "1", "--tracer", "strace",
                   "--traced-seconds", "0.1")
    assert p.returncode == 0, p.stderr
    text = " ".join(p.stdout.split())  # the notes are wrapped to 80 columns
    assert "scaled: strace " in text and "instead of 20,000" in text


def test_table_text_markdown_and_chart(tmp_path):
    if not ROOT:
        pytest.skip("perf tracepoints need root")
    pytest.importorskip("matplotlib")
    png = tmp_path / "table.png"
    p = ioworkload("overhead", "--scenarios", "getppid,gettid", "-n", "1e4", "--repeat", "1",
                   "--tracer", "perf-stat", "--markdown", "--plot", str(png))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "| syscalls | scenario | untraced ns | perf-stat |"
    assert lines[1] == "|---|---|---:|---:|"
    assert lines[2].startswith("| `getppid` | `getppid` |") and "x)" in lines[2]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    p = ioworkload("overhead", "--scenarios", "gettid", "-n", "1e4", "--repeat", "1",
                   "--tracer", "perf-stat")
    assert p.returncode == 0, p.stderr  # one scenario by --scenarios: the table
    lines = p.stdout.splitlines()
    assert lines[0].startswith("ioworkload overhead, per syscall: 1 scenario, ")
    head = next(i for i, ln in enumerate(lines) if ln.startswith("syscalls "))
    assert lines[head].split() == ["syscalls", "scenario", "untraced", "ns", "perf-stat"]
    assert lines[head + 1].split()[:2] == ["gettid", "gettid"]
    assert lines[head + 1].endswith("x)")


@pytest.mark.parametrize("args, message", [
    (["--family", "nosuch"], "unknown family 'nosuch'"),
    (["getppid", "--all"], "not both"),
    (["--scenarios", ","], "comma list"),
    (["--scenarios", "getppid,nosuch"], "nosuch"),
    ([], "give a scenario"),
    (["getppid", "--sweep-rate", "-n", "10"], "not --iterations"),
    (["--family", "baseline", "--sweep-rate"], "one scenario"),
    (["getppid", "--traced-seconds", "-1"], "traced-seconds"),
])
def test_selection_errors_are_one_line(args, message):
    assert message in one_line_error(ioworkload("overhead", *args))


# ---- eBPF program cost ---------------------------------------------------------------------

def _needs_bpf():
    if not ROOT:
        pytest.skip("bpftrace and kernel.bpf_stats_enabled need root")
    why = bpf_stats.unavailable()
    if why:
        pytest.skip(why)


def test_bpftrace_program_statistics_are_read_and_the_sysctl_restored():
    _needs_bpf()
    old = bpf_stats.read_sysctl()
    p = ioworkload("overhead", "getppid", "-n", "2e4", "--repeat", "1",
                   "--tracer", "bpftrace-count", "--tracer", "bpftrace-hist",
                   "--tracer", "bpftrace-printf", "--tracer", "perf-stat", "--json", "--bpf-cost")
    assert p.returncode == 0, p.stderr
    assert bpf_stats.read_sysctl() == old
    rep = json.loads(p.stdout)
    # hist: an enter and an exit program, each run once a call
    for name, programs in (("bpftrace-count", 1), ("bpftrace-hist", 2), ("bpftrace-printf", 1)):
        bpf = row_of(rep, name)["bpf"]
        assert bpf, row_of(rep, name)
        on_syscalls = [p for p in bpf["programs"] if p["type"] == "tracepoint"]
        assert len(on_syscalls) == programs, bpf  # (a BEGIN program may be held too)
        assert all(p["run_cnt"] >= 20_000 and p["run_time_ns"] > 0 for p in on_syscalls), bpf
        assert bpf["ns_per_run"] > 0 and bpf["ns_per_call"] > 0
    assert row_of(rep, "perf-stat")["bpf"] is None  # not an eBPF tracer: no extra run
    text = ioworkload("overhead", "getppid", "-n", "2e4", "--repeat", "1",
                      "--tracer", "bpftrace-count", "--bpf-cost")
    assert text.returncode == 0, text.stderr
    assert "eBPF programs: bpftrace-count: 1 program, " in text.stdout
    assert bpf_stats.read_sysctl() == old


def test_sysctl_restored_after_sigint_during_the_statistics_run():
    _needs_bpf()
    old = bpf_stats.read_sysctl()
    if old == "1":
        pytest.skip("kernel.bpf_stats_enabled is already on: nothing to see restored")
    proc = subprocess.Popen([sys.executable, "-m", "ioworkload", "overhead", "getppid", "-d", "2",
                             "--repeat", "1", "--tracer", "bpftrace-count", "--json",
                             "--bpf-cost"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while bpf_stats.read_sysctl() != "1":
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the statistics were never turned on"
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert bpf_stats.read_sysctl() == old
    assert json.loads(out)["interrupted"] == signal.SIGINT


def test_enabled_restores_on_an_exception():
    _needs_bpf()
    old = bpf_stats.read_sysctl()
    with pytest.raises(RuntimeError):
        with bpf_stats.enabled():
            assert bpf_stats.read_sysctl() == "1"
            raise RuntimeError
    assert bpf_stats.read_sysctl() == old


# ---- the lossless rate ---------------------------------------------------------------------

def test_ladder():
    assert overhead_sweep.ladder(40_000) == [1000, 3000, 10_000, 30_000]
    assert overhead_sweep.ladder(500) == []


@pytest.fixture(scope="module")
def sweep():
    if not ROOT:
        pytest.skip("perf tracepoints need root")
    p = ioworkload("overhead", "getppid", "--sweep-rate", "-d", "0.5", "--tracer", "perf-trace",
                   "--tracer", "perf-stat", "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_perf_stat_never_loses(sweep):
    t = row_of(sweep, "perf-stat")
    assert t["status"] == "ok", t
    assert t["never_lost"] is True and t["lossless_rate"] is None  # JSON for infinity
    assert t["steps"][-1]["rate"] is None  # the unpaced step was run
    assert all(s["accuracy"] == 1.0 for s in t["steps"])


def test_perf_trace_has_a_finite_lossless_rate(sweep):
    t = row_of(sweep, "perf-trace")
    assert t["status"] == "ok", t
    assert [s["rate"] for s in t["steps"]][:2] == [1000, 3000]
    lossy = [s for s in t["steps"] if s["accuracy"] < 1.0]
    if not lossy:
        # In a VM where each traced call raises irq-work IPIs, perf trace slows the loop to a
        # rate its reader keeps up with: then there is no finite rate to find (seen on the
        # 2-vCPU KVM guest of this project). The sweep must then say so consistently.
        assert t["never_lost"] is True and t["steps"][-1]["rate"] is None
        pytest.skip("perf trace lost no event at any rate here (the loop reached "
                    f"{t['steps'][-1]['achieved_rate']:,.0f}/s under it, unpaced)")
    assert t["never_lost"] is False
    first = t["steps"].index(lossy[0])
    before = [overhead_sweep.delivered(s) for s in t["steps"][:first]]
    assert t["lossless_rate"] == (max(before) if before else 0.0)
    assert t["lossless_rate"] <= t["steps"][max(0, first - 1)]["rate"]


def _steps(*pairs):
    return [{"rate": r, "accuracy": a, "error": None, "achieved_rate": r or 5e5} for r, a in pairs]


@pytest.mark.parametrize("steps, rate, never", [
    (_steps((1000, 1.0), (3000, 1.0), (10_000, 0.99), (30_000, 0.9)), 3000, False),
    (_steps((1000, 0.5), (3000, 0.4)), 0.0, False),
    (_steps((1000, 1.0), (3000, 1.0), (None, 1.0)), float("inf"), True),
    (_steps((1000, 1.0), (3000, 1.0), (None, 0.999)), 3000, False),
    (_steps((1000, 1.0), (3000, 1.0)), 3000, False),   # cut short before the unpaced step
    # the loop reached only 2,500/s at an offered 10,000: that is the rate it was lossless at
    ([{"rate": 1000, "accuracy": 1.0, "error": None, "achieved_rate": 1000},
      {"rate": 10_000, "accuracy": 1.0, "error": None, "achieved_rate": 2500},
      {"rate": 30_000, "accuracy": 0.9, "error": None, "achieved_rate": 2600}], 2500, False),
])
def test_lossless_rate_from_the_steps(steps, rate, never):
    row = {"steps": steps, "lossless_rate": None, "never_lost": False}
    overhead_sweep._lossless(row)
    assert row["lossless_rate"] == rate and row["never_lost"] is never


def test_sweep_text_and_chart(tmp_path):
    if not ROOT:
        pytest.skip("perf tracepoints need root")
    pytest.importorskip("matplotlib")
    svg = tmp_path / "sweep.svg"
    p = ioworkload("overhead", "gettid", "--sweep-rate", "-d", "0.2", "--tracer", "perf-stat",
                   "--tracer", "perf-record", "--plot", str(svg))
    assert p.returncode == 0, p.stderr
    assert "perf-stat" in p.stdout and "inf (never lost)" in p.stdout
    assert "perf-record  no count" in p.stdout.replace("perf-record ", "perf-record  ", 1) or \
        "no count" in p.stdout
    assert svg.read_text().lstrip().startswith("<?xml")


def test_a_tracer_slower_than_its_rough_cost_is_rescaled_after_a_run():
    """perf trace's rough cost (5 us a call) is far from a VM's (~50 us): a run that lasted 4 s
    against --traced-seconds 1 gives its next runs a quarter of the iterations."""
    from ioworkload.overhead import study as overhead, tracers
    opts = overhead.Options(scenario=None, iterations=100_000, duration=None, repeat=3,
                            tracee_cpu=0, tracer_cpus=None, traced_seconds=1.0)
    row = overhead.Row(tracers.PerfTrace())
    overhead.rescale(row, opts, {"elapsed_ns": 4_000_000_000, "iterations_done": 100_000})
    assert row.iterations == 25_000
    calm = overhead.Row(tracers.PerfTrace())
    overhead.rescale(calm, opts, {"elapsed_ns": 1_200_000_000, "iterations_done": 100_000})
    assert calm.iterations is None
    off = overhead.Row(tracers.PerfTrace())
    overhead.rescale(off, overhead.Options(None, 100_000, None, 3, 0, None, traced_seconds=0),
                     {"elapsed_ns": 9_000_000_000, "iterations_done": 100_000})
    assert off.iterations is None


def test_a_custom_ebpf_template_gets_its_program_cost_and_a_plain_one_no_extra_run(tmp_path):
    _needs_bpf()
    import shutil
    if not shutil.which("bpftrace"):
        pytest.skip("bpftrace not found")
    from ioworkload.overhead import study as overhead
    from ioworkload.cli import overhead as overhead_cli
    program = ("BEGIN { printf(\"go\\n\"); } tracepoint:syscalls:sys_enter_getppid "
               "/pid == {pid}/ { @n = count(); }")
    plain = f"sh -c 'echo go; exec sleep 300' sh {{pid}}"
    opts, tlist, _ = overhead_cli.parse(["getppid", "-n", "5000", "-r", "1", "--bpf-cost",
                                         "--tracer", f"bt=bpftrace -e '{program}'",
                                         "--ready-regex", "^go$",
                                         "--tracer", f"plain={plain}", "--ready-regex", "^go$"])
    rep = overhead.study(opts, tlist)
    bt, sh = row_of(rep, "bt"), row_of(rep, "plain")
    assert bt["status"] == "ok", bt["reason"]
    assert bt["bpf"] and bt["bpf"]["run_cnt"] >= 5000 and bt["bpf_run"]["error"] is None
    assert sh["status"] == "ok" and sh["bpf"] is None and sh["bpf_run"] is None


@pytest.mark.parametrize("args", [
    ["getppid", "--sweep-rate", "-d", "1", "--tracer", "strace"],
    ["--scenarios", "getppid,gettid", "-d", "1", "--tracer", "strace"],
], ids=["sweep", "table"])
def test_sigint_mid_sweep_or_table_reports_so_far_and_leaves_nothing(args, tmp_path):
    if not ROOT:
        pytest.skip("strace attach needs root here")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "ioworkload", "overhead", *args, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not any(n.startswith("ioworkload-overhead-") for n in os.listdir(tmp_path)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(4)  # into the traced runs
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    rep = json.loads(out)
    assert rep["interrupted"] == signal.SIGINT
    assert os.listdir(tmp_path) == []  # the study's directory (and the workloads') removed
    if rep["schema"] == overhead_sweep.SCHEMA:
        runs = [step for t in rep["tracers"] for step in t["steps"]]
    else:
        runs = [r for s in rep["studies"] for t in s["tracers"] for r in t["runs"]]
    pids = [r[k] for r in runs for k in ("tracer_pid", "workload_pid") if r.get(k)]
    assert pids
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                assert f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"), pid
        except FileNotFoundError:
            pass


def test_table_exit_1_when_a_tracer_failed_with_the_failure_named():
    p = ioworkload("overhead", "--scenarios", "getppid,gettid", "-n", "1000", "--repeat", "1",
                   "--tracer", "broken=sh -c 'echo cannot attach >&2; exit 3' sh {pid}",
                   "--wide")  # each note on one line
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    failed = [ln for ln in p.stdout.splitlines() if ln.startswith("failed: ")]
    assert len(failed) == 2 and all("under broken" in ln and "cannot attach" in ln
                                    for ln in failed), p.stdout
    assert "table: about" not in p.stderr  # two scenarios: no estimate worth giving
