"""Every registered scenario, witnessed by the kernel's tracepoints: the per-thread counts of
sys_enter_*/sys_exit_* (with the expected-result filter) and raw_syscalls:sys_enter must equal
the manifest exactly: every scenario at 5 iterations on 2 threads, and one in three at 1
iteration on 1 thread (the test run's time budget); IOWORKLOAD_FULL=1: every scenario at 1, and at
100 on 1 and 2 threads."""

import os

import pytest

import ioworkload
from ioworkload.core import registry
from ioworkload.core.errors import Unsupported

from conftest import FULL, MANY, kernel_can_verify

NAMES = sorted(registry.all_scenarios())
_no_verify = kernel_can_verify()


def _open_fds():
    return set(os.listdir("/proc/self/fd"))


def _aio_nr():
    with open("/proc/sys/fs/aio-nr") as f:
        return int(f.read())


CASES = [(n, MANY, 2) for n in NAMES] + [(n, 1, 1) for n in (NAMES if FULL else NAMES[::3])] \
    + ([(n, MANY, 1) for n in NAMES] if FULL else [])


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("name,iterations,threads", CASES)
def test_scenario_witnessed_by_kernel(name, iterations, threads):
    fds_before = _open_fds()
    aio_before = _aio_nr()
    try:
        res = ioworkload.run(name, iterations=iterations, threads=threads, verify=True)
    except Unsupported as e:
        pytest.skip(f"unsupported: {e}")
    assert res.ok, res.mismatches
    bad = [r for r in res.verification if not r["ok"]]
    assert res.verified, bad
    assert res.iterations_done == [iterations] * threads
    # nothing left behind: fds, AIO contexts, the private directory
    assert _open_fds() == fds_before
    assert _aio_nr() == aio_before
    if res.tmpdir:
        assert not os.path.exists(res.tmpdir)


@pytest.mark.parametrize("name", NAMES)
def test_manifest_is_well_formed(name):
    sc = registry.get(name)
    assert sc.iteration or sc.operations, \
        "every iteration issues at least one syscall or io_uring operation (SQPOLL: none)"
    assert sc.summary and len(sc.summary) < 100
    assert registry.get(sc.ior_name) is sc
    d = ioworkload.describe(name)
    assert (d["iteration"] or d["operations"]) and all(
        "->" in e for e in d["iteration"] + d["operations"])


def test_zz_catalog_left_nothing_behind(session_tmp_root):
    """Runs last in this file (after every scenario above, and the other test files): the
    session's private TMPDIR is empty and the mount table is what it was at the start."""
    from conftest import _mounts
    root, mounts_before = session_tmp_root
    assert [n for n in os.listdir(root) if not n.startswith("pytest-of-")] == []
    assert _mounts() == mounts_before
