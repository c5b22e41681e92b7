"""Hardening, round two (issue 19), the command's side: what a killed scenario process leaves
in the kernel, host limits named (exit 77), inputs refused in one line (exit 2), spawn()'s
handle and run()'s signal dispositions. Each runs in a subprocess where it could leak."""

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import ioworkload
from ioworkload.core.errors import UsageError
from test_hardening import (ROOT, _as_nobody, _under_ulimit, in_small_tmpfs, leftovers,  # noqa: F401
                            needs_root, world_tmp)

IPC_SCENARIOS = ["mq_posix_basic", "sysv_shm_basic", "sysv_msg_basic", "sysv_sem_basic"]


def _sysv_ids() -> dict[str, set[int]]:
    """The SysV objects of this IPC namespace: kind -> ids (column 2 of /proc/sysvipc/*)."""
    out = {}
    for kind in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{kind}") as f:
            out[kind] = {int(line.split()[1]) for line in f.readlines()[1:]}
    return out


def _queue_exists(name: str) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.mq_open(f"/{name}".encode(), os.O_RDONLY)
    if fd >= 0:
        libc.mq_close(fd)
        return True
    return ctypes.get_errno() != 2  # ENOENT: no such queue


def _debris(before: dict[str, set[int]], queues: list[str]) -> list[str]:
    """Queues by our names, and SysV objects new since `before` that outlive a second look
    (another engineer's run makes and removes its own within microseconds)."""
    new = {k: v - before[k] for k, v in _sysv_ids().items()}
    time.sleep(1.0)
    again = _sysv_ids()
    return ([q for q in queues if _queue_exists(q)]
            + [f"{k} {i}" for k, ids in new.items() for i in sorted(ids & again[k])])


def _kill_mid_run(argv: list[str], tid_file: str, run_in) -> tuple[str, list[int]]:
    """Start a long run, SIGKILL its scenario process once its loop is under way; the
    command's stderr and the workers' tids."""
    cmd = subprocess.Popen(run_in + argv + ["-n", "1e12", "--threads", "2", "--tid-file",
                                            tid_file, "--start-delay", "0", "-q"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(tid_file) and time.monotonic() < deadline:
            if cmd.poll() is not None:
                err = cmd.stderr.read()
                if cmd.returncode == 77:
                    pytest.skip(err.strip())
                pytest.fail(f"the run ended before its tid file: {err}")
            time.sleep(0.05)
        tids = [int(t) for t in open(tid_file).read().split()]
        time.sleep(0.5)  # well inside the loop: an object is held most of the time
        os.kill(tids[0], signal.SIGKILL)
        _, err = cmd.communicate(timeout=60)
    finally:
        if cmd.poll() is None:
            cmd.kill()
            cmd.wait()
    return err, tids


@pytest.mark.parametrize("name", IPC_SCENARIOS)
def test_killed_scenario_process_leaves_no_ipc_object(tmp_path, name):
    before = _sysv_ids()
    err, tids = _kill_mid_run([sys.executable, "-m", "ioworkload", name],
                              str(tmp_path / "tids"), [])
    assert "killed by SIGKILL" in err, err
    assert _debris(before, [f"ior-mq-{t}-{i}" for i, t in enumerate(tids)]) == []


@pytest.mark.skipif(not ROOT, reason="dropping to nobody needs root")
@pytest.mark.parametrize("name", IPC_SCENARIOS)
def test_killed_scenario_process_of_nobody_leaves_no_ipc_object(world_tmp, name):
    # nobody may not make an IPC namespace alone: one inside a user namespace of its own
    p = _as_nobody(f"""\
        import threading, signal, time, json
        tid_file = os.path.join(os.environ["TMPDIR"], "tids")
        def killer():
            while not os.path.exists(tid_file):
                time.sleep(0.05)
            time.sleep(0.5)
            tids = [int(t) for t in open(tid_file).read().split()]
            print("TIDS", json.dumps(tids), flush=True)
            os.kill(tids[0], signal.SIGKILL)
        threading.Thread(target=killer).start()
        print("RC", cli.main([{name!r}, "-n", "1e12", "--threads", "2", "--tid-file", tid_file,
                              "--start-delay", "0", "-q"]))
        """, world_tmp)
    assert "RC 1" in p.stdout and "killed by SIGKILL" in p.stderr, (p.stdout, p.stderr)
    tids = json.loads(p.stdout.split("TIDS ", 1)[1].splitlines()[0])
    # nobody's objects: any left is this run's (nobody runs nothing else here)
    uid_column = {"shm": 7, "msg": 7, "sem": 4}
    left = [line for kind, column in uid_column.items()
            for line in open(f"/proc/sysvipc/{kind}").readlines()[1:]
            if line.split()[column] == "65534"]
    assert left == []
    assert [t for i, t in enumerate(tids) if _queue_exists(f"ior-mq-{t}-{i}")] == []


def test_killed_scenario_process_leaves_no_key(tmp_path):
    def ours():
        with open("/proc/keys") as f:
            return {line.split()[0] for line in f if '"ioworkload"' in line or "ior-key" in line}
    before = ours()
    err, _ = _kill_mid_run([sys.executable, "-m", "ioworkload", "security_keys_ptrace_perf"],
                           str(tmp_path / "tids"), [])
    assert "killed by SIGKILL" in err, err
    deadline = time.monotonic() + 30  # the key garbage collector runs soon after, not at once
    while ours() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ours() - before == set()


# ---- host limits: exit 77 naming the limit ----

FILE_WRITERS = ["readwrite_basic", "copy_file_range_basic"]


def _under_ulimit_f_0(*argv: str):
    """The command under `ulimit -f 0`, set once the package is imported: an editable
    install's import runs a build step that writes files."""
    code = textwrap.dedent(f"""\
        import resource, sys
        from ioworkload.cli import main as cli
        from ioworkload.core import registry
        registry.all_scenarios()
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        sys.exit(cli.main({list(argv)!r}))
        """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", FILE_WRITERS)
def test_ulimit_f_0_is_77_naming_it(name):
    p = _under_ulimit_f_0(name)
    assert p.returncode == 77 and "Traceback" not in p.stderr, (p.returncode, p.stderr[-500:])
    assert p.stderr.strip().splitlines() == [
        "unsupported: a write went past the file size limit (EFBIG) under ulimit -f 0; raise it"]


def test_ulimit_f_0_for_the_expect_file_is_77_naming_it(tmp_path):
    p = _under_ulimit_f_0("getppid", "--expect-file", str(tmp_path / "e.json"))
    assert p.returncode == 77 and p.stderr.strip().splitlines() == [
        f"unsupported: cannot write the expect file {tmp_path}/e.json: File too large (EFBIG) "
        f"under ulimit -f 0"], p.stderr
    assert os.listdir(tmp_path) == []


# A full file system (out of blocks): test_hardening's mapped-file tests, now exit 77.


@needs_root
def test_file_system_out_of_inodes_is_77_naming_it():
    # every inode taken but the two the private directory and its w0 need: the file fails
    mnt = os.path.join(os.environ.get("TMPDIR", "/tmp"), "inode-tmpfs")
    os.makedirs(mnt, exist_ok=True)
    script = textwrap.dedent(f"""\
        mount -t tmpfs -o size=1m,nr_inodes=32,mode=1777 none {mnt} || exit 99
        i=0; while touch {mnt}/f$i 2>/dev/null; do i=$((i+1)); done
        rm {mnt}/f0 {mnt}/f1
        TMPDIR={mnt} "$PY" -m ioworkload open_basic -q; echo "RC=$?"
        ls -d {mnt}/ioworkload-* 2>/dev/null
        """)
    try:
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", script],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PY=sys.executable))
    finally:
        os.rmdir(mnt)
    assert p.returncode != 99, p.stderr
    assert "RC=77" in p.stdout and "ioworkload-" not in p.stdout, (p.stdout, p.stderr)
    assert "no inodes left (ENOSPC)" in p.stderr


GLOBAL_CAPABILITY = ["fanotify_flags", "fanotify_marks", "open_by_handle_at",
                     "open_by_handle_at_fail", "open_by_handle_at_reuse",
                     "open_by_handle_at_threads", "mmap_memory_lock", "mountfs_management"]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
@pytest.mark.parametrize("name", GLOBAL_CAPABILITY)
def test_root_of_a_user_namespace_is_77_for_global_capabilities(name):
    p = subprocess.run(["unshare", "-Urpf", "--mount-proc", sys.executable, "-m", "ioworkload",
                        name, "-q"], capture_output=True, text=True, timeout=120)
    if "unshare failed" in p.stderr:
        pytest.skip(p.stderr.strip())
    assert p.returncode == 77, (p.returncode, p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1 and "initial user namespace" in p.stderr


# ---- inputs: one line, exit 2 ----

@pytest.mark.parametrize("rate", ["1e-11", "5e-324"])
def test_a_rate_too_low_to_pace_is_refused(cli, rate):
    p = cli("getppid", "--rate", rate, timeout=30)
    assert p.returncode == 2 and p.stderr.strip().splitlines() == [
        f"ioworkload: error: --rate must be at least 1e-09 iterations per second, not '{rate}'"]
    with pytest.raises(UsageError, match="at least 1e-09"):
        ioworkload.run("getppid", rate=float(rate))


def test_the_lowest_rate_still_paces():
    r = ioworkload.run("getppid", rate=1e-9, duration=0.05)
    assert r.ok and r.rate == 1e-9 and r.iterations_done == [1]  # one due at the start only


@pytest.mark.parametrize("args", [
    ["--threads", "x" * 100000],
    ["--bogus", "y" * 100000],
    ["--iterations", "9" * 100000 + "z"],
])
def test_a_huge_bad_value_is_echoed_cut(cli, args):
    p = cli("getppid", *args, timeout=60)
    err = p.stderr.strip()
    assert p.returncode == 2 and len(err.splitlines()) == 1, err[:300]
    assert len(err) < 250 and "... (100001 characters)" in err or "(100000 characters)" in err, err


def test_a_huge_scenario_name_is_echoed_cut(cli):
    p = cli("q" * 100000, timeout=60)
    assert p.returncode == 2 and len(p.stderr) < 250 and "(100000 characters)" in p.stderr


def test_relative_tmpdir_gives_absolute_paths(cli, tmp_path):
    (tmp_path / "sp ace").mkdir()
    expect = tmp_path / "expect.json"
    for name in ("dir_chdir", "dir_getcwd"):
        p = cli(name, "--expect-file", expect, "-q", cwd=tmp_path, env={"TMPDIR": "sp ace"},
                timeout=60)
        assert p.returncode == 0, p.stderr
        doc = json.loads(expect.read_text())
        assert doc["dir"].startswith(str(tmp_path / "sp ace") + "/ioworkload-"), doc["dir"]
    assert os.listdir(tmp_path / "sp ace") == []


@pytest.mark.parametrize("tmpdir,needle", [
    ("/" + "a/" * 3000, "the path is too long (6000 bytes, PATH_MAX is 4096)"),
    ("/tmp/" + "a" * 300, "a name in the path is too long (NAME_MAX is 255)"),
])
def test_tmpdir_too_long_says_so(cli, tmpdir, needle):
    p = cli("open_basic", env={"TMPDIR": tmpdir}, timeout=30)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr[:300]
    assert needle in p.stderr and len(p.stderr) < 300, p.stderr[:300]


def test_tid_file_through_a_dangling_symlink_is_one_line(cli, tmp_path):
    (tmp_path / "tids").symlink_to(tmp_path / "missing" / "tids")
    p = cli("getppid", "--tid-file", tmp_path / "tids", timeout=30)
    assert p.returncode == 2 and p.stderr.strip().splitlines() == [
        f"ioworkload: error: tid file directory {tmp_path}/missing does not exist (where the "
        f"symlink {tmp_path}/tids leads)"]


def test_tid_file_and_expect_file_at_one_path_are_refused(cli, tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "out")
    p = cli("getppid", "--tid-file", tmp_path / "out", "--expect-file", tmp_path / "link",
            timeout=30)
    assert p.returncode == 2 and "are the same file" in p.stderr, p.stderr
    assert not (tmp_path / "out").exists()


def test_socket_path_check_counts_the_real_threads(monkeypatch):
    # deep enough that w1023's socket path overflows sun_path, shallow enough for w1's
    import tempfile
    from ioworkload.core import registry
    from ioworkload.families import socket
    tail = len("/ioworkload-socket_introspection-XXXXXXXX/w1/introspection.sock") + 1
    root = tempfile.mkdtemp(prefix="iow-", dir="/tmp")
    try:
        deep = root + "/" + "d" * (socket.SUN_PATH_BYTES - tail - len(root) - 1)
        os.mkdir(deep)
        monkeypatch.setenv("TMPDIR", deep)
        sc = registry.get("socket_introspection")
        assert "too deep" in sc.unsupported_reason()  # any thread count: up to w1023
        assert sc.unsupported_reason(threads=2) is None
        assert ioworkload.run("socket_introspection", threads=2).ok
        with pytest.raises(ioworkload.Unsupported, match="too deep"):
            ioworkload.run("socket_introspection", threads=11)  # w10: one byte more
    finally:
        shutil.rmtree(root)


# ---- run()'s and spawn()'s handles on the caller's process ----

def test_run_keeps_a_handler_installed_from_c():
    code = textwrap.dedent("""\
        import ctypes, os, signal
        import ioworkload
        libc = ctypes.CDLL(None)
        libc.signal.restype = ctypes.c_void_p
        libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
        handler = ctypes.cast(libc.getpid, ctypes.c_void_p).value  # harmless as a handler
        for s in (signal.SIGHUP, signal.SIGTERM):
            libc.signal(s, handler)
        assert ioworkload.run("getppid").ok
        for s in (signal.SIGHUP, signal.SIGTERM):
            os.kill(os.getpid(), s)
        print("ALIVE")
        """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout == "ALIVE\n", (p.returncode, p.stderr)


@pytest.mark.parametrize("name", ["--help", "-n", "list", "check", "--scenario=getppid"])
def test_spawn_takes_scenario_names_only(name):
    with pytest.raises(UsageError, match="unknown scenario"):
        ioworkload.spawn(name)


def test_two_threads_waiting_on_one_handle_both_get_the_result():
    import threading
    results = []
    with ioworkload.spawn("getppid", iterations=1000) as w:
        waiters = [threading.Thread(target=lambda: results.append(w.wait(60)))
                   for _ in range(2)]
        for t in waiters:
            t.start()
        w.start()
        for t in waiters:
            t.join(90)
    assert len(results) == 2 and results[0] is results[1] and results[0].ok


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie not yet reaped
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("how", ["dropped", "exit", "killed", "killed_running"])
def test_a_spawned_handle_never_closed_ends_its_run(tmp_path, how):
    """The handle garbage-collected, left open at the controller's exit, or the controller
    SIGKILLed, held or during a 10-minute run: the scenario process and its command end soon,
    the control dir is removed."""
    code = textwrap.dedent(f"""\
        import gc, os, sys, time
        import ioworkload
        running = {how!r} == "killed_running"
        w = ioworkload.spawn("getppid", duration=600 if running else None)
        if running:
            w.start()
        print(w.pid, w._proc.pid, w._control, flush=True)
        if {how!r} == "dropped":
            del w
            gc.collect()
            time.sleep(60)
        elif {how!r}.startswith("killed"):
            time.sleep(60)
        """)
    ctl = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                           env=dict(os.environ, TMPDIR=str(tmp_path)))
    command = None
    try:
        pid, command, control = ctl.stdout.readline().split()
        if how.startswith("killed"):
            ctl.kill()
        deadline = time.monotonic() + 30
        while not (_gone(int(pid)) and _gone(int(command)) and not os.path.exists(control)):
            assert time.monotonic() < deadline, (how, os.listdir(tmp_path))
            time.sleep(0.1)
    finally:
        ctl.kill()
        ctl.wait()
        if command and how == "killed_running" and not _gone(int(command)):
            os.kill(int(command), signal.SIGTERM)  # a failed check leaves no 10-minute run
    assert os.listdir(tmp_path) == []
