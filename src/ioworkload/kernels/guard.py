"""The keeper of one VM: `python -m ioworkload.kernels.guard [--overlay DIR] [--nice N] -- ARGV...`.

Started by `ioworkload kernels` in a session of its own with PR_SET_PDEATHSIG, so it hears
of the command's end however it ends (Ctrl-C, SIGTERM, SIGKILL). It lays udev over /usr in a
private mount namespace (the host's mounts never change, and the overlay disappears with the
namespace's last process), starts virtme-ng in a process group of its own (vng, virtme-run and
qemu), and on any stop signal, or its parent's death, kills that whole group before it exits.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
GRACE = 5.0  # seconds qemu gets to end on SIGTERM before SIGKILL

_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """PR_SET_PDEATHSIG: the kernel sends `signum` when the parent thread ends (as a
    preexec_fn, between fork and exec, so no death goes unnoticed)."""
    if _libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")


def _check(ret: int, what: str) -> None:
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def overlay_usr(lower: str) -> None:
    """/usr with `lower` laid over it, in a mount namespace of this process's own."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    _check(_libc.mount(b"overlay", b"/usr", b"overlay", 0,
                       f"lowerdir={lower}:/usr".encode()), "mount overlay on /usr")


def kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the VM's process group (vng, virtme-run, qemu), SIGKILL to whatever is left
    after GRACE seconds; returns once the group is empty."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        proc.poll()
        return
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline + GRACE:
        proc.poll()
        _reap_orphans()  # zombies would keep the group alive
        try:
            os.killpg(proc.pid, signal.SIGKILL if time.monotonic() > deadline else 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def _reap_orphans() -> None:
    """Collect the VM's processes whose parent died before them (we are their subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(argv: list[str]) -> int:
    parent = os.getppid()
    stopped: list[int] = []
    for s in STOP_SIGNALS:
        signal.signal(s, lambda signum, frame: stopped.append(signum))
    if parent == 1 or stopped:  # the command ended before we could hear of it
        return 1
    options = {"--overlay": None, "--nice": "0"}
    while argv[:1] and argv[0] in options and len(argv) > 1:
        options[argv[0]], argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.stderr.write("usage: python -m ioworkload.kernels.guard [--overlay DIR] [--nice N] "
                         "-- ARGV...\n")
        return 2
    overlay, nice = options["--overlay"], int(options["--nice"])
    if overlay:
        try:
            overlay_usr(overlay)
        except OSError as e:
            sys.stderr.write(f"ioworkload kernels: {e}\n")
            return 1
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # qemu, orphaned, stays ours to kill
    proc = subprocess.Popen(argv, start_new_session=True,
                            preexec_fn=lambda: (os.nice(nice), die_with_parent(signal.SIGKILL)))
    try:
        while proc.poll() is None:
            if stopped or os.getppid() != parent:
                kill_group(proc)
                return 128 + (stopped[0] if stopped else signal.SIGTERM)
            time.sleep(0.1)
        kill_group(proc)  # anything the VM left in its group
        return proc.returncode
    finally:
        if proc.poll() is None:
            kill_group(proc)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
