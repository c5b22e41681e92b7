# Linux AIO (io_setup/io_submit/io_getevents/io_cancel/io_destroy), after ior's aio-* scenarios.
# One iteration is one repeat of ior's body; the target file is opened in setup.

from libc.stdint cimport uint64_t
from libc.string cimport memset, strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6, iow_tally_ret,
    iow_stop_requested, iow_path, kernel,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_io_setup
        __NR_io_destroy
        __NR_io_submit
        __NR_io_getevents
        __NR_io_cancel
        __NR_openat
        __NR_close

cdef extern from "<linux/aio_abi.h>" nogil:
    ctypedef unsigned long aio_context_t
    struct iocb:
        unsigned long long aio_data
        unsigned short aio_lio_opcode
        unsigned int aio_fildes
        unsigned long long aio_buf
        unsigned long long aio_nbytes
        long long aio_offset
    struct io_event:
        unsigned long long data
        unsigned long long obj
        long long res
        long long res2
    enum:
        IOCB_CMD_PWRITE

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_CREAT
        O_CLOEXEC

from ioworkload.core.manifest import scenarios

cdef const char *PAYLOAD = b"ior-aio-submit\n"   # 15 bytes, as ior writes
cdef enum:
    NR_EVENTS = 32

ctypedef struct AioState:
    iocb cb
    iocb *cbs[1]
    io_event events[1]
    io_event cancel_result


cdef uint64_t aio_setup_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef aio_context_t ctx
    for i in range(n):
        if iow_stop_requested(w):
            return i
        ctx = 0
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_io_setup, NR_EVENTS, <long>&ctx))
        iow_tally_ret(&w.iter[1], iow_sys1(__NR_io_destroy, <long>ctx))
    return n


cdef uint64_t aio_setup_einval_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef aio_context_t ctx = 0
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_io_setup, 0, <long>&ctx))
    return n


cdef int open_target(iow_worker *w) noexcept nogil:
    cdef AioState *st = <AioState *>w.scratch
    w.fd[0] = iow_tally_ret(&w.setup[0], iow_sys4(
        __NR_openat, AT_FDCWD, <long>iow_path(w, 0, b"aio-target"), O_RDWR | O_CREAT | O_CLOEXEC, 0o600))
    if w.fd[0] < 0:
        return <int>w.fd[0]
    memset(&st.cb, 0, sizeof(iocb))
    st.cb.aio_lio_opcode = IOCB_CMD_PWRITE
    st.cb.aio_fildes = <unsigned int>w.fd[0]
    st.cb.aio_buf = <unsigned long long>PAYLOAD
    st.cb.aio_nbytes = strlen(PAYLOAD)
    st.cb.aio_offset = 0
    st.cbs[0] = &st.cb
    return 0


cdef void close_target(iow_worker *w) noexcept nogil:
    if w.fd[0] >= 0:
        iow_tally_ret(&w.teardown[0], iow_sys1(__NR_close, w.fd[0]))
        w.fd[0] = -1


cdef inline uint64_t submit_cycle_loop(iow_worker *w, uint64_t n, bint cancel,
                                       bint reap) noexcept nogil:
    # io_setup, io_submit(one pwrite), [io_cancel], [io_getevents], io_destroy; the flags are
    # constants at each call site, so the C compiler emits one straight loop per scenario.
    cdef AioState *st = <AioState *>w.scratch
    cdef uint64_t i
    cdef aio_context_t ctx
    cdef int k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        ctx = 0
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_io_setup, NR_EVENTS, <long>&ctx))
        iow_tally_ret(&w.iter[1], iow_sys3(__NR_io_submit, <long>ctx, 1, <long>st.cbs))
        k = 2
        if cancel:
            # A buffered write completes inside io_submit, so it is no longer cancellable.
            iow_tally_ret(&w.iter[k], iow_sys3(__NR_io_cancel, <long>ctx, <long>&st.cb,
                                               <long>&st.cancel_result))
            k += 1
        if reap:
            # after a failed cancel the event is still queued: min_nr 0 drains it without waiting
            iow_tally_ret(&w.iter[k], iow_sys5(__NR_io_getevents, <long>ctx, 0 if cancel else 1,
                                               1, <long>st.events, 0))
            k += 1
        iow_tally_ret(&w.iter[k], iow_sys1(__NR_io_destroy, <long>ctx))
    return n


cdef uint64_t aio_submit_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return submit_cycle_loop(w, n, False, False)


cdef uint64_t aio_getevents_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return submit_cycle_loop(w, n, False, True)


cdef uint64_t aio_cancel_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return submit_cycle_loop(w, n, True, True)


_OPEN = ['fd = openat(AT_FDCWD, "<dir>/aio-target", O_RDWR|O_CREAT|O_CLOEXEC, 0600) -> >=0']
_CLOSE = ["close(fd) -> 0"]
_SUBMIT = 'io_submit(?, 1, [&iocb{IOCB_CMD_PWRITE, fd, "ior-aio-submit\\n", 15, @0}]) -> 1'

# io_destroy waits for the kernel to retire the context (an RCU grace period): tens of
# milliseconds, whatever else the iteration does. Stated in describe, so nobody asks for 1e5.
# io_destroy waits for an RCU grace period: ~36 ms an iteration on the reference machine.
_SLOW_SECONDS = 0.036
_SLOW = ("Slow: each iteration's io_destroy waits for the kernel to retire the context (an RCU "
         "grace period), ~30-40 ms per iteration on the reference machine: 100 iterations take "
         "~3.5 s, 1e5 ~1 hour. For a rate of AIO syscalls, use aio_setup_einval.")

SCENARIOS = scenarios("aio", [
    dict(name="aio_setup", summary="io_setup(32) then io_destroy: an AIO context's life",
         kernel=kernel(aio_setup_loop),
         iteration=["io_setup(32, &ctx) -> 0", "io_destroy(?) -> 0"], notes=_SLOW,
         iteration_seconds=_SLOW_SECONDS),
    dict(name="aio_setup_einval", summary="io_setup(0, &ctx): rejected, -EINVAL",
         kernel=kernel(aio_setup_einval_loop),
         iteration=["io_setup(0, &ctx) -> -EINVAL"], ior_repeat=5),
    dict(name="aio_submit", summary="io_submit of one 15-byte IOCB_CMD_PWRITE on a fresh context",
         kernel=kernel(aio_submit_loop, open_target, close_target), needs_dir=True,
         setup=_OPEN,
         iteration=["io_setup(32, &ctx) -> 0", _SUBMIT, "io_destroy(?) -> 0"],
         teardown=_CLOSE, notes=_SLOW, iteration_seconds=_SLOW_SECONDS),
    dict(name="aio_getevents", summary="io_submit one pwrite, reap it with io_getevents(min 1)",
         kernel=kernel(aio_getevents_loop, open_target, close_target), needs_dir=True,
         setup=_OPEN,
         iteration=["io_setup(32, &ctx) -> 0", _SUBMIT,
                    "io_getevents(?, 1, 1, &events, NULL) -> 1",
                    "io_destroy(?) -> 0"],
         teardown=_CLOSE, notes=_SLOW, iteration_seconds=_SLOW_SECONDS),
    dict(name="aio_cancel", summary="io_cancel of a completed pwrite (-EINVAL), then drain",
         kernel=kernel(aio_cancel_loop, open_target, close_target), needs_dir=True,
         setup=_OPEN,
         iteration=["io_setup(32, &ctx) -> 0", _SUBMIT,
                    "io_cancel(?, &iocb, &result) -> -EINVAL",
                    "io_getevents(?, 0, 1, &events, NULL) -> 1",
                    "io_destroy(?) -> 0"],
         teardown=_CLOSE,
         notes="A buffered write completes inside io_submit, so io_cancel finds nothing to "
               "cancel: -EINVAL every time (ior's version races and accepts -EAGAIN too). "
               "The context (?) is written by io_setup through its pointer, not returned. " + _SLOW,
         iteration_seconds=_SLOW_SECONDS),
])


# ---- aio_pgetevents_timeout ----

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_io_pgetevents

cdef extern from "<time.h>" nogil:
    struct timespec:
        long tv_sec
        long tv_nsec

cdef enum:
    PGETEVENTS_WAIT_NS = 1000000   # 1 ms, with nothing submitted: the wait times out

ctypedef struct PgeteventsState:
    aio_context_t ctx
    io_event events[1]
    timespec timeout


cdef int pgetevents_setup(iow_worker *w) noexcept nogil:
    cdef PgeteventsState *st = <PgeteventsState *>w.scratch
    st.ctx = 0
    st.timeout.tv_sec = 0
    st.timeout.tv_nsec = PGETEVENTS_WAIT_NS
    return <int>iow_tally_ret(&w.setup[0], iow_sys2(__NR_io_setup, 1, <long>&st.ctx))


cdef uint64_t aio_pgetevents_timeout_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef PgeteventsState *st = <PgeteventsState *>w.scratch
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys6(__NR_io_pgetevents, <long>st.ctx, 1, 1,
                                           <long>st.events, <long>&st.timeout, 0))
    return n


cdef void pgetevents_teardown(iow_worker *w) noexcept nogil:
    cdef PgeteventsState *st = <PgeteventsState *>w.scratch
    if st.ctx:
        iow_tally_ret(&w.teardown[0], iow_sys1(__NR_io_destroy, <long>st.ctx))
        st.ctx = 0


SCENARIOS += scenarios("aio", [
    dict(name="aio_pgetevents_timeout",
         summary="io_pgetevents(min 1) on an idle AIO context: its 1 ms timeout ends it, 0 events",
         kernel=kernel(aio_pgetevents_timeout_loop, pgetevents_setup, pgetevents_teardown),
         setup=["io_setup(1, &ctx) -> 0"],
         iteration=["io_pgetevents(?, 1, 1, &events, {tv_sec=0, tv_nsec=1000000}, NULL) -> 0"],
         teardown=["io_destroy(?) -> 0"],
         notes="Nothing is ever submitted: each call waits its whole 1 ms (relative) timeout "
               "for one event and returns 0. No signal mask is passed (usig NULL). The context "
               "(?) lives from setup to teardown, one io_destroy per worker."),
])
