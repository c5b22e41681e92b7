"""The tracer-neutral form: one JSON object a line (README, "The observed-events format").
Every field is checked where it enters: a line that is not one of these is an error naming
the line (UsageError: one line, exit 2)."""

from __future__ import annotations

import json
import re

from ioworkload.core import expect
from ioworkload.core.errors import UsageError
from ioworkload.judge.formats.stream import Observed


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_text(v) -> bool:
    """A str that is valid Unicode (no lone surrogates from a JSON escape)."""
    if not isinstance(v, str):
        return False
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field_error(ev: dict) -> str | None:
    """What is wrong with one event's fields, None when nothing is."""
    if "opcode" in ev:  # an io_uring request (matching.compare_operations)
        if not _is_int(ev.get("tid")) or not _is_int(ev.get("res")) or not (
                _is_int(ev["opcode"]) or _is_text(ev["opcode"])):
            return "an io_uring request needs tid, opcode and res (integers; opcode or a name)"
        if "user_data" in ev and not _is_int(ev["user_data"]):
            return "user_data must be an integer"
    else:
        if not _is_int(ev.get("tid")) or ("syscall" not in ev and not _is_int(ev.get("nr"))) \
                or "ret" not in ev:
            return "needs tid, syscall or nr, and ret"
        if "syscall" in ev and not (_is_text(ev["syscall"]) and re.fullmatch(r"\w+", ev["syscall"])):
            return "syscall must be a name"
        if "nr" in ev and not _is_int(ev["nr"]):
            return "nr must be an integer"
        if "abi" in ev and ev["abi"] not in ("ia32", expect.NATIVE_ABI):
            return f'abi must be "ia32" or "{expect.NATIVE_ABI}" (the default)'
        ret = ev["ret"]
        if not (ret is None or ret == "unknown" or _is_int(ret)):
            return 'ret must be an integer, null or "unknown"'
        args = ev.get("args")
        if args is not None and not isinstance(args, (dict, list)):
            return "args must be an object or a list"
        if isinstance(args, dict) and not all(_is_text(k) for k in args):
            return "args' names must be text"
        if args is not None and not all(_is_int(v) or _is_text(v) or v is None for v in
                                        (args.values() if isinstance(args, dict) else args)):
            return "each argument must be a number, a string or null"
    if "count" in ev and not (_is_int(ev["count"]) and ev["count"] >= 1):
        return "count must be a positive integer"
    if "at" in ev and not (_is_int(ev["at"]) or isinstance(ev["at"], float)):
        return "at must be a number"
    return None


def read(text: str, pid: int | None = None, source: str = "observed") -> Observed:
    """Lines that are not JSON objects are an error, except a tracer's own notes (`ready`,
    `Attaching ...`, `Lost N events`)."""
    out = Observed()
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        m = re.match(r"^Lost (\d+) events", s)
        if m:
            out.lost += int(m[1])
            continue
        if not s.startswith("{"):
            if s == "ready" or s.startswith("Attaching"):
                continue
            raise UsageError(f"{source} line {n} is not a JSON object: {s[:60]!r}")
        try:
            ev = json.loads(s)
        except (ValueError, RecursionError) as e:
            raise UsageError(f"{source} line {n} is not valid JSON: {str(e)[:80]}") from None
        if not isinstance(ev, dict):
            raise UsageError(f"{source} line {n} is not a JSON object: {s[:60]!r}")
        why = _field_error(ev)
        if why:
            raise UsageError(f"{source} line {n} {why}: {s[:60]!r}")
        out.events.append(ev)
    out.events.sort(key=lambda ev: ev.get("at", 0))  # per-CPU buffers need not deliver in order
    return out


def parse_jsonl(text: str, source: str = "observed") -> tuple[list[dict], int]:
    """(events, events the tracer says it lost)."""
    o = read(text, None, source)
    return o.events, o.lost
