"""The Linux audit subsystem as a tracer of one process (`check --tracer auditd`, the auditd
presets of `overhead`): syscall rules for that process only, added with auditctl under a key
of their own; its records read as the audit daemon reads them (netlink) or, where an audit
daemon already runs, from that daemon's log; everything changed put back on every path.

Run as a program, `python -m ioworkload.core.audit --pid PID --state FILE [--syscalls a,b]
[--rule-per-syscall] [--backlog-limit N] [--no-read] [--count-only]`: it saves the kernel's audit settings to
FILE, adds its rules, prints `ready`, then every SYSCALL record of the process as audit.log
writes it, until SIGINT or SIGTERM (or the death of whoever started it); then `lost N` (how much the kernel's lost counter grew:
records the backlog could not hold), removes its rules, restores the settings and deletes
FILE. A state file left behind (the program was killed) is put back by restore(FILE).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import time

from ioworkload.core.session import Stop, ignore_signals, listed, run

NETLINK_AUDIT = 9
AUDIT_GET, AUDIT_SET = 1000, 1001
AUDIT_SYSCALL = 1300
NLMSG_ERROR = 2
# struct audit_status: eleven u32 (the union of version and feature_bitmap is one)
STATUS_FIELDS = ("mask", "enabled", "failure", "pid", "rate_limit", "backlog_limit", "lost",
                 "backlog", "feature_bitmap", "backlog_wait_time", "backlog_wait_time_actual")
# the settings a run may change, with their AUDIT_STATUS_* mask bits
SETTINGS = {"enabled": 0x1, "failure": 0x2, "pid": 0x4, "rate_limit": 0x8,
            "backlog_limit": 0x10, "backlog_wait_time": 0x20}
ARGS = 4  # the arguments a SYSCALL record holds (a0-a3)
AUDITD_CONF = "/etc/audit/auditd.conf"
DAEMON_BUFFER = 16 << 20
PACKAGE = "auditd"


def key_of(pid: int) -> str:
    """The key of the rules for process `pid` (auditctl -k): they are deleted by it."""
    return f"ioworkload-{pid}"


class AuditSocket:
    """A netlink socket to the kernel's audit subsystem."""

    def __init__(self, buffer: int | None = None):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
        if buffer:  # (root may pass the rmem_max limit: the daemon's socket absorbs bursts)
            self.sock.setsockopt(socket.SOL_SOCKET, 33, buffer)  # SO_RCVBUFFORCE
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def send(self, kind: int, payload: bytes) -> None:
        self.seq += 1
        # NLM_F_REQUEST | NLM_F_ACK
        self.sock.send(struct.pack("=IHHII", 16 + len(payload), kind, 0x5, self.seq, 0) + payload)

    def receive(self, timeout: float) -> tuple[int, bytes] | None:
        """(type, payload) of the next message; audit sends one a datagram (and its length
        field may leave out the padding, so the datagram's size is what counts)."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        data = self.sock.recv(1 << 16)
        if len(data) < 16:
            return None
        kind = struct.unpack_from("=IHHII", data)[1]
        return kind, data[16:]

    def _answer(self, want: int | None) -> bytes:
        """The reply to the last request: its payload of type `want`, or its ack."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            msg = self.receive(0.5)
            if msg is None:
                continue
            kind, payload = msg
            if kind == NLMSG_ERROR:
                err = struct.unpack_from("=i", payload)[0]
                if err:
                    raise OSError(-err, os.strerror(-err))
                if want is None:
                    return b""
            elif kind == want:
                return payload
        raise TimeoutError("the kernel's audit subsystem did not answer")

    def status(self) -> dict:
        self.send(AUDIT_GET, b"")
        payload = self._answer(AUDIT_GET).ljust(4 * len(STATUS_FIELDS), b"\0")
        return dict(zip(STATUS_FIELDS, struct.unpack_from(f"={len(STATUS_FIELDS)}I", payload)))

    def set(self, **values) -> None:
        """AUDIT_SET of the named settings only."""
        fields = dict.fromkeys(STATUS_FIELDS, 0)
        fields.update(values)
        fields["mask"] = sum(SETTINGS[k] for k in values)
        self.send(AUDIT_SET, struct.pack(f"={len(STATUS_FIELDS)}I", *fields.values()))
        self._answer(None)


def unavailable() -> str | None:
    """Why the audit subsystem cannot trace here (None: it can)."""
    if shutil.which("auditctl") is None:
        return f"auditctl is not installed (Debian package {PACKAGE})"
    if os.geteuid() != 0:
        return "audit rules need root"
    try:
        s = AuditSocket()
    except OSError as e:
        return f"the kernel's audit subsystem cannot be reached: {e.strerror}"
    try:
        st = s.status()
    except (OSError, TimeoutError) as e:
        return f"the kernel's audit subsystem does not answer: {e}"
    finally:
        s.close()
    if st["enabled"] == 2:
        return "the audit configuration is locked (enabled 2) until reboot"
    return None


def _save(state_path: str, before: dict, **more) -> dict:
    """The state a restore puts back: the settings as they were first seen (a state file
    already there keeps its own) and the keys of the rules to delete."""
    try:
        with open(state_path) as f:
            state = json.load(f)
    except (OSError, ValueError):
        state = {"settings": {k: before[k] for k in SETTINGS}, "keys": [], "registered": False,
                 "session": None}
    keys = state["keys"] + [k for k in more.pop("keys", ()) if k not in state["keys"]]
    state.update(more, keys=keys)
    with open(state_path, "w") as f:
        json.dump(state, f)
    return state


def arm(state_path: str) -> None:
    """What must hold before the scenario is spawned, or its first calls are never recorded:
    audit enabled (the kernel gives a task an audit context at fork only when audit is or
    was enabled), and some rule in place when a call is entered (with none, audit marks the
    call not to be recorded, whatever rule is added before it returns: the worker's release
    wait would be lost). So audit is enabled and a rule that never matches added, under a key
    of its own, saved in `state_path` for restore()."""
    s = AuditSocket()
    try:
        before = s.status()
        key = f"ioworkload-armed-{os.getpid()}"
        _save(state_path, before, keys=[key])
        if before["enabled"] != 1:
            s.set(enabled=1)
    finally:
        s.close()
    # acct by pid 0 (the idle task, which makes no calls): it never matches, and it counts
    subprocess.run(["auditctl", "-a", "always,exit", "-F", "arch=b64", "-S", "acct", "-F",
                    "pid=0", "-k", key], capture_output=True, check=False)


def daemon_running(st: dict) -> bool:
    """An audit daemon other than this program is registered and alive (another session of
    this program is refused: SessionBusy)."""
    if st["pid"] in (0, os.getpid()):
        return False
    try:
        with open(f"/proc/{st['pid']}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    if b"ioworkload.core.audit" in cmdline:
        raise SessionBusy(f"another audit session (pid {st['pid']}) reads the records")
    return True


class SessionBusy(OSError):
    """Another session of this program is the audit daemon: one at a time."""


def log_file() -> str:
    """Where a running auditd writes (auditd.conf's log_file)."""
    try:
        with open(AUDITD_CONF) as f:
            for line in f:
                name, eq, value = line.partition("=")
                if eq and name.strip() == "log_file":
                    return value.strip()
    except OSError:
        pass
    return "/var/log/audit/audit.log"


def rule_lines(pid: int, syscalls: list[str] | None, per_syscall: bool) -> list[str]:
    """auditctl rules (-R file lines) for process `pid` and its children (-F ppid): every
    syscall of both ABIs (arch=b64, arch=b32: a 32-bit call is audited under b32 only), or the
    named 64-bit ones by number (auditctl's own table lacks the newest), in one rule or a
    rule each."""
    from ioworkload.core import expect
    if not syscalls:
        groups = {"b64": [["all"]], "b32": [["all"]]}
    else:
        numbers = [str(expect.syscall_number(s)) for s in syscalls]
        groups = {"b64": [[n] for n in numbers] if per_syscall else [numbers]}
    # (a rule each: the process's own only; the kernel takes some 15 ms to delete a rule)
    fields = ("pid",) if per_syscall else ("pid", "ppid")
    return [f"-a always,exit -F arch={arch} " + " ".join(f"-S {n}" for n in group)
            + f" -F {field}={pid} -k {key_of(pid)}"
            for arch, rules in groups.items() for field in fields for group in rules]


def delete_rules(key: str) -> None:
    subprocess.run(["auditctl", "-D", "-k", key], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)


def restore(state_path: str) -> bool:
    """Put back what a session saved in `state_path` (its rules deleted, the settings it
    changed restored, the daemon it registered unregistered); False if there was nothing."""
    try:
        with open(state_path) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return False
    for key in state["keys"]:
        delete_rules(key)
    s = AuditSocket()
    try:
        now = s.status()
        if state["registered"] and now["pid"] in (0, state["session"]):
            # unregistering tests the daemon's socket first: a dead session's is reset
            try:
                s.set(pid=0)
            except OSError:
                pass
        saved = state["settings"]
        changed = {k: v for k, v in saved.items() if k != "pid" and now.get(k) != v}
        if changed:
            s.set(**changed)
    finally:
        s.close()
    os.unlink(state_path)
    return True


def _deleting_while_reading(key: str, daemon: AuditSocket) -> None:
    """Delete the session's rules while its daemon socket is read: each deletion is a record,
    which must neither wait for room in a full backlog (the deletions would stall) nor go to
    the kernel's log."""
    import threading
    deleter = threading.Thread(target=delete_rules, args=(key,))
    deleter.start()
    while deleter.is_alive():
        daemon.receive(0.05)
    deleter.join()


def session(pid: int, state_path: str, syscalls: list[str] | None = None,
            per_syscall: bool = False, backlog_limit: int | None = None,
            read: bool = True, count_only: bool = False, out=sys.stdout) -> int:
    """The program's body (the module's docstring). count_only: the records counted by
    syscall number (`records NR N` lines at the end), not printed (overhead runs)."""
    control = AuditSocket()
    daemon = None
    before = control.status()
    if before["enabled"] == 2:
        print("the audit configuration is locked (enabled 2)", file=sys.stderr)
        return 77
    use_log = daemon_running(before)
    _save(state_path, before, keys=[key_of(pid)], session=os.getpid(), registered=not use_log)
    log = None
    try:
        if use_log:
            log = open(log_file(), errors="replace")
            log.seek(0, os.SEEK_END)
        else:
            # records go to the socket that registered; one that is not read keeps its
            # default buffer, so that the backlog fills soon
            daemon = AuditSocket(DAEMON_BUFFER if read else None)
            daemon.set(pid=os.getpid())
        changes = {"enabled": 1}
        if backlog_limit is not None:
            changes["backlog_limit"] = backlog_limit
        if not read:
            # records past the limit are dropped at once (no wait), and silently: the
            # default failure mode (printk) would write every loss to the kernel's log
            changes.update(backlog_wait_time=0, failure=0)
        control.set(**changes)
        rules = os.path.join(os.path.dirname(os.path.abspath(state_path)), "audit.rules")
        with open(rules, "w") as f:
            f.write("".join(line + "\n" for line in rule_lines(pid, syscalls, per_syscall)))
        r = subprocess.run(["auditctl", "-R", rules], capture_output=True, text=True)
        if r.returncode:
            print(f"auditctl -R: {r.stderr.strip()[:300]}", file=sys.stderr)
            return 1
        lost_before = control.status()["lost"]
        print("ready", file=out, flush=True)
        key = f'key="{key_of(pid)}"'
        counts: dict = {}

        def record(text: str) -> None:
            if key not in text:
                return
            if count_only:
                nr = text.partition(" syscall=")[2].partition(" ")[0]
                counts[nr] = counts.get(nr, 0) + 1
            else:
                out.write(f"type=SYSCALL msg={text}\n")
                out.flush()

        def received(timeout: float) -> bool:
            msg = daemon.receive(timeout)
            if msg and msg[0] == AUDIT_SYSCALL:
                record(msg[1].rstrip(b"\0").decode("utf-8", "replace"))
            return msg is not None

        parent = os.getppid()
        try:
            while os.getppid() == parent:  # (whoever started it died: nobody will stop it)
                if not read:
                    time.sleep(0.2)
                elif log is not None:
                    line = log.readline()
                    if not line:
                        time.sleep(0.05)
                    elif line.startswith("type=SYSCALL msg="):
                        record(line.split("\x1d")[0].rstrip("\n")[len("type=SYSCALL msg="):])
                else:
                    received(0.2)
        except Stop:
            pass
        while daemon is not None and read and received(0.2):
            pass  # what the kernel still holds for this session
        for nr, n in counts.items():
            print(f"records {nr} {n}", file=out)
        print(f"lost {control.status()['lost'] - lost_before}", file=out, flush=True)
        return 0
    finally:
        ignore_signals()  # the restore runs to its end
        if log is not None:
            log.close()
        if daemon is not None:
            _deleting_while_reading(key_of(pid), daemon)
            daemon.close()  # (restore unregisters it)
        else:
            delete_rules(key_of(pid))
        control.close()
        restore(state_path)


def main(argv: list[str]) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m ioworkload.core.audit")
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--syscalls", default="")
    p.add_argument("--rule-per-syscall", action="store_true")
    p.add_argument("--backlog-limit", type=int)
    p.add_argument("--no-read", action="store_true")
    p.add_argument("--count-only", action="store_true")
    args = p.parse_args(argv)
    return run("audit", lambda: session(args.pid, args.state, listed(args.syscalls),
                                        args.rule_per_syscall, args.backlog_limit,
                                        not args.no_read, args.count_only),
               (OSError, TimeoutError))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
