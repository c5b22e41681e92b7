"""socket family: exact returns, the legacy accept, and no socket file left behind."""

import os
import shutil
import tempfile

import pytest

from ioworkload.core import registry, runner
from ioworkload.core.errors import Unsupported
from ioworkload.core.manifest import Event
from ioworkload.core.runner import execute

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


@pytest.mark.parametrize("name", NAMED)
def test_too_deep_a_tmpdir_is_unsupported(monkeypatch, tmp_path, name):
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    monkeypatch.setenv("TMPDIR", str(deep))
    with pytest.raises(Unsupported, match="too deep for an AF_UNIX socket path"):
        execute(registry.get(name), iterations=1)
    assert os.listdir(deep) == []   # found before anything was made


def test_too_deep_a_tmpdir_exits_77(cli, tmp_path):
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    p = cli("socket_accept_lifecycle", "-n", "1", env={"TMPDIR": str(deep)})
    assert p.returncode == 77, p.stdout + p.stderr
    assert p.stderr.startswith("unsupported: $TMPDIR") and p.stderr.count("\n") == 1


def test_the_limit_is_sun_path_exactly(monkeypatch):
    """The longest socket path of any worker (w1023) with its NUL fills sun_path's 108 bytes:
    still supported; one byte deeper is not."""
    from ioworkload.families import socket
    sc = registry.get("socket_introspection")
    tail = len("/ioworkload-socket_introspection-XXXXXXXX/w1023/introspection.sock") + 1
    root = tempfile.mkdtemp(prefix="iow-", dir="/tmp")
    try:
        fitting = root + "/" + "d" * (socket.SUN_PATH_BYTES - tail - len(root) - 1)
        os.mkdir(fitting)
        os.mkdir(fitting + "d")
        monkeypatch.setenv("TMPDIR", fitting)
        assert sc.unsupported_reason() is None
        res = execute(sc, iterations=1, threads=2)
        assert res.ok, res.mismatches
        monkeypatch.setenv("TMPDIR", fitting + "d")
        assert "needs 109 bytes" in sc.unsupported_reason()
    finally:
        shutil.rmtree(root)


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
