"""What a scenario declares: its syscall events per phase and their expected results.

A manifest event is written as one string, e.g. ``"io_setup(0, &ctx) -> -EINVAL"``:
the syscall name as the kernel names it (``stat``, not ``newstat``), the arguments that
matter (free text, for people), and the expected result: an exact value (``0``, ``21``),
a lower bound (``>=0``, ``>=9``) or an error (``-EINVAL``). An optional ``xN`` after the
result (``"close(fd[i]) -> 0 x64"``) says one call site issues that call N times per pass of its
phase (a loop over 64 fds), all tallied in that event's slot: phases stay within the event limit.

Two forms cover syscalls the kernel witnesses on one side only:
  * ``"exit(0) -> noreturn"``: the call never returns (exit, exit_group); the kernel sees its
    sys_enter and no sys_exit. The kernel code tallies it as 0 just before issuing it.
  * ``"clone(...) -> 0 exit-only"``: a return with no entry of its own, e.g. a raw clone's
    return in the new thread (the parent's entry is a separate event). Tallied by the new thread.
"""

from __future__ import annotations

import re
from collections import namedtuple

from ioworkload.errors import errno_name, errno_value

_EVENT = re.compile(r"^\s*(?P<name>[a-z_][a-z0-9_]*)\s*(?P<args>\(.*\))?\s*->\s*(?P<expect>\S+)"
                    r"(?:\s+(?P<only>exit-only))?(?:\s+x(?P<times>[1-9][0-9]*))?\s*$")


# Plain named tuples, not dataclasses: `dataclasses` pulls in `inspect`, a third of the CLI's
# start-up time.
class Expect(namedtuple("Expect", "kind value")):
    """An expected syscall result: kind 'eq' (== value), 'ge' (>= value), 'err' (-errno) or
    'noreturn' (the call does not return: sys_enter only)."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> "Expect":
        t = text.strip()
        if t == "noreturn":
            return cls("noreturn", 0)
        if t.startswith("-E"):
            return cls("err", errno_value(t[1:]))
        if t.startswith(">="):
            return cls("ge", int(t[2:]))
        return cls("eq", int(t))

    def __str__(self) -> str:
        if self.kind == "noreturn":
            return "noreturn"
        if self.kind == "err":
            return "-" + errno_name(self.value)
        if self.kind == "ge":
            return f">={self.value}"
        return str(self.value)

    def kernel_filter(self) -> str:
        """The ftrace filter on sys_exit_* `ret` that matches this result."""
        if self.kind == "err":
            return f"ret == -{self.value}"
        if self.kind == "ge":
            return f"ret >= {self.value}"
        return f"ret == {self.value}"

    def covers(self, other: "Expect") -> str:
        """How a result expected as `other` relates to this one: 'all', 'some' or 'none'."""
        if self == other:
            return "all"
        if "noreturn" in (self.kind, other.kind):
            return "none"
        if self.kind == "err" or other.kind == "err":
            return "none"
        if self.kind == "ge":
            if other.kind == "eq":
                return "all" if other.value >= self.value else "none"
            return "all" if other.value >= self.value else "some"
        # self is eq
        if other.kind == "ge":
            return "some" if self.value >= other.value else "none"
        return "none"

    def matches_tally(self, count: int, ok: int, ok_min, ok_max, errors: dict) -> bool:
        if count == 0:
            return True
        if self.kind == "noreturn":
            return ok == count  # tallied as 0 just before the call
        if self.kind == "err":
            return ok == 0 and errors.get(self.value, 0) == count
        if errors or ok != count:
            return False
        if self.kind == "ge":
            return ok_min >= self.value
        return ok_min == ok_max == self.value


class Event(namedtuple("Event", "syscall args expect times exit_only", defaults=(1, False))):
    """One manifest event. times: calls per pass of the phase (``xN``), all with this expected
    result; exit_only: a return without an entry of its own (a clone child's 0)."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> "Event":
        m = _EVENT.match(text)
        if not m:
            raise ValueError(f"bad manifest event {text!r} (want 'name(args) -> result [xN]')")
        ev = cls(m["name"], (m["args"] or "")[1:-1].strip(), Expect.parse(m["expect"]),
                 int(m["times"] or 1), bool(m["only"]))
        if ev.exit_only and ev.expect.kind == "noreturn":
            raise ValueError(f"bad manifest event {text!r}: noreturn cannot be exit-only")
        return ev

    @property
    def enters(self) -> bool:
        """The kernel sees a sys_enter for this event."""
        return not self.exit_only

    @property
    def exits(self) -> bool:
        """The kernel sees a sys_exit for this event."""
        return self.expect.kind != "noreturn"

    def __str__(self) -> str:
        return (f"{self.syscall}({self.args}) -> {self.expect}"
                + (" exit-only" if self.exit_only else "")
                + (f" x{self.times}" if self.times != 1 else ""))


class Scenario:
    """A registry entry: name, family, summary, the C kernel and the manifest.

    requires: run-time probes, each returning None when the host can run the scenario, else
    why not. needs_dir: gets a private directory under $TMPDIR. ior_repeat: iterations when run
    as ior's `--scenario=NAME`. helper_threads: the kernel starts its own short-lived threads,
    whose syscalls are counted with the worker's (perf inherit). prepare: a Python callable run
    just before the workers start (after the requirements), for state the kernels read but
    cannot capture themselves (e.g. the process cwd to return to); returns None or why it
    cannot run."""

    FIELDS = ("name", "family", "summary", "kernel", "setup", "iteration", "teardown",
              "requires", "needs_dir", "ior_repeat", "helper_threads", "prepare", "fixed_fds",
              "notes")

    def __init__(self, name: str, family: str, summary: str, kernel: object, setup=(),
                 iteration=(), teardown=(), requires=(), needs_dir: bool = False,
                 ior_repeat: int = 1, helper_threads: bool = False, prepare=None,
                 fixed_fds: "tuple[int, int] | None" = None, notes: str = ""):
        self.name, self.family, self.summary, self.kernel = name, family, summary, kernel
        self.setup, self.iteration, self.teardown = (
            tuple(e if isinstance(e, Event) else Event.parse(e) for e in phase)
            for phase in (setup, iteration, teardown))
        self.requires = tuple(requires)
        self.needs_dir, self.ior_repeat, self.helper_threads = needs_dir, ior_repeat, helper_threads
        self.prepare = prepare
        # (first, per_thread): fd numbers the scenario picks itself, first + per_thread * thread
        # + slot; the runner keeps everything else (the --verify counters) out of that range.
        self.fixed_fds = fixed_fds
        self.notes = notes
        if not self.iteration:
            raise ValueError(f"{self.name}: a scenario issues at least one syscall per iteration")

    def replace(self, **changes) -> "Scenario":
        """A copy with some fields changed (tests use it to pair a kernel with a wrong manifest)."""
        return Scenario(**{f: changes.get(f, getattr(self, f)) for f in self.FIELDS})

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, family={self.family!r})"

    @property
    def ior_name(self) -> str:
        return self.name.replace("_", "-")

    @property
    def syscalls(self) -> list[str]:
        """Every syscall name the manifest declares, in first-use order."""
        seen: dict[str, None] = {}
        for e in self.setup + self.iteration + self.teardown:
            seen.setdefault(e.syscall, None)
        return list(seen)

    def phase_counts(self) -> dict[str, tuple[int, int, int]]:
        """Calls of each syscall per thread: (in setup, in each iteration, in teardown). An
        exit-only event is another call's second return, not a call of its own."""
        out: dict[str, list[int]] = {}
        for i, phase in enumerate((self.setup, self.iteration, self.teardown)):
            for e in phase:
                if e.enters:
                    out.setdefault(e.syscall, [0, 0, 0])[i] += e.times
        return {name: tuple(c) for name, c in out.items()}

    def expected_counts(self, iterations: int) -> dict[str, int]:
        """Total calls of each syscall for one thread running `iterations` iterations."""
        return {name: setup + iterations * each + teardown
                for name, (setup, each, teardown) in self.phase_counts().items()}

    def unsupported_reason(self) -> "str | None":
        for probe in self.requires:
            reason = probe()
            if reason:
                return reason
        return None

    def describe(self) -> dict:
        return {
            "name": self.name,
            "ior_name": self.ior_name,
            "family": self.family,
            "summary": self.summary,
            "setup": [str(e) for e in self.setup],
            "iteration": [str(e) for e in self.iteration],
            "teardown": [str(e) for e in self.teardown],
            "syscalls": self.syscalls,
            "counts_per_thread": {name: {"setup": c[0], "each_iteration": c[1], "teardown": c[2]}
                                  for name, c in self.phase_counts().items()},
            "needs_dir": self.needs_dir,
            "notes": self.notes,
        }


def scenarios(family: str, entries) -> list[Scenario]:
    """Build a family's Scenario list from its table of plain dicts."""
    return [Scenario(family=family, **entry) for entry in entries]
