"""`ioworkload overhead --family F | --scenarios a,b,c | --all`: every tracer over many
scenarios, one study (overhead.study) per scenario, summed up as the per-syscall table: per
scenario's loop syscalls, the nanoseconds each tracer adds to a call and its slowdown. This
module runs the studies and builds the table's dict (the JSON form); text and markdown are
here too, the chart is overhead_chart.write_table_plot."""

from __future__ import annotations

import signal
import time

from ioworkload.core.errors import ScenarioFailed, Unsupported
from ioworkload.overhead.report import fit_table, rounds, wrap
from ioworkload.core.args import format_seconds
from ioworkload.overhead.study import study

SCHEMA = "ioworkload-overhead-table/1"


def loop_syscalls(sc) -> list[str]:
    """The syscalls one iteration of the worker issues, first-use order: the row's kind."""
    out: list[str] = []
    for ev in sc.iteration:
        if ev.role == "worker" and ev.syscall not in out:
            out.append(ev.syscall)
    return out


def run_table(scenarios, make_opts, tracers, progress=None, announce=None) -> dict:
    """One study per scenario (unsupported or failing scenarios are listed, not fatal); stops
    at the first interrupted study. The table's dict."""
    reports, skipped = [], []
    interrupted = None
    t0 = time.monotonic()
    for i, sc in enumerate(scenarios, 1):
        if i == 2 and announce and reports and len(scenarios) > 2:
            # the first study's length stands for each one's (scaled tracers keep them close)
            left = (time.monotonic() - t0) * (len(scenarios) - 1)
            announce(f"table: about {format_seconds(left)} more for the other "
                     f"{len(scenarios) - 1} scenarios")
        if announce:
            announce(f"[{i}/{len(scenarios)}] {sc.name}")
        reason = sc.unsupported_reason()
        if reason:
            skipped.append({"scenario": sc.name, "status": "unsupported", "reason": reason})
            continue
        try:
            rep = study(make_opts(sc), tracers, progress, announce)
        except KeyboardInterrupt:  # between two studies: the table so far
            interrupted = signal.SIGINT
            break
        except Unsupported as e:
            skipped.append({"scenario": sc.name, "status": "unsupported", "reason": str(e)})
            continue
        except ScenarioFailed as e:
            skipped.append({"scenario": sc.name, "status": "failed", "reason": str(e)})
            continue
        reports.append(rep)
        if rep["interrupted"]:
            interrupted = rep["interrupted"]
            break
    return table(reports, skipped, interrupted, [t.name for t in tracers])


def table(reports: list[dict], skipped: list[dict], interrupted: int | None,
          tracer_names: list[str]) -> dict:
    from ioworkload.core import registry
    rows = []
    for rep in reports:
        none = rep["tracers"][0]
        row = {"scenario": rep["scenario"], "family": rep["family"],
               "syscalls": loop_syscalls(registry.get(rep["scenario"])),
               "untraced_ns": (none["ns_per_syscall"] or {}).get("median"), "tracers": {}}
        for t in rep["tracers"][1:]:
            row["tracers"][t["name"]] = {
                "status": t["status"], "reason": t["reason"],
                "added_ns": t["added_ns_per_syscall"],
                "slowdown": (t["slowdown"] or {}).get("median"),
                "accuracy": t["accuracy"], "iterations": t.get("iterations"),
                "scaled": t.get("scaled", False),
                "bpf": t.get("bpf"),
            }
        rows.append(row)
    first = reports[0] if reports else None
    return {
        "schema": SCHEMA,
        "tracers": [n for n in tracer_names if n != "none"],
        "iterations": first["iterations"] if first else None,
        "duration": first["duration"] if first else None,
        "repeat": first["repeat"] if first else None,
        "machine": first["machine"] if first else None,
        "environment": first["environment"] if first else None,
        "rows": rows, "skipped": skipped, "interrupted": interrupted,
        "studies": reports,
    }


# ---- presentation --------------------------------------------------------------------------

def _fmt_added(v) -> str:
    if v is None:
        return "-"
    sign = "+" if v >= 0 else ""  # a negative cost (noise) keeps its own minus sign
    return f"{sign}{v:,.0f}" if abs(v) >= 100 else f"{sign}{v:.1f}"


def _fmt_x(v) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}x" if v >= 100 else f"{v:.3g}x" if v >= 10 else f"{v:.2f}x"


def _cell(c: dict | None) -> str:
    if c is None:
        return "-"
    if c["status"] == "unavailable":
        return "n/a"
    if c["added_ns"] is None:
        return c["status"]
    text = f"{_fmt_added(c['added_ns'])} ({_fmt_x(c['slowdown'])})"
    if c["accuracy"] == 0:
        text += " saw none"  # e.g. a call its table cannot name (enosys under perf trace)
    elif c["accuracy"] is not None and c["accuracy"] < 1.0:
        text += " lost"
    return text


def _cells(rep: dict) -> tuple[list[str], list[list[str]]]:
    head = ["syscalls", "scenario", "untraced ns"] + rep["tracers"]
    body = []
    for row in rep["rows"]:
        u = row["untraced_ns"]
        body.append(["+".join(row["syscalls"]), row["scenario"],
                     "-" if u is None else (f"{u:,.0f}" if u >= 1000 else f"{u:.1f}")]
                    + [_cell(row["tracers"].get(n)) for n in rep["tracers"]])
    return head, body


def _notes(rep: dict) -> list[str]:
    out = ["cells: nanoseconds the tracer adds to each syscall (median of runs paired with the "
           "untraced run of the same round) and the slowdown; 'lost': it reported fewer events "
           "than were issued ('saw none': not one); n/a: not available here."]
    scaled = sorted({n for row in rep["rows"] for n, c in row["tracers"].items() if c["scaled"]})
    if scaled:
        out.append("scaled to fewer iterations a run (ratios per syscall): " + ", ".join(scaled))
    for row in rep["rows"]:
        for n, c in row["tracers"].items():
            if c["status"] == "failed":
                out.append(f"failed: {row['scenario']} under {n}: {c['reason']}")
    for s in rep["skipped"]:
        out.append(f"{s['status']}: {s['scenario']}: {s['reason']}")
    if rep["interrupted"]:
        out.append(f"interrupted by {signal.Signals(rep['interrupted']).name}: partial table")
    return out


def bpf_rows(rep: dict) -> list[list[str]]:
    """Per scenario and eBPF tracer: its programs, runs per workload call, ns a run, ns in
    programs per call, next to the added ns per call that was measured."""
    out = []
    for row in rep["rows"]:
        for name, c in row["tracers"].items():
            b = c.get("bpf")
            if not b or not b.get("programs"):
                continue
            out.append([name, row["scenario"], str(len(b["programs"])),
                        "-" if b["runs_per_call"] is None else f"{b['runs_per_call']:.2f}",
                        "-" if b["ns_per_run"] is None else f"{b['ns_per_run']:,.1f}",
                        "-" if b["ns_per_call"] is None else f"{b['ns_per_call']:,.1f}",
                        _fmt_added(c["added_ns"])])
    return out


BPF_HEAD = ["tracer", "scenario", "programs", "runs/call", "ns a run", "ns/call in programs",
            "added ns/call"]


def format_text(rep: dict, columns: int | None = 80) -> str:
    """The table, cut into panels that repeat the scenario where it is wider than `columns`
    (None: whole lines)."""
    head, body = _cells(rep)
    amount = (f"{rep['duration']:g} s" if rep["duration"] else
              f"{rep['iterations']:,} iterations" if rep["iterations"] else "")
    n = len(rep["rows"])
    out = wrap(f"ioworkload overhead, per syscall: {n} scenario{'s' if n != 1 else ''}"
               + (f", {amount} x {rounds(rep['repeat'])}" if amount else ""), columns)
    out += wrap(f"machine: {rep['machine'] or 'unknown'}", columns) + [""]
    out += fit_table(head, body, 2, columns, keep=2)
    bpf = bpf_rows(rep)
    if bpf:
        out += [""] + wrap("eBPF programs (kernel.bpf_stats_enabled, one extra run each):", columns)
        out += fit_table(BPF_HEAD, bpf, 2, columns, keep=2)
    out.append("")
    for note in _notes(rep):
        out += wrap(note, columns)
    return "\n".join(out) + "\n"


def format_markdown(rep: dict) -> str:
    head, body = _cells(rep)
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|"]
    for r in body:
        out.append("| " + " | ".join([f"`{r[0]}`", f"`{r[1]}`"] + r[2:]) + " |")
    bpf = bpf_rows(rep)
    if bpf:
        out += ["", "| " + " | ".join(BPF_HEAD) + " |",
                "|" + "|".join(["---", "---"] + ["---:"] * (len(BPF_HEAD) - 2)) + "|"]
        out += ["| " + " | ".join([r[0], f"`{r[1]}`"] + r[2:]) + " |" for r in bpf]
    out += [""] + [f"- {n}" for n in _notes(rep)]
    if rep["machine"]:
        out.append(f"- machine: {rep['machine']}")
    return "\n".join(out) + "\n"

