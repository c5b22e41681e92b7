# Per-thread tracepoint counters (perf_event_open), the kernel's own witness of what a worker
# issued. Opened disabled on a worker's tid, enabled while the worker is parked, read after.

from libc.errno cimport errno
from libc.stdint cimport uint64_t
from libc.string cimport memset
from posix.unistd cimport read, close

cdef extern from "<linux/perf_event.h>" nogil:
    cdef struct perf_event_attr:
        unsigned int type
        unsigned int size
        unsigned long long config
        unsigned long long sample_period
        unsigned long long read_format
        unsigned int disabled
        unsigned int exclude_kernel
        unsigned int inherit
    enum:
        PERF_TYPE_TRACEPOINT
        PERF_EVENT_IOC_ENABLE
        PERF_EVENT_IOC_SET_FILTER
        PERF_FLAG_FD_CLOEXEC

cdef extern from "<sys/ioctl.h>" nogil:
    int ioctl(int fd, unsigned long request, ...)

cdef extern from "<unistd.h>" nogil:
    long syscall(long number, ...)

cdef extern from "<sys/syscall.h>" nogil:
    enum:
        SYS_perf_event_open

from ioworkload.core.errors import os_error


def open_counter(int tid, unsigned long long tracepoint_id, str filter=None, bint inherit=False):
    """A disabled counting event for one tracepoint on one thread; returns its fd.
    With inherit, threads and processes the thread creates later are counted too."""
    cdef perf_event_attr attr
    memset(&attr, 0, sizeof(attr))
    attr.type = PERF_TYPE_TRACEPOINT
    attr.size = sizeof(attr)
    attr.config = tracepoint_id
    attr.disabled = 1
    attr.inherit = 1 if inherit else 0
    cdef long fd = syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC)
    if fd < 0:
        raise os_error(errno, f"perf_event_open(tracepoint {tracepoint_id}, tid {tid})")
    cdef bytes f
    if filter:
        f = filter.encode()
        if ioctl(fd, PERF_EVENT_IOC_SET_FILTER, <char *>f) != 0:
            e = errno
            close(fd)
            raise os_error(e, f"PERF_EVENT_IOC_SET_FILTER {filter!r}")
    return fd


def enable(list fds):
    cdef int fd
    for fd in fds:
        if ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0:
            raise os_error(errno, "PERF_EVENT_IOC_ENABLE")


def read_count(int fd):
    cdef uint64_t value = 0
    if read(fd, &value, sizeof(value)) != sizeof(value):
        raise os_error(errno, "read perf counter")
    return value


def close_all(list fds):
    cdef int fd
    for fd in fds:
        close(fd)
