"""Run-time requirement probes for the registry. Each returns None (fine) or why not.

Features are probed by asking the kernel (issuing the syscall with harmless arguments, or
looking at tracefs), never by kernel version number: distributions backport.
"""

from __future__ import annotations

import errno
import functools
import os

from ioworkload.core import _runner


def fd_limit() -> int | None:
    """The soft RLIMIT_NOFILE: fd numbers must stay below it (None: unlimited)."""
    import resource
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def _effective_caps() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


CAPS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
        "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_IPC_LOCK": 14, "CAP_SYS_MODULE": 16,
        "CAP_SYS_CHROOT": 18, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22,
        "CAP_SYS_RESOURCE": 24, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_SYSLOG": 34,
        "CAP_PERFMON": 38, "CAP_BPF": 39}


def in_initial_user_namespace() -> bool:
    """This process is in the initial user namespace (its uid map is the identity over every
    uid), not in one `unshare -U` made, whose capabilities the kernel's global checks ignore."""
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:  # no user namespaces in this kernel
        return True


def user_namespace_maps(ident: int):
    """The process's user namespace maps uid and gid `ident` and lets it set its groups (the
    host's does; `unshare -Ur` maps root alone and denies setgroups)."""

    def probe():
        if in_initial_user_namespace():
            return None
        for kind in ("uid", "gid"):
            try:
                with open(f"/proc/self/{kind}_map") as f:
                    ranges = [tuple(map(int, line.split())) for line in f if line.strip()]
            except (OSError, ValueError):
                continue
            if not any(inside <= ident < inside + count for inside, _, count in ranges):
                return (f"switches to {kind} {ident}, which this user namespace does not map "
                        f"(unshare -Ur maps root alone)")
        try:
            with open("/proc/self/setgroups") as f:
                if f.read().strip() == "deny":
                    return "sets its groups, which this user namespace denies (setgroups: deny)"
        except OSError:
            pass
        return None

    probe.__name__ = f"user_namespace_maps({ident})"
    return probe


def capability(name: str, initial_namespace: bool = False):
    """The process holds capability `name` (e.g. CAP_SYS_ADMIN); with initial_namespace, in
    the initial user namespace, for calls the kernel checks with capable() (fanotify_init,
    open_by_handle_at, mlockall beyond the memlock limit, quotactl, swapon)."""
    bit = CAPS[name]

    def probe():
        if not _effective_caps() >> bit & 1:
            return f"needs {name} (run as root)"
        if initial_namespace and not in_initial_user_namespace():
            return (f"needs {name} in the initial user namespace: this process is in a user "
                    f"namespace of its own, whose {name} the kernel does not honour here")
        return None

    probe.__name__ = f"capability({name}{', initial namespace' if initial_namespace else ''})"
    return probe


@functools.cache
def _legacy() -> dict:
    return _runner.legacy_syscall_numbers()


def legacy_syscall(name: str):
    """This architecture has the legacy syscall `name` (x86-64 has rename, aarch64 does not)."""

    def probe():
        if _legacy().get(name, -1) < 0:
            return f"this architecture has no {name} syscall (only its *at successor)"
        return None

    probe.__name__ = f"legacy_syscall({name})"
    return probe


def syscall_implemented(name: str, nr: int, *args: int, returns_fd: bool = False):
    """Issuing syscall `nr` with `args` (chosen to be harmless) does not return -ENOSYS.

    With returns_fd, a successful probe's result is an fd and is closed again."""

    def probe():
        if nr < 0:
            return f"this architecture has no {name} syscall"
        ret = _runner.raw_syscall(nr, *args)
        if ret == -errno.ENOSYS:
            return f"the kernel does not implement {name} (ENOSYS)"
        if ret >= 0 and returns_fd:
            os.close(ret)
        return None

    probe.__name__ = f"syscall_implemented({name})"
    return probe


def in_table(name: str):
    """This architecture's table has syscall `name` (sysfs, ustat, iopl, ... are x86-64's)."""

    def probe():
        from ioworkload.core import expect
        if expect.syscall_number(name) is None:
            return f"this architecture has no {name} syscall"
        return None

    probe.__name__ = f"in_table({name})"
    return probe


def built_with(what: str, config: str, nr: int, *args: int, absent: bool = False):
    """The kernel was built with `what` (option `config`): syscall `nr` with `args` (rejected,
    harmless) does not return -ENOSYS. absent=True: built without it, for the scenario that
    declares such a kernel's -ENOSYS (each of the pair names the other)."""

    def probe():
        if nr < 0:
            return f"this architecture has no {what} syscall"
        missing = _runner.raw_syscall(nr, *args) == -errno.ENOSYS
        if absent and not missing:
            return f"the kernel has {what} ({config}): the scenario without _absent declares it"
        if not absent and missing:
            return f"the kernel has no {what} ({config} off: ENOSYS): the _absent scenario declares that"
        return None

    probe.__name__ = f"built_with({what}, absent={absent})"
    return probe


def program(name: str):
    """An external program is on PATH."""

    def probe():
        import shutil  # only here: keeps the CLI's start-up short
        if shutil.which(name) is None:
            return f"needs the program {name!r} on PATH"
        return None

    probe.__name__ = f"program({name})"
    return probe
