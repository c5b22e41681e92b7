"""Checks of the open family that the generic kernel-witnessed test cannot make: that the
helper thread's calls really run on another thread, that the sleep gap is there, that
open_pid_filter's child is reaped, and the manifest forms `noreturn` / `exit-only` it relies on."""

import os

import pytest

from ioworkload.core import registry, runner, verify
from ioworkload.core.errors import Unsupported
from ioworkload.core.manifest import Event, Expect

from conftest import kernel_can_verify

_no_verify = kernel_can_verify()


def _run(sc, iterations, **kw):
    try:
        return runner.execute(sc, iterations=iterations, **kw)
    except Unsupported as e:
        pytest.skip(f"unsupported: {e}")


def test_noreturn_and_exit_only_events_parse():
    gone = Event.parse("helper: exit(0) -> noreturn")
    assert gone.expect == Expect("noreturn", 0) and gone.enters and not gone.exits
    assert gone.role == "helper"
    back = Event.parse("helper: clone(CLONE_VM, &scratch_end, NULL, &thread_alive, 0) -> 0 exit-only")
    assert back.exit_only and back.exits and not back.enters and back.role == "helper"
    assert Event.parse(str(back)) == back and Event.parse(str(gone)) == gone
    with pytest.raises(ValueError):
        Event.parse("exit(0) -> noreturn exit-only")


def test_threads_plan_counts_one_enter_and_two_exits_of_clone():
    sc = registry.get("open_by_handle_at_threads")
    try:
        counters = {c.label: c for c in verify.plan(sc)}
    except Unsupported as e:
        pytest.skip(str(e))
    events = verify.worker_events(sc, False, 0)
    assert counters["clone: entered"].bounds(events, 10) == (10, 10)
    assert counters["clone: returned"].bounds(events, 10) == (20, 20)
    assert counters["clone: returned 0"].bounds(events, 10) == (10, 10)
    # ten helpers' raw exits and the worker's own (its thread ends with exit(0) too)
    assert counters["exit: entered"].bounds(events, 10) == (11, 11)
    assert counters["exit: returned"].bounds(events, 10) == (0, 0)
    assert sc.expected_counts(10)["clone"] == 10


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
def test_helper_thread_calls_are_not_the_workers():
    # Counted on the worker thread alone (no perf inherit), the helper: events vanish:
    # proof that they ran on another thread.
    n = 10
    sc = registry.get("open_by_handle_at_threads").replace(helper_threads=False)
    res = _run(sc, n, verify=True)
    assert res.ok, res.mismatches
    seen = {r["counter"]: r["witnessed"] for r in res.verification}
    on_helper = [e for e in sc.iteration if e.role == "helper"]
    assert len(on_helper) == 5
    entered_on_helper = sum(e.enters for e in on_helper)
    all_entered = sum(e.enters for e in sc.iteration) * n
    runner_own = 2  # the worker's done wake-up and its exit (its release wait returns only)
    assert seen["raw_syscalls:sys_enter (every syscall)"] == (all_entered - entered_on_helper * n
                                                              + runner_own)
    assert seen["name_to_handle_at: entered"] == 0
    assert seen["exit: entered"] == 1  # the worker's own end, none of the helpers'
    assert seen["clone: returned"] == n          # only the worker's own return
    assert seen["gettid: entered"] == n          # the worker's gettid, not the helper's


def test_duration_gap_sleeps_800ms_first_then_50ms():
    res = _run(registry.get("open_duration_gap"), 3)
    assert res.ok, res.mismatches
    assert res.elapsed_ns >= (800 + 2 * 50) * 1_000_000


def test_pid_filter_child_declares_every_call():
    # The child no longer execs a program: its events are all declared, as the child's.
    sc = registry.get("open_pid_filter")
    child = [str(e) for e in sc.iteration if e.role == "child"]
    assert [e.split("(")[0].split(" ")[-1] for e in child] == ["clone", "openat", "close",
                                                               "exit_group"]
    assert sc.iteration[3].exit_only and sc.iteration[6].expect.kind == "noreturn"
    assert not any(getattr(p, "__name__", "").startswith("program(") for p in sc.requires)


def test_pid_filter_leaves_no_child_behind():
    res = _run(registry.get("open_pid_filter"), 5)
    assert res.ok, res.mismatches
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
