"""wide family: values a tracer must not cut short. strace and bpftrace attached by PID see
exactly the expect file; the expect file carries the 64-bit values and the 4095-byte path
whole; and a real strace stream cut the way a narrow tracer cuts it (integers to their low 32
bits, strings to 64 or 256 bytes) is judged wrong."""

import copy
import os
import shutil
import subprocess

import pytest

import ioworkload
from ioworkload.core import registry
from ioworkload import judge
from ioworkload.judge import conformance
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

from conftest import check_is_exact_at_1_and_2_threads, kernel_can_verify, sampled

WIDE = sorted(s.name for s in registry.all_scenarios().values() if s.family == "wide")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers attach as root here")
_no_verify = kernel_can_verify()


@needs_root
@pytest.mark.parametrize("name,tracer", sampled(WIDE, ["strace", "bpftrace"]))
def test_tracers_see_exactly_the_expect_file(cli, name, tracer):
    check_is_exact_at_1_and_2_threads(cli, name, tracer)


def test_a_value_is_not_its_low_half():
    """The judge takes a 32-bit value in its 32- or 64-bit pattern, but a wider one only whole,
    on either side."""
    from ioworkload.judge.matching import arg_differences
    # openat's dfd is an int (32 bits in the kernel's tracepoint format): either pattern
    assert not arg_differences({"dfd": -100}, ["4294967196"], "openat")
    assert not arg_differences({"dfd": -100}, ["0xffffffffffffff9c"], "openat")
    assert arg_differences({"pos": 0x140000123}, ["0x40000123"], "pread64")
    assert arg_differences({"pos": 0x40000123}, ["5368709411"], "pread64")
    assert arg_differences({"offset": -(1 << 32)}, ["0"], "lseek")
    assert not arg_differences({"flags": 1 << 63}, ["-9223372036854775808"], "mremap")
    # a 64-bit argument is never its low half, whatever the value
    assert arg_differences({"len": -100}, ["4294967196"], "mmap")


def _args(doc, syscall):
    return [e["args"] for e in doc["events"] if e["syscall"] == syscall and e["slot"]]


def test_the_expect_file_carries_wide_values_whole():
    offsets = ioworkload.run("wide_offsets", iterations=1).expected
    assert {a["pos"] for a in _args(offsets, "pread64")} == {0x140000123}
    assert [a["offset"] for a in _args(offsets, "lseek")] == [0x140000123, -(1 << 32), 0, -(1 << 32)]
    assert 0x140000123 - (1 << 32) in [e["ret"].get("eq") for e in offsets["events"]]
    maps = ioworkload.run("wide_mappings", iterations=1).expected
    assert {a["len"] for a in _args(maps, "mmap")} == {0x100001000}
    assert {a["flags"] for a in _args(maps, "mremap")} == {1 << 63}
    names = ioworkload.run("wide_names", iterations=1).expected
    paths = [a["filename"] for a in _args(names, "openat")]
    assert sorted(len(p) for p in paths if not p.startswith("/")) == [255, 256, 4095, 4096]


@pytest.fixture(scope="module")
def recorded():
    """Each wide scenario run once on 2 threads under strace: its result and strace's events."""
    if os.geteuid() != 0 or not shutil.which("strace"):
        pytest.skip("needs strace, as root")
    out = {}
    for name in WIDE:
        text = _strace(name)
        out[name] = text
    return out


def _strace(name):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "strace.txt")
        with ioworkload.spawn(name, iterations=2, threads=2) as w:
            before = {t: conformance.sleeps(w.pid, t) for t in w.tids}
            tracer = subprocess.Popen(["strace", "-f", "-X", "raw", "-s", "4096", "-qq", "-o", path,
                                       "-p", str(w.pid)])
            conformance._wait_ready(conformance.PRESETS["strace"](), tracer, w, [], before)
            w.start()
            result = w.wait(120)
            w.release()
        tracer.wait(30)
        with open(path) as f:
            return result.expected, judge.parse_strace(f.read())


def _verdict(doc, observed):
    """As the strace preset judges: its claims and its documented blind spots (a path of
    PATH_MAX bytes is shown cut: wide_names' refused one is limited, not wrong)."""
    t = conformance.PRESETS["strace"]()
    return conformance.verdict(doc, observed, 0, caps=t.caps, blind_spots=t.blind_spots)


def _low32(token):
    value = int(token, 0)
    return str(value & 0xffffffff) if not -(1 << 31) <= value < (1 << 32) else token


def _narrowed(observed, cut):
    """The stream with cut() applied to every argument (and return) of the worker's calls."""
    out = copy.deepcopy(observed)
    for ev in out:
        ev["args"] = [cut(a) for a in ev["args"]]
        if isinstance(ev["ret"], int) and ev["ret"] >= 1 << 32:
            ev["ret"] = int(cut(str(ev["ret"])))
    return out


def _int_cut(arg):
    try:
        return _low32(arg)
    except ValueError:
        return arg


def _string_cut(limit):
    def cut(arg):
        if arg.startswith('"') and arg.endswith('"') and len(arg) - 2 > limit:
            return arg[:limit + 1] + '"'
        return arg
    return cut


@pytest.mark.parametrize("name,cut", [("wide_offsets", "int"), ("wide_mappings", "int"),
                                      ("wide_names", 64), ("wide_names", 256)])
def test_a_narrow_tracer_is_caught(recorded, name, cut):
    doc, observed = recorded[name]
    assert _verdict(doc, observed).status == ("limited" if name == "wide_names" else "exact")
    narrowed = _narrowed(observed, _int_cut if cut == "int" else _string_cut(cut))
    assert narrowed != observed
    v = _verdict(doc, narrowed)
    assert v.status == "wrong", v.differences


@pytest.mark.skipif(_no_verify is not None, reason=str(_no_verify))
@pytest.mark.parametrize("name", WIDE)
def test_a_wrong_manifest_fails(name):
    """lseek's, mmap's and openat's wide results, each declared cut to 32 bits (or the path's
    success as an error): the kernel's count disagrees."""
    sc = registry.get(name)
    k, ev = next((k, e) for k, e in enumerate(sc.iteration)
                 if e.expect.kind == "eq" and e.expect.value >= 1 << 32
                 or e.expect.kind == "ge" and e.syscall == "openat")
    wrong = "-ENAMETOOLONG" if ev.expect.kind == "ge" else str(ev.expect.value & 0xffffffff)
    bad = Event.parse(str(ev).replace(f"-> {ev.expect}", f"-> {wrong}"))
    res = execute(sc.replace(iteration=sc.iteration[:k] + (bad,) + sc.iteration[k + 1:]),
                  iterations=2, verify=True)
    assert not res.verified
