"""Shared pieces of the benchmark suite: the C reference loop (built here with the system cc,
so it is measured in the same run, on the same CPU, as ioworkload) and pinning."""

import os
import platform
import shutil
import statistics
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def bench_cpu() -> int:
    """Benchmarks pin to the last allowed CPU (the tracee CPU of `ioworkload overhead`)."""
    return max(os.sched_getaffinity(0))


def environment() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return {"kernel": platform.release(), "machine": platform.machine(), "cpu_model": model,
            "cpus": os.cpu_count(), "pinned_cpu": bench_cpu()}


@pytest.fixture(scope="session")
def c_loop(tmp_path_factory):
    """c_loop(kind, n) -> ns per call of the C reference loop, pinned to bench_cpu()."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler for the reference loop")
    exe = tmp_path_factory.mktemp("ref") / "ref_loop"
    subprocess.run([cc, "-O2", "-o", str(exe), os.path.join(HERE, "ref_loop.c")], check=True)

    def run(kind: str, n: int) -> float:
        out = subprocess.run([str(exe), kind, str(n)], check=True, capture_output=True, text=True,
                             preexec_fn=lambda: os.sched_setaffinity(0, {bench_cpu()}))
        return float(out.stdout)

    return run


@pytest.fixture
def pinned():
    """Pin this process (and the worker threads it starts) to bench_cpu() for the test."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {bench_cpu()})
    yield bench_cpu()
    os.sched_setaffinity(0, old)


def median(xs):
    return statistics.median(xs)
