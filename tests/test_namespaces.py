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


PID_NS = ["unshare", "--pid", "--fork", "--mount-proc"]


@needs_root
@pytest.mark.parametrize("name", ["getppid", "fork_inherit_fds"])
def test_strace_by_pid_is_exact_with_the_command_in_a_pid_namespace(name):
    """The command inside `unshare --pid --fork --mount-proc`, strace outside by PID: the
    expect document given in the host's ids (ns_tid: the command's), the stream exact in the
    host's numbering; the same stream with its tids shifted is no task's and is wrong."""
    t = conformance.PRESETS["strace"]()
    if t.unavailable() or not shutil.which("unshare"):
        pytest.skip(t.unavailable() or "unshare is not installed")
    result, seen = conformance.observe(name, t, 2, under=PID_NS)
    assert result.ok, result.mismatches
    doc = result.expected
    workers = [task for task in doc["tasks"] if task["role"] == "worker"]
    assert doc["pid"] == workers[0]["tid"] != workers[0]["ns_tid"] == doc["ns_pid"]
    v = conformance.verdict(doc, seen.events, caps=t.caps)
    assert v.status == "exact" and v.numbering == "tid", (v.summary, v.differences[:5])
    if _workers_only(name):
        inside = conformance.verdict(doc, _as_namespace_sees_it(doc, seen.events), caps=t.caps)
        assert inside.status == "exact" and inside.numbering == "ns_tid", inside.differences[:5]
    shifted = [dict(ob, tid=ob["tid"] + 100000) for ob in seen.events]
    assert conformance.verdict(doc, shifted, caps=t.caps).status == "wrong"


@needs_root
def test_a_wrapped_run_left_before_its_start_ends_and_cleans_up():
    """unshare --fork ignores SIGTERM: the command itself is told to end, and its private
    directory and the scenario process are gone once the handle is closed."""
    if not shutil.which("unshare"):
        pytest.skip("unshare is not installed")
    with ioworkload.spawn("open_basic", iterations=1, wrapper=PID_NS) as w:
        pid, private = w.pid, w.dir
        assert os.path.isdir(private) and w.ns_tids[0] != pid
    assert not os.path.exists(private)
    assert not os.path.exists(f"/proc/{pid}")


def test_under_needs_a_command(cli):
    for bad in ("", "'unbalanced"):
        r = cli("check", "getppid", "--under", bad)
        assert r.returncode == 2 and r.stderr.startswith("ioworkload: error: --under"), r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


@needs_root
def test_strace_by_pid_is_exact_with_the_command_in_a_user_namespace():
    t = conformance.PRESETS["strace"]()
    if t.unavailable() or not shutil.which("unshare"):
        pytest.skip(t.unavailable() or "unshare is not installed")
    v = conformance.run_one("getppid", t, 2, under=["unshare", "-Ur"])
    assert v.status == "exact" and v.numbering is None, (v.summary, v.differences[:5])


@needs_root
@pytest.mark.parametrize("launcher", ["perf-trace-launch", "bpftrace-launch"])
def test_perf_trace_and_bpftrace_as_the_launcher(launcher):
    """perf trace and bpftrace starting the command themselves: judged on the run alone (what
    they saw of the command's start-up set aside), as their by-PID presets are."""
    t = conformance.PRESETS[launcher]()
    if t.unavailable():
        pytest.skip(t.unavailable())
    v = conformance.run_one("getppid", t, iterations=3)
    assert v.status in ("exact", "limited"), (v.summary, v.differences[:5])
    assert v.set_aside > 0


@needs_root
@pytest.mark.parametrize("launcher", ["strace-launch", "bpftrace-launch"])
def test_a_launcher_of_the_command_under_unshare_is_judged_in_the_hosts_ids(launcher):
    """The launcher starts `unshare --pid --fork --mount-proc ioworkload ...` (a harness that
    runs its workload in a container): the document in the host's ids, as the launcher sees."""
    t = conformance.PRESETS[launcher]()
    if t.unavailable() or not shutil.which("unshare"):
        pytest.skip(t.unavailable() or "unshare is not installed")
    v = conformance.run_one("getppid", t, iterations=2, under=PID_NS)
    assert v.status == "exact" and v.numbering == "tid", (v.summary, v.differences[:5])
    assert v.set_aside > 0


@needs_root
def test_strace_as_the_launcher_of_a_pid_namespace_is_exact():
    """Its created tasks' tids (clone's returns) are the namespace's, strace's the host's: the
    judge keeps the tasks first seen after the release."""
    t = conformance.PRESETS["strace-launch"]()
    if t.unavailable():
        pytest.skip(t.unavailable())
    v = conformance.run_one("fork_inherit_fds", t, iterations=3, pid_namespace=True)
    assert v.status == "exact" and v.numbering == "tid", (v.summary, v.differences[:5])


def _launched_raw(monkeypatch, name: str, launcher: str = "strace-launch"):
    """(result, the launcher's whole stream) of one run under a launching preset."""
    raw = {}
    real = judge.launched

    def keep(doc, events):
        raw["events"] = list(events)
        return real(doc, events)

    monkeypatch.setattr(judge, "launched", keep)
    result, seen = conformance.observe(name, conformance.PRESETS[launcher](), 2)
    return result, raw["events"], seen


@needs_root
@pytest.mark.parametrize("launcher", ["strace-launch", "bpftrace-launch"])
def test_a_doctored_launcher_stream_is_caught(monkeypatch, launcher):
    t = conformance.PRESETS[launcher]()
    if t.unavailable():
        pytest.skip(t.unavailable())
    result, events, seen = _launched_raw(monkeypatch, "getppid", launcher)
    doc, caps = result.expected, t.caps
    pid = doc["pid"]

    def judged(stream):
        kept, aside = judge.launched(doc, stream)
        return conformance.verdict(doc, kept, caps=caps), aside

    v, aside = judged(events)
    assert v.status == "exact" and aside == seen.set_aside > 0, v.differences[:5]
    release = next(i for i, ob in enumerate(events) if ob["tid"] == pid and judge._release(ob))
    calls = [i for i, ob in enumerate(events) if i > release and ob["tid"] == pid
             and judge.name_of(ob) == "getppid"]
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


def test_the_contexts_table_says_what_each_tracer_saw_per_door():
    """judge.conformance.context_doors over rows tagged with their door and preset: the verdicts
    counted, the numbering a PID namespace's rows used, a launcher's set-aside events, the first
    wrong row's first difference, a door every row of which is unsupported."""
    def row(preset, tracer, door, scenario, status, *differences, **more):
        return dict({"preset": preset, "tracer": tracer, "door": door, "scenario": scenario,
                     "status": status, "differences": list(differences), "reason": None,
                     "numbering": None, "set_aside": 0}, **more)
    rows = [row("strace", "strace", "ns", "a", "exact", numbering="tid"),
            row("strace", "strace", "ns", "b", "exact", numbering="tid"),
            row("perf-trace", "perf-trace", "ns", "a", "limited", numbering="tid"),
            row("perf-trace", "perf-trace", "ns", "b", "wrong", "missing: x", numbering="tid"),
            row("strace", "strace-launch", "launch", "a", "exact", set_aside=2400),
            row("strace", "strace-launch", "launch", "b", "exact", set_aside=2600),
            row("bpftrace", "bpftrace-launch in userns", "userns", "a", "unsupported",
                reason="bpftrace: cannot attach"),
            row("bpftrace", "bpftrace-launch in userns", "userns", "b", "unsupported",
                reason="bpftrace: cannot attach"),
            row("perf-trace", "perf-trace-launch in userns", "userns", "a", "wrong",
                "perf: exited", reason="exited with status 243: Error: Permission denied.",
                expected=0)]
    cells = conformance.context_doors(rows)
    assert cells["strace"] == {"ns": "exact 2/2 (host tids)",
                               "launch": "exact 2/2; set aside 2400-2600"}
    assert cells["perf-trace"]["ns"] == "limited 1/2, WRONG 1/2 (host tids): `b`: missing: x"
    assert cells["bpftrace"]["userns"] == "unsupported: bpftrace: cannot attach"
    assert cells["perf-trace"]["userns"] == ("cannot run: exited with status 243: Error: "
                                             "Permission denied.")
    assert "fork_inherit_fds" in conformance.door_sample()
