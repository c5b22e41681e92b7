"""xattr family checks the generic test cannot make: the user.* xattr probe's verdict."""

import errno
import os

import pytest

import ioworkload
from ioworkload.core import registry
from ioworkload.core.errors import Unsupported
from ioworkload.families import xattr

XATTR_SCENARIOS = [sc for sc in registry.all_scenarios().values() if sc.family == "xattr"]


def test_probe_accepts_this_tmpdir_or_says_why():
    reason = xattr.user_xattrs_in_tmpdir()
    assert reason is None or "user.* xattrs" in reason


def test_no_user_xattrs_makes_every_xattr_scenario_unsupported(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(os, "setxattr", refuse)
    reason = xattr.user_xattrs_in_tmpdir()
    assert reason and "not supported" in reason
    assert len(XATTR_SCENARIOS) == 14
    for sc in XATTR_SCENARIOS:
        assert sc.unsupported_reason() == reason, sc.name
        with pytest.raises(Unsupported):
            ioworkload.run(sc.name)
