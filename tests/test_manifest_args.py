"""Every manifest is a complete expectation: each event's arguments are the kernel's, written
in the manifest grammar (manifest.py), and resolve to values (numbers, paths, references)."""

import pytest

import ioworkload
from ioworkload.core import expect
from ioworkload.core.manifest import Event

SCENARIOS = sorted(ioworkload.scenarios())


@pytest.mark.parametrize("name", SCENARIOS)
def test_manifest_resolves(name):
    assert expect.validate(ioworkload.scenarios()[name]) == []


def test_validate_catches_wrong_manifests():
    sc = ioworkload.scenarios()["aio_setup_einval"]
    assert expect.validate(sc) == []
    for wrong, why in [("io_setup(0) -> -EINVAL", "takes 2 arguments"),
                       ("io_setup(0, &ctx, 1) -> -EINVAL", "takes 2 arguments"),
                       ("io_setup(O_BOGUS, &ctx) -> -EINVAL", "unknown value 'O_BOGUS'"),
                       ("io_setup(0, ctx) -> -EINVAL", "not bound"),
                       ("io_nosuch(0, &ctx) -> -EINVAL", "no syscall io_nosuch")]:
        problems = expect.validate(sc.replace(iteration=[Event.parse(wrong)]))
        assert problems and why in problems[0], (wrong, problems)


def test_arg_forms():
    bound = {"fd": 3}
    v = expect.arg_value
    assert v("O_RDWR|O_CREAT", "flags", bound) == expect.constants()["O_RDWR"] | expect.constants()["O_CREAT"]
    assert v("0644", "mode", bound) == 0o644 and v("0x10", "x", bound) == 16 and v("-1", "fd", bound) == -1
    assert v('"<dir>/a"', "filename", bound, "/t/w0") == "/t/w0/a"
    assert v('"ab\\n"', "buf", bound) == {"content": "ab\n", "len": 3}
    assert v("&ctx", "ctxp", bound) == {"pointer": True}
    assert v("fd", "fd", bound) == {"fd_of": 3}
    assert v("?", "ctx_id", bound) == {"any": True}
    assert v("NULL", "utime", bound) == 0
