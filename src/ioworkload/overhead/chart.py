"""The chart of an `ioworkload overhead` study (matplotlib, an optional dependency)."""

from __future__ import annotations

import os
import textwrap

from ioworkload.core.errors import UsageError
from ioworkload.overhead.report import _fmt_x

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


LABEL_WIDTH = 28        # characters per line of a tracer's label before it wraps
RED = "#d62728"


def _wrap(name: str) -> str:
    return "\n".join(textwrap.wrap(name, LABEL_WIDTH, break_on_hyphens=False)[:3])


def _fmt_added(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.3g} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.3g} \u00b5s"
    return f"{ns:.3g} ns"


def _fmt_tick_x(v: float) -> str:
    return f"{v:,.0f}x" if v >= 1 else f"{v:g}x"


def _readable_log_axis(axis, fmt, lo: float, hi: float) -> None:
    """Major ticks at 1, 2, 5 x 10^k (only 10^k over a wide range) labelled in plain words
    (2x, 10 us, never 2x10^0); no minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    subs = (1.0, 2.0, 5.0) if hi / lo <= 300 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt(v)))
    axis.set_minor_formatter(NullFormatter())


def write_plot(rep: dict, path: str) -> None:
    """Per tracer: its slowdown (left) and the nanoseconds it adds to each call (right), both on
    log axes with min/max whiskers; titled with scenario and machine."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [t for t in rep["tracers"] if t["slowdown"]]
    missing = [t for t in rep["tracers"] if not t["slowdown"]]
    labels = [_wrap(t["name"]) for t in rows]
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, (ax, ax_ns) = plt.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": (3, 2)},
                                    figsize=(11, 2.2 + 0.3 * max(1, lines) + 0.15 * len(rows)))
    y = list(range(len(rows)))
    colors = ["#777777" if t["kind"] == "none" else "#1f77b4" if t["accuracy"] in (None, 1.0)
              else RED for t in rows]

    med = [t["slowdown"]["median"] for t in rows]
    lo = [max(0.0, m - t["slowdown"]["min"]) for m, t in zip(med, rows)]
    hi = [max(0.0, t["slowdown"]["max"] - m) for m, t in zip(med, rows)]
    ax.barh(y, [m - 1 if m > 1 else 0 for m in med], left=1, height=0.5, color=colors, alpha=0.35)
    ax.errorbar(med, y, xerr=[lo, hi], fmt="none", ecolor="black", capsize=4, lw=1)
    ax.scatter(med, y, color=colors, zorder=3, s=22)
    ax.set_xscale("log")
    top = max([t["slowdown"]["max"] for t in rows] + [2.0])
    ax.set_xlim(0.8, top * 20)  # room for the labels right of the whiskers
    _readable_log_axis(ax.xaxis, _fmt_tick_x, 0.8, top * 20)
    for yi, t, m in zip(y, rows, med):
        label = _fmt_x(m)
        if t["accuracy"] is not None:
            label += f"  accuracy {t['accuracy']:.4f}"
        ax.text(t["slowdown"]["max"] * 1.12, yi, label, va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("slowdown vs untraced (median of paired runs; whiskers: min-max)", fontsize=8)
    ax.grid(axis="x", which="major", alpha=0.25)

    # added ns per call: what a tracer costs each syscall, whatever the syscall's own cost
    added = [t["added_ns_per_syscall"] for t in rows]
    floor = min([a for a in added if a and a > 0] + [10.0]) / 3
    for yi, t, a in zip(y, rows, added):
        runs = [r["added_ns"] for r in t["runs"] if r.get("added_ns") is not None]
        if a is None or t["kind"] == "none":
            continue
        x = max(a, floor)
        if runs:
            ax_ns.errorbar([x], [yi], xerr=[[max(0.0, x - max(min(runs), floor))],
                                            [max(0.0, max(runs) - x)]],
                           fmt="none", ecolor="black", capsize=4, lw=1)
        ax_ns.scatter([x], [yi], color=colors[yi], zorder=3, s=22)
        ax_ns.text(max(max(runs, default=x), x) * 1.15, yi,
                   "+" + _fmt_added(a) if a > 0 else "no measurable cost", va="center", fontsize=8)
    ax_ns.set_xscale("log")
    biggest = max([max((r["added_ns"] for r in t["runs"] if r.get("added_ns") is not None),
                       default=0) for t in rows] + [floor * 10])
    ax_ns.set_xlim(floor * 0.8, biggest * 8)
    _readable_log_axis(ax_ns.xaxis, _fmt_added, floor * 0.8, biggest * 8)
    ax_ns.set_xlabel("added time per syscall (median; whiskers: min-max)", fontsize=8)
    ax_ns.grid(axis="x", which="major", alpha=0.25)
    for a in (ax, ax_ns):
        a.tick_params(axis="x", labelsize=7)

    amount = f"{rep['duration']:g} s" if rep["duration"] else f"{rep['iterations']:,} iterations"
    fig.suptitle(textwrap.fill(f"ioworkload overhead: {rep['scenario']} ({amount} x "
                               f"{rep['repeat']} rounds)", 110) + "\n"
                 + textwrap.fill(rep["machine"], 130), fontsize=9)
    if missing:
        fig.text(0.01, 0.01, textwrap.fill("not measured: " + "; ".join(
            f"{t['name'][:40]} ({t['status']}: {(t['reason'] or '')[:60]})" for t in missing), 170),
            fontsize=7)
    if RED in colors:
        ax.text(0.99, 0.01, "red: the tracer reported fewer events than were issued",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color=RED)
    fig.tight_layout(rect=(0, 0.05 if missing else 0, 1, 1))
    fig.savefig(path, format=os.path.splitext(path)[1].lower().lstrip("."), dpi=130)
    plt.close(fig)


def write_table_plot(rep: dict, path: str) -> None:
    """The per-syscall table (overhead_table) as a chart: one group per scenario (its loop
    syscalls), one bar per tracer, the nanoseconds it adds to each call on a log axis; a tracer
    that lost events is hatched."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = rep["tracers"]
    rows = rep["rows"]
    cmap = plt.get_cmap("tab10")
    n = max(1, len(names))
    band = 0.8 / n
    fig, ax = plt.subplots(figsize=(10, 1.6 + len(rows) * (0.25 + 0.16 * n)))
    values = [c["added_ns"] for row in rows for c in row["tracers"].values()
              if c.get("added_ns") is not None and c["added_ns"] > 0]
    floor = (min(values) / 3) if values else 1.0
    for j, name in enumerate(names):
        ys, xs, hatches = [], [], []
        for i, row in enumerate(rows):
            c = row["tracers"].get(name)
            if not c or c.get("added_ns") is None:
                continue
            ys.append(i - 0.4 + band * (j + 0.5))
            xs.append(max(c["added_ns"], floor))
            hatches.append("//" if c["accuracy"] is not None and c["accuracy"] < 1.0 else "")
        bars = ax.barh(ys, xs, height=band * 0.9, color=cmap(j % 10), label=_wrap(name))
        for bar, h, x, yy in zip(bars, hatches, xs, ys):
            bar.set_hatch(h)
            ax.text(x * 1.08, yy, "+" + _fmt_added(x), va="center", fontsize=6)
    ax.set_xscale("log")
    top = max(values + [floor * 10])
    ax.set_xlim(floor * 0.8, top * 4)  # room for the labels right of the bars
    _readable_log_axis(ax.xaxis, _fmt_added, floor * 0.8, top * 4)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([_wrap("+".join(r["syscalls"])) + f"\n({r['scenario']})" for r in rows],
                       fontsize=7)
    ax.invert_yaxis()
    ax.grid(axis="x", which="major", alpha=0.25)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("added time per syscall (median of paired runs; hatched: lost events)",
                  fontsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    amount = (f"{rep['duration']:g} s" if rep["duration"] else
              f"{rep['iterations']:,} iterations" if rep["iterations"] else "")
    fig.suptitle(textwrap.fill(f"ioworkload overhead per syscall ({amount} x {rep['repeat']} "
                               "rounds)", 110) + "\n" + textwrap.fill(rep["machine"] or "", 130),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format=os.path.splitext(path)[1].lower().lstrip("."), dpi=130)
    plt.close(fig)
