"""process family checks the generic test cannot make: the spawned process (CLI) passes
--verify with its forked children, their exec'ing threads and the exec'd image; strace and
bpftrace attached by PID see exactly the expect file across the exec; nothing outlives a run;
the exec'd image's own calls are witnessed (leaving one out of the manifest is caught)."""

import os
import signal
import subprocess
import sys

import pytest

import ioworkload
from ioworkload import judge
from ioworkload.core import registry
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import (MANY, check_is_exact_at_1_and_2_threads, children_seen, kernel_can_verify,
                      run_leaves_nothing_behind, sampled)

PROCESS = sorted(s.name for s in registry.all_scenarios().values() if s.family == "process")
EXEC = [n for n in PROCESS if n.startswith("exec_")]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers attach as root here")
_no_verify = kernel_can_verify()


def _skip_unsupported(name):
    reason = registry.get(name).unsupported_reason()
    if reason:
        pytest.skip(reason)


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("args", [["-n", "1"], ["-n", str(MANY), "-t", "2"]])
@pytest.mark.parametrize("name", PROCESS)
def test_spawned_process_is_verified(cli, name, args):
    _skip_unsupported(name)
    r = cli(name, *args, "--verify", "-q", timeout=300)
    assert r.returncode == 0, r.stderr


@needs_root
@pytest.mark.parametrize("name,tracer", sampled(["exec_non_leader_into_open", "process_kcmp_vm"],
                                                ["strace", "bpftrace"]))
def test_tracers_see_exactly_the_expect_file(cli, name, tracer):
    _skip_unsupported(name)
    check_is_exact_at_1_and_2_threads(cli, name, tracer)


@pytest.mark.parametrize("name", PROCESS)
def test_nothing_left_behind(name):
    _skip_unsupported(name)
    run_leaves_nothing_behind(name)


@pytest.mark.parametrize("name", EXEC)
def test_each_iteration_names_the_child_and_its_exec_thread(name):
    _skip_unsupported(name)
    res = ioworkload.run(name, iterations=3, threads=1)
    child = next(t for t in res.expected["tasks"] if t["role"] == "child")
    assert child["instances"] == len(child["tids"]) == 6 and child["tids_complete"]
    assert len(set(child["tids"])) == 6


def test_interrupted_exec_loop_leaves_no_child():
    """SIGINT while children fork, exec and exit: exit 130, the process and every child gone."""
    _skip_unsupported("exec_non_leader_into_open")
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", "exec_non_leader_into_open",
                          "--duration", "60", "-t", "2", "-q", "--start-delay", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid = int(p.stdout.readline())
    seen = children_seen(pid, 3)
    assert seen
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert not os.path.exists(f"/proc/{pid}")
    # a leftover would live on (re-parented) under its comm: before its exec or after it
    assert not [c for c in seen if _comm(c) in ("ioworkload", "true")]


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def test_strace_execve_from_a_thread_resumes_under_the_leader():
    """strace -f prints the entry under the thread and its return under the leader."""
    text = ('11 execve("/d/true", ["true"], 0x7f /* 0 vars */ <pid changed to 10 ...>\n'
            "10 +++ superseded by execve in pid 11 +++\n"
            "10 <... execve resumed>)             = 0\n"
            "10 exit_group(0)                     = ?\n")
    interleaved = ('11 execve("/d/true", ["true"], 0x7f /* 0 vars */ <unfinished ...>\n'
                   "12 gettid()                          = 12\n"
                   "10 +++ superseded by execve in pid 11 +++\n"
                   "10 <... execve resumed>)             = 0\n"
                   "10 exit_group(0)                     = ?\n")
    for text, more in [(text, []), (interleaved, [(12, "gettid", 12)])]:
        seen = judge.parse_strace(text)
        assert sorted((e["tid"], e["syscall"], e["ret"]) for e in seen) == sorted([
            (10, "execve", 0), (10, "exit_group", None)] + more)
        assert next(e for e in seen if e["syscall"] == "execve")["args"][0] == '"/d/true"'


def test_a_wrong_manifest_fails():
    sc = registry.get("process_kcmp_vm")
    _skip_unsupported(sc.name)
    wrong = Event.parse("kcmp(pid, pid, KCMP_VM, fd, fd) -> 1")
    iteration = tuple(wrong if e.syscall == "kcmp" else e for e in sc.iteration)
    res = execute(sc.replace(iteration=iteration), iterations=3)
    assert not res.ok and res.mismatches


def test_the_images_calls_are_witnessed():
    """The kernel's count catches a manifest that leaves out the exec'd image's close (which
    no tally of ours can see)."""
    if _no_verify is not None:
        pytest.skip(_no_verify)
    sc = registry.get("exec_non_leader_into_open")
    _skip_unsupported(sc.name)
    iteration = tuple(e for e in sc.iteration if not (e.role == "child" and e.syscall == "close"))
    assert len(iteration) == len(sc.iteration) - 1
    res = execute(sc.replace(iteration=iteration), iterations=3, verify=True)
    assert not res.verified
