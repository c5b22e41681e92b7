"""socket family: exact returns, the legacy accept, and no socket file left behind."""

import os
import shutil
import tempfile

import pytest

from ioworkload import registry, runner
from ioworkload.manifest import Event
from ioworkload.runner import execute

from conftest import kernel_can_verify

needs_kernel = pytest.mark.skipif(kernel_can_verify() is not None, reason=str(kernel_can_verify()))

NAMED = ["socket_accept_lifecycle", "socket_accept_lifecycle_plain", "socket_introspection"]


@pytest.mark.parametrize("name", NAMED)
def test_socket_file_is_unlinked_every_iteration(name, monkeypatch):
    # a short root of our own: pytest's tmp_path is too deep for sun_path's 108 bytes
    root = tempfile.mkdtemp(prefix="iow-sock-", dir="/tmp")
    try:
        monkeypatch.setenv("TMPDIR", root)
        monkeypatch.setattr(runner, "_remove_private_dir", lambda d: None)
        res = execute(registry.get(name), iterations=3, threads=2)
        assert res.ok, res.mismatches
        private = os.path.join(root, os.path.basename(res.tmpdir))
        assert [os.listdir(os.path.join(private, f"w{i}")) for i in range(2)] == [[], []]
    finally:
        shutil.rmtree(root)


def test_too_deep_a_directory_fails_cleanly(monkeypatch, tmp_path):
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    monkeypatch.setenv("TMPDIR", str(deep))
    res = execute(registry.get("socket_accept_lifecycle"), iterations=1)
    assert not res.ok and any("ENAMETOOLONG" in m for m in res.mismatches)


def _replaced(name, old, new):
    sc = registry.get(name)
    events = [Event.parse(new) if str(e) == old else e for e in sc.iteration]
    assert events != list(sc.iteration), f"{old!r} is not in {name}'s manifest"
    return sc.replace(iteration=events)


def test_recv_flags_returns_are_datagram_lengths():
    # MSG_TRUNC returns the datagram's 300 bytes, not the 10 that fit: declaring 10 must fail
    sc = _replaced("recv_flags", "recvfrom(?, &buf, 10, MSG_TRUNC, NULL, NULL) -> 300",
                   "recvfrom(?, &buf, 10, MSG_TRUNC, NULL, NULL) -> 10")
    res = execute(sc, iterations=5)
    assert not res.ok and res.mismatches
    assert execute(registry.get("recv_flags"), iterations=5).ok


@needs_kernel
def test_plain_accept_is_not_accept4():
    # the kernel counts accept, so a manifest saying accept4 must fail verification
    sc = _replaced("socket_accept_lifecycle_plain", "a = accept(l, NULL, NULL) -> >=0",
                   "a = accept4(l, NULL, NULL, 0) -> >=0")
    res = execute(sc, iterations=5, verify=True)
    assert res.verified is False
    res = execute(registry.get("socket_accept_lifecycle_plain"), iterations=5, verify=True)
    assert res.verified is True
