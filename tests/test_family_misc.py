"""misc family: each scenario from the command line with --verify (1 and 100 iterations, 2
threads), under strace judged against its expect file, the caller's thread state (nice, I/O
priority, affinity, policy, alarm) untouched by an in-process run, wrong manifests caught; and
`crash`, ior's failing target: its PID line, every declared call, then exit status 1."""

import json
import os
import signal
import subprocess

import pytest

import ioworkload
from ioworkload.core import _runner, expect, registry
from ioworkload.core.errors import Unsupported
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import kernel_can_verify

MISC = ["misc_basic", "sched_basic", "priority_basic", "ioprio_basic", "family_mixed"]
_no_verify = kernel_can_verify()


def _skip_unsupported(name):
    why = registry.get(name).unsupported_reason()
    if why:
        pytest.skip(why)


def test_family_lists_ior_order():
    names = [s.name for s in registry.all_scenarios().values() if s.family == "misc"]
    assert names == MISC + ["crash"]


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("iterations,threads", [(1, 1), (100, 1), (100, 2)])
@pytest.mark.parametrize("name", MISC + ["crash"])
def test_cli_verify(cli, name, iterations, threads):
    _skip_unsupported(name)
    r = cli(name, "-n", iterations, "-t", threads, "--verify", "--json")
    res = json.loads(r.stdout)
    assert res["verified"] is True and res["mismatches"] == [], r.stderr
    if name == "crash":
        assert r.returncode == 1 and "intentional crash for testing" in r.stderr
        assert res["calls"]["getppid"]["count"] == iterations * threads
    else:
        assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", MISC + ["crash"])
def test_strace_sees_exactly_the_expect_file(cli, name, threads):
    _skip_unsupported(name)
    r = cli("check", name, "--tracer", "strace", "-t", threads, "--json", timeout=300)
    rows = json.loads(r.stdout)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert rows and all(row["status"] == "exact" for row in rows), rows


def _thread_state():
    """What the scenarios read and write back, as the calling thread has it."""
    ioprio_get = expect.syscall_number("ioprio_get")
    return (os.getpriority(os.PRIO_PROCESS, 0), _runner.raw_syscall(ioprio_get, 1, 0),
            os.sched_getaffinity(0), os.sched_getscheduler(0), os.sched_getparam(0),
            signal.getitimer(signal.ITIMER_REAL), sorted(os.listdir("/proc/self/fd")))


@pytest.mark.parametrize("name", MISC)
def test_in_process_run_leaves_the_caller_as_it_was(name):
    _skip_unsupported(name)
    before = _thread_state()
    res = ioworkload.run(name, iterations=20, threads=2)
    assert res.ok, res.mismatches
    assert _thread_state() == before
    if res.tmpdir:
        assert not os.path.exists(res.tmpdir)


def test_a_pending_alarm_is_never_cancelled():
    """misc_basic's alarm(0) would cancel the caller's alarm: unsupported, and the alarm stays."""
    old = signal.signal(signal.SIGALRM, lambda *a: None)
    signal.setitimer(signal.ITIMER_REAL, 100.0)
    try:
        with pytest.raises(Unsupported, match="alarm"):
            ioworkload.run("misc_basic")
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 90
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("name,wrong", [
    ("misc_basic", "vmsplice(?, [{&zeroes, 16}], 1, 0) -> 15"),          # the byte count
    ("sched_basic", "sched_getscheduler(0) -> 1"),                        # the policy
    ("priority_basic", "getpriority(PRIO_PROCESS, 0) -> -EPERM"),         # a call that succeeds
    ("family_mixed", 'write(fd, "family", 6) -> 7'),
])
def test_a_wrong_manifest_fails(name, wrong):
    _skip_unsupported(name)
    sc = registry.get(name)
    ev = Event.parse(wrong)
    iteration = tuple(ev if e.syscall == ev.syscall and e.args == ev.args else e
                      for e in sc.iteration)
    assert iteration != sc.iteration
    res = execute(sc.replace(iteration=iteration), iterations=5)
    assert not res.ok and res.mismatches


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
def test_an_undeclared_call_is_witnessed():
    """The kernel's count catches a manifest that leaves out family_mixed's nanosleep."""
    sc = registry.get("family_mixed")
    wrong = sc.replace(iteration=tuple(e for e in sc.iteration if e.syscall != "nanosleep"))
    res = execute(wrong, iterations=10, verify=True)
    assert not res.verified


# ---- crash ----

def test_crash_is_unsupported_in_the_callers_process():
    with pytest.raises(Unsupported, match="process of its own"):
        ioworkload.run("crash")


def test_crash_prints_its_pid_then_exits_1(cli, tmp_path):
    """ior's harness check: the PID line first, then exit 1; the expect file ends the main
    thread with exit_group(1) and says exit_status 1."""
    path = tmp_path / "expect.json"
    r = cli("crash", "-n", 3, "--start-delay", 0, "--expect-file", path, "-q")
    assert r.returncode == 1
    pid = int(r.stdout.splitlines()[0])
    assert "scenario crash failed: intentional crash for testing" in r.stderr
    doc = json.loads(path.read_text())
    assert doc["pid"] == pid and doc["exit_status"] == 1
    last = [e for e in doc["events"] if e["tid"] == pid][-1]
    assert last["syscall"] == "exit_group" and last["args"] == {"error_code": 1}
    assert last["ret"] == {"noreturn": True}


def test_crash_process_really_exits_1_under_a_tracer(tmp_path):
    """strace, attached by PID, sees the scenario process itself end with exit_group(1) and
    status 1, exactly as the expect file says; an expect file doctored to another status is
    caught."""
    import copy
    import time
    from ioworkload import judge
    out = tmp_path / "seen.txt"
    with ioworkload.spawn("crash", iterations=2) as w:
        strace = subprocess.Popen(["strace", "-f", "-q", "-X", "raw", "-o", str(out),
                                   "-p", str(w.pid)], stderr=subprocess.DEVNULL)
        time.sleep(1)
        w.start()
        res = w.wait()
        w.release()
        code = w.close()
    strace.wait(60)
    assert code == 1 and res.ok
    text = out.read_text()
    assert "+++ exited with 1 +++" in text
    seen = judge.parse_strace(text)
    assert judge.compare(res.expected, seen, sees_exit_only=False) == []
    doctored = copy.deepcopy(res.expected)
    last = [e for e in doctored["events"] if e["syscall"] == "exit_group"][-1]
    assert last["args"] == {"error_code": 1}
    last["args"]["error_code"] = 0
    assert judge.compare(doctored, seen, sees_exit_only=False) != []
