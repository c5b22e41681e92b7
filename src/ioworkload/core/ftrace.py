"""ftrace's syscall events for one process through a tracefs instance of its own, read back
with trace-cmd (`check --tracer trace-cmd`, `overhead --tracer trace-cmd`).

`trace-cmd record` and `start` write 1 to /proc/sys/kernel/ftrace_enabled first, and stop
when that write fails (a kernel that keeps the setting read-only refuses it even when it is 1,
as this project's machines do): so the instance is set up here, by its files, and trace-cmd
extracts its buffers (`trace-cmd extract -B`, which also removes the instance) and prints them
(`trace-cmd report`). Nothing outside the instance is touched: the top level's events, filters
and options stay as they are.

Run as a program, `python -m ioworkload.core.ftrace --pid PID --data FILE [--syscalls a,b]`:
it creates the instance `ioworkload-PID`, filters it on the process's tasks (set_event_pid,
with event-fork so the tasks they create join), enables raw_syscalls (or the named syscalls'
own events), prints `ready`, and waits until the process has exited, SIGINT/SIGTERM comes, or whoever started it dies;
then prints trace-cmd's report and `lost N events` (the ring buffers' overruns), and removes
the instance (also on failure; remove_instance(PID) does it for a program that was killed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from ioworkload.core import verify
from ioworkload.core.errors import Unsupported
from ioworkload.core.session import Stop, ignore_signals, listed, run

PACKAGE = "trace-cmd"



def instance_name(pid: int) -> str:
    return f"ioworkload-{pid}"


def instance_path(pid: int) -> str:
    return os.path.join(verify.tracefs_root(), "instances", instance_name(pid))


def unavailable() -> str | None:
    if shutil.which("trace-cmd") is None:
        return f"trace-cmd is not installed (Debian package {PACKAGE})"
    try:
        root = verify.tracefs_root()
    except Unsupported as e:
        return str(e)
    if not os.path.isdir(os.path.join(root, "instances")):
        return "tracefs has no instances directory"
    if not os.path.isdir(os.path.join(root, "events", "raw_syscalls")):
        return "the kernel has no raw_syscalls tracepoints"
    return None


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def remove_instance(pid: int) -> bool:
    """Disable and remove the instance of process `pid`; False if there was none."""
    try:
        path = instance_path(pid)
    except Unsupported:
        return False
    if not os.path.isdir(path):
        return False
    for name in ("tracing_on", "events/enable"):
        try:
            _write(os.path.join(path, name), "0")
        except OSError:
            pass
    # a reader that is still closing its buffers keeps the directory busy a moment
    deadline = time.monotonic() + 5
    while True:
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _tasks(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def setup(pid: int, syscalls: list[str] | None = None, buffer_kb: int | None = None,
          tids: list[str] | None = None) -> str:
    """The instance, filtered on the process's tasks (or the threads named) and the tasks
    they create, and enabled; its path."""
    path = instance_path(pid)
    os.mkdir(path)
    _write(os.path.join(path, "tracing_on"), "0")
    if buffer_kb:
        _write(os.path.join(path, "buffer_size_kb"), str(buffer_kb))
    _write(os.path.join(path, "set_event_pid"), " ".join(tids or _tasks(pid)))
    _write(os.path.join(path, "options", "event-fork"), "1")
    events = os.path.join(path, "events")
    if syscalls:
        from ioworkload.core import expect
        for s in syscalls:
            for direction in ("enter", "exit"):
                category, event, flt = expect.tracepoint(s, direction)
                _write(os.path.join(events, category, event, "enable"), "1")
                if flt:
                    _write(os.path.join(events, category, event, "filter"), flt)
    else:
        _write(os.path.join(events, "raw_syscalls", "enable"), "1")
    _write(os.path.join(path, "tracing_on"), "1")
    return path


def buffer_stats(path: str) -> dict:
    """The instance's ring buffers' `entries` (events held) and `overrun` (events lost: the
    buffer overwrote them), summed over the CPUs (per_cpu/cpuN/stats)."""
    total = {"entries": 0, "overrun": 0}
    per_cpu = os.path.join(path, "per_cpu")
    for cpu in os.listdir(per_cpu):
        try:
            with open(os.path.join(per_cpu, cpu, "stats")) as f:
                for line in f:
                    name, _, value = line.partition(":")
                    if name in total:
                        total[name] += int(value.split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def _trace_cmd(args: list[str], stdout):
    """trace-cmd's result, None (and its error on stderr) when it failed. extract fails now
    and then here: it reads /proc/kallsyms into its file after the buffers, and gives up when
    the file changes size meanwhile (BPF programs others load and unload)."""
    r = subprocess.run(["trace-cmd", *args], stdout=stdout, stderr=subprocess.PIPE, text=True)
    if r.returncode:
        print(f"trace-cmd {' '.join(args)}: {' '.join(r.stderr.split())[:200]}", file=sys.stderr)
        return None
    return r


def session(pid: int, data: str, syscalls: list[str] | None = None,
            buffer_kb: int | None = None, tids: list[str] | None = None,
            count_only: bool = False, out=sys.stdout) -> int:
    """The program's body (the module's docstring)."""
    try:
        path = setup(pid, syscalls, buffer_kb, tids)
        print("ready", file=out, flush=True)
        try:
            parent = os.getppid()
            while _alive(pid) and os.getppid() == parent:
                time.sleep(0.1)
            time.sleep(0.2)  # (the last events' writers leave the buffers)
        except Stop:
            pass
        ignore_signals()  # the report is read to its end
        _write(os.path.join(path, "tracing_on"), "0")
        stats = buffer_stats(path)
        if count_only:  # (overhead: what the buffer took, without reading it)
            print(f"events {stats['entries'] + stats['overrun']}", file=out)
            print(f"lost {stats['overrun']} events", file=out, flush=True)
            return 0
        # the kernel's text of the buffer first (`show` does not consume it): what is printed
        # when extract fails, having consumed the buffer
        shown = _trace_cmd(["show", "-B", instance_name(pid)], subprocess.PIPE)
        if _trace_cmd(["extract", "-B", instance_name(pid), "-o", data], subprocess.DEVNULL):
            out.flush()
            if not _trace_cmd(["report", "-i", data], out):
                return 1
        elif shown:
            out.write(shown.stdout)
        else:
            return 1
        out.flush()
        print(f"lost {stats['overrun']} events", file=out, flush=True)
        return 0
    finally:
        ignore_signals()
        remove_instance(pid)


def main(argv: list[str]) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m ioworkload.core.ftrace")
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--data", required=True, help="where trace-cmd extract writes")
    p.add_argument("--syscalls", default="")
    p.add_argument("--tids", default="", help="these threads only (default: every task)")
    p.add_argument("--buffer-kb", type=int)
    p.add_argument("--count-only", action="store_true")
    args = p.parse_args(argv)
    return run("ftrace", lambda: session(args.pid, args.data, listed(args.syscalls),
                                         args.buffer_kb, listed(args.tids), args.count_only),
               (OSError, Unsupported))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
