# ior's "open/create a file in the worker's directory" setup, shared by the families that use
# libc's <fcntl.h> constants. Inline only, like _common.pxd.

from ioworkload.core._kernel cimport iow_worker, iow_sys1, iow_sys4, iow_tally_ret, iow_path

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_CREAT


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
