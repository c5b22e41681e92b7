"""tools/nullsys.py, the null-syscall experiments (issue 27): its reference loop inside a
scenario process issues and tallies exactly getppid's declared stream, and the tool runs end
to end on a tiny count with bad input refused in one line. No timing assertions."""

import json
import os
import subprocess
import sys

import pytest

from conftest import kernel_can_verify
from ioworkload.core import registry, runner
from ioworkload.core.manifest import Scenario
from ioworkload.families import baseline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "nullsys.py")


def _reference(iteration=None) -> Scenario:
    fields = {f: getattr(registry.get("getppid"), f) for f in Scenario.FIELDS}
    fields["kernel"] = baseline.REFERENCE_GETPPID
    if iteration is not None:
        fields["iteration"] = iteration
    return Scenario(**fields)


@pytest.mark.parametrize("own_process", [False, True])
def test_reference_loop_is_getppids_declared_stream(own_process):
    verify = kernel_can_verify() is None
    res = runner.execute(_reference(), 5000, own_process=own_process, verify=verify)
    assert res.ok and res.iterations_done == [5000], res.mismatches
    assert res.calls["getppid"]["count"] == 5000
    assert res.verified is (True if verify else None)
    # a manifest the loop does not issue is caught: the tally is real, not assumed
    wrong = runner.execute(_reference(["getppid() -> -ENOSYS"]), 5000, own_process=own_process)
    assert not wrong.ok and wrong.mismatches


def _tool(*args, timeout=300):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_tool_runs_every_kind_of_variant(tmp_path):
    out = tmp_path / "nullsys.json"
    p = _tool("--rounds", "2", "--calls", "2000", "--json", str(out),
              "--variants", "c_tallied,c_forked,iow_process,iow_thread,iow_reference")
    assert p.returncode == 0, p.stderr
    data = json.loads(out.read_text())
    rows = {r["variant"]: r for r in data["summary"]}
    assert list(rows) == ["c_plain", "c_tallied", "c_forked", "iow_process", "iow_thread",
                          "iow_reference"]
    assert all(len(runs) == 2 for runs in data["measurement"]["runs"].values())
    assert all(r["wall"]["fastest"] > 0 for r in rows.values())
    assert "cpu" not in rows["iow_thread"] and rows["iow_process"]["cpu"]["fastest"] > 0
    assert "| `iow_reference` |" in p.stdout


@pytest.mark.parametrize("args,message", [
    (["--calls", "lots"], "--calls must be an integer"),
    (["--variants", "c_plain,c_bogus"], "unknown variant 'c_bogus'"),
    (["--rounds", "0"], "--rounds must be >= 1"),
    (["--cpu", "4096"], "--cpu one of"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    p = _tool(*args)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and message in p.stderr


def _audit_rules() -> str | None:
    try:
        p = subprocess.run(["auditctl", "-l"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return p.stdout if p.returncode == 0 else None


@pytest.mark.skipif(os.geteuid() != 0 or _audit_rules() is None,
                    reason="needs root and a working auditctl (Debian: auditd)")
def test_audit_never_rule_lives_exactly_as_long_as_the_run(tmp_path):
    """--audit-never's task,never rule is there while the loops run and gone after a SIGTERM;
    a host that has the rule already keeps it."""
    import time
    if "-a never,task" in _audit_rules().splitlines():
        pytest.skip("the host has its own task,never rule")
    tmpdir = tmp_path / "tmp"  # the SIGTERM lands mid-build, cc's files included
    tmpdir.mkdir()
    p = subprocess.Popen([sys.executable, TOOL, "--audit-never", "--rounds", "100000",
                          "--calls", "2000", "--variants", "c_forked"], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, TMPDIR=str(tmpdir)))
    try:
        deadline = time.monotonic() + 60
        while "-a never,task" not in _audit_rules().splitlines():
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < deadline, "the rule never appeared"
            time.sleep(0.05)
        p.terminate()
        assert p.wait(timeout=60) != 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "-a never,task" not in _audit_rules().splitlines()
    assert os.listdir(tmpdir) == []
    # the host's own rule is used and left alone
    subprocess.run(["auditctl", "-a", "task,never"], check=True, capture_output=True)
    try:
        done = _tool("--audit-never", "--rounds", "1", "--calls", "2000", "--variants", "c_forked")
        assert done.returncode == 0 and "the host's task,never audit rule" in done.stdout
        assert "-a never,task" in _audit_rules().splitlines()
    finally:
        subprocess.run(["auditctl", "-d", "task,never"], capture_output=True)
