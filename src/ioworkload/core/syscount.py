"""syscount's table of counts (libbpf-tools), read by the `syscount` presets of `check` (its
calls, judged) and of `overhead` (its accuracy)."""

from __future__ import annotations

import re

# syscount names two calls by their pre-2.6 names (its own table: `syscount -l`)
_OLD_NAMES = {"pread": "pread64", "pwrite": "pwrite64"}
# a number its table has no name for (an unassigned one, say 1023) is printed as such
_ROW = re.compile(r"^(?:\[unknown: (?P<nr>\d+)\]|(?P<name>\w+))\s+(?P<count>\d+)$")
_NUMBERED = re.compile(r"syscall_(\d+)")  # how the catalog names a number with no name


def row(line: str) -> "tuple[str | int, int] | None":
    """(the syscall's name as the kernel's table has it, or its number where syscount's table
    has no name; the count), or None for a line that is not a row."""
    m = _ROW.match(line.strip())
    if not m:
        return None
    key = int(m["nr"]) if m["nr"] else _OLD_NAMES.get(m["name"], m["name"])
    return key, int(m["count"])


def key(syscall: str) -> "str | int":
    """The key row() gives a catalog syscall name: `syscall_1023` is number 1023."""
    m = _NUMBERED.fullmatch(syscall)
    return int(m[1]) if m else syscall
