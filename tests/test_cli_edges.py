"""What a first user meets at a terminal: output that fits 80 columns (whole lines with --wide
or into a pipe), -V, a stale start file, labels that say per thread or all threads, the paced
report, tracefs mounted for them as root or explained when it cannot be read."""

import os
import pty
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import kernel_can_verify

ROOT = os.geteuid() == 0


def on_a_terminal(*args, columns=80, timeout=120):
    """Run the command with its stdout on a pseudo-terminal `columns` wide; its output lines."""
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS=str(columns))
    env.pop("LINES", None)
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", *map(str, args)], stdout=slave,
                         stderr=subprocess.PIPE, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    p.wait(timeout=timeout)
    assert p.returncode == 0, p.stderr.read()
    return b"".join(chunks).decode().replace("\r\n", "\n").splitlines()


def too_wide(lines, columns=80):
    return [line for line in lines if len(line) > columns]


def test_list_fits_the_terminal_and_is_whole_in_a_pipe(cli):
    lines = on_a_terminal("list")
    assert len(lines) > 200 and not too_wide(lines)
    no_columns = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # a pipe, no width
    piped = subprocess.run([sys.executable, "-m", "ioworkload", "list"], capture_output=True,
                           text=True, env=no_columns, timeout=120).stdout.splitlines()
    assert too_wide(piped), "a summary longer than 80 columns exists, whole in a pipe"
    assert [len(x) for x in cli("list", "--wide").stdout.splitlines()] == [len(x) for x in piped]
    assert not too_wide(on_a_terminal("list", "--family", "aio", columns=60), 60)


def test_describe_wraps_every_scenario_to_80_columns(monkeypatch, capsys):
    from ioworkload.cli import catalog
    from ioworkload.core import registry
    monkeypatch.setenv("COLUMNS", "80")
    wide = []
    for name in registry.all_scenarios():
        catalog.describe_main([name])
        wide += [f"{name}: {line}" for line in too_wide(capsys.readouterr().out.splitlines())]
    assert not wide, wide[:5]
    catalog.describe_main(["aio_submit", "--wide"])  # notes on one line
    assert too_wide(capsys.readouterr().out.splitlines())


@pytest.mark.skipif(kernel_can_verify() is not None, reason=str(kernel_can_verify()))
def test_the_verify_report_fits_80_columns():
    lines = on_a_terminal("getppid", "-n", "1000", "--threads", "12", "--verify")
    assert any(line.startswith("verified      yes") for line in lines)
    assert not too_wide(lines), too_wide(lines)


def test_version(cli):
    from ioworkload import __version__
    for flag in ("-V", "--version"):
        p = cli(flag)
        assert (p.returncode, p.stdout) == (0, f"ioworkload {__version__}\n")


def test_a_stale_start_file_is_refused_or_cleared_on_request(cli, tmp_path):
    start = tmp_path / "go"
    start.write_text("")
    p = cli("getppid", "--start-file", start)
    assert p.returncode == 2 and "already exists" in p.stderr and "--clear-start-file" in p.stderr
    assert len(p.stderr.splitlines()) == 1 and not p.stdout  # refused before the PID line
    q = subprocess.Popen([sys.executable, "-m", "ioworkload", "getppid", "-q", "--start-file",
                          str(start), "--clear-start-file"], stdout=subprocess.PIPE, text=True)
    pid_line = q.stdout.readline()  # printed once the stale file is gone
    assert pid_line.strip().isdigit() and not start.exists()
    start.write_text("")
    assert q.wait(timeout=60) == 0


def test_rates_say_per_thread_or_all_threads(cli):
    one = cli("getppid", "-n", "1000").stdout
    assert "ns/syscall" in one and "per thread" not in one and "together" not in one
    two = cli("getppid", "-n", "1000", "--threads", "2").stdout
    ns = next(line for line in two.splitlines() if line.startswith("ns/syscall"))
    assert "per thread" in ns and "for the 2 together" in ns
    rate = next(line for line in two.splitlines() if line.startswith("syscalls/s"))
    assert "(2 threads together)" in rate


def test_a_paced_run_reports_its_pacing_not_a_time_per_call(cli):
    out = cli("getppid", "-n", "20", "--rate", "1000").stdout
    assert "ns/syscall" not in out
    paced = next(line for line in out.splitlines() if line.startswith("paced"))
    assert "at most 1,000 iterations/s per thread; achieved" in paced


@pytest.mark.skipif(not ROOT or not shutil.which("unshare"), reason="needs root and unshare")
def test_as_root_a_missing_tracefs_is_mounted_and_said():
    script = textwrap.dedent("""\
        umount /sys/kernel/debug/tracing 2>/dev/null; umount /sys/kernel/tracing 2>/dev/null
        # (debugfs mounted: its tracing/ would mount tracefs again on the first look)
        umount -l /sys/kernel/debug 2>/dev/null
        test -d /sys/kernel/tracing/events && { echo STILL-MOUNTED; exit 3; }
        "$PY" -m ioworkload getppid -n 10 --verify -q
        """)
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", script],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PY=sys.executable))
    if "STILL-MOUNTED" in p.stdout:
        pytest.skip("tracefs could not be unmounted in a private namespace here")
    assert p.returncode == 0, p.stderr
    assert "tracefs was not mounted: mounted it at /sys/kernel/tracing" in p.stderr


@pytest.mark.skipif(not ROOT, reason="dropping to nobody needs root")
def test_an_unreadable_tracefs_is_not_called_unmounted():
    code = textwrap.dedent("""\
        import os
        from ioworkload.core import verify
        from ioworkload.core.errors import Unsupported
        from ioworkload.overhead import tracers  # imported while the interpreter is readable
        verify.tracefs_root()  # as root: there
        os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
        try:
            verify.tracefs_root()
        except Unsupported as e:
            print(e)
            print(tracers._missing_tracepoints(["getppid"]))  # the overhead presets' check
        """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    if not p.stdout:
        pytest.skip("tracefs is readable by nobody here")
    for line in p.stdout.splitlines():
        assert "not readable" in line and "uid 65534" in line, p.stdout


# ---- overhead ------------------------------------------------------------------------------

def test_the_overhead_estimate_follows_the_duration_and_counts_grammatically(cli):
    p = cli("overhead", "getppid", "--tracer", "none", "--duration", "0.3", "--repeat", "1")
    assert p.returncode == 0, p.stderr
    estimate = next(line for line in p.stderr.splitlines() if line.startswith("estimate:"))
    assert "(1 round of 1 run)" in estimate, estimate
    seconds = float(estimate.split("about ")[1].split(" s")[0])
    assert seconds < 30, estimate  # a 0.3 s run and its start-up, not iterations' worth


def test_overhead_exits_77_when_no_tracer_asked_for_could_run(cli):
    p = cli("overhead", "getppid", "--tracer", "no-such-tracer-ioworkload {pid}",
            "--duration", "0.2", "--repeat", "1")
    assert p.returncode == 77, p.stderr
    assert "unsupported: no tracer asked for could run here" in p.stderr
    assert "unavailable: no-such-tracer-ioworkload not found" in p.stdout
    q = cli("overhead", "getppid", "--tracer", "none", "--tracer",
            "no-such-tracer-ioworkload {pid}", "--duration", "0.2", "--repeat", "1")
    assert q.returncode == 0, q.stderr  # the untraced run, asked for by name, ran


def test_overhead_table_fits_80_columns_and_leaves_bpf_stats_alone(cli):
    import json
    from ioworkload.overhead import bpf_stats
    before = bpf_stats.read_sysctl()
    tracers = ["--tracer", "none", "--tracer", "strace", "--tracer", "perf-stat"]
    if shutil.which("bpftrace") and ROOT:
        tracers += ["--tracer", "bpftrace-count"]
    p = cli("overhead", "getppid", *tracers, "-n", "3000", "--repeat", "1", timeout=300)
    assert p.returncode in (0, 1), p.stderr
    assert not too_wide(p.stdout.splitlines()), too_wide(p.stdout.splitlines())
    assert "kernel.bpf_stats_enabled is on" not in p.stderr
    assert bpf_stats.read_sysctl() == before
    if "bpftrace-count" in tracers:
        assert "their own cost not measured (--bpf-cost" in " ".join(p.stdout.split())
    wide = cli("overhead", "getppid", *tracers, "-n", "3000", "--repeat", "1", "--wide",
               timeout=300)
    assert too_wide(wide.stdout.splitlines())  # the whole table and the legend on their lines
    t = cli("overhead", "--scenarios", "getppid,gettid", *tracers, "-n", "3000",
            "--repeat", "1", timeout=300)
    assert not too_wide(t.stdout.splitlines()), too_wide(t.stdout.splitlines())
    j = cli("overhead", "getppid", "--tracer", "none", "-n", "1000", "--repeat", "1", "--json")
    assert json.loads(j.stdout)["bpf_cost"] is False


def test_a_run_expected_to_take_over_a_minute_is_announced(cli):
    p = cli("aio_submit", "-n", "1e5", "--start-delay", "30", "--start-timeout", "0.1")
    # refused at once (a start timeout needs a start file): the warning came before any run
    assert p.returncode == 2
    line = p.stderr.splitlines()[0]
    assert line.startswith("ioworkload: aio_submit: 100,000 iterations take about ") and \
        "Ctrl-C stops it cleanly" in line, p.stderr
    quick = cli("aio_submit", "-n", "2", "-q")
    assert quick.returncode == 0 and quick.stderr == "", quick.stderr
