"""`ioworkload check`: run scenarios under tracers and judge each tracer's view against the
ground truth (the resolved expect document, judge.py), or judge a stream someone else recorded.

Verdicts, per scenario and tracer:
  exact        every declared event seen with its count, return and (where the tracer reports
               them) arguments; nothing undeclared on the process's tasks
  lost         only missing events, no more than the tracer itself says it dropped
  wrong        a count, return or argument differs, or an undeclared event appeared
  limited      only events the tracer cannot see by design are missing (a preset's documented
               blind spots, e.g. perf trace -p and threads created after it attached)
  unsupported  the scenario or the tracer cannot run here (with the reason)

A tracer is a preset (strace, perf-trace, bpftrace) or a command template with `{pid}` and
optionally `{out}` (a file it writes; else its stdout is read) and `{tids}`, read in one of the
FORMATS: `jsonl` (the tracer-neutral form, README), `strace`, `perf-trace`.
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

from ioworkload.core import expect, registry
from ioworkload.judge import matching as judge
from ioworkload.core.args import Parser, parse_count, parse_threads, timeout_scale
from ioworkload.core.errors import EXIT_FAILED, EXIT_OK, EXIT_UNSUPPORTED, Unsupported, UsageError
from ioworkload.core.manifest import NO_EXIT_TRACEPOINT, split_args

# Seconds on the host; times timeout_scale() where everything is slower (a guest under software
# emulation: `ioworkload kernels`, IOWORKLOAD_TIMEOUT_SCALE).
READY_TIMEOUT = 30.0
DRAIN_TIMEOUT = 30.0
SETTLE = 1.5

# One JSON object a line: the process's every syscall return (and the entry of calls that never
# return), arguments from the entry. Children of the process count too (their parent is in it).
# A return is reported under the number entered: rt_sigreturn's sys_exit has id -1 (the
# registers it restores are no syscall's).
BPFTRACE_PROGRAM = r"""
BEGIN { printf("ready\n"); }
tracepoint:raw_syscalls:sys_enter /pid == PID || curtask->real_parent->tgid == PID/ {
  @in[tid] = 1; @nr[tid] = args->id;
  @a0[tid] = args->args[0]; @a1[tid] = args->args[1]; @a2[tid] = args->args[2];
  @a3[tid] = args->args[3]; @a4[tid] = args->args[4]; @a5[tid] = args->args[5];
  if (args->id == EXIT || args->id == EXIT_GROUP) {
    printf("{\"tid\": %d, \"nr\": %d, \"ret\": null, \"args\": [%ld, %ld, %ld, %ld, %ld, %ld], \"at\": %lu}\n",
           tid, args->id, args->args[0], args->args[1], args->args[2], args->args[3],
           args->args[4], args->args[5], nsecs);
  }
}
tracepoint:raw_syscalls:sys_exit /pid == PID || curtask->real_parent->tgid == PID/ {
  if (@in[tid]) {
    printf("{\"tid\": %d, \"nr\": %d, \"ret\": %ld, \"args\": [%ld, %ld, %ld, %ld, %ld, %ld], \"at\": %lu}\n",
           tid, @nr[tid], args->ret, @a0[tid], @a1[tid], @a2[tid], @a3[tid], @a4[tid], @a5[tid], nsecs);
  } else {
    printf("{\"tid\": %d, \"nr\": %d, \"ret\": %ld, \"at\": %lu}\n", tid, args->id, args->ret, nsecs);
  }
  delete(@in[tid]); delete(@nr[tid]);
}
END { clear(@in); clear(@nr); clear(@a0); clear(@a1); clear(@a2); clear(@a3); clear(@a4); clear(@a5); }
"""


class Tracer:
    """How to start one tracer on a process and read what it saw."""

    def __init__(self, name: str, template: str, fmt: str, ready: str = "settle",
                 sees_exit_only: bool = True, program: str | None = None,
                 blind_spots: tuple = ()):
        if "{pid}" not in template and "{tids}" not in template and program is None:
            raise UsageError(f"tracer {name}: the command template needs {{pid}} or {{tids}}: "
                             f"{template!r}")
        if fmt not in FORMATS:
            raise UsageError(f"tracer {name}: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
        self.name, self.template, self.format = name, template, fmt
        self.ready = ready  # "ptrace" (every worker shows a tracer), "line" (prints ready), "settle"
        self.sees_exit_only = sees_exit_only
        self.program = program
        # What the tracer cannot see by design, as (pattern of a difference, why): a run whose
        # every difference is one of these is "limited", not "wrong".
        self.blind_spots = blind_spots

    def program_path(self, pid: int, tmp: str) -> str | None:
        if self.program is None:
            return None
        text = (self.program.replace("EXIT_GROUP", str(expect.syscall_number("exit_group")))
                .replace("EXIT", str(expect.syscall_number("exit"))).replace("PID", str(pid)))
        path = os.path.join(tmp, "program.bt")
        with open(path, "w") as f:
            f.write(text)
        return path

    def unavailable(self) -> str | None:
        prog = shlex.split(self.template)[0]
        if shutil.which(prog) is None:
            return f"{prog} is not installed"
        return None


# Measured with perf 6.1 here: it does not follow threads created after `-p` attached, and shows
# no call its syscall table cannot name (newer than the table, or unassigned).
PERF_TRACE_BLIND_SPOTS = (
    (re.compile(r"^missing: .* on a (helper|child) of worker \d+: "),
     "perf trace -p follows only the threads that exist when it attaches"),
    (re.compile(r"^missing: \w+ #\d+ (syscall_\d+|cachestat|fchmodat2|getxattrat|setxattrat|"
                r"listxattrat|removexattrat) .*: (\d+) of \2 not seen$"),
     "perf trace shows no call its syscall table cannot name (newer calls, unassigned numbers)"),
)

PRESETS = {
    "strace": lambda: Tracer("strace", "strace -f -X raw -s 4096 -qq -o {out} -p {pid}", "strace",
                             ready="ptrace", sees_exit_only=False),
    "perf-trace": lambda: Tracer("perf-trace", "perf trace --comm -o {out} -p {pid}",
                                 "perf-trace", ready="settle", blind_spots=PERF_TRACE_BLIND_SPOTS),
    "bpftrace": lambda: Tracer("bpftrace", "bpftrace {program}", "jsonl", ready="line",
                               program=BPFTRACE_PROGRAM),
}


def tracer_from_spec(spec: str, fmt: str | None = None, ready: str | None = None) -> Tracer:
    """A preset name, or `NAME=TEMPLATE` / a bare template (format `jsonl` unless given)."""
    if spec in PRESETS:
        return PRESETS[spec]()
    name, eq, template = spec.partition("=")
    if not eq or " " in name or "{" in name:
        name, template = "custom", spec
    if not template.strip():
        raise UsageError(f"tracer {spec!r}: empty command template")
    return Tracer(name, template, fmt or "jsonl", ready or "settle")


# ---- reading observed streams ----

def parse_jsonl(text: str, source: str = "observed") -> tuple[list[dict], int]:
    """Observed events in the tracer-neutral form; (events, events the tracer says it lost).
    Lines that are not JSON objects are an error, except a tracer's own notes (`ready`,
    `Attaching ...`, `Lost N events`)."""
    events, lost = [], 0
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        m = re.match(r"^Lost (\d+) events", s)
        if m:
            lost += int(m[1])
            continue
        if not s.startswith("{"):
            if s == "ready" or s.startswith("Attaching"):
                continue
            raise UsageError(f"{source} line {n} is not a JSON object: {s[:60]!r}")
        try:
            ev = json.loads(s)
        except ValueError as e:
            raise UsageError(f"{source} line {n} is not valid JSON: {e}") from None
        if isinstance(ev, dict) and "opcode" in ev:  # an io_uring request (matching.compare_operations)
            if not isinstance(ev.get("tid"), int) or not isinstance(ev.get("res"), int):
                raise UsageError(f"{source} line {n}: an io_uring request needs tid, opcode and "
                                 f"res: {s[:60]!r}")
            events.append(ev)
            continue
        if not isinstance(ev, dict) or not isinstance(ev.get("tid"), int) or (
                "syscall" not in ev and not isinstance(ev.get("nr"), int)) or "ret" not in ev:
            raise UsageError(f"{source} line {n} needs tid, syscall or nr, and ret: {s[:60]!r}")
        events.append(ev)
    events.sort(key=lambda ev: ev.get("at", 0))  # per-CPU buffers need not deliver in order
    return events, lost


_PERF_LINE = re.compile(r"^\s*(?:[\d.?]+)\s+\(\s*[\d.]*\s*(?:ms)?\s*\):\s+(?:(?P<comm>\S+?)/(?P<tid>\d+)\s+)?"
                        r"(?:\.\.\. \[continued\]: )?(?P<name>\w+)\((?P<args>.*?)\)\)?\s*"
                        r"(?:\.\.\.|=\s*(?P<ret>\?|0x[0-9a-f]+|-?\d+)?(?:\s+(?P<err>E\w+))?.*)?$")


# perf trace 6.1 prints an errno it cannot name as "-1 (unknown) (INTERNAL ERROR:
# strerror_r(512, [buf], 128)=22)"; libc's own text is "Unknown error 512"
_UNKNOWN_ERROR = re.compile(r"strerror_r\((\d+),|Unknown error (\d+)")


def parse_perf_trace(text: str, pid: int) -> tuple[list[dict], int]:
    """Observed events from `perf trace --comm -o FILE` output; (events, LOST count)."""
    from ioworkload.core.errors import KERNEL_ONLY, errno_value
    events, lost = [], 0
    pending: dict = {}  # tid -> (name, args) of a call printed before its return (`) ...`)
    for line in text.splitlines():
        m = re.search(r"LOST (\d+) events", line)
        if m:
            lost += int(m[1])
            continue
        m = _PERF_LINE.match(line)
        if not m:
            continue
        tid = int(m["tid"]) if m["tid"] else pid
        args = {}
        raw = m["args"]
        if raw.count("(") > raw.count(")"):  # `pid: 123 (comm))`: the pattern took its `)`
            raw += ")"
        raw = re.sub(r"\b(-?\d+) \([^()]*\)", r"\1", raw)  # perf names a pid's task: `123 (comm)`
        for part in split_args(raw):
            k, colon, v = part.partition(": ")
            if colon:  # an fd may carry what it is: `3<socket:[1542216]>`, `3</tmp/x>`
                args[k.strip()] = re.sub(r"^(-?\d+)<.*>$", r"\1", v.strip())
        left = pending.get(tid)
        if left and left[0] in NO_EXIT_TRACEPOINT and "[continued]" not in line:
            # rt_sigreturn: printed as an entry whose return never comes (no sys_exit of its own)
            events.append({"tid": tid, "syscall": left[0], "ret": "unknown", "args": left[1]})
            del pending[tid]
        if line.rstrip().endswith("...") and "[continued]" not in line:
            if tid in pending:  # a call printed at entry that never went on (rt_sigreturn)
                events.append(_unreturned(tid, *pending.pop(tid)))
            pending[tid] = (m["name"], args)  # another event came between entry and return
            continue
        if "[continued]" in line and pending.get(tid, ("",))[0] == m["name"]:
            args = pending.pop(tid)[1]
        ret = m["ret"]
        if ret is None and "=" in line.rsplit(")", 1)[-1]:
            value = "unknown"  # "= " and nothing: perf trace prints no value for some calls
        elif ret is None or ret == "?":
            value = None
        elif m["err"] in KERNEL_ONLY:  # a restart (-ERESTARTSYS ...), which perf trace names
            value = -KERNEL_ONLY[m["err"]]
        elif m["err"]:
            value = -errno_value(m["err"])
        else:
            value = int(ret, 0)
            unknown = _UNKNOWN_ERROR.search(line) if value == -1 else None
            if unknown:  # an errno libc cannot name (a restart: 512 and up)
                value = -int(unknown[1] or unknown[2])
        events.append({"tid": tid, "syscall": m["name"], "ret": value, "args": args})
    events += [_unreturned(tid, name, args) for tid, (name, args) in pending.items()]
    return events, lost


def _unreturned(tid: int, name: str, args: dict) -> dict:
    """A call perf trace printed at its entry and never continued: exit and exit_group do not
    return; rt_sigreturn does (the register it restores), but perf trace cannot show it."""
    return {"tid": tid, "syscall": name,
            "ret": "unknown" if name in NO_EXIT_TRACEPOINT else None, "args": args}


FORMATS = ("jsonl", "strace", "perf-trace")


def read_observed(fmt: str, text: str, pid: int, source: str = "observed") -> tuple[list[dict], int]:
    if fmt == "strace":
        return judge.parse_strace(text), 0
    if fmt == "perf-trace":
        return parse_perf_trace(text, pid)
    return parse_jsonl(text, source)


# ---- verdicts ----

class Verdict:
    """The judgement of one observed stream: status, every difference, and the counts."""

    def __init__(self, status: str, differences: list[str], expected: int = 0, observed: int = 0,
                 lost: int = 0, reason: str | None = None):
        self.status, self.differences = status, differences
        self.expected, self.observed, self.lost, self.reason = expected, observed, lost, reason

    def to_dict(self) -> dict:
        return {"status": self.status, "differences": self.differences, "expected": self.expected,
                "observed": self.observed, "lost": self.lost, "reason": self.reason}

    def __repr__(self) -> str:
        return f"Verdict({self.status!r}, {len(self.differences)} differences)"


_MISSING = re.compile(r"^missing: .*: (\d+) of \d+ not seen$")


def verdict(expected: dict, observed: list[dict], lost: int = 0, sees_exit_only: bool = True,
            check_args: bool = True, blind_spots: tuple = ()) -> Verdict:
    """Judge one observed stream (matching.compare), separating events a tracer said it dropped
    and the differences its documented blind spots explain."""
    diffs = judge.compare(expected, observed, check_args=check_args, sees_exit_only=sees_exit_only)
    n_expected = sum(judge.count_bounds(e["count"] or 0)[0] for e in expected["events"])
    n_observed = sum(ev.get("count", 1) for ev in observed)
    if not diffs:
        return Verdict("exact", [], n_expected, n_observed, lost)
    missing = [int(m[1]) for d in diffs if (m := _MISSING.match(d))]
    if lost and len(missing) == len(diffs) and sum(missing) <= lost:
        return Verdict("lost", diffs, n_expected, n_observed, lost)
    explained = [next((why for pattern, why in blind_spots if pattern.match(d)), None)
                 for d in diffs]
    if blind_spots and all(explained):
        return Verdict("limited", diffs, n_expected, n_observed, lost,
                       reason="; ".join(dict.fromkeys(explained)))
    return Verdict("wrong", diffs, n_expected, n_observed, lost)


def check(expected: dict, observed, lost: int = 0, sees_exit_only: bool = True) -> Verdict:
    """Python API: judge observed events (a list of dicts, or JSON lines text) against an
    expect document (a dict, or its JSON text)."""
    if isinstance(expected, str):
        expected = json.loads(expected)
    if isinstance(observed, str):
        observed, reported = parse_jsonl(observed)
        lost = lost or reported
    return verdict(expected, observed, lost, sees_exit_only)


# ---- running a scenario under a tracer ----

def run_one(scenario: str, tracer: Tracer, iterations: int = 3, threads: int = 1) -> Verdict:
    """Spawn the scenario held at its start, attach the tracer by PID, run, judge."""
    from ioworkload.core.workload import spawn
    why = tracer.unavailable()
    if why:
        return Verdict("unsupported", [], reason=why)
    why = registry.get(scenario).unsupported_reason()
    if why:
        return Verdict("unsupported", [], reason=why)
    from ioworkload.core.runner import make_temp_dir
    tmp = make_temp_dir("ioworkload-check-")
    proc = None
    lines: list[str] = []
    try:
        with spawn(scenario, iterations=iterations, threads=threads) as w:
            out = os.path.join(tmp, "observed")
            argv = [_fill(word, pid=w.pid, tids=",".join(map(str, w.tids)), out=out,
                          program=tracer.program_path(w.pid, tmp) or "")
                    for word in shlex.split(tracer.template)]
            before = {t: sleeps(w.pid, t) for t in w.tids}
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
            reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
            reader.start()
            _wait_ready(tracer, proc, w, lines, before)
            w.start()
            result = w.wait(600)
            w.release()
        text = _drain_and_stop(tracer, proc, lines, out, w.pid)
        reader.join(5)
        observed, lost = read_observed(tracer.format, text, w.pid, f"{tracer.name}'s output")
        v = verdict(result.expected, observed, lost, tracer.sees_exit_only,
                    blind_spots=tracer.blind_spots)
        if not result.ok:
            v.status, v.differences = "wrong", ["the workload itself: " + m
                                                 for m in result.mismatches] + v.differences
        return v
    except Unsupported as e:
        return Verdict("unsupported", [], reason=str(e))
    except UsageError:
        raise
    except Exception as e:  # a tracer that fails is that tracer's verdict, not the whole run's
        return Verdict("wrong", [f"{tracer.name}: {e}"], reason=str(e))
    finally:
        if proc is not None and proc.poll() is None:
            _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _fill(word: str, **values) -> str:
    """The template's placeholders filled in; other braces (a bpftrace program) stay as they are."""
    for key, value in values.items():
        word = word.replace("{" + key + "}", str(value))
    return word


def _wait_ready(tracer: Tracer, proc, w, lines, sleeps_before: dict | None = None) -> None:
    scale = timeout_scale()
    deadline = time.monotonic() + READY_TIMEOUT * scale
    settle_until = time.monotonic() + SETTLE * scale
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().strip().splitlines()
            raise RuntimeError(f"exited with status {proc.returncode} before it was ready"
                               + (f": {err[-1]}" if err else ""))
        if tracer.ready == "ptrace":
            before = sleeps_before or {}
            if all(ptrace_attached(w.pid, t, before.get(t, 0)) for t in w.tids):
                return
        elif tracer.ready == "line":
            if any(line.strip() == "ready" for line in lines):
                return
        elif time.monotonic() >= settle_until:
            return
        time.sleep(0.02)
    raise RuntimeError(f"not ready after {READY_TIMEOUT * scale:g} s")


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
        try:
            observed, _ = read_observed(tracer.format, t, pid)
        except UsageError:
            return False
        return any(ev.get("tid") == pid and judge.name_of(ev) == "exit_group" for ev in observed)

    deadline = time.monotonic() + DRAIN_TIMEOUT * timeout_scale()
    seen = -1
    while time.monotonic() < deadline and proc.poll() is None:
        t = text()
        if len(t) == seen and ended(t):
            break
        seen = len(t)
        time.sleep(0.5)
    _stop(proc)
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
    for stream in (proc.stdout, proc.stderr):
        if stream:
            try:
                stream.close()
            except OSError:
                pass


# ---- the command ----

def _table(rows: list[dict], tracers: list[str], markdown: bool) -> str:
    names = list(dict.fromkeys(r["scenario"] for r in rows))
    cell = {(r["scenario"], r["tracer"]): r for r in rows}

    def text(r):
        if r["status"] == "exact":
            return "exact"
        if r["status"] == "lost":
            return f"lost ({r['lost']} dropped)"
        if r["status"] in ("unsupported", "limited"):
            return r["status"]
        return f"WRONG ({len(r['differences'])})"

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


def main(argv: list[str]) -> int:
    p = Parser(prog="ioworkload check",
                description="Judge tracers against the ground truth, scenario by scenario.")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO")
    p.add_argument("--family", action="append", default=[], help="every scenario of a family")
    p.add_argument("--all", action="store_true", help="the whole catalog")
    p.add_argument("--tracer", action="append", default=[], metavar="T",
                   help=f"a preset ({', '.join(PRESETS)}) or NAME=TEMPLATE with {{pid}} "
                        f"[{{out}}] (repeatable; default strace)")
    p.add_argument("--format", choices=FORMATS, help="what a template tracer prints (default jsonl)")
    p.add_argument("--ready", choices=("settle", "line", "ptrace"),
                   help=f"when a template tracer is attached: after {SETTLE:g} s, when it prints "
                        "`ready`, or when it ptrace-attached every worker")
    p.add_argument("--iterations", "-n", default="3", metavar="N")
    p.add_argument("--threads", "-t", default="1", metavar="T")
    p.add_argument("--expected", metavar="EXPECT.json", help="offline: an expect file (or a result)")
    p.add_argument("--observed", metavar="OBSERVED", help="offline: what a tracer saw")
    p.add_argument("--lost", default="0", metavar="N", help="offline: events the tracer dropped")
    p.add_argument("--strict-loss", action="store_true", help="lost events make the run fail")
    p.add_argument("--json", action="store_true", help="every difference, as JSON")
    p.add_argument("--markdown", action="store_true", help="the table as Markdown")
    args = p.parse_args(argv)

    if args.expected or args.observed:
        return _offline(args)
    tracers = [tracer_from_spec(t, args.format, args.ready) for t in (args.tracer or ["strace"])]
    if len({t.name for t in tracers}) != len(tracers):
        raise UsageError("each --tracer needs its own name (NAME=TEMPLATE)")
    if not (args.scenarios or args.family or args.all):
        raise UsageError("name scenarios, --family F or --all (or --expected/--observed)")
    names = registry.select(args.scenarios, args.family, args.all)
    iterations = parse_count(args.iterations)
    threads = parse_threads(args.threads)
    rows = []
    total = len(names) * len(tracers)
    for i, name in enumerate(names):
        for t in tracers:
            if sys.stderr.isatty() or total > 1:
                print(f"[{len(rows) + 1}/{total}] {name} under {t.name}", file=sys.stderr,
                      flush=True)
            v = run_one(name, t, iterations, threads)
            rows.append(dict(v.to_dict(), scenario=name, tracer=t.name))
    return _report(rows, [t.name for t in tracers], args)


def _offline(args) -> int:
    if not (args.expected and args.observed):
        raise UsageError("offline judging needs both --expected and --observed")
    try:
        with open(args.expected) as f:
            doc = json.load(f)
        with open(args.observed, errors="replace") as f:
            text = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {e.filename}: {e.strerror}") from None
    except ValueError as e:
        raise UsageError(f"{args.expected} is not JSON: {e}") from None
    if isinstance(doc, dict) and "expected" in doc and "schema" not in doc:
        doc = doc["expected"]  # a run's --json result carries the resolved document
    if not isinstance(doc, dict) or doc.get("schema") != expect.SCHEMA:
        raise UsageError(f"{args.expected} is not an expect file ({expect.SCHEMA})")
    fmt = args.format or "jsonl"
    observed, lost = read_observed(fmt, text, doc["pid"], args.observed)
    lost += parse_count(args.lost, "lost events", minimum=0)
    v = verdict(doc, observed, lost, sees_exit_only=fmt != "strace")
    rows = [dict(v.to_dict(), scenario=doc["scenario"], tracer=os.path.basename(args.observed))]
    return _report(rows, [rows[0]["tracer"]], args)


def _report(rows: list[dict], tracers: list[str], args) -> int:
    if args.json:
        print(json.dumps(rows))
    else:
        sys.stdout.write(_table(rows, tracers, args.markdown))
        if not args.markdown:
            for r in rows:
                for d in ([] if r["status"] == "limited" else r["differences"][:20]):
                    print(f"  {r['scenario']} / {r['tracer']}: {d}")
                if len(r["differences"]) > 20:
                    print(f"  {r['scenario']} / {r['tracer']}: ... "
                          f"{len(r['differences']) - 20} more (--json lists them all)")
                if r["status"] in ("unsupported", "limited"):
                    print(f"  {r['scenario']} / {r['tracer']}: {r['status']}: {r['reason']}")
    statuses = {r["status"] for r in rows}
    if statuses <= {"unsupported"}:
        return EXIT_UNSUPPORTED
    if "wrong" in statuses or (args.strict_loss and "lost" in statuses):
        return EXIT_FAILED
    return EXIT_OK
