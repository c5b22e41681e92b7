"""The kernel x scenario matrix: text, Markdown or JSON, from the per-kernel results.

A result is {"kernel": spec, "release", "how", "seconds", "error", "rows": [{scenario, tracer,
status, reason, differences}]}; `error` (the VM did not boot, the kernel could not be fetched)
stands in every cell of that kernel's column, `unsupported: ...` when the host cannot run it.
"""

from __future__ import annotations

import json

from ioworkload.core.errors import EXIT_FAILED, EXIT_OK, EXIT_UNSUPPORTED

FAILING = ("wrong", "error")
DIFFERENCES_SHOWN = 20


def cell(row: dict | None, result: dict) -> str:
    """One cell: the verdict, `unsupported: <reason>`, or why the kernel gave none."""
    if row is None:
        if result.get("error"):
            return result["error"]
        return "not run"
    status = row["status"]
    if status == "wrong":
        return f"WRONG ({len(row['differences']) or 1})"
    if status in ("unsupported", "error"):
        return f"{status}: {row['reason']}" if row["reason"] else status
    if status == "measured" and row["reason"]:
        return row["reason"]
    if status == "lost":
        return f"lost ({row.get('lost', '?')} dropped)"
    return status


def _row_keys(results: list[dict]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((r["scenario"], r["tracer"]) for res in results
                              for r in res.get("rows", [])))


def matrix(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    """(header, body) of the table: one row per scenario (and tracer, when there are several),
    one column per kernel."""
    keys = _row_keys(results)
    several_tracers = len({t for _, t in keys}) > 1
    head = ["scenario"] + (["tracer"] if several_tracers else []) + [r["kernel"] for r in results]
    index = [{(r["scenario"], r["tracer"]): r for r in res.get("rows", [])} for res in results]
    body = []
    for scenario, tracer in keys:
        body.append([scenario] + ([tracer] if several_tracers else [])
                    + [cell(idx.get((scenario, tracer)), res) for idx, res in zip(index, results)])
    return head, body


def kernels_table(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    head = ["kernel", "release", "how it ran", "seconds"]
    body = [[r["kernel"], r.get("release") or "?", r.get("how") or "",
             f"{r['seconds']:.0f}" if isinstance(r.get("seconds"), (int, float)) else ""]
            for r in results]
    return head, body


def summary(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Per kernel, how many cells of each verdict."""
    statuses = sorted({r["status"] for res in results for r in res.get("rows", [])})
    head = ["kernel"] + statuses
    body = [[res["kernel"]] + [str(sum(1 for r in res.get("rows", []) if r["status"] == s))
                               for s in statuses] for res in results]
    return head, body


def _text(head: list[str], body: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n"
                   for r in [head] + body)


def markdown(head: list[str], body: list[list[str]], code_first: bool = True) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(f"`{c}`" if i == 0 and code_first else esc(c)
                              for i, c in enumerate(r)) + " |" for r in body]
    return "\n".join(out) + "\n"


def differences(results: list[dict]) -> list[str]:
    """What went wrong, cell by cell, for the text report (--json has it all)."""
    lines = []
    for res in results:
        for r in res.get("rows", []):
            if r["status"] not in FAILING:
                continue
            where = f"{res['kernel']}: {r['scenario']} / {r['tracer']}"
            for d in r["differences"][:DIFFERENCES_SHOWN]:
                lines.append(f"  {where}: {d}")
            if len(r["differences"]) > DIFFERENCES_SHOWN:
                lines.append(f"  {where}: ... {len(r['differences']) - DIFFERENCES_SHOWN} more "
                             f"(--json lists them all)")
    return lines


def kernel_errors(results: list[dict]) -> list[str]:
    """Why a kernel gave no result at all (its cells say it too, when others gave rows)."""
    return [f"{r['kernel']}: {r['error']}" for r in results if r.get("error")]


def render(report: dict, fmt: str) -> str:
    results = report["kernels"]
    if fmt == "json":
        return json.dumps(report) + "\n"
    errors = kernel_errors(results)
    if fmt == "markdown":
        return (markdown(*kernels_table(results)) + "\n" + markdown(*summary(results)) + "\n"
                + markdown(*matrix(results))
                + "".join(f"\n- {e}" for e in errors) + ("\n" if errors else ""))
    out = _text(*kernels_table(results)) + "\n" + _text(*matrix(results))
    more = ["  " + e for e in errors] + differences(results)
    return out + ("\n" + "\n".join(more) + "\n" if more else "")


def exit_code(results: list[dict]) -> int:
    """1 when any cell is wrong or a kernel failed, 77 when nothing could run, else 0."""
    cells = [r["status"] for res in results for r in res.get("rows", [])]
    failed = [res for res in results if res.get("error") and not res.get("unsupported")]
    if failed or any(s in FAILING for s in cells):
        return EXIT_FAILED
    if all(s == "unsupported" for s in cells):
        return EXIT_UNSUPPORTED
    return EXIT_OK
