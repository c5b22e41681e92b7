"""Presenting an `ioworkload overhead` study: its report dict (overhead.Study.report, the JSON
form) as the text table."""

from __future__ import annotations

import shlex
import signal

from ioworkload.overhead.study import STOP_GRACE

# ---- output --------------------------------------------------------------------------------

def _fmt_ns(v) -> str:
    return "-" if v is None else (f"{v:,.0f}" if v >= 1000 else f"{v:.1f}")


def _fmt_x(v) -> str:
    return "-" if v is None else (f"{v:,.0f}x" if v >= 100 else f"{v:.3g}x" if v >= 10 else f"{v:.2f}x")


def format_table(rep: dict) -> str:
    amount = f"{rep['duration']:g} s" if rep["duration"] else f"{rep['iterations']:,} iterations"
    out = [f"ioworkload overhead: {rep['scenario']} ({', '.join(rep['syscalls'])}), {amount} x "
           f"{rep['repeat']} interleaved rounds",
           f"machine: {rep['machine']}", ""]
    head = ("tracer", "ns/syscall min", "median", "max", "slowdown", "(min-max)", "+ns/call",
            "accuracy", "IWI/1k", "CAL/1k", "RES/1k")
    lines = []
    for t in rep["tracers"]:
        name = t["name"] if len(t["name"]) <= 28 else t["name"][:25] + "..."
        if t["status"] == "unavailable" or (t["status"] == "failed" and not t["ns_per_syscall"]):
            lines.append((name, f"{t['status']}: {t['reason']}"))
            continue
        if not t["ns_per_syscall"]:
            last = t["runs"][-1]["error"] if t["runs"] else None
            lines.append((name, "not measured" + (f": {last}" if last else "")))
            continue
        ns, sl = t["ns_per_syscall"] or {}, t["slowdown"] or {}
        acc = t["accuracy"]
        rng = t["accuracy_range"]
        acc_s = "-" if acc is None else (f"{acc:.4f}" if not rng or rng["min"] == rng["max"]
                                         else f"{rng['min']:.4f}-{rng['max']:.4f}")
        irq = t["interrupts_per_1k_syscalls"]
        cells = (name, _fmt_ns(ns.get("min")), _fmt_ns(ns.get("median")), _fmt_ns(ns.get("max")),
                 _fmt_x(sl.get("median")),
                 f"({_fmt_x(sl['min'])}-{_fmt_x(sl['max'])})" if sl else "",
                 _fmt_ns(t["added_ns_per_syscall"]), acc_s,
                 *(f"{irq[k]:.2f}" if k in irq else "-" for k in ("IWI", "CAL", "RES")))
        if t["status"] == "failed":
            cells += (f"failed after {len(t['runs']) - 1} runs: {t['reason']}",)
        lines.append(cells)
    widths = [max([len(head[i])] + [len(c[i]) for c in lines if len(c) > 2]) for i in range(len(head))]
    fmt = lambda cells: "  ".join(  # noqa: E731
        c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells[:len(head)]))
    out.append(fmt(head))
    for c in lines:
        if len(c) == 2:
            out.append(f"{c[0].ljust(widths[0])}  {c[1]}")
        else:
            out.append(fmt(c) + (f"  {c[len(head)]}" if len(c) > len(head) else ""))
    out += ["", "slowdown: median of traced/untraced ns per syscall over runs paired by round; "
                "accuracy: events the tracer reported / syscalls issued (from the workload's tallies); "
                "IWI/CAL/RES: irq-work, function-call and reschedule interrupts per 1000 syscalls."]
    scaled = [t for t in rep["tracers"] if t.get("scaled")]
    if scaled:
        out.append("scaled: " + ", ".join(f"{t['name']} {t['iterations']:,}" for t in scaled)
                   + f" iterations a run instead of {rep['iterations']:,}, so that no traced run "
                   f"lasts much over {rep['traced_seconds']:g} s (slowdown and +ns are per "
                   "syscall, so they still pair with the untraced runs; --traced-seconds 0: "
                   "no scaling)")
    for t in rep["tracers"]:
        line = bpf_line(t)
        if line:
            out.append(line)
    for t in rep["tracers"]:
        hard = [r["tracer_stopped_by"] for r in t["runs"] if r.get("tracer_stopped_by") in
                ("SIGTERM", "SIGKILL")]
        if hard:
            out.append(f"note: {t['name']}: {len(hard)} of {len(t['runs'])} runs did not stop on "
                       f"SIGINT within {STOP_GRACE:g} s ({', '.join(sorted(set(hard)))} needed)")
        lost = sum((r.get("details") or {}).get("lost", 0) for r in t["runs"])
        if lost:
            out.append(f"note: {t['name']}: the tracer itself reported {lost:,} lost events")
    for t in rep["tracers"]:
        failed = [r for r in t["runs"] if r.get("error") and r["error"] != "interrupted"]
        if t["status"] != "failed" or not failed:
            continue
        r = failed[-1]
        out.append(f"failed: {t['name']}: {r['error']}")
        if r.get("command"):
            out.append(f"  command: {shlex.join(r['command'])}")
        tail = r.get("tracer_stderr_tail") or []
        if tail:
            out.append("  its stderr, last lines:")
            out += [f"    {line}" for line in tail]
    load = rep["environment"].get("loadavg")
    if load is not None and load > 0.75 * (rep["environment"].get("cpus_online") or 1):
        out.append(f"note: load average {load:.2f} at the start: other processes shared these "
                   "CPUs, so the figures are noisier than on an idle machine")
    if rep["interrupted"]:
        out.append(f"interrupted by {signal.Signals(rep['interrupted']).name}: partial result")
    return "\n".join(out) + "\n"


def bpf_line(t: dict) -> str | None:
    """What a tracer's eBPF programs cost, one line, next to its measured added ns per call."""
    b = t.get("bpf")
    if not b:
        return None
    if "unavailable" in b or "error" in b:
        return f"eBPF programs: {t['name']}: not measured: {b.get('unavailable') or b['error']}"
    progs = b["programs"]
    text = (f"eBPF programs: {t['name']}: {len(progs)} program{'s' if len(progs) != 1 else ''}, "
            f"{b['run_cnt']:,} runs")
    if b["ns_per_run"] is not None:
        text += f", {_fmt_ns(b['ns_per_run'])} ns a run"
    if b["ns_per_call"] is not None:
        text += (f"; per workload syscall {b['runs_per_call']:.2f} runs, "
                 f"{_fmt_ns(b['ns_per_call'])} ns in programs")
    if t.get("added_ns_per_syscall") is not None:
        text += f" (of +{_fmt_ns(t['added_ns_per_syscall'])} ns measured)"
    return text + " [kernel.bpf_stats_enabled, one extra run]"
