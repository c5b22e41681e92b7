"""Faults a hostile host injects (issue 9): a full or odd $TMPDIR, inherited fds, ulimits, an
unprivileged user. Each runs in a subprocess, so a crash or a leak never reaches pytest itself."""

import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

import ioworkload

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT or shutil.which("unshare") is None,
                                reason="a private mount namespace needs root and unshare")


def in_small_tmpfs(script: str, used_kib: int, size_kib: int = 64, timeout=120):
    """Run the bash `script` with $TMPDIR on a fresh `size_kib` tmpfs with `used_kib` taken,
    mounted in a private mount namespace (gone with the process). The script may use $PY."""
    mnt = os.path.join(os.environ.get("TMPDIR", "/tmp"), "small-tmpfs")
    os.makedirs(mnt, exist_ok=True)
    full = textwrap.dedent(f"""\
        set -u
        mount -t tmpfs -o size={size_kib}k,mode=1777 none {mnt} || exit 99
        dd if=/dev/zero of={mnt}/filler bs=1k count={used_kib} status=none 2>/dev/null
        export TMPDIR={mnt}
        """) + script + f"\necho; echo LEFT: $(ls -A {mnt} | tr '\\n' ' ')\n"
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", full],
                       capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, PY=sys.executable))
    try:
        os.rmdir(mnt)
    except OSError:
        pass
    assert p.returncode != 99, p.stderr
    return p


def leftovers(p) -> list[str]:
    return p.stdout.rsplit("LEFT:", 1)[1].split()


@needs_root
@pytest.mark.parametrize("name", ["mmap_basic", "mmap_msync_sync"])
def test_full_tmpdir_mapped_file_fails_cleanly_cli(name):
    # One free page for two workers: one write gets ENOSPC, its mapping has no page behind it.
    p = in_small_tmpfs(f'"$PY" -m ioworkload {name} --iterations 1 --threads 2; echo "RC=$?"',
                       used_kib=60)
    assert "RC=77" in p.stdout, (p.stdout, p.stderr)  # a full file system is the host's limit
    assert "SIGBUS" not in p.stderr and "Bus error" not in p.stderr
    assert "ENOSPC" in p.stdout and "(ENOSPC)" in p.stderr  # the failed call, the limit named
    assert leftovers(p) == ["filler"]


@needs_root
@pytest.mark.parametrize("name", ["mmap_basic", "mmap_msync_sync"])
def test_full_tmpdir_mapped_file_does_not_kill_the_api_caller(name):
    # the host's limit is raised to the caller (Unsupported), who lives on to see it
    code = f"import ioworkload; ioworkload.run({name!r}, threads=2)"
    p = in_small_tmpfs(f'"$PY" -c "{code}"; echo "RC=$?"', used_kib=60)
    assert "RC=1" in p.stdout, (p.stdout, p.stderr)
    assert "Unsupported: the file system of" in p.stderr and "(ENOSPC)" in p.stderr
    assert leftovers(p) == ["filler"]


CALLER_FDS = [500, 501, 505] + list(range(9000, 10000))
FD_SCENARIOS = ["dup_dup2", "dup_dup3", "dup3_invalid_flags", "close_double_close", "close_range",
                "close_range_bounded", "close_range_cloexec", "close_range_empty",
                "dir_getdents_ebadf"]


def _caller_holding_fds(body: str, limit: int = 20000):
    """A Python process holding CALLER_FDS (each a different pipe end it can recognise), running
    `body`; it prints SAME when every one is still open on the same pipe afterwards."""
    code = textwrap.dedent(f"""\
        import os, sys, resource
        resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}))
        r, w = os.pipe()
        held = {{}}
        for fd in {CALLER_FDS!r}:
            os.dup2(w, fd, inheritable=True)
            held[fd] = os.fstat(fd).st_ino
        os.close(r); os.close(w)
        """) + textwrap.dedent(body) + textwrap.dedent("""\
        changed = []
        for fd, ino in held.items():
            try:
                if os.fstat(fd).st_ino != ino:
                    changed.append(fd)
            except OSError:
                changed.append(fd)
        print("SAME" if not changed else f"CHANGED {changed[:5]} ({len(changed)})")
        """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", FD_SCENARIOS)
def test_api_never_touches_the_callers_fds(name):
    p = _caller_holding_fds(f"""\
        import ioworkload
        from ioworkload.core.errors import Unsupported
        try:
            r = ioworkload.run({name!r}, iterations=3, threads=2)
            print("RAN", r.ok, r.mismatches)
        except Unsupported as e:
            print("REFUSED", e)
        """)
    assert p.returncode == 0, p.stderr
    assert "SAME" in p.stdout, p.stdout
    assert "RAN True" in p.stdout or "REFUSED" in p.stdout, p.stdout


@pytest.mark.parametrize("name", FD_SCENARIOS)
def test_cli_with_inherited_fds_runs_true_or_refuses(name):
    # Inherited by the command and its scenario process: a number the manifest names as never
    # open (close_range_empty's 9000..9999, getdents64's 9999) is refused, not reported "over no
    # open fd"; the fixed blocks move past the inherited ones.
    p = _caller_holding_fds(f"""\
        import subprocess
        c = subprocess.run([sys.executable, "-m", "ioworkload", {name!r}, "-n", "3",
                            "--threads", "2"], close_fds=False, capture_output=True, text=True)
        print("RC", c.returncode, c.stderr.strip())
        """)
    assert p.returncode == 0, p.stderr
    if name in ("close_range_empty", "dir_getdents_ebadf"):
        assert "RC 77 unsupported: " in p.stdout and "open here" in p.stdout, p.stdout
    else:
        assert "RC 0 " in p.stdout, p.stdout


def test_cli_scenario_process_keeps_inherited_fd_500(tmp_path):
    # dup2 onto 500 in the scenario process would replace the inherited pipe there.
    hold = tmp_path / "hold"
    p = _caller_holding_fds(f"""\
        import subprocess, time
        c = subprocess.Popen([sys.executable, "-m", "ioworkload", "dup_dup2", "-n", "3",
                              "--hold-file", {str(hold)!r}, "--json"], close_fds=False,
                             stdout=subprocess.PIPE, text=True)
        pid = int(c.stdout.readline())
        report = c.stdout.readline()  # the one-line JSON: the run is over, the process held
        print("FD500", os.readlink(f"/proc/{{pid}}/fd/500"))
        open({str(hold)!r}, "w").close()
        print("RC", c.wait())
        """)
    assert p.returncode == 0, p.stderr
    assert "FD500 pipe:" in p.stdout and "RC 0" in p.stdout, p.stdout


def _tmpdir_outcome(tmpdir: str, *args, cwd=None):
    """The CLI run with TMPDIR=tmpdir, and any ioworkload-* directory it left in the usual
    fallbacks (/tmp, /var/tmp, the cwd)."""
    fallbacks = ["/tmp", "/var/tmp", cwd or os.getcwd()]
    before = {d: {n for n in os.listdir(d) if n.startswith("ioworkload-open-basic")} for d in fallbacks}
    p = subprocess.run([sys.executable, "-m", "ioworkload", "open_basic", "-n", "2", *args],
                       capture_output=True, text=True, timeout=60, cwd=cwd,
                       env=dict(os.environ, TMPDIR=tmpdir))
    strays = [n for d in fallbacks for n in os.listdir(d)
              if n.startswith("ioworkload-open-basic") and n not in before[d]]
    return p, strays


def test_missing_tmpdir_is_named_not_replaced(tmp_path):
    p, strays = _tmpdir_outcome("/nonexistent-ioworkload-tmp", cwd=str(tmp_path))
    assert p.returncode == 2 and strays == [] and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == [
        "ioworkload: error: TMPDIR=/nonexistent-ioworkload-tmp: no such directory"], p.stderr


@pytest.mark.skipif(not ROOT, reason="a read-only bind mount needs root")
def test_read_only_tmpdir_is_named_not_replaced(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "--bind", "-o", "ro", str(ro), str(ro)], check=True)
    try:
        p, strays = _tmpdir_outcome(str(ro), cwd=str(tmp_path))
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    assert p.returncode == 2 and strays == [], (p.stdout, p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1 and f"TMPDIR={ro}: not writable" in p.stderr


@needs_root
def test_full_tmpdir_is_named_not_replaced():
    p = in_small_tmpfs('cd "$TMPDIR"; "$PY" -m ioworkload open_basic -n 2; echo "RC=$?"; '
                       'ls -d /tmp/ioworkload-open-basic-* /var/tmp/ioworkload-open-basic-* 2>/dev/null',
                       used_kib=64)
    assert "RC=2" in p.stdout, (p.stdout, p.stderr)
    assert p.stderr.strip().endswith(": the filesystem is full") and "TMPDIR=" in p.stderr
    assert "/tmp/ioworkload-open-basic" not in p.stdout.split("RC=2")[1]
    assert leftovers(p) == ["filler"]


def test_api_missing_tmpdir_is_a_usage_error(monkeypatch):
    import ioworkload
    from ioworkload.core.errors import UsageError
    monkeypatch.setenv("TMPDIR", "/nonexistent-ioworkload-tmp")
    with pytest.raises(UsageError, match="TMPDIR=/nonexistent-ioworkload-tmp"):
        ioworkload.run("open_basic")


def _as_nobody(body: str, tmp_root: str, popen: bool = False):
    """Run `body` in a Python process that drops to uid/gid 65534 (nobody) first. The drop is
    done in-process, after the imports and one warm-up run as root: this interpreter lives
    where nobody cannot read it, so `setpriv` could not even start it."""
    code = textwrap.dedent("""\
        import ctypes, os, sys, resource, encodings.unicode_escape
        import ioworkload
        from ioworkload.cli import main as cli
        from ioworkload.core import errors
        ioworkload.run("dir_getcwd")
        import json, locale, gettext  # what the command imports lazily (argparse's messages)
        cli._run_parser().parse_args(["getppid"])
        ioworkload.describe("getppid"); ioworkload.spawn  # the package imports on first use
        os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
        ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # dumpable again: the runner reads /proc/self/task
        """) + textwrap.dedent(body)
    if popen:
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, TMPDIR=tmp_root))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, TMPDIR=tmp_root))


@pytest.fixture
def world_tmp():
    """A sticky world-writable TMPDIR that nobody can reach (the session's is root's 0700)."""
    import tempfile
    d = tempfile.mkdtemp(prefix="ioworkload-hardening-", dir="/tmp")
    os.chmod(d, 0o1777)
    try:
        yield d
    finally:
        for sub, _, _ in os.walk(d):
            os.chmod(sub, 0o700)
        shutil.rmtree(d)


@pytest.mark.skipif(not ROOT, reason="dropping to nobody needs root")
@pytest.mark.parametrize("name", ["dir_chdir", "dir_getcwd"])
def test_unenterable_cwd_is_refused_and_kept(world_tmp, name):
    p = _as_nobody(f"""\
        d = os.path.join(os.environ["TMPDIR"], "cwd")
        os.mkdir(d); os.chdir(d); os.chmod(d, 0)
        try:
            ioworkload.run({name!r})
            print("RAN")
        except errors.Unsupported as e:
            print("REFUSED", e)
        print("CWD", os.getcwd() == d)
        print("CLI", cli.main([{name!r}, "-q"]))
        print("CWD", os.getcwd() == d)
        """, world_tmp)
    assert p.returncode == 0, p.stderr
    assert "REFUSED the current directory" in p.stdout and "cannot be entered again" in p.stdout
    assert p.stdout.count("CWD True") == 2 and "CLI 77" in p.stdout, (p.stdout, p.stderr)
    assert os.listdir(world_tmp) == ["cwd"]


def test_callers_cwd_restored_by_fd_when_its_path_is_gone(tmp_path):
    # The caller's directory is renamed once the workers are parked: the scenario's chdir back
    # by path fails (a mismatch), but the caller is back in its own directory, not in the
    # removed private dir.
    import ioworkload
    home, moved = tmp_path / "home", tmp_path / "moved"
    home.mkdir()
    before = os.getcwd()
    os.chdir(home)
    try:
        r = ioworkload.run("dir_chdir", before_start=lambda tids, doc: os.rename(home, moved))
        here = os.getcwd()
    finally:
        os.chdir(before)
    assert not r.ok and any("ENOENT" in m for m in r.mismatches)
    assert here == str(moved)


@pytest.mark.skipif(not ROOT or not os.path.isdir("/sys/kernel/tracing/events"),
                    reason="needs root and tracefs at /sys/kernel/tracing")
def test_verify_unprivileged_names_what_is_missing(world_tmp):
    if os.stat("/sys/kernel/tracing").st_mode & 0o005 == 0o005:
        pytest.skip("tracefs is world-readable here")
    p = _as_nobody("""\
        print("CLI", cli.main(["getppid", "-n", "10", "--verify"]))
        """, world_tmp)
    assert "CLI 77" in p.stdout, (p.stdout, p.stderr)
    err = p.stderr.strip()
    assert "not mounted" not in err and "/sys/kernel/tracing is not readable" in err
    assert "uid 65534" in err and "CAP_PERFMON" in err and "perf_event_paranoid = " in err


@pytest.mark.parametrize("args,needle", [
    (["--duration", "1e-10"], "at least 1e-9 seconds"),
    (["--duration", "5e-324"], "at least 1e-9 seconds"),
    (["--duration", "9" * 100000], "duration is too long"),
    (["--iterations", "0e999999999"], "iterations must be at least 1"),
    (["--cpu", "1-0"], "the range 1-0 is empty"),
])
def test_small_inputs_name_the_right_problem(cli, args, needle):
    p = cli("getppid", *args, timeout=30)
    err = p.stderr.strip()
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr[:300]
    assert len(err.splitlines()) == 1 and needle in err and len(err) < 300, err[:300]


@pytest.mark.parametrize("other", ["--tid-file", "--expect-file"])
def test_written_file_that_is_the_start_file_is_refused(cli, tmp_path, other):
    same = tmp_path / "x"
    p = cli("getppid", "--start-file", same, other, same, timeout=30)
    assert p.returncode == 2 and "are the same file" in p.stderr, (p.returncode, p.stderr)
    assert not same.exists()


@pytest.mark.parametrize("kwargs,needle", [
    (dict(verify="false"), "verify must be True or False"),
    (dict(verify=1), "verify must be True or False"),
    (dict(iterations=5, duration=0.01), "not both"),
])
def test_api_ambiguous_arguments_are_errors(kwargs, needle):
    import ioworkload
    from ioworkload.core.errors import UsageError
    with pytest.raises(UsageError, match=needle):
        ioworkload.run("getppid", **kwargs)
    with pytest.raises(UsageError, match=needle):
        ioworkload.spawn("getppid", **kwargs)


def test_api_duration_alone_still_works():
    import ioworkload
    r = ioworkload.run("getppid", duration=0.01)
    assert r.ok and r.iterations is None and r.iterations_done[0] > 0


def _under_ulimit(limit: str, *args):
    return subprocess.run(["bash", "-c", f'ulimit {limit} && exec "$0" -m ioworkload "$@"',
                           sys.executable, *args], capture_output=True, text=True, timeout=60)


def test_low_ulimit_v_is_one_line_77():
    p = _under_ulimit("-v 50000", "getppid", "--threads", "64")
    assert p.returncode == 77 and "Traceback" not in p.stderr, p.stderr[-500:]
    assert p.stderr.strip().splitlines() == [
        "unsupported: out of memory (is ulimit -v too low for this many threads?)"]


@pytest.mark.parametrize("name", ["retbytes_phase_a", "close_untracked"])
def test_low_ulimit_n_is_one_line_77_naming_it(name):
    p = _under_ulimit("-n 16", name, "-q")
    assert p.returncode == 77, p.stderr
    assert p.stderr.strip().splitlines() == [
        "unsupported: the scenario ran out of file descriptors (EMFILE) under ulimit -n 16; "
        "raise it"]


def test_low_ulimit_n_through_the_api_is_unsupported():
    code = ("import resource, ioworkload\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))\n"
            "try:\n    ioworkload.run('close_untracked')\n"
            "except ioworkload.Unsupported as e:\n    print('REFUSED', e)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "REFUSED the scenario ran out of file descriptors (EMFILE) under ulimit -n 16" in p.stdout, \
        (p.stdout, p.stderr)


def test_usage_error_with_stderr_on_dev_full_keeps_exit_2():
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "ioworkload", "getppid", "-n", "0"],
                           stderr=full, stdout=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 2


@pytest.mark.skipif(not ROOT, reason="dropping to nobody needs root")
def test_unprivileged_start_and_hold_files_in_a_root_owned_directory(world_tmp):
    # Only their existence is waited for: a directory nobody can search but not write is fine.
    # (A start file that exists before the run is refused: root makes it after the PID line.)
    shared = os.path.join(world_tmp, "shared")
    os.mkdir(shared, 0o755)
    open(os.path.join(shared, "done"), "w").close()
    p = _as_nobody(f"""\
        print("CLI", cli.main(["getppid", "-q", "--start-file", {shared + '/go'!r},
                               "--hold-file", {shared + '/done'!r}]))
        """, world_tmp, popen=True)
    try:
        pid_line = p.stdout.readline()
        assert pid_line.strip().isdigit(), (pid_line, p.stderr.read())
        open(os.path.join(shared, "go"), "w").close()
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "CLI 0" in out, (out, err)


@needs_root
@pytest.mark.parametrize("name", ["open_by_handle_at", "open_by_handle_at_fail",
                                  "open_by_handle_at_reuse", "open_by_handle_at_threads"])
def test_tmpdir_without_file_handles_is_77(name):
    mnt = os.path.join(os.environ.get("TMPDIR", "/tmp"), "ramfs")
    os.makedirs(mnt, exist_ok=True)
    try:
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c",
                            f'mount -t ramfs none {mnt} && TMPDIR={mnt} "$0" -m ioworkload {name}; '
                            f'echo "RC=$?"; ls -A {mnt}', sys.executable],
                           capture_output=True, text=True, timeout=60)
    finally:
        os.rmdir(mnt)
    assert p.stdout.split() == ["RC=77"], (p.stdout, p.stderr)
    assert p.stderr.strip() == (f"unsupported: the filesystem of {mnt} does not support file "
                                f"handles (ENOTSUP): name_to_handle_at needs them")


@pytest.mark.skipif(not ROOT, reason="dropping to nobody needs root (root ignores ulimit -u)")
def test_ulimit_u_is_77_naming_it(world_tmp):
    p = _as_nobody("""\
        import resource
        resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
        try:
            ioworkload.run("getppid", threads=4)
        except errors.Unsupported as e:
            print("REFUSED", e)
        print("CLI", cli.main(["getppid", "--threads", "4", "-q"]))
        """, world_tmp)
    assert "REFUSED cannot start 4 worker threads: Resource temporarily unavailable " \
        "(RLIMIT_NPROC: ulimit -u is 1)" in p.stdout, (p.stdout, p.stderr)
    assert "CLI 77" in p.stdout and p.stderr.strip() == (
        "unsupported: cannot fork the scenario process: Resource temporarily unavailable "
        "(RLIMIT_NPROC: ulimit -u is 1)"), (p.stdout, p.stderr)


@pytest.mark.skipif(not ROOT, reason="dropping to nobody needs root (root ignores ulimit -u)")
def test_threads_the_process_limit_refuses_are_77_at_once(world_tmp):
    """The scenario process forks but cannot start all its threads: the command reads the
    launch error while it waits for them (it used to wait 10 s for a start line and exit 1)."""
    p = _as_nobody("""\
        import time
        resource.setrlimit(resource.RLIMIT_NPROC, (5, 5))
        started = time.monotonic()
        code = cli.main(["getppid", "--threads", "8", "-q"])
        print("CLI", code, round(time.monotonic() - started, 1))
        """, world_tmp)
    code, took = p.stdout.split()[1:3]
    assert code == "77" and float(took) < 5, (p.stdout, p.stderr)
    assert p.stderr.count("\n") == 1 and "RLIMIT_NPROC: ulimit -u is 5" in p.stderr, p.stderr


def test_threads_the_address_space_refuses_are_77_at_once():
    started = time.monotonic()
    p = _under_ulimit("-v 150000", "getppid", "--threads", "16")
    took = time.monotonic() - started
    assert p.returncode == 77 and took < 8, (took, p.stderr)
    assert p.stderr.count("\n") == 1 and "RLIMIT_AS: ulimit -v is 150000 KiB" in p.stderr, \
        p.stderr


@pytest.mark.parametrize("name", ["aio_setup", "aio_submit", "aio_getevents", "aio_cancel"])
def test_describe_states_the_cost_of_slow_aio_scenarios(cli, name):
    p = cli("describe", name)
    assert p.returncode == 0 and "ms per iteration" in p.stdout and "aio_setup_einval" in p.stdout


# ---- item 7: a tid file reached through a planted symlink ---------------------------------

@pytest.mark.skipif(not ROOT, reason="planting a symlink as another user needs root")
def test_symlink_planted_in_a_sticky_dir_is_not_followed(tmp_path):
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.chmod(victim, 0o600)
    nobody = pwd.getpwnam("nobody").pw_uid
    link = sticky / "tids"
    link.symlink_to(victim)
    os.lchown(link, nobody, nobody)  # as if `nobody` had planted it
    p = subprocess.run([sys.executable, "-m", "ioworkload", "getppid", "-q", "--tid-file", link],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "protected_symlinks" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o600
    os.lchown(link, 0, 0)  # our own link there is followed, as the kernel would
    p = subprocess.run([sys.executable, "-m", "ioworkload", "getppid", "-q", "--tid-file", link],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert len(victim.read_text().split()) == 1


def test_rewritten_tid_file_keeps_its_mode(tmp_path):
    tids = tmp_path / "tids"
    tids.write_text("old\n")
    os.chmod(tids, 0o600)
    p = subprocess.run([sys.executable, "-m", "ioworkload", "getppid", "-q", "--tid-file", tids],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert tids.read_text() != "old\n"
    assert stat.S_IMODE(os.stat(tids).st_mode) == 0o600


# ---- item 6: a stop signal at any moment --------------------------------------------------

SIGNAL_TRIALS = 1000 if os.environ.get("IOWORKLOAD_FULL") else 24
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _signal_trial(rng, name, where, tmpdir, hold):
    """Start a run, send one stop signal at a random moment of `where`; what came out."""
    sig = rng.choice(STOP_SIGNALS)
    cmd = [sys.executable, "-m", "ioworkload", name, "-n", "1", "--json", "--start-delay", "0"]
    if where == "hold":
        cmd += ["--hold-file", str(hold)]  # never made: only the signal ends the wait
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                         env=dict(os.environ, TMPDIR=str(tmpdir)))  # unbuffered: readline
    # takes only its line, and communicate() below gets all the rest
    pid_line = b""
    if where == "imports":
        time.sleep(rng.uniform(0, 0.08))
    else:
        pid_line = p.stdout.readline()
        if where == "hold":
            pid_line += p.stdout.readline()  # the report: the hold wait comes after it
        time.sleep(rng.uniform(0, 0.1))
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    return sig, p.returncode, pid_line + out, err.decode()


def _report_of(line: str, what: str) -> dict:
    try:
        return json.loads(line)
    except ValueError:
        raise AssertionError(f"not a JSON report: {what}") from None


def test_a_stop_signal_at_any_moment_ends_cleanly(tmp_path):
    """Signals during imports, the run, its last milliseconds and the hold wait: always a
    report or a one-line reason, the exit code 128 + the signal (or the run's own code when
    the signal came after it ended), no traceback, nothing left behind."""
    import random
    rng = random.Random(os.environ.get("IOWORKLOAD_SIGNAL_SEED", "9"))
    names = sorted(n for n, sc in ioworkload.scenarios().items()
                   if sc.unsupported_reason() is None and not sc.exit_status)  # not crash
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    for trial in range(SIGNAL_TRIALS):
        name, where = rng.choice(names), rng.choice(["imports", "run", "run", "hold"])
        sig, rc, out, err = _signal_trial(rng, name, where, tmpdir, tmp_path / "never")
        what = f"trial {trial}: {name} {where} {signal.Signals(sig).name}: rc {rc}, {err!r}"
        if where == "imports" and not re.search(r'File "[^"]*/ioworkload/', err) and (
                (not out and (rc == -sig or err.rstrip().endswith("KeyboardInterrupt")))
                or err.startswith("Exception ignored in: <function _get_module_lock")):
            # the interpreter's own start-up (site, runpy, an editable install's loader that
            # site runs), before any line of the package; or its import machinery, which
            # swallows a KeyboardInterrupt raised in an import lock's callback ("Exception
            # ignored") before the package's handlers exist: the signal is lost there
            continue
        assert "Traceback" not in err, what
        assert rc in (0, 77, 128 + sig), what
        lines = out.decode().splitlines()
        what += f", stdout {lines!r}"
        if rc == 128 + sig:
            reported = len(lines) >= 2 and _report_of(lines[1], what)["interrupted"] in (None, sig)
            assert reported or len(err.splitlines()) == 1, what
        elif rc == 0:
            assert len(lines) == 2 and _report_of(lines[1], what)["ok"], what
        if lines and lines[0].isdigit():
            assert not os.path.exists(f"/proc/{lines[0]}"), what  # the scenario process
        assert os.listdir(tmpdir) == [], what


@pytest.mark.skipif(not ROOT or not os.path.isdir("/sys/kernel/tracing/events"),
                    reason="--verify needs root and tracefs")
@pytest.mark.parametrize("name,wchan", [("open_duration_gap", "hrtimer_nanosleep"),
                                        ("stop_restart", "do_wait"),
                                        ("stop_restart_twice", "do_wait"),
                                        ("signal_handled_sleep", "do_wait")])
def test_stop_and_continue_under_verify_is_named(tmp_path, name, wchan):
    """SIGSTOP/SIGCONT while the worker sleeps (open_duration_gap: the kernel resumes the sleep
    with restart_syscall) or waits for its child (the stop/restart scenarios, which declare
    restarts of their own: wait4 -ERESTARTSYS, re-executed): the counts differ, and the report
    says that is why. The stop must land in a blocking call: a wait seen twice 20 ms apart is
    the long one, not stop_child's wait4 for the stop it has just sent, which ends at once (a
    stop that lands between two calls restarts nothing: the run is exact, and is tried again)."""
    for attempt in range(3):
        p = subprocess.Popen([sys.executable, "-m", "ioworkload", name, "-n", "1", "--verify",
                              "-q", "--start-delay", "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, TMPDIR=str(tmp_path)))
        pid = int(p.stdout.readline())
        deadline = time.monotonic() + 30
        seen = 0
        while seen < 2:
            assert time.monotonic() < deadline, f"the worker never waited in {wchan}"
            seen = seen + 1 if open(f"/proc/{pid}/wchan").read().startswith(wchan) else 0
            time.sleep(0.02 if seen else 0.005)
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.2)
        os.kill(pid, signal.SIGCONT)
        _, err = p.communicate(timeout=60)
        if p.returncode != 0:
            break
    assert p.returncode == 1, err
    assert "stopped and continued" in err and "more than declared" in err, err
    assert "restart_syscall" in err and os.listdir(tmp_path) == []


@pytest.mark.parametrize("held", ["--start-file", "--hold-file"])
def test_a_scenario_process_killed_while_held_is_reported_at_once(tmp_path, held):
    """SIGKILL of the scenario process while the command holds it (waiting for a start file
    that never comes, or a hold file after the run): reported and reaped within a couple of
    seconds, not after the file's 30 s or 120 s timeout."""
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", "getppid", "-q", held,
                          str(tmp_path / "never")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    pid = int(p.stdout.readline())
    if held == "--hold-file":  # into the hold: the run is over once the main thread waits alone
        deadline = time.monotonic() + 30
        while os.listdir(f"/proc/{pid}/task") != [str(pid)]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    _, err = p.communicate(timeout=60)
    assert time.monotonic() - killed < 3, err
    when = "before its release" if held == "--start-file" else "after its run"
    assert p.returncode == 1 and err == (f"ioworkload: error: the scenario process was killed by "
                                         f"SIGKILL while held {when}\n"), err
    assert not os.path.exists(f"/proc/{pid}")  # reaped


_SUBREAPER = """\
import ctypes, os, signal, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans of the run come here
p = subprocess.Popen([sys.executable, "-m", "ioworkload"] + sys.argv[2:], stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, text=True)
p.stdout.readline()  # the PID line: the workers are about to start
time.sleep(float(sys.argv[1]))
p.send_signal(signal.SIGTERM)
sent = time.monotonic()
code = p.wait()
took = time.monotonic() - sent
time.sleep(0.5)
left = []
while True:  # reap what came here; what is still alive is listed
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid == 0:
        with open(f"/proc/self/task/{os.getpid()}/children") as f:
            left = f.read().split()
        for pid in left:
            os.kill(int(pid), signal.SIGKILL)
        break
print(code, round(took, 2), left)
"""


@pytest.mark.parametrize("name", ["stop_restart", "stop_restart_twice", "signal_handled_sleep"])
def test_sigterm_stops_64_stopping_workers_under_load(cpu_hog, tmp_path, name):
    """64 workers on one CPU, each waiting for its child to block in a sleep, on a machine
    whose CPUs are busy: SIGTERM ends the run within seconds (the waits check the stop flag
    and the child's exit; they once spun forever), and no child of the run is left."""
    p = subprocess.run([sys.executable, "-c", _SUBREAPER, "2", name, "--threads", "64", "--cpu",
                        "0", "--iterations", "3", "-q", "--start-delay", "0"],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, TMPDIR=str(tmp_path)))
    code, took, left = p.stdout.split(maxsplit=2)
    assert code == "143" and float(took) < 10, (p.stdout, p.stderr)
    assert left.strip() == "[]" and os.listdir(tmp_path) == []
