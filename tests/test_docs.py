"""The README and docs/ say only what is true: every console example runs and prints what the
document shows (numbers masked), every Python example runs, the scenario tables match the
registry, the generated blocks and the man page are what their scripts write, and the links
lead somewhere.

An example is a fenced block right after a marker line:

    <!-- example -->                  runs anywhere
    <!-- example: root tracefs -->    needs root and the kernel's tracepoints (else skipped)
    <!-- example: root strace -->     needs root and strace on PATH
    <!-- example: exit=1 -->          the command's exit status (default 0)

In a ```console block each `$ ` line is a bash command (`ioworkload` is this interpreter's
`python -m ioworkload`, run in a fresh directory, with /tmp/ meaning that directory), followed by
what it prints, stdout and stderr together. The comparison masks every number (a run's counts,
times and PIDs vary) and runs of blanks (column widths follow the numbers); a line `...` stands
for any number of lines. A ```python block runs as it is, /tmp/ again meaning a fresh directory.
Every ```console block must be an example: an untested one is how stale examples happen."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys

import pytest

from ioworkload.core import registry

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tools"))

DOCS = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
FILES = [os.path.join(ROOT, "README.md")] + DOCS
EXAMPLE = re.compile(r"^<!-- example(?::(?P<opts>[^>]*))? -->\n```(?P<lang>\w+)\n(?P<body>.*?)^```",
                     re.M | re.S)
FENCE = re.compile(r"^```(\w*)\n.*?^```", re.M | re.S)
# Linked from here, written on other branches (the contract, the kernel matrix): a link to one
# of these may point nowhere until that branch is merged.
ON_OTHER_BRANCHES = {"docs/contract.md", "docs/kernels.md"}
ROOT_USER = os.geteuid() == 0
TRACEFS = any(os.path.isdir(d + "/events") for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"))


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


@pytest.fixture(scope="module", autouse=True)
def _in_a_checkout():
    if not os.path.exists(os.path.join(ROOT, "README.md")):
        pytest.skip("README.md not beside the tests (installed tests only)")


def _examples():
    for path in FILES if os.path.exists(os.path.join(ROOT, "README.md")) else []:
        text = _read(path)
        for m in EXAMPLE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            name = f"{os.path.relpath(path, ROOT)}:{line}"
            yield pytest.param(m["lang"], (m["opts"] or "").split(), m["body"], id=name)


def _skip_unless_host_can(opts: list[str]) -> None:
    if "root" in opts and not ROOT_USER:
        pytest.skip("the example runs as root")
    if "tracefs" in opts and not TRACEFS:
        pytest.skip("tracefs is not mounted")
    for tool in ("strace", "perf", "bpftrace"):
        if tool in opts and shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def mask(text: str) -> list[str]:
    """Numbers become N, blank runs one space: what an example's output must match."""
    lines = []
    for line in text.rstrip("\n").split("\n"):
        line = re.sub(r"\d[\d,._]*\d|\d", "N", line)
        lines.append(" ".join(line.split()))
    return lines


def matches(expected: list[str], seen: list[str]) -> bool:
    pattern = "".join(r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n"
                      for line in expected)
    return re.fullmatch(pattern, "".join(line + "\n" for line in seen)) is not None


def _console(body: str) -> list[tuple[str, str]]:
    """[(command, what it prints)] of a console block."""
    runs = []
    for line in body.rstrip("\n").split("\n"):
        if line.startswith("$ "):
            runs.append([line[2:], []])
        elif runs:
            runs[-1][1].append(line)
        else:
            raise AssertionError(f"output before the first command: {line!r}")
    return [(cmd, "\n".join(out)) for cmd, out in runs]


def _run(command: str, cwd: str) -> subprocess.CompletedProcess:
    prelude = f'ioworkload() {{ {sys.executable} -m ioworkload "$@"; }}\n'
    return subprocess.run(["bash", "-c", prelude + command.replace("/tmp/", cwd + "/")], cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600, env=dict(os.environ, TMPDIR=cwd, COLUMNS="80"))


@pytest.mark.parametrize("lang,opts,body", list(_examples()))
def test_example(lang, opts, body, tmp_path):
    _skip_unless_host_can(opts)
    if lang == "python":
        code = body.replace("/tmp/", f"{tmp_path}/")
        exec(compile(code, "example", "exec"), {"__name__": "example"})
        return
    assert lang == "console", f"an example is a console or python block, not {lang}"
    status = next((int(o.split("=", 1)[1]) for o in opts if o.startswith("exit=")), 0)
    for command, shown in _console(body):
        p = _run(command, str(tmp_path))
        assert p.returncode == status, f"$ {command}\nexit {p.returncode}\n{p.stdout}"
        assert matches(mask(shown), mask(p.stdout)), (
            f"$ {command} now prints (numbers masked below, as compared):\n{p.stdout}\n"
            + "\n".join(mask(p.stdout)) + "\n--- the document shows:\n" + "\n".join(mask(shown)))


def test_every_console_block_is_a_tested_example():
    untested = []
    for path in FILES:
        text = _read(path)
        tested = {m.start("lang") - 3 for m in EXAMPLE.finditer(text)}
        for m in FENCE.finditer(text):
            if m[1] in ("console", "python") and m.start() not in tested:
                untested.append(f"{os.path.relpath(path, ROOT)}:{text.count(chr(10), 0, m.start()) + 1}")
    assert untested == []


def test_masking_tells_examples_apart():
    """The comparison is not blind: a changed word, a missing line or an extra one fails."""
    shown = mask("syscalls      1,000,002 (1,000,000 in the loop)\nverified      yes")
    assert matches(shown, mask("syscalls 17 (3 in the loop)\nverified yes"))
    assert not matches(shown, mask("syscalls 17 (3 in the loop)\nverified no"))
    assert not matches(shown, mask("syscalls 17 (3 in the loop)"))
    assert not matches(shown, mask("syscalls 17 (3 in the loop)\nverified yes\nextra"))
    assert matches(mask("a\n...\nz"), mask("a\nb\nc\nz")) and not matches(mask("a\n...\nz"), mask("a\nb"))


def test_readme_is_short():
    assert os.path.getsize(os.path.join(ROOT, "README.md")) < 15_000


def test_relative_links_lead_somewhere():
    broken = []
    for path in FILES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", _read(path)):
            if "://" in target:
                continue
            full = os.path.normpath(os.path.join(os.path.dirname(path), target))
            rel = os.path.relpath(full, ROOT)
            if not os.path.exists(full) and rel not in ON_OTHER_BRANCHES:
                broken.append(f"{os.path.relpath(path, ROOT)}: {target}")
    assert broken == []


# ---- the scenario tables ----

def test_family_table_matches_registry():
    readme = _read(os.path.join(ROOT, "README.md"))
    fams = set(registry.families())
    rows = {k: v for k, v in re.findall(r"^\| `(\w+)` \| (\d+) \|", readme, re.M) if k in fams}
    scs = registry.all_scenarios().values()
    want = {f: str(sum(1 for s in scs if s.family == f)) for f in registry.families()}
    assert rows == want
    total = re.search(r"^\| \*\*all\*\* \| \*\*(\d+)\*\* \|", readme, re.M)
    assert total and int(total[1]) == len(registry.all_scenarios())


def test_the_scenario_list_has_one_row_each_with_its_family():
    """docs/scenarios.md lists every scenario once, with its family: a row from another table
    (say ior mode's differences) pasted into it is caught."""
    scenarios = registry.all_scenarios()
    section = _read(os.path.join(ROOT, "docs", "scenarios.md")).split("\n## All scenarios\n", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]*) \|", section, re.M)
    names = [name for name, _ in rows]
    assert sorted(names) == sorted(scenarios)
    assert [(n, f.strip()) for n, f in rows if f.strip() != scenarios[n].family] == []


# ---- what scripts write ----

def test_the_man_page_and_the_cli_reference_are_what_the_parsers_say():
    import gen_cli_docs
    stale = [os.path.relpath(path, ROOT) for path, text in gen_cli_docs.render().items()
             if not os.path.exists(path) or _read(path) != text]
    assert stale == [], "run `python tools/gen_cli_docs.py` and commit what it writes"


def test_the_man_page_covers_every_subcommand_and_option():
    import gen_cli_docs
    page = _read(gen_cli_docs.MAN_PAGE)
    for name, parser in gen_cli_docs.commands():
        assert f".SS {parser.prog}".replace("-", "\\-") in page or not name
        for action in parser._actions:
            for opt in action.option_strings:
                assert opt.replace("-", "\\-") in page, (name, opt)


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_the_man_page_renders_without_warnings():
    import gen_cli_docs
    p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", gen_cli_docs.MAN_PAGE],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr


def test_the_man_page_is_installed_with_the_package():
    meson = _read(os.path.join(ROOT, "meson.build"))
    assert re.search(r"install_data\(\s*'man/ioworkload\.1',\s*install_dir:\s*get_option\('datadir'\) / 'man' / 'man1'",
                     meson)


def test_generated_blocks_are_their_scripts_output():
    """A table pasted into a document by hand, or a document edited after its script ran,
    differs from docs/results/NAME.md, which the script wrote."""
    import published
    stale = []
    for path in DOCS:
        for name, body in published.blocks(_read(path)).items():
            result = os.path.join(ROOT, "docs", "results", name + ".md")
            if not os.path.exists(result) or _read(result) != body:
                stale.append(f"{os.path.relpath(path, ROOT)}: {name}")
    assert stale == []


# ---- the commands the README promises ----

def test_ci_runs_the_readme_test_command():
    readme = _read(os.path.join(ROOT, "README.md"))
    ci = _read(os.path.join(ROOT, ".ci", "run"))
    assert "python3 -m venv .venv && . .venv/bin/activate" in readme
    assert "pip install '.[test,plot]' && python -m pytest tests" in readme
    assert "python3 -m venv .venv" in ci and ". .venv/bin/activate" in ci
    assert "pip install -q '.[test,plot]'" in ci and "-m pytest tests" in ci
