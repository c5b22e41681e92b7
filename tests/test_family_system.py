"""credentials, system, modules and removed families: each scenario from the command line with
--verify (its own process, forked children included); strace and bpftrace attached by PID
judged exact with arguments; the -ENOSYS entries witnessed at raw_syscalls by number; wrong
manifests caught; nothing of the host or of the calling process changed by any of them."""

import copy
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import ioworkload
from ioworkload import judge
from ioworkload.core import expect, registry
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import (FULL, MANY, children_seen, kernel_can_verify, run_leaves_nothing_behind,
                      sampled)
from test_ground_truth import _strace_run

FAMILIES = ("credentials", "system", "modules", "removed")
NAMES = sorted(s.name for s in registry.all_scenarios().values() if s.family in FAMILIES)
FORKING = [n for n in NAMES if any(e.role == "child" for e in registry.get(n).iteration)]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers attach as root here")
_no_verify = kernel_can_verify()


def _supported(name):
    reason = registry.get(name).unsupported_reason()
    if reason:
        pytest.skip(reason)
    return registry.get(name)


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("args", [["-n", str(MANY), "-t", "2"]] + ([["-n", "1"]] if FULL else []))
@pytest.mark.parametrize("name", NAMES if FULL else FORKING)
def test_spawned_process_is_verified(cli, name, args):
    """In a process of its own, forked children included (test_scenarios runs every one
    in-process)."""
    _supported(name)
    r = cli(name, *args, "--verify", "-q")
    assert r.returncode == 0, r.stderr


@needs_root
@pytest.mark.parametrize("name,tracer,threads", sampled(NAMES, ["strace", "bpftrace"], ["1", "2"]))
def test_tracers_see_exactly_the_expect_file(cli, name, tracer, threads):
    _supported(name)
    if not shutil.which(tracer):
        pytest.skip(f"{tracer} is not installed")
    r = cli("check", name, "--tracer", tracer, "-t", threads, "--json", timeout=300)
    rows = json.loads(r.stdout)
    assert r.returncode == 0 and [row["status"] for row in rows] == ["exact"], (rows, r.stderr)


def test_every_name_says_what_the_host_lacks():
    """Each kind of kernel runs one of a pair: the calls there (rejected) or built out (-ENOSYS)."""
    for a, b in [("modules_rejected", "modules_absent"), ("kexec_rejected", "kexec_absent"),
                 ("system_ioport", "system_ioport_absent")]:
        reasons = [registry.get(n).unsupported_reason() for n in (a, b)]
        assert None in reasons or os.geteuid() != 0, reasons
        assert any(r and ("ENOSYS" in r or "CONFIG_" in r or "CAP_" in r) for r in reasons), reasons


def test_removed_entries_are_witnessed_at_raw_syscalls():
    sc = _supported("removed_entries")
    doc = ioworkload.run(sc.name, iterations=2).expected
    seen = {e["syscall"]: e for e in doc["events"] if e["syscall"] in expect.REMOVED}
    assert list(seen) == list(expect.REMOVED)
    for name, e in seen.items():
        assert e["enter"] == "raw_syscalls:sys_enter" and e["exit"] == "raw_syscalls:sys_exit"
        assert e["nr"] == expect.syscall_number(name)
        assert e["args"] == {f"arg{k}": k + 1 for k in range(expect.REMOVED[name])}
        assert e["ret"] == {"errno": 38, "name": "ENOSYS"} and e["count"] == 2


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
def test_raw_counts_catch_one_entry_named_for_another():
    """Every entry returns -ENOSYS, so the tally cannot tell them apart: the raw_syscalls
    counters filtered on each number do."""
    sc = _supported("removed_entries")
    iteration = list(sc.iteration)
    iteration[1] = Event.parse(str(iteration[0]))   # _sysctl declared as a second uselib
    res = execute(sc.replace(iteration=tuple(iteration)), iterations=3, verify=True)
    assert res.ok and not res.verified
    bad = {r["counter"] for r in res.verification if not r["ok"]}
    assert "uselib: entered" in bad and "_sysctl: entered" not in bad   # undeclared: no counter


@needs_root
@pytest.mark.parametrize("name,syscall,arg,wrong", [
    ("removed_entries", "vserver", "arg4", 6),
    ("credentials_drop", "setresuid", "suid", 0),
    ("system_contained", "sethostname", "name", "ioworkload-host"),
])
def test_strace_arguments_are_judged(name, syscall, arg, wrong):
    """strace's view is exact, arguments included: one argument changed in the expectation
    (in the worker's or the forked child's calls) is reported."""
    _, result, observed = _strace_run(name, 1)
    assert judge.compare(result.expected, observed, sees_exit_only=False) == []
    doc = copy.deepcopy(result.expected)
    next(e for e in doc["events"] if e["syscall"] == syscall)["args"][arg] = wrong
    diffs = judge.compare(doc, observed, sees_exit_only=False)
    assert any(d.startswith(f"wrong arguments: {syscall}") for d in diffs), diffs


@pytest.mark.parametrize("name,syscall,wrong", [
    ("credentials_read", "capget", "-EPERM"),
    ("credentials_drop", "setuid", "0"),
    ("system_queries", "ustat", "0"),
    ("system_contained", "sethostname", "-EPERM"),
    ("modules_absent", "delete_module", "-ENOENT"),
])
def test_a_wrong_manifest_fails(name, syscall, wrong):
    sc = _supported(name)
    k = max(i for i, e in enumerate(sc.iteration) if e.syscall == syscall)
    iteration = list(sc.iteration)
    iteration[k] = iteration[k]._replace(expect=Event.parse(f"x() -> {wrong}").expect)
    res = execute(sc.replace(iteration=tuple(iteration)), iterations=2)
    assert not res.ok and res.mismatches


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_stopped_while_forking_leaves_no_child(stop):
    """Stopped (Ctrl-C, or killed) while its children come and go: every child is gone, none
    outlives it in the session it started."""
    name = FORKING[-1]
    _supported(name)
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", name, "--duration", "60", "-t", "2",
                          "-q", "--start-delay", "0"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    pid = int(p.stdout.readline())
    seen = children_seen(pid, 2)
    assert seen
    if stop == signal.SIGINT:
        p.send_signal(stop)   # the command: it stops the run and cleans up
    else:
        os.kill(pid, stop)    # the scenario process itself
    p.wait(timeout=60)   # not its output's end: a child left behind would hold that open
    p.stdout.close()
    assert p.returncode == 130 if stop == signal.SIGINT else p.returncode not in (0, 130)
    deadline = time.monotonic() + 10   # a killed process's last child finishes by itself
    while _ours(seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _ours(seen)


def _ours(pids):
    """Those of `pids` that still exist as this package's processes (a number reused by
    another process is not one)."""
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "ioworkload":
                    out.append(pid)
        except OSError:
            pass
    return out


def _host_state():
    """What these scenarios must leave as it was: names, clock offset, credentials, groups,
    session, umask, root, limits, modules."""
    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return None
    umask = os.umask(0o22)
    os.umask(umask)
    return {
        "uname": os.uname(), "domain": read("/proc/sys/kernel/domainname"),
        "ids": (os.getresuid(), os.getresgid(), sorted(os.getgroups())),
        "status": [line for line in read("/proc/self/status").splitlines()
                   if line.startswith(("Cap", "NoNewPrivs", "Seccomp"))],
        "session": (os.getpgrp(), os.getsid(0)), "umask": umask,
        "root": os.readlink("/proc/self/root"), "cwd": os.getcwd(),
        "rlimits": [resource.getrlimit(r) for r in (resource.RLIMIT_NOFILE, resource.RLIMIT_NPROC,
                                                    resource.RLIMIT_CORE)],
        "uts_ns": os.readlink("/proc/self/ns/uts"), "modules": read("/proc/modules"),
        "acct": read("/proc/sys/kernel/acct"), "personality": read("/proc/self/personality"),
    }


def _clock_offset():
    """The wall clock's distance from the boot clock, in seconds (settimeofday would move it)."""
    return time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_BOOTTIME)


def test_host_and_caller_unchanged(cli):
    """Every scenario of these families, in this process (threads) and in one of its own: the
    host and this process are as they were."""
    before, offset = _host_state(), _clock_offset()
    for name in NAMES:
        if registry.get(name).unsupported_reason():
            continue
        run_leaves_nothing_behind(name)   # in this process: no fd, thread, child or dir left
        r = cli(name, "-n", 3, "-q")
        assert r.returncode == 0, (name, r.stderr)
    assert _host_state() == before
    assert abs(_clock_offset() - offset) < 1


# Run in a child of the test, as root until every module a run needs is imported (the
# interpreter's own files need not be readable by nobody), then as nobody.
_AS_NOBODY = r"""
import codecs, ctypes, json, os, sys
codecs.lookup("unicode_escape")
import ioworkload
from ioworkload.core.errors import Unsupported
ioworkload.run("credentials_read", iterations=1)
os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)   # PR_SET_DUMPABLE: the runner reads /proc/self/task
out = {}
for name in sys.argv[1:]:
    try:
        res = ioworkload.run(name, iterations=2, threads=2)
        out[name] = "ok" if res.ok else "; ".join(res.mismatches)
    except Unsupported as e:
        out[name] = f"unsupported: {e}"
print(json.dumps(out))
"""


@needs_root
def test_as_nobody_each_runs_or_names_the_capability():
    """Run as nobody, a scenario that needs a capability even to be rejected is unsupported
    and names it; the others run exact; the host is unchanged."""
    root = os.environ["TMPDIR"]
    workdir = tempfile.mkdtemp(dir=root)
    mode = os.stat(root).st_mode
    os.chmod(root, 0o711)
    os.chmod(workdir, 0o1777)
    before, offset = _host_state(), _clock_offset()
    try:
        r = subprocess.run([sys.executable, "-c", _AS_NOBODY, *NAMES], capture_output=True,
                           text=True, timeout=300, env=dict(os.environ, TMPDIR=workdir))
    finally:
        os.chmod(root, mode)
        shutil.rmtree(workdir)
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout.splitlines()[-1])
    for name, got in results.items():
        requires = registry.get(name).requires
        if any(p.__name__.startswith("capability(") for p in requires):
            assert got.startswith("unsupported: needs CAP_"), (name, got)
        elif registry.get(name).unsupported_reason() is None:
            assert got == "ok", (name, got)
    assert _host_state() == before
    assert abs(_clock_offset() - offset) < 1


def test_coverage_lists_every_entry_of_these_families(cli):
    r = cli("coverage", "--json")
    rows = {row["syscall"]: row for row in json.loads(r.stdout)["table"]}
    ours = {ev.syscall for name in NAMES for ev in registry.get(name).iteration}
    assert len(ours) >= 70
    for name in ours:
        assert rows[name]["scenarios"], name
    for name in expect.REMOVED:
        assert rows[name]["witness"] == "raw_syscalls", rows[name]
    assert rows["setuid"]["witness"] == "tracepoint"
