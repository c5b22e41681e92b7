# What every syscall-family module cimports: the raw syscall entry points, the worker state
# and outcome tally, and the kernel signature the runner calls. Declarations only, plus one
# inline helper, so cimporting this adds no run-time import.

from libc.stdint cimport uint64_t, int64_t
from cpython.pycapsule cimport PyCapsule_New
from libc.stdlib cimport malloc

cdef extern from "iow_syscall.h" nogil:
    long iow_sys0(long nr)
    long iow_sys1(long nr, long a)
    long iow_sys2(long nr, long a, long b)
    long iow_sys3(long nr, long a, long b, long c)
    long iow_sys4(long nr, long a, long b, long c, long d)
    long iow_sys5(long nr, long a, long b, long c, long d, long e)
    long iow_sys6(long nr, long a, long b, long c, long d, long e, long f)

cdef extern from "iow_worker.h" nogil:
    enum:
        IOW_MAX_EVENTS
        IOW_ERRNO_SLOTS
        IOW_PATH_MAX
        IOW_NPATHS
        IOW_NFDS
        IOW_NVALS
        IOW_SCRATCH_BYTES
        IOW_TASK_LOG
        IOW_WAIT_NOTE
        IOW_WAIT_BOUND_NS
        IOW_WAIT_STOPPED
        IOW_WAIT_GONE
        IOW_WAIT_TIMEOUT
        IOW_WAIT_LATE

    ctypedef struct iow_tally:
        uint64_t ok
        int64_t ok_min
        int64_t ok_max
        uint64_t err[IOW_ERRNO_SLOTS]

    ctypedef struct iow_worker:
        int index
        int tid
        int stop
        int fd_base
        char dir[IOW_PATH_MAX]
        char path[IOW_NPATHS][IOW_PATH_MAX]
        long fd[IOW_NFDS]
        long val[IOW_NVALS]
        void *ptr[4]
        long sysv_id
        int wait_failed
        char wait_note[IOW_WAIT_NOTE]
        int ntasks
        int task_tid[IOW_TASK_LOG]
        unsigned char *scratch
        iow_tally setup[IOW_MAX_EVENTS]
        iow_tally iter[IOW_MAX_EVENTS]
        iow_tally teardown[IOW_MAX_EVENTS]

    long iow_tally_ret(iow_tally *t, long ret)
    void iow_note_task(iow_worker *w, long tid)
    int iow_stop_requested(const iow_worker *w)
    char *iow_path(iow_worker *w, int slot, const char *name)
    int64_t iow_now_ns()
    void iow_wait_give_up(iow_worker *w, int why, const char *what)
    int iow_wait_over(const iow_worker *w, int64_t deadline)

# setup: issue the setup events, return 0 or the first failing call's -errno.
# loop: run up to n iterations, checking iow_stop_requested() before each; return how many ran.
# teardown: issue the teardown events; must cope with a setup that failed part-way (fds < 0).
# prestart (ior mode's variants only): runs before the PID line, outside the expectation, and
# may leave one task parked for the run (a thread, a forked child); returns its tid/pid (> 0),
# 0 for none, or -errno, having undone its own work on failure.
ctypedef int (*setup_fn)(iow_worker *w) noexcept nogil
ctypedef uint64_t (*loop_fn)(iow_worker *w, uint64_t n) noexcept nogil
ctypedef void (*teardown_fn)(iow_worker *w) noexcept nogil
ctypedef long (*prestart_fn)(iow_worker *w) noexcept nogil

ctypedef struct iow_kernel:
    setup_fn setup
    loop_fn loop
    teardown_fn teardown
    prestart_fn prestart


cdef inline object kernel(loop_fn loop, setup_fn setup=NULL, teardown_fn teardown=NULL,
                          prestart_fn prestart=NULL):
    """Wrap a scenario's C functions for the registry (lives as long as the module)."""
    cdef iow_kernel *k = <iow_kernel *>malloc(sizeof(iow_kernel))
    if k == NULL:
        raise MemoryError()
    k.setup = setup
    k.loop = loop
    k.teardown = teardown
    k.prestart = prestart
    return PyCapsule_New(k, b"ioworkload.kernel", NULL)
