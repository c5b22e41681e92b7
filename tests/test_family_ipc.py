"""ipc family checks the generic test cannot make: no kernel object outlives a run (SysV ids as
`ipcs` lists them, POSIX queues in /dev/mqueue, fds), also when the run is interrupted; the
legacy calls are the legacy numbers; a wrong manifest of this family is caught."""

import os
import signal
import subprocess
import sys
import time

import pytest

import ioworkload
from ioworkload import expect, registry
from ioworkload.errors import Unsupported
from ioworkload.manifest import Event
from ioworkload.runner import execute

from conftest import kernel_can_verify

IPC = sorted(s.name for s in registry.all_scenarios().values() if s.family == "ipc")
MQUEUE = "/dev/mqueue"
_mq_dir = MQUEUE if os.path.isdir(MQUEUE) else None


@pytest.fixture(scope="module", autouse=True)
def mqueue_view(tmp_path_factory):
    """/dev/mqueue where it is mounted; otherwise (as root) the same mqueue filesystem mounted
    on a directory of ours for this module, and unmounted after (the mount table stays)."""
    global _mq_dir
    if _mq_dir is not None or os.geteuid() != 0:
        yield
        return
    d = tmp_path_factory.mktemp("mqueue")
    if subprocess.run(["mount", "-t", "mqueue", "none", str(d)]).returncode != 0:
        yield
        return
    _mq_dir = str(d)
    try:
        yield
    finally:
        _mq_dir = None
        subprocess.run(["umount", str(d)], check=True)


def _sysv_ids():
    """Every SysV object's (kind, id): what `ipcs` reads (/proc/sysvipc)."""
    ids = set()
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                next(f)  # the header
                ids |= {(kind, int(line.split()[1])) for line in f if line.strip()}
        except FileNotFoundError:  # a kernel without SysV IPC
            pass
    return ids


def _queues():
    return set(os.listdir(_mq_dir)) if _mq_dir else set()


def _state():
    return _sysv_ids(), _queues(), set(os.listdir("/proc/self/fd"))


def test_the_views_see_objects():
    """The helper above sees an object ipcs shows: a segment we create and remove ourselves."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    shmid = libc.shmget(0, 4096, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT|0600
    if shmid < 0:
        pytest.skip("no SysV shared memory here")
    try:
        assert ("shm", shmid) in _sysv_ids()
    finally:
        assert libc.shmctl(shmid, 0, None) == 0  # IPC_RMID
    assert ("shm", shmid) not in _sysv_ids()
    if _mq_dir:  # a queue of ours shows in the mqueue view while it exists
        name = f"ioworkload-test-{os.getpid()}"
        mqd = libc.syscall(expect.syscall_number("mq_open"), name.encode(),
                           os.O_CREAT | os.O_RDWR, 0o600, None)
        assert mqd >= 0
        try:
            assert name in _queues()
        finally:
            os.close(mqd)
            libc.syscall(expect.syscall_number("mq_unlink"), name.encode())
        assert name not in _queues()


@pytest.mark.parametrize("name", IPC)
def test_no_object_left_behind(name):
    before = _state()
    try:
        res = ioworkload.run(name, iterations=50, threads=2)
    except Unsupported as e:
        pytest.skip(f"unsupported: {e}")
    assert res.ok, res.mismatches
    assert _state() == before


@pytest.mark.parametrize("name", ["mq_posix_basic", "sysv_shm_basic", "sysv_msg_basic",
                                  "sysv_sem_basic", "pipe2_basic"])
def test_interrupted_run_leaves_no_object(name):
    """SIGINT in the middle of a long run: exit 130, and no queue, SysV object or fd stays."""
    if registry.get(name).unsupported_reason():
        pytest.skip(registry.get(name).unsupported_reason())
    sysv, queues, _ = _state()
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", name, "--duration", "60",
                          "--threads", "2", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)  # past start-up, into the loop
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert (_sysv_ids(), _queues()) == (sysv, queues)


def test_legacy_numbers_are_issued():
    """pipe_basic and eventfd_basic issue the legacy calls themselves, not pipe2/eventfd2."""
    for name, legacy, modern in [("pipe_basic", "pipe", "pipe2"),
                                 ("eventfd_basic", "eventfd", "eventfd2")]:
        sc = registry.get(name)
        if sc.unsupported_reason():
            continue
        assert [e.syscall for e in sc.iteration].count(legacy) == 1
        assert modern not in sc.syscalls


@pytest.mark.parametrize("name,wrong", [
    ("sysv_msg_basic", "msgrcv(id, &buf, 12, 0, 0) -> 11"),        # the byte count
    ("inotify_basic", "inotify_rm_watch(ino, wd) -> -EINVAL"),    # a call that succeeds
    ("mq_posix_basic", "mq_timedreceive(mqd, &buf, 128, &prio, &deadline) -> 13"),
])
def test_a_wrong_manifest_fails(name, wrong):
    sc = registry.get(name)
    if sc.unsupported_reason():
        pytest.skip(sc.unsupported_reason())
    ev = Event.parse(wrong)
    iteration = tuple(ev if e.syscall == ev.syscall and e.args == ev.args else e
                      for e in sc.iteration)
    assert iteration != sc.iteration
    res = execute(sc.replace(iteration=iteration), iterations=5)
    assert not res.ok and res.mismatches


def test_an_undeclared_call_is_witnessed():
    """The kernel's count catches a manifest that leaves out pipe2_basic's write."""
    if kernel_can_verify() is not None:
        pytest.skip(kernel_can_verify())
    sc = registry.get("pipe2_basic")
    wrong = sc.replace(iteration=tuple(e for e in sc.iteration if e.syscall != "write"))
    res = execute(wrong, iterations=20, verify=True)
    assert not res.verified


def test_fanotify_passes_the_kernels_o_largefile():
    """libc's O_LARGEFILE is 0 on 64-bit: the module's own value must be <linux/fcntl.h>'s."""
    from ioworkload.families import fd, ipc
    assert ipc.KERNEL_O_LARGEFILE == fd.CONSTANTS["O_LARGEFILE"] != 0
