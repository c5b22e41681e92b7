# Small helpers the family modules share. Inline only, so cimporting this adds no run-time
# import; like everything a kernel calls, they issue exactly the syscalls their docstring says.

from libc.stdint cimport uint64_t
from ioworkload._kernel cimport (
    iow_worker, iow_sys1, iow_sys4, iow_sys6, iow_tally_ret, iow_stop_requested, iow_path,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_CREAT


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


cdef inline int open_file(iow_worker *w, const char *name) noexcept nogil:
    """ior's syscall.Open("<dir>/<name>", O_RDWR|O_CREAT, 0644), i.e. openat(AT_FDCWD, ...), as
    setup event 0. The fd stays in w.fd[0], the path in w.path[0]. Returns 0 or -errno."""
    w.fd[0] = iow_tally_ret(&w.setup[0], iow_sys4(
        __NR_openat, AT_FDCWD, <long>iow_path(w, 0, name), O_RDWR | O_CREAT, 0o644))
    return <int>w.fd[0] if w.fd[0] < 0 else 0


cdef inline int create_file(iow_worker *w, const char *name) noexcept nogil:
    """open_file, then close the fd (setup event 1): the file exists, nothing stays open."""
    cdef int rc = open_file(w, name)
    if rc < 0:
        return rc
    rc = <int>iow_tally_ret(&w.setup[1], iow_sys1(__NR_close, w.fd[0]))
    w.fd[0] = -1
    return rc


cdef inline void close_fds(iow_worker *w, int count) noexcept nogil:
    """Teardown events 0..count-1: close(w.fd[k]) for each k < count that setup opened."""
    cdef int k
    for k in range(count):
        if w.fd[k] >= 0:
            iow_tally_ret(&w.teardown[k], iow_sys1(__NR_close, w.fd[k]))
            w.fd[k] = -1


cdef inline void close_fd0(iow_worker *w) noexcept nogil:
    """Teardown event 0: close w.fd[0] if setup got that far."""
    close_fds(w, 1)
