# Baselines: the cheapest syscalls, for rate and tracer-overhead measurements.

from libc.stdint cimport uint64_t
from ioworkload.core._kernel cimport iow_worker, iow_sys0, iow_tally_ret, iow_stop_requested, kernel

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_getppid
        __NR_gettid
        IOW_NR_UNASSIGNED

from ioworkload.core.manifest import scenarios


cdef inline uint64_t null_syscall_loop(iow_worker *w, uint64_t n, long nr) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys0(nr))
    return n


cdef uint64_t getppid_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return null_syscall_loop(w, n, __NR_getppid)


cdef uint64_t gettid_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return null_syscall_loop(w, n, __NR_gettid)


cdef uint64_t enosys_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return null_syscall_loop(w, n, IOW_NR_UNASSIGNED)


cdef uint64_t reference_getppid_loop(iow_worker *w, uint64_t n) noexcept nogil:
    # benchmarks/ref_loop.c's loop inside a scenario process, for tools/nullsys.py (issue 27):
    # no stop check and no tally per call; the last return stands for all (getppid's is the
    # same while the parent lives), so the run's tally is still the scenario's.
    cdef uint64_t i
    cdef long ret = 0
    for i in range(n):
        ret = iow_sys0(__NR_getppid)
    if n:
        iow_tally_ret(&w.iter[0], ret)
        if ret >= 0:
            w.iter[0].ok += n - 1
    return n


# Not a scenario: getppid's manifest with the reference loop as its kernel (tools/nullsys.py).
REFERENCE_GETPPID = kernel(reference_getppid_loop)

SCENARIOS = scenarios("baseline", [
    dict(name="getppid", summary="getppid(): the classic null syscall (perf bench syscall basic)",
         kernel=kernel(getppid_loop),
         iteration=["getppid() -> >=0"]),
    dict(name="gettid", summary="gettid(): a null syscall that reads only the current task",
         kernel=kernel(gettid_loop),
         iteration=["gettid() -> >=1"]),
    dict(name="enosys", summary="syscall 1023, unassigned: kernel entry and exit only, -ENOSYS",
         kernel=kernel(enosys_loop),
         iteration=["syscall_1023() -> -ENOSYS"],
         notes="No tracepoint names an unassigned number: the kernel witnesses it through "
               "raw_syscalls (sys_enter/sys_exit with id 1023)."),
])
