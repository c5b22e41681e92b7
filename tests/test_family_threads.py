"""threads family checks the generic test cannot make: the spawned process (CLI) passes
--verify, its helper threads and forked children included; strace and bpftrace attached by PID
see exactly the expect file; no thread, child, fd or file outlives a run, also when it is
interrupted; the declared tasks are counted right; a wrong manifest of this family is caught."""

import os
import signal
import subprocess
import sys
import time

import pytest

import ioworkload
from ioworkload import judge
from ioworkload.core import registry
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import (MANY, check_is_exact_at_1_and_2_threads, kernel_can_verify,
                      run_leaves_nothing_behind, sampled)

THREADS = sorted(s.name for s in registry.all_scenarios().values() if s.family == "threads")
FULL = bool(os.environ.get("IOWORKLOAD_FULL"))
# under strace by default: a helper pool, a sibling thread, a forked child, signals
TRACED = THREADS if FULL else ["thread_comm_late_rename", "thread_comm_rename_in_open",
                               "fork_inherit_fds", "noreturn_syscalls"]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers attach as root here")
_no_verify = kernel_can_verify()


def _skip_unsupported(name):
    reason = registry.get(name).unsupported_reason()
    if reason:
        pytest.skip(reason)


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("args", [["-n", "1"], ["-n", str(MANY), "-t", "2"]])
@pytest.mark.parametrize("name", THREADS)
def test_spawned_process_is_verified(cli, name, args):
    """The CLI's own process (worker 0 is its main thread, exit_group its end) with --verify."""
    _skip_unsupported(name)
    r = cli(name, *args, "--verify", "-q", timeout=300)
    assert r.returncode == 0, r.stderr


@needs_root
@pytest.mark.parametrize("name,tracer", sampled(TRACED, ["strace", "bpftrace"]))
def test_tracers_see_exactly_the_expect_file(cli, name, tracer):
    _skip_unsupported(name)
    check_is_exact_at_1_and_2_threads(cli, name, tracer)


@pytest.mark.parametrize("name", THREADS)
def test_nothing_left_behind(name):
    _skip_unsupported(name)
    run_leaves_nothing_behind(name)


def test_interrupted_burst_reaps_its_children():
    """SIGINT while getppid_burst's children are busy: exit 130, and both children (one per
    worker, alive for the whole run) are gone, reaped by their workers' teardown."""
    _skip_unsupported("getppid_burst")
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", "getppid_burst", "--duration", "60",
                          "-t", "2", "-q", "--start-delay", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid = int(p.stdout.readline())
    children: set = set()
    deadline = time.monotonic() + 20
    while len(children) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                children |= set(f.read().split())
    assert len(children) == 2
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert not any(os.path.exists(f"/proc/{c}") for c in children)


def test_tasks_are_counted_per_clone():
    """The expect file counts each kind of created task from its clone's returns in the new
    task: 40 threads an iteration, 2 (a thread and its sibling), one child for the run."""
    for name, role, per_pass, each_iteration in [
            ("thread_comm_short_lived", "helper", 40, True),
            ("thread_comm_rename_in_open", "helper", 2, True),
            ("getppid_burst", "child", 1, False)]:
        if registry.get(name).unsupported_reason():
            continue
        res = ioworkload.run(name, iterations=3, threads=1)
        task = next(t for t in res.expected["tasks"] if t["role"] == role)
        want = per_pass * (3 if each_iteration else 1)
        assert (task["per_pass"], task["each_iteration"]) == (per_pass, each_iteration)
        assert task["instances"] == len(task["tids"]) == want and task["tids_complete"]


def test_rt_sigreturn_is_judged_by_the_register_it_restores():
    """rt_sigreturn has no sys_exit tracepoint of its own, but it returns: to the code the
    signal interrupted, with that code's register, which strace prints and the manifest
    declares (noreturn_syscalls: tgkill's 0). Another value is wrong; exit shown with a
    return is wrong too."""
    doc = {"tasks": [{"tid": 7, "role": "worker", "index": 0}],
           "events": [{"tid": 7, "role": "worker", "index": 0, "phase": "iteration", "seq": 0,
                       "syscall": "rt_sigreturn", "enter": "x", "exit": None, "args": None,
                       "ret": {"eq": 0}, "count": 1},
                      {"tid": 7, "role": "worker", "index": 0, "phase": "iteration", "seq": 1,
                       "syscall": "exit", "enter": "x", "exit": None, "args": None,
                       "ret": {"noreturn": True}, "count": 1}]}
    assert judge.compare(doc, [{"tid": 7, "syscall": "rt_sigreturn", "ret": 0},
                               {"tid": 7, "syscall": "exit", "ret": None}]) == []
    assert judge.compare(doc, [{"tid": 7, "syscall": "rt_sigreturn", "ret": -4},
                               {"tid": 7, "syscall": "exit", "ret": None}])
    assert judge.compare(doc, [{"tid": 7, "syscall": "rt_sigreturn", "ret": 0},
                               {"tid": 7, "syscall": "exit", "ret": 0}])


@pytest.mark.parametrize("name,wrong", [
    ("thread_comm_short_lived", "helper: pread64(?, &buf, 8, 0) -> 8 x159"),    # a count
    ("fork_inherit_fds", "child: read(?, &buf, 1) -> 0"),                    # a child's return
    ("thread_comm_rename_in_open", 'helper: write(?, "fifo-renamed", 12) -> 11'),
])
def test_a_wrong_manifest_fails(name, wrong):
    sc = registry.get(name)
    if sc.unsupported_reason():
        pytest.skip(sc.unsupported_reason())
    ev = Event.parse(wrong)
    iteration = tuple(ev if (e.role, e.syscall, e.args) == (ev.role, ev.syscall, ev.args) else e
                      for e in sc.iteration)
    assert iteration != sc.iteration
    res = execute(sc.replace(iteration=iteration), iterations=3)
    assert not res.ok and res.mismatches


def test_an_undeclared_helper_call_is_witnessed():
    """The kernel's count catches a manifest that leaves out a helper thread's gettid."""
    if kernel_can_verify() is not None:
        pytest.skip(kernel_can_verify())
    sc = registry.get("thread_exit_keeps_fd")
    _skip_unsupported(sc.name)
    wrong = sc.replace(iteration=tuple(e for e in sc.iteration if e.syscall != "gettid"),
                       kernel=sc.kernel)
    res = execute(wrong, iterations=5, verify=True)
    assert not res.verified
