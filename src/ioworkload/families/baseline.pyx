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
