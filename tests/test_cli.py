"""The command line: output, exit codes, bad input, the attach protocol, signals."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import kernel_can_verify

JSON_FIELDS = {"scenario", "iterations", "threads", "elapsed_ns", "syscalls", "ns_per_syscall",
               "syscalls_per_second", "calls", "pid", "verified"}


def one_line_error(proc):
    """Bad input: non-zero exit, exactly one line on stderr, no traceback."""
    err = proc.stderr.strip()
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert len(err.splitlines()) == 1, proc.stderr
    return err


def test_main_job_prints_counts_and_rate(cli):
    p = cli("aio_setup_einval", "--iterations", "1e4")
    assert p.returncode == 0, p.stderr
    assert "io_setup" in p.stdout and "EINVAL 10,000" in p.stdout
    assert "syscalls/s" in p.stdout and "ns/syscall" in p.stdout


def test_json_schema(cli):
    p = cli("aio_setup_einval", "--iterations", "1_000", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert JSON_FIELDS <= set(d)
    assert d["scenario"] == "aio_setup_einval" and d["iterations"] == 1000 and d["threads"] == 1
    assert d["calls"] == {"io_setup": {"count": 1000, "ok": 0, "errors": {"EINVAL": 1000}}}
    assert d["syscalls"] == 1000 and d["verified"] is None
    assert isinstance(d["elapsed_ns"], int) and d["ns_per_syscall"] > 0
    assert d["syscalls_per_second"] > 0 and d["pid"] > 0


@pytest.mark.skipif(kernel_can_verify() is not None, reason=str(kernel_can_verify()))
def test_json_verified_true(cli):
    p = cli("getppid", "-n", "500", "--threads", "2", "--verify", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["verified"] is True and d["threads"] == 2
    assert d["calls"]["getppid"]["count"] == 1000
    assert all(r["ok"] for r in d["verification"])


def test_hyphenated_names_work(cli):
    p = cli("aio-setup-einval", "-n", "3", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["scenario"] == "aio_setup_einval"


def test_quiet(cli):
    p = cli("getppid", "-n", "10", "--quiet")
    assert p.returncode == 0 and p.stdout == "" and p.stderr == ""


@pytest.mark.parametrize("value,expected", [("1000000", 10**6), ("1_000_000", 10**6), ("1e6", 10**6),
                                            ("1E3", 1000), ("18446744073709551615", 2**64 - 1)])
def test_iteration_counts_accepted(value, expected):
    from ioworkload.core.runner import parse_count
    assert parse_count(value) == expected


@pytest.mark.parametrize("value", ["1.5", "-1", "0", "1e20", "18446744073709551616", "abc", "nan",
                                   "inf", "", "1e-3", "0x10", "1__0", "_1", "1_", "\u0661\u0662",
                                   "1e999999999999", "-1e999999999"])
def test_bad_iteration_counts_rejected(cli, value):
    p = cli("getppid", "--iterations", value, timeout=10)  # 1e999999999999: at once, not expanded
    err = one_line_error(p)
    assert p.returncode == 2
    assert "iterations" in err


@pytest.mark.parametrize("args,needle", [
    (["aio_setp"], "aio_setup"),                       # unknown: names the closest matches
    (["no_such_thing_at_all"], "unknown scenario"),
    (["getppid", "--bogus"], "unrecognized arguments"),
    (["getppid", "--threads", "0"], "threads"),
    (["getppid", "--threads", "two"], "threads"),
    (["getppid", "--threads", "100000"], "threads"),
    (["getppid", "--threads", "1e99999999"], "threads must be at most 1024"),
    (["getppid", "--duration", "-1"], "duration"),
    (["getppid", "--duration", "abc"], "duration"),
    (["getppid", "--iterations", "5", "--duration", "1"], "not allowed with"),
    (["getppid", "--start-file", "/nonexistent-dir/start"], "does not exist"),
    (["getppid", "--start-delay", "soon"], "start delay"),
    (["getppid", "--cpu", "99"], "CPUs available"),
    (["getppid", "--cpu", "0-999999999"], "CPUs available"),  # refused before it is built
    (["getppid", "--cpu", "\u0660"], "CPU list"),
    (["getppid", "--start-file", ""], "needs a path"),
    (["getppid", "--hold-file", ""], "needs a path"),
    (["getppid", "--tid-file", ""], "needs a path"),
    (["getppid", "--tid-file", "/tmp"], "is a directory"),
    (["getppid", "--start-file", "/tmp/" + "a" * 300], "too long"),
    (["getppid", "--start-file", "/tmp/s", "--start-delay", "1"], "not allowed with"),
    (["getppid", "--start-file", "/tmp/s", "--start-timeout", "0"], "start timeout"),
    (["getppid", "--start-timeout", "5"], "needs a start file"),
    (["list", "--family", ""], "unknown family"),
    (["list", "--family", "nope"], "unknown family"),
    (["describe", "nope"], "unknown scenario"),
    ([], "no scenario"),
    (["--scenario="], "usage"),
])
def test_bad_input_one_line_exit_2(cli, args, needle):
    p = cli(*args, timeout=10)
    err = one_line_error(p)
    assert p.returncode == 2, (p.returncode, err)
    assert needle in err


def test_unwritable_start_file_dir(cli, tmp_path):
    if os.geteuid() == 0:
        # root writes anywhere; a regular file as the "directory" is unusable for everyone
        parent = tmp_path / "plainfile"
        parent.write_text("x")
    else:
        parent = tmp_path / "unsearchable"  # a start file needs a searchable directory only
        parent.mkdir(mode=0o600)
    p = cli("getppid", "--start-file", parent / "start")
    one_line_error(p)
    assert p.returncode == 2


def test_list_and_describe(cli):
    p = cli("list")
    assert p.returncode == 0 and "aio_setup_einval" in p.stdout and "getppid" in p.stdout
    p = cli("list", "--family", "aio", "--json")
    names = {s["name"] for s in json.loads(p.stdout)}
    assert names == {"aio_setup", "aio_setup_einval", "aio_submit", "aio_getevents", "aio_cancel",
                     "aio_pgetevents_timeout"}
    p = cli("describe", "aio-setup-einval")
    assert p.returncode == 0 and "io_setup(0, &ctx) -> -EINVAL" in p.stdout
    d = json.loads(cli("describe", "aio_submit", "--json").stdout)
    assert d["setup"][0].startswith("fd = openat(") and d["teardown"] == ["close(fd) -> 0"]
    ev = [e for e in d["events"] if e["syscall"] == "openat"][0]  # the expect file's form
    assert ev["args"]["filename"] == "<dir>/aio-target" and ev["args"]["dfd"] == -100
    assert d["iteration"][1].startswith("io_submit(") and d["iteration"][1].endswith("-> 1")
    assert d["counts_per_thread"]["openat"] == {"setup": 1, "each_iteration": 0, "teardown": 0}
    assert d["counts_per_thread"]["io_submit"] == {"setup": 0, "each_iteration": 1, "teardown": 0}
    p = cli("describe", "aio_submit")
    assert ("calls per thread, N iterations: openat 1, io_setup N, io_submit N, io_destroy N, "
            "close 1") in " ".join(p.stdout.split())  # wrapped to 80 columns


def test_count_formula():
    from ioworkload.cli.catalog import count_formula as _count_formula
    assert [_count_formula(*c) for c in ((0, 1, 0), (1, 2, 1), (1, 0, 0), (0, 3, 0))] == [
        "N", "2N + 2", "1", "3N"]


def _start(args, env=None):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "ioworkload", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)


def _comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def _scenario_pid(p, line: str) -> int:
    """The PID line names the scenario process: a child of the command we started."""
    pid = int(line.strip())
    with open(f"/proc/{pid}/status") as f:
        ppid = next(int(x.split()[1]) for x in f if x.startswith("PPid:"))
    assert ppid == p.pid
    return pid


def test_start_file_protocol(tmp_path):
    start = tmp_path / "go"
    tidf = tmp_path / "tids"
    p = _start(["getppid", "-n", "1000", "--json", "--start-file", start, "--tid-file", tidf])
    try:
        first = p.stdout.readline()
        pid = _scenario_pid(p, first)              # PID alone on the first line
        assert _comm(pid) == "ioworkload"          # renamed before announcing
        tids = [int(t) for t in tidf.read_text().split()]
        assert len(tids) == 1 and _comm(tids[0]) == "ioworkload"
        time.sleep(0.3)
        assert p.poll() is None                    # still waiting for the start file
        start.touch()
        out, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 0, err
    d = json.loads(out)
    assert d["pid"] == pid == tids[0] and d["tids"] == tids
    assert d["calls"]["getppid"]["count"] == 1000


def test_hold_file_protocol(tmp_path):
    hold = tmp_path / "hold"
    p = _start(["getppid", "-n", "10", "--hold-file", hold, "--json"])
    try:
        _scenario_pid(p, p.stdout.readline())
        result = json.loads(p.stdout.readline())   # the result comes before the hold
        assert result["syscalls"] == 10
        time.sleep(0.3)
        assert p.poll() is None                    # held
        hold.touch()
        p.wait(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 0


def test_ior_protocol_env_vars(tmp_path):
    start, hold = tmp_path / "start", tmp_path / "hold"
    env = {"IOR_WORKLOAD_STARTUP_FILE": str(start), "IOR_WORKLOAD_HOLD_FILE": str(hold)}
    p = _start(["--scenario=aio-setup-einval"], env=env)
    try:
        _scenario_pid(p, p.stdout.readline())
        time.sleep(0.2)
        assert p.poll() is None
        start.touch()
        time.sleep(0.3)
        assert p.poll() is None                    # ran, now held
        hold.touch()
        out, err = p.communicate(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert out == ""                               # like ior's workload: only the PID line


def test_ior_protocol_startup_delay(cli):
    t = time.monotonic()
    p = cli("-scenario=getppid", env={"IOR_WORKLOAD_STARTUP_DELAY_MS": "300"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(int(p.stdout.strip()))
    assert time.monotonic() - t >= 0.3


def test_ior_protocol_repeats_like_ior(tmp_path):
    """ior's aio-setup-einval issues io_setup(0) five times; so does --scenario= mode."""
    p = _start(["--scenario=aio-setup-einval", "--json"], env={"IOR_WORKLOAD_STARTUP_DELAY_MS": "0"})
    out, err = p.communicate(timeout=30)
    lines = out.splitlines()
    assert lines[0].isdigit() and int(lines[0]) != p.pid  # the scenario process, not the command
    assert json.loads(lines[1])["calls"]["io_setup"]["errors"] == {"EINVAL": 5}


def test_start_file_timeout_is_clear(cli, tmp_path, monkeypatch):
    from ioworkload.cli import main as cli_mod
    monkeypatch.setattr(cli_mod, "START_TIMEOUT", 0.2)
    rc = cli_mod.main(["getppid", "--start-file", str(tmp_path / "never")])
    assert rc == 1


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_stops_huge_run_with_partial_result(tmp_path, sig, code):
    p = _start(["aio_submit", "--iterations", "1e12", "--json", "--start-delay", "0"])
    try:
        _scenario_pid(p, p.stdout.readline())
        time.sleep(0.5)
        p.send_signal(sig)
        out, err = p.communicate(timeout=60)  # the stop flag is checked every iteration
    finally:
        p.kill()
    assert p.returncode == code, err
    assert "Traceback" not in err
    d = json.loads(out)
    assert d["interrupted"] == sig
    done = d["iterations_done"][0]
    assert 0 < done < 10**12
    # teardown ran: the file opened in setup was closed, and the counts still add up
    assert d["calls"]["close"] == {"count": 1, "ok": 1, "errors": {}}
    assert d["calls"]["io_submit"]["count"] == done


def test_sigint_stops_the_loop_in_process():
    """The stop flag is read before every iteration: a SIGINT mid-loop ends a 10**12-iteration
    run, whole and exact as far as it went."""
    import threading
    from ioworkload.core import registry
    from ioworkload.core.runner import Hooks, execute

    def interrupt_soon(stopped, tids, doc):  # sent once the run owns the signal
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()

    res = execute(registry.get("getppid"), iterations=10**12,
                  hooks=Hooks(before_start=interrupt_soon))
    assert res.interrupted == signal.SIGINT
    assert res.ok and 0 < res.iterations_done[0] < 10**12


def test_unsupported_exits_77(cli, monkeypatch):
    # a scenario whose requirement fails must say why and exit 77
    code = (
        "import sys; from ioworkload.core import registry; from ioworkload.cli import main as cli;"
        "sc = registry.get('getppid');"
        "object.__setattr__(sc, 'requires', (lambda: 'needs a unicorn',));"
        "sys.exit(cli.main(['getppid']))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 77
    assert p.stderr.strip() == "unsupported: needs a unicorn"


def test_verify_without_tracefs_is_unsupported(monkeypatch):
    from ioworkload.core import registry, verify
    from ioworkload.core.errors import Unsupported
    from ioworkload.core.runner import execute
    monkeypatch.setattr(verify.os.path, "isdir", lambda p: False)
    with pytest.raises(Unsupported, match="tracefs"):
        execute(registry.get("getppid"), iterations=1, verify=True)


def test_console_script_installed():
    import shutil
    exe = shutil.which("ioworkload") or os.path.join(os.path.dirname(sys.executable), "ioworkload")
    if not os.path.exists(exe):
        pytest.skip("console script not on PATH (editable/dev install)")
    p = subprocess.run([exe, "getppid", "-n", "5", "--json"], capture_output=True, text=True)
    assert p.returncode == 0 and json.loads(p.stdout)["syscalls"] == 5


def test_help_is_not_an_error(cli):
    p = cli("--help")
    assert p.returncode == 0 and "--iterations" in p.stdout


# ---- awkward surroundings: closed or vanished stdout, special files, the environment --------

def test_closed_std_fds_are_no_traceback():
    """`ioworkload ... >&-`: output goes nowhere, the exit code still tells."""
    for args in (["getppid", "-q"], ["getppid", "--json"], ["open_basic", "--start-delay", "0"],
                 ["list"]):
        p = subprocess.run([sys.executable, "-m", "ioworkload", *args], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, pass_fds=(),
                           preexec_fn=lambda: os.close(1))
        assert p.returncode == 0, (args, p.stderr)
        assert p.stderr == ""
    p = subprocess.run([sys.executable, "-m", "ioworkload", "nope"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1))
    assert p.returncode == 2 and p.stderr.startswith("ioworkload: error: unknown scenario")


def test_reader_gone_keeps_the_exit_code(tmp_path):
    """stdout's reader left (`| head -c1`): a SIGTERM still exits 143, not 0."""
    tids = tmp_path / "tids"
    r, w = os.pipe()
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", "getppid", "-n", "1e12",
                          "--start-delay", "0", "--tid-file", tids], stdout=w,
                         stderr=subprocess.PIPE, text=True)
    os.close(w)
    assert os.read(r, 1)   # the first byte of the PID line, then the reader goes away
    os.close(r)
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=10)
    assert p.returncode == 143, err
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", ["fifo", "symlink", "device"])
def test_tid_file_special_paths_written_not_replaced(tmp_path, kind):
    import stat
    path = tmp_path / "tids"
    if kind == "fifo":
        os.mkfifo(path)
        reader = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE, text=True)
    elif kind == "symlink":
        (tmp_path / "target").write_text("1111111\n2222222\n3333333\n4444444\n")  # longer
        path.symlink_to(tmp_path / "target")
    else:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null of our own
    p = subprocess.run([sys.executable, "-m", "ioworkload", "getppid", "-t", "2", "-q",
                        "--tid-file", path], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    mode = os.lstat(path).st_mode
    assert {"fifo": stat.S_ISFIFO, "symlink": stat.S_ISLNK, "device": stat.S_ISCHR}[kind](mode)
    if kind == "fifo":
        assert len(reader.communicate(timeout=10)[0].split()) == 2
    if kind == "symlink":
        assert len((tmp_path / "target").read_text().split()) == 2
    assert sorted(os.listdir(tmp_path)) == sorted(["tids"] + (["target"] if kind == "symlink" else []))


def test_explicit_start_delay_beats_ior_start_file(cli, tmp_path):
    p = cli("getppid", "--start-delay", "0", "--json",
            env={"IOR_WORKLOAD_STARTUP_FILE": str(tmp_path / "never")}, timeout=10)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == str(json.loads(p.stdout.splitlines()[1])["pid"])


def test_any_ior_variable_means_pid_line(cli):
    p = cli("getppid", "--json", env={"IOR_WORKLOAD_STARTUP_DELAY_MS": "0"})
    lines = p.stdout.splitlines()
    assert p.returncode == 0 and lines[0].isdigit() and json.loads(lines[1])["pid"] == int(lines[0])


def test_start_timeout_option(cli, tmp_path):
    t0 = time.monotonic()
    p = cli("getppid", "--start-file", tmp_path / "never", "--start-timeout", "0.3")
    assert p.returncode == 1 and "timed out after 0.3 s" in p.stderr
    assert time.monotonic() - t0 < 10


def test_too_long_tmpdir_is_one_line(cli, tmp_path):
    deep = tmp_path
    while len(str(deep)) < 460:
        deep = deep / ("d" * 50)
    deep.mkdir(parents=True)
    p = cli("open_basic", env={"TMPDIR": str(deep)})
    err = one_line_error(p)
    assert p.returncode == 2 and "TMPDIR" in err
    assert list(deep.iterdir()) == []


def test_verify_unsupported_before_the_pid_line(tmp_path):
    """Without the privilege --verify needs, say so before announcing a PID a harness would
    attach to (capability-less root: setpriv drops the bounding set)."""
    import shutil
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to drop capabilities")
    if open("/proc/sys/kernel/perf_event_paranoid").read().strip() in ("-1", "0", "1"):
        pytest.skip("perf_event_paranoid lets anyone count tracepoints here")
    p = subprocess.run(["setpriv", "--bounding-set=-all", "--inh-caps=-all", sys.executable, "-m",
                        "ioworkload", "getppid", "--verify", "--start-file", tmp_path / "never"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 77, p.stderr
    assert p.stdout == "" and p.stderr.startswith("unsupported: perf_event_open")


def test_nohup_sighup_stays_ignored(tmp_path):
    """Under nohup (SIGHUP ignored on entry) a hang-up does not stop the run."""
    tids = tmp_path / "tids"
    p = subprocess.Popen(["nohup", sys.executable, "-m", "ioworkload", "getppid", "-n", "3e6",
                          "--json", "--tid-file", tids], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 20
    while not tids.exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    p.send_signal(signal.SIGHUP)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0
    assert json.loads(out)["interrupted"] is None


def test_fifo_tid_file_waits_for_its_reader_and_stops_on_signal(tmp_path):
    fifo = tmp_path / "tids"
    os.mkfifo(fifo)
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    os.mkdir(tmp_path / "tmp")
    # no reader yet: the run waits (interruptibly), the reader comes, the tids arrive
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", "open_basic", "-q", "--tid-file", fifo],
                         env=env, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    assert p.poll() is None
    with open(fifo) as f:
        assert len(f.read().split()) == 1
    assert p.wait(timeout=20) == 0
    # nobody ever reads: SIGTERM ends it, cleanly
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", "open_basic", "-q", "--tid-file", fifo],
                         env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not os.listdir(tmp_path / "tmp"):  # the run has begun: it waits for the reader now
        assert p.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=10)
    assert p.returncode == 143, err
    assert os.listdir(tmp_path / "tmp") == []


def test_stderr_reader_gone_keeps_the_exit_code():
    r, w = os.pipe()
    os.close(r)
    p = subprocess.run([sys.executable, "-m", "ioworkload", "no_such_scenario"],
                       stdout=subprocess.DEVNULL, stderr=w)
    os.close(w)
    assert p.returncode == 2


def test_tid_file_dangling_symlink_creates_its_target(tmp_path):
    (tmp_path / "tids").symlink_to(tmp_path / "made")
    p = subprocess.run([sys.executable, "-m", "ioworkload", "getppid", "-q", "--tid-file",
                        tmp_path / "tids"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert os.path.islink(tmp_path / "tids") and len((tmp_path / "made").read_text().split()) == 1


def test_fifo_reader_that_leaves_early_is_a_failure(tmp_path, monkeypatch):
    """A reader that opens the FIFO and closes it unread: a ScenarioFailed (exit 1 with that
    message), not a broken pipe that main() would take for a vanished stdout reader (exit 0)."""
    from ioworkload.cli import main as cli_mod
    from ioworkload.core.errors import ScenarioFailed
    fifo = tmp_path / "tids"
    os.mkfifo(fifo)
    real = cli_mod._open_for_writing

    def reader_leaves_after_open(path, what, stopped, timeout):
        r = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        fd = real(path, what, stopped, timeout)
        os.close(r)
        return fd

    monkeypatch.setattr(cli_mod, "_open_for_writing", reader_leaves_after_open)
    with pytest.raises(ScenarioFailed, match="closed it before it was written"):
        cli_mod._write_out(str(fifo), b"1\n2\n", "tid file", lambda: False, 1.0)
