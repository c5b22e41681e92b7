"""security family checks the generic tests cannot make: each scenario through the CLI in a
process of its own (children and helper threads included) with --verify; real tracers
attached by PID judge it exact (strace sees seccomp's denied calls whole, bpftrace only their
returns); nothing outlives a run (children reaped, fds closed, no key left, no filter or
no_new_privs on any thread of ours); wrong manifests of this family are caught."""

import os
import signal
import subprocess
import sys
import time

import pytest

import ioworkload
from ioworkload import judge
from ioworkload.judge import conformance
from ioworkload.core import expect, registry
from ioworkload.core.errors import Unsupported
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import MANY, kernel_can_verify, sampled

SECURITY = sorted(s.name for s in registry.all_scenarios().values() if s.family == "security")
IOR_ORDER = ["security_getrandom", "flock_basic", "pidfd_send_signal", "pidfd_getfd_success",
             "pidfd_getfd_failure", "security_keys_ptrace_perf", "security_landlock",
             "seccomp_denied"]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers and --verify need root here")
_no_verify = kernel_can_verify()


def _skip_unsupported(name):
    reason = registry.get(name).unsupported_reason()
    if reason:
        pytest.skip(f"unsupported: {reason}")


def _children():
    """Our unreaped children (a zombie counts): what a run must never leave."""
    try:
        with open(f"/proc/self/task/{os.getpid()}/children") as f:
            kids = f.read().split()
    except OSError:
        kids = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                kids += f.read().split()
        except OSError:
            pass
    return set(kids)


def _status_fields():
    """Seccomp and NoNewPrivs of every thread of this process."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                out[tid] = [l.split()[1] for l in f if l.startswith(("Seccomp:", "NoNewPrivs:"))]
        except OSError:
            pass
    return out


def _our_keys():
    """Keys of ours /proc/keys shows (the user key and the private keyring)."""
    try:
        with open("/proc/keys") as f:
            return [l for l in f if "ior-key" in l or "keyring   ioworkload" in l
                    or l.rstrip().endswith("ioworkload: empty")]
    except OSError:
        return []


def test_family_is_ior_catalog_4_14():
    assert sorted(IOR_ORDER) == SECURITY
    assert [n for n in registry.all_scenarios() if n in IOR_ORDER] == IOR_ORDER


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("args", [("-n", "1"), ("-n", str(MANY), "-t", "2")])
@pytest.mark.parametrize("name", SECURITY)
def test_cli_verify_in_a_process_of_its_own(cli, name, args):
    """The scenario process (main thread = worker 0, its children and helpers) is counted by
    the kernel exactly as declared."""
    _skip_unsupported(name)
    p = cli(name, *args, "--verify", "--json", timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr
    assert '"verified": true' in p.stdout


@pytest.mark.parametrize("name", SECURITY)
def test_nothing_outlives_a_run(name):
    """In-process (ioworkload.run in this very process): fds closed, children reaped, no key
    left, and no thread of ours carries a seccomp filter or no_new_privs afterwards."""
    _skip_unsupported(name)
    fds = set(os.listdir("/proc/self/fd"))
    kids, status, keys = _children(), _status_fields(), _our_keys()
    res = ioworkload.run(name, iterations=20, threads=2)
    assert res.ok, res.mismatches
    assert set(os.listdir("/proc/self/fd")) == fds
    assert _children() == kids
    # revoked, unlinked, then freed by the kernel's key collector (a workqueue: shortly after)
    deadline = time.monotonic() + 10
    while _our_keys() != keys and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _our_keys() == keys
    now = _status_fields()
    assert all(now[t] == status[t] for t in now if t in status)
    assert all(v == ["0", "0"] or v == status.get(t) for t, v in now.items())


def test_keys_are_revoked_and_unlinked_in_teardown():
    """The teardown's keyctl calls returned 0: the key was revoked and the keyring unlinked
    while the worker thread still lived (not merely dropped with the thread)."""
    _skip_unsupported("security_keys_ptrace_perf")
    res = ioworkload.run("security_keys_ptrace_perf", iterations=3)
    assert res.ok, res.mismatches
    teardown = [e for e in res.events if e["phase"] == "teardown"]
    assert [e["event"].split("(")[1].split(",")[0] for e in teardown] == \
        ["KEYCTL_REVOKE", "KEYCTL_UNLINK"]
    assert all(e["count"] == 1 and e["ok"] == 1 for e in teardown)


@pytest.mark.parametrize("name", ["pidfd_getfd_success", "seccomp_denied"])
def test_interrupted_run_leaves_nothing(name):
    """SIGINT in the middle of a long run: exit 130, children reaped, private dir removed."""
    _skip_unsupported(name)
    tmp = os.environ["TMPDIR"]
    before = set(os.listdir(tmp))
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", name, "--duration", "60",
                          "--threads", "2", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert set(os.listdir(tmp)) == before
    ps = subprocess.run(["ps", "-o", "pid=", "--ppid", str(p.pid)], capture_output=True, text=True)
    assert not ps.stdout.strip()


@needs_root
@pytest.mark.parametrize("name,tracer", sampled(
    SECURITY if os.environ.get("IOWORKLOAD_FULL") else
    ["pidfd_getfd_success", "security_keys_ptrace_perf", "seccomp_denied"], ["strace", "bpftrace"]))
def test_tracer_by_pid_sees_exactly_the_expect_file(name, tracer):
    """strace -f and bpftrace attached by PID: every declared call of the worker, its children
    and its helper threads, and nothing else (seccomp_denied: strace shows the filtered calls
    whole, bpftrace their returns only)."""
    _skip_unsupported(name)
    t = conformance.PRESETS[tracer]()
    if t.unavailable():
        pytest.skip(t.unavailable())
    for threads in (1, 2):
        v = conformance.run_one(name, t, iterations=3, threads=threads)
        assert v.status == "exact", (threads, v.differences[:5])


def test_filtered_calls_are_seen_whole_by_ptrace_and_as_returns_by_tracepoints():
    """The expect file marks seccomp's denied calls: no enter tracepoint, an exit one; the
    judge expects them of a ptrace tracer too, and misses them if they are absent."""
    sc = registry.get("seccomp_denied")
    denied = [e for e in sc.iteration if e.filtered]
    assert len(denied) == 1 and denied[0].times == 3 and denied[0].enters
    doc = expect.build(sc, pid=100, tids=[100], dirs=["/tmp/x"], iterations=1,
                       own_process=True, root="/tmp")
    ev = next(e for e in doc["events"] if e.get("filtered"))
    assert ev["enter"] is None and ev["exit"] == "syscalls:sys_exit_fchmod" and ev["count"] == 3
    missing = [f"missing: iteration #{ev['seq']} fchmod -> -EPERM on a helper of worker 0: "
               f"3 of 3 not seen"]
    for sees_exit_only in (True, False):
        diffs = judge.compare(doc, [], sees_exit_only=sees_exit_only)
        assert any(d == missing[0] for d in diffs), diffs


@pytest.mark.parametrize("name,wrong", [
    ("security_getrandom", "getrandom(&buf, 32, 0) -> 16"),
    ("pidfd_getfd_failure", "pidfd_getfd(pidfd, 99999, 0) -> >=0"),
    ("security_keys_ptrace_perf", "ptrace(PTRACE_PEEKDATA, -1, 0, 0) -> 0"),
    ("security_keys_ptrace_perf", "perf_event_open({type=PERF_TYPE_SOFTWARE, size=16, "
                                  "config=PERF_COUNT_SW_CPU_CLOCK}, 0, -1, -1, 0) -> >=0"),
    ("flock_basic", "flock(fd, LOCK_UN) -> -EINVAL"),
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
def test_the_kernel_sees_no_entry_of_a_filtered_call():
    """Declaring seccomp's denied fchmods as ordinary calls (entered) is caught by the kernel's
    counts: raw_syscalls:sys_enter and sys_enter_fchmod miss them."""
    _skip_unsupported("seccomp_denied")
    sc = registry.get("seccomp_denied")
    plain = tuple(e._replace(filtered=False) for e in sc.iteration)
    res = execute(sc.replace(iteration=plain), iterations=5, verify=True)
    assert res.ok  # the tallies cannot tell
    assert not res.verified
    bad = {r["counter"] for r in res.verification if not r["ok"]}
    assert "fchmod: entered" in bad and "raw_syscalls:sys_enter (every syscall)" in bad


def test_perf_trace_lines_naming_a_pids_task_are_read():
    """perf trace prints a pid argument with its task's comm, `pid: 123 (ioworkload)`: the
    number is the argument (this once made the pidfd scenarios' perf trace verdict 'wrong')."""
    text = ("     0.120 ( 0.004 ms): ioworkload/100 pidfd_open(pid: 26374 (ioworkload)) = 5\n"
            "     0.130 ( 0.010 ms): ioworkload/100 wait4(upid: 26374 (ioworkload), stat_addr: "
            "0x7f00, options: 0) = 26374\n")
    events, lost = conformance.parse_perf_trace(text, 100)
    assert lost == 0
    assert [(e["syscall"], e["ret"], e["args"]) for e in events] == [
        ("pidfd_open", 5, {"pid": "26374"}),
        ("wait4", 26374, {"upid": "26374", "stat_addr": "0x7f00", "options": "0"})]


@pytest.mark.parametrize("name,why", [
    ("security_landlock", "Landlock is not available (ENOSYS)"),
    ("security_keys_ptrace_perf", "key management (keyctl) is not available here (ENOSYS)"),
    ("seccomp_denied", "seccomp filters with SECCOMP_RET_ERRNO are not available here (ENOSYS)"),
    ("pidfd_getfd_success", "does not implement pidfd_open (ENOSYS)"),
])
def test_a_kernel_without_the_feature_is_unsupported(monkeypatch, name, why):
    """Each requirement asks the kernel; a kernel that answers ENOSYS makes the scenario
    unsupported with the reason named (the CLI's exit 77)."""
    from ioworkload.core import _runner
    monkeypatch.setattr(_runner, "raw_syscall", lambda *args: -38)
    reason = registry.get(name).unsupported_reason()
    assert reason and why in reason, reason


def test_filtered_event_grammar():
    ev = Event.parse("helper: fchmod(?, 0644) -> -EPERM filtered x3")
    assert ev.filtered and not ev.exit_only and ev.enters and not ev.enter_traced
    assert ev.exits and ev.times == 3 and ev.role == "helper"
    assert Event.parse(str(ev)) == ev
    plain = Event.parse("fchmod(?, 0644) -> 0")
    assert not plain.filtered and plain.enter_traced
    with pytest.raises(ValueError, match="noreturn cannot be filtered"):
        Event.parse("exit(0) -> noreturn filtered")


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
def test_expect_file_enters_and_exits_equal_the_kernel_counts():
    """seccomp_denied in a process of its own: the expect file's entered events (enter set)
    are what the kernel's sys_enter counters saw, its returning ones what sys_exit saw; the
    filtered fchmods are among the returns only."""
    _skip_unsupported("seccomp_denied")
    with ioworkload.spawn("seccomp_denied", iterations=4, threads=2, verify=True) as w:
        w.start()
        result = w.wait(120)
    assert result.verified, result.verification
    rows = {r["counter"]: r["witnessed"] for r in result.verification}
    entered: dict = {}
    returned: dict = {}
    for e in result.expected["events"]:
        if e["enter"] and e["syscall"] != "exit_group":  # entered after the counters are read
            entered[e["syscall"]] = entered.get(e["syscall"], 0) + e["count"]
        if e["exit"] and e["phase"] not in ("release", "exit"):
            returned[e["syscall"]] = returned.get(e["syscall"], 0) + e["count"]
    assert rows["fchmod: entered"] == entered["fchmod"] == 4 * 2
    assert rows["fchmod: returned"] == returned["fchmod"] == 4 * 2 * 4
    assert rows["fchmod: returned -EPERM"] == 4 * 2 * 3
    assert rows["raw_syscalls:sys_enter (every syscall)"] == sum(entered.values())
