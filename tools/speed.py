"""Regenerates docs/performance.md's speed tables: the speed targets (`pytest benchmarks -m
targets`, ratios against a C loop in the same run) and the rates of a dozen scenarios (`pytest
benchmarks --benchmark-only`), with pytest-benchmark's JSON in docs/results/. As root, from the
repository's root, in the venv with '.[test]' installed:

    python tools/speed.py          (about 5 minutes on 2 vCPUs)

A target missed on a loaded machine is published as missed (the table's `met` column); the exit
status is pytest's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import published  # noqa: E402

RATE_SCENARIOS = ["enosys", "getppid", "gettid", "close_invalid_fd", "aio_setup_einval",
                  "readwrite_basic", "stat_basic", "open_basic", "xattr_getxattr", "rename_basic",
                  "mmap_basic", "sync_sync"]


def _bench(args: list[str], json_name: str) -> tuple[int, list[dict]]:
    out = os.path.join(published.RESULTS, json_name)
    os.makedirs(published.RESULTS, exist_ok=True)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--benchmark-json={out}"]
    status = subprocess.run(cmd + args, cwd=published.ROOT).returncode
    with open(out) as f:
        data = json.load(f)
    data["provenance"] = published.provenance()
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    return status, data["benchmarks"]


def _ns(x: float) -> str:
    return f"{x:,.1f} ns"


def targets_table(benchmarks: list[dict]) -> str:
    by = {b["name"]: b["extra_info"] for b in benchmarks}
    rows = []
    for scenario, what in (("getppid", "the inline-asm C loop"),
                           ("aio_setup_einval", "the inline-asm C `io_setup(0)` loop")):
        e = by.get(f"test_within_3_percent_of_inline_asm_c_loop[{scenario}-"
                   f"{'getppid' if scenario == 'getppid' else 'io_setup'}]")
        if e:
            rows.append((f"{scenario} within 3% of {what}", _ns(e["ns_per_syscall"]),
                         _ns(e["c_inline_asm_ns"]), f"{e['ratio_vs_c']:.3f}",
                         e["ratio_vs_c"] <= 1.03,
                         f"libc `syscall()` in the same loop: {e['c_libc_syscall_ns']:,.1f} ns"))
    e = by.get("test_getppid_fastest_round_within_3_percent_of_c_loop_fastest")
    if e:
        rows.append(("getppid's fastest round within 3% of the inline-asm C loop's fastest",
                     _ns(e["fastest_ns"]), _ns(e["c_fastest_ns"]), f"{e['fastest_ratio']:.3f}",
                     e["fastest_ratio"] <= 1.03,
                     f"medians {e['median_ns']:,.1f} and {e['c_median_ns']:,.1f} ns"))
    e = by.get("test_getppid_never_measurably_slower_than_perf_bench_syscall_basic")
    if e:
        rows.append(("getppid never measurably slower than `perf bench syscall basic`",
                     _ns(e["ns_per_syscall"]), _ns(e["perf_bench_ns"]),
                     f"{e['ratio_vs_perf_bench']:.3f}",
                     e["lower_quartile_ratio_vs_perf_bench"] <= 1.0,
                     f"lower quartile {e['lower_quartile_ratio_vs_perf_bench']:.3f}"))
    e = by.get("test_two_threads_scale")
    if e:
        rows.append(("`--threads 2` at least 1.8x the single-thread aggregate rate",
                     f"{e['rate_2_threads'] / 1e6:.2f} M/s", f"{e['rate_1_thread'] / 1e6:.2f} M/s",
                     f"{e['scaling']:.2f}x", e["scaling"] >= 1.8, ""))
    e = by.get("test_peak_rss_independent_of_iterations")
    if e:
        diff = e["rss_kib_1e7"] - e["rss_kib_1e3"]
        rows.append(("peak RSS the same at 1e3 and 1e7 iterations", f"{e['rss_kib_1e7']:,} KiB",
                     f"{e['rss_kib_1e3']:,} KiB", f"{diff:+,} KiB", abs(diff) <= 1024, ""))
    e = by.get("test_cli_start_to_exit")
    if e:
        rows.append(("`python -m ioworkload getppid`, start to exit", f"{e['median_ms']:.0f} ms", "",
                     "< 150 ms", e["median_ms"] < 150, ""))
    out = ["| target | ioworkload | reference | ratio | met | note |", "|---|---:|---:|---:|---|---|"]
    out += [f"| {t} | {a} | {b} | {r} | {'yes' if met else 'no'} | {note} |"
            for t, a, b, r, met, note in rows]
    return "\n".join(out) + "\n"


def rates_table(benchmarks: list[dict]) -> str:
    rows = sorted((b["extra_info"] for b in benchmarks), key=lambda e: e["ns_per_syscall"] or 0)
    out = ["| scenario | ns/syscall | syscalls/s | syscalls an iteration | iterations a round |",
           "|---|---:|---:|---:|---:|"]
    out += [f"| `{e['scenario']}` | {e['ns_per_syscall']:,.0f} | {e['syscalls_per_second']:,.0f} | "
            f"{e['syscalls_per_iteration']} | {e['iterations']:,} |" for e in rows]
    return "\n".join(out) + "\n"


def main() -> int:
    status_t, targets = _bench(["benchmarks", "-m", "targets"], "speed-targets.json")
    ids = [f"benchmarks/test_bench_scenarios.py::test_scenario_rate[{n}]" for n in RATE_SCENARIOS]
    status_r, rates = _bench(["--benchmark-only"] + ids, "rates.json")
    line = published.provenance_line(published.provenance())
    import ioworkload
    editable = os.path.abspath(ioworkload.__file__).startswith(published.ROOT + os.sep)
    install = ("an editable install (its start-up checks the build: slower)" if editable
               else "a regular install")
    published.publish("performance.md", "speed-targets",
                      f"{line} From {install}, pinned to one CPU.\n\n" + targets_table(targets))
    published.publish("performance.md", "rates", line + "\n\n" + rates_table(rates))
    return status_t or status_r


if __name__ == "__main__":
    sys.exit(main())
