import os
import subprocess
import sys

import pytest


def pytest_sessionstart(session):
    # Kernel-witnessed checks read tracefs; as root, mount it where the distro did not.
    if os.geteuid() == 0 and not os.path.isdir("/sys/kernel/tracing/events") \
            and not os.path.isdir("/sys/kernel/debug/tracing/events"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                       stderr=subprocess.DEVNULL, check=False)


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
    from ioworkload import verify
    from ioworkload.errors import Unsupported
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
    import tempfile

    import ioworkload
    from ioworkload import runner

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(runner, "_remove_private_dir", lambda root: None)

    def _run(name, iterations=1, threads=1):
        res = ioworkload.run(name, iterations=iterations, threads=threads)
        assert res.ok, res.mismatches
        root = tmp_path / os.path.basename(res.tmpdir)
        return [{p.name: p.read_bytes() for p in (root / f"w{i}").iterdir()} for i in range(threads)]

    return _run
