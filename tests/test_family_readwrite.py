"""readwrite family: after many iterations on several threads, every file holds exactly ior's
payload (the declared rewinds keep the iterations identical: nothing grows or drifts)."""

import os

import pytest

import ioworkload
from ioworkload.core import registry, runner
from ioworkload.core.errors import Unsupported

# scenario -> {path in the worker's directory: bytes it must hold after the run}
EXPECTED_FILES = {
    "readwrite_basic": {"rwfile.txt": b"hello from ioworkload"},
    "readwrite_pread": {"preadfile.txt": b"pread test data"},
    "readwrite_preadv": {"preadvfile.txt": b"preadv test data"},
    "readwrite_preadv2": {"preadv2file.txt": b"preadv2 test data"},
    "readwrite_pwrite": {"pwritefile.txt": b"pwrite test data"},
    "readwrite_pwritev": {"pwritevfile.txt": b"pwritev test data"},
    "readwrite_pwritev2": {"pwritev2file.txt": b"pwritev2 test data"},
    "readwrite_readv": {"readvfile.txt": b"readv test data here"},
    "readwrite_writev": {"writevfile.txt": b"writev test data"},
    "readwrite_wronly_read": {"wronlyfile.txt": b""},
    "readwrite_rdonly_write": {"rdonlywritefile.txt": b""},
    "readwrite_pread_invalid": {"preadinvalid.txt": b"some data"},
    "readwrite_pwrite_invalid": {"pwriteinvalid.txt": b""},
    "readwrite_readahead": {"readaheadfile.txt": b"readahead test data"},
    "readwrite_fadvise64": {"fadvise64file.txt": b"fadvise64 test data"},
    "readwrite_cachestat": {"cachestatfile.txt": b"cachestat test data"},
    "retbytes_phase_a": {
        "sendfilesrc.txt": b"phase-a-ret-bytes!",
        "sendfiledst.txt": b"phase-a-ret-bytes!",
        "splicesrc.txt": b"phase-a-ret-bytes!",
        **{f"getdents-dir/getdents-file-{k}.txt": b"" for k in range(4)},
    },
}


@pytest.fixture
def snapshot_dirs(monkeypatch):
    """Capture every worker directory's files just before the runner removes them."""
    seen = {}
    real_remove = runner._remove_private_dir

    def capture(path, *args, **kwargs):
        for worker in sorted(os.listdir(path)):
            files = {}
            top = os.path.join(path, worker)
            for dirpath, _, names in os.walk(top):
                for name in names:
                    full = os.path.join(dirpath, name)
                    with open(full, "rb") as f:
                        files[os.path.relpath(full, top)] = f.read()
            seen[worker] = files
        return real_remove(path)

    monkeypatch.setattr(runner, "_remove_private_dir", capture)
    return seen


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the scenarios as ior does, as root")
@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_files_hold_ior_payload_after_many_iterations(name, snapshot_dirs):
    try:
        res = ioworkload.run(name, iterations=100, threads=2)
    except Unsupported as e:
        pytest.skip(f"unsupported: {e}")
    assert res.ok, res.mismatches
    assert sorted(snapshot_dirs) == ["w0", "w1"]
    for worker, files in snapshot_dirs.items():
        assert files == EXPECTED_FILES[name], worker


def test_family_has_ior_catalog():
    names = {n for n, sc in registry.all_scenarios().items() if sc.family == "readwrite"}
    assert names == set(EXPECTED_FILES) | {"readwrite_readahead_ebadf", "readwrite_fadvise64_ebadf"}
