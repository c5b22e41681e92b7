"""signals family checks the generic test cannot make: the restart codes, restart_syscall and
rt_sigreturn are witnessed by the kernel and by strace/bpftrace exactly as declared, every
iteration; a run in the caller's process leaves its signal actions, masks, pending signals,
fds and children as they were, and no signal reaches Python; an interrupted run leaves no
(stopped) child; count ranges (the /proc polling) are judged as ranges."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import ioworkload
from ioworkload.core import expect, registry
from ioworkload import judge
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import kernel_can_verify, sampled

SIGNALS = sorted(s.name for s in registry.all_scenarios().values() if s.family == "signals")
# the whole family under strace and bpftrace at 1 and 2 threads takes minutes: a sample unless
# IOWORKLOAD_FULL=1
TRACED = SIGNALS if os.environ.get("IOWORKLOAD_FULL") else ["signal_restart", "stop_restart_twice",
                                                             "signal_reexec"]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers and --verify need root here")


def _status(path):
    with open(path) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _children():
    kids = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            kids |= set(f.read().split())
    return kids


def _state():
    """What a scenario could leave behind in this process: signal actions (ignored/caught),
    pending signals, this thread's mask, fds, child processes."""
    proc = _status("/proc/self/status")
    me = _status("/proc/thread-self/status")
    return ({k: proc[k] for k in ("SigIgn", "SigCgt", "ShdPnd")},
            {k: me[k] for k in ("SigBlk", "SigPnd")},
            set(os.listdir("/proc/self/fd")), _children())


def test_the_state_view_sees_what_a_scenario_could_leave():
    """_state() tells a changed action, a blocked signal and an fd left open."""
    before = _state()
    old = signal.signal(signal.SIGUSR2, lambda signum, frame: None)
    try:
        assert _state() != before
    finally:
        signal.signal(signal.SIGUSR2, old)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
    try:
        assert _state() != before
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})
    fd = os.dup(0)
    try:
        assert _state() != before
    finally:
        os.close(fd)
    assert _state() == before


@pytest.mark.parametrize("name", SIGNALS)
def test_in_process_run_leaves_the_process_as_it_was(name):
    """run() in our own process, 2 workers: SIGUSR1 (our Python handler) and SIGUSR2 are as
    before, nothing pending or blocked, no fd or child left, and the handler never ran."""
    seen = []
    handler = lambda signum, frame: seen.append(signum)  # noqa: E731
    old = signal.signal(signal.SIGUSR1, handler)
    try:
        # a first run of threads makes glibc install its own handler (SIGSETXID, 33): not ours
        ioworkload.run("getppid", iterations=1, threads=2)
        before = _state()
        res = ioworkload.run(name, iterations=3, threads=2)
        assert res.ok, res.mismatches
        assert _state() == before
        assert signal.getsignal(signal.SIGUSR1) is handler
        time.sleep(0.05)  # a signal that reached the main thread would run its handler by now
        assert seen == []
    finally:
        signal.signal(signal.SIGUSR1, old)


@needs_root
@pytest.mark.parametrize("name,rows", [
    ("signal_restart", {"read: returned -ERESTARTSYS": 1, "read: returned 1": 1,
                        "clock_nanosleep: returned -ERESTART_RESTARTBLOCK": 1,
                        "rt_sigreturn: entered": 2}),
    ("stop_restart_twice", {"clock_nanosleep: returned -ERESTART_RESTARTBLOCK": 1,
                            "restart_syscall: returned -ERESTART_RESTARTBLOCK": 1,
                            "restart_syscall: returned 0": 1}),
    ("signal_handled_sleep", {"nanosleep: returned -ERESTART_RESTARTBLOCK": 1,
                              "restart_syscall: returned 0": 1, "rt_sigreturn: entered": 1}),
    ("signal_reexec", {"read: returned -ERESTARTSYS": 3, "read: returned 3": 1,
                       "rt_sigreturn: entered": 2}),
    ("signal_reexec_many", {"read: returned -ERESTARTSYS": 32, "read: returned 32": 1}),
])
def test_the_kernel_sees_each_restart_every_iteration(name, rows):
    if kernel_can_verify() is not None:
        pytest.skip(kernel_can_verify())
    res = ioworkload.run(name, iterations=5, verify=True)
    assert res.verified, res.verification
    witnessed = {r["counter"]: r["witnessed"] for r in res.verification}
    for counter, per_iteration in rows.items():
        assert witnessed[counter] == 5 * per_iteration, counter
    # rt_sigreturn's own exit tracepoint never fires, and none is declared
    assert witnessed.get("rt_sigreturn: returned", 0) == 0


@needs_root
def test_a_manifest_without_the_interruption_fails():
    """Declaring the read of signal_restart as never interrupted (one read -> 1) is caught by
    the tally and by the kernel's counts."""
    if kernel_can_verify() is not None:
        pytest.skip(kernel_can_verify())
    sc = registry.get("signal_restart")
    wrong = tuple(e for e in sc.iteration if str(e.expect) != "-ERESTARTSYS")
    assert len(wrong) == len(sc.iteration) - 1
    res = execute(sc.replace(iteration=wrong), iterations=3, verify=True)
    assert not res.ok and not res.verified


@needs_root
@pytest.mark.parametrize("name,threads,tracer", sampled(TRACED, [1, 2], ["strace", "bpftrace"]))
def test_tracers_see_exactly_the_expect_file(cli, name, tracer, threads):
    r = cli("check", name, "--tracer", tracer, "-n", 3, "-t", threads, "--json", timeout=300)
    if r.returncode == 77:
        pytest.skip(r.stdout + r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [row["status"] for row in json.loads(r.stdout)] == ["exact"], r.stdout


@needs_root
@pytest.mark.parametrize("name", ["stop_restart", "stop_restart_twice", "signal_handled_sleep",
                                  "signal_restart"])
def test_the_declared_restarts_do_not_depend_on_timing(cli, cpu_hog, name):
    """A stop or signal that lands after the sleep it is to cut short has ended would leave a
    sleep that returned 0 and no restart: with every CPU busy, the kernel still counts exactly
    the declared stream, run after run, from the command, in-process and in ior mode (or the
    run would say the stop came too late)."""
    if kernel_can_verify() is not None:
        pytest.skip(kernel_can_verify())
    for _ in range(3):
        r = cli(name, "-n", 2, "-t", 2, "--verify", "-q", timeout=120)
        assert r.returncode == 0, r.stderr
    res = ioworkload.run(name, iterations=2, threads=2, verify=True)  # workers in this process
    assert res.ok and res.verified, (res.mismatches, res.verification)
    if name != "signal_restart":  # ior mode's own sequence: ior's sleeps, a child the stopper
        r = cli(f"--scenario={name.replace('_', '-')}", "--verify", timeout=120,
                env={"IOR_WORKLOAD_STARTUP_DELAY_MS": "0"})
        assert r.returncode == 0, r.stderr


def test_an_interrupted_stop_run_leaves_no_child(cli):
    """SIGINT in the middle of a long stop_restart run: exit 130 and no child of the run left
    (stopped or not)."""
    if registry.get("stop_restart").unsupported_reason():
        pytest.skip(registry.get("stop_restart").unsupported_reason())
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", "stop_restart", "--duration", "60",
                          "--threads", "2", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2.0)  # past start-up, into the loop
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    time.sleep(0.2)
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        if comm == "ioworkload" and fields[0] in "Tt" and int(fields[1]) != os.getpid():
            left.append(pid)
    assert left == []


# ---- count ranges (manifest grammar, expect file, judge) ----

def test_a_count_range_reads_and_prints_back():
    for text, least, most in [("pread64(fd, &buf, 63, 0) -> >=1 x1..", 1, None),
                              ("pread64(fd, &buf, 63, 0) -> >=1 x2..5", 2, 5),
                              ("pread64(fd, &buf, 63, 0) -> >=1 x3", 3, 3)]:
        ev = Event.parse(text)
        assert (ev.times, ev.times_max) == (least, most)
        assert str(ev) == text
        assert Event.parse(str(ev)) == ev
    with pytest.raises(ValueError):
        Event.parse("pread64(fd, &buf, 63, 0) -> >=1 x5..2")
    with pytest.raises(ValueError):
        Event.parse("pread64(fd, &buf, 63, 0) -> >=1 x0")


def _doc_with_range(count):
    return {"tasks": [{"tid": 10, "role": "worker", "index": 0}], "events": [
        {"tid": 10, "role": "worker", "index": 0, "phase": "iteration", "seq": 0,
         "syscall": "pread64", "enter": "x", "exit": "x", "args": None, "ret": {"ge": 1},
         "count": count},
        {"tid": 10, "role": "worker", "index": 0, "phase": "iteration", "seq": 1,
         "syscall": "pread64", "enter": "x", "exit": "x", "args": None, "ret": {"ge": 1},
         "count": 2}]}


@pytest.mark.parametrize("seen,differences", [(2 + 1, 0), (2 + 7, 0), (2, 1), (1, 2)])
def test_the_judge_takes_a_count_range_as_a_range(seen, differences):
    """Two exact calls plus 1.. polls: 3 or 9 calls are exact, 2 leave the range short, 1 also
    the exact event."""
    observed = [{"tid": 10, "syscall": "pread64", "ret": 5}] * seen
    assert len(judge.compare(_doc_with_range({"min": 1, "max": None}), observed)) == differences


def test_the_judge_holds_a_range_to_its_max():
    observed = [{"tid": 10, "syscall": "pread64", "ret": 5}] * (2 + 4 + 1)
    assert judge.compare(_doc_with_range({"min": 1, "max": 4}), observed) == \
        ["too many: pread64 -> 5 on tid 10"]


def test_the_expect_file_states_ranges_and_restart_codes():
    doc = ioworkload.describe("signal_restart")
    assert "helper: pread64(?, &proc_buf, 63, 0) -> >=1 x1.." in doc["iteration"]
    with ioworkload.spawn("signal_restart", iterations=4) as w:
        events = w.expected["events"]
    polls = [e for e in events if e["syscall"] == "pread64"]
    assert [e["count"] for e in polls] == [{"min": 4, "max": None}] * 2
    reads = [e for e in events if e["syscall"] == "read"]
    assert [e["ret"] for e in reads] == [{"errno": 512, "name": "ERESTARTSYS"}, {"eq": 1}]
    sigreturns = [e for e in events if e["syscall"] == "rt_sigreturn"]
    assert [(e["exit"], e["ret"]) for e in sigreturns] == [(None, {"eq": 0}),
                                                         (None, {"errno": 4, "name": "EINTR"})]
    try:
        import jsonschema
    except ImportError:
        return
    with open(os.path.join(os.path.dirname(expect.__file__), "expect.schema.json")) as f:
        jsonschema.validate(w.expected, json.load(f))


def test_strace_restart_codes_are_parsed():
    text = ("101 read(3, 0x7ffd, 1) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)\n"
            "101 clock_nanosleep(0x1, 0, 0x7ffd, NULL) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)\n"
            "101 rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)\n")
    assert [e["ret"] for e in judge.parse_strace(text)] == [-512, -516, -4]


def test_perf_trace_restart_codes_and_sigreturn_are_parsed():
    """perf trace cannot name 512/516 (it prints strerror_r's failure) and prints rt_sigreturn's
    entry with no return: both are read as what they are."""
    from ioworkload.judge import conformance
    text = (
        "84.616 ( 0.507 ms): t/1702 read(fd: 3, buf: 0x7ffc0a6e2f37, count: 1)   = -1 (unknown) "
        "(INTERNAL ERROR: strerror_r(512, [buf], 128)=22)\n"
        "85.142 (         ): t/1702 rt_sigreturn()                               ...\n"
        "85.151 (         ): t/1702 read(fd: 3, buf: 0x7ffc0a6e2f37, count: 1)   ...\n"
        "85.151 ( 1.122 ms): t/1702  ... [continued]: read())                    = 1\n"
        "86.284 ( 0.076 ms): t/1702 clock_nanosleep(which_clock: 1, rqtp: 0x7ffc0a6e2f20) = -1 "
        "(unknown) (INTERNAL ERROR: strerror_r(516, [buf], 128)=22)\n")
    events, _ = conformance.parse_perf_trace(text, 1702)
    assert [(e["syscall"], e["ret"]) for e in events] == [
        ("read", -512), ("rt_sigreturn", "unknown"), ("read", 1), ("clock_nanosleep", -516)]
