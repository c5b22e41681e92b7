"""The package's shape: sub-packages by capability, imports that only go down the layers, and
no import cycle (lazy imports inside functions included: they are cycles all the same)."""

import ast
import os
import re

import ioworkload

PKG_DIR = os.path.dirname(ioworkload.__file__)

# What each layer may import from the package. core is the run itself; families are its data;
# judge and overhead build on core; cli builds on all of them.
ALLOWED = {
    "core": {"core", "families"},  # the registry loads the families by name
    "families": {"core", "families"},
    "judge": {"core", "judge"},
    "overhead": {"core", "overhead"},
    "kernels": {"core", "judge", "kernels"},
    "cli": {"core", "families", "judge", "overhead", "kernels", "cli"},
}

_PYX_IMPORT = re.compile(r"^\s*(?:from\s+(ioworkload[\w.]*)\s+c?import\s+([\w ,()]+)|"
                         r"c?import\s+(ioworkload[\w.]*))", re.M)


def _modules() -> dict[str, str]:
    """Every source module of the installed package: dotted name -> path."""
    found = {}
    for root, _dirs, files in os.walk(PKG_DIR):
        for f in files:
            stem, ext = os.path.splitext(f)
            if ext not in (".py", ".pyx") or stem.startswith("_syscall_numbers"):
                continue
            rel = os.path.relpath(os.path.join(root, stem), os.path.dirname(PKG_DIR))
            name = rel.replace(os.sep, ".")
            if name.endswith(".__init__"):
                name = name[: -len(".__init__")]
            found[name] = os.path.join(root, f)
    return found


def _imports(path: str, modules: dict) -> set[str]:
    """The package modules that `path` imports anywhere in it, resolved to module names."""
    text = open(path).read()
    pairs: list[tuple[str, list[str]]] = []
    if path.endswith(".py"):
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                pairs.append((node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                pairs += [(a.name, []) for a in node.names]
    else:  # Cython: imports and cimports by pattern
        for m in _PYX_IMPORT.finditer(text):
            if m.group(1):
                names = [n.split(" as ")[0].strip() for n in m.group(2).strip("()").split(",")]
                pairs.append((m.group(1), names))
            else:
                pairs.append((m.group(3), []))
    out = set()
    for mod, names in pairs:
        if not mod.startswith("ioworkload"):
            continue
        subs = [f"{mod}.{n}" for n in names if f"{mod}.{n}" in modules]
        out.update(subs or ([mod] if mod in modules else []))
    return out


def _layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else None


def test_the_tree_shows_the_capabilities():
    top = sorted(f for f in os.listdir(PKG_DIR) if f.endswith((".py", ".pyx")))
    assert top == ["__init__.py", "__main__.py"], top
    for sub in ("core", "families", "judge", "overhead", "cli"):
        assert os.path.isfile(os.path.join(PKG_DIR, sub, "__init__.py")), sub


def test_imports_go_down_the_layers_only():
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        layer = _layer(name)
        if layer is None:
            continue
        for target in _imports(path, modules):
            to = _layer(target)
            if to is not None and to not in ALLOWED.get(layer, {layer}):
                wrong.append(f"{name} imports {target}")
    assert not wrong, wrong


def test_no_import_cycle():
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    # A package's __init__ is imported with any of its modules: an edge to it is not a cycle
    # unless the __init__ itself imports back, which the graph already holds.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert not cycles, [" -> ".join(c) for c in cycles]
