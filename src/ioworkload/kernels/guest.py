"""The side of `ioworkload kernels` that runs on the kernel under test (in the VM, or on the
host for its own column): `python -m ioworkload.kernels.guest RESULT.json COMMAND [ARGS...]`.

COMMAND is one of
  verify [SCENARIO...] [--family F] [--all] [-n N]   each scenario run once with --verify
  check ARGS...                                      `ioworkload check ARGS --json`
  overhead ARGS...                                   `ioworkload overhead ARGS --json`
Each becomes rows {scenario, tracer, status, reason, differences} in RESULT.json, with the
kernel's release; the command's own output goes to stderr, where the VM's log keeps it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

from ioworkload.core.args import Parser, parse_count, timeout_scale
from ioworkload.core.errors import EXIT_UNSUPPORTED, UsageError

COMMANDS = ("verify", "check", "overhead")
SCENARIO_TIMEOUT = 300.0  # one scenario with --verify, before the timeout scale
COMMAND_TIMEOUT = 6 * 3600.0  # a whole check or overhead run, before the timeout scale
CHECK_BATCH = 8  # scenarios a check run judges in a guest before its rows are saved
VERIFIED = "verified"


def _verify_parser() -> Parser:
    p = Parser(prog="ioworkload kernels ... verify",
               description="Run each scenario once with --verify.")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO")
    p.add_argument("--family", action="append", default=[], help="every scenario of a family")
    p.add_argument("--all", action="store_true", help="the whole catalog")
    p.add_argument("--iterations", "-n", default="1", metavar="N")
    return p


def verify_selection(argv: list[str]) -> tuple[list[str], int]:
    """The scenario names and iterations a `verify` command asks for; bad input: UsageError."""
    from ioworkload.core import registry
    args = _verify_parser().parse_args(argv)
    return registry.select(args.scenarios, args.family, args.all), parse_count(args.iterations)


def validate(command: str, argv: list[str]) -> None:
    """Fail on the host, before any VM boots, on what the guest would refuse."""
    if command not in COMMANDS:
        raise UsageError(f"unknown command {command!r}: one of {', '.join(COMMANDS)}")
    if command == "verify":
        verify_selection(argv)
    elif any(a in ("--json", "--markdown", "--plot") or a.startswith("--plot=") for a in argv):
        raise UsageError(f"{command}: leave out --json, --markdown and --plot: the kernels "
                         f"command asks for JSON itself and prints its own report")


def _ioworkload(*argv: str) -> list[str]:
    return [sys.executable, "-m", "ioworkload", *argv]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def verify_one(name: str, iterations: int) -> dict:
    """One scenario with --verify, judged by its report, not its exit code alone (`crash`
    exits 1 by design): verified when it issued its manifest and the kernel's counts agree;
    77 is unsupported (its reason); anything else wrong (its mismatches) or an error."""
    row = {"scenario": name, "tracer": "verify", "reason": "", "differences": []}
    timeout = SCENARIO_TIMEOUT * timeout_scale()
    try:
        done = subprocess.run(_ioworkload(name, "-n", str(iterations), "--verify", "--json"),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(row, status="error", reason=f"did not end within {timeout:g} s")
    if done.returncode == EXIT_UNSUPPORTED:
        return dict(row, status="unsupported",
                    reason=_last_line(done.stderr).removeprefix("unsupported: "))
    try:
        res = json.loads(done.stdout)
    except ValueError:
        return dict(row, status="error",
                    reason=f"exit status {done.returncode}: {_last_line(done.stderr)}")
    if res["ok"] and res["verified"] is True and not res["interrupted"]:
        return dict(row, status=VERIFIED)
    differences = list(res["mismatches"]) + [
        f"{r['counter']}: expected {r.get('expected')}, the kernel counted {r.get('witnessed')}"
        for r in res.get("verification") or [] if not r["ok"]]
    if res["verified"] is None:
        differences.append("not verified: " + _last_line(done.stderr))
    return dict(row, status="wrong", reason=differences[0] if differences else "",
                differences=differences)


def run_verify(argv: list[str], save) -> list[dict]:
    """Each scenario in turn; `save(rows)` after each, so a run cut short still has them."""
    names, iterations = verify_selection(argv)
    rows = []
    for i, name in enumerate(names):
        print(f"[{i + 1}/{len(names)}] {name} --verify", file=sys.stderr, flush=True)
        rows.append(verify_one(name, iterations))
        save(rows)
    return rows


def _json_command(command: str, argv: list[str]):
    """`ioworkload COMMAND ARGV --json`, its report parsed; its progress goes to stderr."""
    timeout = COMMAND_TIMEOUT * timeout_scale()
    try:
        done = subprocess.run(_ioworkload(command, *argv, "--json"), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=None, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{command} did not end within {timeout:g} s") from None
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise RuntimeError(f"{command} exited {done.returncode} without a JSON report") from None


def check_batches(argv: list[str]) -> tuple[list[str], list[list[str]]]:
    """`check`'s arguments without its selection (SCENARIO..., --family F, --all), and the
    scenarios selected, in batches of CHECK_BATCH; ([argv], [[]]) when nothing is selected
    (offline judging). A token is taken for a scenario when it names one: the values of
    check's other options (a tracer, a template, a count, capabilities) never do."""
    from ioworkload.core import registry
    known = registry.all_scenarios()
    rest, names, families, everything = [], [], [], False
    tokens = iter(argv)
    for token in tokens:
        if token == "--all":
            everything = True
        elif token == "--family":
            families.append(next(tokens, ""))
        elif token.startswith("--family="):
            families.append(token.split("=", 1)[1])
        elif not token.startswith("-") and registry.normalize(token) in known:
            names.append(token)
        else:
            rest.append(token)
    if not (names or families or everything):
        return argv, [[]]
    chosen = registry.select(names, families, everything)
    return rest, [chosen[i:i + CHECK_BATCH] for i in range(0, len(chosen), CHECK_BATCH)]


def check_rows(report: list[dict]) -> list[dict]:
    return [{"scenario": r["scenario"], "tracer": r["tracer"], "status": r["status"],
             "reason": r.get("reason") or "", "differences": r.get("differences", [])}
            for r in report]


def run_check(argv: list[str], save) -> list[dict]:
    """`ioworkload check` batch by batch, `save(rows)` after each: a check of the whole
    catalog takes hours in a slow guest, and a run cut short keeps the batches it finished."""
    rest, batches = check_batches(argv)
    total, done, rows = sum(len(b) for b in batches), 0, []
    for batch in batches:
        if total:
            print(f"[{done + 1}/{total}] check {' '.join(batch)}", file=sys.stderr, flush=True)
        rows += check_rows(_json_command("check", batch + rest))
        done += len(batch)
        save(rows)
    return rows


def _overhead_cell(scenario: str, tracer: str, status: str, reason: str, slowdown) -> dict:
    if status == "unavailable":
        status = "unsupported"
    elif status == "failed":
        status = "error"
    elif isinstance(slowdown, (int, float)):
        status, reason = "measured", f"{slowdown:.2f}x"
    return {"scenario": scenario, "tracer": tracer, "status": status, "reason": reason or "",
            "differences": []}


def overhead_rows(rep: dict) -> list[dict]:
    """The matrix's rows of an overhead report (one study, or the table of --family/--all):
    per scenario the untraced ns a call (tracer `none`), and each tracer's median slowdown."""
    rows = []
    if "rows" in rep:  # the table
        for r in rep["rows"]:
            untraced = r.get("untraced_ns")
            rows.append({"scenario": r["scenario"], "tracer": "none", "status": "measured",
                         "reason": f"{untraced:.0f} ns/call" if untraced else "", "differences": []})
            for name, t in r["tracers"].items():
                rows.append(_overhead_cell(r["scenario"], name, t["status"], t.get("reason"),
                                           t.get("slowdown")))
        for r in rep.get("skipped", []):
            rows.append(_overhead_cell(r["scenario"], "none", r["status"], r["reason"], None))
        return rows
    for t in rep["tracers"]:
        if t["name"] == "none":
            ns = (t.get("ns_per_syscall") or {}).get("median")
            rows.append({"scenario": rep["scenario"], "tracer": "none", "status": "measured",
                         "reason": f"{ns:.0f} ns/call" if ns else "", "differences": []})
        else:
            rows.append(_overhead_cell(rep["scenario"], t["name"], t["status"], t.get("reason"),
                                       (t.get("slowdown") or {}).get("median")))
    return rows


def write_result(out: str, result: dict) -> None:
    with open(out + ".part", "w") as f:
        json.dump(result, f)
    os.rename(out + ".part", out)  # the host reads a whole file or none


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write("usage: python -m ioworkload.kernels.guest RESULT.json COMMAND [ARGS...]\n")
        return 2
    out, command, rest = argv[0], argv[1], argv[2:]
    if command == "--argv-file" and len(rest) == 1:  # how vm.py passes it (no length limit)
        with open(rest[0]) as f:
            command, *rest = json.load(f)
    result = {"release": platform.release(), "rows": [], "error": None, "complete": False}
    began = time.monotonic()

    def save(rows):
        result["rows"], result["seconds"] = rows, round(time.monotonic() - began, 1)
        write_result(out, result)
    try:
        validate(command, rest)
        if command == "verify":
            rows = run_verify(rest, save)
        elif command == "check":
            rows = run_check(rest, save)
        else:
            rows = overhead_rows(_json_command(command, rest))
        result["complete"] = True
        save(rows)
    except (UsageError, RuntimeError, OSError) as e:
        result["error"] = str(e)
        save(result["rows"])
    return 0 if result["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
