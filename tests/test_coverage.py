"""`ioworkload coverage`: the build's syscall table, each syscall with the scenarios whose
manifests issue it, the totals, and the io_uring operations."""

import json

import ioworkload
from ioworkload.cli import coverage
from ioworkload.core import expect


def test_json_lists_the_whole_table_with_consistent_totals(cli):
    r = cli("coverage", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    table = expect.syscall_table()
    assert [row["syscall"] for row in rep["table"]] == sorted(table, key=lambda n: (table[n], n))
    assert rep["syscalls"] == len(table) == rep["covered"] + rep["uncovered"]
    assert rep["covered"] == sum(1 for row in rep["table"] if row["scenarios"])
    assert rep["percent"] == round(100 * rep["covered"] / rep["syscalls"], 1)


def test_each_syscall_lists_exactly_the_scenarios_that_declare_it():
    rep = coverage.report()
    declared: dict = {}
    for sc in ioworkload.scenarios().values():
        for ev in sc.setup + sc.iteration + sc.teardown:
            declared.setdefault(ev.key, set()).add(sc.name)  # ia32:open is not open
    for row in rep["table"]:
        assert set(row["scenarios"]) == declared.get(row["syscall"], set()), row["syscall"]
    # the 32-bit door's calls apart, by their ia32 number
    assert {f"ia32:{r['syscall']}": set(r["scenarios"]) for r in rep["ia32"]} == \
        {k: v for k, v in declared.items() if k.startswith("ia32:")}
    assert {r["syscall"]: r["nr"] for r in rep["ia32"]}["open"] == expect.ia32_table()["open"]
    assert "iouring_registered_ring" in _row(rep, "io_uring_register")["scenarios"]
    # a call only the runner issues around a scenario is marked as the harness
    assert _row(rep, "futex")["harness"] and not _row(rep, "getppid")["harness"]
    assert rep["off_table"] == {"syscall_1023": ["enosys"]} | {
        f"syscall_{expect.X32_SYSCALL_BIT | expect.syscall_number(n)}": ["x32_bit"]
        for n in ("getpid", "gettid")}


def test_io_uring_operations_are_listed():
    ops = coverage.report()["io_uring_operations"]
    for op in ("IORING_OP_OPENAT", "IORING_OP_READ", "IORING_OP_WRITE", "IORING_OP_CLOSE",
               "IORING_OP_STATX", "IORING_OP_FSYNC", "IORING_OP_SEND", "IORING_OP_RECV"):
        assert op in ops, op
    assert "iouring_op_sqpoll" in ops["IORING_OP_WRITE"]
    assert "iouring_reopen" in ops["IORING_OP_CLOSE"]


def test_text_report_states_the_figure(cli):
    rep = coverage.report()
    r = cli("coverage")
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"{rep['covered']} of {rep['syscalls']} syscalls")
    assert f"({rep['percent']}%)" in first
    u = cli("coverage", "--uncovered", "--json")
    assert all(not row["scenarios"] for row in json.loads(u.stdout)["table"])
    # only the table's entries no scenario issues: not syscall_1023, not io_uring operations
    assert not {"off_table", "io_uring_operations", "ia32"} & set(json.loads(u.stdout))
    text = cli("coverage", "--uncovered").stdout
    assert "syscall_1023" not in text and "IORING_OP" not in text
    assert len(text.splitlines()) == (2 + rep["uncovered"] if rep["uncovered"] else 1)
    bad = cli("coverage", "--bogus")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_each_entry_says_how_it_is_witnessed():
    rep = coverage.report()
    assert {row["witness"] for row in rep["table"]} <= {"tracepoint", "raw_syscalls"}
    assert _row(rep, "openat")["witness"] == "tracepoint"
    for name in expect.REMOVED:   # no tracepoint of their own on any kernel
        assert _row(rep, name)["witness"] == "raw_syscalls", name
    for row in rep["table"]:
        assert row["witness"] == ("tracepoint" if expect.has_tracepoint(row["syscall"])
                                  else "raw_syscalls")


def _row(rep, name):
    return next(row for row in rep["table"] if row["syscall"] == name)
