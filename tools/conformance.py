"""Regenerates docs/conformance.md's tables: the whole catalog judged under the strace,
perf-trace and bpftrace presets (`ioworkload check --all`, 3 iterations, 1 thread), with the raw
verdicts in docs/results/conformance.json. As root, with the three tracers installed:

    python tools/conformance.py [--tracer T]...     (about 10 minutes on 2 vCPUs)
    python tools/conformance.py --doors             (the other doors only: the ia32 family,
                                                     a sample in PID and user namespaces and
                                                     under launching tracers; their tables)

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


# The namespace and launcher doors, each a column: (door, how the command runs, the tracers'
# variant). Each preset's row: by PID (the preset), or its launcher (NAME-launch), or that
# launcher itself inside a user namespace of its own.
PID_NS = ["unshare", "--pid", "--fork", "--mount-proc"]
USER_NS = ["unshare", "-Ur"]
CONTEXTS = [
    ("--pid-namespace (by PID)", {"pid_namespace": True}, ""),
    ("under " + " ".join(PID_NS) + " (by PID)", {"under": PID_NS}, ""),
    ("under " + " ".join(USER_NS) + " (by PID)", {"under": USER_NS}, ""),
    ("launching the command", {}, "-launch"),
    ("launching it under " + " ".join(PID_NS), {"under": PID_NS}, "-launch"),
    ("launching it, inside " + " ".join(USER_NS), {}, "-launch in userns"),
]


def _variant(preset: str, suffix: str):
    """The preset, its launcher, or its launcher started inside `unshare -Ur`."""
    from ioworkload.judge.tracers import PRESETS, Tracer
    if not suffix:
        return PRESETS[preset]()
    launcher = PRESETS[preset + "-launch"]()
    if suffix == "-launch":
        return launcher
    return Tracer(f"{launcher.name} in userns", " ".join(USER_NS) + " " + launcher.template,
                  launcher.format, caps=launcher.caps, program=launcher.program,
                  blind_spots=launcher.blind_spots)


def context_rows(tracers: list[str]) -> list[dict]:
    """Each sample scenario (judge.conformance.door_sample) in each context under each tracer's
    variant, judged as `check` judges (3 iterations, 1 thread)."""
    from ioworkload.judge import conformance
    names = conformance.door_sample()
    rows = []
    total = len(names) * len(CONTEXTS) * len(tracers)
    for door, how, suffix in CONTEXTS:
        for preset in tracers:
            t = _variant(preset, suffix)
            for name in names:
                print(f"[{len(rows) + 1}/{total}] {name} {door} under {t.name}", file=sys.stderr,
                      flush=True)
                v = conformance.run_one(name, t, 3, 1, **how)
                rows.append(dict(v.to_dict(), scenario=name, tracer=t.name, preset=preset,
                                 door=door))
    return rows


def contexts(rows: list[dict], prov: dict) -> str:
    """Per preset, the namespace and launcher doors (judge.conformance.context_doors)."""
    from ioworkload.judge.conformance import context_doors
    cells = context_doors(rows)
    heads = [door for door, _, _ in CONTEXTS]
    names = sorted({r["scenario"] for r in rows})
    out = [f"{len(names)} scenarios ({', '.join(f'`{n}`' for n in names)}) in each context, "
           "3 iterations, 1 thread, by `tools/conformance.py --doors`. "
           + published.provenance_line(prov), "",
           "| tracer | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    out += [f"| {t} | " + " | ".join(c.get(h, "-").replace("|", "\\|") for h in heads) + " |"
            for t, c in cells.items()]
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
        more = context_rows(tracers)
        published.write_json("conformance-contexts.json", {"provenance": published.provenance(),
                                                           "rows": more})
        published.publish("conformance.md", "conformance-contexts",
                          contexts(more, published.provenance()))
        return 1 if any(r["status"] == "wrong" for r in more) else 0
    published.write_json("conformance.json", {"provenance": prov, "command": cmd[1:], "rows": rows})
    published.publish("conformance.md", "conformance-summary", summary(rows, tracers, prov))
    published.publish("conformance.md", "conformance-table", table(rows, tracers))
    published.publish("conformance.md", "conformance-not-exact", not_exact(rows))
    return 1 if any(r["status"] == "wrong" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
