"""The scenario registry: every scenario by name, gathered from the family modules.

Each family module (ioworkload/families/<family>.pyx) holds its scenarios' C kernels and,
at its end, a SCENARIOS table: name, summary, manifest (setup / iteration / teardown events
with expected results) and requirements. To find what `aio_setup_einval` issues, open
families/aio.pyx or run `ioworkload describe aio_setup_einval`.
"""

from __future__ import annotations

import difflib
import importlib

from ioworkload.core.errors import UsageError, shown
from ioworkload.core.manifest import Scenario

# Family modules, in the order `ioworkload list` shows them.
FAMILY_MODULES = (
    "baseline",
    "aio",
    "open",
    "readwrite",
    "fd",
    "path",
    "stat",
    "xattr",
    "metadata",
    "sync",
    "memory",
    "copy_truncate",
    "socket",
    "ipc",
    "misc",
    "mount",
    "security",
    "timers",
    "iouring",
    "signals",
    "threads",
    "process",
    "filecalls",
    "numa",
    "futex",
    "tasks",
    "wide",
    "credentials",
    "system",
    "modules",
    "removed",
    "ia32",
)

_SCENARIOS: dict[str, Scenario] | None = None


def _load() -> dict[str, Scenario]:
    global _SCENARIOS
    if _SCENARIOS is None:
        found: dict[str, Scenario] = {}
        for mod in FAMILY_MODULES:
            for sc in importlib.import_module(f"ioworkload.families.{mod}").SCENARIOS:
                if sc.name in found:
                    raise RuntimeError(f"scenario {sc.name} registered twice")
                found[sc.name] = sc
        _SCENARIOS = found
    return _SCENARIOS


def family_modules() -> list:
    """The family modules themselves (their SCENARIOS and CONSTANTS tables)."""
    return [importlib.import_module(f"ioworkload.families.{mod}") for mod in FAMILY_MODULES]


def all_scenarios() -> dict[str, Scenario]:
    return dict(_load())


def families() -> list[str]:
    seen: dict[str, None] = {}
    for sc in _load().values():
        seen.setdefault(sc.family, None)
    return list(seen)


def select(names, family_names=(), everything: bool = False) -> list[str]:
    """The scenarios a command asks for (SCENARIO..., --family F, --all), each once, in order;
    an unknown name or family is a UsageError, so is asking for none."""
    chosen = [get(n).name for n in names]
    known = families()
    for f in family_names:
        if f not in known:
            raise UsageError(f"unknown family {f!r}; families: {', '.join(known)}")
        chosen += [s.name for s in _load().values() if s.family == f]
    if everything:
        chosen = list(_load())
    if not chosen:
        raise UsageError("name scenarios, --family F or --all")
    return list(dict.fromkeys(chosen))


def normalize(name: str) -> str:
    """ior spells names with hyphens (aio-setup-einval); both spellings work."""
    if not isinstance(name, str):
        raise UsageError(f"a scenario name is a string, not {shown(name)}")
    return name.strip().lower().replace("-", "_")


def get(name: str) -> Scenario:
    scs = _load()
    key = normalize(name)
    if key in scs:
        return scs[key]
    close = difflib.get_close_matches(key, list(scs), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `ioworkload list` shows them all"
    raise UsageError(f"unknown scenario {shown(name)}{hint}")
