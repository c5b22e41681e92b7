"""Faults a hostile host injects (issue 9): a full or odd $TMPDIR, inherited fds, ulimits, an
unprivileged user. Each runs in a subprocess, so a crash or a leak never reaches pytest itself."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT or shutil.which("unshare") is None,
                                reason="a private mount namespace needs root and unshare")


def in_small_tmpfs(script: str, used_kib: int, size_kib: int = 64, timeout=120):
    """Run the bash `script` with $TMPDIR on a fresh `size_kib` tmpfs with `used_kib` taken,
    mounted in a private mount namespace (gone with the process). The script may use $PY."""
    mnt = os.path.join(os.environ.get("TMPDIR", "/tmp"), "small-tmpfs")
    os.makedirs(mnt, exist_ok=True)
    full = textwrap.dedent(f"""\
        set -u
        mount -t tmpfs -o size={size_kib}k,mode=1777 none {mnt} || exit 99
        dd if=/dev/zero of={mnt}/filler bs=1k count={used_kib} status=none 2>/dev/null
        export TMPDIR={mnt}
        """) + script + f"\necho; echo LEFT: $(ls -A {mnt} | tr '\\n' ' ')\n"
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", full],
                       capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, PY=sys.executable))
    try:
        os.rmdir(mnt)
    except OSError:
        pass
    assert p.returncode != 99, p.stderr
    return p


def leftovers(p) -> list[str]:
    return p.stdout.rsplit("LEFT:", 1)[1].split()


@needs_root
@pytest.mark.parametrize("name", ["mmap_basic", "mmap_msync_sync"])
def test_full_tmpdir_mapped_file_fails_cleanly_cli(name):
    # One free page for two workers: one write gets ENOSPC, its mapping has no page behind it.
    p = in_small_tmpfs(f'"$PY" -m ioworkload {name} --iterations 1 --threads 2; echo "RC=$?"',
                       used_kib=60)
    assert "RC=1" in p.stdout, (p.stdout, p.stderr)
    assert "SIGBUS" not in p.stderr and "Bus error" not in p.stderr
    assert "ENOSPC" in p.stdout  # the failed call is named
    assert leftovers(p) == ["filler"]


@needs_root
@pytest.mark.parametrize("name", ["mmap_basic", "mmap_msync_sync"])
def test_full_tmpdir_mapped_file_does_not_kill_the_api_caller(name):
    code = (f"import ioworkload; r = ioworkload.run({name!r}, threads=2); "
            f"print('OK', r.ok, r.mismatches)")
    p = in_small_tmpfs(f'"$PY" -c "{code}"; echo "RC=$?"', used_kib=60)
    assert "RC=0" in p.stdout, (p.stdout, p.stderr)
    assert "OK False" in p.stdout and "ENOSPC" in p.stdout
    assert leftovers(p) == ["filler"]
