"""`ioworkload kernels`: the report and its parsing without a VM; the host column; the guard
that stops a VM whichever way the command ends; and, where virtme-ng and QEMU are installed,
a smoke test that boots Debian's 6.1 under software emulation (the whole matrix behind
IOWORKLOAD_FULL=1)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ioworkload.core.errors import Unsupported, UsageError
from ioworkload.kernels import fetch, guest, report, vm

FULL = os.environ.get("IOWORKLOAD_FULL") == "1"
CLI = [sys.executable, "-m", "ioworkload", "kernels"]
SMOKE_KERNEL = "debian:6.1"
BOOT_TIMEOUT = 900  # a TCG boot and one scenario: about a minute, generously bounded


def _kernels(*argv, tmp=None, timeout=BOOT_TIMEOUT, **kw):
    env = dict(os.environ, **({"TMPDIR": str(tmp)} if tmp else {}))
    return subprocess.run(CLI + list(argv), capture_output=True, text=True, timeout=timeout,
                          env=env, **kw)


# ---- parsing and the report, no VM ----

def test_kernel_specs():
    assert fetch.parse_spec("host") == ("host", "")
    assert fetch.parse_spec("debian:6.1") == ("debian", "bookworm")
    assert fetch.parse_spec("debian:6.12") == ("debian", "bookworm-backports")
    assert fetch.parse_spec("debian:trixie") == ("debian", "trixie")
    for bad in ("debian:", "debian:Sid!", "fedora:40", "/no/such/vmlinuz"):
        with pytest.raises(UsageError):
            fetch.parse_spec(bad)


def test_image_release_from_the_setup_header(tmp_path):
    image = bytearray(0x1000)
    image[0x202:0x206] = b"HdrS"
    image[0x20E:0x210] = (0x400 - 0x200).to_bytes(2, "little")
    image[0x400:0x440] = b"6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1\0"
    path = tmp_path / "vmlinuz"
    path.write_bytes(bytes(image))
    assert fetch.image_release(str(path)) == "6.1.0-57-amd64"
    path.write_bytes(b"\0" * 0x1000)
    assert fetch.image_release(str(path)) is None
    path.write_bytes(b"not a kernel")
    with pytest.raises(UsageError, match="not an x86 kernel image"):
        fetch.resolve(str(path))


def _result(kernel, rows, error=None, **kw):
    return dict({"kernel": kernel, "release": kernel + "-r", "how": "test", "seconds": 1.0,
                 "error": error, "rows": rows}, **kw)


def _row(scenario, status, reason="", differences=(), tracer="verify"):
    return {"scenario": scenario, "tracer": tracer, "status": status, "reason": reason,
            "differences": list(differences)}


def test_matrix_cells_and_exit_codes():
    results = [
        _result("host", [_row("getppid", "verified"), _row("cachestat", "verified")]),
        _result("debian:6.1", [_row("getppid", "verified"),
                               _row("cachestat", "unsupported", "cachestat: ENOSYS")]),
        _result("debian:sid", [], error="error: no result (exit status 255)"),
    ]
    head, body = report.matrix(results)
    assert head == ["scenario", "host", "debian:6.1", "debian:sid"]
    assert body == [["getppid", "verified", "verified", "error: no result (exit status 255)"],
                    ["cachestat", "verified", "unsupported: cachestat: ENOSYS",
                     "error: no result (exit status 255)"]]
    assert report.exit_code(results) == 1  # a kernel that gave no result fails the run
    assert report.exit_code(results[:2]) == 0
    wrong = [_result("host", [_row("getppid", "wrong", "x", ["raw_syscalls differ"])])]
    assert report.matrix(wrong)[1] == [["getppid", "WRONG (1)"]]
    assert report.exit_code(wrong) == 1
    assert report.exit_code([_result("host", [_row("x", "unsupported", "no")])]) == 77
    assert "raw_syscalls differ" in report.render({"kernels": wrong}, "text")


def test_matrix_names_the_tracer_when_there_are_several():
    rows = [_row("getppid", "exact", tracer="strace"), _row("getppid", "limited", tracer="perf-trace")]
    head, body = report.matrix([_result("host", rows)])
    assert head == ["scenario", "tracer", "host"]
    assert body == [["getppid", "strace", "exact"], ["getppid", "perf-trace", "limited"]]


def test_markdown_and_json_carry_every_kernel():
    doc = {"command": ["verify", "getppid"],
           "kernels": [_result("host", [_row("getppid", "verified")]),
                       _result("debian:6.1", [_row("getppid", "unsupported", "a | b")])]}
    md = report.render(doc, "markdown")
    assert "| `getppid` | verified | unsupported: a \\| b |" in md
    assert "debian:6.1-r" in md  # each kernel's release and how it ran
    assert json.loads(report.render(doc, "json")) == doc


def test_guest_commands_are_checked_on_the_host():
    guest.validate("verify", ["getppid", "-n", "2"])
    assert guest.verify_selection(["--family", "baseline"])[0]
    for command, argv, match in (("verify", [], "name scenarios"), ("sweep", [], "unknown command"),
                                 ("verify", ["no_such_scenario"], "no_such"),
                                 ("check", ["getppid", "--json"], "leave out --json")):
        with pytest.raises(UsageError, match=match):
            guest.validate(command, argv)


def test_bad_input_is_one_line_and_exit_2():
    for argv, match in ((["--kernel", "fedora:40", "verify", "getppid"], "unknown source"),
                        (["--no-host", "verify", "getppid"], "no kernel to run on"),
                        (["--memory", "lots", "verify", "getppid"], "--memory"),
                        (["--timeout-scale", "-1", "verify", "getppid"], "timeout-scale"),
                        (["verify"], "name scenarios"),
                        (["check", "getppid", "--json"], "leave out --json"),
                        (["--no-host", "--kernel", "debian:sid", "--boot-option", "a b",
                          "verify", "getppid"], "one kernel parameter"),
                        (["--kernel", "debian:sid", "--boot-option", "ia32_emulation=0",
                          "verify", "getppid"], "add --no-host")):
        r = _kernels(*argv, timeout=60)
        assert r.returncode == 2, (argv, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and match in r.stderr, (argv, r.stderr)
        assert "Traceback" not in r.stderr


# ---- the host column ----

def test_host_column_runs_the_sweep(tmp_path):
    r = _kernels("--json", "verify", "getppid", "enosys", "crash", tmp=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (host,) = doc["kernels"]
    assert host["kernel"] == "host" and host["how"] == "on the host" and host["error"] is None
    assert [(row["scenario"], row["status"]) for row in host["rows"]] == [
        ("getppid", "verified"), ("enosys", "verified"), ("crash", "verified")]
    assert os.listdir(tmp_path) == []  # the private directory is gone


def _fake_run(tmp_path, monkeypatch, report: dict, status: int) -> None:
    """`ioworkload NAME ... --json` replaced by a script that prints `report`, exits `status`."""
    fake = tmp_path / "fake_ioworkload.py"
    fake.write_text(f"import json, sys\nprint(json.dumps({report!r}))\nsys.exit({status})\n")
    monkeypatch.setattr(guest, "_ioworkload", lambda *argv: [sys.executable, str(fake), *argv])


def test_the_sweep_judges_the_report_not_the_exit_code(tmp_path, monkeypatch):
    """A run whose kernel counts differ is WRONG with the counter named; one that exits 1 by
    design (crash) but issued its manifest, verified, is verified."""
    bad = {"ok": True, "verified": False, "interrupted": None, "mismatches": [],
           "verification": [{"counter": "getppid: returned", "expected": 1, "witnessed": 0,
                             "ok": False}]}
    _fake_run(tmp_path, monkeypatch, bad, 1)
    row = guest.verify_one("getppid", 1)
    assert row["status"] == "wrong"
    assert row["differences"] == ["getppid: returned: expected 1, the kernel counted 0"]
    _fake_run(tmp_path, monkeypatch, dict(bad, verified=True, verification=[]), 1)
    assert guest.verify_one("crash", 1)["status"] == "verified"


def test_a_kernel_cut_short_keeps_the_rows_it_finished(monkeypatch):
    """A timeout (or a stop signal) mid-run keeps what the guest saved before."""
    from ioworkload.kernels import command

    def cut_short(argv, workdir, timeout, stopped, **kw):
        with open(os.path.join(workdir, "result.json"), "w") as f:
            json.dump({"rows": [_row("getppid", "verified")], "error": None}, f)
        raise TimeoutError("did not end within 1 s")
    monkeypatch.setattr(vm, "run_guarded", cut_short)
    options = type("Options", (), {"timeout": 1.0})()
    result = command.run_kernel("host", "verify", ["getppid"], options, lambda: None)
    assert result["rows"] == [_row("getppid", "verified")]
    assert result["error"] == "error: did not end within 1 s (1 rows done)"


def test_the_guest_boots_with_a_clock_the_vdso_reads(monkeypatch):
    """Without a vDSO clock (7.2 under TCG distrusts the TSC), the runner's clock_gettime
    calls are syscalls and every --verify is WRONG by two: the VM boots with the TSC."""
    from ioworkload.kernels import command
    booted = []

    def boot(argv, workdir, timeout, stopped, **kw):
        booted.append(argv)
        raise RuntimeError("not booted in this test")
    monkeypatch.setattr(fetch, "resolve", lambda spec, log: fetch.Kernel(spec, "/vmlinuz", "r"))
    monkeypatch.setattr(fetch, "udev_overlay", lambda log: None)
    monkeypatch.setattr(vm, "vng_path", lambda: "vng")
    monkeypatch.setattr(vm, "vng_version", lambda vng: "virtme-ng")
    monkeypatch.setattr(vm, "run_guarded", boot)
    options = type("Options", (), {"timeout": 1.0, "scale": None, "memory": "2G",
                                   "accel": vm.Accel("tcg"), "boot_options": []})()
    command.run_kernel("debian:sid", "verify", ["getppid"], options, lambda: None)
    appended = [a for flag, a in zip(booted[0], booted[0][1:]) if flag == "--append"]
    assert "clocksource=tsc" in appended and "tsc=reliable" in appended
    # a user's --boot-option rides beside them, and the report's "how" says so
    options.boot_options = ["ia32_emulation=0"]
    result = command.run_kernel("debian:sid", "verify", ["getppid"], options, lambda: None)
    appended = [a for flag, a in zip(booted[1], booted[1][1:]) if flag == "--append"]
    assert "ia32_emulation=0" in appended and "clocksource=tsc" in appended
    assert result["how"].endswith("booted with ia32_emulation=0"), result["how"]


# ---- the guard: whichever way the command ends, the VM's processes end ----

def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pids, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_guard_ends_the_group_when_the_command_dies(tmp_path, how):
    """A parent that starts the guard the way `kernels` does, over a stand-in VM (a shell and
    its sleeping child), then dies: the stand-in's whole group goes."""
    pids = tmp_path / "pids"
    parent = subprocess.Popen([sys.executable, "-c", f"""
import subprocess, sys, time
from ioworkload.kernels import guard
subprocess.Popen([sys.executable, "-m", "ioworkload.kernels.guard", "--",
                  "sh", "-c", "sleep 1000 & echo $$ $! > {pids}; wait"],
                 start_new_session=True, preexec_fn=guard.die_with_parent)
time.sleep(1000)
"""])
    deadline = time.monotonic() + 60
    while not (pids.exists() and pids.read_text().endswith("\n")):
        assert time.monotonic() < deadline and parent.poll() is None, "the stand-in never started"
        time.sleep(0.05)
    children = [int(p) for p in pids.read_text().split()]
    assert all(_alive(p) for p in children)
    parent.send_signal(getattr(signal, how))
    parent.wait(30)
    assert _wait_gone(children) == [], "the stand-in VM outlived the command"


# ---- real VMs ----

def _vm_unavailable() -> str | None:
    try:
        vm.vng_path()
    except Unsupported as e:
        return str(e)
    for tool, package in (("qemu-system-x86_64", "qemu-system-x86"), ("busybox", "busybox-static")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed ({package})"
    if os.geteuid() != 0:
        return "the udev overlay and the guest's tracing need root"
    return None


needs_vm = pytest.mark.skipif(_vm_unavailable() is not None, reason=str(_vm_unavailable()))


def _qemus(marker: str) -> list[int]:
    """The QEMU processes whose command line names `marker` (the test's own TMPDIR)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read().decode(errors="replace")
            except OSError:
                continue
            if "qemu-system" in cmd and marker in cmd:
                found.append(int(entry))
    return found


def _overlay_mounts() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if "ioworkload/kernels/udev" in line]


@needs_vm
def test_smoke_boots_debian_6_1(tmp_path):
    """Debian's 6.1 (fetched into the cache once), one scenario with --verify, then checked
    under strace attached by PID, each in a VM; the host column beside it."""
    r = _kernels("--kernel", SMOKE_KERNEL, "--json", "verify", "getppid", tmp=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    host, old = json.loads(r.stdout)["kernels"]
    assert old["release"].startswith("6.1.") and "QEMU" in old["how"], old
    assert [(row["scenario"], row["status"]) for row in old["rows"]] == [("getppid", "verified")]
    r = _kernels("--kernel", SMOKE_KERNEL, "--no-host", "--json", "check", "getppid",
                 "--tracer", "strace", tmp=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    (old,) = json.loads(r.stdout)["kernels"]
    assert [(row["scenario"], row["tracer"], row["status"]) for row in old["rows"]] == [
        ("getppid", "strace", "exact")], old
    assert os.listdir(tmp_path) == [] and _qemus(str(tmp_path)) == []


@needs_vm
@pytest.mark.parametrize("signum", [signal.SIGINT] + ([signal.SIGKILL, signal.SIGTERM] if FULL else []))
def test_interrupted_matrix_leaves_nothing(tmp_path, signum):
    """Stopped mid-boot: no QEMU, no overlay mount, no udev daemon, no private directory."""
    udevd_before = subprocess.run(["pgrep", "-x", "systemd-udevd"], capture_output=True).stdout
    fetch.resolve(SMOKE_KERNEL)  # the download is not what this test interrupts
    proc = subprocess.Popen(CLI + ["--no-host", "--kernel", SMOKE_KERNEL, "--kernel", "debian:sid",
                                   "verify", "getppid"],
                            env=dict(os.environ, TMPDIR=str(tmp_path)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not _qemus(str(tmp_path)):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()[-2000:]
        time.sleep(0.2)
    time.sleep(3)  # mid-boot
    qemus = _qemus(str(tmp_path))
    proc.send_signal(signum)
    proc.communicate(timeout=120)
    if signum != signal.SIGKILL:
        assert proc.returncode == 128 + signum
    assert _wait_gone(qemus, 60) == [], "QEMU outlived the command"
    assert _qemus(str(tmp_path)) == [] and _overlay_mounts() == []
    assert subprocess.run(["pgrep", "-x", "systemd-udevd"], capture_output=True).stdout == udevd_before
    if signum != signal.SIGKILL:  # SIGKILL leaves no chance to remove it; nothing runs there
        assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not FULL, reason="a second VM boot (about 2 min): IOWORKLOAD_FULL=1")
@needs_vm
def test_a_shut_32_bit_door_is_unsupported_with_why(tmp_path):
    """The host's 32-bit door is open, so the ia32 family's exit-77 path runs only in a guest
    booted with ia32_emulation=0 (Linux 6.7 and later): there every ia32 scenario is
    unsupported naming the shut door, and x32_bit, a 64-bit call, still runs."""
    r = _kernels("--kernel", "debian:sid", "--no-host", "--boot-option", "ia32_emulation=0",
                 "--json", "verify", "ia32_ids", "ia32_both_doors", "x32_bit",
                 tmp=tmp_path, timeout=1800)
    (guest,) = json.loads(r.stdout)["kernels"]
    assert guest["how"].endswith("booted with ia32_emulation=0"), guest
    cells = {row["scenario"]: row for row in guest["rows"]}
    assert cells["x32_bit"]["status"] == "verified", guest
    for name in ("ia32_ids", "ia32_both_doors"):
        assert cells[name]["status"] == "unsupported", guest
        assert "no 32-bit door" in cells[name]["reason"], guest
    assert os.listdir(tmp_path) == [] and _qemus(str(tmp_path)) == []


@pytest.mark.skipif(not FULL, reason="the whole matrix takes hours: IOWORKLOAD_FULL=1")
@needs_vm
def test_full_matrix(tmp_path):
    r = _kernels("--kernel", "debian:6.1", "--kernel", "debian:6.12", "--kernel", "debian:sid",
                 "--json", "verify", "--all", tmp=tmp_path, timeout=6 * 3600)
    doc = json.loads(r.stdout)
    for k in doc["kernels"]:
        assert k["error"] is None, k
        assert {row["status"] for row in k["rows"]} <= {"verified", "unsupported"}, k["kernel"]
    assert r.returncode == 0


def test_check_runs_in_batches_that_are_saved_as_they_end(monkeypatch):
    """A check of many scenarios in a guest runs CHECK_BATCH at a time, the selection taken out
    of its arguments and the rest (tracer, counts) passed to every batch; the rows are saved
    after each, so a run cut short keeps the batches it finished."""
    rest, batches = guest.check_batches(["--tracer", "strace", "--all", "-n", "1"])
    assert rest == ["--tracer", "strace", "-n", "1"]
    assert [n for b in batches for n in b] == guest.verify_selection(["--all"])[0]
    assert all(0 < len(b) <= guest.CHECK_BATCH for b in batches)
    rest, batches = guest.check_batches(["getppid", "--family=baseline", "--tracer", "bpftrace"])
    assert rest == ["--tracer", "bpftrace"] and batches[0][0] == "getppid"
    offline = ["--expected", "e.json", "--observed", "o.txt"]
    assert guest.check_batches(offline) == (offline, [[]])

    calls, saved = [], []

    def fake_check(command, argv):
        calls.append(argv)
        return [{"scenario": n, "tracer": "strace", "status": "exact"}
                for n in argv if not n.startswith("-") and n != "strace"]
    monkeypatch.setattr(guest, "CHECK_BATCH", 2)
    monkeypatch.setattr(guest, "_json_command", fake_check)
    rows = guest.run_check(["getppid", "gettid", "enosys", "--tracer", "strace"],
                           lambda rows: saved.append(len(rows)))
    assert calls == [["getppid", "gettid", "--tracer", "strace"], ["enosys", "--tracer", "strace"]]
    assert saved == [2, 3] and [r["scenario"] for r in rows] == ["getppid", "gettid", "enosys"]


def _kernel_matrix_tool():
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools", "kernel_matrix.py")
    spec = importlib.util.spec_from_file_location("kernel_matrix", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_the_page_is_rendered_from_the_raw_reports(tmp_path, monkeypatch):
    """docs/kernels.md's matrix is what tools/kernel_matrix.py --render makes of docs/kernels/;
    a run cut short says so on the page, with the commit it was measured at."""
    tool = _kernel_matrix_tool()
    with open(tool.PAGE) as f:
        page = f.read()
    assert tool.render() in page, "docs/kernels.md is stale: python tools/kernel_matrix.py --render"
    monkeypatch.setattr(tool, "DATA", str(tmp_path))
    cut = _result("debian:sid", [_row("getppid", "verified")],
                  error="error: did not end within 60 s (1 rows done)")
    (tmp_path / "debian-sid-verify.json").write_text(json.dumps(
        {"date": "d", "commit": "abc1234", "kernels": [cut]}))
    text = tool.render()
    assert "| debian:sid | debian:sid-r | test | 1 | d | abc1234 | 1 (partial: error: did not " \
           "end within 60 s (1 rows done)) |" in text
    assert "Not measured (did not finish in time): debian:6.1, debian:6.12, host." in text


def test_a_run_cut_short_is_resumed_where_it_stopped():
    """--resume runs only the scenarios a cut-short run did not reach and adds their rows."""
    tool = _kernel_matrix_tool()
    catalog = guest.verify_selection(["--all"])[0]
    cut = {"commit": "a", "kernels": [_result("debian:6.1", [_row(n, "verified") for n in
                                                            catalog[:3]], error="error: cut")]}
    assert tool.not_reached(cut) == catalog[3:]
    rest = {"commit": "a", "kernels": [_result("debian:6.1", [_row(n, "verified")
                                                              for n in catalog[3:]])]}
    whole = tool.resumed(cut, rest)
    assert [r["scenario"] for r in whole["kernels"][0]["rows"]] == catalog
    assert whole["kernels"][0]["error"] is None and whole["runs"] == 2
    assert whole["kernels"][0]["seconds"] == 2.0 and tool.not_reached(whole) == []


def test_scenarios_measured_again_replace_their_rows_and_are_named():
    """--again: the run keeps every other row and its place; the new rows take the old ones'
    places, and the page's render names them with their commit."""
    tool = _kernel_matrix_tool()
    run = {"commit": "a", "date": "d1", "kernels": [_result("debian:6.1", [
        _row("getppid", "verified"), _row("iouring_op_file", "wrong"), _row("gettid", "verified")])]}
    fix = {"commit": "b", "date": "d2", "kernels": [_result("debian:6.1", [
        _row("iouring_op_file", "verified")])]}
    whole = tool.replaced(run, fix)
    assert [(r["scenario"], r["status"]) for r in whole["kernels"][0]["rows"]] == [
        ("getppid", "verified"), ("iouring_op_file", "verified"), ("gettid", "verified")]
    assert whole["commit"] == "a" and whole["again"] == [
        {"scenarios": ["iouring_op_file"], "commit": "b", "date": "d2"}]


def test_the_guest_command_does_not_ride_the_kernel_command_line(tmp_path):
    """virtme-ng puts --exec on the kernel's command line (2048 bytes on x86): a long scenario
    list cut it and the guest never started. The command goes through the shared directory."""
    names = guest.verify_selection(["--all"])[0]
    script = vm.guest_script(str(tmp_path), "verify", names, 10.0)
    assert len(script) < 1024 and names[-1] not in script
    assert json.loads((tmp_path / vm.GUEST_ARGV).read_text()) == ["verify", *names]
    (tmp_path / vm.GUEST_ARGV).write_text(json.dumps(["no_such_command", "x"]))
    out = tmp_path / "result.json"
    assert guest.main([str(out), "--argv-file", str(tmp_path / vm.GUEST_ARGV)]) == 1
    assert "no_such_command" in json.loads(out.read_text())["error"]
