"""The Python API and the checker itself: a wrong manifest must fail."""

import os
import signal

import pytest

import ioworkload
from ioworkload.core import registry
from ioworkload.core.errors import UsageError
from ioworkload.core.manifest import Event, Expect, Scenario
from ioworkload.core.runner import execute

from conftest import kernel_can_verify

needs_kernel = pytest.mark.skipif(kernel_can_verify() is not None, reason=str(kernel_can_verify()))


def with_manifest(name, **phases):
    """The real kernel of `name` under a different (wrong) manifest."""
    return registry.get(name).replace(**phases)


def test_run_returns_counts():
    res = ioworkload.run("aio_setup_einval", iterations=1000)
    assert res.ok and res.syscalls == 1000 and res.loop_syscalls == 1000
    assert res.calls == {"io_setup": {"count": 1000, "ok": 0, "errors": {"EINVAL": 1000}}}
    assert res.verified is None and res.raw_syscall_instruction


def test_threads_each_run_every_iteration():
    res = ioworkload.run("getppid", iterations=1000, threads=3)
    assert res.iterations_done == [1000, 1000, 1000]
    assert res.calls["getppid"]["count"] == 3000
    assert len(set(res.tids)) == 3 and os.getpid() not in res.tids


def test_duration_mode():
    res = ioworkload.run("getppid", duration=0.2)
    assert res.iterations is None and res.duration == 0.2
    assert 0.15e9 < res.elapsed_ns < 0.6e9
    assert res.iterations_done[0] > 1000 and res.ok


def test_private_dir_removed_and_fds_closed():
    before = set(os.listdir("/proc/self/fd"))
    res = ioworkload.run("aio_submit", iterations=10, threads=2)
    assert res.ok
    assert res.tmpdir and not os.path.exists(res.tmpdir)
    assert res.tmpdir.startswith(os.path.realpath(os.environ.get("TMPDIR", "/tmp"))) or \
        res.tmpdir.startswith(os.environ.get("TMPDIR", "/tmp"))
    assert set(os.listdir("/proc/self/fd")) == before


def test_scenarios_and_describe():
    scs = ioworkload.scenarios()
    assert {"getppid", "gettid", "enosys", "aio_setup_einval"} <= set(scs)
    d = ioworkload.describe("aio-setup-einval")
    assert d["iteration"] == ["io_setup(0, &ctx) -> -EINVAL"]


@pytest.mark.parametrize("kwargs", [dict(iterations=0), dict(iterations=-5), dict(iterations=1.5),
                                    dict(threads=0), dict(threads=True), dict(duration=-1)])
def test_bad_arguments(kwargs):
    with pytest.raises(UsageError):
        ioworkload.run("getppid", **kwargs)


@pytest.mark.parametrize("name", [None, 123, b"getppid"])
def test_name_must_be_a_string(name):
    with pytest.raises(UsageError, match="scenario name is a string"):
        ioworkload.run(name)
    with pytest.raises(UsageError):
        ioworkload.describe(name)


def test_signal_after_the_loop_still_cleans_up(monkeypatch):
    """A SIGTERM that lands after the workers finished (while the result is put together) is
    handled like one during the loop: private directory removed, result marked interrupted."""
    from ioworkload.core import runner
    real = runner._summarize
    seen = {}

    def summarize_then_signal(*args):
        os.kill(os.getpid(), signal.SIGTERM)  # handled by the run's own handler
        res = real(*args)
        seen["tmpdir"] = res.tmpdir
        return res

    def outside(signum, frame):  # where the signal lands if the run's handler is not in place
        seen["outside"] = signum

    monkeypatch.setattr(runner, "_summarize", summarize_then_signal)
    old = signal.signal(signal.SIGTERM, outside)
    try:
        res = execute(registry.get("open_basic"), iterations=3)
        assert signal.getsignal(signal.SIGTERM) is outside  # given back afterwards
    finally:
        signal.signal(signal.SIGTERM, old)
    assert "outside" not in seen
    assert res.interrupted == signal.SIGTERM and res.ok
    assert not os.path.exists(seen["tmpdir"])


def test_api_redelivers_sigterm_after_cleanup():
    """run() must not swallow SIGTERM: after the teardown the caller's handler gets it."""
    import subprocess
    import sys
    code = ("import os, signal, threading, time, ioworkload\n"
            "signal.signal(signal.SIGTERM, lambda s, f: print('caller handler', flush=True))\n"
            "def soon(tids, doc):  # once run() owns the signal, not during a slow import\n"
            "    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()\n"
            "r = ioworkload.run('getppid', iterations=10**12, before_start=soon)\n"
            "print('returned', r.interrupted)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:2] == ["caller handler", f"returned {int(signal.SIGTERM)}"]


def test_unknown_name_suggests():
    with pytest.raises(UsageError, match="aio_setup_einval"):
        ioworkload.run("aio_setup_enval")


def test_in_process_check_catches_a_wrong_expected_result():
    sc = with_manifest("aio_setup_einval", iteration=(Event.parse("io_setup(0, &ctx) -> -EAGAIN"),))
    res = execute(sc, iterations=10)
    assert not res.ok
    assert "expected 10 x -EAGAIN" in res.mismatches[0]


@needs_kernel
def test_kernel_check_catches_an_undeclared_syscall():
    # Manifest claims nothing but... the same call under another name: the kernel disagrees.
    sc = with_manifest("getppid", iteration=(Event.parse("gettid() -> >=0"),))
    res = execute(sc, iterations=50, verify=True)
    assert res.verified is False
    bad = {r["counter"] for r in res.verification if not r["ok"]}
    assert "gettid: entered" in bad
    # raw_syscalls total still matches: one syscall per iteration was issued
    assert "raw_syscalls:sys_enter (every syscall)" not in bad


@needs_kernel
def test_kernel_check_catches_a_wrong_errno():
    sc = with_manifest("aio_setup_einval", iteration=(Event.parse("io_setup(0, &ctx) -> -EAGAIN"),))
    res = execute(sc, iterations=20, verify=True)
    assert res.verified is False
    rows = {r["counter"]: r for r in res.verification}
    assert rows["io_setup: returned -EAGAIN"]["witnessed"] == 0
    assert rows["io_setup: returned -EAGAIN"]["expected"] == 20
    assert rows["io_setup: entered"]["ok"]


@needs_kernel
def test_kernel_check_catches_a_missing_event():
    # declare two calls per iteration where one is issued: counts and the total disagree
    sc = with_manifest("getppid", iteration=(Event.parse("getppid() -> >=0"),
                                             Event.parse("getppid() -> >=0")))
    res = execute(sc, iterations=30, verify=True)
    assert res.verified is False
    rows = {r["counter"]: r for r in res.verification}
    own = 2  # the worker's done wake-up and its exit(0)
    assert rows["raw_syscalls:sys_enter (every syscall)"]["expected"] == 60 + own
    assert rows["raw_syscalls:sys_enter (every syscall)"]["witnessed"] == 30 + own


@needs_kernel
def test_verification_adds_no_syscalls_to_the_counted_thread():
    res = ioworkload.run("getppid", iterations=1, verify=True)
    rows = {r["counter"]: r for r in res.verification}
    # getppid, then the runner's declared done wake-up and exit(0): nothing of verification's
    assert rows["raw_syscalls:sys_enter (every syscall)"]["witnessed"] == 1 + 2


def test_expect_relations():
    ge0, eq0, eq5, einval = (Expect.parse(t) for t in (">=0", "0", "5", "-EINVAL"))
    assert ge0.covers(eq0) == "all" and ge0.covers(einval) == "none"
    assert eq0.covers(ge0) == "some" and eq5.covers(eq0) == "none"
    assert einval.kernel_filter() == "ret == -22" and ge0.kernel_filter() == "ret >= 0"
    with pytest.raises(ValueError):
        Event.parse("nonsense")
    with pytest.raises(ValueError):
        Expect.parse("-ENOTANERRNO")


@needs_kernel
def test_duration_mode_reads_the_clock_without_syscalls():
    """--duration reads CLOCK_MONOTONIC through the vDSO: the kernel sees only getppid."""
    res = ioworkload.run("getppid", duration=0.1, verify=True)
    assert res.verified, [r for r in res.verification if not r["ok"]]
    rows = {r["counter"]: r for r in res.verification}
    assert rows["raw_syscalls:sys_enter (every syscall)"]["witnessed"] == res.iterations_done[0] + 2


def test_a_submodule_import_never_hides_a_package_function():
    """Importing every module of the package first (as conformance imports the one that holds
    spawn) leaves ioworkload.run, .spawn, .check ... the functions: no module shares their name."""
    import subprocess
    import sys
    code = ("import importlib, pkgutil, ioworkload\n"
            "for m in pkgutil.walk_packages(ioworkload.__path__, 'ioworkload.'):\n"
            "    if m.name != 'ioworkload.__main__':\n"
            "        importlib.import_module(m.name)\n"
            "import types\n"
            "bad = [n for n in ioworkload.__all__\n"
            "       if isinstance(getattr(ioworkload, n), types.ModuleType)]\n"
            "print(bad)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"
