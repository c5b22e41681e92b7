"""`ioworkload check`: tracers judged against the ground truth; faults in an observed stream are
caught (each by doctoring a real one); bad input is one clear line; offline judging."""

import copy
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import ioworkload
from ioworkload.judge import conformance
from ioworkload.core import expect

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers attach as root here")


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "ioworkload", "check", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A real run of open_basic on 2 threads under strace: its result and strace's events."""
    if os.geteuid() != 0 or not shutil.which("strace"):
        pytest.skip("needs strace, as root")
    from ioworkload import judge
    out = tmp_path_factory.mktemp("rec") / "strace.txt"
    with ioworkload.spawn("open_basic", iterations=3, threads=2) as w:
        before = {t: conformance.sleeps(w.pid, t) for t in w.tids}
        tracer = subprocess.Popen(["strace", "-f", "-X", "raw", "-qq", "-o", str(out),
                                   "-p", str(w.pid)])
        conformance._wait_ready(conformance.PRESETS["strace"](), tracer, w, [], before)
        w.start()
        result = w.wait(60)
        w.release()
    tracer.wait(30)
    return result.expected, judge.parse_strace(out.read_text())


def _judge(doc, observed, lost=0):
    return conformance.verdict(doc, observed, lost, sees_exit_only=False)


def test_a_real_stream_is_exact(recorded):
    doc, observed = recorded
    v = _judge(doc, observed)
    assert v.status == "exact", v.differences


def _worker_call(observed, doc, syscall):
    tids = {t["tid"] for t in doc["tasks"] if t["role"] == "worker"}
    return next(i for i, ev in enumerate(observed) if ev["tid"] in tids and ev["syscall"] == syscall)


def test_faults_are_caught(recorded):
    doc, observed = recorded
    tids = [t["tid"] for t in doc["tasks"] if t["role"] == "worker"]

    def doctored(change, lost=0):
        obs = copy.deepcopy(observed)
        change(obs)
        return _judge(doc, obs, lost)

    k = _worker_call(observed, doc, "openat")
    dropped = doctored(lambda obs: obs.pop(k))
    assert dropped.status == "wrong" and any(d.startswith("missing") for d in dropped.differences)
    assert doctored(lambda obs: obs.pop(k), lost=1).status == "lost"
    assert doctored(lambda obs: obs.pop(k), lost=1).differences  # shown apart, not hidden
    assert doctored(lambda obs: obs[k].update(ret=-2)).status == "wrong"          # return
    assert doctored(lambda obs: obs[k]["args"].__setitem__(
        1, '"/elsewhere/testfile.txt"')).status == "wrong"                          # path
    assert doctored(lambda obs: obs.append(
        {"tid": tids[0], "syscall": "getppid", "ret": 1})).status == "wrong"        # added
    other = tids[0] if observed[k]["tid"] == tids[1] else tids[1]
    assert doctored(lambda obs: obs[k].update(tid=other)).status == "wrong"         # moved
    doubled = doctored(lambda obs: obs.extend(copy.deepcopy(obs)))
    assert doubled.status == "wrong"
    # a tracer's limitation (new tasks) never hides a wrong event on a worker
    assert conformance.verdict(doc, [ev for i, ev in enumerate(observed) if i != k],
                               sees_exit_only=False,
                               blind_spots=conformance.PERF_TRACE_BLIND_SPOTS).status == "wrong"
    # a loss never hides a wrong event
    assert doctored(lambda obs: (obs.pop(k), obs[k].update(ret=-2)), lost=5).status == "wrong"


def test_perf_trace_output_with_interleaved_calls():
    text = ("     0.874 (         ): ioworkload/7 close(fd: 4                  ) ...\n"
            "     0.880 ( 0.001 ms): ioworkload/8 getppid()                   = \n"
            "     0.898 ( 0.024 ms): ioworkload/7  ... [continued]: close())  = 0\n"
            "     0.900 ( 0.009 ms): ioworkload/7 close(fd: 3<socket:[15422]>) = 0\n"
            "     0.950 ( 0.020 ms): ioworkload/7 openat(dfd: CWD, flags: RDWR) = -1 ENOENT (No such file)\n"
            "     1.070 (         ): ioworkload/7 exit_group()                = ?\n"
            "LOST 12 events!\n")
    events, lost = conformance.parse_perf_trace(text, 7)
    assert lost == 12
    assert [(e["tid"], e["syscall"], e["ret"], e["args"].get("fd")) for e in events] == [
        (8, "getppid", "unknown", None), (7, "close", 0, "4"), (7, "close", 0, "3"),
        (7, "openat", -2, None), (7, "exit_group", None, None)]


def test_perf_trace_call_that_never_goes_on_did_not_return():
    """perf trace prints rt_sigreturn at its entry (`...`) and never continues it: a call
    whose return (the register it restores) perf trace cannot show, also when another such
    call of the thread comes first or the text ends with it."""
    text = ("     1.000 (         ): ioworkload/7 rt_sigreturn()              ...\n"
            "     1.010 ( 0.002 ms): ioworkload/7 tgkill(tgid: 7, pid: 7, sig: USR1) = 0\n"
            "     1.020 (         ): ioworkload/7 rt_sigreturn()              ...\n")
    events, _ = conformance.parse_perf_trace(text, 7)
    assert sorted((e["syscall"], str(e["ret"])) for e in events) == [
        ("rt_sigreturn", "unknown"), ("rt_sigreturn", "unknown"), ("tgkill", "0")]


def test_offline_judges_a_hand_written_jsonl_stream(tmp_path):
    doc = expect.build(ioworkload.scenarios()["getppid"], pid=4242, tids=[4242], dirs=[],
                       iterations=2, own_process=True, root=None)
    (tmp_path / "expect.json").write_text(json.dumps(doc))
    lines = [{"tid": 4242, "syscall": "futex", "ret": 0},
             {"tid": 4242, "nr": expect.syscall_number("getppid"), "ret": 1, "count": 2},
             {"tid": 4242, "syscall": "futex", "ret": 1,
              "args": {"op": 1, "val": 2147483647}},
             {"tid": 4242, "syscall": "futex", "ret": 0},
             {"tid": 4242, "syscall": "exit_group", "ret": None, "args": {"error_code": 0}}]
    obs = tmp_path / "seen.jsonl"
    obs.write_text("".join(json.dumps(x) + "\n" for x in lines))
    p = _cli("--expected", str(tmp_path / "expect.json"), "--observed", str(obs))
    assert p.returncode == 0 and "exact" in p.stdout, p.stdout + p.stderr
    lines[1]["count"] = 3
    obs.write_text("".join(json.dumps(x) + "\n" for x in lines))
    p = _cli("--expected", str(tmp_path / "expect.json"), "--observed", str(obs), "--json")
    assert p.returncode == 1
    assert json.loads(p.stdout)[0]["status"] == "wrong"
    # the Python API takes the same
    assert ioworkload.check(doc, obs.read_text()).status == "wrong"


@pytest.mark.parametrize("content,why", [("not json at all\n", "not a JSON object"),
                                         ('{"tid": 1}\n', "needs tid, syscall or nr, and ret"),
                                         ('{"tid": 1, "syscall": "x", "ret": 0\n', "not valid JSON")])
def test_bad_observed_file_is_one_line(tmp_path, content, why):
    doc = expect.build(ioworkload.scenarios()["getppid"], pid=1, tids=[1], dirs=[],
                       iterations=1, own_process=True, root=None)
    (tmp_path / "e.json").write_text(json.dumps(doc))
    (tmp_path / "o.jsonl").write_text(content)
    p = _cli("--expected", str(tmp_path / "e.json"), "--observed", str(tmp_path / "o.jsonl"))
    assert p.returncode == 2 and why in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_bad_tracer_input_is_one_line():
    p = _cli("getppid", "--tracer", "mytracer=cat /dev/null")
    assert p.returncode == 2 and "{pid}" in p.stderr and "Traceback" not in p.stderr
    p = _cli("--all", "--tracer", "strace", "--tracer", "strace")
    assert p.returncode == 2 and "own name" in p.stderr


@needs_root
def test_tracer_that_exits_at_once_or_never_gets_ready(monkeypatch):
    quits = conformance.tracer_from_spec("quits=true {pid}")
    v = conformance.run_one("getppid", quits)
    assert v.status == "wrong" and "before it was ready" in v.differences[0]
    monkeypatch.setattr(conformance, "READY_TIMEOUT", 1.0)
    silent = conformance.tracer_from_spec("silent=sleep 60 {pid}", ready="line")
    v = conformance.run_one("getppid", silent)
    assert v.status == "wrong" and "not ready" in v.differences[0]
    out = subprocess.run(["pgrep", "-f", "sleep 60 "], capture_output=True, text=True).stdout
    assert not out.strip()  # the tracer was stopped


# A ptrace tracer that dies holding the process stopped (as ltrace did on
# thread_exit_tid_worker): it seizes every worker, stops the process once the run is under
# way, and kills itself; the kernel detaches it and the tasks stay stopped.
DYING_TRACER = """
import ctypes, os, signal, sys, time
pid, tids, note = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
for tid in tids:
    if libc.ptrace(0x4206, int(tid), None, None) != 0:  # PTRACE_SEIZE
        sys.exit("seize %s: %s" % (tid, os.strerror(ctypes.get_errno())))
with open(note, "w") as f:
    f.write(str(pid))
print("ready", flush=True)
time.sleep(0.5)
os.kill(pid, signal.SIGSTOP)
time.sleep(0.5)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _processes_naming(text: str) -> list[str]:
    out = []
    for path in os.listdir("/proc"):
        try:
            with open(f"/proc/{path}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    out.append(path)
        except OSError:
            pass
    return out


def _check_with_a_dying_tracer(tmp_path, name: str, script_text: str, words: str,
                               *options: str) -> dict:
    """`check getppid` (a run long enough to be under way when the tracer dies) under the
    script as a template tracer, its private directories under a TMPDIR of its own: within a
    minute (its wait for the run is 600 s), `wrong` with the tracer's exit in one line, no
    process of the run and no file left. Its row."""
    script = tmp_path / f"{name}.py"
    script.write_text(script_text)
    work = tmp_path / "tmp"
    work.mkdir()
    started = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "ioworkload", "check", "getppid", "-n", "30000000",
                        "--tracer", f"{name}={sys.executable} {script} {words}", *options,
                        "--json"], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, TMPDIR=str(work)))
    took = time.monotonic() - started
    assert p.returncode == 1, p.stdout + p.stderr
    row = json.loads(p.stdout)[0]
    assert row["status"] == "wrong" and row["differences"][0].startswith(
        f"{name}: the tracer exited (code -9) while the scenario ran"), row
    assert took < 60, took
    assert _processes_naming(str(work)) == [] and _processes_naming(str(script)) == []
    assert os.listdir(work) == []
    return row


@needs_root
def test_a_tracer_that_dies_leaving_the_process_stopped_is_noticed_at_once(tmp_path):
    note = tmp_path / "pid"
    row = _check_with_a_dying_tracer(tmp_path, "dying", DYING_TRACER, f"{{pid}} {{tids}} {note}",
                                     "--ready", "line")
    assert row["differences"] == ["dying: the tracer exited (code -9) while the scenario ran"]
    pid = int(note.read_text())
    assert not os.path.exists(f"/proc/{pid}"), pid


# A tracer that starts the command itself ({command}), stops the scenario process once the
# run is under way and dies: the command is left behind, holding the check's pipe.
DYING_LAUNCHER = """
import os, signal, subprocess, sys, time
command = subprocess.Popen(sys.argv[2:])  # (argv[1]: {out}, which it never writes)
time.sleep(2)
for tid in os.listdir("/proc/%d/task" % command.pid):
    with open("/proc/%d/task/%s/children" % (command.pid, tid)) as f:
        for pid in f.read().split():
            os.kill(int(pid), signal.SIGSTOP)
time.sleep(0.5)
os.kill(os.getpid(), signal.SIGKILL)
"""


@needs_root
def test_a_launching_tracer_that_dies_is_noticed_and_its_command_ended(tmp_path):
    _check_with_a_dying_tracer(tmp_path, "launcher", DYING_LAUNCHER, "{out} {command}")


@needs_root
@pytest.mark.parametrize("tracer", ["strace", "bpftrace", "perf-trace"])
def test_presets_judge_a_scenario_per_family(tracer):
    t = conformance.PRESETS[tracer]()
    if t.unavailable():
        pytest.skip(t.unavailable())
    names = ["getppid", "open_basic", "rename_basic", "mmap_basic", "open_by_handle_at_threads",
             "open_pid_filter"]
    if os.environ.get("IOWORKLOAD_FULL"):
        names = sorted(ioworkload.scenarios())
    for name in names:
        v = conformance.run_one(name, t, iterations=3, threads=2)
        assert v.status in ("exact", "lost", "limited", "unsupported"), (name, v.differences[:5])
        if v.status == "limited":
            assert t.blind_spots and all(any(p.match(d) for p, _ in t.blind_spots)
                                         for d in v.differences)


def test_cli_table_and_exit_code_for_a_real_run():
    if os.geteuid() != 0 or not shutil.which("strace"):
        pytest.skip("needs strace, as root")
    p = _cli("getppid", "aio_setup_einval", "--tracer", "strace", "--markdown")
    assert p.returncode == 0, p.stdout + p.stderr
    for name in ("getppid", "aio_setup_einval"):  # with what it verified
        assert f"| `{name}` | exact: counts, returns, args " in p.stdout, p.stdout


def test_null_and_a_string_are_different_arguments():
    """A call passed NULL never fits an event declared with a string there, nor the reverse, in
    either tracer's form (bpftrace's raw 0, strace's NULL and quoted string): fanotify_marks'
    NULL-path and named-path marks return the same 0 and cannot take each other's place."""
    from ioworkload.judge.matching import arg_differences
    assert arg_differences({"pathname": "/d/absolute"}, {"pathname": 0})
    assert arg_differences({"pathname": "relative"}, {"pathname": "NULL"})
    assert arg_differences({"pathname": 0}, {"pathname": '"relative"'})
    assert not arg_differences({"pathname": 0}, {"pathname": "NULL"})
    assert not arg_differences({"pathname": "relative"}, {"pathname": '"relative"'})
    assert not arg_differences({"pathname": "relative"}, {"pathname": 140166736361496})
