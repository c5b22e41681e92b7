"""A task's id at each PID namespace level: what the scenario process's own calls see
(gettid, clone's return: the `inner` id), what this command sees (`own`: the PID line, the tid
file, kill, perf_event_open) and what /proc shows (`proc`: the paths the runner reads).

All three are the same in the common case: then nothing here reads /proc. They differ when the
scenario process has a PID namespace of its own (--pid-namespace: inner != own), and when the
command runs in a PID namespace whose /proc was not mounted for it (`unshare --pid --fork`
without --mount-proc: /proc is the host's, so own != proc). /proc's status files give every
level (NSpid: from /proc's namespace down to the task's own).
"""

from __future__ import annotations

import os


def _nspid(status_path: str) -> "list[int] | None":
    """The NSpid line of a /proc status file (outermost level first); None once it is gone."""
    try:
        with open(status_path) as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return [int(n) for n in line.split()[1:]]
    except (OSError, ValueError):
        return None
    return None


def proc_is_own() -> bool:
    """/proc was mounted for this command's PID namespace (its numbers are this process's)."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def _proc_pid(own_pid: int) -> "int | None":
    """Process `own_pid` (this command's numbering) as /proc numbers it: a pidfd's fdinfo gives
    the pid in the namespace of the /proc it is read through."""
    try:
        fd = os.pidfd_open(own_pid)
    except OSError:
        return None
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("Pid:"):
                    pid = int(line.split()[1])
                    return pid if pid > 0 else None  # 0 or -1: not visible in /proc's namespace
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    return None


class Numbering:
    """The ids of the scenario process's tasks (its threads, and the processes they start) at
    the three levels. `own_pid`: the scenario process as fork returned it here. Raises
    LookupError when /proc shows a PID namespace this command's tasks are not in."""

    def __init__(self, own_pid: int, new_namespace: bool):
        self.own_pid = own_pid
        self.identity = proc_is_own() and not new_namespace
        self._ids: dict[int, tuple[int, int]] = {}  # inner id -> (own id, /proc's id)
        if self.identity:
            self.proc_pid = own_pid
            return
        own_levels = _nspid("/proc/self/status")
        proc_pid = _proc_pid(own_pid)
        if not own_levels or proc_pid is None:
            raise LookupError("/proc shows another PID namespace than this command's (mount "
                              "one for it: unshare --pid --fork --mount-proc)")
        self._level = len(own_levels) - 1  # this command's level in a task's NSpid
        self.proc_pid = proc_pid
        self.refresh()

    def refresh(self) -> None:
        """Read the ids of every task of the scenario process and of the processes its tasks
        started (their children files), as they are now."""
        if self.identity:
            return
        todo, seen = [self.proc_pid], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for task in tasks:
                ids = _nspid(f"/proc/{pid}/task/{task}/status")
                if ids and len(ids) > self._level:
                    self._ids[ids[-1]] = (ids[self._level], ids[0])
                try:
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        todo += [int(c) for c in f.read().split()]
                except (OSError, ValueError):
                    pass

    def _lookup(self, inner: int) -> "tuple[int, int] | None":
        if inner not in self._ids:
            self.refresh()
        return self._ids.get(inner)

    def own(self, inner: int) -> int:
        """The id this command knows task `inner` by (inner itself when it is not found: a
        task that is gone has no other id left to find)."""
        if self.identity or not inner or inner < 0:
            return inner
        ids = self._lookup(inner)
        return ids[0] if ids else inner

    def proc(self, inner: int) -> int:
        """The id of task `inner` in /proc's paths (0 when it is not there: gone)."""
        if self.identity or not inner or inner < 0:
            return inner
        ids = self._lookup(inner)
        return ids[1] if ids else 0

    def proc_of_own(self, own: int) -> int:
        """The /proc id of a task this command knows as `own`."""
        if self.identity:
            return own
        if own == self.own_pid:
            return self.proc_pid
        for o, p in self._ids.values():
            if o == own:
                return p
        return 0


def outer_ids(root_pid: int, own_pid: int) -> dict[int, int]:
    """A command started under a wrapper of this process's (root_pid, in this numbering: say
    `unshare --pid --fork --mount-proc`) that put it in a PID namespace below this one: each
    task of its scenario process `own_pid` (the command's numbering: its PID line) -> that
    task's id here. {} when the command shares this numbering (or the process is gone)."""
    level, todo, seen = None, [root_pid], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        ids = _nspid(f"/proc/{pid}/status")
        if ids and len(ids) > 1 and level is None:
            level = len(ids) - 1  # the first process below: the command (the wrapper's child)
        if ids and level is not None and len(ids) > level and ids[level] == own_pid:
            return _task_ids(pid, level)
        todo += _children(pid)
    return {}


def _children(pid: int) -> list[int]:
    """The processes any task of process `pid` started."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            pass
    return out


def _task_ids(pid: int, level: int) -> dict[int, int]:
    out = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        ids = _nspid(f"/proc/{pid}/task/{task}/status")
        if ids and len(ids) > level:
            out[ids[level]] = ids[0]
    return out
