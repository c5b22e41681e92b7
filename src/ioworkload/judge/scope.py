"""What a scoped tracer is judged on: the class of calls it claims to watch (opensnoop: the
opens), not the whole process.

A scope names its class's members (syscalls, and io_uring requests that do the same work) and
how the tool tells tasks apart. The judge keeps only the declared events of those members
(`restrict`), so a verdict says which member was missed ("missed openat2") instead of listing
every call the tool never meant to see; a scenario with no member is `not-in-scope`, which is
no pass. A tool that prints an event without naming the call (opensnoop's line is the same
for open and openat) has it named by the first declared member it fits (`name_members`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ioworkload.judge import matching


@dataclass(frozen=True)
class Scope:
    what: str                       # the class, as a verdict names it: "open"
    # its members, the calls the tool attaches to first (the order an unnamed event is named in);
    # None: every call
    syscalls: tuple | None
    opcodes: tuple = ()             # io_uring requests of the class (IORING_OP_OPENAT)
    # its filter takes the process's children too (else a child's calls are its blind spot)
    children: bool = False

    def covers(self, syscall: str) -> bool:
        return self.syscalls is None or syscall in self.syscalls


def restrict(doc: dict, scope: Scope) -> dict | None:
    """The expect document cut to the scope's members (None: the scenario has none). (A tool
    that prints the process id for every thread has the document folded first: its
    capabilities' threads, matching.by_process.)"""
    events = [e for e in doc["events"] if scope.covers(e["syscall"])]
    for o in doc.get("operations", ()):
        if o["opcode"] in scope.opcodes:
            # an io_uring request does the class's work without a syscall of its own: it is
            # asked as an event of the worker whose ring ran it
            events.append({"tid": o["tid"], "role": "worker", "index": o["index"],
                           "phase": "iteration", "seq": o["seq"], "syscall": o["opcode"],
                           "enter": o["opcode"], "exit": o["opcode"], "args": None,
                           "ret": o["res"], "count": o["count"], "harness": False})
    if not any(matching.count_bounds(e["count"] or 0)[0] for e in events):
        return None
    for r in doc.get("restarts", ()):
        if scope.covers(r["syscall"]):
            # the leave wait's restarts, as calls that may happen (a tool that shows no return
            # cannot tell a restart from the wait: syscount counts each)
            events.append(dict(r, seq=-1, enter=r["syscall"], exit=r["syscall"],
                               count=r["count"]))
    restricted = dict(doc, events=events, operations=[])
    restricted.pop("restarts", None)
    return restricted


def name_members(doc: dict, observed: list[dict], scope: Scope) -> list[dict]:
    """Each observed event the tool printed without its call's name, named as the first
    declared member (in the scope's order) on its task that it fits: its return and its
    arguments; one that fits none is named as the class's first member."""
    left = {id(e): matching.count_bounds(e["count"] or 0)[1] for e in doc["events"]}
    order = {name: i for i, name in enumerate(scope.syscalls or ())}
    order.update({op: len(order) + i for i, op in enumerate(scope.opcodes)})
    events = sorted(doc["events"], key=lambda e: order.get(e["syscall"], len(order)))
    workers = {t["tid"] for t in doc["tasks"] if t["role"] == "worker"}
    out = []
    for ob in observed:
        if ob.get("syscall") or ob.get("nr") is not None:
            out.append(ob)
            continue
        key = ob.get("tid") if ob.get("tid") in workers else None
        fits = [e for e in events if e["tid"] == key and left[id(e)] > 0
                and _fits(e, ob.get("ret", "unknown"), ob.get("args"))]
        if fits:
            left[id(fits[0])] -= ob.get("count", 1)
        named = {"syscall": fits[0]["syscall"], "abi": fits[0].get("abi")} if fits else \
            {"syscall": scope.syscalls[0]}
        out.append(dict(ob, **{k: v for k, v in named.items() if v is not None}))
    return out


def _fits(e: dict, ret, args) -> bool:
    return (matching._ret_matches(e["ret"], ret)
            and not matching.arg_differences(e["args"], args, e["syscall"]))


_MISSING = re.compile(r"^missing: \S+ #\d+ (?P<name>[\w:]+) ")


def missed(differences: list[str]) -> list[str]:
    """The members a verdict's differences say were missed, in order of first mention."""
    return list(dict.fromkeys(m["name"] for d in differences if (m := _MISSING.match(d))))

