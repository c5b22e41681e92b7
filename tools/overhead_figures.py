"""Regenerates docs/performance.md's tracer-overhead figures, each with its JSON in docs/results/:

  overhead-study        every preset on aio_setup_einval (`ioworkload overhead`), and its chart
  overhead-per-syscall  every preset over the baseline family: ns added per syscall, and its chart
  bpf-cost              what the eBPF programs themselves cost (from the same runs)
  lossless-rate         the highest rate each tracer reports every event at (`--sweep-rate`)

As root, from the repository's root, in the venv with '.[test,plot]' installed:

    python tools/overhead_figures.py        (about 6 minutes on 2 vCPUs)

A tracer that fails is named in the figures and the script carries on; exit 1 if any did."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import published  # noqa: E402

SWEEP_TRACERS = ["perf-trace", "bpftrace-printf", "perf-stat", "bpftrace-count", "strace"]


def _overhead(args: list[str], json_name: str) -> tuple[int, dict]:
    cmd = [sys.executable, "-m", "ioworkload", "overhead"] + args + ["--json"]
    print("$ " + " ".join(cmd[1:]), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=published.ROOT)
    rep = json.loads(p.stdout)
    published.write_json(json_name, {"provenance": published.provenance(), "command": cmd[1:],
                                     "report": rep})
    return p.returncode, rep


def _bpf_cost_asked() -> list[str]:
    """The option that asks for the eBPF programs' cost run, where it must be asked for."""
    help_text = subprocess.run([sys.executable, "-m", "ioworkload", "overhead", "--help"],
                               stdout=subprocess.PIPE, text=True).stdout
    return ["--bpf-cost"] if re.search(r"(?<![\w-])--bpf-cost\b", help_text) else []


def _code(text: str) -> str:
    return "```\n" + text.rstrip("\n") + "\n```\n"


def main() -> int:
    from ioworkload.overhead import report, sweep, table
    results = published.RESULTS
    os.makedirs(results, exist_ok=True)
    failed = 0

    rc, rep = _overhead(["aio_setup_einval", "--iterations", "1e5", "--repeat", "3",
                         "--plot", os.path.join(results, "overhead.png")], "overhead-study.json")
    failed |= rc
    published.publish("performance.md", "overhead-study",
                      published.provenance_line(published.provenance()) + "\n\n"
                      + _code(report.format_table(rep))
                      + "\n![slowdown of each tracer on aio_setup_einval, log scale]"
                        "(results/overhead.png)\n")

    rc, rep = _overhead(["--family", "baseline", "--iterations", "1e5", "--repeat", "3",
                         "--traced-seconds", "0.5"] + _bpf_cost_asked() + [
                         "--plot", os.path.join(results, "overhead-per-syscall.png")],
                        "overhead-per-syscall.json")
    failed |= rc
    md = table.format_markdown(rep)
    main_table, _, rest = md.partition("\n\n")
    bpf = rest.split("\n\n", 1)[0] if rest.startswith("|") else ""
    notes = rest.split("\n\n", 1)[-1] if bpf else rest
    published.publish("performance.md", "overhead-per-syscall",
                      published.provenance_line(published.provenance())
                      + " `--iterations 1e5 --repeat 3 --traced-seconds 0.5`, with the eBPF cost run.\n\n"
                      + main_table + "\n\n" + notes.rstrip("\n") + "\n\n"
                      "![added ns per syscall per tracer over the baseline family]"
                      "(results/overhead-per-syscall.png)\n")
    published.publish("performance.md", "bpf-cost",
                      (bpf or "No eBPF tracer ran (bpftrace missing?).") + "\n")

    args = ["getppid", "--sweep-rate", "--duration", "0.5"]
    for t in SWEEP_TRACERS:
        args += ["--tracer", t]
    rc, rep = _overhead(args, "lossless-rate.json")
    failed |= rc
    sweep.write_plot(rep, os.path.join(results, "lossless-rate.png"))
    for t in rep["tracers"]:
        if t.get("never_lost"):
            t["lossless_rate"] = math.inf
    published.publish("performance.md", "lossless-rate",
                      published.provenance_line(published.provenance()) + "\n\n"
                      + _code(sweep.format_text(rep))
                      + "\n![accuracy against the rate: where each tracer starts losing events]"
                        "(results/lossless-rate.png)\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
