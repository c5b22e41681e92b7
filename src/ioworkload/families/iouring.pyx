# Family 'iouring': ior's io_uring scenarios (../shared/reference/ior-ioworkload-catalog.md,
# 4.15): io_uring_setup / io_uring_enter / io_uring_register, the registered-ring table, a ring
# descriptor whose number is reused, and a descriptor rebound by ring operations. Beyond ior,
# the iouring_op_* scenarios do their work by ring operations alone (OPENAT, READ, WRITE,
# CLOSE, STATX, FSYNC, SEND/RECV; through SQPOLL; forced to io-wq), declared in the manifest's
# `operations` (manifest.py) and witnessed by the io_uring tracepoints (verify.py).
#
# The ring code is our own (no liburing): io_uring_setup, then the SQ ring, CQ ring and SQE
# array mapped from the ring fd at the offsets of <linux/io_uring.h>; one request at a time,
# tagged with user_data = its operation's position + 1. ior's scenarios close and unmap their
# rings within the iteration that made them; the operation scenarios keep one ring per thread
# from setup to teardown (which also runs after an interrupted loop).

from libc.stdint cimport uint64_t
from libc.string cimport memset, strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, iow_note_task, kernel, IOW_SCRATCH_BYTES,
    iow_wait_give_up, iow_wait_over,
)
from ioworkload.families._clone cimport (
    IOW_HAVE_CLONE_THREAD, iow_clone_thread, iow_release_fence, CLONE_VM, CLONE_FS, CLONE_FILES,
    CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM, CLONE_CHILD_CLEARTID, CLONE_VFORK, iow_load_acquire,
    iow_store_release, iow_cpu_relax,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_io_uring_setup
        __NR_io_uring_enter
        __NR_io_uring_register
        __NR_openat
        __NR_close
        __NR_write
        __NR_pread64
        __NR_unlinkat
        __NR_mmap
        __NR_munmap
        __NR_mprotect
        __NR_exit

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDONLY
        O_WRONLY
        O_RDWR
        O_CREAT
        O_EXCL
        O_TRUNC
        O_CLOEXEC

cdef extern from "<sys/mman.h>" nogil:
    enum:
        PROT_NONE
        PROT_READ
        PROT_WRITE
        MAP_SHARED
        MAP_PRIVATE
        MAP_ANONYMOUS

cdef extern from * nogil:
    """
    #include <linux/io_uring.h>
    /* Newer than some build hosts' headers (both 5.18 or later). */
    #ifndef IORING_REGISTER_USE_REGISTERED_RING
    #define IORING_REGISTER_USE_REGISTERED_RING (1U << 31)
    #endif

    /* A ring and its three mappings: enough to submit one request and reap its completion. */
    typedef struct {
        long fd;
        struct io_uring_params p;
        long sq, cq, sqes;                 /* mmap results (-errno when a mapping failed) */
        unsigned long sq_len, cq_len, sqes_len;
    } iow_ring;

    static inline int iow_ring_mapped(const iow_ring *r) { return r->sq > 0 && r->cq > 0 && r->sqes > 0; }

    /* The mapping lengths the kernel's offsets ask for (after io_uring_setup filled p). */
    static inline void iow_ring_lengths(iow_ring *r)
    {
        r->sq_len = r->p.sq_off.array + r->p.sq_entries * sizeof(unsigned);
        r->cq_len = r->p.cq_off.cqes + r->p.cq_entries * sizeof(struct io_uring_cqe);
        r->sqes_len = r->p.sq_entries * sizeof(struct io_uring_sqe);
    }

    static inline unsigned *iow_ring_word(long base, unsigned off) { return (unsigned *)(base + off); }

    /* The next free SQE, zeroed; published by iow_ring_publish. Plain memory: no syscall. */
    static inline struct io_uring_sqe *iow_ring_sqe(iow_ring *r)
    {
        unsigned tail = *iow_ring_word(r->sq, r->p.sq_off.tail);
        unsigned index = tail & *iow_ring_word(r->sq, r->p.sq_off.ring_mask);
        struct io_uring_sqe *sqe = (struct io_uring_sqe *)r->sqes + index;
        memset(sqe, 0, sizeof *sqe);
        iow_ring_word(r->sq, r->p.sq_off.array)[index] = index;
        return sqe;
    }

    static inline void iow_ring_publish(iow_ring *r)
    {
        unsigned *tail = iow_ring_word(r->sq, r->p.sq_off.tail);
        __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
    }

    /* Take one completion: 1 and its res, or 0 when the CQ ring is empty. */
    static inline int iow_ring_reap(iow_ring *r, int *res)
    {
        unsigned *head = iow_ring_word(r->cq, r->p.cq_off.head);
        unsigned tail = __atomic_load_n(iow_ring_word(r->cq, r->p.cq_off.tail), __ATOMIC_ACQUIRE);
        if (*head == tail)
            return 0;
        unsigned index = *head & *iow_ring_word(r->cq, r->p.cq_off.ring_mask);
        *res = ((struct io_uring_cqe *)(r->cq + r->p.cq_off.cqes))[index].res;
        __atomic_store_n(head, *head + 1, __ATOMIC_RELEASE);
        return 1;
    }

    static inline void iow_prep_close(struct io_uring_sqe *s, int fd)
    {
        s->opcode = IORING_OP_CLOSE;
        s->fd = fd;
    }

    static inline void iow_prep_openat(struct io_uring_sqe *s, int dfd, const char *path,
                                       int flags, unsigned mode)
    {
        s->opcode = IORING_OP_OPENAT;
        s->fd = dfd;
        s->addr = (unsigned long)path;
        s->len = mode;
        s->open_flags = (unsigned)flags;
    }

    /* The SQE fields of the other operations (<linux/io_uring.h>). */
    static inline void iow_prep_rw(struct io_uring_sqe *s, int op, int fd, const void *buf,
                                   unsigned len, unsigned long long off)
    {
        s->opcode = op;
        s->fd = fd;
        s->addr = (unsigned long)buf;
        s->len = len;
        s->off = off;
    }

    static inline void iow_prep_fsync(struct io_uring_sqe *s, int fd, unsigned flags)
    {
        s->opcode = IORING_OP_FSYNC;
        s->fd = fd;
        s->fsync_flags = flags;
    }

    static inline void iow_prep_statx(struct io_uring_sqe *s, int dfd, const char *path,
                                      int flags, unsigned mask, void *statxbuf)
    {
        s->opcode = IORING_OP_STATX;
        s->fd = dfd;
        s->addr = (unsigned long)path;
        s->len = mask;
        s->off = (unsigned long)statxbuf;
        s->statx_flags = (unsigned)flags;
    }

    static inline void iow_prep_sendrecv(struct io_uring_sqe *s, int op, int fd, const void *buf,
                                         unsigned len, int msg_flags)
    {
        s->opcode = op;
        s->fd = fd;
        s->addr = (unsigned long)buf;
        s->len = len;
        s->msg_flags = (unsigned)msg_flags;
    }

    static inline void iow_sqe_tag(struct io_uring_sqe *s, unsigned long long user_data,
                                   unsigned char flags)
    {
        s->user_data = user_data;
        s->flags = flags;
    }

    /* The SQ ring's flags word (IORING_SQ_NEED_WAKEUP: the SQPOLL thread went to sleep). */
    static inline unsigned iow_ring_sq_flags(const iow_ring *r)
    {
        return __atomic_load_n(iow_ring_word(r->sq, r->p.sq_off.flags), __ATOMIC_ACQUIRE);
    }

    /* A spin lock the workers of one run share (no syscalls): iouring_reopen's iterations
       take turns, so no other worker takes a descriptor number between its CLOSE and OPENAT. */
    static int iow_reopen_lock;
    static inline void iow_reopen_lock_take(void)
    {
        while (__atomic_exchange_n(&iow_reopen_lock, 1, __ATOMIC_ACQUIRE))
            iow_cpu_relax();
    }
    static inline void iow_reopen_lock_drop(void) { __atomic_store_n(&iow_reopen_lock, 0, __ATOMIC_RELEASE); }

    /* struct io_uring_rsrc_update, the element of IORING_(UN)REGISTER_RING_FDS */
    typedef struct io_uring_rsrc_update iow_rsrc_update;
    """
    ctypedef struct io_sqring_offsets:
        unsigned array
    ctypedef struct io_uring_params:
        unsigned sq_entries
        unsigned flags
        unsigned sq_thread_idle
    ctypedef struct iow_ring:
        long fd
        io_uring_params p
        long sq, cq, sqes
        unsigned long sq_len, cq_len, sqes_len
    struct io_uring_sqe:
        pass
    ctypedef struct iow_rsrc_update:
        unsigned offset
        unsigned resv
        unsigned long long data
    enum:
        IORING_OP_NOP
        IORING_OP_OPENAT
        IORING_OP_CLOSE
        IORING_OP_READ
        IORING_OP_WRITE
        IORING_OP_FSYNC
        IORING_OP_STATX
        IORING_OP_SEND
        IORING_OP_RECV
        IOSQE_ASYNC
        IORING_SETUP_SQPOLL
        IORING_SQ_NEED_WAKEUP
        IORING_ENTER_SQ_WAKEUP
        IORING_OFF_SQ_RING
        IORING_OFF_CQ_RING
        IORING_OFF_SQES
        IORING_ENTER_GETEVENTS
        IORING_ENTER_REGISTERED_RING
        IORING_REGISTER_PROBE
        IORING_REGISTER_RING_FDS
        IORING_UNREGISTER_RING_FDS
        IORING_REGISTER_USE_REGISTERED_RING
    int iow_ring_mapped(const iow_ring *r)
    void iow_ring_lengths(iow_ring *r)
    io_uring_sqe *iow_ring_sqe(iow_ring *r)
    void iow_ring_publish(iow_ring *r)
    int iow_ring_reap(iow_ring *r, int *res)
    void iow_prep_close(io_uring_sqe *s, int fd)
    void iow_prep_openat(io_uring_sqe *s, int dfd, const char *path, int flags, unsigned mode)
    void iow_prep_rw(io_uring_sqe *s, int op, int fd, const void *buf, unsigned len,
                     unsigned long long off)
    void iow_prep_fsync(io_uring_sqe *s, int fd, unsigned flags)
    void iow_prep_statx(io_uring_sqe *s, int dfd, const char *path, int flags, unsigned mask,
                        void *statxbuf)
    void iow_prep_sendrecv(io_uring_sqe *s, int op, int fd, const void *buf, unsigned len,
                           int msg_flags)
    void iow_sqe_tag(io_uring_sqe *s, unsigned long long user_data, unsigned char flags)
    unsigned iow_ring_sq_flags(const iow_ring *r)
    void iow_reopen_lock_take()
    void iow_reopen_lock_drop()

import errno as _errno
import os

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import syscall_implemented

cdef enum:
    PAGE = 4096          # ior's guard-page layout, in 4 KiB pages (x86-64, 4K-page aarch64)
    BAD_FD = 99999       # never open: ior's invalid descriptor
    PROBE_BYTES = 16     # struct io_uring_probe's header: no io_uring_probe_op entries asked
    REG_INDEX = 0        # the first free slot of a thread's registered-ring table
    OPEN_CALLS = 3       # iouring_ring_lifecycle's phases, as in ior
    CLOSED_CALLS = 4
    GONE_CALLS = 2
    REG_CALLS = 5        # iouring_registered_ring's enter/register pairs
    READ_FIRST = 3       # iouring_reopen's read sizes: 3 bytes of the first file, 5 of the second
    READ_SECOND = 5
    REOPEN_EVENTS = 20   # iouring_reopen's syscall events: its operations are tallied after them

cdef const char *FIRST_CONTENT = b"first-file-content"
cdef const char *SECOND_CONTENT = b"second-file-content"

ctypedef struct RingState:
    iow_ring ring
    unsigned char probe[PROBE_BYTES]
    iow_rsrc_update update
    unsigned char buf[64]
    int thread_alive     # CLONE_CHILD_CLEARTID word of the foreign thread
    long index           # the registered-ring index the foreign thread passes
    unsigned char statx_buf[256]   # struct statx


cdef inline RingState *state(iow_worker *w) noexcept nogil:
    return <RingState *>w.scratch


cdef inline long setup_ring(iow_tally *t, RingState *st, unsigned entries) noexcept nogil:
    """io_uring_setup(entries, &params) with params zeroed, as ior passes them (1 event)."""
    memset(&st.ring.p, 0, sizeof(st.ring.p))
    st.ring.fd = iow_tally_ret(t, iow_sys2(__NR_io_uring_setup, entries, <long>&st.ring.p))
    return st.ring.fd


cdef inline long close_ring(iow_tally *t, RingState *st) noexcept nogil:
    cdef long ret = 0
    if st.ring.fd >= 0:
        ret = iow_tally_ret(t, iow_sys1(__NR_close, st.ring.fd))
        st.ring.fd = -1
    return ret


cdef inline long enter(iow_tally *t, long fd, long flags) noexcept nogil:
    """io_uring_enter(fd, 0, 0, flags, NULL, 0): nothing to submit or wait for (1 event)."""
    return iow_tally_ret(t, iow_sys6(__NR_io_uring_enter, fd, 0, 0, flags, 0, 0))


# ---- iouring_setup / iouring_enter / iouring_register ----

cdef uint64_t iouring_setup_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        setup_ring(&w.iter[0], st, 1)
        close_ring(&w.iter[1], st)
    return n


cdef uint64_t iouring_enter_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        setup_ring(&w.iter[0], st, 1)
        enter(&w.iter[1], st.ring.fd, 0)
        close_ring(&w.iter[2], st)
    return n


cdef uint64_t iouring_register_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        setup_ring(&w.iter[0], st, 1)
        memset(st.probe, 0, PROBE_BYTES)
        iow_tally_ret(&w.iter[1], iow_sys4(__NR_io_uring_register, st.ring.fd,
                                           IORING_REGISTER_PROBE, <long>st.probe, 0))
        close_ring(&w.iter[2], st)
    return n


cdef uint64_t iouring_enter_ebadf_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        enter(&w.iter[0], BAD_FD, 0)
    return n


cdef uint64_t iouring_register_ebadf_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys4(__NR_io_uring_register, BAD_FD,
                                           IORING_REGISTER_PROBE, 0, 0))
    return n


# ---- iouring_registered_ring ----

cdef inline long register_ring_fd(iow_tally *t, long ring, iow_rsrc_update *update) noexcept nogil:
    """io_uring_register(ring, IORING_REGISTER_RING_FDS, &{offset=-1, data=ring}, 1): the
    kernel picks the slot and writes it into update.offset (1 event). Returns the slot or
    -errno."""
    update.offset = <unsigned>-1
    update.resv = 0
    update.data = <unsigned long long>ring
    cdef long ret = iow_tally_ret(t, iow_sys4(__NR_io_uring_register, ring,
                                              IORING_REGISTER_RING_FDS, <long>update, 1))
    return <long>update.offset if ret == 1 else (ret if ret < 0 else -1)


cdef inline long unregister_ring_fd(iow_tally *t, long fd, long opcode, long index,
                                    iow_rsrc_update *update) noexcept nogil:
    """io_uring_register(fd, opcode, &{offset=index}, 1) with IORING_UNREGISTER_RING_FDS."""
    memset(update, 0, sizeof(iow_rsrc_update))
    update.offset = <unsigned>index
    return iow_tally_ret(t, iow_sys4(__NR_io_uring_register, fd, opcode, <long>update, 1))


cdef uint64_t iouring_registered_ring_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef uint64_t i
    cdef long index
    cdef int k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        setup_ring(&w.iter[0], st, 1)
        index = register_ring_fd(&w.iter[1], st.ring.fd, &st.update)
        for k in range(REG_CALLS):
            enter(&w.iter[2], index, IORING_ENTER_REGISTERED_RING)
            memset(st.probe, 0, PROBE_BYTES)
            iow_tally_ret(&w.iter[3], iow_sys4(
                __NR_io_uring_register, index,
                IORING_REGISTER_PROBE | IORING_REGISTER_USE_REGISTERED_RING, <long>st.probe, 0))
        # ours: the slot holds the ring until the thread ends, so each iteration gives it back
        unregister_ring_fd(&w.iter[4], st.ring.fd, IORING_UNREGISTER_RING_FDS, index, &st.update)
        close_ring(&w.iter[5], st)
    return n


cdef int ior_registered_ring_setup(iow_worker *w) noexcept nogil:
    # ior mode: the ring made and registered once (setup), entered by index in the iterations
    cdef RingState *st = state(w)
    if setup_ring(&w.setup[0], st, 1) < 0:
        return -1
    st.index = register_ring_fd(&w.setup[1], st.ring.fd, &st.update)
    return 0 if st.index >= 0 else -1


cdef uint64_t ior_registered_ring_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef uint64_t i
    cdef int k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        for k in range(REG_CALLS):
            enter(&w.iter[0], st.index, IORING_ENTER_REGISTERED_RING)
            memset(st.probe, 0, PROBE_BYTES)
            iow_tally_ret(&w.iter[1], iow_sys4(
                __NR_io_uring_register, st.index,
                IORING_REGISTER_PROBE | IORING_REGISTER_USE_REGISTERED_RING, <long>st.probe, 0))
    return n


cdef void ior_registered_ring_teardown(iow_worker *w) noexcept nogil:
    # the slot keeps the ring until the thread ends, as in ior: the process exits next
    close_ring(&w.teardown[0], state(w))


# ---- iouring_ring_lifecycle ----

cdef void foreign_thread_body(void *arg) noexcept nogil:
    # A thread that registered nothing passes the worker's index: its own table is empty.
    cdef iow_worker *w = <iow_worker *>arg
    cdef RingState *st = state(w)
    iow_tally_ret(&w.iter[13], 0)  # clone returned 0 here
    enter(&w.iter[14], st.index, IORING_ENTER_REGISTERED_RING)
    iow_tally_ret(&w.iter[15], 0)  # exit does not return
    iow_release_fence()            # the tallies above are visible before the tid word clears
    iow_sys1(__NR_exit, 0)


cdef uint64_t iouring_ring_lifecycle_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef iow_rsrc_update *update
    cdef uint64_t i
    cdef long mem, index, tmp, decoy, tid
    cdef int k
    iow_path(w, 0, b"ioworkload-iouring-reuse-0")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        setup_ring(&w.iter[0], st, 1)
        # the one-element array ends where its mapping ends; the next page is PROT_NONE
        index = -1
        mem = iow_tally_ret(&w.iter[1], iow_sys6(
            __NR_mmap, 0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        if mem > 0:
            iow_tally_ret(&w.iter[2], iow_sys3(__NR_mprotect, mem + PAGE, PAGE, PROT_NONE))
            update = <iow_rsrc_update *>(mem + PAGE - sizeof(iow_rsrc_update))
            index = register_ring_fd(&w.iter[3], st.ring.fd, update)
            iow_tally_ret(&w.iter[4], iow_sys2(__NR_munmap, mem, 2 * PAGE))
        st.index = index
        for k in range(OPEN_CALLS):
            enter(&w.iter[5], index, IORING_ENTER_REGISTERED_RING)
        # the ring's number goes to a decoy: the file made, the ring closed, the file opened
        tmp = iow_tally_ret(&w.iter[6], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[0], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600))
        close_ring(&w.iter[7], st)
        decoy = iow_tally_ret(&w.iter[8], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[0], O_RDONLY, 0))
        if tmp >= 0:
            iow_tally_ret(&w.iter[9], iow_sys1(__NR_close, tmp))
        iow_tally_ret(&w.iter[10], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>w.path[0], 0))
        for k in range(CLOSED_CALLS):
            enter(&w.iter[11], index, IORING_ENTER_REGISTERED_RING)
        # CLONE_VFORK: the worker sleeps inside clone until the foreign thread has exited,
        # without a syscall of its own
        iow_store_release(&st.thread_alive, 1)
        tid = iow_tally_ret(&w.iter[12], iow_clone_thread(
            CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
            | CLONE_VFORK | CLONE_CHILD_CLEARTID, w.scratch + IOW_SCRATCH_BYTES,
            &st.thread_alive, foreign_thread_body, w))
        iow_note_task(w, tid)
        if tid > 0:
            while iow_load_acquire(&st.thread_alive):  # orders the thread's tallies before ours
                iow_cpu_relax()
        unregister_ring_fd(&w.iter[16], index,
                           IORING_UNREGISTER_RING_FDS | IORING_REGISTER_USE_REGISTERED_RING,
                           index, &st.update)
        for k in range(GONE_CALLS):
            enter(&w.iter[17], index, IORING_ENTER_REGISTERED_RING)
        if decoy >= 0:
            iow_tally_ret(&w.iter[18], iow_sys1(__NR_close, decoy))
    return n


# ---- iouring_reopen ----

cdef inline long map_ring(iow_tally *t, RingState *st) noexcept nogil:
    """The three mmaps of the ring fd (SQ ring, CQ ring, SQEs), as ior maps them (3 events).
    Returns 0 when all are mapped."""
    cdef iow_ring *r = &st.ring
    iow_ring_lengths(r)
    r.sq = iow_tally_ret(&t[0], iow_sys6(__NR_mmap, 0, r.sq_len, PROT_READ | PROT_WRITE,
                                         MAP_SHARED, r.fd, IORING_OFF_SQ_RING))
    r.cq = iow_tally_ret(&t[1], iow_sys6(__NR_mmap, 0, r.cq_len, PROT_READ | PROT_WRITE,
                                         MAP_SHARED, r.fd, IORING_OFF_CQ_RING))
    r.sqes = iow_tally_ret(&t[2], iow_sys6(__NR_mmap, 0, r.sqes_len, PROT_READ | PROT_WRITE,
                                           MAP_SHARED, r.fd, IORING_OFF_SQES))
    return 0 if iow_ring_mapped(r) else -1


cdef inline void unmap_ring(iow_tally *t, RingState *st) noexcept nogil:
    """munmap of each mapping that exists (up to 3 events), in ior's order."""
    cdef iow_ring *r = &st.ring
    if r.sq > 0:
        iow_tally_ret(&t[0], iow_sys2(__NR_munmap, r.sq, r.sq_len))
    if r.cq > 0:
        iow_tally_ret(&t[1], iow_sys2(__NR_munmap, r.cq, r.cq_len))
    if r.sqes > 0:
        iow_tally_ret(&t[2], iow_sys2(__NR_munmap, r.sqes, r.sqes_len))
    r.sq = r.cq = r.sqes = -1


cdef inline long submit_one(iow_tally *t, RingState *st, int *res) noexcept nogil:
    """Publish the prepared SQE and io_uring_enter(ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0)
    for it (1 event); *res is its CQE's result (or -EIO when no completion came back)."""
    iow_ring_publish(&st.ring)
    cdef long ret = iow_tally_ret(t, iow_sys6(__NR_io_uring_enter, st.ring.fd, 1, 1,
                                              IORING_ENTER_GETEVENTS, 0, 0))
    if not iow_ring_reap(&st.ring, res):
        res[0] = -5
    return ret


cdef inline long write_file(iow_tally *t, iow_worker *w, int slot, const char *name,
                            const char *content) noexcept nogil:
    """ior's writeWholeFile: openat(O_WRONLY|O_CREAT|O_TRUNC, 0644), write, close (3 events)."""
    cdef long fd = iow_tally_ret(&t[0], iow_sys4(__NR_openat, AT_FDCWD, <long>iow_path(w, slot, name),
                                                 O_WRONLY | O_CREAT | O_TRUNC, 0o644))
    if fd < 0:
        return fd
    iow_tally_ret(&t[1], iow_sys3(__NR_write, fd, <long>content, strlen(content)))
    return iow_tally_ret(&t[2], iow_sys1(__NR_close, fd))


cdef uint64_t iouring_reopen_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef io_uring_sqe *sqe
    cdef uint64_t i
    cdef long fd
    cdef int k, res
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_reopen_lock_take()
        write_file(&w.iter[0], w, 0, b"iouring-reopen-first.txt", FIRST_CONTENT)
        write_file(&w.iter[3], w, 1, b"iouring-reopen-second.txt", SECOND_CONTENT)
        fd = iow_tally_ret(&w.iter[6], iow_sys4(__NR_openat, AT_FDCWD, <long>w.path[0], O_RDONLY, 0))
        for k in range(2):
            iow_tally_ret(&w.iter[7], iow_sys4(__NR_pread64, fd, <long>st.buf, READ_FIRST, 0))
        if setup_ring(&w.iter[8], st, 4) >= 0:
            if map_ring(&w.iter[9], st) == 0 and fd >= 0:
                # IORING_OP_CLOSE of fd, then IORING_OP_OPENAT of the second file: it lands on
                # the number just freed (the lowest free one)
                sqe = iow_ring_sqe(&st.ring)
                iow_prep_close(sqe, <int>fd)
                iow_sqe_tag(sqe, 1, 0)
                submit_one(&w.iter[12], st, &res)
                iow_tally_ret(&w.iter[REOPEN_EVENTS], res)
                sqe = iow_ring_sqe(&st.ring)
                iow_prep_openat(sqe, AT_FDCWD, w.path[1], O_RDONLY, 0)
                iow_sqe_tag(sqe, 2, 0)
                submit_one(&w.iter[13], st, &res)
                iow_tally_ret(&w.iter[REOPEN_EVENTS + 1], res)
                if res >= 0 and res != fd:
                    fd = res  # not the freed number (cannot happen while we hold the lock)
            unmap_ring(&w.iter[14], st)
            close_ring(&w.iter[17], st)
        for k in range(3):
            iow_tally_ret(&w.iter[18], iow_sys4(__NR_pread64, fd, <long>st.buf, READ_SECOND, 0))
        if fd >= 0:
            iow_tally_ret(&w.iter[19], iow_sys1(__NR_close, fd))
        iow_reopen_lock_drop()
    return n


# ---- io_uring operations (beyond ior): the work is done by the ring, not by syscalls ----

cdef extern from "<errno.h>" nogil:
    enum:
        ETIME

cdef extern from "<sys/socket.h>" nogil:
    enum:
        AF_UNIX
        SOCK_STREAM

cdef extern from "<linux/stat.h>" nogil:
    enum:
        STATX_BASIC_STATS

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_socketpair

cdef extern from "iow_worker.h" nogil:
    long iow_now_ns()

cdef enum:
    OP_ENTRIES = 8             # SQ entries of an operation scenario's ring
    SQ_IDLE_MS = 60000         # the SQPOLL thread polls this long after its last request
    SQ_SPIN_CHECK = 1024       # spins between clock reads while waiting for a completion

cdef long SQPOLL_WAIT_NS = 30 * 1000000000   # then a request counts as lost (-ETIME)
cdef const char *OP_PAYLOAD = b"ioworkload io_uring write\n"     # 26 bytes
cdef const char *SEND_PAYLOAD = b"ioworkload io_uring send"       # 24 bytes


cdef int op_ring_setup(iow_worker *w, int first, unsigned flags, int iteration_events) noexcept nogil:
    """Setup events first..first+3: io_uring_setup(OP_ENTRIES, &params{flags}) and its three
    mmaps. iteration_events: the iteration's syscall events, after whose tallies the
    operations' results go. Returns 0 or the failing call's -errno."""
    cdef RingState *st = state(w)
    cdef iow_ring *r = &st.ring
    w.val[0] = iteration_events
    r.fd = r.sq = r.cq = r.sqes = -1   # teardown closes only what exists
    memset(&r.p, 0, sizeof(r.p))
    r.p.flags = flags
    if flags & IORING_SETUP_SQPOLL:
        r.p.sq_thread_idle = SQ_IDLE_MS
    r.fd = iow_tally_ret(&w.setup[first], iow_sys2(__NR_io_uring_setup, OP_ENTRIES, <long>&r.p))
    if r.fd < 0:
        return <int>r.fd
    map_ring(&w.setup[first + 1], st)
    if r.sq < 0:
        return <int>r.sq
    if r.cq < 0:
        return <int>r.cq
    if r.sqes < 0:
        return <int>r.sqes
    return 0


cdef void op_ring_teardown(iow_worker *w) noexcept nogil:
    """Teardown events 0..3: the three munmaps and close(ring); then close(w.fd[k]) for each
    fd the scenario's setup opened (k = 0, 1), as events 4, 5."""
    cdef RingState *st = state(w)
    cdef int k
    unmap_ring(&w.teardown[0], st)
    close_ring(&w.teardown[3], st)
    for k in range(2):
        if w.fd[k] >= 0:
            iow_tally_ret(&w.teardown[4 + k], iow_sys1(__NR_close, w.fd[k]))
            w.fd[k] = -1


cdef inline io_uring_sqe *op_sqe(iow_worker *w) noexcept nogil:
    return iow_ring_sqe(&state(w).ring)


cdef inline int entered_op(iow_worker *w, io_uring_sqe *sqe, int user_data, bint force_async,
                           iow_tally *enter_tally) noexcept nogil:
    """Submit the prepared request (user_data: its operation's position + 1) with one
    io_uring_enter that waits for it; its CQE result is tallied in the operation's slot, after
    the iteration's syscall events (runner.py). Returns the result."""
    cdef int res
    iow_sqe_tag(sqe, user_data, IOSQE_ASYNC if force_async else 0)
    submit_one(enter_tally, state(w), &res)
    iow_tally_ret(&w.iter[w.val[0] + user_data - 1], res)
    return res


cdef inline int polled_op(iow_worker *w, io_uring_sqe *sqe, int user_data) noexcept nogil:
    """The same through SQPOLL: publish, then wait for the completion without a syscall (the
    kernel's SQ thread takes the request); one that does not complete within SQPOLL_WAIT_NS,
    or before a stop request, is tallied -ETIME (and the run says why)."""
    cdef RingState *st = state(w)
    cdef int res, why
    cdef long spins = 0
    cdef long deadline = iow_now_ns() + SQPOLL_WAIT_NS
    iow_sqe_tag(sqe, user_data, 0)
    iow_ring_publish(&st.ring)
    while not iow_ring_reap(&st.ring, &res):
        spins += 1
        if spins % SQ_SPIN_CHECK == 0:
            why = iow_wait_over(w, deadline)
            if why:
                iow_wait_give_up(w, why, "the SQ thread to complete a request")
                res = -ETIME
                break
        iow_cpu_relax()
    iow_tally_ret(&w.iter[w.val[0] + user_data - 1], res)
    return res


# iouring_op_file: a file's whole life through the ring

cdef int op_file_setup(iow_worker *w) noexcept nogil:
    iow_path(w, 0, b"iouring-op.txt")
    w.fd[0] = w.fd[1] = -1
    return op_ring_setup(w, 0, 0, 1)


cdef uint64_t iouring_op_file_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef iow_tally *ent = &w.iter[0]
    cdef io_uring_sqe *sqe
    cdef uint64_t i
    cdef int fd
    cdef unsigned length = strlen(OP_PAYLOAD)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        sqe = op_sqe(w)
        iow_prep_openat(sqe, AT_FDCWD, w.path[0], O_RDWR | O_CREAT | O_TRUNC, 0o644)
        fd = entered_op(w, sqe, 1, False, ent)
        sqe = op_sqe(w)
        iow_prep_rw(sqe, IORING_OP_WRITE, fd, OP_PAYLOAD, length, 0)
        entered_op(w, sqe, 2, False, ent)
        sqe = op_sqe(w)
        iow_prep_fsync(sqe, fd, 0)
        entered_op(w, sqe, 3, False, ent)
        sqe = op_sqe(w)
        iow_prep_rw(sqe, IORING_OP_READ, fd, st.buf, length, 0)
        entered_op(w, sqe, 4, False, ent)
        sqe = op_sqe(w)
        iow_prep_statx(sqe, AT_FDCWD, w.path[0], 0, STATX_BASIC_STATS, st.statx_buf)
        entered_op(w, sqe, 5, False, ent)
        sqe = op_sqe(w)
        iow_prep_close(sqe, fd)
        entered_op(w, sqe, 6, False, ent)
    return n


# iouring_op_socket: SEND and RECV on a socketpair

cdef int op_socket_setup(iow_worker *w) noexcept nogil:
    cdef int sv[2]
    w.fd[0] = w.fd[1] = -1
    state(w).ring.fd = -1
    cdef long ret = iow_tally_ret(&w.setup[0], iow_sys4(__NR_socketpair, AF_UNIX, SOCK_STREAM, 0,
                                                       <long>sv))
    if ret < 0:
        return <int>ret
    w.fd[0] = sv[0]
    w.fd[1] = sv[1]
    return op_ring_setup(w, 1, 0, 1)


cdef uint64_t iouring_op_socket_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef iow_tally *ent = &w.iter[0]
    cdef io_uring_sqe *sqe
    cdef uint64_t i
    cdef unsigned length = strlen(SEND_PAYLOAD)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        sqe = op_sqe(w)
        iow_prep_sendrecv(sqe, IORING_OP_SEND, <int>w.fd[0], SEND_PAYLOAD, length, 0)
        entered_op(w, sqe, 1, False, ent)
        sqe = op_sqe(w)
        iow_prep_sendrecv(sqe, IORING_OP_RECV, <int>w.fd[1], st.buf, length, 0)
        entered_op(w, sqe, 2, False, ent)
    return n


# iouring_op_sqpoll / iouring_op_async: a file written and read back by the ring

cdef int open_op_target(iow_worker *w, const char *name) noexcept nogil:
    """Setup event 0: openat(AT_FDCWD, "<dir>/name", O_RDWR|O_CREAT|O_TRUNC, 0644) into w.fd[0]."""
    w.fd[0] = w.fd[1] = -1
    state(w).ring.fd = -1
    w.fd[0] = iow_tally_ret(&w.setup[0], iow_sys4(__NR_openat, AT_FDCWD, <long>iow_path(w, 0, name),
                                                  O_RDWR | O_CREAT | O_TRUNC, 0o644))
    return <int>w.fd[0] if w.fd[0] < 0 else 0


cdef int op_sqpoll_setup(iow_worker *w) noexcept nogil:
    cdef RingState *st = state(w)
    cdef long deadline
    cdef int rc = open_op_target(w, b"iouring-sqpoll.txt")
    if rc < 0:
        return rc
    rc = op_ring_setup(w, 1, IORING_SETUP_SQPOLL, 0)
    if rc < 0:
        return rc
    # A new SQ thread goes to sleep at once when it finds nothing to do (its idle clock
    # starts only at its first wakeup), so whether a first request is taken without a wakeup
    # would be a race. Wait until it sleeps, then wake it once: from there it polls for
    # SQ_IDLE_MS after each request, and the iterations need no syscall.
    deadline = iow_now_ns() + SQPOLL_WAIT_NS
    while not (iow_ring_sq_flags(&st.ring) & IORING_SQ_NEED_WAKEUP) and iow_now_ns() < deadline \
            and not iow_stop_requested(w):
        iow_cpu_relax()
    return <int>iow_tally_ret(&w.setup[5], iow_sys6(__NR_io_uring_enter, st.ring.fd, 0, 0,
                                                    IORING_ENTER_SQ_WAKEUP, 0, 0))


cdef uint64_t iouring_op_sqpoll_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef io_uring_sqe *sqe
    cdef uint64_t i
    cdef unsigned length = strlen(OP_PAYLOAD)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        sqe = op_sqe(w)
        iow_prep_rw(sqe, IORING_OP_WRITE, <int>w.fd[0], OP_PAYLOAD, length, 0)
        polled_op(w, sqe, 1)
        sqe = op_sqe(w)
        iow_prep_rw(sqe, IORING_OP_READ, <int>w.fd[0], st.buf, length, 0)
        polled_op(w, sqe, 2)
    return n


cdef int op_async_setup(iow_worker *w) noexcept nogil:
    cdef int rc = open_op_target(w, b"iouring-async.txt")
    return rc if rc < 0 else op_ring_setup(w, 1, 0, 1)


cdef uint64_t iouring_op_async_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RingState *st = state(w)
    cdef iow_tally *ent = &w.iter[0]
    cdef io_uring_sqe *sqe
    cdef uint64_t i
    cdef unsigned length = strlen(OP_PAYLOAD)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        sqe = op_sqe(w)
        iow_prep_rw(sqe, IORING_OP_WRITE, <int>w.fd[0], OP_PAYLOAD, length, 0)
        entered_op(w, sqe, 1, True, ent)
        sqe = op_sqe(w)
        iow_prep_rw(sqe, IORING_OP_READ, <int>w.fd[0], st.buf, length, 0)
        entered_op(w, sqe, 2, True, ent)
    return n


def _io_uring_usable():
    """ior's probe: io_uring_setup(0, NULL) is -ENOSYS without io_uring, -EPERM when
    kernel.io_uring_disabled forbids it to us; -EINVAL/-EFAULT mean it can be used."""
    from ioworkload.core import _runner
    ret = _runner.raw_syscall(__NR_io_uring_setup, 0, 0)
    if ret == -_errno.ENOSYS:
        return "the kernel has no io_uring (io_uring_setup: ENOSYS)"
    if ret == -_errno.EPERM:
        try:
            with open("/proc/sys/kernel/io_uring_disabled") as f:
                setting = f.read().strip()
        except OSError:
            setting = "?"
        return (f"io_uring is disabled for this process (kernel.io_uring_disabled = {setting}; "
                f"io_uring_setup: EPERM)")
    if ret >= 0:  # never with these arguments; closed if a kernel did
        os.close(ret)
    return None


cdef long register_through_index() noexcept nogil:
    """On a ring of our own: register its fd, io_uring_register(index, IORING_REGISTER_PROBE |
    IORING_REGISTER_USE_REGISTERED_RING, ...), give the slot back, close the ring. The probe
    call's return (-EINVAL before Linux 6.3), or the failing step's."""
    cdef iow_ring ring
    cdef iow_rsrc_update update
    cdef unsigned char probe[PROBE_BYTES]
    cdef long ret, index
    memset(&ring.p, 0, sizeof(ring.p))
    ring.fd = iow_sys2(__NR_io_uring_setup, 1, <long>&ring.p)
    if ring.fd < 0:
        return ring.fd
    update.offset = <unsigned>-1
    update.resv = 0
    update.data = <unsigned long long>ring.fd
    ret = iow_sys4(__NR_io_uring_register, ring.fd, IORING_REGISTER_RING_FDS, <long>&update, 1)
    if ret == 1:
        index = <long>update.offset
        memset(probe, 0, PROBE_BYTES)
        ret = iow_sys4(__NR_io_uring_register, index,
                       IORING_REGISTER_PROBE | IORING_REGISTER_USE_REGISTERED_RING, <long>probe, 0)
        memset(&update, 0, sizeof(update))
        update.offset = <unsigned>index
        iow_sys4(__NR_io_uring_register, ring.fd, IORING_UNREGISTER_RING_FDS, <long>&update, 1)
    iow_sys1(__NR_close, ring.fd)
    return ret


_register_through_index_reason = []  # the probe's answer, once per process


def _register_through_index():
    """Registering through a registered ring's index (IORING_REGISTER_USE_REGISTERED_RING,
    Linux 6.3; 6.1 answers EINVAL). Probed in a child process, so no ring of the probe's (nor
    its deferred exit work) is ever in the scenario process; once per process."""
    if _register_through_index_reason:
        return _register_through_index_reason[0]
    if _io_uring_usable() is not None:
        return None  # that probe says why, and comes first
    pid = os.fork()
    if pid == 0:
        ret = register_through_index()
        os._exit(min(-ret, 255) if ret < 0 else 0)
    _, status = os.waitpid(pid, 0)
    err = os.waitstatus_to_exitcode(status)
    reason = None
    if err:
        reason = (f"the kernel cannot io_uring_register through a registered ring's index "
                  f"(IORING_REGISTER_USE_REGISTERED_RING, Linux 6.3): "
                  f"{_errno.errorcode.get(err, err) if err > 0 else f'signal {-err}'}")
    _register_through_index_reason.append(reason)
    return reason


def _clone_thread_supported():
    if not IOW_HAVE_CLONE_THREAD:
        return "starting a raw helper thread is only written for x86-64 and aarch64"
    return None


# an io_uring_enter with nothing to submit, an fd that never is one: ior's ebadf scenarios run
# where io_uring is compiled in at all (kernel.io_uring_disabled does not stop enter/register)
_HAS_ENTER = syscall_implemented("io_uring_enter", __NR_io_uring_enter, -1, 0, 0, 0, 0, 0)

CONSTANTS = {
    "IORING_ENTER_GETEVENTS": IORING_ENTER_GETEVENTS,
    "IORING_ENTER_REGISTERED_RING": IORING_ENTER_REGISTERED_RING,
    "IORING_REGISTER_PROBE": IORING_REGISTER_PROBE,
    "IORING_REGISTER_RING_FDS": IORING_REGISTER_RING_FDS,
    "IORING_UNREGISTER_RING_FDS": IORING_UNREGISTER_RING_FDS,
    "IORING_REGISTER_USE_REGISTERED_RING": IORING_REGISTER_USE_REGISTERED_RING,
    "IORING_OFF_SQ_RING": IORING_OFF_SQ_RING,
    "IORING_OFF_CQ_RING": IORING_OFF_CQ_RING,
    "IORING_OFF_SQES": IORING_OFF_SQES,
    "IORING_SETUP_SQPOLL": IORING_SETUP_SQPOLL,
    "IORING_ENTER_SQ_WAKEUP": IORING_ENTER_SQ_WAKEUP,
    "IOSQE_ASYNC": IOSQE_ASYNC,
    # the operations' numbers (expect file: "op")
    "IORING_OP_NOP": IORING_OP_NOP, "IORING_OP_OPENAT": IORING_OP_OPENAT,
    "IORING_OP_CLOSE": IORING_OP_CLOSE, "IORING_OP_READ": IORING_OP_READ,
    "IORING_OP_WRITE": IORING_OP_WRITE, "IORING_OP_FSYNC": IORING_OP_FSYNC,
    "IORING_OP_STATX": IORING_OP_STATX, "IORING_OP_SEND": IORING_OP_SEND,
    "IORING_OP_RECV": IORING_OP_RECV,
}

_SETUP = "ring = io_uring_setup(1, &params) -> >=0"
_CLOSE_RING = "close(ring) -> 0"
_REGISTERED = "0, 0, 0, IORING_ENTER_REGISTERED_RING, NULL, 0"   # enter through slot 0
_REGISTER_RING = ("io_uring_register(ring, IORING_REGISTER_RING_FDS, [{offset=-1, data=ring}], 1)"
                  " -> 1")
_FOREIGN_CLONE = ("clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|"
                  "CLONE_VFORK|CLONE_CHILD_CLEARTID, &scratch_end, NULL, &thread_alive, 0)")
_REUSE = '"<dir>/ioworkload-iouring-reuse-0"'


def _write_file(name, bind, content):
    return [f'{bind} = openat(AT_FDCWD, "<dir>/{name}", O_WRONLY|O_CREAT|O_TRUNC, 0644) -> >=0',
            f'write({bind}, "{content}", {len(content)}) -> {len(content)}',
            f"close({bind}) -> 0"]


_RING_MAPS = [f"{name} = mmap(NULL, ?, PROT_READ|PROT_WRITE, MAP_SHARED, ring, {off}) -> >=1"
              for name, off in (("sq", "IORING_OFF_SQ_RING"), ("cq", "IORING_OFF_CQ_RING"),
                                ("sqes", "IORING_OFF_SQES"))]
_RING_UNMAPS = [f"munmap({name}, ?) -> 0" for name in ("sq", "cq", "sqes")]

# The operation scenarios' ring: set up once per thread, unmapped and closed in teardown.
def _op_ring(params="&params"):
    return [f"ring = io_uring_setup(8, {params}) -> >=0"] + _RING_MAPS


_OP_TEARDOWN = _RING_UNMAPS + [_CLOSE_RING]
_ENTER_ONE = "io_uring_enter(ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) -> 1"
_OP_WRITE = 'IORING_OP_WRITE(fd, "ioworkload io_uring write\\n", 26, @0) -> 26'
_OP_READ = "IORING_OP_READ(fd, &buf, 26, @0) -> 26"
_OPS_NOTE = ("Each request is submitted on its own with user_data = its position + 1 and reaped "
             "before the next. ")


def _open_target(name):
    return f'fd = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT|O_TRUNC, 0644) -> >=0'


def _rings(per_thread, per_iteration):
    """What a scenario that makes rings declares: the exit work of each ring it closes may
    restart the main thread's leave wait once (manifest.Scenario.task_work_restarts)."""
    return (per_thread, per_iteration)


SCENARIOS = scenarios("iouring", [
    dict(name="iouring_setup", task_work_restarts=_rings(0, 1),
         summary="io_uring_setup(1, &params) for a ring fd, then close it",
         kernel=kernel(iouring_setup_loop), requires=[_io_uring_usable],
         iteration=[_SETUP, _CLOSE_RING],
         notes="params is ior's zeroed 120-byte struct io_uring_params (the kernel fills it in)."),
    dict(name="iouring_enter", task_work_restarts=_rings(0, 1),
         summary="io_uring_enter(ring, 0, 0, 0, NULL, 0) on a fresh ring",
         kernel=kernel(iouring_enter_loop), requires=[_io_uring_usable],
         iteration=[_SETUP, "io_uring_enter(ring, 0, 0, 0, NULL, 0) -> 0", _CLOSE_RING]),
    dict(name="iouring_register", task_work_restarts=_rings(0, 1),
         summary="io_uring_register(ring, IORING_REGISTER_PROBE, 16 bytes, 0)",
         kernel=kernel(iouring_register_loop), requires=[_io_uring_usable],
         iteration=[_SETUP, "io_uring_register(ring, IORING_REGISTER_PROBE, &probe, 0) -> 0",
                    _CLOSE_RING],
         notes="The probe is ior's 16-byte struct io_uring_probe header, zeroed, asking for no "
               "io_uring_probe_op entries (nr_args 0)."),
    dict(name="iouring_enter_ebadf", summary="io_uring_enter(99999, 0, 0, 0, NULL, 0): -EBADF",
         kernel=kernel(iouring_enter_ebadf_loop), requires=[_HAS_ENTER], ior_repeat=5,
         iteration=["io_uring_enter(99999, 0, 0, 0, NULL, 0) -> -EBADF"],
         notes="Like ior, no io_uring ring is needed (kernel.io_uring_disabled does not stop "
               "it); a kernel without io_uring answers -ENOSYS: unsupported there."),
    dict(name="iouring_register_ebadf",
         summary="io_uring_register(99999, IORING_REGISTER_PROBE, NULL, 0): -EBADF",
         kernel=kernel(iouring_register_ebadf_loop), requires=[_HAS_ENTER], ior_repeat=5,
         iteration=["io_uring_register(99999, IORING_REGISTER_PROBE, NULL, 0) -> -EBADF"]),
    dict(name="iouring_registered_ring", task_work_restarts=_rings(0, 1),
         summary="enter and register through a registered-ring index (0), not an fd",
         kernel=kernel(iouring_registered_ring_loop),
         requires=[_io_uring_usable, _register_through_index],
         iteration=[_SETUP, _REGISTER_RING,
                    f"io_uring_enter({_REGISTERED}) -> 0 x5",
                    "io_uring_register(0, IORING_REGISTER_PROBE|IORING_REGISTER_USE_REGISTERED_RING,"
                    " &probe, 0) -> 0 x5",
                    "io_uring_register(ring, IORING_UNREGISTER_RING_FDS, [{offset=0}], 1) -> 1",
                    _CLOSE_RING],
         notes="The kernel gives a thread's first registered ring slot 0, so the fd argument of "
               "the enter and register calls is the index 0, not a descriptor (ior alternates "
               "them five times: counted here per call site). ior parks a decoy file on fd 0, "
               "replacing its stdin, so that an index misread as an fd names the decoy; here "
               "fd 0 is the caller's and is never touched: such a misreading names whatever "
               "fd 0 is instead of the ring. The unregister (by the ring fd) is ours: a "
               "registered ring stays in the thread's table until the thread ends, so each "
               "iteration gives its slot back and the next one gets slot 0 again."),
    dict(name="iouring_ring_lifecycle", task_work_restarts=_rings(0, 1),
         summary="a registered ring entered by index while open, after its fd is reused, gone",
         kernel=kernel(iouring_ring_lifecycle_loop),
         requires=[_io_uring_usable, _register_through_index, _clone_thread_supported],
         needs_dir=True, helper_threads=True,
         iteration=[_SETUP,
                    "mem = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
                    " -> >=1",
                    "mprotect(&guard_page, 4096, PROT_NONE) -> 0",
                    "io_uring_register(ring, IORING_REGISTER_RING_FDS, "
                    "[{offset=-1, data=ring} in the last 16 bytes before the guard page], 1) -> 1",
                    "munmap(mem, 8192) -> 0",
                    f"io_uring_enter({_REGISTERED}) -> 0 x3",
                    f"tmp = openat(AT_FDCWD, {_REUSE}, O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) -> >=0",
                    _CLOSE_RING,
                    f"decoy = openat(AT_FDCWD, {_REUSE}, O_RDONLY, 0) -> >=0",
                    "close(tmp) -> 0",
                    f"unlinkat(AT_FDCWD, {_REUSE}, 0) -> 0",
                    f"io_uring_enter({_REGISTERED}) -> 0 x4",
                    f"{_FOREIGN_CLONE} -> >=1",
                    f"helper: {_FOREIGN_CLONE} -> 0 exit-only",
                    f"helper: io_uring_enter({_REGISTERED}) -> -EINVAL",
                    "helper: exit(0) -> noreturn",
                    "io_uring_register(0, IORING_UNREGISTER_RING_FDS|IORING_REGISTER_USE_REGISTERED_RING,"
                    " [{offset=0}], 1) -> 1",
                    f"io_uring_enter({_REGISTERED}) -> -EBADF x2",
                    "close(decoy) -> 0"],
         notes="ior's sequence: the update array sits in the last bytes of a mapping whose next "
               "page is PROT_NONE (a tracer reading more than the one element faults); the ring "
               "fd is closed and its number taken by a decoy file (with one worker the decoy "
               "lands on the ring's number; with more, another worker may take it first), yet "
               "the registered ring stays usable by index; a foreign thread (a raw clone that "
               "registered nothing) passing the same index gets -EINVAL (ior accepts -EINVAL "
               "or -EBADF: a thread without an io_uring context is always -EINVAL); after the "
               "unregister, by index, the index is -EBADF. ior's decoy is a CreateTemp file "
               "in $TMPDIR with a random suffix, and it falls back to dup3 should the open land "
               "elsewhere; here it is <dir>/ioworkload-iouring-reuse-0 (ior's prefix, with the "
               "trailing - its test looks for) and there is no fallback. The foreign thread runs on the end of the worker's scratch memory "
               "(&scratch_end) and the worker waits for it inside its CLONE_VFORK clone."),
    dict(name="iouring_reopen", io_threads=("iou-wrk",),
         task_work_restarts=_rings(0, 1),
         summary="a descriptor closed and reopened on another file by IORING_OP_CLOSE/OPENAT",
         kernel=kernel(iouring_reopen_loop), requires=[_io_uring_usable], needs_dir=True,
         iteration=_write_file("iouring-reopen-first.txt", "first", "first-file-content")
         + _write_file("iouring-reopen-second.txt", "second", "second-file-content") + [
             'fd = openat(AT_FDCWD, "<dir>/iouring-reopen-first.txt", O_RDONLY, 0) -> >=0',
             "pread64(fd, &buf, 3, 0) -> 3 x2",
             "ring = io_uring_setup(4, &params) -> >=0"] + _RING_MAPS + [
             "io_uring_enter(ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) -> 1",
             "io_uring_enter(ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) -> 1"]
         + _RING_UNMAPS + [_CLOSE_RING, "pread64(fd, &buf, 5, 0) -> 5 x3", "close(fd) -> 0"],
         operations=["IORING_OP_CLOSE(fd) -> 0",
                     'IORING_OP_OPENAT(AT_FDCWD, "<dir>/iouring-reopen-second.txt", O_RDONLY, 0) '
                     "-> >=0"],
         notes="ior's sequence: the first enter submits IORING_OP_CLOSE of fd, the second "
               "IORING_OP_OPENAT(AT_FDCWD, second file, O_RDONLY), which lands on the number "
               "just freed: the later preads and the close read the second file through the "
               "fd a tracer saw opened on the first, with no syscall in between that names it. "
               "The mapping lengths (?) are the ones the kernel's io_uring_params offsets ask "
               "for. ior writes the two files in Go's random map order and sleeps 500 ms "
               "before the last close (for its lazy procfs lookup); here the first file is "
               "always written first and there is no sleep. With more than one worker the "
               "workers take turns for whole iterations (a spin lock, no syscall), so no other "
               "worker takes the freed number between the CLOSE and the OPENAT."),
    dict(name="iouring_op_file", io_threads=("iou-wrk",),
         task_work_restarts=_rings(1, 0),
         summary="a file's life by ring: OPENAT, WRITE, FSYNC, READ, STATX, CLOSE; no file syscall",
         kernel=kernel(iouring_op_file_loop, op_file_setup, op_ring_teardown),
         requires=[_io_uring_usable], needs_dir=True, helper_threads=True,
         setup=_op_ring(), iteration=[_ENTER_ONE + " x6"], teardown=_OP_TEARDOWN,
         operations=['IORING_OP_OPENAT(AT_FDCWD, "<dir>/iouring-op.txt", O_RDWR|O_CREAT|O_TRUNC, '
                     '0644) -> >=0',
                     _OP_WRITE, "IORING_OP_FSYNC(fd, 0) -> 0", _OP_READ,
                     'IORING_OP_STATX(AT_FDCWD, "<dir>/iouring-op.txt", 0, STATX_BASIC_STATS, '
                     '&statx_buf) -> 0',
                     "IORING_OP_CLOSE(fd) -> 0"],
         notes=_OPS_NOTE + "The only syscalls are the six io_uring_enter calls that submit and "
               "wait: a syscall tracer sees no openat, write, fsync, read, statx or close. The "
               "kernel runs some of these requests on an io-wq worker thread of the process "
               "(iou-wrk-<tid>: OPENAT with O_CREAT, FSYNC and STATX cannot complete without "
               "blocking); such threads issue no syscalls, and a tracer attached by PID sees "
               "none from them (ptrace does not follow them: they are created CLONE_UNTRACED)."),
    dict(name="iouring_op_socket", io_threads=("iou-wrk",),
         task_work_restarts=_rings(1, 0),
         summary="IORING_OP_SEND and IORING_OP_RECV on a socketpair",
         kernel=kernel(iouring_op_socket_loop, op_socket_setup, op_ring_teardown),
         requires=[_io_uring_usable], helper_threads=True,
         setup=["socketpair(AF_UNIX, SOCK_STREAM, 0, &sv) -> 0"] + _op_ring(),
         iteration=[_ENTER_ONE + " x2"],
         teardown=_OP_TEARDOWN + ["close(?) -> 0", "close(?) -> 0"],
         operations=['IORING_OP_SEND(sv[0], "ioworkload io_uring send", 24, 0) -> 24',
                     "IORING_OP_RECV(sv[1], &buf, 24, 0) -> 24"],
         notes=_OPS_NOTE + "The RECV finds the SEND's 24 bytes already queued, so it completes "
               "at once. The two ends come back through &sv (hence ? in their closes)."),
    dict(name="iouring_op_sqpoll", io_threads=("iou-sqp", "iou-wrk"),
         task_work_restarts=_rings(1, 0),
         summary="WRITE and READ through an SQPOLL ring: no syscall at all per operation",
         kernel=kernel(iouring_op_sqpoll_loop, op_sqpoll_setup, op_ring_teardown),
         requires=[_io_uring_usable], needs_dir=True, helper_threads=True,
         setup=[_open_target("iouring-sqpoll.txt")]
         + _op_ring("&{flags=IORING_SETUP_SQPOLL, sq_thread_idle=60000}")
         + ["io_uring_enter(ring, 0, 0, IORING_ENTER_SQ_WAKEUP, NULL, 0) -> 0"],
         iteration=[], teardown=_OP_TEARDOWN + ["close(fd) -> 0"],
         operations=[_OP_WRITE, _OP_READ],
         notes=_OPS_NOTE + "io_uring_setup starts the ring's SQ thread (iou-sqp-<tid>, a thread "
               "of the process that issues no syscalls; ptrace does not follow it). The worker "
               "publishes each request in the SQ ring and spins on the CQ ring until it "
               "completes: the iteration has no syscall at all, so rates are per operation "
               "(ns_per_syscall is not defined). A new SQ thread sleeps at once when it finds "
               "no work, so setup waits (spinning, no syscall) until it has set "
               "IORING_SQ_NEED_WAKEUP and wakes it with the one declared "
               "IORING_ENTER_SQ_WAKEUP; from then on it polls for 60 s after each request "
               "(sq_thread_idle) and never needs another wakeup during a run; a request not "
               "completed within 30 s is tallied -ETIME. Both CPUs of a "
               "2-CPU machine stay busy while it runs (the SQ thread and the worker both poll)."),
    dict(name="iouring_op_async", io_threads=("iou-wrk",),
         task_work_restarts=_rings(1, 0),
         summary="WRITE and READ forced to io-wq (IOSQE_ASYNC), each waited for by io_uring_enter",
         kernel=kernel(iouring_op_async_loop, op_async_setup, op_ring_teardown),
         requires=[_io_uring_usable], needs_dir=True, helper_threads=True,
         setup=[_open_target("iouring-async.txt")] + _op_ring(),
         iteration=[_ENTER_ONE + " x2"], teardown=_OP_TEARDOWN + ["close(fd) -> 0"],
         operations=[_OP_WRITE.replace(" -> 26", " -> 26 async"),
                     _OP_READ.replace(" -> 26", " -> 26 async")],
         notes=_OPS_NOTE + "IOSQE_ASYNC makes the kernel queue each request to an io-wq worker "
               "thread of the process (iou-wrk-<tid>) instead of trying it inline; --verify "
               "counts that queueing (io_uring:io_uring_queue_async_work). The worker threads "
               "issue no syscalls and ptrace does not follow them (CLONE_UNTRACED)."),
])

# ior mode runs these instead of the scenarios of the same name (ior_mode.scenario_for_ior).
IOR_SCENARIOS = scenarios("iouring", [
    dict(name="iouring_registered_ring", task_work_restarts=_rings(1, 0),
         summary="enter and register through a registered-ring index (0), the slot kept (ior's)",
         kernel=kernel(ior_registered_ring_loop, ior_registered_ring_setup,
                       ior_registered_ring_teardown),
         requires=[_io_uring_usable, _register_through_index],
         setup=[_SETUP, _REGISTER_RING],
         iteration=[f"io_uring_enter({_REGISTERED}) -> 0 x5",
                    "io_uring_register(0, IORING_REGISTER_PROBE|IORING_REGISTER_USE_REGISTERED_RING,"
                    " &probe, 0) -> 0 x5"],
         teardown=[_CLOSE_RING],
         notes="ior mode's sequence, as ior's: the ring is registered once and never "
               "unregistered (the slot holds it until the process exits, right after the run), "
               "so a run makes 6 io_uring_register calls, ior's count; its iterations repeat the "
               "five enter/register pairs through slot 0. One worker, in the scenario's own "
               "process (the command spawns it). ior's decoy file on fd 0 is left out: fd 0 "
               "stays the caller's."),
])
for _sc in IOR_SCENARIOS:
    _sc.one_worker = True   # the ring lives until the process exits
