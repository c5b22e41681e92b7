"""The judge's own sensitivity (`check --mutate`): systematically damaged copies of a real
observed stream, each judged; a mutation the tracer's capabilities cover must be caught.

Each mutation returns the damaged copy, or None where the stream offers nothing to damage that
way (one task only, no argument wider than 32 bits, no string longer than 64 bytes): it is
then not applicable, like one the tracer does not claim to see (`needs`)."""

from __future__ import annotations

import copy
import errno

from ioworkload.core import expect
from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.matching import (_as_str, arg_bits, as_int, by_process, key_of, name_of,
                                       threads_asked)

STRING_CUT = 64


def _workers(doc: dict) -> list[int]:
    return [t["tid"] for t in doc["tasks"] if t["role"] == "worker" and t["tid"] is not None]


def _on_workers(doc: dict, observed: list[dict]) -> list[int]:
    """Indexes of observed events on worker tasks, after each worker's release (its first
    futex return of 0, which the judge needs to start its stream)."""
    workers, released, out = set(_workers(doc)), set(), []
    for i, ob in enumerate(observed):
        tid = ob.get("tid")
        if tid not in workers:
            continue
        if tid not in released:
            if name_of(ob) == "futex" and ob.get("ret") == 0:
                released.add(tid)
            continue
        out.append(i)
    return out


def _declared(doc: dict, ob: dict) -> list[dict]:
    return [e for e in doc["events"] if key_of(e) == name_of(ob)
            and e["tid"] in (ob.get("tid"), None)]


def _declared_as(doc: dict, ob: dict, kind) -> set[str]:
    """The arguments every declared event this call could be declares as `kind` (a value the
    judge compares: a number, a string), so that damaging one is a difference whichever it is."""
    events = _declared(doc, ob)
    names = [{n for n, v in (e["args"] or {}).items() if kind(v)} for e in events]
    return set.intersection(*names) if names else set()


def _counted_exactly(doc: dict, observed: list[dict]) -> list[int]:
    """_on_workers, less the calls a count range could absorb (one more or less of a call
    declared `x1..` is no difference)."""
    return [i for i in _on_workers(doc, observed)
            if not any(isinstance(e["count"], dict) for e in _declared(doc, observed[i]))
            and not any(r["tid"] == observed[i]["tid"] and r["syscall"] == name_of(observed[i])
                        for r in doc.get("restarts") or ())]


def _named_args(ob: dict, syscall: str) -> tuple[list[str], dict] | None:
    """(the argument names, name -> value) of an observed event, positional or by name."""
    args = ob.get("args")
    if isinstance(args, (list, tuple)):
        names = (expect.kernel_arg_names(syscall) or [])[:len(args)]
        return names, dict(zip(names, args))
    if isinstance(args, dict):
        return list(args), dict(args)
    return None


def _set_arg(ob: dict, name: str, value) -> None:
    if isinstance(ob["args"], dict):
        ob["args"][name] = value
    else:
        ob["args"][(expect.kernel_arg_names(name_of(ob)) or []).index(name)] = value


def _middle(doc, observed) -> tuple[list[dict], int] | None:
    """(a copy of the stream, the index of a worker call counted exactly, from its middle)."""
    picks = _counted_exactly(doc, observed)
    return (copy.deepcopy(observed), picks[len(picks) // 2]) if picks else None


def drop(doc, observed):
    if (picked := _middle(doc, observed)) is None:
        return None
    out, i = picked
    if out[i].get("count", 1) > 1:
        out[i]["count"] -= 1
    else:
        del out[i]
    return out


def duplicate(doc, observed):
    if (picked := _middle(doc, observed)) is None:
        return None
    out, i = picked
    out.insert(i + 1, dict(copy.deepcopy(out[i]), count=1))
    return out


def return_changed(doc, observed):
    for i in _counted_exactly(doc, observed):
        if isinstance(observed[i].get("ret"), int):
            out = copy.deepcopy(observed)
            out[i]["ret"] = -errno.ENOTRECOVERABLE if out[i]["ret"] != -errno.ENOTRECOVERABLE \
                else -errno.EOWNERDEAD
            return out
    return None


def errno_sign_dropped(doc, observed):
    for i in _counted_exactly(doc, observed):
        ret = observed[i].get("ret")
        if isinstance(ret, int) and ret < 0:
            out = copy.deepcopy(observed)
            out[i]["ret"] = -ret
            return out
    return None


def _int_args(doc, ob):
    """(name, observed value) of the arguments declared as numbers for this event."""
    named = _named_args(ob, name_of(ob))
    if named is None:
        return []
    declared = _declared_as(doc, ob, lambda v: isinstance(v, int) and not isinstance(v, bool))
    return [(n, v) for n, v in named[1].items() if n in declared and as_int(v) is not None]


def truncated_to_32_bits(doc, observed):
    for i in _on_workers(doc, observed):
        for name, v in _int_args(doc, observed[i]):
            value = as_int(v)
            if arg_bits(name_of(observed[i]), name) == 64 and not 0 <= value < 1 << 32:
                out = copy.deepcopy(observed)
                _set_arg(out[i], name, value & 0xFFFFFFFF)
                return out
    return None


def arguments_swapped(doc, observed):
    for i in _on_workers(doc, observed):
        pairs = _int_args(doc, observed[i])
        for (a, va), (b, vb) in zip(pairs, pairs[1:]):
            if as_int(va) != as_int(vb):
                out = copy.deepcopy(observed)
                _set_arg(out[i], a, vb)
                _set_arg(out[i], b, va)
                return out
    return None


def moved_to_another_task(doc, observed):
    workers = _workers(doc)
    if len(workers) < 2 or (picked := _middle(doc, observed)) is None:
        return None
    out, i = picked
    out[i]["tid"] = next(t for t in workers if t != out[i]["tid"])
    return out


def string_cut(doc, observed):
    for i in _on_workers(doc, observed):
        named = _named_args(observed[i], name_of(observed[i]))
        # (a string the call fills in, declared as a pointer, is not compared)
        declared = _declared_as(doc, observed[i], lambda v: isinstance(v, str)
                                or isinstance(v, dict) and "content" in v)
        for name, v in (named[1].items() if named else ()):
            if name not in declared:
                continue
            text, cut = _as_str(v)
            if text is not None and not cut and len(text) > STRING_CUT \
                    and isinstance(v, str) and v.startswith('"'):
                out = copy.deepcopy(observed)
                _set_arg(out[i], name, '"' + text[:STRING_CUT] + '"')
                return out
    return None


def reordered(doc, observed):
    # (a task with a count range is not judged on order: matching._order_difference)
    ranged = {e["tid"] for e in doc["events"] if isinstance(e["count"], dict)}
    picks = [i for i in _on_workers(doc, observed) if observed[i]["tid"] not in ranged]
    for a, b in zip(picks, picks[1:]):
        if observed[a]["tid"] == observed[b]["tid"] and name_of(observed[a]) != name_of(observed[b]):
            out = copy.deepcopy(observed)
            out[a], out[b] = out[b], out[a]
            return out
    return None


# name -> (the mutation, what a tracer must claim for it to be asked)
MUTATIONS = {
    "drop": (drop, ()),
    "duplicate": (duplicate, ()),
    "return changed": (return_changed, ("returns",)),
    "errno sign dropped": (errno_sign_dropped, ("returns",)),
    "argument cut to 32 bits": (truncated_to_32_bits, ("args",)),
    "arguments swapped": (arguments_swapped, ("args",)),
    "moved to another task": (moved_to_another_task, ("threads",)),
    "string cut at 64 bytes": (string_cut, ("args",)),
    "events reordered": (reordered, ("order",)),
}


def run(doc: dict, observed: list[dict], caps: Capabilities, judge) -> dict:
    """{mutation: "caught" | "missed" | "n/a (why)"}; judge(observed) -> a Verdict."""
    results = {}
    for name, (mutation, needs) in MUTATIONS.items():
        lacking = caps.missing(list(needs))
        if lacking:
            results[name] = f"n/a (not claimed: {', '.join(lacking)})"
            continue
        if mutation is reordered and not caps.threads and threads_asked(by_process(doc),
                                                                         caps) > 1:
            results[name] = "n/a (not judged: the order of a process's threads' calls)"
            continue
        damaged = mutation(doc, observed)
        if damaged is None:
            results[name] = "n/a (nothing to damage)"
            continue
        results[name] = "missed" if judge(damaged).status in ("exact", "limited") else "caught"
    return results
