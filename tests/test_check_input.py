"""Every bad input of `ioworkload check` is one line and exit 2, never a traceback (issue 19
item 12): the inputs found by hand, and a few hundred random mutations of a real expect file
and observed stream (each: exit 2 with one line, or a verdict)."""

import json
import os
import random
import subprocess
import sys

import pytest

import ioworkload
from ioworkload.core import expect
from ioworkload.core.errors import UsageError
from ioworkload.judge import conformance

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tracers attach as root here")


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "ioworkload", "check", *args],
                          capture_output=True, text=True, timeout=timeout)


def _doc() -> dict:
    return expect.build(ioworkload.scenarios()["getppid"], pid=4242, tids=[4242], dirs=[],
                        iterations=2, own_process=True, root=None)


_GOOD = [{"tid": 4242, "syscall": "futex", "ret": 0},
         {"tid": 4242, "syscall": "getppid", "ret": 1, "count": 2},
         {"tid": 4242, "syscall": "futex", "ret": 1},
         {"tid": 4242, "syscall": "futex", "ret": 0},
         {"tid": 4242, "syscall": "exit_group", "ret": None, "args": {"error_code": 0}}]


def _one_line_exit_2(p, why: str = "") -> None:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert why in p.stderr, p.stderr


@pytest.mark.parametrize("line,why", [
    ('{"tid": 4242, "syscall": "getppid", "ret": "-2"}', "ret must be"),
    ('{"tid": 4242, "syscall": "getppid", "ret": 1, "count": "2"}', "count must be"),
    ('{"tid": 4242, "syscall": "getppid", "ret": 1, "args": "x"}', "args must be"),
    ('{"tid": 4242, "syscall": "\\ud800", "ret": 1}', "syscall must be a name"),
    ('{"tid": true, "syscall": "getppid", "ret": 1}', "needs tid"),
    ('{"tid": 4242, "syscall": "getppid", "ret": 1, "count": 0}', "count must be"),
    # a short id: the test's id goes into PYTEST_CURRENT_TEST, which the command would inherit
    pytest.param('{"a": ' * 100000, "not valid JSON", id="nested-100000-deep"),
])
def test_bad_observed_lines(tmp_path, line, why):
    (tmp_path / "e.json").write_text(json.dumps(_doc()))
    (tmp_path / "o.jsonl").write_text(line + "\n")
    _one_line_exit_2(_cli("--expected", str(tmp_path / "e.json"),
                          "--observed", str(tmp_path / "o.jsonl")), why)


@pytest.mark.parametrize("change,why", [
    (lambda d: d.pop("events"), "`events`"),
    (lambda d: d["events"][1].update(count=None), "`count`"),
    (lambda d: d["events"][1].update(ret={"eq": 1, "what": 2}), "`ret`"),
    (lambda d: d["events"][1].update(ret={"gt": 1}), "`ret`"),
    (lambda d: d.update(tasks=None), "`tasks`"),
    (lambda d: d["events"].append("x"), "not an object"),
    (lambda d: d.update(restarts={"a": 1}), "must be lists"),
])
def test_bad_expect_files(tmp_path, change, why):
    doc = _doc()
    change(doc)
    (tmp_path / "e.json").write_text(json.dumps(doc))
    (tmp_path / "o.jsonl").write_text("".join(json.dumps(x) + "\n" for x in _GOOD))
    _one_line_exit_2(_cli("--expected", str(tmp_path / "e.json"),
                          "--observed", str(tmp_path / "o.jsonl")), why)


def test_bad_templates_and_options():
    _one_line_exit_2(_cli("getppid", "--tracer", "t=mytool 'unbalanced {pid}"), "cannot split")
    _one_line_exit_2(_cli("getppid", "--tracer", "t=x {pid}", "--reports", "speed"),
                     "unknown capability")
    _one_line_exit_2(_cli("getppid", "--tracer", "strace", "--reports", "returns"), "preset")


def test_a_mistyped_tracer_name_is_not_a_template():
    # issue 20: a name with no {placeholder} and no space that is no preset is a typo
    _one_line_exit_2(_cli("getppid", "--tracer", "stracee"),
                     "unknown tracer 'stracee': did you mean strace?")
    _one_line_exit_2(_cli("getppid", "--tracer", "bpftrac"), "did you mean bpftrace?")
    _one_line_exit_2(_cli("getppid", "--tracer", "zzz"), "unknown tracer 'zzz'")


@needs_root
def test_a_tracer_writing_bytes_that_are_not_utf8_or_flooding():
    """Its reader thread keeps reading (bytes replaced); the stream is not JSON: one line, 2.
    A flood (`yes {pid}`) is read, bounded, and judged the same way."""
    for template in ("printf '\\377\\376ready\\n'; sleep 60 {pid}", "yes {pid}"):
        p = _cli("getppid", "--tracer", f"t=sh -c \"{template}\"" if "printf" in template
                 else f"t={template}", "--ready", "settle", timeout=300)
        _one_line_exit_2(p, "not a JSON object")


def _judge_in_process(doc_text: str, observed_text: str) -> int:
    """What the command does with these two files, in this process: its exit code, 2 for a
    usage error; anything else raised fails the test (a traceback)."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "e.json"), "w", errors="surrogatepass") as f:
            f.write(doc_text)
        with open(os.path.join(d, "o.jsonl"), "w", errors="surrogatepass") as f:
            f.write(observed_text)
        try:
            return conformance.main(["--expected", os.path.join(d, "e.json"),
                                     "--observed", os.path.join(d, "o.jsonl"), "--json"])
        except UsageError as e:
            assert "\n" not in str(e).strip()
            return 2


_JUNK = [None, True, -1, 0, 2**64, "x", "", "-2", [], {}, [1], {"eq": 1}, 1.5, "\ud800"]


def _mutated(value, rng: random.Random):
    """value with one random change somewhere inside it."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        k = rng.choice(list(value))
        out = dict(value)
        roll = rng.random()
        if roll < 0.15:
            del out[k]
        elif roll < 0.5:
            out[k] = rng.choice(_JUNK)
        else:
            out[k] = _mutated(value[k], rng)
        return out
    if isinstance(value, list) and value and rng.random() < 0.8:
        out = list(value)
        i = rng.randrange(len(out))
        roll = rng.random()
        if roll < 0.15:
            del out[i]
        elif roll < 0.3:
            out.append(out[i])
        else:
            out[i] = _mutated(out[i], rng)
        return out
    return rng.choice(_JUNK)


def test_random_mutations_never_trace_back(capsys):
    rng = random.Random(21)
    doc = _doc()
    good = "".join(json.dumps(x) + "\n" for x in _GOOD)
    codes = []
    for _ in range(300):
        if rng.random() < 0.5:
            text = json.dumps(_mutated(doc, rng))
            codes.append(_judge_in_process(text, good))
        else:
            stream = _mutated(_GOOD, rng)
            lines = "".join(json.dumps(x) + "\n" for x in stream) if isinstance(stream, list) \
                else json.dumps(stream)
            codes.append(_judge_in_process(json.dumps(doc), lines))
    capsys.readouterr()
    assert set(codes) <= {0, 1, 2}
    assert codes.count(2) > 50 and codes.count(1) > 20  # both kinds were reached
