"""The manifest side of _forked.pxd's fork_child: a raw fork, the child's own calls, its
exit_group(0), and the worker's wait4 that reaps it."""

FORK = "clone(SIGCHLD, 0, NULL, NULL, 0)"


def forked_child(body: list) -> list:
    """The events of one fork_child() whose child issues `body` (manifest events, no role)."""
    return ([f"pid = {FORK} -> >=1", f"child: {FORK} -> 0 exit-only"]
            + [f"child: {e}" for e in body]
            + ["child: exit_group(0) -> noreturn", "wait4(pid, &status, 0, NULL) -> >=1"])
