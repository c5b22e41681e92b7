"""ipc family checks the generic test cannot make: no kernel object outlives a run (SysV ids as
`ipcs` lists them, POSIX queues in /dev/mqueue, BPF maps by name, fds), also when the run is
interrupted; the legacy calls are the legacy numbers; fanotify_marks and bpf_map_create_basic
are seen exactly by strace and bpftrace, and are unsupported (exit 77, the reason named) without
the capability; a wrong manifest of this family is caught."""

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import ioworkload
from ioworkload.judge import conformance
from ioworkload.core import expect, registry
from ioworkload.core.errors import Unsupported
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import kernel_can_verify, sampled

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
    ("fanotify_marks", 'fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN, t, "") -> 0'),  # -ENOENT
    ("fanotify_marks", "fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, NULL) -> -ENOENT"),
    ("bpf_map_create_basic", "close(fd) -> -EBADF"),
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


# ---- BPF maps: the kernel's own list, by id, with each map's name ----

_BPF_MAP_GET_NEXT_ID, _BPF_MAP_GET_FD_BY_ID, _BPF_OBJ_GET_INFO_BY_FD = 12, 14, 15
_libc = ctypes.CDLL(None, use_errno=True)


def _bpf(cmd, attr):
    return _libc.syscall(expect.syscall_number("bpf"), cmd, ctypes.byref(attr),
                         ctypes.sizeof(attr))


def _bpf_map_names():
    """The name of every BPF map alive now (maps being freed can no longer be opened by id)."""
    names = []
    map_id = 0
    while True:
        attr = (ctypes.c_uint32 * 3)(map_id, 0, 0)   # start_id, next_id, open_flags
        if _bpf(_BPF_MAP_GET_NEXT_ID, attr) != 0:
            return names                               # ENOENT: no more ids
        map_id = attr[1]
        by_id = (ctypes.c_uint32 * 3)(map_id, 0, 0)  # map_id, next_id, open_flags
        fd = _bpf(_BPF_MAP_GET_FD_BY_ID, by_id)
        if fd < 0:
            continue                                   # gone meanwhile
        try:
            info = ctypes.create_string_buffer(88)     # bpf_map_info up to its name and more
            req = (ctypes.c_uint32 * 4)(fd, 88, 0, 0)  # bpf_fd, info_len, info (u64)
            ctypes.c_uint64.from_buffer(req, 8).value = ctypes.addressof(info)
            if _bpf(_BPF_OBJ_GET_INFO_BY_FD, req) == 0:
                names.append(info.raw[24:40].split(b"\0")[0].decode())
        finally:
            os.close(fd)


def _skip_unless_supported(name):
    reason = registry.get(name).unsupported_reason()
    if reason:
        pytest.skip(reason)


def test_the_map_view_sees_a_map():
    """_bpf_map_names() would see a map left behind: one of ours, open while we look."""
    _skip_unless_supported("bpf_map_create_basic")
    attr = (ctypes.c_uint32 * 18)()   # the 72-byte prefix of union bpf_attr
    attr[0], attr[1], attr[2], attr[3] = 2, 4, 8, 1   # BPF_MAP_TYPE_ARRAY, key 4, value 8, 1
    ctypes.memmove(ctypes.addressof(attr) + 28, b"iow_view_test", 13)
    fd = _bpf(0, attr)                # BPF_MAP_CREATE
    assert fd >= 0, os.strerror(ctypes.get_errno())
    try:
        assert "iow_view_test" in _bpf_map_names()
    finally:
        os.close(fd)
    assert "iow_view_test" not in _bpf_map_names()


def test_no_bpf_map_left_behind():
    _skip_unless_supported("bpf_map_create_basic")
    before = _bpf_map_names().count("ior_s4_map")
    res = ioworkload.run("bpf_map_create_basic", iterations=50, threads=2)
    assert res.ok, res.mismatches
    assert _bpf_map_names().count("ior_s4_map") == before


def test_bpf_attr_is_ior_s_72_bytes():
    from ioworkload.families import ipc
    assert ipc.BPF_MAP_ATTR_BYTES == 72


@pytest.mark.skipif(os.geteuid() != 0, reason="tracers attach as root here")
@pytest.mark.parametrize("name,threads,tracer", sampled(["fanotify_marks", "bpf_map_create_basic"],
                                                       [1, 2], ["strace", "bpftrace"]))
def test_tracers_by_pid_see_exactly_the_expect_file(name, threads, tracer):
    _skip_unless_supported(name)
    t = conformance.PRESETS[tracer]()
    if t.unavailable():
        pytest.skip(t.unavailable())
    v = conformance.run_one(name, t, iterations=3, threads=threads)
    assert v.status == "exact", v.differences[:5]


@pytest.mark.parametrize("name,why", [
    ("fanotify_marks", "needs CAP_SYS_ADMIN"),
    ("bpf_map_create_basic", "BPF_MAP_CREATE is refused here"),
])
def test_without_the_capability_is_unsupported(name, why):
    """Every capability dropped (setpriv empties the bounding set, so the exec'd root keeps
    none): exit 77 and the reason, never a failed run."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop capabilities")
    p = subprocess.run(["setpriv", "--bounding-set=-all", "--inh-caps=-all", sys.executable,
                        "-m", "ioworkload", name, "-n", "1"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 77, p.stdout + p.stderr
    assert p.stderr.startswith("unsupported: ") and why in p.stderr and "\n" == p.stderr[-1:]
    assert p.stderr.count("\n") == 1


def test_interrupted_bpf_run_leaves_no_map():
    """SIGINT in the middle of a long bpf_map_create_basic run: exit 130, no ior_s4_map left."""
    _skip_unless_supported("bpf_map_create_basic")
    before = _bpf_map_names().count("ior_s4_map")
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", "bpf_map_create_basic",
                          "--duration", "60", "--threads", "2", "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)  # past start-up, into the loop
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert _bpf_map_names().count("ior_s4_map") == before
