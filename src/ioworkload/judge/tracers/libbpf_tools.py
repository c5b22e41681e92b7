"""The libbpf-tools (Debian's `libbpf-tools`: BTF, CO-RE, one binary per tool), each with the
PID filter it offers and judged on the class of calls it claims to trace (scope.py), not on
the whole process. The table below is each tool's claim and what it reports; which members of
its class it really sees is measured (docs/tracer-matrix.md), never assumed.

Each runs under `stdbuf -oL` (its stdout is a pipe: a line must come when it is printed) and is
ready at its header, which it prints once its programs are attached. Its PID filter takes the
process's threads (all but mountsnoop print the process's PID for each: they state no
`threads`, and the process is judged as one task, matching.by_process), never its children;
execsnoop has no PID filter: the reader keeps the process's execs and its children's.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil

from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.scope import Scope
from ioworkload.judge.tracers import Tracer

PACKAGE = "libbpf-tools"


class Tool:
    def __init__(self, command: str, header: str, scope: Scope, caps: Capabilities,
                 blind_spots: tuple = (), kprobes: bool = False):
        self.command, self.header, self.scope, self.caps = command, header, scope, caps
        self.blind_spots, self.kprobes = blind_spots, kprobes


# (what bpf_get_current_pid_tgid()'s upper half gives: the thread group's id)
_BY_PROCESS = "it prints the process's id (its thread group's), not the thread's"
_SEEN_AT_EXIT = {"entry": "it counts at sys_exit: exit and exit_group never return",
                 "returns": "it counts calls per syscall, without their values",
                 "args": "counts only", "order": "counts only",
                 "threads": "it counts the calls of the whole process"}


def _reports(args, why_args: str, threads: bool = False, **reasons) -> Capabilities:
    return Capabilities(returns=True, args=args, entry=True, exit=True, new_tasks=True,
                        order=False, threads=threads,
                        reasons={"args": why_args, "order": "it prints events as each CPU's "
                                 "buffer is read, not in the order they happened",
                                 **({} if threads else {"threads": _BY_PROCESS}), **reasons})


TOOLS = {
    "syscount": Tool(
        "syscount -T 1000 -p {pid}", r"^Tracing syscalls",
        Scope("syscall", None),
        Capabilities(returns=False, args=False, entry=False, exit=True, new_tasks=True,
                     order=False, threads=False, reasons=_SEEN_AT_EXIT),
        blind_spots=((re.compile(r"^missing: \S+ #\d+ rt_sigreturn "),
                      "rt_sigreturn's sys_exit carries the restored registers' number (-1), "
                      "which it does not count"),)),
    "opensnoop": Tool(
        "opensnoop -e -p {pid}", r"^PID\s+COMM",
        Scope("open", ("openat", "open", "openat2", "creat", "open_by_handle_at"),
              opcodes=("IORING_OP_OPENAT", "IORING_OP_OPENAT2")),
        _reports(frozenset({"filename", "flags"}), "it prints the path and the flags only")),
    "statsnoop": Tool(
        "statsnoop -p {pid}", r"^PID\s+COMM",
        Scope("stat", ("newfstatat", "statx", "stat", "lstat", "statfs", "fstat", "fstatfs"),
              opcodes=("IORING_OP_STATX",)),
        _reports(frozenset({"filename", "pathname"}), "it prints the path only")),
    "sigsnoop": Tool(
        "sigsnoop -k -p {pid}", r"^TIME\s+PID",
        Scope("signal", ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
                         "pidfd_send_signal")),
        _reports(frozenset({"pid", "sig"}), "it prints the target and the signal only")),
    "execsnoop": Tool(
        "execsnoop -q -x", r"^PCOMM\s+PID",
        Scope("exec", ("execve", "execveat"), children=True),
        _reports(frozenset({"filename"}), "it prints the file and argv[1:] (not compared)")),
    "mountsnoop": Tool(
        "mountsnoop -p {pid}", r"^COMM\s+PID",
        Scope("mount", ("mount", "umount2", "move_mount", "fsmount", "mount_setattr")),
        _reports(frozenset({"dev_name", "dir_name", "type", "flags", "name"}),
                 "it prints mount's and umount's arguments, an empty string for NULL",
                 threads=True)),
    "bindsnoop": Tool(
        "bindsnoop -x -p {pid}", r"^\s*PID\s+COMM",
        Scope("bind", ("bind",)),
        Capabilities(returns=True, args=False, entry=True, exit=True, new_tasks=True,
                     order=False, threads=False,
                     reasons={"args": "it prints the address it bound, not the call's "
                                      "arguments", "threads": _BY_PROCESS}),
        kprobes=True),
}


# A child is a process of its own: a PID filter passes the process's threads only.
CHILDREN = (re.compile(r"^missing: .* on a child of worker \d+: "),
            "its PID filter takes the process's threads, not its children")


class LibbpfTool(Tracer):
    def __init__(self, name: str, tool: Tool):
        blind = tool.blind_spots + (() if tool.scope.children else (CHILDREN,))
        super().__init__(name, "stdbuf -oL {pid}", name, ready="line", caps=tool.caps,
                         blind_spots=blind)
        # (the command is ours, not a user's template: execsnoop's has no PID to fill in, its
        # reader keeps the process's execs)
        self.template = "stdbuf -oL " + tool.command
        self.argv = shlex.split(self.template)
        self.ready_line = re.compile(tool.header)
        self.scope = tool.scope
        self.quiet_drain = True  # it prints no exit_group: stopped once its output is quiet
        self.kprobes = tool.kprobes

    def unavailable(self) -> str | None:
        if shutil.which(self.name) is None:
            return f"{self.name} is not installed (Debian package {PACKAGE})"
        if shutil.which("stdbuf") is None:
            return "stdbuf is not installed (Debian package coreutils)"
        if not os.path.exists("/sys/kernel/btf/vmlinux"):
            return f"{self.name} needs the kernel's BTF (/sys/kernel/btf/vmlinux)"
        if self.kprobes and not _kprobes():
            return (f"{self.name} attaches kprobes, and this kernel has none (no "
                    f"kprobe_events in tracefs)")
        return None


def _kprobes() -> bool:
    return any(os.path.exists(os.path.join(root, "kprobe_events"))
               for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"))


def tracer(name: str = "syscount") -> Tracer:
    return LibbpfTool(name, TOOLS[name])
