"""Regenerates docs/conformance.md's tables: the whole catalog judged under the strace,
perf-trace and bpftrace presets (`ioworkload check --all`, 3 iterations, 1 thread), with the raw
verdicts in docs/results/conformance.json. As root, with the three tracers installed:

    python tools/conformance.py [--tracer T]...     (about 10 minutes on 2 vCPUs)
    python tools/conformance.py --doors             (the ia32 family only: its own table)

Exit 1 when a verdict is wrong (the tables are written all the same)."""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import published  # noqa: E402

TRACERS = ["strace", "perf-trace", "bpftrace"]
VERDICTS = ["exact", "lost", "limited", "wrong", "unsupported"]


def _cell(row: dict) -> str:
    if row["status"] == "lost":
        return f"lost ({row['lost']} dropped)"
    if row["status"] == "wrong":
        return f"WRONG ({len(row['differences'])})"
    return row["status"]


def summary(rows: list[dict], tracers: list[str], prov: dict) -> str:
    count = collections.Counter((r["tracer"], r["status"]) for r in rows)
    shown = [v for v in VERDICTS if any(count[(t, v)] for t in tracers)]
    scenarios = len({r["scenario"] for r in rows})
    out = [f"`ioworkload check --all {' '.join('--tracer ' + t for t in tracers)}` "
           f"({scenarios} scenarios, 3 iterations, 1 thread), in one run by `tools/conformance.py`. "
           + published.provenance_line(prov), "",
           "| tracer | " + " | ".join(shown) + " |", "|---|" + "---:|" * len(shown)]
    out += [f"| {t} | " + " | ".join(str(count[(t, v)]) for v in shown) + " |" for t in tracers]
    return "\n".join(out) + "\n"


def table(rows: list[dict], tracers: list[str]) -> str:
    cell = {(r["scenario"], r["tracer"]): r for r in rows}
    names = list(dict.fromkeys(r["scenario"] for r in rows))
    out = ["| scenario | " + " | ".join(tracers) + " |", "|---|" + "---|" * len(tracers)]
    out += [f"| `{n}` | " + " | ".join(_cell(cell[(n, t)]) for t in tracers) + " |" for n in names]
    return "\n".join(out) + "\n"


def not_exact(rows: list[dict]) -> str:
    """Why each cell that is not exact is not: the reason, or the first differences."""
    out = []
    for r in rows:
        if r["status"] == "exact":
            continue
        why = r.get("reason") or "; ".join(map(str, r["differences"][:3]))
        out.append(f"- `{r['scenario']}` / {r['tracer']}: {r['status']}: {' '.join(str(why).split())}")
    return "\n".join(out or ["- none"]) + "\n"


def doors(rows: list[dict], prov: dict) -> str:
    """Per preset, the 32-bit door and the x32 bit (judge.conformance.doors)."""
    from ioworkload.judge.conformance import doors as judged
    cells = judged(rows)
    heads = ["ia32 seen", "ia32 named right", "x32 named right"]
    out = ["The `ia32` family under each preset, by `tools/conformance.py` (`--doors`: that "
           "family alone). " + published.provenance_line(prov), "",
           "| tracer | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    out += [f"| {t} | " + " | ".join(" ".join(c.get(h, "-").split()).replace("|", "\\|")
                                      for h in heads) + " |" for t, c in cells.items()]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracer", action="append", help="a preset (default: strace, perf-trace, bpftrace)")
    ap.add_argument("--doors", action="store_true",
                    help="judge the ia32 family only and write only the doors table")
    opts = ap.parse_args()
    tracers = opts.tracer or TRACERS
    cmd = [sys.executable, "-m", "ioworkload", "check",
           *(["--family", "ia32"] if opts.doors else ["--all"]), "--json"]
    for t in tracers:
        cmd += ["--tracer", t]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode not in (0, 1):
        print(f"check exited {p.returncode}", file=sys.stderr)
        return p.returncode
    rows = json.loads(p.stdout)
    prov = published.provenance()
    published.publish("conformance.md", "conformance-doors", doors(rows, prov))
    if opts.doors:
        return 0
    published.write_json("conformance.json", {"provenance": prov, "command": cmd[1:], "rows": rows})
    published.publish("conformance.md", "conformance-summary", summary(rows, tracers, prov))
    published.publish("conformance.md", "conformance-table", table(rows, tracers))
    published.publish("conformance.md", "conformance-not-exact", not_exact(rows))
    return 1 if any(r["status"] == "wrong" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
