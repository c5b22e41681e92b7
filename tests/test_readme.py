"""The README's promises that code can check: its family table matches the registry and its
two opening commands are the ones CI runs."""

import os
import re

import pytest

from ioworkload.core import registry

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


@pytest.fixture(scope="module")
def readme():
    if not os.path.exists(README):
        pytest.skip("README.md not beside the tests (installed tests only)")
    with open(README) as f:
        return f.read()


def test_family_table_matches_registry(readme):
    fams = set(registry.families())
    rows = {k: v for k, v in re.findall(r"^\| `(\w+)` \| (\d+) \|", readme, re.M) if k in fams}
    scs = registry.all_scenarios().values()
    want = {f: str(sum(1 for s in scs if s.family == f)) for f in registry.families()}
    assert rows == want
    total = re.search(r"^\| \*\*all\*\* \| \*\*(\d+)\*\* \|", readme, re.M)
    assert total and int(total[1]) == len(registry.all_scenarios())


def test_every_scenario_listed(readme):
    listed = set(re.findall(r"^\| `(\w+)` \| [a-z_]+ \| ", readme, re.M))
    assert listed == set(registry.all_scenarios())


def test_the_scenario_list_has_one_row_each_with_its_family(readme):
    """Every row of the per-scenario list names a scenario once, with its family: a row from
    another table (say the differences list) pasted into it is caught."""
    scenarios = registry.all_scenarios()
    section = readme.split("\n## Scenarios\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]*) \|", section, re.M)
    rows = [(name, fam.strip()) for name, fam in rows if name in scenarios]
    names = [name for name, _ in rows]
    assert sorted(set(names)) == sorted(names)
    assert [(n, f) for n, f in rows if f != scenarios[n].family] == []


def test_ci_runs_the_readme_test_command(readme):
    with open(os.path.join(os.path.dirname(README), ".ci", "run")) as f:
        ci = f.read()
    assert "pip install '.[test,plot]'" in readme and "python -m pytest tests" in readme
    assert "pip install -q '.[test,plot]'" in ci and "-m pytest tests" in ci


def test_the_tracer_test_in_the_readme_passes(readme, tmp_path):
    import shutil
    if not shutil.which("strace") or os.geteuid() != 0:
        pytest.skip("needs strace, as root")
    block = readme.split("<!-- readme-test -->", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    exec(compile(block.replace("/tmp/seen.txt", str(tmp_path / "seen.txt")), "README", "exec"), {})
