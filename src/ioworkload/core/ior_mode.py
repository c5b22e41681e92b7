"""ior mode: what `ioworkload --scenario=NAME` (or any IOR_WORKLOAD_* variable) changes, so that
the integration tests of ior (snonux/ior) can drive ioworkload in place of ior's own workload.

The normal mode stays exact; ior mode follows the lifecycle of ior's `cmd/ioworkload/main.go`:

* the PID line comes first, always: a scenario that cannot run here prints the PID of the
  command and exits 1 (ior's workload prints its PID, then fails), never 77 before any output;
* a failure exits 1 at once: the hold file is not waited for;
* the start and hold files are polled with stat(): ENOENT means "not yet", any other error
  (ENOTDIR, EACCES, ELOOP) ends the run with exit 1, as ior's `waitForFile` does;
* results ior's workload accepts do not fail the run (TOLERATED below);
* where a family module has IOR_SCENARIOS, ior's own sequence of that scenario runs instead
  (those marked one_worker, e.g. fd's, close numbers another worker could hold: one thread);
* ior's prestart hooks: a variant's kernel prestart runs in the scenario process before the
  PID line (close_untracked's opens its 64 files); with `prestart_task` (thread_exit_tid_worker,
  exec_non_leader_thread_tid, getppid_burst) it parks a task; the task's tid goes to IOR_WORKLOAD_TID_FILE
  (a thread) or its pid to IOR_WORKLOAD_CHILD_PID_FILE (a child), required as in ior
  (PRESTART_FILE): unset, or a failing prestart, ends the run before the PID line with exit 1
  and `scenario <name> prestart failed: <why>`. From the release on the task's calls are
  declared (runner.py, expect.py) and --verify counts them. Where ior has no hook but its
  thread exists before the tracer attaches (thread_comm_fdtable, exec_non_leader_thread and
  exec_non_leader_into_open: prestart_required False) a task is parked too, and the file is
  written only when set;
* the exec_non_leader_* variants exec in the scenario process (Scenario.execs): the parked
  thread's execve makes the process a new image under the PID, which the controller lets go
  with SIGUSR1 after the hold file (runner.py);
* IOR_WORKLOAD_TID_FILE otherwise receives the TID the scenario runs on (the main thread:
  TID == PID), decimal, mode 0600, before the PID line; IOR_WORKLOAD_CHILD_PID_FILE also gets
  fork_inherit_fds's child, after the run (ior's workload ignores it for other scenarios, and
  so does this one);
* crash (misc's IOR_SCENARIOS) issues no call of its own and exits 1 at once.
"""

from __future__ import annotations

import os

from ioworkload.core.errors import PrestartFailed, ScenarioFailed

STARTUP_FILE = "IOR_WORKLOAD_STARTUP_FILE"
STARTUP_DELAY = "IOR_WORKLOAD_STARTUP_DELAY_MS"
HOLD_FILE = "IOR_WORKLOAD_HOLD_FILE"
TID_FILE = "IOR_WORKLOAD_TID_FILE"
CHILD_PID_FILE = "IOR_WORKLOAD_CHILD_PID_FILE"
ENV = (STARTUP_FILE, STARTUP_DELAY, HOLD_FILE, TID_FILE, CHILD_PID_FILE)

# Results ior's own workload accepts, by syscall: errno names (None: any error). Each is a race or
# a host's limit that ior's scenario code checks for and lets pass.
TOLERATED: dict[str, "frozenset[str] | None"] = {
    "io_cancel": frozenset({"EAGAIN"}),          # the iocb may still be in flight
    "mlock": frozenset({"EPERM", "ENOMEM"}),     # RLIMIT_MEMLOCK without CAP_IPC_LOCK
    "cachestat": frozenset({"ENOSYS"}),          # before Linux 6.5
    "fchmodat2": frozenset({"ENOSYS"}),          # before Linux 6.6
}
# ioctl(FIONREAD) failing is accepted too (any error); other ioctls are not.
TOLERATED_IOCTL = "FIONREAD"

# Requirement probes ior mode does not apply: ior runs these scenarios anyway and accepts the
# ENOSYS (TOLERATED), so ioworkload does too instead of saying unsupported.
SKIPPED_PROBES = frozenset({"syscall_implemented(cachestat)", "syscall_implemented(fchmodat2)"})


def requested(env=None) -> bool:
    """Any IOR_WORKLOAD_* variable set means ior's harness (or a script like it) started us."""
    env = os.environ if env is None else env
    return any(k in env for k in ENV)


def ior_sequence(sc):
    """ior's own sequence of `sc` where its family has one (the family module's IOR_SCENARIOS,
    e.g. close_range on the descriptors its opens returned); None where the scenario itself
    is what ior issues."""
    import importlib
    module = importlib.import_module(f"ioworkload.families.{sc.family}")
    return next((v for v in getattr(module, "IOR_SCENARIOS", ()) if v.name == sc.name), None)


def scenario_for_ior(sc):
    """The scenario as ior mode runs it: ior's own sequence where the family has one, and the
    probes ior does not need left out. `one_worker` on the result: ior's sequence uses
    descriptors a second worker could share (its family marks it; it must run alone)."""
    variant = ior_sequence(sc)
    chosen = variant or sc
    kept = tuple(p for p in chosen.requires if getattr(p, "__name__", "") not in SKIPPED_PROBES)
    if len(kept) != len(chosen.requires):
        chosen = chosen.replace(requires=kept)
    chosen.one_worker = getattr(variant, "one_worker", False)
    return chosen


def file_present(path: str) -> "bool | None":
    """True once `path` exists; None while stat() says ENOENT; any other stat error is fatal
    (ScenarioFailed, exit 1), as in ior's workload."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ScenarioFailed(f"cannot stat {path}: {e.strerror}") from None
    return True


# Where a prestart's parked task is published, by its role; ior's hooks require the variable.
PRESTART_FILE = {"helper": TID_FILE, "child": CHILD_PID_FILE}


def prestart_file(sc, env=None) -> "str | None":
    """The file ior mode writes the parked task of `sc`'s prestart to (None: no prestart);
    PrestartFailed when its variable is unset, as ior's prestart fails (before the PID line),
    unless ior has no such hook (prestart_required False: then None)."""
    if not getattr(sc, "prestart_task", None):
        return None
    env = os.environ if env is None else env
    var = PRESTART_FILE[sc.prestart_task]
    if not env.get(var):
        if not sc.prestart_required:
            return None
        raise PrestartFailed(f"scenario {sc.ior_name} prestart failed: {var} is not set")
    return env[var]


def parked_task(expected: dict) -> "int | None":
    """The tid/pid of the task a prestart parked, from the expect document."""
    return next((t["tid"] for t in expected["tasks"] if t.get("prestart")), None)


def first_child(expected: dict) -> "int | None":
    """The pid of the first child process the run forked (a resolved expect document)."""
    return next((t["tids"][0] for t in expected["tasks"]
                 if t["role"] == "child" and t.get("tids")), None)


def write_tid_file(path: str, tid: int, var: str = TID_FILE) -> None:
    """The TID (or PID), decimal, in a file of mode 0600 (ior: os.WriteFile(path, tid, 0600))."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, str(tid).encode())
        finally:
            os.close(fd)
    except OSError as e:
        raise ScenarioFailed(f"cannot write {var} {path}: {e.strerror}") from None


def _tolerated(event: dict) -> bool:
    """A mismatched event whose every call happened and whose only surprises are errors ior
    accepts for that syscall."""
    if event["matched"] or event["count"] != event["expected_count"] or not event["errors"]:
        return False
    if event["syscall"] == "ioctl":
        return TOLERATED_IOCTL in event["event"]
    names = TOLERATED.get(event["syscall"], frozenset())
    expected = {event["expected"].lstrip("-")} if event["expected"].startswith("-E") else set()
    return names is None or set(event["errors"]) <= names | expected  # a mix of both: a race


def tolerate(result) -> list[str]:
    """Drop from `result` the mismatches ior's workload would accept; returns what was dropped.
    result.ok then says whether ior's workload would have succeeded."""
    dropped = []
    for ev in result.events:
        if _tolerated(ev):
            prefix = f"{ev['phase']} {ev['event']}: "
            dropped += [m for m in result.mismatches if m.startswith(prefix)]
    if dropped:
        result.mismatches = [m for m in result.mismatches if m not in dropped]
        result.ok = not result.mismatches
    return dropped

