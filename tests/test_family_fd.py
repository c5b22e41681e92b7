"""fd family checks the generic test cannot make: ior's file names and contents, the fd-number
reuse close_untracked is about, and the manifest's repeated-event notation it relies on."""

import re
import shutil
import subprocess
import sys

import pytest

from ioworkload.core import registry
from ioworkload.core.manifest import Event

THREE = ("0", "1", "2")
UNTRACKED = {f"closeuntracked-{i}.txt": b"written-just-before-close" for i in range(1, 64)}
UNTRACKED["closeuntracked-0.txt"] = b"named-before-close"

# scenario -> iterations, {file: content after that many iterations}
FILES = {
    "close_basic": (2, {f"closefile-{k}.txt": b"" for k in THREE}),
    "close_range": (2, {f"closerangefile-{k}.txt": b"" for k in THREE}),
    "close_range_bounded": (3, {"closerangehigh.txt": b"still-open" * 3,
                                **{f"closerangelow-{k}.txt": b"" for k in THREE}}),
    "close_range_cloexec": (2, {"closerangecloexec-high.txt": b"high-cloexec-clear" * 2,
                                **{f"closerangecloexec-low-{k}.txt": b"low-cloexec-set" * 2
                                   for k in THREE}}),
    "close_double_close": (2, {"doubleclosefile.txt": b""}),
    "close_untracked": (2, UNTRACKED),
    "dup_basic": (2, {"dupfile.txt": b"via dup"}),
    "dup_dup2": (2, {"dup2file.txt": b"via dup2"}),
    "dup_dup3": (2, {"dup3file.txt": b"via dup3"}),
    "dup2_same_fd": (2, {"dup2samefile.txt": b""}),
    "dup3_invalid_flags": (2, {"dup3flagsfile.txt": b""}),
    "fcntl_dupfd": (2, {"fcntlfile.txt": b"via fcntl"}),
    "fcntl_setfl": (2, {"fcntlsetflfile.txt": b"appended via fcntl setfl" * 2}),
    "fcntl_setfd": (2, {"fcntlsetfdfile.txt": b"after fcntl setfd clear"}),
    "fcntl_dupfd_cloexec": (2, {"fcntlcloexecfile.txt": b"via fcntl dupfd cloexec"}),
    "fcntl_dupfd_max": (2, {"fcntldupfdmaxfile.txt": b""}),
    "ioctl_basic": (2, {"ioctlfile.txt": b""}),
    "ioctl_cloexec": (2, {"ioctlcloexecfile.txt": b"after FIOCLEXafter FIONCLEX"}),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_files_have_ior_names_and_contents(name, run_files):
    iterations, want = FILES[name]
    assert run_files(name, iterations=iterations, threads=2) == [want, want]


def test_every_fd_scenario_with_files_is_checked():
    with_dir = {s.name for s in registry.all_scenarios().values() if s.family == "fd" and s.needs_dir}
    assert with_dir == set(FILES)


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_close_untracked_pipe_takes_the_closed_number(tmp_path):
    """One worker: each pipe2's read end is the number just closed, and the restored file
    lands on it again (the kernel's lowest-free rule, as in ior)."""
    out = tmp_path / "trace"
    subprocess.run(["strace", "-f", "-qq", "-o", str(out), "-e", "trace=openat,close,pipe2",
                    sys.executable, "-m", "ioworkload", "close_untracked", "-n", "2", "-q"],
                   check=True, cwd=tmp_path, timeout=120)
    lines = out.read_text().splitlines()
    worker = {ln.split()[0] for ln in lines if "closeuntracked-" in ln}
    assert len(worker) == 1
    calls = [re.sub(r"\s+= ", " = ", ln.split(None, 1)[1]) for ln in lines if ln.split()[0] in worker]
    file_fd = {}
    for ln in calls:
        m = re.match(r'openat\(AT_FDCWD, ".*/(closeuntracked-\d+\.txt)", .*\) = (\d+)', ln)
        if m:
            file_fd.setdefault(m[1], set()).add(int(m[2]))
    assert len(file_fd) == 64
    assert all(len(fds) == 1 for fds in file_fd.values()), "a reopened file moved to another number"
    pipes = 0
    for before, ln in zip(calls, calls[1:]):
        m = re.match(r"pipe2\(\[(\d+), \d+\], O_CLOEXEC\) = 0", ln)
        if m:
            pipes += 1
            assert before == f"close({m[1]}) = 0"
    assert pipes == 2 * 64


def test_repeated_event_notation():
    ev = Event.parse("close(fd[i]) -> 0 x64")
    assert (ev.syscall, ev.times, str(ev)) == ("close", 64, "close(fd[i]) -> 0 x64")
    assert Event.parse("close(fd) -> -EBADF").times == 1
    sc = registry.get("close_untracked")
    counts = sc.expected_counts(2)
    # files 1..63 open in setup, file 0 in each iteration; every iteration reopens 1..63
    assert counts == {"openat": 63 + 2 * 64, "write": 2 * 64, "close": 2 * 3 * 64 + 63,
                      "pipe2": 2 * 64}


@pytest.mark.parametrize("name", ["dup_dup2", "dup_dup3", "close_range", "close_range_cloexec"])
def test_fixed_numbers_with_many_verified_threads(name):
    """40 threads x ~13 counters is more than 500 fds: the verification counters must not sit
    on the fixed numbers (500 + 16 per thread) that dup2/dup3/close_range aim at."""
    from conftest import kernel_can_verify
    if kernel_can_verify() is not None:
        pytest.skip(kernel_can_verify())
    from ioworkload.core.runner import execute
    res = execute(registry.get(name), iterations=2, threads=40, verify=True)
    assert res.ok, res.mismatches
    assert res.verified, [r for r in res.verification if not r["ok"]]


def _with_nofile(limit):
    import resource
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


@pytest.mark.parametrize("limit,threads,verify,code", [
    (256, 1, False, 77),    # the fixed numbers (500+) are beyond the limit: unsupported, not EBADF
    (1024, 20, True, 77),   # the counters do not fit above the last block
    (1024, 2, True, 0),
])
def test_fixed_numbers_against_the_fd_limit(limit, threads, verify, code):
    from conftest import kernel_can_verify
    if verify and kernel_can_verify() is not None:
        pytest.skip(kernel_can_verify())
    p = subprocess.run([sys.executable, "-m", "ioworkload", "dup_dup2", "-n", "3", "-t", str(threads),
                        "-q"] + (["--verify"] if verify else []), capture_output=True, text=True,
                       preexec_fn=_with_nofile(limit), timeout=60)
    assert p.returncode == code, p.stderr
    if code == 77:
        assert p.stderr.startswith("unsupported: ") and "ulimit -n" in p.stderr


def test_counters_stay_low_for_close_range_empty():
    """close_range(9000, 9999) must neither close a counter nor walk a grown fd table."""
    from conftest import kernel_can_verify
    if kernel_can_verify() is not None:
        pytest.skip(kernel_can_verify())
    p = subprocess.run([sys.executable, "-m", "ioworkload", "close_range_empty", "-n", "100",
                        "-t", "2", "--verify", "-q"], capture_output=True, text=True,
                       preexec_fn=_with_nofile(10000), timeout=60)
    assert p.returncode == 0, p.stderr
