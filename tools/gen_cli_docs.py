"""Writes the man page ioworkload(1) (man/ioworkload.1) and the CLI reference (docs/cli.md) from
the command's own argument parsers, so neither can drift from `--help`:

    python tools/gen_cli_docs.py            (from the repository's root, in the venv)

tests/test_docs.py renders both again and fails when a committed file differs: after changing an
option or its help, run this and commit what it wrote."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAN_PAGE = os.path.join(ROOT, "man", "ioworkload.1")
CLI_DOC = os.path.join(ROOT, "docs", "cli.md")
WIDTH = "80"  # argparse wraps usage lines to $COLUMNS: fixed, so the output is the same anywhere

SUMMARY = ("named, exactly-counted Linux syscall workloads for testing and measuring syscall "
           "tracers")
DESCRIPTION = [
    "Runs a named scenario: a repeatable stream of known syscalls, issued by a nogil loop through "
    "the syscall instruction itself, in a process of its own whose every syscall from the "
    "release to its exit is declared (an expect document with each thread's calls, returns and "
    "arguments). --verify has the kernel's tracepoints count the run; check judges a tracer's "
    "output against the expect document; overhead measures what a tracer adds to each syscall.",
    "Scenario names are snake_case; ior's hyphenated spelling works too. ioworkload "
    "--scenario=NAME speaks ior's workload protocol (ior mode).",
]
EXIT_STATUS = [
    ("0", "the run issued exactly what its manifest says (and the kernel agreed, with --verify); "
          "check: nothing wrong; overhead: every tracer ran"),
    ("1", "the scenario failed or issued something else than its manifest says; check: a verdict "
          "is wrong; overhead: a tracer or a scenario failed"),
    ("2", "usage error, with one line on stderr; or a $TMPDIR that is missing, not writable or "
          "full"),
    ("77", "unsupported: the host lacks a privilege, kernel feature or program the scenario "
           "needs (1 in ior mode)"),
    ("129, 130, 143", "stopped by SIGHUP, SIGINT or SIGTERM: the partial result is printed and "
                      "everything is cleaned up"),
]
ENVIRONMENT = [
    ("TMPDIR", "where the run's private directory is made (/tmp when unset); never a fallback"),
    ("IOR_WORKLOAD_STARTUP_FILE, IOR_WORKLOAD_STARTUP_DELAY_MS, IOR_WORKLOAD_HOLD_FILE, "
     "IOR_WORKLOAD_TID_FILE, IOR_WORKLOAD_CHILD_PID_FILE",
     "any of them set selects ior mode (docs/ior-mode.md)"),
    ("IOWORKLOAD_FULL", "the test suite: every combination instead of a sample"),
]
SEE_ALSO = "strace(1), perf-trace(1), bpftrace(8)"


class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


@contextlib.contextmanager
def _parsers_captured():
    """A command builds its parser when it runs: parsing raises it back to us instead."""
    original = argparse.ArgumentParser.parse_known_args

    def capture(self, *args, **kwargs):
        raise _Captured(self)

    argparse.ArgumentParser.parse_known_args = capture
    try:
        yield
    finally:
        argparse.ArgumentParser.parse_known_args = original


def _grab(call) -> argparse.ArgumentParser:
    try:
        call()
    except _Captured as c:
        return c.parser
    raise RuntimeError(f"{call} parsed no arguments")


def commands() -> list[tuple[str, argparse.ArgumentParser]]:
    """(name, parser) of the run ('' ) and of every subcommand, in the command's order."""
    os.environ["COLUMNS"] = WIDTH
    from ioworkload.cli import main as cli
    found = []
    with _parsers_captured():
        found.append(("", _grab(lambda: cli._dispatch(["getppid"]))))
        for name in cli.COMMANDS:
            found.append((name, _grab(lambda: cli._dispatch([name]))))
    return found


def _options(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """Each argument as (how it is written, its help), positionals first, as --help lists them."""
    fmt = parser._get_formatter()
    rows = []
    for group in parser._action_groups:
        for action in group._group_actions:
            if action.help == argparse.SUPPRESS:
                continue
            invocation = fmt._format_action_invocation(action)
            helptext = fmt._expand_help(action) if action.help else ""
            rows.append((invocation, " ".join(helptext.split())))
    return rows


def _usage(parser: argparse.ArgumentParser) -> str:
    return parser.format_usage().removeprefix("usage: ").rstrip()


def _version() -> str:
    import ioworkload
    return ioworkload.__version__


# ---- roff ----

def _roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line
                     for line in text.split("\n"))


def man_page(cmds) -> str:
    out = [f'.TH IOWORKLOAD 1 "" "ioworkload {_version()}" "User Commands"',
           ".SH NAME", f"ioworkload \\- {_roff(SUMMARY)}", ".SH SYNOPSIS"]
    for i, (name, parser) in enumerate(cmds):
        if i:
            out.append(".br")
        out.append(_roff(" ".join(_usage(parser).split())))
    out.append(".SH DESCRIPTION")
    for i, para in enumerate(DESCRIPTION):
        out += ([".PP"] if i else []) + [_roff(para)]
    out.append(".SH COMMANDS")
    for name, parser in cmds:
        out.append(f".SS {_roff(parser.prog) if name else 'ioworkload SCENARIO'}")
        out += [".nf", _roff(_usage(parser)), ".fi"]
        if parser.description:
            out += [".PP", _roff(parser.description)]
        for invocation, helptext in _options(parser):
            out += [".TP", f"\\fB{_roff(invocation)}\\fR"] + ([_roff(helptext)] if helptext else [])
        if parser.epilog:
            out += [".PP", _roff(parser.epilog)]
    out.append(".SH EXIT STATUS")
    for code, meaning in EXIT_STATUS:
        out += [".TP", f"\\fB{code}\\fR", _roff(meaning)]
    out.append(".SH ENVIRONMENT")
    for var, meaning in ENVIRONMENT:
        out += [".TP", f"\\fB{_roff(var)}\\fR", _roff(meaning)]
    out += [".SH SEE ALSO", SEE_ALSO,
            ".PP", _roff("The user guide, the expect-file contract and the tracer results: the "
                         "docs/ directory of the source tree.")]
    return "\n".join(out) + "\n"


# ---- markdown ----

def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")


def cli_doc(cmds) -> str:
    out = ["# CLI reference", "",
           "Generated from the command's argument parsers by `tools/gen_cli_docs.py`, like the man",
           "page `ioworkload(1)` (`man/ioworkload.1`, installed with the package); `ioworkload",
           "SUBCOMMAND --help` prints the same. The [guide](guide.md) explains the options in context.",
           ""]
    for name, parser in cmds:
        out += [f"## `{parser.prog if name else 'ioworkload SCENARIO'}`", "", "```", _usage(parser),
                "```", ""]
        if parser.description:
            out += [parser.description, ""]
        out += ["| argument | meaning |", "|---|---|"]
        out += [f"| `{_md(inv)}` | {_md(h)} |" for inv, h in _options(parser)]
        out.append("")
        if parser.epilog:
            out += [parser.epilog, ""]
    out += ["## Exit status", "", "| code | meaning |", "|---|---|"]
    out += [f"| {c} | {_md(m)} |" for c, m in EXIT_STATUS]
    out += ["", "## Environment", "", "| variable | meaning |", "|---|---|"]
    out += [f"| `{v}` | {_md(m)} |" for v, m in ENVIRONMENT]
    return "\n".join(out) + "\n"


def render() -> dict[str, str]:
    cmds = commands()
    return {MAN_PAGE: man_page(cmds), CLI_DOC: cli_doc(cmds)}


def main() -> int:
    for path, text in render().items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(path, ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
