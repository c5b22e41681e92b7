"""`ioworkload overhead`'s command line: its options, then the study (overhead.py) and its
presentation (overhead_report.py, overhead_chart.py)."""

from __future__ import annotations

import json
import os
import sys

from ioworkload import registry, tracers as _tracers
from ioworkload.args import Parser, parse_count, parse_cpus, parse_seconds
from ioworkload.errors import EXIT_FAILED, EXIT_OK, Unsupported, UsageError
from ioworkload.overhead import (DEFAULT_ITERATIONS, DEFAULT_REPEAT, READY_TIMEOUT, RUN_TIMEOUT,
                                 Options, study)
from ioworkload.overhead_chart import check_plot, write_plot
from ioworkload.overhead_report import format_table
from ioworkload.tracers import Tracer


def _parser():
    p = Parser(prog="ioworkload overhead",
                description="Measure how much each tracer slows a scenario's syscall stream and "
                            "whether it counted every event.",
                epilog="Tracer presets: " + ", ".join(_tracers.PRESETS) + ". A custom tracer is a "
                       "command with {pid} (also {tid}, {syscalls}, {comm}), e.g. "
                       "--tracer 'strace -c -p {tid}'.")
    p.add_argument("scenario")
    p.add_argument("--tracer", action="append", metavar="T",
                   help="a preset or a command template; repeatable (default: every preset)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--iterations", "-n", metavar="N",
                   help=f"iterations per run (default {DEFAULT_ITERATIONS:,})")
    g.add_argument("--duration", "-d", metavar="SECONDS", help="run this long instead")
    p.add_argument("--repeat", "-r", default=str(DEFAULT_REPEAT), metavar="R",
                   help=f"interleaved rounds (default {DEFAULT_REPEAT})")
    p.add_argument("--cpu", metavar="C", help="tracee CPU (default: the last CPU)")
    p.add_argument("--tracer-cpu", metavar="LIST", help="pin tracers to these CPUs (default: unpinned)")
    p.add_argument("--ready-regex", metavar="RE", help="custom tracers: ready when a line matches")
    p.add_argument("--settle", metavar="SECONDS",
                   help="custom tracers: wait this long after start (or after --ready-regex)")
    p.add_argument("--ready-timeout", default=str(READY_TIMEOUT), metavar="SECONDS",
                   help=f"give up on a tracer not ready by then (default {READY_TIMEOUT:g})")
    p.add_argument("--timeout", metavar="SECONDS",
                   help=f"give up on a run after this long (default {RUN_TIMEOUT:g}, "
                        f"plus --duration)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--plot", metavar="FILE", help="write a chart (.png or .svg; needs matplotlib)")
    return p


def _tracer_list(args) -> list[Tracer]:
    settle = None
    if args.settle is not None:
        settle = parse_seconds(args.settle, "--settle", allow_zero=True)
    specs = args.tracer or list(_tracers.PRESETS)
    out: list[Tracer] = [_tracers.NoTracer()]
    seen = {"none"}
    for spec in specs:
        t = _tracers.resolve(spec, args.ready_regex, settle)
        if t.name not in seen:
            seen.add(t.name)
            out.append(t)
    return out


def parse(argv: list[str]) -> tuple[Options, list[Tracer], object]:
    args = _parser().parse_args(argv)
    sc = registry.get(args.scenario)
    iterations = duration = None
    if args.duration is not None:
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
                   ready_timeout=parse_seconds(args.ready_timeout, "--ready-timeout"))
    if args.plot is not None:
        check_plot(args.plot)
    reason = sc.unsupported_reason()
    if reason:
        raise Unsupported(reason)
    return opts, tracers, args


def main(argv: list[str]) -> int:
    opts, tracers, args = parse(argv)
    def show(text):
        sys.stderr.write(f"\r\033[K{text}")
        sys.stderr.flush()

    progress = show if not args.json and sys.stderr.isatty() else None
    rep = study(opts, tracers, progress)
    if progress:
        sys.stderr.write("\r\033[K")
    if args.json:
        sys.stdout.write(json.dumps(rep) + "\n")
    else:
        sys.stdout.write(format_table(rep))
    sys.stdout.flush()
    if args.plot and rep["tracers"][0]["slowdown"]:
        write_plot(rep, args.plot)
        if not args.json:
            sys.stdout.write(f"chart written to {args.plot}\n")
    if rep["interrupted"]:
        return 128 + rep["interrupted"]
    return EXIT_OK if rep["tracers"][0]["slowdown"] else EXIT_FAILED
