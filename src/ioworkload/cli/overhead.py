"""`ioworkload overhead`'s command line: its options, then the study (overhead.py) and its
presentation (overhead_report.py, overhead_chart.py)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from ioworkload.core import registry
from ioworkload.overhead import tracers as _tracers
from ioworkload.core.args import Parser, parse_count, parse_cpus, parse_seconds
from ioworkload.core.errors import EXIT_FAILED, EXIT_OK, EXIT_UNSUPPORTED, Unsupported, UsageError
from ioworkload.overhead.study import (DEFAULT_ITERATIONS, DEFAULT_REPEAT, READY_TIMEOUT, RUN_TIMEOUT,
                                 TRACED_SECONDS, Options, study)
from ioworkload.overhead.chart import check_plot, write_plot, write_table_plot
from ioworkload.overhead.report import format_table
from ioworkload.overhead.sweep import DEFAULT_STEP_SECONDS
from ioworkload.overhead.tracers import Tracer


class _InOrder(argparse.Action):
    """Keeps --tracer and the per-tracer options in command-line order: a --ready-regex,
    --settle or --count-regex belongs to the --tracer before it (before any: to every custom
    tracer)."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.in_order = (getattr(namespace, "in_order", None) or []) + [(self.dest, values)]


PER_TRACER = ("ready_regex", "settle", "count_regex")


def _parser():
    p = Parser(prog="ioworkload overhead",
               description="Measure how much each tracer slows a scenario's syscall stream and "
                           "whether it counted every event.",
               epilog="Tracer presets: " + ", ".join(_tracers.PRESETS) + ". A custom tracer is a "
                      "command with {pid} (also {tid}, {syscalls}, {comm}), optionally named, "
                      "e.g. --tracer 'strace-c=strace -c -p {tid}' --ready-regex ... ; "
                      "--ready-regex, --settle and --count-regex apply to the --tracer before "
                      "them (given before any --tracer: to every custom one).")
    p.add_argument("scenario", nargs="?", help="one scenario (or --family, --scenarios, --all: "
                                               "the per-syscall table over many)")
    many = p.add_mutually_exclusive_group()
    many.add_argument("--family", metavar="F", help="every scenario of family F: the per-syscall table")
    many.add_argument("--scenarios", metavar="A,B,C", help="these scenarios: the per-syscall table")
    many.add_argument("--all", action="store_true", help="every scenario: the per-syscall table")
    p.add_argument("--tracer", action=_InOrder, metavar="[NAME=]T",
                   help="a preset or a command template, named NAME if given; repeatable "
                        "(default: every preset)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--iterations", "-n", metavar="N",
                   help=f"iterations per run (default {DEFAULT_ITERATIONS:,})")
    g.add_argument("--duration", "-d", metavar="SECONDS", help="run this long instead")
    p.add_argument("--repeat", "-r", default=str(DEFAULT_REPEAT), metavar="R",
                   help=f"interleaved rounds (default {DEFAULT_REPEAT})")
    p.add_argument("--cpu", metavar="C", help="tracee CPU (default: the last CPU)")
    p.add_argument("--tracer-cpu", metavar="LIST", help="pin tracers to these CPUs (default: unpinned)")
    p.add_argument("--ready-regex", action=_InOrder, metavar="RE",
                   help="custom tracer: ready when a line of its output matches")
    p.add_argument("--settle", action=_InOrder, metavar="SECONDS",
                   help="custom tracer: wait this long after start (or after --ready-regex)")
    p.add_argument("--count-regex", action=_InOrder, metavar="RE",
                   help="custom tracer: the events it reported, the sum of every match's first "
                        "group (or whole match) in its output; gives it an accuracy")
    p.add_argument("--ready-timeout", default=str(READY_TIMEOUT), metavar="SECONDS",
                   help=f"give up on a tracer not ready by then (default {READY_TIMEOUT:g})")
    p.add_argument("--timeout", metavar="SECONDS",
                   help=f"give up on a run after this long (default {RUN_TIMEOUT:g}, "
                        f"plus --duration)")
    p.add_argument("--traced-seconds", default=str(TRACED_SECONDS), metavar="SECONDS",
                   help="a tracer whose run would last longer than this (by its rough cost per "
                        "call) runs fewer iterations; ratios stay per syscall (default "
                        f"{TRACED_SECONDS:g}; 0: never scale)")
    bpf = p.add_mutually_exclusive_group()
    bpf.add_argument("--bpf-cost", action="store_true",
                     help="one extra run per eBPF tracer that reads its programs' own cost: "
                          "switches the host-wide kernel.bpf_stats_enabled on for that run")
    bpf.add_argument("--no-bpf-cost", action="store_true",
                     help="no such run (the default; kept for older scripts)")
    p.add_argument("--sweep-rate", action="store_true",
                   help="per tracer, the highest rate (iterations/s, paced) at which it reports "
                        "every event; --duration is each step's length (default "
                        f"{DEFAULT_STEP_SECONDS:g} s)")
    p.add_argument("--wide", "-w", action="store_true",
                   help="whole lines: the table in one piece (default: fit 80 columns or the "
                        "terminal)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object on stdout")
    out.add_argument("--markdown", action="store_true",
                     help="the per-syscall table in markdown (any scenario selection)")
    p.add_argument("--plot", metavar="FILE", help="write a chart (.png or .svg; needs matplotlib)")
    return p


def _tracer_list(args) -> list[Tracer]:
    defaults: dict = {}            # per-tracer options given before any --tracer
    specs: list[tuple[str, dict]] = []
    for dest, value in getattr(args, "in_order", None) or []:
        if dest == "tracer":
            specs.append((value, {}))
            continue
        into = specs[-1][1] if specs else defaults
        option = "--" + dest.replace("_", "-")
        if dest in into:
            raise UsageError(f"{option} given twice for the same tracer")
        into[dest] = parse_seconds(value, option, allow_zero=True) if dest == "settle" else value
    if not specs:
        specs = [(name, {}) for name in _tracers.PRESETS]
    out: list[Tracer] = [_tracers.NoTracer()]
    seen = {"none": "none"}
    args.asked_tracers = set()
    for spec, own in specs:
        opts = dict(defaults, **own)
        key = spec.strip()
        if key in _tracers.PRESETS and own.keys() - {"count_regex"}:
            raise UsageError(f"{', '.join('--' + k.replace('_', '-') for k in own)} after "
                             f"--tracer {key}: a preset knows when it is ready")
        if key in _tracers.PRESETS:
            opts = {k: v for k, v in opts.items() if k == "count_regex" and k in own}
        t = _tracers.resolve(spec, opts.get("ready_regex"), opts.get("settle"),
                             opts.get("count_regex"))
        args.asked_tracers.add(t.name)
        if t.name in seen:
            if seen[t.name] != key:
                raise UsageError(f"two different tracers are named {t.name!r}")
            continue  # the same one twice
        seen[t.name] = key
        out.append(t)
    return out


def _scenarios(args) -> list:
    """The scenarios asked for: one, a family, a list or all."""
    chosen = [x for x in ("--family" if args.family else None,
                          "--scenarios" if args.scenarios else None,
                          "--all" if args.all else None) if x]
    if args.scenario is not None and chosen:
        raise UsageError(f"give a scenario or {chosen[0]}, not both")
    if args.scenario is not None:
        return [registry.get(args.scenario)]
    if args.family is not None:
        if args.family not in registry.families():
            raise UsageError(f"unknown family {args.family!r}: families are "
                             f"{', '.join(registry.families())}")
        return [sc for sc in registry.all_scenarios().values() if sc.family == args.family]
    if args.scenarios is not None:
        names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
        if not names:
            raise UsageError("--scenarios takes a comma list of scenario names")
        out = []
        for name in names:
            sc = registry.get(name)
            if sc not in out:
                out.append(sc)
        return out
    if args.all:
        return list(registry.all_scenarios().values())
    raise UsageError("give a scenario, or --family F, --scenarios A,B or --all")


def parse(argv: list[str]) -> tuple[Options, list[Tracer], object]:
    """The options of a single-scenario study (the first scenario asked for); args.scenario_list
    holds them all and args.make_opts(sc) builds the same options for another one."""
    args = _parser().parse_args(argv)
    args.scenario_list = _scenarios(args)
    sc = args.scenario_list[0]
    args.table = args.markdown or len(args.scenario_list) > 1 or args.scenario is None
    iterations = duration = None
    if args.sweep_rate:
        if args.table:
            raise UsageError("--sweep-rate takes one scenario")
        if args.iterations is not None:
            raise UsageError("--sweep-rate runs each step for --duration seconds, not "
                             "--iterations")
        if args.markdown:
            raise UsageError("--sweep-rate has no --markdown form")
        duration = parse_seconds(args.duration if args.duration is not None
                                 else DEFAULT_STEP_SECONDS)
    elif args.duration is not None:
        duration = parse_seconds(args.duration)
    else:
        iterations = parse_count(args.iterations if args.iterations is not None else DEFAULT_ITERATIONS)
    repeat = parse_count(args.repeat, "repeat", maximum=1000)
    if args.cpu is not None:
        cpus = parse_cpus(args.cpu)
        if len(cpus) != 1:
            raise UsageError(f"--cpu takes one CPU for the tracee, not {args.cpu!r}")
        tracee = cpus.pop()
    else:
        tracee = max(os.sched_getaffinity(0))
    tracer_cpus = parse_cpus(args.tracer_cpu, "--tracer-cpu") if args.tracer_cpu is not None \
        else None
    tracers = _tracer_list(args)
    if args.timeout is None:
        timeout = RUN_TIMEOUT + (duration or 0)
    else:
        timeout = parse_seconds(args.timeout, "--timeout")
        if duration and timeout <= duration:
            raise UsageError(f"--timeout {args.timeout} must be longer than --duration "
                             f"{args.duration}")
    opts = Options(sc, iterations, duration, repeat, tracee, tracer_cpus, timeout=timeout,
                   ready_timeout=parse_seconds(args.ready_timeout, "--ready-timeout"),
                   traced_seconds=parse_seconds(args.traced_seconds, "--traced-seconds",
                                                allow_zero=True),
                   bpf_cost=args.bpf_cost)
    if args.plot is not None:
        check_plot(args.plot)
    args.make_opts = lambda other: dataclasses.replace(opts, scenario=other)
    if not args.table:
        reason = sc.unsupported_reason()
        if reason:
            raise Unsupported(reason)
    return opts, tracers, args


def _columns(args) -> int | None:
    from ioworkload.cli import terminal
    return terminal.prose_width(args.wide)


def _none_could_run(rep_tracers: list[dict], args) -> bool:
    """Every tracer asked for (the untraced run aside, unless asked for by name) was
    unavailable here: nothing was measured that the user asked for."""
    asked = [t for t in rep_tracers if t["name"] in args.asked_tracers]
    return bool(asked) and all(t["status"] == "unavailable" for t in asked)


def main(argv: list[str]) -> int:
    opts, tracers, args = parse(argv)
    def show(text):
        sys.stderr.write(f"\r\033[K{text}")
        sys.stderr.flush()

    def announce(text):
        sys.stderr.write(f"{text}\n")
        sys.stderr.flush()

    progress = show if not args.json and sys.stderr.isatty() else None
    if args.table:
        return _main_table(args, tracers, progress, announce)
    if args.sweep_rate:
        return _main_sweep(opts, args, tracers, progress)
    rep = study(opts, tracers, progress, announce)
    if progress:
        sys.stderr.write("\r\033[K")
    if args.json:
        sys.stdout.write(json.dumps(rep) + "\n")
    else:
        sys.stdout.write(format_table(rep, _columns(args)))
    sys.stdout.flush()
    if args.plot and rep["tracers"][0]["slowdown"]:
        write_plot(rep, args.plot)
        if not args.json:
            sys.stdout.write(f"chart written to {args.plot}\n")
    if rep["interrupted"]:
        return 128 + rep["interrupted"]
    if not rep["tracers"][0]["slowdown"] or any(t["status"] == "failed" for t in rep["tracers"]):
        return EXIT_FAILED  # the untraced baseline or a tracer failed: the report says which
    if _none_could_run(rep["tracers"], args):
        sys.stderr.write("unsupported: no tracer asked for could run here (the report says why)\n")
        return EXIT_UNSUPPORTED
    return EXIT_OK


def _main_table(args, tracers, progress, announce) -> int:
    from ioworkload.overhead import table as overhead_table
    rep = overhead_table.run_table(args.scenario_list, args.make_opts, tracers, progress, announce)
    if progress:
        sys.stderr.write("\r\033[K")
    if args.json:
        sys.stdout.write(json.dumps(rep) + "\n")
    elif args.markdown:
        sys.stdout.write(overhead_table.format_markdown(rep))
    else:
        sys.stdout.write(overhead_table.format_text(rep, _columns(args)))
    sys.stdout.flush()
    if args.plot and rep["rows"]:
        write_table_plot(rep, args.plot)
        if not args.json:
            sys.stdout.write(f"chart written to {args.plot}\n")
    if rep["interrupted"]:
        return 128 + rep["interrupted"]
    if not rep["rows"]:
        if rep["skipped"] and all(s["status"] == "unsupported" for s in rep["skipped"]):
            raise Unsupported("no scenario asked for can run here")
        return EXIT_FAILED
    if any(s["status"] == "failed" for s in rep["skipped"]) or any(
            c["status"] == "failed" for row in rep["rows"] for c in row["tracers"].values()):
        return EXIT_FAILED
    cells = [dict(c, name=n) for row in rep["rows"] for n, c in row["tracers"].items()]
    if _none_could_run(cells, args):
        sys.stderr.write("unsupported: no tracer asked for could run here (the table says why)\n")
        return EXIT_UNSUPPORTED
    return EXIT_OK


def _main_sweep(opts, args, tracers, progress) -> int:
    from ioworkload.overhead import sweep as overhead_sweep
    rep = overhead_sweep.sweep(opts, tracers, progress)
    if progress:
        sys.stderr.write("\r\033[K")
    if args.json:
        sys.stdout.write(json.dumps(overhead_sweep.json_safe(rep)) + "\n")
    else:
        sys.stdout.write(overhead_sweep.format_text(rep))
    sys.stdout.flush()
    if args.plot and any(t["steps"] for t in rep["tracers"]):
        overhead_sweep.write_plot(rep, args.plot)
        if not args.json:
            sys.stdout.write(f"chart written to {args.plot}\n")
    if rep["interrupted"]:
        return 128 + rep["interrupted"]
    if any(t["status"] == "failed" for t in rep["tracers"]):
        return EXIT_FAILED
    return EXIT_OK
