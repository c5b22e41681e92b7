"""timers family checks the generic tests do not make: the command line verifies each scenario,
strace and bpftrace attached by PID see exactly the expect file, no timer, fd or file outlives a
run, a caller's armed ITIMER_REAL is never disarmed, and wrong manifests of this family fail."""

import os
import signal

import pytest

import ioworkload
from ioworkload.judge import conformance
from ioworkload.core import registry
from ioworkload.core.errors import Unsupported
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import MANY, kernel_can_verify, sampled

TIMERS = sorted(s.name for s in registry.all_scenarios().values() if s.family == "timers")
needs_kernel = pytest.mark.skipif(kernel_can_verify() is not None, reason=str(kernel_can_verify()))
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers attach as root here")


def _skip_unsupported(name):
    reason = registry.get(name).unsupported_reason()
    if reason:
        pytest.skip(reason)


def test_the_family_is_ior_s_four():
    assert TIMERS == ["interval_timer_noop", "polling_epoll", "posix_timer_lifecycle",
                      "sleep_syscalls"]


@needs_kernel
@pytest.mark.parametrize("args", [["-n", "1"], ["-n", str(MANY), "-t", "2"]])
@pytest.mark.parametrize("name", TIMERS)
def test_cli_verifies(cli, name, args):
    _skip_unsupported(name)
    p = cli(name, *args, "--verify", "-q")
    assert p.returncode == 0, p.stdout + p.stderr


@needs_root
@pytest.mark.parametrize("name,threads,tracer", sampled(TIMERS, [1, 2], ["strace", "bpftrace"]))
def test_tracers_by_pid_see_exactly_the_expect_file(name, threads, tracer):
    _skip_unsupported(name)
    t = conformance.PRESETS[tracer]()
    if t.unavailable():
        pytest.skip(t.unavailable())
    v = conformance.run_one(name, t, iterations=3, threads=threads)
    assert v.status == "exact", v.differences[:5]


def _posix_timers():
    """This process's POSIX timers, as /proc lists them (one 'ID:' line each)."""
    with open("/proc/self/timers") as f:
        return [line for line in f if line.startswith("ID:")]


@pytest.mark.parametrize("name", TIMERS)
def test_nothing_left_behind(name):
    _skip_unsupported(name)
    fds = set(os.listdir("/proc/self/fd"))
    timers = _posix_timers()
    res = ioworkload.run(name, iterations=20, threads=2)
    assert res.ok, res.mismatches
    assert set(os.listdir("/proc/self/fd")) == fds
    assert _posix_timers() == timers
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_the_timer_view_sees_a_timer():
    """_posix_timers() above would see a timer left behind: one of ours, made through libc."""
    import ctypes
    librt = ctypes.CDLL(None, use_errno=True)
    timer = ctypes.c_void_p()
    if librt.timer_create(1, None, ctypes.byref(timer)) != 0:  # CLOCK_MONOTONIC
        pytest.skip("timer_create refused here")
    try:
        assert len(_posix_timers()) >= 1
    finally:
        librt.timer_delete(timer)
    assert _posix_timers() == []


def test_an_armed_itimer_real_is_left_alone():
    """run() in a caller whose ITIMER_REAL is armed: unsupported, and the timer still runs."""
    old = signal.signal(signal.SIGALRM, lambda *a: None)
    signal.setitimer(signal.ITIMER_REAL, 600)
    try:
        with pytest.raises(Unsupported, match="ITIMER_REAL"):
            ioworkload.run("interval_timer_noop", iterations=1)
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("name,right,wrong", [
    # a wait that timed out (0) instead of finding the byte
    ("polling_epoll", "epoll_wait(ep, &events, 4, 100) -> 1", "epoll_wait(ep, &events, 4, 100) -> 0"),
    ("polling_epoll", "pselect6(?, {?}, NULL, NULL, {0, 100000000}, NULL) -> 1",
     "pselect6(?, {?}, NULL, NULL, {0, 100000000}, NULL) -> 2"),
    ("posix_timer_lifecycle", "timer_getoverrun(?) -> 0", "timer_getoverrun(?) -> 1"),
    ("sleep_syscalls", "nanosleep({tv_sec=0, tv_nsec=2000000}, NULL) -> 0",
     "nanosleep({tv_sec=0, tv_nsec=2000000}, NULL) -> -EINTR"),
])
def test_a_wrong_manifest_fails(name, right, wrong):
    _skip_unsupported(name)
    sc = registry.get(name)
    iteration = tuple(Event.parse(wrong) if str(e) == right else e for e in sc.iteration)
    assert iteration != sc.iteration, f"{right!r} is not in {name}'s manifest"
    res = execute(sc.replace(iteration=iteration), iterations=3)
    assert not res.ok and res.mismatches


@needs_kernel
def test_clock_gettime_is_a_syscall_the_kernel_counts():
    """sleep_syscalls' clock_gettime is the syscall, not the vDSO: a manifest without it is
    caught by the kernel's count."""
    sc = registry.get("sleep_syscalls")
    wrong = sc.replace(iteration=tuple(e for e in sc.iteration if e.syscall != "clock_gettime"))
    res = execute(wrong, iterations=3, verify=True)
    assert not res.verified


@pytest.mark.parametrize("name", ["sleep_syscalls", "polling_epoll", "posix_timer_lifecycle"])
def test_ctrl_c_ends_a_long_run_cleanly(name):
    """SIGINT in the middle of a --duration 60 run: the iteration in progress ends (a sleep is
    a few ms), teardown runs, exit 130 with the partial result."""
    import subprocess
    import sys
    import time
    _skip_unsupported(name)
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", name, "--duration", "60",
                          "--threads", "2", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # past start-up, into the loop
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    import json
    res = json.loads(out)
    assert res["interrupted"] and all(e["matched"] for e in res["events"]), res["events"]
