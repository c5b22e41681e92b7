"""`ioworkload overhead`: real tracers (strace, perf, bpftrace) against real workloads.

Small iteration counts and 1-3 rounds keep this file to about a minute. As root on a host
with tracefs, strace, perf-stat, perf-record and bpftrace-count must run (never skip)."""

import json
import os
import shutil
import struct
import sys
import time

import pytest

from conftest import FULL

from ioworkload.overhead import study as overhead, tracers
from ioworkload.cli import overhead as overhead_cli

MUST_RUN_AS_ROOT = ("strace", "perf-stat", "perf-record", "bpftrace-count")
EXACT = ("perf-stat", "strace", "strace-seccomp", "bpftrace-count", "bpftrace-hist", "syscount")
# may drop events under load: that is the finding
STREAMED = ("perf-trace", "bpftrace-printf", "auditd", "auditd-rules")


def one_line_error(proc):
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert len(err.splitlines()) == 1, proc.stderr
    return err


def gone(pid: int) -> bool:
    """Process `pid` is not running: not our unreaped child, and either vanished or a zombie
    that its new parent (init, for orphaned grandchildren) has yet to collect."""
    try:
        os.waitpid(pid, os.WNOHANG)
        return False  # still our unreaped child
    except ChildProcessError:
        pass
    deadline = time.monotonic() + 2.0
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def run_pids(report) -> list[int]:
    return [r[k] for t in report["tracers"] for r in t["runs"] + ([report["warmup"]] if
            report["warmup"] else []) for k in ("tracer_pid", "workload_pid") if r.get(k)]


def row(report, name):
    return next(t for t in report["tracers"] if t["name"] == name)


def skip_unless_runs(t):
    """A row this host cannot produce skips with its reason, except what root must run."""
    if t["status"] == "unavailable":
        if os.geteuid() == 0 and t["name"] in MUST_RUN_AS_ROOT:
            pytest.fail(f"{t['name']} must run as root here: {t['reason']}")
        pytest.skip(f"{t['name']}: {t['reason']}")


@pytest.fixture(scope="module")
def getppid_study():
    """getppid against none, perf-stat and strace (the issue's test), one JSON report."""
    import subprocess
    p = subprocess.run([sys.executable, "-m", "ioworkload", "overhead", "getppid", "-n", "3e4",
                        "--repeat", "3", "--tracer", "perf-stat", "--tracer", "strace", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_strace_and_perf_stat_slowdown_and_accuracy(getppid_study):
    rep = getppid_study
    assert [t["name"] for t in rep["tracers"]] == ["none", "perf-stat", "strace"]
    none = row(rep, "none")
    assert none["status"] == "ok" and len(none["runs"]) == 3
    strace, perf = row(rep, "strace"), row(rep, "perf-stat")
    skip_unless_runs(strace)
    skip_unless_runs(perf)
    assert strace["status"] == "ok", strace["reason"]
    assert perf["status"] == "ok", perf["reason"]
    assert strace["slowdown"]["median"] > 5
    assert 1 < perf["slowdown"]["median"] < 10
    assert perf["accuracy"] == 1.0
    assert all(r["reported_events"] == r["expected_events"] == 30_000 for r in perf["runs"])
    assert strace["accuracy"] == 1.0
    for t in (strace, perf):
        assert t["added_ns_per_syscall"] > 0


def test_no_process_left(getppid_study):
    pids = run_pids(getppid_study)
    assert len(pids) >= 3 + 2 * 3  # workloads of every run, tracers of the traced ones
    assert all(gone(p) for p in pids)


def test_json_schema(getppid_study):
    rep = getppid_study
    assert rep["schema"] == "ioworkload-overhead/1"
    assert rep["scenario"] == "getppid" and rep["syscalls"] == ["getppid"]
    assert rep["iterations"] == 30_000 and rep["duration"] is None and rep["repeat"] == 3
    assert rep["interrupted"] is None
    env = rep["environment"]
    for key in ("kernel", "cpu_model", "virtualization", "mitigations", "tracee_cpu", "tracer_cpu",
                "tools", "date"):
        assert key in env, key
    assert env["tracee_cpu"] == str(max(os.sched_getaffinity(0)))
    assert isinstance(env["mitigations"]["vulnerabilities"], dict)
    assert isinstance(rep["machine"], str) and env["kernel"] in rep["machine"]
    for t in rep["tracers"]:
        assert set(t) >= {"name", "kind", "summary", "command", "status", "reason", "ns_per_syscall",
                          "slowdown", "added_ns_per_syscall", "accuracy", "accuracy_range",
                          "interrupts_per_1k_syscalls", "runs"}
        assert t["status"] in ("ok", "unavailable", "failed")
        if t["status"] != "ok":
            continue
        assert set(t["ns_per_syscall"]) == {"min", "median", "max"}
        assert t["ns_per_syscall"]["min"] <= t["ns_per_syscall"]["median"] <= t["ns_per_syscall"]["max"]
        assert t["slowdown"]["min"] <= t["slowdown"]["median"] <= t["slowdown"]["max"]
        for r in t["runs"]:
            assert r["error"] is None
            assert r["round"] in (1, 2, 3)
            # 30,000, or fewer where a slow tracer's runs were scaled (scaled: true); a run that
            # lasted too long scales the row's later runs, so each run says its own count
            assert r["ns_per_syscall"] > 0 and r["syscalls"] == r["expected_events"] == \
                r["iterations_done"]
            assert r["iterations_done"] == 30_000 or t["scaled"] and r["iterations_done"] < 30_000
            assert t["iterations"] == 30_000 or t["scaled"] and t["iterations"] < 30_000
            assert set(r["interrupts"]) <= set(overhead.IRQ_ROWS)
            assert all(len(v) == os.cpu_count() for v in r["interrupts"].values())
            assert isinstance(r["tracer_cpus"], list)
            assert r["slowdown"] > 0
    assert row(rep, "none")["accuracy"] is None
    assert row(rep, "none")["slowdown"]["median"] == 1.0


@pytest.fixture(scope="module")
def every_preset():
    """Every preset once, in-process (so reaping can be checked on our own children)."""
    opts, tlist, _ = overhead_cli.parse(["getppid", "-n", "5000", "--repeat", "1"])
    return overhead.study(opts, tlist)


@pytest.mark.parametrize("name", [n for n in tracers.PRESETS if n != "none"])
def test_preset(every_preset, name):
    t = row(every_preset, name)
    skip_unless_runs(t)
    assert t["status"] == "ok", t["reason"]
    assert t["slowdown"]["median"] > 0
    if name in EXACT:
        assert t["accuracy"] == 1.0, t["runs"]
    elif name in STREAMED:
        assert 0 < t["accuracy"] <= 1.0, t["runs"]
    else:
        assert t["accuracy"] is None
    for r in t["runs"]:
        assert gone(r["tracer_pid"]) and gone(r["workload_pid"])


def test_presets_reaped_in_process(every_preset):
    assert all(gone(p) for p in run_pids(every_preset))


def test_custom_template_substitutes_and_is_stopped(tmp_path):
    seen = tmp_path / "seen"
    template = (f"sh -c 'echo \"$1 $2 $3 $4\" > {seen}; echo attached-now; exec sleep 300' "
                "sh {pid} {tid} {syscalls} {comm}")
    opts, tlist, _ = overhead_cli.parse(["aio_setup_einval", "-n", "2000", "-r", "2", "--tracer",
                                     template, "--ready-regex", "^attached-now$"])
    rep = overhead.study(opts, tlist)
    t = row(rep, template)
    assert t["kind"] == "custom" and t["status"] == "ok", t["reason"]
    last = t["runs"][-1]
    pid, tids = last["workload_pid"], last["tids"]
    assert seen.read_text().split() == [str(pid), ",".join(map(str, tids)), "io_setup", "ioworkload"]
    assert last["tracer_stopped_by"] == "SIGINT"
    assert t["accuracy"] is None  # a custom command reports no counts
    assert all(gone(p) for p in run_pids(rep))


def test_custom_strace_template_slows_the_loop():
    if not shutil.which("strace"):
        pytest.skip("strace not found")
    opts, tlist, _ = overhead_cli.parse(["getppid", "-n", "5000", "-r", "2", "--tracer",
                                     "strace -o /dev/null -p {tid}", "--ready-regex",
                                     r"Process \d+ attached"])
    rep = overhead.study(opts, tlist)
    t = rep["tracers"][1]
    assert t["status"] == "ok", t["reason"]
    assert t["slowdown"]["median"] > 5
    assert all(gone(p) for p in run_pids(rep))


def test_missing_exiting_and_never_ready_tracers(tmp_path, capsys):
    pids_file = tmp_path / "pids"
    missing = "no-such-tracer-ioworkload -p {pid}"
    exits = "sh -c 'echo cannot attach >&2; exit 3' sh {pid}"
    never = f"sh -c 'echo $$ > {pids_file}; sleep 300 & echo $! >> {pids_file}; wait' sh {{pid}}"
    code = overhead_cli.main(["getppid", "-n", "2000", "-r", "2", "--json", "--tracer", missing,
                          "--tracer", exits, "--tracer", never, "--ready-regex", "NEVER-PRINTED",
                          "--ready-timeout", "1.5"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 1  # a tracer failed
    assert row(rep, "none")["status"] == "ok" and len(row(rep, "none")["runs"]) == 2
    m = row(rep, missing)
    assert (m["status"], m["reason"]) == ("unavailable", "no-such-tracer-ioworkload not found")
    assert m["runs"] == []
    e = row(rep, exits)
    assert e["status"] == "failed"
    assert e["reason"] == "tracer exit status 3 before it was ready: cannot attach"
    assert len(e["runs"]) == 1  # a failed tracer is not tried again
    n = row(rep, never)
    assert n["status"] == "failed" and n["reason"].startswith("not ready after 1.5 s")
    assert "NEVER-PRINTED" in n["reason"]
    # the shell, its background sleep, every workload: all gone (and reaped)
    sh_pids = [int(x) for x in pids_file.read_text().split()]
    assert len(sh_pids) == 2
    assert all(gone(p) for p in sh_pids + run_pids(rep))


def test_table_output(cli):
    p = cli("overhead", "aio_setup_einval", "-n", "2000", "-r", "1", "--tracer", "none",
            "--tracer", "no-such-tracer-ioworkload {pid}", "--wide")  # the table in one piece
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "ioworkload overhead: aio_setup_einval (io_setup)" in out
    assert "machine: Linux" in out and "tracee on CPU" in out
    assert "unavailable: no-such-tracer-ioworkload not found" in out
    lines = [ln for ln in out.splitlines() if ln.startswith("none ")]
    assert len(lines) == 1 and "1.00x" in lines[0]


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_plot_png(cli, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "overhead.png"
    p = cli("overhead", "getppid", "-n", "3000", "-r", "2", "--tracer", "perf-stat",
            "--tracer", "no-such-tracer-ioworkload {pid}", "--plot", out)
    assert p.returncode == 0, p.stderr
    assert f"chart written to {out}" in p.stdout
    w, h = _png_size(out)
    assert 600 <= w <= 2000 and 200 <= h <= 2000
    import matplotlib.image
    assert matplotlib.image.imread(str(out)).shape[:2] == (h, w)


def test_plot_svg(cli, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "overhead.svg"
    p = cli("overhead", "getppid", "-n", "2000", "-r", "1", "--tracer", "none", "--plot", out)
    assert p.returncode == 0, p.stderr
    assert out.read_text().lstrip().startswith("<?xml") and "<svg" in out.read_text()


def test_plot_without_matplotlib_says_how_to_install(cli, tmp_path):
    # a matplotlib that cannot be imported, first on the path
    fake = tmp_path / "nomatplotlib" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('hidden for this test')\n")
    out = tmp_path / "x.png"
    p = cli("overhead", "getppid", "-n", "100", "-r", "1", "--plot", out,
            env={"PYTHONPATH": str(fake.parent)})
    err = one_line_error(p)
    assert "pip install 'ioworkload[plot]'" in err
    assert not out.exists()


@pytest.mark.parametrize("args,message", [
    (["nosuch_scenario"], "unknown scenario"),
    (["getppid", "--tracer", "strce"], "did you mean strace"),
    (["getppid", "--tracer", "strace -p"], "no {pid} or {tid}"),
    (["getppid", "--repeat", "0"], "repeat must be at least 1"),
    (["getppid", "--iterations", "1.5"], "whole number"),
    (["getppid", "--cpu", "9999"], "--cpu 9999"),
    (["getppid", "--cpu", "0-1"], "one CPU"),
    (["getppid", "--plot", "chart.txt"], ".png or .svg"),
    (["getppid", "--plot", "/nonexistent-dir/c.png"], "not writable"),
    (["getppid", "--tracer", "x {pid}", "--ready-regex", "("], "--ready-regex"),
    (["getppid", "--timeout", "-1"], "positive number"),
    (["getppid", "--bogus"], "unrecognized arguments"),
])
def test_bad_input_is_one_line_exit_2(cli, args, message):
    err = one_line_error(cli("overhead", *args))
    assert message in err, err



def descendants(pid: int) -> dict[int, str]:
    """{pid: comm} of every live descendant of `pid` (tracers run in their own sessions, but
    are still its children)."""
    parent, comm = {}, {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    head, tail = f.read().rsplit(")", 1)
            except OSError:
                continue
            parent[int(d)] = int(tail.split()[1])
            comm[int(d)] = head.split("(", 1)[1]
    found, todo = {}, [pid]
    while todo:
        p = todo.pop()
        for child, ppid in parent.items():
            if ppid == p and child not in found:
                found[child] = comm[child]
                todo.append(child)
    return found


def start_study(tmpdir, *args):
    """`ioworkload overhead ARGS --json` in its own session, TMPDIR private to the test."""
    import subprocess
    return subprocess.Popen([sys.executable, "-m", "ioworkload", "overhead", *args, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=dict(os.environ, TMPDIR=str(tmpdir)))


# one path for the three signals: each by name with IOWORKLOAD_FULL=1, one by default
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"] if FULL else ["SIGTERM"])
def test_stop_signal_mid_study_reports_and_reaps_everything(sig, tmp_path):
    """Ctrl-C, SIGTERM or a hang-up while a tracer is attached: exit 128+signal with the
    partial report; neither the tracer nor the workload outlives the study, and the workload's
    private directory is gone too."""
    import signal
    signum = getattr(signal, sig)
    p = start_study(tmp_path, "open_basic", "-d", "2", "--repeat", "3", "--tracer", "strace")
    try:
        deadline = time.monotonic() + 60
        kids: dict[int, str] = {}
        while "strace" not in kids.values() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            kids = descendants(p.pid)
        assert "strace" in kids.values(), kids
        time.sleep(0.3)
        kids.update(descendants(p.pid))
        p.send_signal(signum)
        out, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 128 + signum, err
    assert "Traceback" not in err
    rep = json.loads(out)
    assert rep["interrupted"] == signum
    assert rep["tracers"][1]["runs"][-1]["error"] == "interrupted", (kids, rep["tracers"][1], rep["warmup"])
    assert all(gone(pid) for pid in kids), kids
    assert os.listdir(tmp_path) == []


def test_workload_cut_short_tears_down(tmp_path):
    """A Ctrl-C while the untraced workload runs: it gets SIGINT (teardown, private directory
    removed), not a bare SIGKILL."""
    import signal
    p = start_study(tmp_path, "open_basic", "-n", "1e9", "--repeat", "1", "--tracer", "none")
    try:
        deadline = time.monotonic() + 30
        while not any(n.startswith("ioworkload-open-basic-") for _, dirs, _ in os.walk(tmp_path)
                      for n in dirs):
            assert time.monotonic() < deadline and p.poll() is None
            time.sleep(0.05)
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 130, err
    warmup = json.loads(out)["warmup"]
    assert warmup is None or warmup.get("error")
    assert os.listdir(tmp_path) == []


def test_signal_while_a_tracer_starts_leaves_no_stray(monkeypatch):
    """A SIGTERM in the instant between a tracer's fork and the study taking hold of it: the
    study still stops and reaps it (bpftrace, unlike strace, would otherwise run forever)."""
    import signal
    import subprocess
    if shutil.which("bpftrace") is None or os.geteuid() != 0:
        pytest.skip("needs root and bpftrace")
    real = subprocess.Popen
    started = []

    def popen(argv, *a, **kw):
        p = real(argv, *a, **kw)
        if isinstance(argv, list) and os.path.basename(str(argv[0])) == "bpftrace" \
                and "--version" not in argv:  # the tracer itself, not the version probe
            started.append(p.pid)
            os.kill(os.getpid(), signal.SIGTERM)  # held back until Popen is done, then raised
        return p

    monkeypatch.setattr(subprocess, "Popen", popen)
    opts, tracer_list, _ = overhead_cli.parse(["getppid", "-n", "1e4", "--repeat", "1",
                                           "--tracer", "bpftrace-count"])
    rep = overhead.study(opts, tracer_list)
    monkeypatch.undo()
    assert rep["interrupted"] == signal.SIGTERM
    assert started and all(gone(pid) for pid in started)


def test_second_signal_during_cleanup_does_not_cut_it_short(monkeypatch, tmp_path):
    """Ctrl-C, then a SIGTERM while a stray child is being stopped: the study still restores
    its handlers, reaps the child and removes its work directory."""
    import signal
    import tempfile
    import threading
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    opts, tracer_list, _ = overhead_cli.parse(["getppid", "-n", "1000", "-r", "1", "--tracer", "strace"])
    before = signal.getsignal(signal.SIGTERM)

    def run_then_interrupted(self):
        # a child listed, then the signal held back during its start is raised (as in Child)
        overhead.Child(["sh", "-c", "trap '' INT; exec sleep 30"],
                       os.path.join(self.opts.workdir, "o"), os.path.join(self.opts.workdir, "e"),
                       self.opts.workdir)
        time.sleep(0.3)  # the shell has set its trap: stopping it takes the SIGTERM grace
        timer.start()
        raise KeyboardInterrupt

    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))  # mid-cleanup
    monkeypatch.setattr(overhead.Study, "run", run_then_interrupted)
    try:
        rep = overhead.study(opts, tracer_list)
    finally:
        timer.cancel()
        timer.join()
    assert rep["interrupted"] == signal.SIGINT
    assert signal.getsignal(signal.SIGTERM) is before
    assert os.listdir(tmp_path) == [] and not overhead._LIVE_CHILDREN


def test_the_first_of_several_stop_signals_names_the_exit(monkeypatch, tmp_path):
    """Ctrl-C, then a SIGTERM held back by a cleanup step and raised when it ends (replacing
    the KeyboardInterrupt on its way up): the study is still reported as stopped by SIGINT."""
    import signal
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    opts, tracer_list, _ = overhead_cli.parse(["getppid", "-n", "1000", "-r", "1"])

    def run_then_two_signals(self):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises here
        finally:
            with overhead._signals_deferred():
                os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(overhead.Study, "run", run_then_two_signals)
    rep = overhead.study(opts, tracer_list)
    assert rep["interrupted"] == signal.SIGINT


def test_overhead_modules_do_not_import_the_cli():
    """The study and its presentation share argument parsing through args.py, not cli.py
    (the cycle cli -> overhead -> cli is gone)."""
    import subprocess
    code = ("import sys, ioworkload.cli.overhead, ioworkload.overhead.report, "
            "ioworkload.overhead.chart; assert 'ioworkload.cli.main' not in sys.modules, 'cli imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_named_custom_tracers_with_their_own_ready_and_count_patterns(capsys):
    """NAME=TEMPLATE names a custom tracer; --ready-regex/--count-regex after a --tracer are
    its own; a count pattern gives it an accuracy (here a fake tracer that says 7 events)."""
    says7 = "says7=sh -c 'echo go-seven; echo \"events: 7\"; exec sleep 300' sh {pid}"
    other = "other=sh -c 'echo go-other; exec sleep 300' sh {pid}"
    code = overhead_cli.main(["getppid", "-n", "1000", "-r", "1", "--json",
                              "--tracer", says7, "--ready-regex", "^go-seven$",
                              "--count-regex", r"events: (\d+)",
                              "--tracer", other, "--ready-regex", "^go-other$"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0
    s7, o = row(rep, "says7"), row(rep, "other")
    assert s7["status"] == o["status"] == "ok"
    assert s7["command"].startswith("sh -c")
    assert s7["runs"][0]["reported_events"] == 7
    assert s7["accuracy"] == 7 / s7["runs"][0]["expected_events"]
    assert o["accuracy"] is None  # no count pattern: no accuracy


@pytest.mark.parametrize("args,message", [
    (["--tracer", "strace", "--settle", "1"], "a preset knows when it is ready"),
    (["--tracer", "perf-stat", "--count-regex", "x"], "counts by itself"),
    (["--tracer", "x=sh {pid}", "--tracer", "x=true {pid}"], "two different tracers are named 'x'"),
    (["--tracer", "strace=sh {pid}"], "is a preset's"),
    (["--tracer", "x=sh {pid}", "--count-regex", "("], "--count-regex '('"),
    (["--tracer", "x=sh {pid}", "--ready-regex", "a", "--ready-regex", "b"], "given twice"),
])
def test_tracer_option_errors(cli, args, message):
    err = one_line_error(cli("overhead", "getppid", *args))
    assert message in err, err


def test_failed_tracer_exit_1_with_its_command_and_stderr_in_the_text(cli):
    bad = "bad=sh -c 'echo first-line >&2; echo cannot attach >&2; exit 3' sh {pid}"
    p = cli("overhead", "getppid", "-n", "1000", "-r", "1", "--tracer", bad)
    assert p.returncode == 1, p.stderr
    assert "failed: bad: tracer exit status 3" in p.stdout
    assert "  command: sh -c 'echo first-line >&2; echo cannot attach >&2; exit 3' sh " in p.stdout
    assert "    first-line\n    cannot attach\n" in p.stdout


def test_estimate_before_the_rounds_names_runs_over_the_timeout(cli):
    """strace at 1e5 calls (~40 us each) cannot finish within a 1 s timeout: said up front
    (its iterations unscaled, --traced-seconds 0, so the run is the one asked for)."""
    p = cli("overhead", "getppid", "-n", "1e5", "-r", "1", "--tracer", "strace",
            "--timeout", "1", "--traced-seconds", "0", "--json")
    rep = json.loads(p.stdout)
    est = rep["estimate"]
    assert est["over_timeout"] == ["strace"]
    assert est["seconds"] > 4
    assert est["text"] in p.stderr and "likely to pass the --timeout of 1 s: strace" in p.stderr
    assert p.returncode == 1 and row(rep, "strace")["status"] == "failed"


def test_syscount_counts_a_number_its_table_cannot_name():
    """syscount prints an unassigned number as `[unknown: 1023]`: enosys's calls are counted
    (read as names only, the row was 'saw none'), and pread64 is its older name pread."""
    out = ("Tracing syscalls, printing top 1000... Ctrl+C to quit.\n[10:52:01]\n"
           "SYSCALL                   COUNT\n[unknown: 1023]         3000000\nfutex    2\n"
           "pread    7\n")
    counted = tracers.Syscount().counted
    assert counted(type("T", (), {"syscalls": ["syscall_1023"]})(), out, "").reported == 3000000
    assert counted(type("T", (), {"syscalls": ["pread64"]})(), out, "").reported == 7
