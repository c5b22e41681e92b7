"""The other contexts a tracer meets (issue 23 items 4, 5): the command inside a PID namespace
(`unshare --pid --fork`, with and without --mount-proc) and a user namespace (`unshare -Ur`),
the scenario process in a PID namespace of its own (--pid-namespace), each run verified by the
kernel's tracepoints; strace by PID judged exact in both numberings (the host's tids, and the
same stream renumbered as the namespace sees them); and strace as the launcher of the command
(`{command}`), judged exact once the judge has set aside what is not the run, while a doctored
launcher stream (a dropped or an undeclared call after the release) is caught.

One scenario per family, the first supported one by name: a fixed sample by default, every
family with IOWORKLOAD_FULL=1."""

import json
import os
import shutil
import subprocess
import sys

import pytest

import ioworkload
from ioworkload.judge import conformance, matching as judge

from conftest import FULL, kernel_can_verify
from test_ground_truth import _strace_run

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and tracers need root here")
SAMPLE_FAMILIES = ["baseline", "process", "signals", "ipc", "threads"]


def _one_per_family() -> list[str]:
    firsts: dict[str, str] = {}
    for name, sc in sorted(ioworkload.scenarios().items()):
        if sc.family not in firsts and not sc.unsupported_reason():
            firsts[sc.family] = name
    return [firsts[f] for f in sorted(firsts) if FULL or f in SAMPLE_FAMILIES]


PER_FAMILY = _one_per_family()
CONTEXTS = {
    "unshare-pid-mount-proc": (["unshare", "--pid", "--fork", "--mount-proc"], []),
    "unshare-pid": (["unshare", "--pid", "--fork"], []),
    "unshare-user": (["unshare", "-Ur"], []),
    "pid-namespace": ([], ["--pid-namespace"]),
}


def _run_in(context: str, name: str, *extra: str) -> subprocess.CompletedProcess:
    wrapper, options = CONTEXTS[context]
    if wrapper and not shutil.which(wrapper[0]):
        pytest.skip(f"{wrapper[0]} is not installed")
    return subprocess.run([*wrapper, sys.executable, "-m", "ioworkload", name, "--iterations", "3",
                           *options, *extra], capture_output=True, text=True, timeout=300)


@needs_root
@pytest.mark.parametrize("context", list(CONTEXTS))
@pytest.mark.parametrize("name", PER_FAMILY)
def test_a_scenario_per_family_is_verified_in_each_namespace(name, context):
    if kernel_can_verify():
        pytest.skip(kernel_can_verify())
    p = _run_in(context, name, "--verify", "--json")
    if p.returncode == 77 and context == "unshare-user":
        # perf's tracepoints (and bpf's maps) need their capability in the host's user
        # namespace: said, with the reason, not a failure; the run itself is then judged alone
        assert p.stderr.startswith("unsupported: ") and "user namespace" in p.stderr, p.stderr
        p = _run_in(context, name, "--json")
        if p.returncode == 77:
            assert "user namespace" in p.stderr, p.stderr
            return
        assert p.returncode == 0, p.stderr[-2000:]
        assert json.loads(p.stdout)["ok"]
        return
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    result = json.loads(p.stdout)
    assert result["ok"] and result["verified"] is True, (result["mismatches"],
                                                        result["verification"])
    tasks = [t for t in result["expected"]["tasks"] if t["role"] == "worker"]
    if context == "pid-namespace":  # pid 1 inside, the command's number outside
        assert result["expected"]["ns_pid"] == 1 != result["pid"]
        assert tasks[0]["ns_tid"] == 1 and tasks[0]["tid"] == result["pid"]
    else:
        assert all(t["ns_tid"] == t["tid"] for t in tasks)


@needs_root
def test_an_unprivileged_pid_namespace_is_unsupported_with_the_reason():
    # no CAP_SYS_ADMIN: root with an empty bounding set (setpriv), no user namespace of its own
    if not shutil.which("setpriv"):
        pytest.skip("needs setpriv to drop capabilities")
    p = subprocess.run(["setpriv", "--bounding-set=-all", "--inh-caps=-all", sys.executable, "-m",
                        "ioworkload", "getppid", "--pid-namespace"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 77, p.stderr
    assert p.stderr.startswith("unsupported: ") and "CAP_SYS_ADMIN" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def _workers_only(name: str) -> bool:
    """No task the workers create: each observed tid renumbers by the expect file alone."""
    sc = ioworkload.scenarios()[name]
    return all(ev.role == "worker" for ev in sc.setup + sc.iteration + sc.teardown)


def _as_namespace_sees_it(doc: dict, observed: list[dict]) -> list[dict]:
    """The stream a tracer inside the namespace would print: each task's ns_tid."""
    inner = {t["tid"]: t["ns_tid"] for t in doc["tasks"] if t["tid"] is not None}
    return [dict(ob, tid=inner[ob["tid"]]) for ob in observed]


@needs_root
@pytest.mark.parametrize("name", [n for n in PER_FAMILY if _workers_only(n)])
def test_strace_by_pid_is_exact_in_both_numberings(name):
    w, result, observed = _strace_run(name, 1, pid_namespace=True)
    assert result.ok, result.mismatches
    doc = result.expected
    assert doc["ns_pid"] == 1 and doc["pid"] == w.pid != 1
    caps = conformance.PRESETS["strace"]().caps
    outside = conformance.verdict(doc, observed, caps=caps)
    assert outside.status == "exact", outside.differences[:5]
    assert outside.numbering == "tid" and "outside its PID namespace" in outside.summary
    inside = conformance.verdict(doc, _as_namespace_sees_it(doc, observed), caps=caps)
    assert inside.status == "exact", inside.differences[:5]
    assert inside.numbering == "ns_tid" and "inside its PID namespace" in inside.summary
    # a stream that mixes the numberings is not the process's
    mixed = _as_namespace_sees_it(doc, observed[:1]) + observed[1:]
    assert conformance.verdict(doc, mixed, caps=caps).status == "wrong"


@needs_root
@pytest.mark.parametrize("name", PER_FAMILY)
def test_strace_as_the_launcher_is_exact(name):
    t = conformance.PRESETS["strace-launch"]()
    if t.unavailable():
        pytest.skip(t.unavailable())
    v = conformance.run_one(name, t, iterations=3)
    assert v.status in ("exact", "limited"), (v.summary, v.differences[:5])
    assert v.set_aside > 0  # the command's start-up at least


@needs_root
def test_strace_as_the_launcher_of_a_pid_namespace_is_exact():
    """Its created tasks' tids (clone's returns) are the namespace's, strace's the host's: the
    judge keeps the tasks first seen after the release."""
    t = conformance.PRESETS["strace-launch"]()
    if t.unavailable():
        pytest.skip(t.unavailable())
    v = conformance.run_one("fork_inherit_fds", t, iterations=3, pid_namespace=True)
    assert v.status == "exact" and v.numbering == "tid", (v.summary, v.differences[:5])


def _launched_raw(monkeypatch, name: str):
    """(result, the launcher's whole stream) of one strace-launch run."""
    raw = {}
    real = judge.launched

    def keep(doc, events):
        raw["events"] = list(events)
        return real(doc, events)

    monkeypatch.setattr(judge, "launched", keep)
    result, seen = conformance.observe(name, conformance.PRESETS["strace-launch"](), 2)
    return result, raw["events"], seen


@needs_root
def test_a_doctored_launcher_stream_is_caught(monkeypatch):
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    result, events, seen = _launched_raw(monkeypatch, "getppid")
    doc, caps = result.expected, conformance.PRESETS["strace"]().caps
    pid = doc["pid"]

    def judged(stream):
        kept, aside = judge.launched(doc, stream)
        return conformance.verdict(doc, kept, caps=caps), aside

    v, aside = judged(events)
    assert v.status == "exact" and aside == seen.set_aside > 0, v.differences[:5]
    release = next(i for i, ob in enumerate(events) if ob["tid"] == pid and judge._release(ob))
    calls = [i for i, ob in enumerate(events) if i > release and ob["tid"] == pid
             and ob["syscall"] == "getppid"]
    assert len(calls) == 2
    # a declared call after the release dropped: missing
    v, _ = judged(events[:calls[0]] + events[calls[0] + 1:])
    assert v.status == "wrong" and any(d.startswith("missing: ") for d in v.differences)
    # an undeclared call after the release: too many
    extra = dict(events[calls[0]], syscall="getpid", ret=1)
    v, _ = judged(events[:calls[0]] + [extra] + events[calls[0]:])
    assert v.status == "wrong" and any("getpid" in d for d in v.differences), v.differences
    # the same call before the release is the scenario process's start-up: set aside
    v, more = judged(events[:release] + [extra] + events[release:])
    assert v.status == "exact" and more == aside + 1


def test_numbering_is_chosen_by_the_stream():
    doc = {"pid": 500, "tasks": [{"tid": 500, "ns_tid": 1, "role": "worker", "index": 0},
                                 {"tid": None, "role": "child", "index": 0, "tids": [7],
                                  "tids_complete": True}],
           "events": [{"tid": 500, "role": "worker"}, {"tid": None, "role": "child"}]}
    inner, numbering = judge.numbered(doc, [{"tid": 1}, {"tid": 7}])
    assert numbering == "ns_tid" and inner["pid"] == 1
    assert [t["tid"] for t in inner["tasks"]] == [1, None] and inner["events"][0]["tid"] == 1
    outer, numbering = judge.numbered(doc, [{"tid": 500}, {"tid": 501}])
    # the child's tid from clone is the namespace's: unknown outside, matched as the pool
    assert numbering == "tid" and outer["pid"] == 500 and not outer["tasks"][1]["tids_complete"]
    plain = dict(doc, tasks=[dict(doc["tasks"][0], ns_tid=500)])
    assert judge.numbered(plain, [{"tid": 1}]) == (plain, "tid")


def test_a_command_template_needs_out():
    from ioworkload.core.errors import UsageError
    with pytest.raises(UsageError, match=r"\{out\}"):
        conformance.tracer_from_spec("x=strace -f {command}", "strace")
    t = conformance.tracer_from_spec("x=strace -f -o {out} {command}", "strace")
    assert t.launches
