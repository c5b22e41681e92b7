"""What a tracer's eBPF programs cost, by the kernel's own per-program statistics.

With `kernel.bpf_stats_enabled` = 1 the kernel counts every run of every BPF program and the
time it took (`run_cnt`, `run_time_ns` of `struct bpf_prog_info`). `enabled()` turns that on
and always puts the old value back (also on Ctrl-C: the write back is in a `finally` that a
further stop signal cannot cut short). `programs_of_group(pgid)` finds the programs the
processes of a tracer's process group hold (the `prog_id:` of their bpf-prog and bpf_link fds
in /proc/PID/fdinfo) and reads each one's info with bpf(BPF_PROG_GET_FD_BY_ID) and
bpf(BPF_OBJ_GET_INFO_BY_FD). This runs in the controller, never in a workload.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import struct

from ioworkload.overhead.deferred import signals_deferred

SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"

BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
_NR_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())

# struct bpf_prog_info (uapi/linux/bpf.h), the fields read here and their offsets
_INFO_SIZE = 232
_TYPE, _ID, _NAME, _RUN_TIME_NS, _RUN_CNT = 0, 4, 64, 192, 200
PROG_TYPES = {1: "socket_filter", 2: "kprobe", 5: "tracepoint", 7: "perf_event",
              17: "raw_tracepoint", 26: "tracing"}


def read_sysctl() -> str | None:
    try:
        with open(SYSCTL) as f:
            return f.read().strip()
    except OSError:
        return None


def _write_sysctl(value: str) -> None:
    with open(SYSCTL, "w") as f:
        f.write(value)


def unavailable() -> str | None:
    """Why the statistics cannot be had here, or None."""
    if read_sysctl() is None:
        return f"this kernel has no {SYSCTL}"
    if _NR_BPF is None:
        return f"bpf() syscall number unknown on {platform.machine()}"
    if not os.access(SYSCTL, os.W_OK):
        return "turning on kernel.bpf_stats_enabled needs root"
    return None


@contextlib.contextmanager
def enabled():
    """kernel.bpf_stats_enabled = 1 inside the block, its old value restored afterwards."""
    old = read_sysctl()
    if old is None:
        raise OSError(errno.ENOENT, f"no {SYSCTL}")
    with signals_deferred():
        if old != "1":
            _write_sysctl("1")
    try:
        yield old
    finally:
        with signals_deferred():
            if old != "1":
                _write_sysctl(old)


def _group_pids(pgid: int) -> list[int]:
    """The processes whose process group is `pgid` (a tracer and whatever it started)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                out.append(int(name))
        except (OSError, IndexError, ValueError):
            pass
    return out


def _prog_ids(pid: int) -> set[int]:
    ids = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return ids
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link not in ("anon_inode:bpf-prog", "anon_inode:bpf_link"):
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except (OSError, ValueError):
            pass
    return ids


_libc = None


def _bpf(cmd: int, attr: ctypes.Array) -> int:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    rc = _libc.syscall(ctypes.c_long(_NR_BPF), ctypes.c_long(cmd), attr,
                       ctypes.c_long(ctypes.sizeof(attr)))
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return rc


def prog_info(prog_id: int) -> dict | None:
    """id, name, type, run_cnt, run_time_ns of one program (None if it is gone)."""
    attr = ctypes.create_string_buffer(struct.pack("=III", prog_id, 0, 0), 16)
    try:
        fd = _bpf(BPF_PROG_GET_FD_BY_ID, attr)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return None
        raise
    try:
        info = ctypes.create_string_buffer(_INFO_SIZE)
        attr = ctypes.create_string_buffer(
            struct.pack("=IIQ", fd, _INFO_SIZE, ctypes.addressof(info)), 16)
        _bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
        raw = info.raw
        ptype, pid_ = struct.unpack_from("=II", raw, _TYPE)
        (run_time,) = struct.unpack_from("=Q", raw, _RUN_TIME_NS)
        (run_cnt,) = struct.unpack_from("=Q", raw, _RUN_CNT)
        name = raw[_NAME:_NAME + 16].split(b"\0", 1)[0].decode(errors="replace")
        return {"id": pid_, "name": name, "type": PROG_TYPES.get(ptype, str(ptype)),
                "run_cnt": run_cnt, "run_time_ns": run_time}
    finally:
        os.close(fd)


def prog_ids_of_group(pgid: int) -> set[int]:
    """The ids of the BPF programs the processes of group `pgid` hold."""
    ids: set[int] = set()
    for pid in _group_pids(pgid):
        ids |= _prog_ids(pid)
    return ids


def programs_of_group(pgid: int) -> list[dict]:
    """Every BPF program the processes of group `pgid` hold, with its statistics."""
    return [p for p in (prog_info(i) for i in sorted(prog_ids_of_group(pgid))) if p is not None]


def summary(programs: list[dict], calls: int | None) -> dict:
    """Totals: runs, time, ns per run and, over the workload's `calls`, ns and runs per call.
    (A program on a syscall tracepoint also runs for other processes' calls of that syscall:
    runs per call above 1 says so.)"""
    cnt = sum(p["run_cnt"] for p in programs)
    ns = sum(p["run_time_ns"] for p in programs)
    return {"programs": programs, "run_cnt": cnt, "run_time_ns": ns,
            "ns_per_run": (ns / cnt) if cnt else None,
            "runs_per_call": (cnt / calls) if calls else None,
            "ns_per_call": (ns / calls) if calls else None}
