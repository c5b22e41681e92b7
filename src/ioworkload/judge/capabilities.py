"""What a tracer states it reports (its capabilities), and so what the judge asks of it.

  counts     every event of the process, as often as it happened (always asked)
  returns    each call's return value: an event without one (`"unknown"`, no `ret`) is wrong
  args       the calls' arguments, all of them or a named subset (`args=fd+count`): an event
             without them is wrong; values that are there are always compared. A preset may
             report the first N only (args_first: audit's a0-a3): the rest is not asked
  entry      calls at their entry: it sees the calls that never return (exit, exit_group)
  exit       every return, also one without an entry: the new task's 0 of a clone (a
             tracepoint tracer sees it, ptrace never does)
  new-tasks  tasks created after it attached (a scenario's helper threads and children)
  order      a task's events come in the order they happened (judged per task)
  threads    it tells a process's threads apart (a record names the thread, not the process);
             a tracer that does not (audit's pid=, the libbpf-tools' PID) is judged per
             process (matching.by_process), and at best `limited`

A value a tracer shows is compared whatever it claims (a wrong value is wrong); a claim only
decides what is asked and what the verdict says was verified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ioworkload.core.errors import UsageError

NAMES = ("counts", "returns", "args", "entry", "exit", "new-tasks", "order", "threads")


@dataclass(frozen=True)
class Capabilities:
    returns: bool = False
    # True: every argument; a frozenset: those names only; False: none claimed
    args: bool | frozenset = False
    # the first this many of each call's arguments only (0: no such limit)
    args_first: int = 0
    entry: bool = True
    exit: bool = True
    new_tasks: bool = True
    order: bool = False
    threads: bool = True
    # limit -> why the tracer has it (a preset's documented reasons)
    reasons: dict = field(default_factory=dict, compare=False, hash=False)

    def claims(self) -> list[str]:
        """The claimed capabilities, in NAMES order (`args=a+b` for a subset)."""
        out = ["counts"]
        if self.returns:
            out.append("returns")
        if self.args is True and self.args_first:
            out.append(f"args (the first {self.args_first})")
        elif self.args is True:
            out.append("args")
        elif self.args:
            out.append("args=" + "+".join(sorted(self.args)))
        out += [n for n, on in (("entry", self.entry), ("exit", self.exit),
                                ("new-tasks", self.new_tasks), ("order", self.order),
                                ("threads", self.threads)) if on]
        return out

    def claims_args(self, name: str, syscall: str | None = None) -> bool:
        if self.args_first and syscall is not None and not self.reports_arg(syscall, name):
            return False
        return self.args is True or bool(self.args) and name in self.args

    def reports_arg(self, syscall: str, name: str) -> bool:
        """Whether the tracer shows this argument at all (args_first: by its position in the
        kernel's list)."""
        if not self.args_first:
            return True
        from ioworkload.core import expect
        names = expect.kernel_arg_names(syscall) or []
        return name in names and names.index(name) < self.args_first

    def missing(self, required: list[str]) -> list[str]:
        """The required capabilities (NAMES) this tracer does not claim."""
        have = {c.partition("=")[0] for c in self.claims()}
        return [r for r in required if r not in have or r == "args" and (
            self.args is not True or self.args_first)]


# the capabilities a tracer has unless it says otherwise
NEGATIONS = ("no-new-tasks", "no-threads")

# What compare() asks when no tracer stated anything (a hand-written test): the values that are
# there are compared, nothing is required.
UNSTATED = Capabilities()


def parse(text: str, reasons: dict | None = None) -> Capabilities:
    """`returns,args,order` (counts is implied; both halves, entry and exit, unless the list
    names one of them; new-tasks and threads unless it says `no-new-tasks`, `no-threads`)."""
    words = [w.strip() for w in text.split(",") if w.strip()] if isinstance(text, str) else text
    if not isinstance(words, (list, tuple)) or not all(isinstance(w, str) for w in words):
        raise UsageError(f"capabilities: a list of names ({', '.join(NAMES)}), got {text!r}")
    seen = set()
    args: bool | frozenset = False
    for w in words:
        name, eq, subset = w.partition("=")
        if name in NEGATIONS:
            seen.add(name)
            continue
        if name not in NAMES or eq and name != "args":
            raise UsageError(f"unknown capability {w!r} (one of {', '.join(NAMES)}, "
                             f"args=NAME+NAME, {', '.join(NEGATIONS)})")
        if name == "args":
            names = frozenset(n for n in subset.split("+") if n)
            if eq and not names:
                raise UsageError(f"capability {w!r}: name the arguments (args=fd+count)")
            args = names if eq else True
        seen.add(name)
    halves = seen & {"entry", "exit"}
    return Capabilities(returns="returns" in seen, args=args,
                        entry="entry" in seen if halves else True,
                        exit="exit" in seen if halves else True,
                        new_tasks="no-new-tasks" not in seen,
                        threads="no-threads" not in seen, order="order" in seen, reasons=dict(reasons or {}))


def required(text: str) -> list[str]:
    """`--require returns,args,order`: capabilities a verdict must have verified."""
    words = [w.strip() for w in text.split(",") if w.strip()]
    bad = [w for w in words if w not in NAMES]
    if bad or not words:
        raise UsageError(f"--require: names from {', '.join(NAMES)}, got {text!r}")
    return words
