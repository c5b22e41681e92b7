"""A tracer that names processes, not threads (issue 24): audit's `pid=` and most libbpf-tools
print the thread group's id for every thread. It states no `threads` capability, and the judge
folds the process's tasks into one (matching.by_process): counts, returns and arguments are
compared as before, the order across threads is not judged, and the verdict is at best
`limited`, naming what was not verified. A stream that really differs is still `wrong`. Hand-
written documents and streams: nothing here needs audit."""

import copy

from ioworkload.judge import capabilities, conformance, matching, mutate
from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.tracers import auditd

PID, WORKER2, CHILD = 500, 501, 600
BY_PROCESS = Capabilities(returns=True, args=True, order=True, threads=False,
                          reasons={"threads": "a record names the process"})
BY_THREAD = Capabilities(returns=True, args=True, order=True)


def _event(tid, role, index, seq, syscall, ret, count=1, args=None, phase="iteration"):
    return {"tid": tid, "role": role, "index": index, "phase": phase, "seq": seq,
            "syscall": syscall, "abi": "x86_64", "enter": syscall, "exit": syscall,
            "args": args, "ret": ret, "count": count, "harness": False}


def _doc() -> dict:
    """Two workers of one process, a helper thread of the first, a child process of the
    second: each writes, the helper reads, the child exits."""
    return {
        "pid": PID, "iterations": 2, "threads": 2,
        "tasks": [{"tid": PID, "role": "worker", "index": 0, "main": True},
                  {"tid": WORKER2, "role": "worker", "index": 1, "main": False},
                  {"tid": None, "role": "helper", "index": 0, "parent": PID, "instances": 1,
                   "tids": [502], "tids_complete": True},
                  {"tid": None, "role": "child", "index": 1, "parent": WORKER2,
                   "instances": 1, "tids": [CHILD], "tids_complete": True}],
        "events": [
            _event(PID, "worker", 0, 0, "futex", {"eq": 0}, 1, {"op": 0}, phase="release"),
            _event(WORKER2, "worker", 1, 0, "futex", {"eq": 0}, 1, {"op": 0}, phase="release"),
            _event(PID, "worker", 0, 0, "write", {"eq": 4}, 2, {"fd": 3, "count": 4}),
            _event(PID, "worker", 0, 1, "getppid", {"ge": 1}, 2),
            _event(WORKER2, "worker", 1, 0, "write", {"eq": 4}, 2, {"fd": 4, "count": 4}),
            _event(WORKER2, "worker", 1, 1, "getppid", {"ge": 1}, 2),
            _event(None, "helper", 0, 0, "read", {"errno": 11, "name": "EAGAIN"}, 1,
                   {"fd": 5}),
            _event(None, "child", 1, 0, "exit_group", {"noreturn": True}, 1, {"error_code": 0},
                   phase="teardown"),
        ]}


def _as_the_process_names_them() -> list[dict]:
    """What a tracer that prints the thread group's id shows: the threads' releases, then
    their calls interleaved, each under the PID; the child's under its own pid."""
    write3 = {"tid": PID, "syscall": "write", "ret": 4, "args": {"fd": 3, "count": 4}}
    write4 = {"tid": PID, "syscall": "write", "ret": 4, "args": {"fd": 4, "count": 4}}
    ppid = {"tid": PID, "syscall": "getppid", "ret": 1}
    release = {"tid": PID, "syscall": "futex", "ret": 0, "args": {"op": 0}}
    return [dict(e) for e in (release, release, write4, write3, ppid, {"tid": PID, "syscall": "read", "ret": -11,
                                                      "args": {"fd": 5}},
                              write3, ppid, write4, ppid, ppid)] + [
        {"tid": CHILD, "syscall": "exit_group", "ret": None, "args": {"error_code": 0}}]


def _judge(events, caps=BY_PROCESS, doc=None):
    return conformance.verdict(doc or _doc(), events, caps=caps)


def test_the_process_named_for_its_threads_is_limited_and_says_why():
    v = _judge(_as_the_process_names_them())
    assert v.status == "limited", v.differences
    assert v.differences == []
    assert v.not_verified == ["threads: a record names the process"]
    assert "threads: a record names the process" in v.reason
    # counts, returns and arguments compared; the order across threads not judged
    assert v.verified == ["counts", "returns", "args 5/5"], v.verified  # (no order)
    assert v.summary == "limited: counts, returns, args 5/5"
    # the same stream from a tracer that claims to tell threads apart is wrong
    w = _judge(_as_the_process_names_them(), BY_THREAD)
    assert w.status == "wrong" and any(d.startswith("missing: ") and f"tid {WORKER2}" in d
                                       for d in w.differences), w.differences


def test_a_stream_that_really_differs_is_still_wrong():
    seen = _as_the_process_names_them()
    dropped = seen[:5] + seen[6:]  # the helper's read
    v = _judge(dropped)
    assert v.status == "wrong" and any(  # (named on the process, for the task it was declared on)
        d.startswith("missing: ") and d.endswith(f" read -> -EAGAIN on tid {PID} (a helper of "
                                                 f"worker 0): 1 of 1 not seen")
        for d in v.differences), v.differences
    changed = copy.deepcopy(seen)
    changed[2]["ret"] = -1  # a write's return
    v = _judge(changed)
    assert v.status == "wrong" and any("write -> -1" in d for d in v.differences), v.differences
    extra = seen + [{"tid": PID, "syscall": "getppid", "ret": 1}]
    v = _judge(extra)
    assert v.status == "wrong" and any(d.startswith("too many: getppid") for d in v.differences)
    argument = copy.deepcopy(seen)
    argument[3]["args"]["fd"] = 7  # fits neither worker's write
    v = _judge(argument)
    assert v.status == "wrong" and any(d.startswith("wrong arguments: write")
                                       for d in v.differences), v.differences


def test_a_forked_child_stays_a_process_of_its_own():
    seen = _as_the_process_names_them()
    seen[-1]["tid"] = PID  # the child's exit_group named as the parent process's
    v = _judge(seen)
    assert v.status == "wrong" and any("exit_group" in d for d in v.differences), v.differences


def test_one_thread_is_exact_and_its_order_judged():
    doc = _doc()
    doc["tasks"] = doc["tasks"][:1]
    doc["events"] = [e for e in doc["events"] if e["tid"] == PID]
    release = {"tid": PID, "syscall": "futex", "ret": 0, "args": {"op": 0}}
    seen = [release] + [{"tid": PID, "syscall": "write", "ret": 4, "args": {"fd": 3, "count": 4}},
                        {"tid": PID, "syscall": "getppid", "ret": 1}] * 2
    v = _judge(seen, doc=doc)
    assert v.status == "exact" and v.verified[-1] == "order", (v.differences, v.verified)
    v = _judge(seen[:1] + seen[2:3] + seen[1:2] + seen[3:], doc=doc)
    assert v.status == "wrong" and v.differences[0].startswith("order: "), v.differences


def test_folding_keeps_counts_and_tasks():
    folded = matching.by_process(_doc())
    assert [t["tid"] for t in folded["tasks"]] == [PID, None]  # the process, the child
    assert {e["tid"] for e in folded["events"] if e["role"] != "child"} == {PID}
    assert [e["count"] for e in folded["events"]] == [e["count"] for e in _doc()["events"]]
    assert matching.by_process(folded) is folded
    assert matching.threads_asked(folded, BY_PROCESS) == 3  # two workers and the helper
    # a tracer that does not follow new tasks is not asked the helper's calls
    no_new = Capabilities(returns=True, threads=False, new_tasks=False)
    assert matching.threads_asked(folded, no_new) == 2
    v = _judge([ev for ev in _as_the_process_names_them()
                if ev["syscall"] not in ("read", "exit_group")], no_new)
    assert v.status == "limited", v.differences


def test_the_capability_is_stated_parsed_and_required():
    assert auditd.tracer().caps.threads is False
    assert "a record names the process" in auditd.tracer().caps.reasons["threads"]
    assert capabilities.parse("returns").threads is True
    assert capabilities.parse("returns,no-threads").threads is False
    assert "threads" in capabilities.required("returns,threads")
    v = _judge(_as_the_process_names_them())
    assert conformance.unmet(v, BY_PROCESS, ["threads"]) == ["threads"]
    assert conformance.unmet(v, BY_THREAD, ["threads"]) == []


def test_mutations_a_process_tracer_cannot_catch_are_not_asked():
    out = mutate.run(_doc(), _as_the_process_names_them(), BY_PROCESS,
                     lambda damaged: _judge(damaged))
    assert out["moved to another task"].startswith("n/a (not claimed: threads")
    assert out["events reordered"].startswith("n/a"), out
    assert out["drop"] == "caught" and out["return changed"] == "caught", out
