# Small helpers the family modules share. Inline only, so cimporting this adds no run-time
# import; like everything a kernel calls, they issue exactly the syscalls their docstring says.
# No libc <fcntl.h> here (see _files.pxd), so a module using the kernel's <linux/fcntl.h> can
# cimport these too.

from libc.stdint cimport uint64_t
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys1, iow_sys6, iow_tally_ret, iow_stop_requested,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_close


cdef inline uint64_t one_call_loop(iow_worker *w, uint64_t n, long nr, long a=0, long b=0,
                                   long c=0, long d=0, long e=0, long f=0) noexcept nogil:
    """The loop of a scenario whose iteration is one syscall: nr(a..f), tallied as event 0.
    Unused trailing arguments go to the kernel as 0, which it ignores."""
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys6(nr, a, b, c, d, e, f))
    return n


cdef inline long close_tracked(iow_tally *t, long *fd) noexcept nogil:
    """close(*fd) as one event, if it is open (>= 0); then *fd = -1. Returns close's result
    (0 when there was nothing to close)."""
    cdef long ret = 0
    if fd[0] >= 0:
        ret = iow_tally_ret(t, iow_sys1(__NR_close, fd[0]))
        fd[0] = -1
    return ret


cdef inline void close_fds(iow_worker *w, int count) noexcept nogil:
    """Teardown events 0..count-1: close(w.fd[k]) for each k < count that setup opened."""
    cdef int k
    for k in range(count):
        close_tracked(&w.teardown[k], &w.fd[k])


cdef inline void close_fd0(iow_worker *w) noexcept nogil:
    """Teardown event 0: close w.fd[0] if setup got that far."""
    close_fds(w, 1)
