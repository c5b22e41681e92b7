"""An expect document as it enters the judge (a file, the Python API): every field the matching
rules read is checked here, so that a malformed document is one clear error (UsageError: one
line, exit 2), never a traceback from deep inside the matching."""

from __future__ import annotations

from ioworkload.core import expect
from ioworkload.core.errors import UsageError


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _ret_ok(form) -> bool:
    if not isinstance(form, dict) or len(form) == 0:
        return False
    if "noreturn" in form:
        return set(form) == {"noreturn"} and form["noreturn"] is True
    if "errno" in form:
        return set(form) <= {"errno", "name"} and _int(form["errno"])
    if "eq" in form:
        return set(form) == {"eq"} and _int(form["eq"])
    return set(form) == {"ge"} and _int(form["ge"])


def _count_ok(count, ranged: bool = True) -> bool:
    if _int(count):
        return count >= 0
    return ranged and isinstance(count, dict) and set(count) == {"min", "max"} \
        and _int(count["min"]) and count["min"] >= 0 \
        and (count["max"] is None or _int(count["max"]) and count["max"] >= count["min"])


def _where(what: str, i: int | None = None) -> str:
    return what if i is None else f"{what} #{i}"


def check_document(doc, source: str = "the expect document") -> dict:
    """doc itself, when the judge can read every field it uses; else UsageError naming the
    first field that is wrong."""
    def bad(why: str):
        raise UsageError(f"{source}: {why}")

    if not isinstance(doc, dict) or doc.get("schema") != expect.SCHEMA:
        bad(f"not an expect document ({expect.SCHEMA})")
    if not _int(doc.get("pid")):
        bad("`pid` must be an integer")
    if not isinstance(doc.get("scenario"), str):
        bad("`scenario` must be a name")
    if doc.get("iterations") is not None and not _int(doc["iterations"]):
        bad("`iterations` must be an integer or null")
    tasks = doc.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        bad("`tasks` must be a list of the process's tasks")
    for i, t in enumerate(tasks):
        if not isinstance(t, dict) or not (t.get("tid") is None or _int(t.get("tid"))) \
                or not isinstance(t.get("role"), str):
            bad(f"{_where('task', i)} needs `tid` (an integer or null) and `role`")
        if "tids" in t and not (isinstance(t["tids"], list) and all(map(_int, t["tids"]))):
            bad(f"{_where('task', i)}: `tids` must be a list of integers")
    events = doc.get("events")
    if not isinstance(events, list):
        bad("`events` must be a list")
    for i, e in enumerate(events):
        if not isinstance(e, dict):
            bad(f"{_where('event', i)} is not an object")
        if not (e.get("tid") is None or _int(e.get("tid"))) or not isinstance(e.get("role"), str):
            bad(f"{_where('event', i)} needs `tid` (an integer or null) and `role`")
        if e.get("phase") not in expect.PHASES or not _int(e.get("seq")):
            bad(f"{_where('event', i)} needs `phase` ({', '.join(expect.PHASES)}) and `seq`")
        if not isinstance(e.get("syscall"), str) or not e["syscall"].isidentifier():
            bad(f"{_where('event', i)} needs `syscall`, a name")
        if e["tid"] is None and not _int(e.get("index")):
            bad(f"{_where('event', i)} of a created task needs its worker's `index`")
        for side in ("enter", "exit"):
            if not (e.get(side) is None or isinstance(e.get(side), str)):
                bad(f"{_where('event', i)}: `{side}` must be a tracepoint name or null")
        if not (e.get("args") is None or isinstance(e.get("args"), dict)):
            bad(f"{_where('event', i)}: `args` must be an object or null")
        if not _ret_ok(e.get("ret")):
            bad(f"{_where('event', i)}: `ret` must be one of {{\"eq\": N}}, {{\"ge\": N}}, "
                f"{{\"errno\": N, \"name\": E}}, {{\"noreturn\": true}}; got {str(e.get('ret'))[:60]}")
        if not _count_ok(e.get("count")):
            bad(f"{_where('event', i)}: `count` must be a number or {{\"min\", \"max\"}} "
                f"(a document to judge has counts)")
    if not isinstance(doc.get("restarts") or [], list) or not isinstance(doc.get("operations") or [], list):
        bad("`restarts` and `operations` must be lists")
    for i, r in enumerate(doc.get("restarts") or ()):
        if not isinstance(r, dict) or not _int(r.get("tid")) or not isinstance(r.get("syscall"), str) \
                or not _count_ok(r.get("count")) or not isinstance(r["count"], dict):
            bad(f"{_where('restart', i)} needs `tid`, `syscall` and a count range")
    for i, o in enumerate(doc.get("operations") or ()):
        if not isinstance(o, dict) or not isinstance(o.get("opcode"), str) \
                or not (o.get("op") is None or _int(o.get("op"))) or not _int(o.get("tid")) \
                or not _ret_ok(o.get("res")) \
                or not (o.get("count") is None or _count_ok(o.get("count"), ranged=False)):
            bad(f"{_where('operation', i)} needs `opcode`, `op`, `tid`, `res` and `count`")
    return doc
