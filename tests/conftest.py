import itertools
import os
import signal
import subprocess
import sys
import time

import pytest


# The whole catalog at full counts is slow (sleeps, AIO's io_destroy, stop/continue cycles):
# by default a run checks every scenario at small counts, IOWORKLOAD_FULL=1 at 100 iterations.
FULL = bool(os.environ.get("IOWORKLOAD_FULL"))
MANY = 100 if FULL else 5   # "many iterations" in the per-scenario checks


def sampled(names, *axes) -> list[tuple]:
    """(name, a, ...) cases for a test over names x axes (tracers, thread counts): every
    combination with IOWORKLOAD_FULL=1; by default each name once, the axes' combinations taken
    in turn (the last axis varies fastest), so every tracer still runs."""
    combos = list(itertools.product(*axes))
    if FULL:
        return [(n, *c) for n in names for c in combos]
    return [(n, *combos[i % len(combos)]) for i, n in enumerate(names)]


def _mounts() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return sorted(line.split(" ", 4)[4] for line in f)  # without the mount ids


def pytest_sessionstart(session):
    # A shell without job control starts a background job (`pytest ... &`) with SIGINT and
    # SIGQUIT ignored, and every child inherits that; the signal tests need the usual handling
    # (an ignored SIGINT stays ignored by design: nohup).
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # Every private directory of the session goes under one fresh TMPDIR, in-process runs and
    # subprocesses alike, so test_scenarios can check that the whole catalog left it empty.
    import tempfile
    root = tempfile.mkdtemp(prefix="ioworkload-tests-")
    os.environ["TMPDIR"] = root
    tempfile.tempdir = root
    session.config.ioworkload_tmp_root = root
    session.config.ioworkload_mounts = _mounts()
    # Kernel-witnessed checks read tracefs; as root, mount it where the distro did not.
    if os.geteuid() == 0 and not os.path.isdir("/sys/kernel/tracing/events") \
            and not os.path.isdir("/sys/kernel/debug/tracing/events"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                       stderr=subprocess.DEVNULL, check=False)


def pytest_sessionfinish(session, exitstatus):
    import shutil
    root = getattr(session.config, "ioworkload_tmp_root", None)
    if root:
        shutil.rmtree(root, ignore_errors=True)  # ours, and pytest's own tmp_path dirs in it


@pytest.fixture
def session_tmp_root(request):
    return request.config.ioworkload_tmp_root, request.config.ioworkload_mounts


@pytest.fixture
def cli():
    """Run `python -m ioworkload ARGS...` in a subprocess; returns CompletedProcess."""

    def _run(*args, timeout=120, env=None, **kw):
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        return subprocess.run([sys.executable, "-m", "ioworkload", *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, env=full_env, **kw)

    return _run


def kernel_can_verify() -> str | None:
    from ioworkload.core import verify
    from ioworkload.core.errors import Unsupported
    try:
        verify.tracefs_root()
    except Unsupported as e:
        return str(e)
    if os.geteuid() != 0:
        return "kernel-witnessed verification needs root here"
    return None


@pytest.fixture
def run_files(monkeypatch, tmp_path):
    """Run a scenario in-process, keeping its private directories (under tmp_path, which pytest
    removes): returns each worker's files as {name: content}."""
    import ioworkload
    from ioworkload.core import runner

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(runner, "_remove_private_dir", lambda root: None)

    def _run(name, iterations=1, threads=1):
        res = ioworkload.run(name, iterations=iterations, threads=threads)
        assert res.ok, res.mismatches
        root = tmp_path / os.path.basename(res.tmpdir)
        return [{p.name: p.read_bytes() for p in (root / f"w{i}").iterdir()} for i in range(threads)]

    return _run


def skip_unsupported(name) -> None:
    """Skip the test where the host cannot run scenario `name` (with the reason)."""
    from ioworkload.core import registry
    reason = registry.get(name).unsupported_reason()
    if reason:
        pytest.skip(reason)


def check_is_exact_at_1_and_2_threads(cli, name, tracer) -> None:
    """`ioworkload check NAME --tracer TRACER` at 1 and 2 threads: exact, or events the tracer
    itself reported dropping (bpftrace's printf under getppid_burst's 2 x 15,000 calls an
    iteration); never wrong, never limited."""
    import shutil
    if not shutil.which(tracer):
        pytest.skip(f"{tracer} is not installed")
    for threads in ("1", "2"):
        r = cli("check", name, "--tracer", tracer, "-t", threads, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        row = next(line for line in r.stdout.splitlines() if line.startswith(name))
        verdict = row[len(name):].strip()  # "exact: counts, returns, args 6/6, order"
        assert verdict.startswith("exact") or " lost (" in row, r.stdout


def children_seen(pid: int, seconds: float) -> set:
    """The children of any thread of process `pid` seen over `seconds` (they come and go)."""
    seen: set = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{t}/children") as f:
                    seen |= set(f.read().split())
            except FileNotFoundError:
                pass
        time.sleep(0.01)
    return seen


def threads_and_children() -> tuple[set, set]:
    """This process's threads, and the children of any of them."""
    tasks = set(os.listdir("/proc/self/task"))
    children = set()
    for t in tasks:
        try:
            with open(f"/proc/self/task/{t}/children") as f:
                children |= set(f.read().split())
        except FileNotFoundError:
            pass
    return tasks, children


def run_leaves_nothing_behind(name) -> None:
    """An in-process run at 5 iterations on 2 threads: exact, and no fd, thread, child or
    private directory of it stays."""
    import ioworkload
    fds, tasks = set(os.listdir("/proc/self/fd")), threads_and_children()
    res = ioworkload.run(name, iterations=5, threads=2)
    assert res.ok, res.mismatches
    assert set(os.listdir("/proc/self/fd")) == fds
    assert threads_and_children() == tasks
    if res.tmpdir:
        assert not os.path.exists(res.tmpdir)


@pytest.fixture
def cpu_hog():
    """`yes >/dev/null` pinned to each CPU this process may use, for the test's duration: a
    loaded machine, where a task can wait long for its turn. Always killed after."""
    hogs = []
    try:
        for cpu in sorted(os.sched_getaffinity(0)):
            hogs.append(subprocess.Popen(["taskset", "-c", str(cpu), "yes"],
                                         stdout=subprocess.DEVNULL))
        yield
    finally:
        for p in hogs:
            p.kill()
            p.wait()
