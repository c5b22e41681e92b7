"""memory family: the stores through MAP_SHARED mappings reach ior's files, and
mmap_memory_lock leaves nothing of the process locked."""

import pytest

import ioworkload
from ioworkload.core.errors import Unsupported

FILES = {
    "mmap_basic": ("mmapfile.txt", b"MMAP shared page data"),
    "mmap_msync_sync": ("msyncfile.txt", b"MSYNC shared page data"),
    "mmap_msync_invalid_flags": ("msyncinvalidfile.txt", b"msync invalid flags data"),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_mapped_file_content(name, run_files):
    filename, content = FILES[name]
    assert run_files(name, iterations=3) == [{filename: content}]


def _locked_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmLck:"):
                return int(line.split()[1])
    raise AssertionError("no VmLck in /proc/self/status")


def test_memory_lock_leaves_nothing_locked():
    try:
        res = ioworkload.run("mmap_memory_lock", iterations=20, threads=2)
    except Unsupported as e:
        pytest.skip(f"unsupported: {e}")
    assert res.ok, res.mismatches
    assert _locked_kb() == 0
