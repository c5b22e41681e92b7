"""`ioworkload coverage`: which syscalls of this architecture's table the catalog issues.

The table is the build's (_syscall_numbers.py, generated from <asm/unistd.h> at build time);
a syscall counts as covered when a scenario's manifest declares it (worker, helper or child
events, any phase). The runner's own calls around every scenario (the release and done futex,
exit, exit_group) are listed apart, as the harness: they are not a scenario's. Each syscall
says how `--verify` witnesses it: its own tracepoints, or raw_syscalls filtered on its number
(removed entries, calls this kernel was built without). For io_uring, the ring operations the
scenarios perform (their `operations` lists) are listed too. Calls through the 32-bit door
(`ia32:` events, int $0x80) are in the ia32 table, not this one: they cover nothing here and
are listed apart, by their ia32 name and number (`ia32`), witnessed at raw_syscalls.
"""

from __future__ import annotations

import json

from ioworkload.core import expect, registry
from ioworkload.core.errors import UsageError

HARNESS = ("futex", "exit", "exit_group")


def report() -> dict:
    """Every syscall of the table with the scenarios that issue it, the totals, and the io_uring
    operations with theirs."""
    by_syscall: dict[str, list[str]] = {}
    by_operation: dict[str, list[str]] = {}
    for sc in registry.all_scenarios().values():
        for ev in sc.setup + sc.iteration + sc.teardown:
            names = by_syscall.setdefault(ev.key, [])
            if sc.name not in names:
                names.append(sc.name)
        for op in getattr(sc, "operations", ()):
            names = by_operation.setdefault(op.opcode, [])
            if sc.name not in names:
                names.append(sc.name)
    table = expect.syscall_table()
    rows = [{"syscall": name, "nr": nr, "scenarios": by_syscall.get(name, []),
             "harness": name in HARNESS,
             "witness": "tracepoint" if expect.has_tracepoint(name) else "raw_syscalls"}
            for name, nr in sorted(table.items(), key=lambda kv: (kv[1], kv[0]))]
    covered = sum(1 for r in rows if r["scenarios"])
    # declared calls outside the table: bare numbers (the unassigned syscall_1023)
    off_table = sorted(n for n in by_syscall if n not in table and not n.startswith("ia32:"))
    ia32 = sorted((n for n in by_syscall if n.startswith("ia32:")),
                  key=lambda n: (expect.syscall_number(n), n))
    return {
        "architecture": _machine(),
        "syscalls": len(rows),
        "covered": covered,
        "uncovered": len(rows) - covered,
        "percent": round(100.0 * covered / len(rows), 1) if rows else 0.0,
        "table": rows,
        "off_table": {n: by_syscall[n] for n in off_table},
        "io_uring_operations": {op: by_operation[op] for op in sorted(by_operation)},
        "ia32": [{"syscall": n[5:], "nr": expect.syscall_number(n), "scenarios": by_syscall[n]}
                 for n in ia32],
    }


def _machine() -> str:
    import os
    return os.uname().machine


def _names(scenarios: list, shown: int = 4) -> str:
    """The first few scenarios (--json lists them all)."""
    more = len(scenarios) - shown
    return ", ".join(scenarios[:shown]) + (f" (+{more} more)" if more > 0 else "")


def text(rep: dict) -> str:
    out = [f"{rep['covered']} of {rep['syscalls']} syscalls of the {rep['architecture']} table "
           f"covered ({rep['percent']}%), {rep['uncovered']} not covered"]
    width = max((len(r["syscall"]) for r in rep["table"]), default=7)
    if rep["table"]:
        out.append(f"{'nr':>4}  {'syscall':<{width}}  {'witness':<12}  scenarios")
    for r in rep["table"]:
        who = _names(r["scenarios"]) if r["scenarios"] else "-"
        if r["harness"]:
            who += " (and the runner around every scenario)"
        out.append(f"{r['nr']:>4}  {r['syscall']:<{width}}  {r['witness']:<12}  {who}")
    for name, scs in rep.get("off_table", {}).items():
        out.append(f"   -  {name:<{width}}  {'raw_syscalls':<12}  {', '.join(scs)} (not in the table)")
    if rep.get("ia32"):
        out.append(f"ia32 calls (int $0x80, the ia32 table; not counted above): {len(rep['ia32'])}")
        for r in rep["ia32"]:
            out.append(f"{r['nr']:>4}  {r['syscall']:<{width}}  {'raw_syscalls':<12}  "
                       f"{_names(r['scenarios'])}")
    if "io_uring_operations" in rep:
        ops = rep["io_uring_operations"]
        out.append(f"io_uring operations covered: {len(ops)}")
        for op, scs in ops.items():
            out.append(f"      {op}  {', '.join(scs)}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    from ioworkload.core.args import Parser
    p = Parser(prog="ioworkload coverage",
               description="Which syscalls of this architecture's table the scenarios issue.")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--uncovered", action="store_true", help="list only the syscalls not covered")
    args = p.parse_args(argv)
    rep = report()
    if args.uncovered:  # the table's entries no scenario issues, and nothing else
        rep = {k: v for k, v in rep.items() if k not in ("off_table", "io_uring_operations", "ia32")}
        rep["table"] = [r for r in rep["table"] if not r["scenarios"]]
    if args.json:
        print(json.dumps(rep))
    else:
        if not rep["table"] and not args.uncovered:
            raise UsageError("nothing to list")
        print(text(rep), end="")
    return 0
