"""Where the null-syscall time goes (issue 27): benchmarks/ref_loop.c's inline-asm getppid loop
against ioworkload's getppid, and variants that each change one thing between them, run in
interleaved rounds, pinned to one CPU, reported as a distribution against the plain loop of the
same round. As root or not, from the repository's root, in the venv with '.[test]' installed:

    python tools/nullsys.py                    (a minute on a quiet 2-vCPU machine)
    python tools/nullsys.py --rounds 31 --calls 2e6 --json out.json
    python tools/nullsys.py --publish          docs/performance.md's block and its JSON

The variants (tools/nullsys_loop.c says what each C one changes):
  c_plain          the reference: the C loop, a process exec'd by this one
  c_gettid, c_enosys  the same loop on gettid and on syscall 1023 (what getppid adds)
  c_tallied        ioworkload's per-call work (tally, stop flag) in the C loop
  c_aligned, c_straddling  the loop's code on a 64-byte line, and its syscall across two
  c_ymm            the upper ymm state dirty (no vzeroupper)
  c_aslr_off       the plain loop under `setarch -R`
  c_forked         the loop in a child of a small C parent blocked in waitpid (not Python)
  c_parent_spins   the same, the parent spinning on the other CPU (its task and signal lines,
                   which getppid reads, stay hot there)
  c_other_spins    the same, an unrelated process spinning on the other CPU instead
  iow_process      ioworkload's getppid in a scenario process (the command's way, spawn())
  iow_thread       ioworkload's getppid on a worker thread of this process (ioworkload.run())
  iow_reference    the reference loop itself (no tally, no stop flag) inside a scenario process
Each round runs every variant once, starting one further along the list each round, so drift
and order hit all alike; each ratio is the variant's statistic over c_plain's. Every run is timed
twice: wall time (what the benchmarks report) and the loop thread's CPU time (without the time
the guest's scheduler gave other tasks on that CPU, which on a shared machine dominates the wall
time; time the host took from the vCPU stays in both). iow_thread has wall time only (its
thread is gone when the run returns).

Once kernel audit has been enabled since boot (auditd, the `auditd` preset), every task created
afterwards takes audit's syscall slow path, rules or not, until reboot; a `task,never` audit rule
keeps new tasks off it. `--audit-never` (root, auditctl) adds that rule for the measurement and
deletes it on every way out, so a host that ran audit since boot still measures a clean null
syscall; the report says whether the rule was in place."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import published  # noqa: E402

C_SOURCE = os.path.join(published.ROOT, "tools", "nullsys_loop.c")
C_VARIANTS = ["plain", "gettid", "enosys", "tallied", "aligned", "straddling", "ymm", "aslr_off",
              "forked", "parent_spins", "other_spins"]
IOW_VARIANTS = ["process", "thread", "reference"]


def _build(workdir: str) -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("unsupported: no C compiler (cc) for tools/nullsys_loop.c")
    exe = os.path.join(workdir, "nullsys_loop")
    # cc's own temporary files (cc1's .s) go into workdir, removed on every way out; and cc
    # runs in a session of its own, so a stop mid-build (SIGTERM) ends cc1 and as with the
    # driver: a driver killed alone leaves its .s files in $TMPDIR
    proc = subprocess.Popen([cc, "-O2", "-I", os.path.join(published.ROOT, "src", "ioworkload",
                                                           "core"), "-o", exe, C_SOURCE],
                            env=dict(os.environ, TMPDIR=workdir), start_new_session=True)
    try:
        status = proc.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if status != 0:
        raise SystemExit(f"nullsys: {cc} failed on {C_SOURCE} (exit {status})")
    return exe


def _c_runner(exe: str, cpu: int, other_cpu: int | None):
    def run(variant: str, calls: int) -> tuple[float, float]:
        argv = [exe, variant, str(calls), str(other_cpu)]
        if variant == "aslr_off":
            argv = ["setarch", os.uname().machine, "-R", exe, "plain", str(calls)]
        out = subprocess.run(argv, check=True, capture_output=True, text=True,
                             preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
        wall, cpu_ns = out.stdout.split()
        return float(wall), float(cpu_ns)
    return run


def _cpu_ns(pid: int, tid: int) -> int:
    """The task's time on a CPU so far (schedstat's first field)."""
    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
        return int(f.read().split()[0])


def _iow_runner(cpu: int):
    from ioworkload.core import registry, runner
    from ioworkload.core.manifest import Scenario
    from ioworkload.families import baseline
    getppid = registry.get("getppid")
    fields = {f: getattr(getppid, f) for f in Scenario.FIELDS}
    reference = Scenario(**dict(fields, kernel=baseline.REFERENCE_GETPPID))

    def run(variant: str, calls: int) -> tuple[float, float | None]:
        own_process = variant != "thread"
        task: dict = {}

        def released(watch, tids, expected):
            task["pid"] = expected["pid"] if own_process else os.getpid()
            task["tid"] = tids[0]
            task["cpu"] = _cpu_ns(task["pid"], task["tid"])

        def held(result):  # the scenario process waits for us, its worker's clock still there
            task["cpu"] = _cpu_ns(task["pid"], task["tid"]) - task["cpu"]

        old = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {cpu})  # this thread: the workers and a forked process inherit it
        try:
            sc = reference if variant == "reference" else getppid
            res = runner.execute(sc, calls, own_process=own_process,
                                 hooks=runner.Hooks(released, held if own_process else None))
        finally:
            os.sched_setaffinity(0, old)
        if not res.ok or res.iterations_done != [calls]:
            sys.exit(f"nullsys: iow_{variant}: the run was not the one asked for: {res.mismatches}")
        return res.ns_per_syscall, (task["cpu"] / calls if own_process else None)
    return run


def _beside() -> list[str]:
    """The busiest other processes now (what ran beside the loops)."""
    out = subprocess.run(["ps", "-eo", "pcpu=,comm=", "--sort=-pcpu"], capture_output=True,
                         text=True).stdout.splitlines()
    return [" ".join(line.split()) for line in out[:5]]


@contextlib.contextmanager
def audit_never(wanted: bool):
    """An `auditctl -a task,never` rule while the block runs (tasks created in it get no audit
    context: the kernel's audit_alloc asks the task filter list), deleted on every way out,
    SIGTERM included; yields what the report says about audit."""
    if not wanted:
        yield "audit rules not changed (--audit-never not given)"
        return
    auditctl = shutil.which("auditctl")
    if auditctl is None or os.geteuid() != 0:
        raise SystemExit("nullsys: --audit-never needs root and auditctl (Debian: auditd)")
    listed = subprocess.run([auditctl, "-l"], capture_output=True, text=True).stdout
    if "-a never,task" in listed.splitlines():  # the host's own rule: used, never deleted
        yield "the host's task,never audit rule in place (new tasks off audit's slow path)"
        return
    added = subprocess.run([auditctl, "-a", "task,never"], capture_output=True, text=True)
    if added.returncode != 0:
        raise SystemExit(f"nullsys: auditctl -a task,never: {added.stderr.strip()}")
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield "a task,never audit rule in place (new tasks off audit's slow path)"
    finally:
        subprocess.run([auditctl, "-d", "task,never"], capture_output=True)
        signal.signal(signal.SIGTERM, previous)


def measure(rounds: int, calls: int, cpu: int, variants: list[str]) -> dict:
    others = sorted(os.sched_getaffinity(0) - {cpu})
    other_cpu = others[0] if others else None
    if other_cpu is None:
        variants = [v for v in variants if not v.endswith("_spins")]
    with tempfile.TemporaryDirectory(prefix="ioworkload-nullsys-") as workdir:
        run_c = _c_runner(_build(workdir), cpu, other_cpu)
        run_iow = _iow_runner(cpu) if any(v.startswith("iow_") for v in variants) else None
        runs = {v: [] for v in variants}
        load_before = os.getloadavg()
        beside = _beside()
        for r in range(rounds):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for v in order:
                kind, _, name = v.partition("_")
                runs[v].append(run_c(name, calls) if kind == "c" else run_iow(name, calls))
            print(f"round {r + 1}/{rounds}", file=sys.stderr, flush=True)
    return {"rounds": rounds, "calls": calls, "cpu": cpu, "other_cpu": other_cpu,
            "load_before": load_before, "load_after": os.getloadavg(),
            "beside_before": beside, "beside_after": _beside(), "runs": runs}


def _stats(xs: list[float], base: list[float]) -> dict:
    return {"fastest": min(xs), "median": statistics.median(xs), "slowest": max(xs),
            "fastest_ratio": min(xs) / min(base),
            "median_ratio": statistics.median([x / b for x, b in zip(xs, base)]),
            "slowest_ratio": max(xs) / max(base)}


def summarize(data: dict) -> list[dict]:
    """Per variant, the wall and the CPU statistics against c_plain's."""
    base = data["runs"]["c_plain"]
    rows = []
    for v, runs in data["runs"].items():
        row = {"variant": v, "wall": _stats([w for w, _ in runs], [w for w, _ in base])}
        if all(c is not None for _, c in runs):
            row["cpu"] = _stats([c for _, c in runs], [c for _, c in base])
        rows.append(row)
    return rows


def table(data: dict, rows: list[dict]) -> str:
    one, five, fifteen = data["load_before"]
    after = data["load_after"]
    head = (f"{data['rounds']} interleaved rounds of {data['calls']:,} calls, pinned to CPU "
            f"{data['cpu']} (spinners on CPU {data['other_cpu']}); load average {one:.2f} "
            f"{five:.2f} {fifteen:.2f} before, {after[0]:.2f} {after[1]:.2f} {after[2]:.2f} after; "
            f"{data.get('audit', 'audit rules not recorded')}")
    out = [head, "", "ns per call (wall, then the loop thread's CPU time): fastest, median, "
           "slowest; ratios to c_plain: fastest over fastest, median of the paired ratios, "
           "slowest over slowest", "",
           "| variant | wall ns | wall ratios | CPU ns | CPU ratios |", "|---|---:|---:|---:|---:|"]

    def cells(s: dict | None) -> str:
        if s is None:
            return "- | -"
        return (f"{s['fastest']:.1f} / {s['median']:.1f} / {s['slowest']:.1f} | "
                f"{s['fastest_ratio']:.3f} / {s['median_ratio']:.3f} / {s['slowest_ratio']:.3f}")
    out += [f"| `{r['variant']}` | {cells(r['wall'])} | {cells(r.get('cpu'))} |" for r in rows]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    ap.add_argument("--calls", default="1e6", help="calls a run (default 1e6)")
    ap.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)),
                    help="the CPU every loop is pinned to (default: the last allowed)")
    ap.add_argument("--variants", default=",".join(["c_" + v for v in C_VARIANTS] +
                                                   ["iow_" + v for v in IOW_VARIANTS]),
                    help="comma list (default: all; c_plain is always run)")
    ap.add_argument("--audit-never", action="store_true",
                    help="add the audit rule task,never for the measurement (root): keeps the "
                         "loops off audit's slow path on a host that enabled audit since boot")
    ap.add_argument("--json", metavar="FILE", help="write every run and the summary here")
    ap.add_argument("--publish", action="store_true",
                    help="write docs/results/nullsys.json and docs/performance.md's block")
    args = ap.parse_args()
    from ioworkload.core.args import parse_count
    from ioworkload.core.errors import UsageError
    try:
        calls = parse_count(args.calls, "--calls")
    except UsageError as e:
        print(f"nullsys: {e}", file=sys.stderr)
        return 2
    known = ["c_" + v for v in C_VARIANTS] + ["iow_" + v for v in IOW_VARIANTS]
    variants = ["c_plain"] + [v for v in args.variants.split(",") if v and v != "c_plain"]
    unknown = [v for v in variants if v not in known]
    if unknown or args.rounds < 1 or args.cpu not in os.sched_getaffinity(0):
        print(f"nullsys: unknown variant {unknown[0]!r} (known: {', '.join(known)})" if unknown
              else f"nullsys: --rounds must be >= 1 and --cpu one of "
                   f"{sorted(os.sched_getaffinity(0))}", file=sys.stderr)
        return 2
    with audit_never(args.audit_never) as audit:
        data = measure(args.rounds, calls, args.cpu, variants)
    data["audit"] = audit
    rows = summarize(data)
    text = table(data, rows)
    print(text)
    record = {"provenance": published.provenance(), "measurement": data, "summary": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
    if args.publish:
        published.write_json("nullsys.json", record)
        published.publish("performance.md", "nullsys",
                          published.provenance_line(record["provenance"]) + "\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
