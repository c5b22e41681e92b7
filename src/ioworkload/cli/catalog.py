"""`ioworkload list` and `ioworkload describe`: the catalog, one line a scenario, and one
scenario's manifest."""

from __future__ import annotations

import difflib
import json

from ioworkload.cli import terminal
from ioworkload.core import expect, registry
from ioworkload.core.args import Parser
from ioworkload.core.errors import EXIT_OK, UsageError, shown

PROG = "ioworkload"


def list_main(argv: list[str]) -> int:
    p = Parser(prog=f"{PROG} list", description="List the scenarios, one line each.")
    p.add_argument("--family", "-f", help="only this family")
    p.add_argument("--json", action="store_true", help="one JSON array on stdout")
    p.add_argument("--wide", "-w", action="store_true",
                   help="whole lines (the default when the output is not a terminal)")
    args = p.parse_args(argv)
    scs = list(registry.all_scenarios().values())
    if args.family is not None:
        fams = registry.families()
        if args.family not in fams:
            close = difflib.get_close_matches(args.family, fams, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; families: {', '.join(fams)}"
            raise UsageError(f"unknown family {shown(args.family)}{hint}")
        scs = [s for s in scs if s.family == args.family]
    if args.json:
        print(json.dumps([{"name": s.name, "family": s.family, "summary": s.summary,
                           "syscalls": s.syscalls} for s in scs]))
        return EXIT_OK
    columns = terminal.width(args.wide)
    name_w = max(len(s.name) for s in scs)
    fam_w = max(len(s.family) for s in scs)
    for s in scs:
        print(terminal.cut(f"{s.name:<{name_w}}  {s.family:<{fam_w}}  {s.summary}", columns))
    return EXIT_OK


def describe_main(argv: list[str]) -> int:
    p = Parser(prog=f"{PROG} describe", description="Show a scenario's manifest.")
    p.add_argument("scenario")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--wide", "-w", action="store_true", help="no wrapping")
    args = p.parse_args(argv)
    sc = registry.get(args.scenario)
    d = sc.describe()
    reason = sc.unsupported_reason()
    d["supported_here"] = reason is None
    d["unsupported_reason"] = reason
    # The expect file's event form, unresolved: one worker, one iteration, in its own process.
    d["events"] = expect.build(sc, pid=None, tids=[None], dirs=["<dir>"], iterations=1,
                               own_process=True, root=None)["events"]
    if args.json:
        print(json.dumps(d))
        return EXIT_OK
    columns = terminal.prose_width(args.wide)

    def out(text: str, indent: str = "", hang: str = "    ") -> None:
        print(terminal.wrap(text, columns, indent=indent + hang, first=indent))

    out(f"{sc.name}  ({sc.family}; ior: {sc.ior_name})")
    out(sc.summary, indent="  ")
    for phase, label in (("setup", "setup (once per thread)"), ("iteration", "each iteration"),
                         ("teardown", "teardown (once per thread)")):
        print(f"{label}:")
        for e in d[phase] or ["(nothing)"]:
            out(str(e), indent="  ")
    if sc.operations:
        print("io_uring operations each iteration (not syscalls; user_data 1, 2, ...):")
        for o in d["operations"]:
            out(str(o), indent="  ")
    out("calls per thread, N iterations: " + ", ".join(
        f"{n} {count_formula(*c)}" for n, c in sc.phase_counts().items()), hang="  ")
    if sc.exit_status:
        out(f"exit: the scenario process ends with exit_group({sc.exit_status}), and the "
            f"command fails with exit 1", hang="  ")
    if sc.notes:
        out(f"notes: {sc.notes}", hang="  ")
    if reason:
        out(f"unsupported here: {reason}", hang="  ")
    return EXIT_OK


def count_formula(setup: int, each: int, teardown: int) -> str:
    """'2N + 1' for a syscall issued twice per iteration and once outside the loop."""
    terms = ([("N" if each == 1 else f"{each}N")] if each else []) + (
        [str(setup + teardown)] if setup + teardown else [])
    return " + ".join(terms)
