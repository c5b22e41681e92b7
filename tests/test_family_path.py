"""Checks of family 'path' that the generic kernel-witnessed test cannot make: faulted names
really sit on pages that are not present when the syscall reads them, move_mount leaves no
mount, and chdir leaves the process where it started."""

import os

import pytest

import ioworkload
from ioworkload.core import ior_mode, registry, runner, verify
from ioworkload.core.errors import Unsupported

from conftest import kernel_can_verify

_no_verify = kernel_can_verify()


def _faults_per_worker(sc, iterations):
    """Run scenario `sc` on one worker; page faults it took in kernel and in user mode."""
    from ioworkload.core import _perf

    fds = {}

    def count_faults(stopped, tids, expected):
        for mode in ("kernel", "user"):
            tp = verify.tracepoint_id("exceptions", f"page_fault_{mode}")
            fds[mode] = _perf.open_counter(tids[0], tp)
        _perf.enable(list(fds.values()))

    try:
        res = runner.execute(sc, iterations, 1,
                             hooks=runner.Hooks(before_start=count_faults))
        assert res.ok, res.mismatches
        return {mode: _perf.read_count(fd) for mode, fd in fds.items()}
    finally:
        _perf.close_all(list(fds.values()))


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("name,faulted_names", [("path_faulted_names", 7),
                                                ("path_faulted_move_mount", 4)])
@pytest.mark.parametrize("ior", [False, True], ids=["normal", "ior-mode"])
def test_faulted_names_are_not_present_at_the_syscall(name, faulted_names, ior):
    # We never touch the mapped names in user mode, so every kernel-mode fault of the loop is
    # the kernel's own read of a name whose page was not present: exactly one per faulted name
    # per iteration (a name already mapped, e.g. by fault-around, would not fault). ior mode's
    # sequence (its backings written and reopened each round) must keep that too.
    sc = ior_mode.scenario_for_ior(registry.get(name)) if ior else registry.get(name)
    try:
        sc.unsupported_reason() and pytest.skip("unsupported here")
        verify.tracepoint_id("exceptions", "page_fault_kernel")
    except Unsupported as e:
        pytest.skip(str(e))
    extra = 200
    few = _faults_per_worker(sc, 1)
    many = _faults_per_worker(sc, 1 + extra)
    assert many["kernel"] - few["kernel"] == faulted_names * extra, (few, many)
    # user-mode faults (stack, thread start/exit) do not grow with the iterations
    assert abs(many["user"] - few["user"]) <= 2, (few, many)


def _mounts():
    with open("/proc/self/mountinfo") as f:
        return f.read()


def test_move_mount_leaves_no_mount():
    before = _mounts()
    try:
        res = ioworkload.run("path_faulted_move_mount", iterations=50, threads=2)
    except Unsupported as e:
        pytest.skip(str(e))
    assert res.ok, res.mismatches
    assert _mounts() == before


@pytest.mark.parametrize("name", ["dir_chdir", "dir_getcwd"])
def test_chdir_returns_to_the_cwd_of_the_run(name, tmp_path):
    # The cwd at run time (not at import time) is where the workers return to.
    start = os.getcwd()
    os.chdir(tmp_path)
    try:
        res = ioworkload.run(name, iterations=500, threads=2)
        assert res.ok, res.mismatches
        assert os.getcwd() == str(tmp_path)
    finally:
        os.chdir(start)
    assert not os.path.exists(res.tmpdir)
