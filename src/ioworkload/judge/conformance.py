"""`ioworkload check`: run scenarios under tracers and judge each tracer's view against the
ground truth (the resolved expect document, matching.py), or judge a stream someone else
recorded.

Verdicts, per scenario and tracer, each with what it verified (the tracer's claims,
capabilities.py: `exact: counts, returns, args 6/6, order`, `exact (counts only)`):
  exact        every event asked of the tracer seen with its count and every field it claims;
               nothing undeclared on the process's tasks; every line of its output read
  lost         only missing events, no more than the tracer itself says it dropped (a
               failure unless --max-loss allows that fraction)
  wrong        a count, return, argument or order differs, a claimed field is missing, an
               undeclared event appeared, a line could not be read, or nothing was seen
  limited      only differences the tracer's documented blind spots explain, or a tracer that
               names processes, not threads (capabilities' threads), on a process whose
               threads made calls: judged per process, `not_verified` says so
  unsupported  the scenario or the tracer cannot run here (with the reason)
  not-in-scope a scoped tracer (scope.py: opensnoop's opens) and a scenario with no call of its
               class: nothing judged, so no pass either; a scoped tracer's `wrong` names the
               members of its class it missed (`WRONG (1): missed openat2`)

A tracer is a preset (tracers/: strace, perf-trace, bpftrace), a tracer file (.toml, .json),
or a command template with `{pid}` and optionally `{out}` (a file it writes; else its stdout
is read) and `{tids}`, read in one of the formats (formats/: jsonl, strace, perf-trace).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

from ioworkload.core import expect, pidns, registry
from ioworkload.core.args import Parser, parse_count, parse_threads, timeout_scale
from ioworkload.core.errors import EXIT_FAILED, EXIT_OK, EXIT_UNSUPPORTED, Unsupported, UsageError
from ioworkload.judge import capabilities, matching as judge, mutate, scope as scoping
from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.document import check_document
from ioworkload.judge.formats import FORMATS, Observed, read as read_stream
from ioworkload.judge.formats.jsonl import parse_jsonl  # noqa: F401 (the API's name)
from ioworkload.judge.formats.perf_trace import parse_perf_trace  # noqa: F401
from ioworkload.judge.tracers import PRESETS, Tracer, from_spec
from ioworkload.judge.tracers.bpftrace import BPFTRACE_PROGRAM  # noqa: F401
from ioworkload.judge.tracers.perf_trace import BLIND_SPOTS as PERF_TRACE_BLIND_SPOTS  # noqa: F401

READY_TIMEOUT = 30.0
# Seconds on the host; times timeout_scale() where everything is slower (a guest under software
# emulation: `ioworkload kernels`, IOWORKLOAD_TIMEOUT_SCALE).
SETTLE = 1.5
DRAIN_TIMEOUT = 30.0
STDOUT_LIMIT = 64 << 20  # what is kept of a tracer's stdout; the rest is counted, not read

tracer_from_spec = from_spec


def read_observed(fmt: str, text: str, pid: int, source: str = "observed") -> tuple[list[dict], int]:
    o = read_stream(fmt, text, pid, source)
    return o.events, o.lost


# ---- verdicts ----

class Verdict:
    """The judgement of one observed stream: status, every difference, what was verified."""

    def __init__(self, status: str, differences: list[str], expected: int = 0, observed: int = 0,
                 lost: int = 0, reason: str | None = None, verified: list[str] | None = None):
        self.status, self.differences = status, differences
        self.expected, self.observed, self.lost, self.reason = expected, observed, lost, reason
        self.verified = verified or []
        self.missing_by_task: dict = {}
        self.unmet: list[str] = []  # capabilities --require asked for and this did not verify
        self.mutations: dict = {}
        self.numbering: str | None = None  # "tid" or "ns_tid" (NUMBERINGS), in a PID namespace
        self.set_aside = 0  # a launching tracer's events that were not the scenario process's
        self.missed: list[str] = []  # the members of a scoped tracer's class it missed
        # what the tracer could not be judged on, and why (`threads: a record names the
        # process, ...`): the verdict is at best limited
        self.not_verified: list[str] = []

    @property
    def summary(self) -> str:
        """`exact: counts, returns, args 6/6, order`, `exact (counts only)`, `lost (3 of 40
        dropped)`, `WRONG (2)`."""
        if self.status in ("exact", "limited"):
            return (f"{self.status} (counts only)" if self.verified == ["counts"]
                    else f"{self.status}: {', '.join(self.verified)}")
        if self.status == "lost":
            return f"lost ({self.lost} of {self.expected} dropped)"
        if self.status == "wrong":
            return f"WRONG ({len(self.differences)})" + (
                f": missed {', '.join(self.missed)}" if self.missed else "")
        if self.status == "not-in-scope":
            return "not in scope"
        return self.status

    def to_dict(self) -> dict:
        return {"status": self.status, "summary": self.summary, "verified": self.verified,
                "differences": self.differences, "expected": self.expected,
                "observed": self.observed, "lost": self.lost, "reason": self.reason,
                "missing_by_task": self.missing_by_task, "unmet": self.unmet,
                "mutations": self.mutations, "numbering": self.numbering,
                "set_aside": self.set_aside, "missed": self.missed,
                "not_verified": self.not_verified}

    def __repr__(self) -> str:
        return f"Verdict({self.summary!r}, {len(self.differences)} differences)"


# The verdict's words for the tids a stream used, when the scenario process had a PID namespace
# of its own (matching.numbered).
NUMBERINGS = {"tid": "tids as seen outside its PID namespace",
              "ns_tid": "tids as seen inside its PID namespace (NSpid)"}

_MISSING = re.compile(r"^missing: .* on (?P<who>.*): (?P<n>\d+) of \d+ not seen$")


def _verified(caps: Capabilities, comp: judge.Comparison) -> list[str]:
    out = ["counts"]
    if caps.returns:
        out.append("returns")
    if caps.args and comp.args_declared:
        out.append(f"args {comp.args_compared}/{comp.args_declared}")
    if caps.order and comp.ordered_tasks:
        out.append("order")
    return out


def verdict(expected: dict, observed: list[dict], lost: int = 0, sees_exit_only: bool = True,
            check_args: bool = True, blind_spots: tuple = (), caps: Capabilities | None = None,
            unparsed: list | tuple = (), scope: scoping.Scope | None = None) -> Verdict:
    """Judge one observed stream (matching.compare), separating events a tracer said it dropped
    and the differences its documented blind spots explain; a scoped tracer on its class's
    calls only (scope.py)."""
    caps = caps if caps is not None else Capabilities(exit=sees_exit_only)
    two_numberings = any(t.get("ns_tid", t["tid"]) != t["tid"] for t in expected["tasks"])
    expected, numbering = judge.numbered(expected, observed)
    if not caps.threads:  # (before the scope: an unnamed event is named on its process)
        expected = judge.by_process(expected)
    if scope is not None:
        expected = scoping.restrict(expected, scope)
        if expected is None:
            return Verdict("not-in-scope", [], reason=f"no {scope.what} call in this scenario")
        observed = scoping.name_members(expected, observed, scope)
    comp = judge.compare_detail(expected, observed, check_args=check_args, caps=caps)
    diffs = list(comp.differences)
    if unparsed:
        diffs.append(f"unparsed: {len(unparsed)} line{'s' if len(unparsed) > 1 else ''} of the "
                     f"tracer's output could not be read (the first: {unparsed[0][:120]!r})")
    n_expected = sum(judge.count_bounds(e["count"] or 0)[0] for e in expected["events"])
    n_observed = sum(ev.get("count", 1) for ev in observed)
    verified = _verified(caps, comp)
    if two_numberings:  # a PID namespace of its own: say which tids the tracer reported
        verified.append(NUMBERINGS[numbering])
    v = Verdict("exact", diffs, n_expected, n_observed, lost, verified=verified)
    v.numbering = numbering if two_numberings else None
    if scope is not None:
        v.missed = scoping.missed(diffs)
    if comp.folded > 1:
        v.not_verified.append("threads: " + caps.reasons.get(
            "threads", "it names the process, not the thread: the process's threads were "
                       "judged as one task, their order not judged"))
    for d in diffs:
        m = _MISSING.match(d)
        if m:
            v.missing_by_task[m["who"]] = v.missing_by_task.get(m["who"], 0) + int(m["n"])
    workers = {t["tid"] for t in expected["tasks"] if t["tid"] is not None}
    if n_expected and not any(ev.get("tid") in workers for ev in observed):
        v.status = "wrong"
        v.differences = [f"nothing observed: none of the {n_expected} declared events was seen"
                         + (f" (the tracer says it lost {lost})" if lost else "")] + diffs
        return v
    if not diffs:
        if v.not_verified:
            v.status, v.reason = "limited", "; ".join(v.not_verified)
        return v
    missing = [int(m["n"]) for d in diffs if (m := _MISSING.match(d))]
    if lost and len(missing) == len(diffs) and sum(missing) <= lost:
        v.status = "lost"
        return v
    explained = [next((why for pattern, why, *together in blind_spots if pattern.match(d) and (
        not together or any(together[0].match(other) for other in diffs))), None)
                 for d in diffs]
    if blind_spots and all(explained):
        v.status, v.reason = "limited", "; ".join(list(dict.fromkeys(explained))
                                                  + v.not_verified)
        return v
    v.status = "wrong"
    return v


def unmet(v: Verdict, caps: Capabilities, required: list[str]) -> list[str]:
    """The capabilities `--require` named that this verdict did not verify."""
    done = {w.split()[0] for w in v.verified} | {c for c in caps.claims()
                                                 if c in ("entry", "exit", "new-tasks", "threads")}
    return [r for r in required if r not in done or r == "args" and (
        caps.args is not True or caps.args_first)]


def check(expected: dict, observed, lost: int = 0, sees_exit_only: bool = True,
          reports: str | None = None) -> Verdict:
    """Python API: judge observed events (a list of dicts, or JSON lines text) against an
    expect document (a dict, or its JSON text); reports: the tracer's capabilities
    (`returns,args,order`; none stated: counts only)."""
    if isinstance(expected, str):
        try:
            expected = json.loads(expected)
        except ValueError as e:
            raise UsageError(f"the expect document is not JSON: {e}") from None
    check_document(expected)
    if isinstance(observed, str):
        observed, reported = parse_jsonl(observed)
        lost = lost or reported
    caps = capabilities.parse(reports) if reports is not None else Capabilities(exit=sees_exit_only)
    return verdict(expected, observed, lost, caps=caps)


def loss_allowed(v: Verdict, max_loss: float) -> bool:
    return v.status == "lost" and v.expected > 0 and v.lost / v.expected <= max_loss


# ---- running a scenario under a tracer ----

class _Output:
    """A tracer's stdout, read on a thread of its own as text (bytes that are not UTF-8
    replaced), kept up to STDOUT_LIMIT; a `ready` line is noted as it comes."""

    def __init__(self, stream, ready_line=None):
        self.ready_line = ready_line  # a pattern (a tool's header), else the line `ready`
        self.lines: list[str] = []
        self.size = 0
        self.dropped = 0
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        try:
            for line in stream:
                if (self.ready_line.match(line) if self.ready_line is not None
                        else line.strip() == "ready"):
                    self.ready.set()
                if self.size < STDOUT_LIMIT:
                    self.lines.append(line)
                    self.size += len(line)
                else:
                    self.dropped += 1
        except (OSError, ValueError):  # the stream closed under it: the tracer was stopped
            pass

    def __iter__(self):
        return iter(self.lines)

    def __len__(self):
        return len(self.lines)


class TracerFailed(RuntimeError):
    """The tracer itself failed: it could not start, exited before it was ready, never said
    it was ready, or exited while the scenario ran. (Not a verdict on what it saw: it saw
    nothing, or not the whole run.)"""


def run_one(scenario: str, tracer: Tracer, iterations: int = 3, threads: int = 1,
            mutations: bool = False, pid_namespace: bool = False,
            under: list[str] | None = None) -> Verdict:
    """Spawn the scenario held at its start, attach the tracer by PID, run, judge; a tracer
    that fails is that tracer's verdict (`wrong`), not the whole run's. pid_namespace: the
    scenario process is pid 1 of a PID namespace of its own (spawn()); under: the command
    started under another (`unshare --pid --fork --mount-proc`, `unshare -Ur`)."""
    try:
        return _run(scenario, tracer, iterations, threads, mutations, pid_namespace, under)
    except TracerFailed as e:
        return Verdict("wrong", [f"{tracer.name}: {e}"], reason=str(e))


def trace(scenario: str, tracer: str | Tracer, iterations: int = 3, threads: int = 1,
          reports: str | None = None, format: str | None = None, ready: str | None = None,
          mutations: bool = False) -> Verdict:
    """The one call a tracer's own test needs: spawn `scenario` held at its start line, start
    `tracer` (a preset, a tracer file, or a template with {pid}, as `check --tracer` takes it)
    on it, wait until the tracer says it is ready, release the run, wait for the tracer to
    drain, and return the judged Verdict (`status`, `summary`, `differences`). A tracer that
    cannot start raises TracerFailed; bad input raises UsageError."""
    t = tracer if isinstance(tracer, Tracer) else from_spec(tracer, format, ready, reports)
    return _run(scenario, t, iterations, threads, mutations)


def _run(scenario: str, tracer: Tracer, iterations: int, threads: int,
         mutations: bool, pid_namespace: bool = False, under: list[str] | None = None) -> Verdict:
    try:
        result, seen = observe(scenario, tracer, iterations, threads, pid_namespace, under)
    except Unsupported as e:
        return Verdict("unsupported", [], reason=str(e))
    except (UsageError, TracerFailed):
        raise
    except Exception as e:  # a tracer that fails is that tracer's verdict, not the whole run's
        return Verdict("wrong", [f"{tracer.name}: {e}"], reason=str(e))
    v = _judge_stream(result.expected, seen, tracer)
    if mutations and v.status in ("exact", "limited"):
        v.mutations = mutate.run(result.expected, seen.events, tracer.caps, lambda damaged:
                                 _judge_stream(result.expected, Observed(damaged, seen.lost),
                                               tracer))
    if not result.ok:
        v.status, v.differences = "wrong", ["the workload itself: " + m
                                             for m in result.mismatches] + v.differences
    return v


def observe(scenario: str, tracer: Tracer, iterations: int = 3, threads: int = 1,
            pid_namespace: bool = False, under: list[str] | None = None):
    """(the run's Result, the Observed stream the tracer printed), unjudged; Unsupported where
    the scenario or the tracer cannot run here. A tracer that launches the command
    (`{command}`) has its stream cut to the run's (matching.launched: `set_aside` counts the
    rest). under: a command the scenario's command is started under; where it made a PID
    namespace, the expect document is given in the host's ids (expect.seen_from_outside)."""
    from ioworkload.core.runner import make_temp_dir
    from ioworkload.core.workload import spawn
    why = (tracer.unavailable() or registry.get(scenario).unsupported_reason()
           or under and shutil.which(under[0]) is None and f"{under[0]} is not installed")
    if why:
        raise Unsupported(why)
    if tracer.launches:
        return _observe_launched(registry.get(scenario).name, tracer, iterations, threads,
                                 pid_namespace, under)
    tmp = make_temp_dir("ioworkload-check-")
    proc = output = None
    pid = 0  # (cleanup before a spawn: the tracer's own state only)
    try:
        tracer.prepare(tmp)
        with spawn(scenario, iterations=iterations, threads=threads,
                   pid_namespace=pid_namespace, wrapper=under) as w:
            pid = w.pid
            out = os.path.join(tmp, "observed")
            argv = [_fill(word, pid=w.pid, tids=",".join(map(str, w.tids)), out=out,
                          program=tracer.program_path(w.pid, tmp) or "")
                    for word in tracer.argv]
            before = {t: sleeps(w.pid, t) for t in w.tids}
            with open(os.path.join(tmp, "stderr"), "wb") as err:
                try:
                    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=err,
                                            encoding="utf-8", errors="replace",
                                            start_new_session=True)
                except OSError as e:
                    raise TracerFailed(f"cannot start {argv[0]}: {e.strerror}") from None
            proc.stderr_path, proc.out_path = err.name, out
            output = _Output(proc.stdout, tracer.ready_line)
            _wait_ready(tracer, proc, w, output, before)
            w.start()
            result = w.wait(600, watch=lambda: _tracer_alive(proc))
            w.release()
        text = _drain_and_stop(tracer, proc, output, out, w.pid)
        output.thread.join(5)
        seen = read_stream(tracer.format, text, w.pid, f"{tracer.name}'s output")
        seen.text = text
        if output.dropped:
            seen.unparsed.append(f"... {output.dropped} more lines past {STDOUT_LIMIT >> 20} MiB")
        return result, seen
    finally:
        _end_tracer(proc, output, tmp, tracer, pid)


def _tracer_alive(proc) -> None:
    """While the scenario runs: a tracer that exited saw the run no further, and one that died
    holding the process stopped (ptrace) would keep it waiting; the run is ended (the spawn's
    close() resumes a stopped process) and the tracer's verdict says why."""
    if proc.poll() is not None:
        err = _stderr_tail(proc)
        raise TracerFailed(f"the tracer exited (code {proc.returncode}) while the scenario ran"
                           + (f": {err}" if err else ""))


def _observe_launched(scenario: str, tracer: Tracer, iterations: int, threads: int,
                      pid_namespace: bool = False, under: list[str] | None = None):
    """observe() for a tracer that starts the command itself: the command's PID line and its
    --json result come on the tracer's stdout (the template writes its own output to {out}),
    its start and hold files are ours; the tracer ends when the command does."""
    from ioworkload.core.runner import make_temp_dir
    from ioworkload.core.workload import command, result_from_json
    tmp = make_temp_dir("ioworkload-check-")
    proc = output = None
    pid = 0
    try:
        tracer.prepare(tmp)
        start, hold = os.path.join(tmp, "start"), os.path.join(tmp, "hold")
        expect_path, out = os.path.join(tmp, "expect.json"), os.path.join(tmp, "observed")
        # (its path whole: bpftrace -c refuses a name PATH finds twice, /bin and /usr/bin)
        wrapper = [shutil.which(under[0]) or under[0], *under[1:]] if under else []
        run = wrapper + command(scenario, iterations, threads) + [
            "--start-file", start, "--hold-file", hold, "--expect-file", expect_path, "--json"] + (
            ["--pid-namespace"] if pid_namespace else [])
        argv = []
        program = tracer.program_path(0, tmp) or ""
        for word in tracer.argv:
            # the command's words; inside a word (bpftrace's -c{command}), one shell string
            argv += run if word == "{command}" else [_fill(word.replace(
                "{command}", shlex.join(run)), out=out, program=program)]
        with open(os.path.join(tmp, "stderr"), "wb") as err:
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=err, encoding="utf-8", errors="replace",
                                        start_new_session=True)
            except OSError as e:
                raise TracerFailed(f"cannot start {argv[0]}: {e.strerror}") from None
        proc.stderr_path, proc.out_path = err.name, out
        output = _Output(proc.stdout)
        pid = int(_launched_line(proc, output, 0, READY_TIMEOUT * timeout_scale(),
                                 "the command's PID line"))
        outer = pidns.outer_ids(proc.pid, pid) if under else {}  # under a PID namespace
        pid = outer.get(pid, pid)
        open(start, "w").close()  # the tracer followed the command from its start: ready
        result = result_from_json(_launched_line(proc, output, 1, 600.0, "the command's result"))
        result.expected = expect.seen_from_outside(result.expected, outer)
        open(hold, "w").close()
        text = _drain_and_stop(tracer, proc, output, out, pid)
        output.thread.join(5)
        seen = read_stream(tracer.format, text, pid, f"{tracer.name}'s output")
        seen.events, seen.set_aside = judge.launched(result.expected, seen.events)
        return result, seen
    finally:
        if proc is not None and proc.poll() is not None:
            _end_orphaned_command(start)
        _end_tracer(proc, output, tmp, tracer, pid)


def _end_tracer(proc, output: "_Output | None", tmp: str, tracer: Tracer, pid: int) -> None:
    """Whatever happened: the tracer stopped, its reader joined, what it changed on the host
    put back (Tracer.cleanup), the check's files gone."""
    if proc is not None:
        _stop(proc)
        if output is not None:
            output.thread.join(5)
        if proc.stdout:
            proc.stdout.close()
    tracer.cleanup(pid, tmp)
    shutil.rmtree(tmp, ignore_errors=True)


def _end_orphaned_command(start: str) -> None:
    """The command a launching tracer started, left running when the tracer exited (a stopped
    scenario process too, if the tracer was ptrace): its processes are the ones whose command
    line names our start file. Each is let go on (SIGCONT), the command ended as on Ctrl-C
    (SIGTERM: the run's teardown and cleanup run) and waited for; then killed."""
    def ours() -> dict[int, int]:  # pid -> parent pid
        found = {}
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if os.fsencode(start) not in f.read().split(b"\0"):
                        continue
                with open(f"/proc/{entry}/stat") as f:
                    found[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        return found

    def send(pids, signum) -> None:
        for p in pids:
            try:
                os.kill(p, signum)
            except ProcessLookupError:
                pass

    left = ours()
    send(left, signal.SIGCONT)
    send([p for p, parent in left.items() if parent not in left], signal.SIGTERM)
    deadline = time.monotonic() + 30.0 * timeout_scale()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = ours()
    send(left, signal.SIGKILL)


def _launched_line(proc, output: _Output, index: int, timeout: float, what: str) -> str:
    """Line `index` of the launched command's stdout, waiting for it while the tracer lives;
    its exit first: Unsupported when the command said so (exit 77), else TracerFailed."""
    deadline = time.monotonic() + timeout
    while len(output.lines) <= index:
        if proc.poll() is not None:
            # (what it printed is read at once; a command it left running holds the pipe)
            output.thread.join(1)
            if len(output.lines) > index:
                break
            err = _stderr_tail(proc)
            if err.startswith("unsupported: "):
                raise Unsupported(err[len("unsupported: "):])
            if index:  # (released: the scenario runs)
                _tracer_alive(proc)
            raise TracerFailed(f"exited with status {proc.returncode} before {what}"
                               + (f": {err}" if err else ""))
        if time.monotonic() > deadline:
            raise TracerFailed(f"no {what} after {timeout:g} s")
        time.sleep(0.02)
    return output.lines[index]


def _judge_stream(doc: dict, seen: Observed, tracer: Tracer) -> Verdict:
    v = verdict(doc, seen.events, seen.lost, caps=tracer.caps, blind_spots=tracer.blind_spots,
                unparsed=seen.unparsed, scope=tracer.scope)
    v.set_aside = seen.set_aside
    return v


def _fill(word: str, **values) -> str:
    """The template's placeholders filled in; other braces (a bpftrace program) stay as they are."""
    for key, value in values.items():
        word = word.replace("{" + key + "}", str(value))
    return word


def _stderr_tail(proc) -> str:
    """The failed tracer's last line on stderr, else the first of its output file (perf trace
    writes its errors there)."""
    path = getattr(proc, "stderr_path", None)
    if path is None:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 4096))
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
        if not lines and os.path.exists(getattr(proc, "out_path", "")):
            with open(proc.out_path, "rb") as f:
                lines = f.read(4096).decode("utf-8", "replace").strip().splitlines()[:1]
    except OSError:
        return ""
    return " ".join(lines[-1].split())[:200] if lines else ""


def _wait_ready(tracer: Tracer, proc, w, lines, sleeps_before: dict | None = None) -> None:
    """Until the tracer is attached by its own sign: ptrace on every worker, its `ready`
    line, or (a tracer that gives none) 1.5 s of settling; the workers' liveness and the
    tracer's are checked on every pass."""
    scale = timeout_scale()
    deadline = time.monotonic() + READY_TIMEOUT * scale
    settle_until = time.monotonic() + SETTLE * scale
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = _stderr_tail(proc)
            raise TracerFailed(f"exited with status {proc.returncode} before it was ready"
                               + (f": {err}" if err else ""))
        if tracer.ready == "ptrace":
            before = sleeps_before or {}
            if all(ptrace_attached(w.pid, t, before.get(t, 0)) for t in w.tids):
                return
        elif tracer.ready == "line":
            ready = getattr(lines, "ready", None)
            if ready.is_set() if ready is not None else any(
                    line.strip() == "ready" for line in lines):
                return
        elif time.monotonic() >= settle_until:
            return
        time.sleep(0.02)
    raise TracerFailed(f"not ready after {READY_TIMEOUT * scale:g} s")
def _task_status(pid: int, tid: int) -> dict:
    try:
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return {}


def sleeps(pid: int, tid: int) -> int:
    """How often the thread went to sleep (voluntary context switches)."""
    return int(_task_status(pid, tid).get("voluntary_ctxt_switches", "0"))


def ptrace_attached(pid: int, tid: int, sleeps_before: int) -> bool:
    """A ptrace tracer has the parked thread under syscall tracing: TracerPid is set, and the
    thread has been stopped and let go at least twice since (the attach's interrupt stop, then
    the syscall-entry stop of its restarted start wait) and sleeps again. TracerPid alone comes
    too early: a release between the attach and the tracer's first resume goes unseen."""
    st = _task_status(pid, tid)
    return (st.get("TracerPid", "0") != "0" and st.get("State", "").startswith("S")
            and int(st.get("voluntary_ctxt_switches", "0")) >= sleeps_before + 2)


def _drain_and_stop(tracer: Tracer, proc, lines: list, out: str, pid: int) -> str:
    """Until the tracer has written everything (it may still be reading per-CPU buffers after
    the process has exited), then stop it; its whole output."""
    def text():
        if os.path.exists(out):
            with open(out, errors="replace") as f:
                return f.read()
        return "".join(lines)

    def ended(t: str) -> bool:  # the process's last call, its exit_group, is in the output
        if tracer.quiet_drain:  # (or, for a tool that prints none, nothing new for a while)
            return True
        try:
            observed, _ = read_observed(tracer.format, t[:t.rfind("\n") + 1], pid)
        except UsageError:  # whole lines that cannot be read will not become readable
            return True
        return any(ev.get("tid") == pid and judge.name_of(ev) == "exit_group" for ev in observed)

    deadline = time.monotonic() + DRAIN_TIMEOUT * timeout_scale()
    seen = -1
    while time.monotonic() < deadline and proc.poll() is None:
        t = text()
        if len(t) == seen and ended(t):
            break
        seen = len(t)
        time.sleep(1.0 if tracer.quiet_drain else 0.5)
    _stop(proc)
    reader = getattr(lines, "thread", None)
    if reader is not None:  # what it printed last (a report written as it exits) read whole
        reader.join(10)
    return text()


def _stop(proc) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(10)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    # (its stdout is closed by whoever reads it, once the reader has seen its end)
    if proc.stderr:
        proc.stderr.close()


def doors(rows: list[dict]) -> dict[str, dict[str, str]]:
    """Per tracer, from its rows of the ia32 family: whether it sees the calls through the
    32-bit door (`missing` ia32 calls: no), names them right (a call reported under another
    name or number, `undeclared`/`too many`: no), and names x32_bit's calls with the bit the
    kernel numbers them by (a tracer that cannot show them at all: `not shown`)."""
    from ioworkload.core import registry
    known = registry.all_scenarios()
    out: dict[str, dict[str, str]] = {}
    for tracer in dict.fromkeys(r["tracer"] for r in rows):
        mine = [r for r in rows if r["tracer"] == tracer and r["scenario"] in known
                and known[r["scenario"]].family == "ia32"]
        door = [r for r in mine if r["scenario"] != "x32_bit" and r["status"] != "unsupported"]
        x32 = [r for r in mine if r["scenario"] == "x32_bit"]
        if not mine:
            continue
        def named_otherwise(r):
            return [re.sub(r"(: \d+ events on \d+ tasks? \(tid [^)]*\)| on tid \d+)", "", str(d))
                    for d in r["differences"]
                    if str(d).startswith(("undeclared:", "too many:"))]
        # an ia32 call missing where the tracer reported others in its place: seen, misnamed
        missed = [r for r in door if any(str(d).startswith("missing:") and "ia32:" in str(d)
                                         for d in r["differences"]) and not named_otherwise(r)]
        misnamed = [d for r in door for d in named_otherwise(r)]
        cell = {"ia32 seen": "unsupported" if not door else
                f"no ({len(missed)} of {len(door)} scenarios)" if missed else "yes",
                "ia32 named right": "unsupported" if not door else
                f"no: {misnamed[0]}" if misnamed else "yes"}
        if x32:
            r = x32[0]
            cell["x32 named right"] = {"exact": "yes", "unsupported": "unsupported",
                                       "limited": "not shown"}.get(
                r["status"], f"no: {r['differences'][0] if r['differences'] else r['status']}")
        out[tracer] = cell
    return out


# The scenarios the namespace and launcher doors are measured on (tools/conformance.py
# --doors): one of each of a few families, a thread and a fork created during the run (the new
# task's tid is the namespace's in clone's return, the host's in a stream from outside).
DOOR_SAMPLE = ("getppid", "open_basic", "signals_basic", "sysv_sem_basic",
               "thread_exit_keeps_fd", "fork_inherit_fds")
# What a door's cell says of the tids a verdict saw (Verdict.numbering)
DOOR_NUMBERING = {"tid": "host tids", "ns_tid": "namespace tids"}


def door_sample() -> list[str]:
    known = registry.all_scenarios()
    return [n for n in DOOR_SAMPLE if n in known and not known[n].unsupported_reason()]


def context_doors(rows: list[dict]) -> dict[str, dict[str, str]]:
    """Per tracer and door, from rows that carry their `door` (and, for a launching or a
    wrapped variant of a preset, the preset they are: `preset`): `exact 6/6 (host tids)`,
    `WRONG 2/6: the first difference`, `unsupported: why` (every row of the door unsupported
    for the same reason), the events set aside for a launcher (`set aside 2417-2630`)."""
    out: dict[str, dict[str, str]] = {}
    for key in dict.fromkeys((r.get("preset", r["tracer"]), r["door"]) for r in rows):
        mine = [r for r in rows if (r.get("preset", r["tracer"]), r["door"]) == key]
        run = [r for r in mine if r["status"] != "unsupported"]
        if not run:
            out.setdefault(key[0], {})[key[1]] = "unsupported: " + " ".join(
                str(mine[0].get("reason") or "").split())
            continue
        if all(r["status"] == "wrong" and r.get("reason") and not r.get("expected") for r in run):
            # the tracer itself failed every time (TracerFailed): it cannot run there
            out.setdefault(key[0], {})[key[1]] = "cannot run: " + " ".join(
                str(run[0]["reason"]).split())[:200]
            continue
        counts = {s: sum(r["status"] == s for r in run) for s in dict.fromkeys(
            r["status"] for r in run)}
        bad = [r for r in run if r["status"] not in ("exact", "limited")]
        cell = ", ".join(f"{'WRONG' if s == 'wrong' else s} {n}/{len(run)}"
                         for s, n in counts.items())
        numbering = sorted({DOOR_NUMBERING[r["numbering"]] for r in run if r.get("numbering")})
        if numbering:
            cell += f" ({', '.join(numbering)})"
        aside = [r["set_aside"] for r in run if r.get("set_aside")]
        if aside:
            cell += f"; set aside {min(aside)}-{max(aside)}" if min(aside) != max(aside) \
                else f"; set aside {aside[0]}"
        if bad:
            first = bad[0]
            why = first.get("reason") or (first["differences"][0] if first["differences"]
                                          else first["status"])
            cell += f": `{bad[0]['scenario']}`: {' '.join(str(why).split())[:160]}"
        if len(run) < len(mine):
            cell += f" ({len(mine) - len(run)} unsupported)"
        out.setdefault(key[0], {})[key[1]] = cell
    return out


# ---- the command ----

def _table(rows: list[dict], tracers: list[str], markdown: bool) -> str:
    names = list(dict.fromkeys(r["scenario"] for r in rows))
    cell = {(r["scenario"], r["tracer"]): r for r in rows}

    def text(r):
        out = r["summary"]
        if r.get("unmet"):
            out += f"; REQUIRED: {', '.join(r['unmet'])}"
        if r.get("mutations"):
            caught = sum(1 for m in r["mutations"].values() if m == "caught")
            asked = sum(1 for m in r["mutations"].values() if not m.startswith("n/a"))
            out += f"; mutations caught {caught}/{asked}"
        return out

    head = ["scenario"] + tracers
    body = [[n] + [text(cell[(n, t)]) for t in tracers] for n in names]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(r)) + " |"
                for r in body]
        return "\n".join(out) + "\n"
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n"
                   for r in [head] + body)


def _under(text: str | None) -> list[str] | None:
    if text is None:
        return None
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise UsageError(f"--under: cannot split {text[:60]!r}: {e}") from None
    if not words:
        raise UsageError("--under needs a command (e.g. 'unshare --pid --fork --mount-proc')")
    return words


def _max_loss(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise UsageError(f"--max-loss must be a fraction from 0 to 1, not {text[:40]!r}")
    return value


def main(argv: list[str]) -> int:
    p = Parser(prog="ioworkload check",
               description="Judge tracers against the ground truth, scenario by scenario.")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO")
    p.add_argument("--family", action="append", default=[], help="every scenario of a family")
    p.add_argument("--all", action="store_true", help="the whole catalog")
    p.add_argument("--tracer", action="append", default=[], metavar="T",
                   help=f"a preset ({', '.join(PRESETS)}), a tracer file (.toml, .json), or "
                        f"NAME=TEMPLATE with {{pid}} [{{out}}], or {{command}} and {{out}} for a tracer "
                        f"that starts the workload itself (repeatable; default strace)")
    p.add_argument("--format", choices=FORMATS, metavar="FORMAT",
                   help="what a template tracer prints (default jsonl; one of: "
                        + ", ".join(FORMATS) + ")")
    p.add_argument("--ready", choices=("settle", "line", "ptrace"),
                   help=f"when a template tracer is attached: after {SETTLE:g} s, when it prints "
                        "`ready`, or when it ptrace-attached every worker")
    p.add_argument("--reports", metavar="CAPS",
                   help="what a template tracer (or an --observed stream) reports: "
                        f"{', '.join(capabilities.NAMES)}, args=NAME+NAME, "
                        f"{', '.join(capabilities.NEGATIONS)} "
                        "(default: counts only)")
    p.add_argument("--require", metavar="CAPS",
                   help="fail a verdict that did not verify these (e.g. returns,args,order)")
    p.add_argument("--max-loss", default=None, metavar="FRACTION",
                   help="a `lost` verdict passes when the tracer dropped at most this fraction "
                        "(default 0, or the tracer file's max_loss)")
    p.add_argument("--mutate", action="store_true",
                   help="also judge damaged copies of each observed stream; every mutation the "
                        "tracer's capabilities cover must be caught")
    p.add_argument("--pid-namespace", action="store_true",
                   help="run each scenario process as pid 1 of a PID namespace of its own (the "
                        "verdict says which numbering the tracer's tids were in)")
    p.add_argument("--under", metavar="COMMAND",
                   help="start each scenario's command under this one ('unshare --pid --fork "
                        "--mount-proc', 'unshare -Ur'): a tracer outside is given the host's ids")
    p.add_argument("--iterations", "-n", default="3", metavar="N")
    p.add_argument("--threads", "-t", default="1", metavar="T")
    p.add_argument("--expected", metavar="EXPECT.json", help="offline: an expect file (or a result)")
    p.add_argument("--observed", metavar="OBSERVED", help="offline: what a tracer saw")
    p.add_argument("--lost", default="0", metavar="N", help="offline: events the tracer dropped")
    p.add_argument("--strict-loss", action="store_true",
                   help="(the default now: lost events fail unless --max-loss allows them)")
    p.add_argument("--json", action="store_true", help="every difference, as JSON")
    p.add_argument("--markdown", action="store_true", help="the table as Markdown")
    args = p.parse_args(argv)
    args.required = capabilities.required(args.require) if args.require is not None else []
    args.max_loss_value = _max_loss(args.max_loss) if args.max_loss is not None else None

    if args.expected or args.observed:
        return _offline(args)
    tracers = [from_spec(t, args.format, args.ready, args.reports)
               for t in (args.tracer or ["strace"])]
    if len({t.name for t in tracers}) != len(tracers):
        raise UsageError("each --tracer needs its own name (NAME=TEMPLATE)")
    if not (args.scenarios or args.family or args.all):
        raise UsageError("name scenarios, --family F or --all (or --expected/--observed)")
    names = registry.select(args.scenarios, args.family, args.all)
    iterations = parse_count(args.iterations)
    threads = parse_threads(args.threads)
    under = _under(args.under)
    rows = []
    total = len(names) * len(tracers)
    for name in names:
        for t in tracers:
            if sys.stderr.isatty() or total > 1:
                print(f"[{len(rows) + 1}/{total}] {name} under {t.name}", file=sys.stderr,
                      flush=True)
            v = run_one(name, t, iterations, threads, mutations=args.mutate,
                        pid_namespace=args.pid_namespace, under=under)
            rows.append(_row(v, name, t.name, t.caps, t.max_loss, args))
    return _report(rows, [t.name for t in tracers], args)


def _row(v: Verdict, scenario: str, tracer: str, caps: Capabilities, max_loss: float,
         args) -> dict:
    v.unmet = unmet(v, caps, args.required) if v.status in ("exact", "limited", "lost") else []
    allowed = args.max_loss_value if args.max_loss_value is not None else max_loss
    return dict(v.to_dict(), scenario=scenario, tracer=tracer,
                loss_allowed=loss_allowed(v, allowed))


def _offline(args) -> int:
    if not (args.expected and args.observed):
        raise UsageError("offline judging needs both --expected and --observed")
    try:
        with open(args.expected, "rb") as f:
            doc = json.loads(f.read())
        with open(args.observed, errors="replace") as f:
            text = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {e.filename}: {e.strerror}") from None
    except (ValueError, RecursionError) as e:
        raise UsageError(f"{args.expected} is not JSON: {str(e)[:100]}") from None
    if isinstance(doc, dict) and "expected" in doc and "schema" not in doc:
        doc = doc["expected"]  # a run's --json result carries the resolved document
    check_document(doc, args.expected)
    fmt = args.format or "jsonl"
    preset = "auditd" if fmt == "audit" else fmt  # (the one format named apart from its preset)
    if args.reports is not None:
        caps = capabilities.parse(args.reports)
    elif preset in PRESETS and fmt != "jsonl":
        caps = PRESETS[preset]().caps  # the stream of a preset: its claims
    else:
        caps = Capabilities()
    scope = PRESETS[preset]().scope if preset in PRESETS else None
    seen = read_stream(fmt, text, doc["pid"], args.observed)
    seen.lost += parse_count(args.lost, "lost events", minimum=0)
    v = verdict(doc, seen.events, seen.lost, caps=caps, unparsed=seen.unparsed, scope=scope)
    if args.mutate and v.status in ("exact", "limited"):
        v.mutations = mutate.run(doc, seen.events, caps, lambda damaged: verdict(
            doc, damaged, seen.lost, caps=caps, scope=scope))
    name = os.path.basename(args.observed)
    rows = [_row(v, doc["scenario"], name, caps, 0.0, args)]
    return _report(rows, [name], args)


def _failed(r: dict) -> bool:
    return (r["status"] == "wrong" or r["status"] == "lost" and not r["loss_allowed"]
            or bool(r.get("unmet")) or "missed" in (r.get("mutations") or {}).values())


def _report(rows: list[dict], tracers: list[str], args) -> int:
    if args.json:
        print(json.dumps(rows))
    else:
        sys.stdout.write(_table(rows, tracers, args.markdown))
        if not args.markdown:
            for r in rows:
                where = f"  {r['scenario']} / {r['tracer']}"
                for d in ([] if r["status"] == "limited" else r["differences"][:20]):
                    print(f"{where}: {d}")
                if len(r["differences"]) > 20:
                    print(f"{where}: ... {len(r['differences']) - 20} more (--json lists them all)")
                if r["status"] in ("unsupported", "limited", "not-in-scope"):
                    print(f"{where}: {r['status']}: {r['reason']}")
                if r["status"] == "lost" and r["missing_by_task"]:
                    print(f"{where}: lost per task: " + ", ".join(
                        f"{who}: {n}" for who, n in r["missing_by_task"].items()))
                if r.get("set_aside"):
                    print(f"{where}: set aside {r['set_aside']} events the tracer saw outside "
                          f"the run (the command's start-up, its own calls, the scenario "
                          f"process before its release)")
                if r.get("mutations"):
                    print(f"{where}: mutations: " + "; ".join(
                        f"{m} {how}" for m, how in r["mutations"].items()))
    statuses = {r["status"] for r in rows}
    if statuses <= {"unsupported", "not-in-scope"}:
        return EXIT_UNSUPPORTED
    if any(_failed(r) for r in rows):
        return EXIT_FAILED
    return EXIT_OK
