"""iouring family checks the generic tests cannot make: under strace attached by PID each
scenario is exact (io_uring threads included), no ring, fd or mapping outlives a run (also an
interrupted one), the registered-ring index really is 0, and a wrong manifest is caught.
(tests/test_scenarios.py runs every scenario with --verify at 1 and 100 iterations, 1 and 2
threads; tests/test_manifest_args.py resolves their arguments.)"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import ioworkload
from ioworkload.core import registry
from ioworkload.core.errors import Unsupported
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import kernel_can_verify

IOURING = sorted(s.name for s in registry.all_scenarios().values() if s.family == "iouring")
# a sample under strace by default; IOWORKLOAD_FULL=1: the whole family
STRACE_SAMPLE = IOURING if os.environ.get("IOWORKLOAD_FULL") else [
    "iouring_registered_ring", "iouring_ring_lifecycle", "iouring_reopen", "iouring_op_sqpoll",
    "iouring_op_async"]
OPERATIONS = [n for n in IOURING if registry.get(n).operations]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers attach as root here")


def _skip_unsupported(name):
    reason = registry.get(name).unsupported_reason()
    if reason:
        pytest.skip(reason)


def _rings():
    """io_uring instances this process holds: fds and mappings naming [io_uring]."""
    fds = []
    for n in os.listdir("/proc/self/fd"):
        try:
            if "io_uring" in os.readlink(f"/proc/self/fd/{n}"):
                fds.append(n)
        except OSError:
            pass
    with open("/proc/self/maps") as f:
        maps = [line for line in f if "io_uring" in line]
    return fds, maps


def test_family_is_registered():
    assert IOURING == sorted(["iouring_setup", "iouring_enter", "iouring_register",
                              "iouring_registered_ring", "iouring_ring_lifecycle",
                              "iouring_reopen", "iouring_enter_ebadf",
                              "iouring_register_ebadf",  # ior's eight, then ours
                              "iouring_op_file", "iouring_op_socket", "iouring_op_sqpoll",
                              "iouring_op_async"])


@pytest.mark.parametrize("name", IOURING)
def test_no_ring_fd_or_mapping_left_behind(name):
    _skip_unsupported(name)
    fds_before = set(os.listdir("/proc/self/fd"))
    res = ioworkload.run(name, iterations=20, threads=2)
    assert res.ok, res.mismatches
    assert _rings() == ([], [])
    assert set(os.listdir("/proc/self/fd")) == fds_before


@pytest.mark.parametrize("name", ["iouring_reopen", "iouring_ring_lifecycle", "iouring_op_sqpoll"])
def test_interrupted_run_leaves_nothing(name, tmp_path):
    """SIGINT in the middle of a long run: exit 130, the private directory is gone."""
    _skip_unsupported(name)
    env = dict(os.environ, TMPDIR=str(tmp_path))
    p = subprocess.Popen([sys.executable, "-m", "ioworkload", name, "--duration", "60",
                          "--threads", "2", "-q", "--start-delay", "0"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    assert p.stdout.readline().strip().isdigit()  # the PID line: started up, about to run
    time.sleep(1)  # into the loop
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert os.listdir(tmp_path) == []


@needs_root
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", STRACE_SAMPLE)
def test_strace_by_pid_is_exact(name, threads, cli):
    """`ioworkload check NAME --tracer strace`: strace -f attached by PID sees exactly the
    expect file (the foreign thread of iouring_ring_lifecycle included)."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    _skip_unsupported(name)
    r = cli("check", name, "--tracer", "strace", "--threads", threads, "--json", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = json.loads(r.stdout)
    assert [(v["scenario"], v["tracer"], v["status"]) for v in rows] == [(name, "strace", "exact")], \
        r.stdout


@pytest.mark.skipif(kernel_can_verify() is not None, reason=str(kernel_can_verify()))
def test_a_wrong_index_is_caught_by_the_kernel():
    """The registered-ring calls pass index 0: declaring -EBADF for them (as a tracer that
    resolves 0 as an fd might expect) fails both the tally and the kernel's filtered count."""
    sc = registry.get("iouring_registered_ring")
    _skip_unsupported(sc.name)
    wrong = list(sc.iteration)
    wrong[2] = Event.parse("io_uring_enter(0, 0, 0, IORING_ENTER_REGISTERED_RING, NULL, 0) "
                           "-> -EBADF x5")
    res = execute(sc.replace(iteration=wrong), iterations=3, threads=1, verify=True)
    assert not res.ok and not res.verified
    assert any("io_uring_enter" in m and "EBADF" in m for m in res.mismatches)


@pytest.mark.skipif(kernel_can_verify() is not None, reason=str(kernel_can_verify()))
@pytest.mark.parametrize("name", OPERATIONS)
def test_operations_are_witnessed_by_the_io_uring_tracepoints(name):
    """--verify counts every declared operation's submission (opcode, user_data) and its
    completion with the declared result on io_uring:io_uring_submit_req/_complete, also in the
    SQPOLL and io-wq threads (perf inherit); the expect file lists them apart from the
    syscalls."""
    sc = registry.get(name)
    _skip_unsupported(name)
    res = ioworkload.run(name, iterations=10, threads=2, verify=True)
    assert res.ok and res.verified, (res.mismatches, [r for r in res.verification if not r["ok"]])
    witnessed = {r["counter"]: r["witnessed"] for r in res.verification}
    for k, op in enumerate(sc.operations):
        assert witnessed[f"{op.opcode} #{k + 1}: submitted"] == 20 * op.times
        assert witnessed[f"{op.opcode} #{k + 1}: completed {op.expect}"] == 20 * op.times
    assert witnessed["io_uring: requests submitted"] == 20 * sum(o.times for o in sc.operations)
    ops = res.expected["operations"]
    assert [(o["opcode"], o["user_data"], o["count"]) for o in ops if o["index"] == 0] == [
        (op.opcode, k + 1, 10 * op.times) for k, op in enumerate(sc.operations)]
    assert all(o["observed"]["count"] == o["count"] for o in ops)
    assert not any(e["syscall"].startswith("IORING") for e in res.expected["events"])


@pytest.mark.skipif(kernel_can_verify() is not None, reason=str(kernel_can_verify()))
def test_a_wrong_operation_result_is_caught():
    """Declaring a READ of 25 bytes where the ring reads 26: the CQE tally and the kernel's
    io_uring_complete count (filtered on res == 25) both disagree."""
    sc = registry.get("iouring_op_async")
    _skip_unsupported(sc.name)
    wrong = [sc.operations[0], "IORING_OP_READ(fd, &buf, 26, @0) -> 25 async"]
    res = execute(sc.replace(operations=wrong), iterations=3, threads=1, verify=True)
    assert not res.ok and not res.verified
    assert any(m.startswith("operation IORING_OP_READ") for m in res.mismatches)
    bad = [r["counter"] for r in res.verification if not r["ok"]]
    assert bad == ["IORING_OP_READ #2: completed 25"]


def test_a_tracer_reporting_operations_is_judged_on_them():
    """The judge compares the io_uring requests a tracer reports (opcode, res, user_data) with
    the document's operations, here taken from the run's own tallies; a wrong result, a
    missing request and an extra one are each named."""
    from ioworkload import judge
    _skip_unsupported("iouring_op_socket")
    res = ioworkload.run("iouring_op_socket", iterations=4, threads=1)
    doc = res.expected
    tid = res.tids[0]
    seen = [{"tid": tid, "syscall": e["syscall"], "ret": 0 if e["ret"].get("ge") is not None
             else e["ret"].get("eq", 0), "count": e["count"]}
            for e in doc["events"] if e["enter"] and "noreturn" not in e["ret"]]
    ops = [{"tid": tid, "opcode": "IORING_OP_SEND", "res": 24, "user_data": 1, "count": 4},
           {"tid": tid, "opcode": doc["operations"][1]["op"], "res": 24, "count": 4}]
    syscall_diffs = judge.compare(doc, seen, check_args=False)
    assert judge.compare(doc, seen + ops, check_args=False) == syscall_diffs
    wrong = [dict(ops[0], res=23), ops[1]]
    diffs = judge.compare(doc, seen + wrong, check_args=False)
    assert "undeclared or too many: IORING_OP_SEND -> 23 on tid %d x4" % tid in diffs
    assert any(d.startswith("missing: operation #0 IORING_OP_SEND") for d in diffs)
    extra = ops + [{"tid": tid, "opcode": "IORING_OP_NOP", "res": 0}]
    assert any("IORING_OP_NOP" in d for d in judge.compare(doc, seen + extra, check_args=False))
    # the tracer-neutral form carries them as lines of their own
    from ioworkload.judge import conformance
    parsed, _ = conformance.parse_jsonl("\n".join(json.dumps(o) for o in ops))
    assert parsed == ops


def test_expect_file_declares_io_threads_operations_and_restarts(tmp_path, cli):
    """The expect file of an SQPOLL run (schema-valid) declares the kernel's io threads as
    tasks without events, the operations apart from the events, and the leave wait's possible
    restarts (at most once per ring: one ring per thread here)."""
    import jsonschema
    from importlib import resources
    _skip_unsupported("iouring_op_sqpoll")
    path = tmp_path / "expect.json"
    r = cli("iouring_op_sqpoll", "-n", "3", "--expect-file", path, "-q")
    assert r.returncode == 0, r.stderr
    doc = json.loads(path.read_text())
    schema = json.loads(resources.files("ioworkload.core").joinpath("expect.schema.json").read_text())
    jsonschema.validate(doc, schema)
    threads = [(t["role"], t["comm"]) for t in doc["tasks"] if t["role"] == "io_thread"]
    assert threads == [("io_thread", "iou-sqp-*"), ("io_thread", "iou-wrk-*")]
    assert [o["opcode"] for o in doc["operations"]] == ["IORING_OP_WRITE", "IORING_OP_READ"]
    assert doc["restarts"][0]["count"] == {"min": 0, "max": 1}
    assert doc["restarts"][0]["tid"] == doc["pid"]


def test_perf_trace_restart_lines_are_restarts():
    """perf trace 6.1 cannot name errno 512 and prints an internal error: still -ERESTARTSYS
    (the judge then accepts it as a declared restart), never a plain -1 (-EPERM)."""
    from ioworkload.judge import conformance
    text = ("     4.585 (11.304 ms): ioworkload/77 futex(uaddr: 0x7fb4dff4a00c)     = -1 (unknown) "
            "(INTERNAL ERROR: strerror_r(512, [buf], 128)=22)\n"
            "    16.845 (3015.936 ms): ioworkload/77 futex(uaddr: 0x7fb4dff4a00c)   = 0\n")
    events, _ = conformance.parse_perf_trace(text, 77)
    assert [e["ret"] for e in events] == [-512, 0]


def test_disabled_io_uring_is_unsupported_with_the_reason(monkeypatch):
    """io_uring_setup refused with EPERM (kernel.io_uring_disabled) is `unsupported`, and the
    reason names the sysctl."""
    import errno
    from ioworkload.core import _runner
    real = _runner.raw_syscall
    setup_nr = ioworkload.core.expect.syscall_number("io_uring_setup")
    monkeypatch.setattr(_runner, "raw_syscall",
                        lambda nr, *a: -errno.EPERM if nr == setup_nr else real(nr, *a))
    reason = registry.get("iouring_setup").unsupported_reason()
    assert reason and "kernel.io_uring_disabled" in reason
    with pytest.raises(Unsupported):
        ioworkload.run("iouring_setup", iterations=1)
