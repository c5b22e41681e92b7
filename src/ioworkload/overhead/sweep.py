"""`ioworkload overhead SCENARIO --sweep-rate`: per tracer, the highest rate at which it still
reports every event (accuracy 1.0), and the accuracy curve.

Each step is one run of the scenario paced at R iterations a second (the workload's --rate:
it waits on the vDSO clock, so the syscall stream is the one of an unpaced run) for
--duration seconds under the tracer, rates rising on a 1-3-10 ladder up to what the untraced
loop manages, then one unpaced run. The lossless rate is the highest rate before the first
step that lost events; a tracer that lost nothing, unpaced included, never loses here
(reported as infinite). A step's rate is the offered one, or the rate the loop reached where
that was less (a tracer that slows the loop never saw the offered rate). A tracer whose output
holds no counts has no curve."""

from __future__ import annotations

import dataclasses
import math
import signal

from ioworkload.core.errors import ScenarioFailed
from ioworkload.overhead.study import (TOOL_VERSIONS, Options, environment, machine_line, run_once,
                                 study_context)
from ioworkload.overhead.tracers import NoTracer

SCHEMA = "ioworkload-rate-sweep/1"
DEFAULT_STEP_SECONDS = 1.0
FIRST_RATE = 1000.0
LOSSY_STEPS_TO_STOP = 2     # stop a tracer's ladder after this many lossy steps in a row


def ladder(max_rate: float) -> list[float]:
    """1e3, 3e3, 1e4, 3e4, ... below max_rate (the untraced loop's iterations per second)."""
    out, r = [], FIRST_RATE
    while r < max_rate * 0.8:
        out.append(r)
        r = r * 3 if str(int(r))[0] == "1" else r * 10 / 3
        r = float(round(r))
    return out


def _step(tracer, opts: Options, rate: float | None, label: str, into: list | None = None) -> dict:
    """One paced run; listed in `into` before it starts, so a Ctrl-C keeps its PIDs."""
    o = dataclasses.replace(opts, rate=rate)
    r = {"rate": rate, "error": "interrupted"}
    if into is not None:
        into.append(r)
    try:
        run_once(tracer, o, label, r)
    except ScenarioFailed as e:
        r["error"] = str(e)
    if not r["error"] and r.get("elapsed_ns"):
        r["achieved_rate"] = r["iterations_done"] * 1e9 / r["elapsed_ns"]
    return r


def sweep(opts: Options, tracers: list, progress=None) -> dict:
    """The sweep's report dict (also after Ctrl-C, with `interrupted` set)."""
    used = {t.program for t in tracers if t.program}
    env = environment({opts.tracee_cpu}, opts.tracer_cpus,
                      [tv for tv in TOOL_VERSIONS if tv[0] in used])
    rows = []
    for t in tracers:
        if t.kind == "none":
            continue
        reason = t.unavailable(opts.scenario)
        rows.append({"name": t.name, "kind": t.kind, "tracer": t,
                     "status": "unavailable" if reason else "ok", "reason": reason,
                     "steps": [], "lossless_rate": None, "never_lost": False})
    warm = {}
    say = progress or (lambda text: None)
    with study_context(opts) as ctx:
        say("untraced run: the loop's own rate")
        warm = _step(NoTracer(), opts, None, "untraced")
        if warm["error"]:
            raise ScenarioFailed(f"the untraced run failed: {warm['error']}")
        rates = ladder(warm["achieved_rate"])
        for row in rows:
            if row["status"] != "ok":
                continue
            lossy = 0
            for rate in rates + [None]:
                say(f"{row['name']}: " + (f"{rate:,.0f}/s" if rate else "unpaced"))
                step = _step(row["tracer"], opts, rate, "sweep", row["steps"])
                if step["error"]:
                    row["status"], row["reason"] = "failed", step["error"]
                    break
                if step.get("accuracy") is None:
                    row["status"], row["reason"] = "no count", "its output holds no event count"
                    break
                lossy = lossy + 1 if step["accuracy"] < 1.0 else 0
                if lossy >= LOSSY_STEPS_TO_STOP:
                    break
    for row in rows:
        _lossless(row)
        del row["tracer"]
    return {"schema": SCHEMA, "scenario": opts.scenario.name, "syscalls": opts.scenario.syscalls,
            "step_seconds": opts.duration, "untraced": warm, "interrupted": ctx.interrupted,
            "environment": env, "machine": machine_line(env), "tracers": rows}


def delivered(step: dict) -> float:
    """The rate a step really ran at: the offered one, or what the loop reached if less (a
    tracer that slows the loop never saw the offered rate)."""
    reached = step.get("achieved_rate")
    if step["rate"] is None:
        return reached or 0.0
    return min(step["rate"], reached) if reached else step["rate"]


def _lossless(row: dict) -> None:
    good = []
    for step in row["steps"]:
        if step.get("accuracy") is None or step["error"]:
            break
        if step["accuracy"] < 1.0:
            row["lossless_rate"] = max(good) if good else 0.0
            return
        good.append(delivered(step))
    if good and row["steps"] and row["steps"][-1]["rate"] is None and \
            row["steps"][-1].get("accuracy") == 1.0:
        row["never_lost"] = True
        row["lossless_rate"] = math.inf
    elif good:
        row["lossless_rate"] = max(good)  # cut short (interrupted): at least this


def json_safe(rep: dict) -> dict:
    """The report for json.dumps: an infinite lossless rate is null with never_lost true."""
    out = dict(rep, tracers=[dict(t, lossless_rate=None if t["lossless_rate"] == math.inf
                                  else t["lossless_rate"]) for t in rep["tracers"]])
    return out


def _fmt_rate(r) -> str:
    if r is None:
        return "-"
    if r == math.inf:
        return "inf (never lost)"
    return f"{r:,.0f}/s"


def _fmt_step(s: dict) -> str:
    offered = "unpaced" if s["rate"] is None else f"{s['rate']:,.0f}"
    short = s.get("achieved_rate") and s["rate"] and s["achieved_rate"] < 0.9 * s["rate"]
    return f"{offered} {s['accuracy']:.4f}" + (f" ({s['achieved_rate']:,.0f})" if short else "")


def format_text(rep: dict) -> str:
    u = rep["untraced"]
    out = [f"ioworkload overhead --sweep-rate: {rep['scenario']} ({', '.join(rep['syscalls'])}), "
           f"{rep['step_seconds']:g} s a step; untraced loop: "
           f"{u.get('achieved_rate', 0):,.0f} iterations/s",
           f"machine: {rep['machine']}", ""]
    w = max([len("tracer")] + [len(t["name"]) for t in rep["tracers"]])
    out.append(f"{'tracer'.ljust(w)}  {'lossless rate':>18}  accuracy by offered rate (achieved)")
    for t in rep["tracers"]:
        if t["status"] in ("unavailable", "no count") or (t["status"] == "failed" and not t["steps"]):
            out.append(f"{t['name'].ljust(w)}  {t['status']}: {t['reason']}")
            continue
        curve = ", ".join(_fmt_step(s) for s in t["steps"] if s.get("accuracy") is not None)
        line = f"{t['name'].ljust(w)}  {_fmt_rate(t['lossless_rate']):>18}  {curve}"
        if t["status"] == "failed":
            line += f"  failed: {t['reason']}"
        out.append(line)
    out += ["", "lossless rate: the highest rate (iterations/s: the offered one, or the one "
                "reached where less) before the first step whose accuracy (events reported / "
                "issued) fell below 1; inf: no step lost any, "
                "the unpaced one included. (achieved): the rate the loop reached where it fell "
                "short of the offered one."]
    if rep["interrupted"]:
        out.append(f"interrupted by {signal.Signals(rep['interrupted']).name}: partial result")
    return "\n".join(out) + "\n"


def write_plot(rep: dict, path: str) -> None:
    """Accuracy against the achieved rate, one line per tracer (log x); the unpaced step is
    the last point of each line, ringed."""
    import os
    import textwrap

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ioworkload.overhead.chart import _readable_log_axis, _wrap

    fig, ax = plt.subplots(figsize=(9, 4.8))
    cmap = plt.get_cmap("tab10")
    lowest, xs_all = 1.0, []
    for j, t in enumerate(t for t in rep["tracers"] if t["steps"]):
        pts = sorted((s.get("achieved_rate") or s["rate"], s["accuracy"], s["rate"] is None)
                     for s in t["steps"] if s.get("accuracy") is not None and
                     (s.get("achieved_rate") or s["rate"]))
        lowest = min([lowest] + [p[1] for p in pts])
        xs_all += [p[0] for p in pts]
        if not pts:
            continue
        label = _wrap(t["name"]) + f" (lossless: {_fmt_rate(t['lossless_rate'])})"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=4, color=cmap(j % 10),
                label=label)
        for x, y, unpaced in pts:
            if unpaced:
                ax.scatter([x], [y], s=80, facecolors="none", edgecolors=cmap(j % 10))
    ax.set_xscale("log")
    if xs_all:
        _readable_log_axis(ax.xaxis, lambda v: f"{v:,.0f}/s", min(xs_all), max(xs_all))
    ax.set_ylim(max(0.0, lowest - 0.1 * (1.0 - lowest) - 0.005), 1.005)
    ax.set_xlabel("iterations per second reached (offered rates 1-3-10 steps; ringed: unpaced)",
                  fontsize=8)
    ax.set_ylabel("accuracy (events reported / issued)", fontsize=8)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(textwrap.fill(f"lossless rate: {rep['scenario']} ({rep['step_seconds']:g} s a "
                               "step)", 110) + "\n" + textwrap.fill(rep["machine"], 130),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format=os.path.splitext(path)[1].lower().lstrip("."), dpi=130)
    plt.close(fig)
