"""Presenting an `ioworkload overhead` study: its report dict (overhead.Study.report, the JSON
form) as the text table."""

from __future__ import annotations

import shlex
import signal
import textwrap

from ioworkload.overhead.study import STOP_GRACE

# ---- output --------------------------------------------------------------------------------

def _fmt_ns(v) -> str:
    return "-" if v is None else (f"{v:,.0f}" if v >= 1000 else f"{v:.1f}")


def _fmt_x(v) -> str:
    return "-" if v is None else (f"{v:,.0f}x" if v >= 100 else f"{v:.3g}x" if v >= 10 else f"{v:.2f}x")


def rounds(n: int) -> str:
    return f"{n} interleaved round{'s' if n != 1 else ''}"


def fit_table(head: list[str], body: list, left: int, columns: int | None = 80,
              keep: int = 1) -> list[str]:
    """A text table, its first `left` columns to the left. Where it is wider than `columns`,
    it is cut into panels one under the other, each repeating the first `keep` columns, so no
    line is wider (None: one table, whatever its width). A row of two cells (a name and a
    message) is written whole after the name in the first panel."""
    full = [r for r in body if len(r) >= len(head)]
    widths = [max([len(head[i])] + [len(r[i]) for r in full]) for i in range(len(head))]

    def line(cells, idx):
        return "  ".join(cells[i].ljust(widths[i]) if i < left else cells[i].rjust(widths[i])
                         for i in idx)

    rest = list(range(keep, len(head)))
    panels: list[list[int]] = []
    while rest:
        idx = list(range(keep))
        used = sum(widths[i] + 2 for i in idx)
        while rest and (columns is None or len(idx) == keep or used + widths[rest[0]] <= columns):
            used += widths[rest[0]] + 2
            idx.append(rest.pop(0))
        panels.append(idx)
    out: list[str] = []
    for n, idx in enumerate(panels or [list(range(len(head)))]):
        if n:
            out.append("")
        out.append(line(head, idx).rstrip())
        for r in body:
            if len(r) < len(head):  # (name, message): once, in the first panel
                if not n:
                    out += wrap(f"{r[0].ljust(widths[0])}  {r[1]}", columns,
                                " " * (widths[0] + 2))
                continue
            out.append(line(r, idx).rstrip())
            if len(r) > len(head) and not n:  # a trailing note on the row
                out += wrap(r[len(head)], columns, " " * (widths[0] + 2), first=" " * (widths[0] + 2))
    return out


def wrap(text: str, columns: int | None, indent: str = "  ", first: str = "") -> list[str]:
    """Prose as lines of at most `columns` (one line when None)."""
    if columns is None:
        return [first + text]
    return textwrap.wrap(text, width=columns, initial_indent=first, subsequent_indent=indent,
                         break_on_hyphens=False) or [first]


def format_table(rep: dict, columns: int | None = 80) -> str:
    amount = f"{rep['duration']:g} s" if rep["duration"] else f"{rep['iterations']:,} iterations"
    out = wrap(f"ioworkload overhead: {rep['scenario']} ({', '.join(rep['syscalls'])}), {amount} "
               f"x {rounds(rep['repeat'])}", columns)
    out += wrap(f"machine: {rep['machine']}", columns) + [""]
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
    out += fit_table(list(head), lines, 1, columns)
    notes = ["slowdown: median of traced/untraced ns per syscall over runs paired by round; "
             "accuracy: events the tracer reported / syscalls issued (from the workload's "
             "tallies); IWI/CAL/RES: irq-work, function-call and reschedule interrupts per 1000 "
             "syscalls."]
    scaled = [t for t in rep["tracers"] if t.get("scaled")]
    if scaled:
        notes.append("scaled: " + ", ".join(f"{t['name']} {t['iterations']:,}" for t in scaled)
                   + f" iterations a run instead of {rep['iterations']:,}, so that no traced run "
                   f"lasts much over {rep['traced_seconds']:g} s (slowdown and +ns are per "
                   "syscall, so they still pair with the untraced runs; --traced-seconds 0: "
                   "no scaling)")
    for t in rep["tracers"]:
        line = bpf_line(t)
        if line:
            notes.append(line)
    ebpf = [t["name"] for t in rep["tracers"] if t.get("may_use_bpf") and t["status"] == "ok"]
    if ebpf and not rep.get("bpf_cost"):
        notes.append(f"eBPF programs: {', '.join(ebpf)}: their own cost not measured (--bpf-cost "
                     f"does, in one extra run with kernel.bpf_stats_enabled on)")
    for t in rep["tracers"]:
        hard = [r["tracer_stopped_by"] for r in t["runs"] if r.get("tracer_stopped_by") in
                ("SIGTERM", "SIGKILL")]
        if hard:
            notes.append(f"note: {t['name']}: {len(hard)} of {len(t['runs'])} runs did not stop on "
                       f"SIGINT within {STOP_GRACE:g} s ({', '.join(sorted(set(hard)))} needed)")
        lost = sum((r.get("details") or {}).get("lost", 0) for r in t["runs"])
        if lost:
            notes.append(f"note: {t['name']}: the tracer itself reported {lost:,} lost events")
    for t in rep["tracers"]:
        failed = [r for r in t["runs"] if r.get("error") and r["error"] != "interrupted"]
        if t["status"] != "failed" or not failed:
            continue
        r = failed[-1]
        notes.append(f"failed: {t['name']}: {r['error']}")
        # commands and a tracer's own lines are quoted whole: cut, they could not be copied
        if r.get("command"):
            notes.append((f"  command: {shlex.join(r['command'])}",))
        tail = r.get("tracer_stderr_tail") or []
        if tail:
            notes.append("  its stderr, last lines:")
            notes += [(f"    {line}",) for line in tail]
    load = rep["environment"].get("loadavg")
    if load is not None and load > 0.75 * (rep["environment"].get("cpus_online") or 1):
        notes.append(f"note: load average {load:.2f} at the start: other processes shared these "
                   "CPUs, so the figures are noisier than on an idle machine")
    if rep["interrupted"]:
        notes.append(f"interrupted by {signal.Signals(rep['interrupted']).name}: partial result")
    out.append("")
    for note in notes:
        out += [note[0]] if isinstance(note, tuple) else wrap(note, columns)
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
