"""The chart of an `ioworkload overhead` study (matplotlib, an optional dependency)."""

from __future__ import annotations

import os
import textwrap

from ioworkload.errors import UsageError
from ioworkload.overhead_report import _fmt_x

PLOT_HINT = "pip install 'ioworkload[plot]' (or: pip install matplotlib)"


def check_plot(path: str) -> str:
    """Validate --plot before anything runs: format by suffix, matplotlib present, dir writable."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in ("png", "svg"):
        raise UsageError(f"--plot {path}: the file name must end in .png or .svg")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--plot {path}: directory {parent} is not writable")
    if os.path.isdir(path):
        raise UsageError(f"--plot {path} is a directory")
    try:
        import matplotlib
    except ImportError:
        raise UsageError(f"--plot needs matplotlib: {PLOT_HINT}") from None
    del matplotlib
    return ext


def write_plot(rep: dict, path: str) -> None:
    """Slowdown per tracer on a log axis, min/max whiskers, titled with scenario and machine."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [t for t in rep["tracers"] if t["slowdown"]]
    missing = [t for t in rep["tracers"] if not t["slowdown"]]
    names = [t["name"] if len(t["name"]) <= 30 else t["name"][:27] + "..." for t in rows]
    med = [t["slowdown"]["median"] for t in rows]
    lo = [max(0.0, m - t["slowdown"]["min"]) for m, t in zip(med, rows)]
    hi = [max(0.0, t["slowdown"]["max"] - m) for m, t in zip(med, rows)]
    fig, ax = plt.subplots(figsize=(9, 1.9 + 0.42 * max(1, len(rows))))
    y = list(range(len(rows)))
    colors = ["#777777" if t["kind"] == "none" else "#1f77b4" if t["accuracy"] in (None, 1.0)
              else "#d62728" for t in rows]
    ax.barh(y, [m - 1 if m > 1 else 0 for m in med], left=1, height=0.5, color=colors, alpha=0.35)
    ax.errorbar(med, y, xerr=[lo, hi], fmt="none", ecolor="black", capsize=4, lw=1)
    ax.scatter(med, y, color=colors, zorder=3, s=22)
    ax.set_xscale("log")
    top = max([t["slowdown"]["max"] for t in rows] + [2.0])
    ax.set_xlim(0.8, top * 3)
    for yi, t, m in zip(y, rows, med):
        label = _fmt_x(m)
        if t["accuracy"] is not None:
            label += f"   accuracy {t['accuracy']:.4f}"
        ax.text(t["slowdown"]["max"] * 1.12, yi, label, va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("slowdown vs untraced, log scale (median of paired runs; whiskers: min-max)")
    amount = f"{rep['duration']:g} s" if rep["duration"] else f"{rep['iterations']:,} iterations"
    ax.set_title(f"ioworkload overhead: {rep['scenario']} ({amount} x {rep['repeat']} rounds)\n"
                 + textwrap.fill(rep["machine"], 115), fontsize=9)
    if missing:
        fig.text(0.01, 0.01, "not measured: " + "; ".join(
            f"{t['name'][:30]} ({t['status']}: {(t['reason'] or '')[:60]})" for t in missing),
            fontsize=7, wrap=True)
    if any(c == "#d62728" for c in colors):
        ax.text(0.99, 0.01, "red: the tracer reported fewer events than were issued",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="#d62728")
    ax.grid(axis="x", which="both", alpha=0.25)
    fig.tight_layout(rect=(0, 0.04 if missing else 0, 1, 1))
    fig.savefig(path, format=os.path.splitext(path)[1].lower().lstrip("."), dpi=130)
    plt.close(fig)
