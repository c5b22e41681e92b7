"""Tracers `ioworkload check` can drive: a preset (one module here each: its command, what it
reports and why it cannot report more, its blind spots), a command template, or a tracer file
a project keeps beside its tests (TOML or JSON):

    name = "mytool"
    command = "mytool --pid {pid} --out {out}"
    format = "jsonl"                      # jsonl, strace, perf-trace, audit, trace-cmd, ltrace
    ready = "line"                        # settle, line (it prints `ready`) or ptrace
    reports = ["returns", "args", "order"]
    max_loss = 0.0                        # the fraction of events it may drop and still pass
    [blind_spots]                         # a difference it cannot avoid by design -> why
    "^missing: .* on a helper of worker" = "follows only the threads that exist at attach"

A new preset is one module with a `tracer()` and its name in PRESET_MODULES.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import shutil

from ioworkload.core import expect
from ioworkload.core.errors import UsageError
from ioworkload.judge import capabilities
from ioworkload.judge.formats import FORMATS

READY_MODES = ("settle", "line", "ptrace")
# A bpftrace program's test for a call through the 32-bit door: on x86-64 the task's TS_COMPAT
# (0x0002, arch/x86/include/asm/thread_info.h), read through BTF; no such door elsewhere.
IN_COMPAT = "(curtask->thread_info.status & 2)" if expect.NATIVE_ABI == "x86_64" else "0"
PRESET_MODULES = {"strace": "strace", "strace-launch": "strace_launch", "perf-trace": "perf_trace",
                  "perf-trace-launch": "perf_trace_launch", "bpftrace": "bpftrace",
                  "bpftrace-launch": "bpftrace_launch", "auditd": "auditd",
                  "trace-cmd": "trace_cmd", "ltrace": "ltrace"}
# the libbpf-tools: one module, a table of the tools (each judged on its own scope)
PRESET_MODULES.update({tool: "libbpf_tools" for tool in (
    "syscount", "opensnoop", "execsnoop", "statsnoop", "sigsnoop", "mountsnoop", "bindsnoop")})


class Tracer:
    """How to start one tracer on a process, read what it saw, and what it claims to see."""

    ready_line = None   # ready mode "line": a pattern its own line matches (else `ready`)
    scope = None        # the class of calls it is judged on (judge/scope.py); None: every call
    quiet_drain = False  # it prints no exit_group: drained once its output stays the same

    def __init__(self, name: str, template: str, fmt: str, ready: str = "settle",
                 caps: capabilities.Capabilities | None = None, program: str | None = None,
                 blind_spots: tuple = (), max_loss: float = 0.0,
                 sees_exit_only: bool | None = None):
        # {command}: the tracer starts the workload itself (`strace -f -o {out} {command}`)
        self.launches = "{command}" in template
        if not self.launches and "{pid}" not in template and "{tids}" not in template \
                and program is None:
            raise UsageError(f"tracer {name}: the command template needs {{pid}}, {{tids}} or "
                             f"{{command}}: {template!r}")
        if self.launches and "{out}" not in template:
            raise UsageError(f"tracer {name}: a template with {{command}} needs {{out}} (the "
                             f"command's own output comes on the tracer's stdout): {template!r}")
        if fmt not in FORMATS:
            raise UsageError(f"tracer {name}: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
        if ready not in READY_MODES:
            raise UsageError(f"tracer {name}: unknown ready mode {ready!r} "
                             f"(one of {', '.join(READY_MODES)})")
        try:
            self.argv = shlex.split(template)
        except ValueError as e:
            raise UsageError(f"tracer {name}: cannot split the command template: {e}") from None
        if not self.argv:
            raise UsageError(f"tracer {name}: empty command template")
        self.name, self.template, self.format = name, template, fmt
        self.ready = ready  # "ptrace" (every worker shows a tracer), "line" (prints ready), "settle"
        if caps is None:
            caps = capabilities.Capabilities(exit=True if sees_exit_only is None else sees_exit_only)
        self.caps = caps
        self.program = program
        # What the tracer cannot see by design, as (pattern of a difference, why[, a pattern
        # some other difference of the same run must match too]): a run whose
        # every difference is one of these is "limited", not "wrong".
        self.blind_spots = blind_spots
        self.max_loss = max_loss

    @property
    def sees_exit_only(self) -> bool:
        return self.caps.exit

    def program_path(self, pid: int, tmp: str) -> str | None:
        if self.program is None:
            return None
        text = (self.program.replace("EXIT_GROUP", str(expect.syscall_number("exit_group")))
                .replace("NATIVE_ABI", expect.NATIVE_ABI).replace("IN_COMPAT", IN_COMPAT)
                .replace("EXIT", str(expect.syscall_number("exit"))).replace("PID", str(pid)))
        path = os.path.join(tmp, "program.bt")
        with open(path, "w") as f:
            f.write(text)
        return path

    def unavailable(self) -> str | None:
        if shutil.which(self.argv[0]) is None:
            return f"{self.argv[0]} is not installed"
        return None

    def prepare(self, tmp: str) -> None:
        """What the host needs before the scenario is spawned (the audit preset: audit
        enabled and a rule in place, or the process's first calls are never recorded); what
        it changes is put back by cleanup()."""

    def cleanup(self, pid: int, tmp: str) -> None:
        """Put back what the tracer changed on the host (its rules, its tracefs instance),
        after it stopped: also when it died or was killed before it could."""


def preset(name: str) -> Tracer:
    module = importlib.import_module(f"ioworkload.judge.tracers.{PRESET_MODULES[name]}")
    return module.tracer(name) if name in getattr(module, "TOOLS", ()) else module.tracer()


PRESETS = {name: (lambda n=name: preset(n)) for name in PRESET_MODULES}


def from_spec(spec: str, fmt: str | None = None, ready: str | None = None,
              reports: str | None = None) -> Tracer:
    """A preset name, a tracer file (.toml, .json), or `NAME=TEMPLATE` / a bare template
    (format `jsonl` unless given). `reports`: its capabilities (`returns,args,order`); a
    template that states none is asked for counts only."""
    if spec in PRESETS:
        if reports is not None:
            raise UsageError(f"--reports is for a template tracer; {spec} is a preset that "
                             f"states its own")
        return PRESETS[spec]()
    if spec.endswith((".toml", ".json")) and "{" not in spec:
        return from_file(spec)
    if "{" not in spec and " " not in spec:
        # no placeholder and no space: a mistyped preset, not a template
        import difflib
        close = difflib.get_close_matches(spec.partition("=")[0], list(PRESETS), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(f"unknown tracer {spec!r}: {hint}presets are {', '.join(PRESETS)}; "
                         f"a tracer file ends in .toml or .json; a template needs {{pid}}, "
                         f"{{tids}} or {{command}} (name it with NAME=TEMPLATE)")
    name, eq, template = spec.partition("=")
    if not eq or " " in name or "{" in name:
        name, template = "custom", spec
    if not template.strip():
        raise UsageError(f"tracer {spec!r}: empty command template")
    caps = capabilities.parse(reports) if reports is not None else capabilities.Capabilities()
    return Tracer(name, template, fmt or "jsonl", ready or "settle", caps=caps)


def from_file(path: str) -> Tracer:
    """A tracer file (the module's docstring)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError(f"cannot read tracer file {path}: {e.strerror}") from None
    try:
        if path.endswith(".toml"):
            import tomllib
            spec = tomllib.loads(data.decode("utf-8"))
        else:
            spec = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise UsageError(f"tracer file {path}: {str(e)[:100]}") from None
    if not isinstance(spec, dict):
        raise UsageError(f"tracer file {path}: a table of settings is needed")
    known = {"name", "command", "format", "ready", "reports", "max_loss", "blind_spots"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise UsageError(f"tracer file {path}: unknown setting {unknown[0]!r} "
                         f"(known: {', '.join(sorted(known))})")
    command = spec.get("command")
    if not isinstance(command, str):
        raise UsageError(f"tracer file {path}: `command` (a template with {{pid}}) is needed")
    name = spec.get("name", os.path.splitext(os.path.basename(path))[0])
    fmt, ready = spec.get("format", "jsonl"), spec.get("ready", "settle")
    max_loss = spec.get("max_loss", 0.0)
    if not all(isinstance(v, str) for v in (name, fmt, ready)) or isinstance(max_loss, bool) \
            or not isinstance(max_loss, (int, float)) or not 0 <= max_loss <= 1:
        raise UsageError(f"tracer file {path}: name, format and ready are text, max_loss a "
                         f"fraction from 0 to 1")
    spots = spec.get("blind_spots", {})
    if not isinstance(spots, dict) or not all(isinstance(v, str) for v in spots.values()):
        raise UsageError(f"tracer file {path}: blind_spots maps a pattern to why")
    try:
        blind = tuple((re.compile(k), v) for k, v in spots.items())
    except re.error as e:
        raise UsageError(f"tracer file {path}: blind spot pattern: {e}") from None
    caps = capabilities.parse(spec.get("reports", []))
    return Tracer(name, command, fmt, ready, caps=caps, blind_spots=blind,
                  max_loss=float(max_loss))
