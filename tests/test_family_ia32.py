"""The ia32 family, the 32-bit door (int $0x80 from the 64-bit process), and x32_bit: each
scenario --verify exact in a process of its own; strace and the bpftrace preset attached by
PID judged exact with arguments; a bpftrace program that reads only syscalls:sys_enter_* is
blind to the door; a stream naming ia32 numbers with the 64-bit table, and one that masks the
x32 bit, are caught naming the wrong call; wrong manifests fail --verify; the expect file
states each call's ABI and its number in that table."""

import gzip
import os
import re
import shutil

import pytest

import ioworkload
from ioworkload.core import expect, registry
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute
from ioworkload.judge import conformance
from ioworkload.judge.formats import read as read_stream
from ioworkload.judge.tracers import Tracer

from conftest import (FULL, MANY, kernel_can_verify, run_leaves_nothing_behind, sampled,
                      skip_unsupported)

NAMES = sorted(s.name for s in registry.all_scenarios().values() if s.family == "ia32")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers attach as root here")
_no_verify = kernel_can_verify()


def _supported(name):
    skip_unsupported(name)
    return registry.get(name)


def _bpftrace():
    t = conformance.PRESETS["bpftrace"]()
    if os.geteuid() != 0 or t.unavailable():
        pytest.skip(t.unavailable() or "bpftrace attaches as root here")
    return t


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("threads", ["1", "2"] if FULL else ["2"])
@pytest.mark.parametrize("name", NAMES)
def test_spawned_process_is_verified(cli, name, threads):
    _supported(name)
    r = cli(name, "-n", str(MANY), "-t", threads, "--verify")
    assert r.returncode == 0, r.stdout + r.stderr
    if name.startswith("ia32_"):  # the output says where compat calls are counted, and why
        assert "at raw_syscalls by their ia32 number" in r.stdout, r.stdout


@needs_root
@pytest.mark.parametrize("name,tracer,threads", sampled(NAMES, ["strace", "bpftrace"], ["1", "2"]))
def test_tracers_see_exactly_the_expect_file(cli, name, tracer, threads):
    _supported(name)
    if not shutil.which(tracer):
        pytest.skip(f"{tracer} is not installed")
    r = cli("check", name, "--tracer", tracer, "-t", threads, timeout=300)
    row = next(line for line in r.stdout.splitlines() if line.startswith(name))
    assert r.returncode == 0 and row[len(name):].strip().startswith("exact: counts, returns, args"), \
        r.stdout + r.stderr


def test_the_expect_file_states_each_calls_abi_and_number():
    sc = _supported("ia32_both_doors")
    doc = ioworkload.run(sc.name, iterations=2).expected
    by_key = {(e["abi"], e["syscall"]): e for e in doc["events"]}
    door = by_key[("ia32", "open")]
    assert door["nr"] == expect.ia32_table()["open"] == by_key[("x86_64", "fstat")]["nr"]
    assert (door["enter"], door["exit"]) == ("raw_syscalls:sys_enter", "raw_syscalls:sys_exit")
    assert by_key[("x86_64", "fstat")]["enter"] == "syscalls:sys_enter_newfstat"
    assert list(door["args"]) == ["filename", "flags", "mode"]
    assert by_key[("x86_64", "futex")]["nr"] == expect.syscall_number("futex")


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("name,swap", [
    # the door's open declared as x86-64's open: sys_enter_open never fires, id 2 never comes
    ("ia32_both_doors", ("ia32:open(", "open(")),
    # one getpid through the wrong door
    ("ia32_ids", ("ia32:getpid(", "getpid(")),
    # the x32 getpid declared as the getpid a masking tracer would report
    ("x32_bit", (f"syscall_{expect.X32_SYSCALL_BIT | expect.syscall_number('getpid')}(", "getpid(")),
])
def test_a_wrong_abi_in_the_manifest_fails_verify(name, swap):
    sc = _supported(name)
    wrong = tuple(Event.parse(str(e).replace(*swap)) for e in sc.iteration)
    assert wrong != sc.iteration
    res = execute(sc.replace(iteration=wrong), iterations=3, threads=1, verify=True)
    assert not res.verified, res.verification


@needs_root
def test_a_program_on_the_per_syscall_tracepoints_is_blind_to_the_door():
    """No syscalls:sys_enter_* fires for a compat call: such a program misses every ia32 call
    (missing, never exact) and sees the x86-64 ones."""
    _bpftrace()
    _supported("ia32_both_doors")
    # the sys_enter_<name> of every name the scenario declares, in whichever table (bpftrace
    # cannot compile args over the whole sys_enter_* wildcard on this kernel)
    names = {expect.tracepoint_name(e.syscall) for e in registry.get("ia32_both_doors").iteration}
    names |= {"openat", "close", "futex", "exit", "exit_group"}
    probes = ", ".join(f"tracepoint:syscalls:sys_enter_{n}" for n in sorted(names))
    program = ('BEGIN { printf("ready\\n"); }\n'
               f'{probes} /pid == PID/ {{\n'
               '  printf("{\\"tid\\": %d, \\"nr\\": %d, \\"ret\\": \\"unknown\\"}\\n", tid, '
               'args->__syscall_nr); }\n')
    t = Tracer("per-syscall", "bpftrace {program}", "jsonl", ready="line", program=program)
    result, seen = conformance.observe("ia32_both_doors", t, iterations=2, threads=1)
    assert any(ev["nr"] == expect.syscall_number("fstat") for ev in seen.events)
    v = conformance.verdict(result.expected, seen.events, caps=t.caps)
    assert v.status != "exact"
    assert any(d.startswith("missing: iteration #") and "ia32:open" in d for d in v.differences), \
        v.differences


@needs_root
def test_numbers_read_with_the_64_bit_table_name_the_wrong_call():
    """The bpftrace preset's own stream is exact; without its abi (a program that names every
    number with the x86-64 table) the door's open is read as fstat and the judge says so."""
    t = _bpftrace()
    _supported("ia32_both_doors")
    result, seen = conformance.observe("ia32_both_doors", t, iterations=2, threads=1)
    assert conformance.verdict(result.expected, seen.events, caps=t.caps).status == "exact"
    one_table = [{k: v for k, v in ev.items() if k != "abi"} for ev in seen.events]
    v = conformance.verdict(result.expected, one_table, caps=t.caps)
    assert v.status == "wrong"
    assert any("fstat" in d and d.startswith(("too many", "undeclared")) for d in v.differences), \
        v.differences
    assert any("missing" in d and "ia32:open" in d for d in v.differences), v.differences


@needs_root
@pytest.mark.parametrize("tracer", ["strace", "bpftrace"])
def test_a_tracer_that_masks_the_x32_bit_is_caught(tracer):
    """x32_bit's stream, exact as the tracer reported it; with the bit masked off (the call
    reported as the getpid and gettid it is not) the judge names the calls it never saw."""
    t = conformance.PRESETS[tracer]()
    if os.geteuid() != 0 or t.unavailable():
        pytest.skip(t.unavailable() or "needs root")
    _supported("x32_bit")
    result, seen = conformance.observe("x32_bit", t, iterations=2, threads=1)
    assert conformance.verdict(result.expected, seen.events, caps=t.caps).status == "exact"
    masked = []
    for ev in seen.events:
        nr = expect.syscall_number(ev["syscall"]) if "syscall" in ev else ev.get("nr")
        if nr is not None and nr & expect.X32_SYSCALL_BIT:
            ev = {k: v for k, v in ev.items() if k not in ("syscall", "nr")}
            ev["syscall"] = expect.syscall_name(nr & ~expect.X32_SYSCALL_BIT)
        masked.append(ev)
    v = conformance.verdict(result.expected, masked, caps=t.caps)
    assert v.status == "wrong"
    assert any(d.startswith("undeclared: getpid") for d in v.differences), v.differences


@needs_root
def test_strace_tells_the_socket_doors_apart_and_an_unnumbered_stream_is_judged_honestly():
    """strace prints a direct ia32 socket (359) as it prints socketcall's SYS_SOCKET subcall.
    The preset's numbers (-n) tell them apart: exact. Without them each such line is one of the
    two calls, counted as the one declared at that point: still exact, and never both: with one
    line dropped exactly one call is missing; read all as socketcall's, the direct calls are
    missing."""
    t = conformance.PRESETS["strace"]()
    if t.unavailable():
        pytest.skip(t.unavailable())
    _supported("ia32_socket_direct")
    result, seen = conformance.observe("ia32_socket_direct", t, iterations=2, threads=1)
    doc = result.expected
    v = conformance.verdict(doc, seen.events, caps=t.caps)
    assert v.status == "exact", v.differences[:5]
    plain = re.sub(r"^(\d+\s+)\[\s*\d+\] ", r"\1", seen.text, flags=re.M)
    assert plain != seen.text
    unnumbered = read_stream("strace", plain, doc["pid"]).events
    either = [i for i, ev in enumerate(unnumbered) if "either" in ev]
    assert len(either) == 2 * 6  # socket twice, bind, connect, sendto, recvfrom
    v = conformance.verdict(doc, unnumbered, caps=t.caps)
    assert v.status == "exact", v.differences[:5]
    dropped = unnumbered[:either[0]] + unnumbered[either[0] + 1:]
    v = conformance.verdict(doc, dropped, caps=t.caps)
    assert v.status == "wrong" and sum(v.missing_by_task.values()) == 1, v.differences
    assert not any(d.startswith(("too many", "undeclared")) for d in v.differences), v.differences
    multiplexed = [{k: x for k, x in ev.items() if k != "either"} for ev in unnumbered]
    v = conformance.verdict(doc, multiplexed, caps=t.caps)
    assert v.status == "wrong" and any("ia32:sendto" in d for d in v.differences), v.differences


@pytest.mark.parametrize("name", ["ia32_ipc_sem", "ia32_ipc_msg", "ia32_socketcall", "ia32_file_calls"])
def test_runs_leave_nothing_behind(name):
    _supported(name)
    run_leaves_nothing_behind(name)


def _kernel_config() -> str:
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            return f.read()
    except OSError:
        pytest.skip("no /proc/config.gz to compare the probes with")


def test_the_probes_agree_with_the_kernels_config():
    """The door is open where the kernel has IA32_EMULATION, enabled (a config default or
    ia32_emulation= on the command line may shut it); x32_bit runs where X86_X32_ABI is off."""
    from ioworkload.families import ia32
    config = _kernel_config()
    with open("/proc/cmdline") as f:
        cmdline = f.read().split()
    shut = "ia32_emulation=0" in cmdline or (
        "CONFIG_IA32_EMULATION_DEFAULT_DISABLED=y" in config and "ia32_emulation=1" not in cmdline)
    if "CONFIG_IA32_EMULATION=y" in config and not shut:
        assert ia32._int80() is None
    else:
        assert "32-bit door" in ia32._int80()
    assert (ia32._x32_off() is None) == ("CONFIG_X86_X32_ABI=y" not in config)


def test_the_doors_table_says_seen_and_named_per_tracer():
    """judge.conformance.doors over rows as `check --json` gives them: a tracer that names the
    door's calls with the 64-bit table saw them but named them wrong; one that misses them did
    not see them; x32_bit limited (not shown) or wrong (named without the bit)."""
    from ioworkload.judge.conformance import doors

    def row(tracer, scenario, status, *differences):
        return {"tracer": tracer, "scenario": scenario, "status": status,
                "differences": list(differences)}
    missing = "missing: iteration #1 ia32:getpid -> >=1 on tid 7: 3 of 3 not seen"
    rows = [row("good", "ia32_ids", "exact"), row("good", "x32_bit", "exact"),
            row("one-table", "ia32_ids", "wrong", "undeclared: writev -> 7 on tid 7 x3", missing),
            row("one-table", "x32_bit", "limited"),
            row("blind", "ia32_ids", "wrong", missing),
            row("blind", "x32_bit", "wrong", "undeclared: getpid -> -38 on tid 7 x3")]
    cells = doors(rows)
    assert cells["good"] == {"ia32 seen": "yes", "ia32 named right": "yes", "x32 named right": "yes"}
    assert cells["one-table"]["ia32 seen"] == "yes"
    assert cells["one-table"]["ia32 named right"] == "no: undeclared: writev -> 7 x3"
    assert cells["one-table"]["x32 named right"] == "not shown"
    assert cells["blind"]["ia32 seen"] == "no (1 of 1 scenarios)"
    assert cells["blind"]["x32 named right"].startswith("no: undeclared: getpid")
