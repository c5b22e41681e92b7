"""The libbpf-tools presets (issue 24): each tool judged on its scope, the class of calls it
claims (opensnoop: the opens), on one scenario per family in it; a member it misses is named;
a scenario without one is not in scope, which is no pass; each reader fails a doctored copy
of its tool's own output; nothing of a tool (its process, its BPF programs) outlives a run.
By default one scenario per tool; IOWORKLOAD_FULL=1: one per family in its scope."""

import copy
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import ioworkload
from conftest import FULL
from ioworkload.core import registry, syscount
from ioworkload.judge import conformance, formats, scope as scoping
from ioworkload.judge.formats import libbpf_tools as fmt
from ioworkload.judge.tracers import PRESETS, libbpf_tools

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the libbpf-tools load BPF as root")
TOOLS = list(libbpf_tools.TOOLS)
# a scenario each tool sees whole here: its verdict is exact
EXACT_ON = {"syscount": "getppid", "opensnoop": "open_basic", "sigsnoop": "signal_restart"}
# a scenario each tool that runs here prints events of (its own output, to doctor)
PRINTS_ON = dict(EXACT_ON, execsnoop="process_exec_lifecycle")


def _tracer(name):
    t = PRESETS[name]()
    why = t.unavailable()
    if why:
        pytest.skip(why)
    return t


def _one_per_family(tool: str) -> list[str]:
    scope = libbpf_tools.TOOLS[tool].scope
    firsts: dict = {}
    for name in registry.select([], [], True):
        sc = registry.get(name)
        if scope.syscalls is None and sc.family != "baseline":
            continue
        if any(scope.covers(s) for s in sc.syscalls) or \
                {op.opcode for op in sc.operations} & set(scope.opcodes):
            firsts.setdefault(sc.family, name)
    names = list(firsts.values())
    return names if FULL else names[:1]


_observed: dict = {}


def _observe(tool: str, scenario: str):
    """(the result's expect document, the Observed stream with its text) of a real run."""
    if (tool, scenario) not in _observed:
        t = _tracer(tool)
        if registry.get(scenario).unsupported_reason():
            pytest.skip(registry.get(scenario).unsupported_reason())
        result, seen = conformance.observe(scenario, t, iterations=3)
        assert result.ok, result.mismatches
        _observed[(tool, scenario)] = (result.expected, seen, t)
    doc, seen, t = _observed[(tool, scenario)]
    return copy.deepcopy(doc), seen, t


def _judge(doc, text, t):
    seen = formats.read(t.format, text, doc["pid"])
    return conformance.verdict(doc, seen.events, seen.lost, caps=t.caps,
                               blind_spots=t.blind_spots, unparsed=seen.unparsed, scope=t.scope)


@pytest.mark.parametrize("tool,scenario", [(t, s) for t in TOOLS for s in _one_per_family(t)])
def test_each_tool_is_judged_on_its_class_only(tool, scenario):
    """Every difference is about a member of the tool's class: nothing else is asked of it."""
    doc, seen, t = _observe(tool, scenario)
    v = _judge(doc, seen.text, t)
    assert v.status in ("exact", "limited", "lost", "wrong"), v
    members = set(t.scope.syscalls or ()) | set(t.scope.opcodes)
    for d in v.differences:
        if t.scope.syscalls is not None and not d.startswith("nothing observed"):
            assert any(re.search(rf"\b{m}\b", d) for m in members), d
    if tool in EXACT_ON and EXACT_ON[tool] == scenario:
        assert v.status == "exact", v.differences


@pytest.mark.parametrize("tool", sorted(EXACT_ON))
def test_the_tool_sees_its_scenario_whole(tool):
    doc, seen, t = _observe(tool, EXACT_ON[tool])
    v = _judge(doc, seen.text, t)
    assert v.status == "exact", v.differences
    assert "counts" in v.verified


def _event_lines(text: str, t, pid: int) -> list[int]:
    """The indexes of the lines that are the process's events (the reader reads one from each)."""
    lines = text.splitlines()
    return [i for i, line in enumerate(lines)
            if formats.read(t.format, lines[0] + "\n" + line if i else line, pid).events]


# the columns each doctored copy changes: a return (a failure where it succeeded: a return of
# >=0 takes any other fd), or syscount's count
_CHANGED = {"opensnoop": (fmt._OPENSNOOP, {"fd": "-1", "err": "13"}),
            "sigsnoop": (fmt._SIGSNOOP, {"ret": "-1"}), "execsnoop": (fmt._EXECSNOOP, {"ret": "-1"}),
            "statsnoop": (fmt._STATSNOOP, {"ret": "-1", "err": "1"}),
            "bindsnoop": (fmt._BINDSNOOP, {"ret": "-1"}), "syscount": (syscount._ROW, {})}


def _changed(line: str, tool: str) -> str:
    pattern, values = _CHANGED[tool]
    if tool == "syscount":
        line = line.strip()
    m = pattern.match(line)
    if tool == "syscount":
        values = {"count": str(int(m["count"]) + 1)}
    for group in sorted(values, key=m.start, reverse=True):  # (spans from the end: they stay put)
        line = line[:m.start(group)] + values[group] + line[m.end(group):]
    return line


@pytest.mark.parametrize("tool", sorted(PRINTS_ON))
def test_a_doctored_copy_of_its_output_is_wrong(tool):
    """A dropped line or a changed return (syscount: count) in the tool's own output: wrong,
    with a difference the copy as it was does not have (so the reader, not the doctoring, or
    what the tool missed anyway, decides)."""
    doc, seen, t = _observe(tool, PRINTS_ON[tool])
    first = set(_judge(doc, seen.text, t).differences)
    lines = seen.text.splitlines()
    events = _event_lines(seen.text, t, doc["pid"])
    assert events, seen.text
    i = events[len(events) // 2]
    for copy_ in ("\n".join(lines[:i] + lines[i + 1:]) + "\n",
                  "\n".join(lines[:i] + [_changed(lines[i], tool)] + lines[i + 1:]) + "\n",
                  seen.text + "this is no line of " + tool + "\n"):
        v = _judge(doc, copy_, t)
        assert v.status == "wrong" and set(v.differences) - first, (v, first)


def _synthetic(tool: str, doc: dict) -> str:
    """The tool's output for the document's events of its class (a tool that cannot run here,
    or sees nothing here: its reader is still judged)."""
    t = PRESETS[tool]()
    pid = doc["pid"]
    lines = {"statsnoop": ["PID     COMM                 RET  ERR  PATH"],
             "bindsnoop": ["     PID COMM             RET PROTO OPTS  IF   PORT  ADDR"]}[tool]
    for e in scoping.restrict(doc, t.scope)["events"]:
        ret = e["ret"].get("eq", e["ret"].get("ge", -e["ret"].get("errno", 0)))
        for _ in range(e["count"]):
            if tool == "statsnoop":
                path = (e["args"] or {}).get("filename") or (e["args"] or {}).get("pathname") or ""
                lines.append(f"{pid:<7d} ioworkload           {min(ret, 0):<4d} "
                             f"{-ret if ret < 0 else 0:<4d} {path}")
            else:
                lines.append(f"{pid:>8d} ioworkload       {ret:>3d} TCP   .....  0    1234  127.0.0.1")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("tool,scenario", [("statsnoop", "stat_statx"),
                                           ("bindsnoop", "socket_introspection")])
def test_a_reader_without_a_live_tool_fails_a_doctored_stream(tool, scenario):
    if registry.get(scenario).unsupported_reason():
        pytest.skip(registry.get(scenario).unsupported_reason())
    doc = ioworkload.run(scenario, iterations=2).expected
    t = PRESETS[tool]()
    text = _synthetic(tool, doc)
    assert _judge(doc, text, t).status == "exact", _judge(doc, text, t).differences
    lines = text.splitlines()
    assert _judge(doc, "\n".join(lines[:-1]) + "\n", t).status == "wrong"
    changed = lines[:-1] + [_changed(lines[-1], tool)]
    assert _judge(doc, "\n".join(changed) + "\n", t).status == "wrong"


def test_a_member_the_tool_misses_is_named():
    """opensnoop claims the opens: openat2 is one, and it is wrong there, by name."""
    doc, seen, t = _observe("opensnoop", "open_openat2")
    v = _judge(doc, seen.text, t)
    assert v.status == "wrong" and "openat2" in v.missed, v.differences
    assert v.summary.endswith("missed " + ", ".join(v.missed))


def test_a_scenario_outside_the_scope_is_no_pass():
    r = subprocess.run([sys.executable, "-m", "ioworkload", "check", "getppid", "--tracer",
                        "opensnoop", "--json"], capture_output=True, text=True, timeout=300)
    _tracer("opensnoop")
    rows = json.loads(r.stdout)
    assert rows[0]["status"] == "not-in-scope" and r.returncode == 77, r.stdout + r.stderr
    assert rows[0]["summary"] == "not in scope"
    # and a judged verdict of the same stream in scope is exact (the rule, not the tool, decides)
    doc, seen, t = _observe("opensnoop", "open_basic")
    assert _judge(doc, seen.text, t).status == "exact"


def _bpf_programs_of(comms: set) -> list:
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         timeout=60).stdout
    return [p["id"] for p in json.loads(out or "[]")
            if any(h.get("comm") in comms for h in p.get("pids", ()))]


def _tool_processes(comms: set) -> list:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/status") as f:
                ppid = next(line.split()[1] for line in f if line.startswith("PPid:"))
        except (OSError, StopIteration):
            continue
        if comm in comms and int(ppid) == os.getpid():
            found.append(pid)
    return found


@pytest.mark.skipif(shutil.which("bpftool") is None, reason="bpftool is not installed")
def test_no_tool_process_or_bpf_program_is_left():
    """After a run under each tool: none of its processes (ours) and none of its programs."""
    comms = {t[:15] for t in TOOLS} | {"stdbuf"}
    for tool in TOOLS:
        t = PRESETS[tool]()
        if t.unavailable():
            continue
        scenario = PRINTS_ON.get(tool) or _one_per_family(tool)[0]
        before = set(_bpf_programs_of(comms))
        v = conformance.run_one(scenario, t)
        assert v.status != "wrong" or tool == "statsnoop" or v.differences, v
        assert _tool_processes(comms) == []
        assert set(_bpf_programs_of(comms)) <= before, tool


def test_mountsnoop_reads_its_calls_and_no_other_line():
    """(mountsnoop sees none of the catalog's mounts here: they are a child's, or the new mount
    API's; its reader is judged on the lines it prints)"""
    text = ("COMM             PID     TID     MNT_NS      CALL\n"
            'python3          27539   27540   4026532174  mount("none", "/", "", MS_REC | MS_PRIVATE, "") = 0\n'
            'python3          27539   27539   4026532174  umount("/nonexist", 0x2) = -ENOENT\n')
    seen = formats.read("mountsnoop", text, 27539)
    assert seen.unparsed == []
    assert seen.events == [
        {"tid": 27540, "syscall": "mount", "ret": 0,
         "args": {"dev_name": '"none"', "dir_name": '"/"', "flags": 0x4000 | 0x40000}},
        {"tid": 27539, "syscall": "umount2", "ret": -2, "args": {"name": '"/nonexist"', "flags": 2}}]
    for bad in (text.replace("MS_REC", "MS_NO_SUCH_FLAG"), text.replace("-ENOENT", "-ENOSUCH"),
                text.replace(", 0x2)", ")")):
        assert len(formats.read("mountsnoop", bad, 27539).unparsed) == 1


def test_verify_names_a_bpf_program_that_hides_calls_from_its_counters():
    """opensnoop's tracepoint programs return 0 for the calls they filter out (-p 1: all of
    ours), and the kernel then gives those events to no perf counter of the tracepoint: a
    --verify beside it counts no openat. The mismatch is reported with the programs named."""
    import time
    from conftest import kernel_can_verify
    from ioworkload.core.verify import bpf_on_syscall_tracepoints
    _tracer("opensnoop")
    if kernel_can_verify() is not None:
        pytest.skip(kernel_can_verify())
    snoop = subprocess.Popen(["opensnoop", "-p", "1"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(f"pid {snoop.pid})" in a for a in bpf_on_syscall_tracepoints()):
            assert snoop.poll() is None and time.monotonic() < deadline, "opensnoop never attached"
            time.sleep(0.2)
        r = subprocess.run([sys.executable, "-m", "ioworkload", "open_basic", "-n", "3",
                            "--verify", "-q"], capture_output=True, text=True, timeout=120)
    finally:
        snoop.terminate()
        snoop.wait(timeout=30)
    assert r.returncode == 1, r.stderr
    assert "openat: entered" in r.stderr
    assert "sys_enter_openat (program" in r.stderr and f"of opensnoop, pid {snoop.pid})" in r.stderr
