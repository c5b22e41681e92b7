"""Regenerates docs/tracer-matrix.md: the catalog judged under every tracer preset installed
here (`ioworkload check --json`, 3 iterations, 1 thread), a scoped tool (judge/scope.py) only on
the scenarios with a call of its class; the raw verdicts in docs/results/tracer-matrix.json, the
chart in docs/results/tracer-matrix.png. As root:

    python tools/tracer_matrix.py                 (about an hour on 2 vCPUs)
    python tools/tracer_matrix.py --tracer opensnoop --reuse docs/results/tracer-matrix.json

--reuse takes the rows of the tracers not measured now from an earlier run (one tracer measured
again; tools/conformance.py's rows for strace, perf trace and bpftrace), each tracer's date
kept; --rows-only measures without writing the page, for runs in parallel merged by --reuse. A
preset whose tool is missing gets a column of `unsupported`, with why."""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import published  # noqa: E402

from ioworkload.core import registry  # noqa: E402
from ioworkload.judge.tracers import PRESETS  # noqa: E402

VERDICTS = ["exact", "limited", "lost", "wrong", "unsupported"]
COLOURS = {"exact": "#2e7d32", "limited": "#9ccc65", "lost": "#ffb300", "wrong": "#c62828",
           "unsupported": "#9e9e9e"}
JSON_NAME = "tracer-matrix.json"
# how each tool says its version (the libbpf-tools have none of their own: the package's)
VERSION_COMMANDS = {"strace": ["strace", "-V"], "perf-trace": ["perf", "--version"],
                    "bpftrace": ["bpftrace", "--version"], "auditd": ["auditctl", "-v"],
                    "trace-cmd": ["trace-cmd", "--version"], "ltrace": ["ltrace", "-V"]}


def version(name: str) -> str:
    name = name.removesuffix("-launch")  # a launching preset runs the same tool
    if name in VERSION_COMMANDS:
        return published._first_line(VERSION_COMMANDS[name]) or "not installed"
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libbpf-tools"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return f"libbpf-tools {out}" if out else "unknown"


def in_scope(tracer, names: list[str]) -> list[str]:
    """The scenarios with a call (or an io_uring request) of a scoped tracer's class."""
    scope = getattr(tracer, "scope", None)
    if scope is None or scope.syscalls is None:
        return names
    out = []
    for n in names:
        sc = registry.get(n)
        ops = {op.opcode for op in sc.operations}
        # (a call through the 32-bit door, `ia32:open`, is a member too: opensnoop claims opens)
        calls = {s.partition("ia32:")[2] or s for s in sc.syscalls}
        if any(scope.covers(s) for s in calls) or ops & set(scope.opcodes):
            out.append(n)
    return out


def measure(name: str, scenarios: list[str]) -> list[dict]:
    tracer = PRESETS[name]()
    why = tracer.unavailable()
    if why:
        return [{"scenario": s, "tracer": name, "status": "unsupported", "summary": "unsupported",
                 "reason": why, "differences": []} for s in scenarios]
    cmd = [sys.executable, "-m", "ioworkload", "check", "--json", "--tracer", name] + scenarios
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode not in (0, 1, 77):
        sys.exit(f"check under {name} exited {p.returncode}")
    return json.loads(p.stdout)


def _cell(r: dict | None) -> str:
    if r is None:
        return "·"
    if r["status"] == "unsupported":
        return "unsupported"
    return (r.get("summary") or r["status"]).replace("|", "/")  # conformance.py rows: status only


def summary(rows: list[dict], tracers: list[str], prov: dict, versions: dict,
            dates: dict) -> str:
    count = collections.Counter((r["tracer"], r["status"]) for r in rows)
    out = [f"Measured by `tools/tracer_matrix.py`: `ioworkload check` (3 iterations, 1 thread) "
           f"over the catalog, a scoped tool only on the scenarios with a call of its class. "
           + published.provenance_line(prov), "",
           "| tracer | version | measured | judged on | " + " | ".join(VERDICTS) + " |",
           "|---|---|---|---|" + "---:|" * len(VERDICTS)]
    for t in tracers:
        scope = getattr(PRESETS[t](), "scope", None)
        judged = "every call" if scope is None or scope.syscalls is None else \
            f"its {scope.what} calls"
        out.append(f"| {t} | {versions[t]} | {dates.get(t, '')} | {judged} | "
                   + " | ".join(str(count[(t, v)]) for v in VERDICTS) + " |")
    return "\n".join(out) + "\n\n![verdicts per tracer](results/tracer-matrix.png)\n"


def blind_spots(rows: list[dict], tracers: list[str]) -> str:
    """Per tracer, each scenario it is not exact on, grouped by what it missed or got wrong."""
    out = []
    for t in tracers:
        mine = [r for r in rows if r["tracer"] == t and r["status"] != "exact"]
        out.append(f"**{t}**")
        if not mine:
            out += ["", "- none: exact on every scenario it was judged on", ""]
            continue
        why = collections.defaultdict(list)
        for r in mine:
            if r["status"] == "unsupported":
                key = f"unsupported: {r['reason']}"
            elif r.get("missed"):
                key = f"{r['status']}: missed {', '.join(r['missed'])}"
            elif r["status"] == "limited":
                key = f"limited: {r['reason']}"
            else:
                first = r["differences"][0] if r["differences"] else r.get("reason") or ""
                key = f"{r['status']}: {_short(first)}"
            why[key].append(r["scenario"])
        out.append("")
        for key, names in sorted(why.items(), key=lambda kv: -len(kv[1])):
            shown = ", ".join(f"`{n}`" for n in names[:12]) + (
                f" and {len(names) - 12} more" if len(names) > 12 else "")
            out.append(f"- {' '.join(key.split())} ({len(names)}): {shown}")
        out.append("")
    return "\n".join(out)


def _short(text: str) -> str:
    import re
    text = re.sub(r"\b\d{3,}\b", "N", str(text))  # tids and counts differ from run to run
    return text[:140]


def table(rows: list[dict], tracers: list[str]) -> str:
    cell = {(r["scenario"], r["tracer"]): r for r in rows}
    names = list(dict.fromkeys(r["scenario"] for r in rows))
    out = ["| scenario | " + " | ".join(tracers) + " |", "|---|" + "---|" * len(tracers)]
    out += [f"| `{n}` | " + " | ".join(_cell(cell.get((n, t))) for t in tracers) + " |"
            for n in names]
    return ("`·`: not in the tracer's scope (no call of its class), not run.\n\n"
            + "\n".join(out) + "\n")


def chart(rows: list[dict], tracers: list[str], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    count = collections.Counter((r["tracer"], r["status"]) for r in rows)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(tracers) + 1.2))
    left = [0] * len(tracers)
    for v in VERDICTS:
        widths = [count[(t, v)] for t in tracers]
        ax.barh(tracers, widths, left=left, color=COLOURS[v], label=v)
        left = [a + b for a, b in zip(left, widths)]
    ax.invert_yaxis()
    ax.set_xlabel("scenarios judged (a scoped tool: those with a call of its class)")
    ax.legend(ncol=len(VERDICTS), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracer", action="append", choices=list(PRESETS),
                    help="a preset to measure (default: every one, or none with --reuse)")
    ap.add_argument("--reuse", action="append", default=[], metavar="JSON",
                    help="the rows of the tracers not measured now, from an earlier run's JSON "
                         "(this script's, or tools/conformance.py's)")
    ap.add_argument("--rows-only", metavar="JSON",
                    help="measure and write the rows there, not the page (runs in parallel)")
    args = ap.parse_args()
    measured = args.tracer or ([] if args.reuse else list(PRESETS))
    rows, dates = [], {}
    for path in args.reuse:
        with open(path) as f:
            earlier = json.load(f)
        for r in earlier["rows"]:
            if r["tracer"] not in measured and r["tracer"] in PRESETS:
                rows.append(r)
                dates.setdefault(r["tracer"], earlier.get("dates", {}).get(
                    r["tracer"], earlier["provenance"]["date"]))
    names = registry.select([], [], True)
    now = published.provenance()
    for t in measured:
        print(f"tracer-matrix: {t}", file=sys.stderr, flush=True)
        rows += measure(t, in_scope(PRESETS[t](), names))
        dates[t] = now["date"]
    if args.rows_only:
        with open(args.rows_only, "w") as f:
            json.dump({"provenance": now, "dates": dates, "rows": rows}, f, indent=1)
        return 0
    tracers = [t for t in PRESETS if any(r["tracer"] == t for r in rows)]
    versions = {t: version(t) for t in tracers}
    prov = dict(now, versions=versions)
    published.write_json(JSON_NAME, {"provenance": prov, "dates": dates, "rows": rows})
    chart(rows, tracers, os.path.join(published.RESULTS, "tracer-matrix.png"))
    published.publish("tracer-matrix.md", "tracer-matrix-summary",
                      summary(rows, tracers, prov, versions, dates))
    published.publish("tracer-matrix.md", "tracer-matrix-blind-spots", blind_spots(rows, tracers))
    published.publish("tracer-matrix.md", "tracer-matrix-table", table(rows, tracers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
