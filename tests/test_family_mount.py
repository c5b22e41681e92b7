"""mount family: mountfs_management from the command line with --verify, under strace judged
against its expect file, and the host's mount table (/proc/self/mountinfo) unchanged after
runs, also after a run is killed with SIGKILL half-way through."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import ioworkload
from ioworkload.core import registry
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import _mounts, kernel_can_verify

NAME = "mountfs_management"
_no_verify = kernel_can_verify()


@pytest.fixture(autouse=True)
def supported():
    why = registry.get(NAME).unsupported_reason()
    if why:
        pytest.skip(why)


@pytest.fixture
def mount_table_kept():
    before = _mounts()
    yield
    assert _mounts() == before


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("iterations,threads", [(1, 1), (100, 1), (20, 2)])
def test_cli_verify(cli, mount_table_kept, iterations, threads):
    r = cli(NAME, "-n", iterations, "-t", threads, "--verify", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["verified"] is True and res["ok"]
    # the child's calls really happened: two tmpfs mounts per iteration, each unmounted
    assert res["calls"]["mount"]["count"] == 3 * iterations * threads
    assert res["calls"]["umount2"]["ok"] == 2 * iterations * threads


def _tmpfs_dir() -> str | None:
    with open("/proc/self/mounts") as f:
        for line in f:
            _, where, fstype = line.split()[:3]
            if where == "/dev/shm" and fstype == "tmpfs" and os.access(where, os.W_OK):
                return where
    return None


@pytest.mark.skipif(_tmpfs_dir() is None, reason="no writable tmpfs at /dev/shm")
def test_returns_do_not_depend_on_the_filesystem_of_tmpdir(mount_table_kept):
    """With $TMPDIR on a tmpfs (no quotas) every declared return still holds (quotactl_fd's
    command 0 was -ENOSYS there, -EINVAL on ext4: the Debian 7.2 guest's tmpfs showed it)."""
    r = subprocess.run([sys.executable, "-m", "ioworkload", NAME, "-n", "2", "--json"],
                       env=dict(os.environ, TMPDIR=_tmpfs_dir()), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert json.loads(r.stdout)["ok"]


@pytest.mark.parametrize("threads", [1, 2])
def test_strace_sees_exactly_the_expect_file(cli, mount_table_kept, threads):
    r = cli("check", NAME, "--tracer", "strace", "-t", threads, "--json", timeout=300)
    rows = json.loads(r.stdout)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert rows and all(row["status"] == "exact" for row in rows), rows


def test_in_process_run(mount_table_kept):
    fds = sorted(os.listdir("/proc/self/fd"))
    res = ioworkload.run(NAME, iterations=10, threads=2)
    assert res.ok, res.mismatches
    assert sorted(os.listdir("/proc/self/fd")) == fds
    assert not os.path.exists(res.tmpdir)


def _children(pid):
    """The pids of every child process of `pid`'s threads (the mount namespace holders)."""
    out = set()
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out |= {int(c) for c in f.read().split()}
    except OSError:
        pass
    return out


def _alive(pid):
    """Running, not a zombie (an exited child its new parent has not reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.parametrize("victim", ["scenario process", "command"])
def test_sigkill_leaves_the_mount_table(mount_table_kept, tmp_path, victim):
    """SIGKILL in the middle of a long run (the scenario process itself, or the command that
    forked it): no mount of the run is left in the host's table, and no child survives."""
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", NAME, "--duration", "60",
                          "--threads", "2", "--start-delay", "0", "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, TMPDIR=str(tmp_path)))  # a killed run's files stay
    pid = int(p.stdout.readline())
    seen = set()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:  # until a namespace child is running
        seen = _children(pid)
    os.kill(pid if victim == "scenario process" else p.pid, signal.SIGKILL)
    p.wait(60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(c) for c in seen):
        time.sleep(0.05)
    assert seen and not any(_alive(c) for c in seen)
    for s in (p.stdout, p.stderr):
        s.close()


def test_ctrl_c_ends_the_run_cleanly(mount_table_kept, tmp_path):
    """SIGINT mid-run: exit 130, teardown done, no child left, the private directory removed."""
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", NAME, "--duration", "60",
                          "--threads", "2", "--start-delay", "0", "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, TMPDIR=str(tmp_path)))
    pid = int(p.stdout.readline())
    seen = set()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        seen = _children(pid)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert seen and not any(_alive(c) for c in seen)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("wrong", [
    'child: pivot_root("<dir>/mnt", "<dir>") -> -EBUSY',              # ior's result on / here
    'child: swapon("<dir>/swapfile", 0) -> 0',
])
def test_a_wrong_manifest_fails(mount_table_kept, wrong):
    sc = registry.get(NAME)
    ev = Event.parse(wrong)
    iteration = tuple(ev if (e.syscall, e.args, e.role) == (ev.syscall, ev.args, ev.role) else e
                      for e in sc.iteration)
    assert iteration != sc.iteration
    res = execute(sc.replace(iteration=iteration), iterations=3)
    assert not res.ok and res.mismatches


def test_unsupported_without_cap_sys_admin(tmp_path):
    """Without CAP_SYS_ADMIN nothing is tried: `unsupported: <why>`, exit 77."""
    import shutil
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv to drop the capability")
    r = subprocess.run(["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin",
                        sys.executable, "-m", "ioworkload", NAME, "-n", "1"],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert r.returncode == 77, r.stderr
    assert r.stderr.startswith("unsupported: needs CAP_SYS_ADMIN")
