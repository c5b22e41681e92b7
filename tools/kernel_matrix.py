"""Regenerate docs/kernels.md's measured matrix: the whole catalog under `--verify` and under
strace (attached by PID) on Debian's 6.1, 6.12 and newest (sid) kernels, in VMs, and on the host.

    python tools/kernel_matrix.py                  # every kernel, one at a time (hours under TCG)
    python tools/kernel_matrix.py --kernel debian:6.1 --kernel host
    python tools/kernel_matrix.py --render         # only rewrite the page from the JSON files
    python tools/kernel_matrix.py --kernel debian:6.1 --resume   # finish a run cut short
    python tools/kernel_matrix.py --kernel debian:6.1 --again iouring_op_file   # after a fix

Each run's report (`ioworkload kernels --json`) is kept as docs/kernels/<kernel>-<what>.json;
the page's tables between the MATRIX markers are built from the files present, so a kernel
that did not finish leaves its columns out (the page says which).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "docs", "kernels")
PAGE = os.path.join(ROOT, "docs", "kernels.md")
KERNELS = ["debian:6.1", "debian:6.12", "debian:sid", "host"]
RUNS = {"verify": ["verify", "--all"], "strace": ["check", "--all", "--tracer", "strace"]}
BEGIN, END = "<!-- MATRIX BEGIN (tools/kernel_matrix.py) -->", "<!-- MATRIX END -->"


def data_file(kernel: str, what: str) -> str:
    return os.path.join(DATA, f"{kernel.replace(':', '-')}-{what}.json")


def measure(kernel: str, what: str, timeout: str | None, resume: bool = False,
            again: list[str] | None = None) -> None:
    where = [] if kernel == "host" else ["--no-host", "--kernel", kernel]
    where += ["--timeout", timeout] if timeout else []
    selection = RUNS[what]
    earlier = _read(data_file(kernel, what)) if resume or again else None
    if again:
        if earlier is None:
            print(f"{kernel} {what}: no earlier run to measure again in", file=sys.stderr)
            return
        selection = [a for a in selection if a != "--all"]
        selection[1:1] = again
    elif earlier is not None:
        rest = not_reached(earlier)
        if not rest:
            print(f"{kernel} {what}: complete already", file=sys.stderr)
            return
        selection = [a for a in selection if a != "--all"]
        selection[1:1] = rest
    argv = [sys.executable, "-m", "ioworkload", "kernels", *where, "--json", *selection]
    print(f"{kernel} {what}: {' '.join(argv[2:])}", file=sys.stderr, flush=True)
    done = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
    if not done.stdout.strip():
        print(f"{kernel} {what}: no report (exit {done.returncode})", file=sys.stderr)
        return
    doc = json.loads(done.stdout)
    doc["commit"] = measured_commit()
    if again:
        doc = replaced(earlier, doc)
    elif earlier is not None:
        doc = resumed(earlier, doc)
    os.makedirs(DATA, exist_ok=True)
    with open(data_file(kernel, what) + ".part", "w") as f:
        json.dump(doc, f)
    os.rename(data_file(kernel, what) + ".part", data_file(kernel, what))


def _read(path: str) -> dict | None:
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        return None


def not_reached(doc: dict) -> list[str]:
    """The catalog's scenarios a run cut short did not reach (none when it was not cut)."""
    from ioworkload.core import registry
    (result,) = doc["kernels"]
    if not result.get("error"):
        return []
    done = {r["scenario"] for r in result["rows"]}
    return [n for n in registry.select([], [], True) if n not in done]


def resumed(earlier: dict, later: dict) -> dict:
    """A run cut short, with the rows of the run that took up the scenarios it did not reach."""
    (first,), (then,) = earlier["kernels"], later["kernels"]
    first["rows"] += then["rows"]
    first["seconds"] = (first.get("seconds") or 0) + (then.get("seconds") or 0)
    first["error"] = then["error"]
    earlier["runs"] = earlier.get("runs", 1) + 1
    if later.get("commit") != earlier.get("commit"):
        earlier["commit"] = f"{earlier.get('commit')} then {later.get('commit')}"
    return earlier


def replaced(earlier: dict, later: dict) -> dict:
    """The whole run, with the rows of the scenarios measured again (after a fix) in place of
    its own; the page names them with the commit and date of their run."""
    (first,), (then,) = earlier["kernels"], later["kernels"]
    new = {r["scenario"]: r for r in then["rows"]}
    first["rows"] = [new.pop(r["scenario"], r) for r in first["rows"]] + list(new.values())
    earlier.setdefault("again", []).append({"scenarios": sorted({r["scenario"] for r in then["rows"]}),
                                            "commit": later.get("commit"), "date": later.get("date")})
    return earlier


def measured_commit() -> str | None:
    """The commit the tree was at (other branches add scenarios while a kernel is measured)."""
    done = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                          capture_output=True, text=True)
    return done.stdout.strip() or None


def _load(what: str) -> list[dict]:
    results = []
    for kernel in KERNELS:
        try:
            with open(data_file(kernel, what)) as f:
                doc = json.load(f)
        except OSError:
            continue
        for k in doc["kernels"]:
            k["date"], k["commit"] = doc.get("date", ""), doc.get("commit") or "?"
            k["runs"] = doc.get("runs", 1)
            k["again"] = doc.get("again", [])
            results.append(k)
    return results


def render() -> str:
    from ioworkload.kernels import report
    out = [BEGIN]
    for what, title in (("verify", "Every scenario once with `--verify`"),
                        ("strace", "`ioworkload check --all --tracer strace`")):
        results = _load(what)
        out.append(f"\n### {title}\n")
        missing = [k for k in KERNELS if k not in {r["kernel"] for r in results}]
        if missing:
            out.append(f"Not measured (did not finish in time): {', '.join(missing)}.\n")
        if not results:
            continue
        head, body = report.kernels_table(results)
        head += ["date", "commit", "scenarios"]
        for row, r in zip(body, results):
            # a run cut short (--timeout) says so and why, with the rows it kept
            row += [r["date"], r["commit"], str(len(r["rows"]))
                    + (f" in {r['runs']} runs" if r["runs"] > 1 else "")
                    + (f" (partial: {r['error']})" if r.get("error") else "")]
        out.append(report.markdown(head, body, code_first=False))
        for r in results:
            for a in r["again"]:
                out.append(f"Measured again on {r['kernel']} after a fix, at {a['commit']} "
                           f"({a['date']}): {', '.join(f'`{n}`' for n in a['scenarios'])}.\n")
        out.append(report.markdown(*report.summary(results), code_first=False))
        out.append(report.markdown(*report.matrix(results)))
    out.append(END)
    return "\n".join(out)


def write_page() -> None:
    with open(PAGE) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        sys.exit(f"{PAGE} has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(PAGE, "w") as f:
        f.write(head + render() + tail)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kernel", action="append", choices=KERNELS, help="only these (repeatable)")
    p.add_argument("--what", action="append", choices=list(RUNS), help="only these runs")
    p.add_argument("--render", action="store_true", help="only rewrite the page")
    p.add_argument("--resume", action="store_true",
                   help="a run cut short before: only the scenarios it did not reach, added to it")
    p.add_argument("--again", action="append", metavar="SCENARIO",
                   help="measure these scenarios again (after a fix) and put their rows in "
                        "place of the run's own; the page names them (repeatable)")
    p.add_argument("--timeout", metavar="SECONDS",
                   help="stop each run after this long; the page keeps the rows it finished")
    args = p.parse_args()
    if not args.render:
        for kernel in args.kernel or KERNELS:
            for what in args.what or list(RUNS):
                measure(kernel, what, args.timeout, args.resume, args.again)
                write_page()  # each finished run shows at once
    write_page()
    return 0


if __name__ == "__main__":
    sys.exit(main())
