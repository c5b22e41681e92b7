"""A pytest plugin (registered through the `pytest11` entry point when ioworkload is installed):
the `tracer_check` fixture judges a tracer on a scenario in one call (conformance.trace).

    def test_strace_sees_open_basic(tracer_check):
        v = tracer_check("open_basic", "strace", threads=2)
        assert v.status == "exact", v.differences

A scenario or tracer this host cannot run skips the test with the reason.
"""

import pytest


@pytest.fixture
def tracer_check():
    from ioworkload.judge.conformance import trace

    def run(scenario: str, tracer: str, **options):
        v = trace(scenario, tracer, **options)
        if v.status == "unsupported":
            pytest.skip(f"{scenario} under {tracer}: {v.reason}")
        return v
    return run
