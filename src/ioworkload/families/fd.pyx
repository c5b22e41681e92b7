# Descriptor life cycle: close, close_range, dup/dup2/dup3, fcntl and ioctl, after ior's close-*,
# dup-*, fcntl-* and ioctl-* scenarios (file names, payloads and byte counts are ior's).
#
# Worker threads share one fd table. Where ior uses a fixed number (dup2 to 500, dup3 to 501/502)
# or needs contiguous numbers (close_range's block), the number comes from the worker's own block
# of 16: base + 16*thread + slot. The runner picks base (w.fd_base) before the run: the lowest
# number from 500 up whose blocks hold no open fd (500 when free: thread 0 gets ior's numbers), so
# a descriptor the caller or the parent holds is never replaced or closed. The kernel hands out
# the lowest free number, so nobody else (another worker, Python, the verification counters,
# moved above the blocks) takes a number in those blocks during the run, and close_range over a
# block closes only this worker's own descriptors.

from libc.stdint cimport uint64_t
from libc.string cimport memcpy, strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys1, iow_sys3, iow_sys4, iow_tally_ret, iow_stop_requested,
    iow_path, kernel, IOW_PATH_MAX, iow_now_ns, iow_wait_give_up, iow_wait_over,
    IOW_WAIT_BOUND_NS, IOW_WAIT_GONE,
)
from libc.stdint cimport int64_t
from ioworkload.families._common cimport one_call_loop

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_close_range
        __NR_write
        __NR_dup
        __NR_dup3
        __NR_fcntl
        __NR_ioctl
        __NR_pipe2
        IOW_NR_dup2

# The kernel's own <linux/fcntl.h>, not libc's: F_GETFL reports the kernel's O_LARGEFILE bit,
# which glibc defines as 0 on 64-bit targets.
cdef extern from "<linux/fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_CREAT
        O_APPEND
        O_CLOEXEC
        O_LARGEFILE
        F_DUPFD
        F_GETFD
        F_SETFD
        F_GETFL
        F_SETFL
        F_DUPFD_CLOEXEC
        FD_CLOEXEC

cdef extern from "<linux/close_range.h>" nogil:
    enum:
        CLOSE_RANGE_CLOEXEC

cdef extern from "<asm/ioctls.h>" nogil:
    enum:
        FIONREAD
        FIOCLEX
        FIONCLEX

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import legacy_syscall

cdef enum:
    FIXED_FD_BASE = 500      # ior's dup2 target
    FIXED_FD_BLOCK = 16      # numbers per worker
    SLOT_DUP2 = 0            # 500: dup-dup2
    SLOT_DUP3 = 1            # 501: dup-dup3
    SLOT_DUP3_BAD = 2        # 502: dup3-invalid-flags
    SLOT_DOUBLE = 3          # close-double-close
    SLOT_RANGE = 4           # 504..506: the close_range block; 507 right above it ("high")
    RANGE_LEN = 3
    MAX_SETUP_FDS = 4        # setup opens at most the block's three files and one more
    INVALID_FD = 99999       # ior's never-open descriptor
    DUPFD_MIN_TOO_HIGH = 1 << 30
    BAD_DUP3_FLAGS = 0xBAD
    UNTRACKED_FILES = 64     # ior's count: enough closes to catch a racy procfs resolver
    THE_FD = -1              # open_call_close_loop: pass the opened fd as the second argument

cdef int OPEN_FLAGS = O_RDWR | O_CREAT   # ior's syscall.Open(path, O_RDWR|O_CREAT, 0644)
cdef int FILE_MODE = 0o644

cdef const char *VIA_DUP = b"via dup"
cdef const char *VIA_DUP2 = b"via dup2"
cdef const char *VIA_DUP3 = b"via dup3"
cdef const char *VIA_FCNTL = b"via fcntl"
cdef const char *VIA_FCNTL_CLOEXEC = b"via fcntl dupfd cloexec"
cdef const char *APPENDED = b"appended via fcntl setfl"
cdef const char *AFTER_SETFD = b"after fcntl setfd clear"
cdef const char *AFTER_FIOCLEX = b"after FIOCLEX"
cdef const char *AFTER_FIONCLEX = b"after FIONCLEX"
cdef const char *STILL_OPEN = b"still-open"
cdef const char *CLOEXEC_LOW = b"low-cloexec-set"      # ours: ior's source for it is not public
cdef const char *CLOEXEC_HIGH = b"high-cloexec-clear"
cdef const char *NAMED_BEFORE_CLOSE = b"named-before-close"
cdef const char *JUST_BEFORE_CLOSE = b"written-just-before-close"


cdef inline long fixed_fd(iow_worker *w, int slot) noexcept nogil:
    return w.fd_base + FIXED_FD_BLOCK * w.index + slot


cdef inline long open_path(iow_tally *t, const char *path, int flags) noexcept nogil:
    return iow_tally_ret(t, iow_sys4(__NR_openat, AT_FDCWD, <long>path, flags, FILE_MODE))


cdef inline long close_fd(iow_tally *t, long fd) noexcept nogil:
    return iow_tally_ret(t, iow_sys1(__NR_close, fd))


cdef inline long write_str(iow_tally *t, long fd, const char *s) noexcept nogil:
    return iow_tally_ret(t, iow_sys3(__NR_write, fd, <long>s, strlen(s)))


cdef inline long fcntl3(iow_tally *t, long fd, long cmd, long arg) noexcept nogil:
    return iow_tally_ret(t, iow_sys3(__NR_fcntl, fd, cmd, arg))


cdef char *numbered_path(iow_worker *w, int slot, const char *prefix, int i,
                         const char *suffix) noexcept nogil:
    """"<dir>/<prefix><i><suffix>" into w.path[slot] (i < 1000); pure string work."""
    cdef char name[64]
    cdef size_t p = strlen(prefix), s = strlen(suffix), n = 0
    memcpy(name, prefix, p)
    if i >= 100:
        name[p + n] = c'0' + i // 100
        n += 1
    if i >= 10:
        name[p + n] = c'0' + i // 10 % 10
        n += 1
    name[p + n] = c'0' + i % 10
    n += 1
    memcpy(name + p + n, suffix, s + 1)
    return iow_path(w, slot, name)


cdef int open_setup_files(iow_worker *w, int count) noexcept nogil:
    """Open w.path[0..count) into w.fd[0..count) (setup events 0..count)."""
    cdef int k
    for k in range(count):
        w.fd[k] = open_path(&w.setup[k], w.path[k], OPEN_FLAGS)
        if w.fd[k] < 0:
            return <int>w.fd[k]
    return 0


cdef void close_setup_fds(iow_worker *w) noexcept nogil:
    """Teardown: close every w.fd[k] setup opened, as teardown event k."""
    cdef int k
    for k in range(MAX_SETUP_FDS):
        if w.fd[k] >= 0:
            close_fd(&w.teardown[k], w.fd[k])
            w.fd[k] = -1


cdef int open_range_files(iow_worker *w, const char *low_prefix, const char *high_name) noexcept nogil:
    cdef int k
    for k in range(RANGE_LEN):
        numbered_path(w, k, low_prefix, k, b".txt")
    if high_name == NULL:
        return open_setup_files(w, RANGE_LEN)
    iow_path(w, RANGE_LEN, high_name)
    return open_setup_files(w, RANGE_LEN + 1)


cdef void dup_into_block(iow_worker *w, int count) noexcept nogil:
    """dup3 setup's fds 0..count onto this worker's contiguous block (iteration events 0..count)."""
    cdef int k
    for k in range(count):
        iow_tally_ret(&w.iter[k], iow_sys3(__NR_dup3, w.fd[k], fixed_fd(w, SLOT_RANGE + k), 0))


# ---- close ----

cdef uint64_t close_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef int k
    cdef long fds[3]
    for k in range(3):
        numbered_path(w, k, b"closefile-", k, b".txt")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        for k in range(3):
            fds[k] = open_path(&w.iter[k], w.path[k], OPEN_FLAGS)
        for k in range(3):
            close_fd(&w.iter[3 + k], fds[k])
    return n


cdef int close_range_setup(iow_worker *w) noexcept nogil:
    return open_range_files(w, b"closerangefile-", NULL)


cdef uint64_t close_range_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        dup_into_block(w, RANGE_LEN)
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_close_range, fixed_fd(w, SLOT_RANGE),
                                           fixed_fd(w, SLOT_RANGE + RANGE_LEN - 1), 0))
    return n


cdef int close_range_bounded_setup(iow_worker *w) noexcept nogil:
    return open_range_files(w, b"closerangelow-", b"closerangehigh.txt")


cdef uint64_t close_range_bounded_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long high = fixed_fd(w, SLOT_RANGE + RANGE_LEN)   # right above the closed block
    for i in range(n):
        if iow_stop_requested(w):
            return i
        dup_into_block(w, RANGE_LEN + 1)
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_close_range, fixed_fd(w, SLOT_RANGE),
                                           fixed_fd(w, SLOT_RANGE + RANGE_LEN - 1), 0))
        write_str(&w.iter[5], high, STILL_OPEN)
        close_fd(&w.iter[6], high)
    return n


cdef int close_range_cloexec_setup(iow_worker *w) noexcept nogil:
    return open_range_files(w, b"closerangecloexec-low-", b"closerangecloexec-high.txt")


cdef uint64_t close_range_cloexec_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef int k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        dup_into_block(w, RANGE_LEN + 1)
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_close_range, fixed_fd(w, SLOT_RANGE),
                                           fixed_fd(w, SLOT_RANGE + RANGE_LEN - 1),
                                           CLOSE_RANGE_CLOEXEC))
        for k in range(RANGE_LEN):
            write_str(&w.iter[5 + k], fixed_fd(w, SLOT_RANGE + k), CLOEXEC_LOW)
        write_str(&w.iter[8], fixed_fd(w, SLOT_RANGE + RANGE_LEN), CLOEXEC_HIGH)
        # CLOSE_RANGE_CLOEXEC closed nothing: close the block (and high) for the next iteration.
        for k in range(RANGE_LEN + 1):
            close_fd(&w.iter[9 + k], fixed_fd(w, SLOT_RANGE + k))
    return n


cdef uint64_t close_invalid_fd_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_close, INVALID_FD, 0, 0)


cdef int close_double_close_setup(iow_worker *w) noexcept nogil:
    iow_path(w, 0, b"doubleclosefile.txt")
    return open_setup_files(w, 1)


cdef uint64_t close_double_close_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long fd = fixed_fd(w, SLOT_DOUBLE)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_dup3, w.fd[0], fd, 0))
        close_fd(&w.iter[1], fd)
        close_fd(&w.iter[2], fd)
    return n


cdef uint64_t close_range_empty_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_close_range, 9000, 9999, 0)


# close-untracked: 64 files; each is closed and a pipe2 at once takes its number back.
ctypedef struct UntrackedState:
    int pipefd[2]
    int writer_alive          # ior mode's FIFO writer thread (CLONE_CHILD_CLEARTID)
    char paths[UNTRACKED_FILES][IOW_PATH_MAX]


cdef int close_untracked_setup(iow_worker *w) noexcept nogil:
    """Files 1..63 stay open from setup; file 0 is opened by each iteration itself (its close
    then names the fd that iteration's openat returned)."""
    cdef UntrackedState *st = <UntrackedState *>w.scratch
    cdef int i
    for i in range(UNTRACKED_FILES):
        memcpy(st.paths[i], numbered_path(w, 0, b"closeuntracked-", i, b".txt"), IOW_PATH_MAX)
    for i in range(1, UNTRACKED_FILES):
        w.fd[i] = open_path(&w.setup[0], st.paths[i], OPEN_FLAGS)
        if w.fd[i] < 0:
            return <int>w.fd[i]
    return 0


cdef inline void reuse_by_pipe(iow_worker *w, iow_tally *t, int i) noexcept nogil:
    """pipe2 right after file i's close: its read end takes the number just freed (the lowest
    free, with one worker); both ends are kept in file i's slots."""
    cdef UntrackedState *st = <UntrackedState *>w.scratch
    if iow_tally_ret(t, iow_sys3(__NR_pipe2, <long>st.pipefd, O_CLOEXEC, 0)) == 0:
        w.fd[i] = st.pipefd[0]
        w.fd[UNTRACKED_FILES + i] = st.pipefd[1]
    else:
        w.fd[i] = -1


cdef uint64_t close_untracked_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef UntrackedState *st = <UntrackedState *>w.scratch
    cdef uint64_t it
    cdef int i
    for it in range(n):
        if iow_stop_requested(w):
            return it
        w.fd[0] = open_path(&w.iter[0], st.paths[0], OPEN_FLAGS)
        write_str(&w.iter[1], w.fd[0], NAMED_BEFORE_CLOSE)
        close_fd(&w.iter[2], w.fd[0])
        reuse_by_pipe(w, &w.iter[3], 0)
        for i in range(1, UNTRACKED_FILES):
            write_str(&w.iter[4], w.fd[i], JUST_BEFORE_CLOSE)
            close_fd(&w.iter[5], w.fd[i])
            reuse_by_pipe(w, &w.iter[6], i)
        # Restore: drop each pipe and reopen files 1..63, which land on their numbers again
        # (with one worker), so the next iteration starts like this one.
        for i in range(UNTRACKED_FILES):
            close_fd(&w.iter[7], w.fd[i])
            close_fd(&w.iter[8], w.fd[UNTRACKED_FILES + i])
            w.fd[UNTRACKED_FILES + i] = -1
            w.fd[i] = -1
        for i in range(1, UNTRACKED_FILES):
            w.fd[i] = open_path(&w.iter[9], st.paths[i], OPEN_FLAGS)
    return n


cdef void close_untracked_teardown(iow_worker *w) noexcept nogil:
    cdef int i
    for i in range(2 * UNTRACKED_FILES):
        if w.fd[i] >= 0:
            close_fd(&w.teardown[0], w.fd[i])
            w.fd[i] = -1


# ior mode: ior's close-untracked. Its prestart opens the 64 files before the PID line, so a
# tracer attached after it has seen none of those opens; then, once: a write to file 0, ior's
# 500 ms pause, and each file closed (after a write, but file 0) with its number at once taken
# by a pipe2's read end. The pipes stay open until the process ends, as in ior. (ior's newest
# FIFO stage is ior mode's: docs/ior-mode.md.)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_clock_nanosleep
        __NR_mknodat
        __NR_read
        __NR_pread64
        __NR_exit

cdef extern from "<time.h>" nogil:
    enum:
        CLOCK_MONOTONIC
    struct timespec:
        long tv_sec
        long tv_nsec

cdef extern from "<sys/stat.h>" nogil:
    enum:
        S_IFIFO

cdef extern from "<linux/fcntl.h>" nogil:
    enum:
        O_RDONLY

cdef extern from "iow_worker.h" nogil:
    enum:
        IOW_SCRATCH_BYTES
    void iow_note_task(iow_worker *w, long tid)

cdef extern from "<stdio.h>" nogil:
    int snprintf(char *out, size_t n, const char *fmt, ...)

from ioworkload.families._clone cimport (
    IOW_HAVE_CLONE_THREAD, iow_clone_thread, CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_THREAD,
    CLONE_SYSVSEM, CLONE_CHILD_CLEARTID, iow_load_acquire, iow_store_release, iow_cpu_relax,
)

cdef extern from * nogil:
    """
    /* ior's FIFO stage: the blocked write's 256 KiB (4 pipe buffers) and the drain's buffer,
       zero pages of the module (no syscall to get them); one worker only (one_worker). */
    #define IOW_FIFO_BYTES (256 * 1024)
    #define IOW_DRAIN_BYTES (64 * 1024)
    static char iow_fifo_payload[IOW_FIFO_BYTES];
    static char iow_fifo_drain[IOW_DRAIN_BYTES];
    /* "<nr> 0x<fd> ..." from /proc/.../syscall: the task sleeps in syscall nr on fd */
    static int iow_blocked_in(const char *buf, long n, long nr, long fd)
    {
        char want[48];
        int len = snprintf(want, sizeof(want), "%ld 0x%lx ", nr, fd);
        return n >= len && memcmp(buf, want, len) == 0;
    }
    """
    enum:
        IOW_FIFO_BYTES
        IOW_DRAIN_BYTES
    char iow_fifo_payload[1]
    char iow_fifo_drain[1]
    int iow_blocked_in(const char *buf, long n, long nr, long fd)

cdef enum:
    V_FIFO = 0      # w.val: the FIFO's write descriptor (closed under the blocked write)
    V_DRAIN = 1     # ... its second descriptor, drained
    PROC_BUF = 64

cdef unsigned long WRITER_FLAGS = (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND
                                   | CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID)


cdef long open_untracked(iow_worker *w) noexcept nogil:
    cdef long fd
    cdef int i, k
    for i in range(UNTRACKED_FILES):
        fd = iow_sys4(__NR_openat, AT_FDCWD,
                      <long>numbered_path(w, 0, b"closeuntracked-", i, b".txt"), OPEN_FLAGS,
                      FILE_MODE)
        if fd < 0:
            for k in range(i):
                iow_sys1(__NR_close, w.fd[k])
                w.fd[k] = -1
            return fd
        w.fd[i] = fd
    # ior's newest prestart also makes a FIFO and opens it twice (O_RDWR: no wait for a peer)
    cdef char *fifo = iow_path(w, 1, b"closeuntracked-fifo")
    fd = iow_sys4(__NR_mknodat, AT_FDCWD, <long>fifo, S_IFIFO | FILE_MODE, 0)
    w.val[V_FIFO] = w.val[V_DRAIN] = -1
    if fd == 0:
        w.val[V_FIFO] = fd = iow_sys4(__NR_openat, AT_FDCWD, <long>fifo, O_RDWR, 0)
    if fd >= 0:
        w.val[V_DRAIN] = fd = iow_sys4(__NR_openat, AT_FDCWD, <long>fifo, O_RDWR, 0)
    if fd < 0:
        for k in range(UNTRACKED_FILES):
            iow_sys1(__NR_close, w.fd[k])
            w.fd[k] = -1
        if w.val[V_FIFO] >= 0:
            iow_sys1(__NR_close, w.val[V_FIFO])
        return fd
    return 0


cdef void blocked_fifo_writer(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    iow_tally_ret(&w.setup[6], 0)  # clone returned 0 here
    iow_tally_ret(&w.setup[7], iow_sys3(__NR_write, w.val[V_FIFO], <long>iow_fifo_payload,
                                        IOW_FIFO_BYTES))
    iow_tally_ret(&w.setup[8], 0)  # its exit (tallied first: it does not return)
    while True:
        iow_sys1(__NR_exit, 0)


cdef void close_under_blocked_write(iow_worker *w) noexcept nogil:
    """ior's closeUnderBlockedWrite: a thread blocks writing 256 KiB into the FIFO; once
    /proc shows it asleep in that write, the FIFO descriptor is closed and a pipe takes its
    number; then the second descriptor drains the FIFO and the write returns. The look is
    bounded and ends on a stop request or the writer's exit; given up, the FIFO descriptor
    stays open (closed under a write not yet begun, it would fail the write, and the drain
    would wait forever), and the drain still frees a live writer."""
    cdef int *alive = &(<UntrackedState *>w.scratch).writer_alive
    cdef int pipefd[2]
    cdef char proc_path[64]
    cdef char buf[PROC_BUF]
    cdef long tid, proc, n, left
    cdef int why
    cdef bint blocked = False
    cdef int64_t deadline = iow_now_ns() + IOW_WAIT_BOUND_NS
    iow_store_release(alive, 1)
    tid = iow_tally_ret(&w.setup[5], iow_clone_thread(WRITER_FLAGS, w.scratch + IOW_SCRATCH_BYTES,
                                                      alive, blocked_fifo_writer, w))
    if tid < 0:
        iow_store_release(alive, 0)
        return
    iow_note_task(w, tid)
    snprintf(proc_path, sizeof(proc_path), "/proc/self/task/%ld/syscall", tid)
    proc = iow_tally_ret(&w.setup[9], iow_sys4(__NR_openat, AT_FDCWD, <long>proc_path,
                                                O_RDONLY | O_CLOEXEC, 0))
    while proc >= 0:
        n = iow_tally_ret(&w.setup[10], iow_sys4(__NR_pread64, proc, <long>buf, PROC_BUF - 1, 0))
        if n >= 0 and iow_blocked_in(buf, n, __NR_write, w.val[V_FIFO]):
            blocked = True
            break
        if n < 0 or not iow_load_acquire(alive):
            iow_wait_give_up(w, IOW_WAIT_GONE, "the FIFO writer to block in its write")
            break
        why = iow_wait_over(w, deadline)
        if why:
            iow_wait_give_up(w, why, "the FIFO writer to block in its write")
            break
    if proc >= 0:
        close_fd(&w.setup[11], proc)
    if blocked:
        close_fd(&w.setup[12], w.val[V_FIFO])
    iow_tally_ret(&w.setup[13], iow_sys3(__NR_pipe2, <long>pipefd, O_CLOEXEC, 0))  # stays open
    left = IOW_FIFO_BYTES if iow_load_acquire(alive) else 0  # a writer gone writes nothing more
    while left > 0:
        n = iow_tally_ret(&w.setup[14], iow_sys3(__NR_read, w.val[V_DRAIN], <long>iow_fifo_drain,
                                                 left if left < IOW_DRAIN_BYTES else IOW_DRAIN_BYTES))
        if n <= 0:
            break
        left -= n
    # The kernel clears it once the writer is gone: its write has returned (drained), so it
    # only has its exit left. Never given up: its stack is our scratch.
    while iow_load_acquire(alive):
        iow_cpu_relax()


cdef int close_untracked_ior_setup(iow_worker *w) noexcept nogil:
    cdef timespec pause
    cdef int i
    pause.tv_sec = 0
    pause.tv_nsec = 500000000
    write_str(&w.setup[0], w.fd[0], NAMED_BEFORE_CLOSE)
    iow_tally_ret(&w.setup[1], iow_sys4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0, <long>&pause, 0))
    for i in range(UNTRACKED_FILES):
        if i > 0:
            write_str(&w.setup[2], w.fd[i], JUST_BEFORE_CLOSE)
        close_fd(&w.setup[3], w.fd[i])
        reuse_by_pipe(w, &w.setup[4], i)   # the pipes stay open, as ior leaves them
    close_under_blocked_write(w)
    return 0


cdef uint64_t once_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return n   # ior's sequence ran in setup, once


# ---- ior mode's own sequences (IOR_SCENARIOS): ior's descriptors, one worker only ----
# ior closes the numbers its opens returned (the lowest free ones), where the scenarios above use
# the worker's fixed block so that threads never close each other's descriptors. ior mode runs
# one worker (the CLI refuses more), so these follow ior.

cdef uint64_t close_range_ior_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """Open closerangefile-0..2 and close_range(first, last, 0), as ior's close-range."""
    cdef long fds[RANGE_LEN]
    cdef uint64_t it
    cdef int i
    for it in range(n):
        if iow_stop_requested(w):
            return it
        for i in range(RANGE_LEN):
            fds[i] = open_path(&w.iter[i], numbered_path(w, 0, b"closerangefile-", i, b".txt"),
                               OPEN_FLAGS)
        if fds[0] >= 0 and fds[RANGE_LEN - 1] - fds[0] == RANGE_LEN - 1:
            iow_tally_ret(&w.iter[RANGE_LEN], iow_sys3(__NR_close_range, fds[0],
                                                       fds[RANGE_LEN - 1], 0))
        else:
            # ior fails here ("fds not contiguous"); the missing close_range fails the run too.
            # The files are closed all the same: nothing leaks.
            for i in range(RANGE_LEN):
                if fds[i] >= 0:
                    iow_sys1(__NR_close, fds[i])
            return it + 1
    return n


cdef bint open_low_and_high(iow_worker *w, long *low, long *high) noexcept nogil:
    """Open w.path[0..RANGE_LEN) into low[] and w.path[RANGE_LEN] into *high (iteration events
    0..RANGE_LEN), as ior does each round. True when the low ones are contiguous and high is
    above them: ior's close_range may then close exactly them. Otherwise every fd is closed
    (ior fails the round; the missing calls fail the run) and nothing else is touched."""
    cdef int k
    for k in range(RANGE_LEN):
        low[k] = open_path(&w.iter[k], w.path[k], OPEN_FLAGS)
    high[0] = open_path(&w.iter[RANGE_LEN], w.path[RANGE_LEN], OPEN_FLAGS)
    if low[0] >= 0 and low[RANGE_LEN - 1] - low[0] == RANGE_LEN - 1 \
            and high[0] > low[RANGE_LEN - 1]:
        return True
    for k in range(RANGE_LEN):
        if low[k] >= 0:
            iow_sys1(__NR_close, low[k])
    if high[0] >= 0:
        iow_sys1(__NR_close, high[0])
    return False


cdef uint64_t close_range_bounded_ior_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """ior's close-range-bounded: open closerangelow-0..2 and closerangehigh.txt,
    close_range(low0, low2, 0), write "still-open" to high, close it."""
    cdef long low[RANGE_LEN]
    cdef long high
    cdef uint64_t it
    cdef int k
    for k in range(RANGE_LEN):
        numbered_path(w, k, b"closerangelow-", k, b".txt")
    iow_path(w, RANGE_LEN, b"closerangehigh.txt")
    for it in range(n):
        if iow_stop_requested(w):
            return it
        if not open_low_and_high(w, low, &high):
            return it + 1
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_close_range, low[0], low[RANGE_LEN - 1], 0))
        write_str(&w.iter[5], high, STILL_OPEN)
        close_fd(&w.iter[6], high)
    return n


cdef uint64_t close_range_cloexec_ior_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """ior's close-range-cloexec (as its test describes it): open closerangecloexec-low-0..2
    and closerangecloexec-high.txt, close_range(low0, low2, CLOSE_RANGE_CLOEXEC), write to
    each low fd and to high, then close all four."""
    cdef long low[RANGE_LEN]
    cdef long high
    cdef uint64_t it
    cdef int k
    for k in range(RANGE_LEN):
        numbered_path(w, k, b"closerangecloexec-low-", k, b".txt")
    iow_path(w, RANGE_LEN, b"closerangecloexec-high.txt")
    for it in range(n):
        if iow_stop_requested(w):
            return it
        if not open_low_and_high(w, low, &high):
            return it + 1
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_close_range, low[0], low[RANGE_LEN - 1],
                                           CLOSE_RANGE_CLOEXEC))
        for k in range(RANGE_LEN):
            write_str(&w.iter[5 + k], low[k], CLOEXEC_LOW)
        write_str(&w.iter[8], high, CLOEXEC_HIGH)
        for k in range(RANGE_LEN):
            close_fd(&w.iter[9 + k], low[k])
        close_fd(&w.iter[12], high)
    return n


cdef uint64_t close_double_close_ior_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """Open doubleclosefile.txt, close it, close the same number again, as ior's
    close-double-close."""
    cdef uint64_t it
    cdef long fd
    iow_path(w, 0, b"doubleclosefile.txt")
    for it in range(n):
        if iow_stop_requested(w):
            return it
        fd = open_path(&w.iter[0], w.path[0], OPEN_FLAGS)
        close_fd(&w.iter[1], fd)
        close_fd(&w.iter[2], fd)
    return n


# ---- dup, fcntl ----

cdef uint64_t dup_write_close_loop(iow_worker *w, uint64_t n, const char *name, long nr, long b,
                                   long c, const char *payload) noexcept nogil:
    """Each iteration: open name; nfd = syscall nr(fd, b, c) (a dup); write payload via nfd;
    close nfd, then fd (ior's deferred order)."""
    cdef uint64_t i
    cdef long fd, nfd
    iow_path(w, 0, name)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        fd = open_path(&w.iter[0], w.path[0], OPEN_FLAGS)
        nfd = iow_tally_ret(&w.iter[1], iow_sys3(nr, fd, b, c))
        write_str(&w.iter[2], nfd, payload)
        close_fd(&w.iter[3], nfd)
        close_fd(&w.iter[4], fd)
    return n


cdef uint64_t open_call_close_loop(iow_worker *w, uint64_t n, const char *name, long nr, long b,
                                   long c) noexcept nogil:
    """Each iteration: open name; syscall nr(fd, b, c) with b == THE_FD meaning fd; close fd."""
    cdef uint64_t i
    cdef long fd
    iow_path(w, 0, name)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        fd = open_path(&w.iter[0], w.path[0], OPEN_FLAGS)
        iow_tally_ret(&w.iter[1], iow_sys3(nr, fd, fd if b == THE_FD else b, c))
        close_fd(&w.iter[2], fd)
    return n


cdef uint64_t dup_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return dup_write_close_loop(w, n, b"dupfile.txt", __NR_dup, 0, 0, VIA_DUP)


cdef uint64_t dup_dup2_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return dup_write_close_loop(w, n, b"dup2file.txt", IOW_NR_dup2, fixed_fd(w, SLOT_DUP2), 0, VIA_DUP2)


cdef uint64_t dup_dup3_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return dup_write_close_loop(w, n, b"dup3file.txt", __NR_dup3, fixed_fd(w, SLOT_DUP3), O_CLOEXEC,
                                VIA_DUP3)


cdef uint64_t dup_invalid_fd_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_dup, INVALID_FD, 0, 0)


cdef uint64_t dup2_same_fd_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return open_call_close_loop(w, n, b"dup2samefile.txt", IOW_NR_dup2, THE_FD, 0)


cdef uint64_t dup3_invalid_flags_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return open_call_close_loop(w, n, b"dup3flagsfile.txt", __NR_dup3, fixed_fd(w, SLOT_DUP3_BAD),
                                BAD_DUP3_FLAGS)


cdef uint64_t fcntl_dupfd_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return dup_write_close_loop(w, n, b"fcntlfile.txt", __NR_fcntl, F_DUPFD, 0, VIA_FCNTL)


cdef uint64_t fcntl_dupfd_cloexec_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return dup_write_close_loop(w, n, b"fcntlcloexecfile.txt", __NR_fcntl, F_DUPFD_CLOEXEC, 0,
                                VIA_FCNTL_CLOEXEC)


cdef uint64_t fcntl_setfl_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long fd, flags
    iow_path(w, 0, b"fcntlsetflfile.txt")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        fd = open_path(&w.iter[0], w.path[0], OPEN_FLAGS)
        flags = fcntl3(&w.iter[1], fd, F_GETFL, 0)
        fcntl3(&w.iter[2], fd, F_SETFL, flags | O_APPEND)
        write_str(&w.iter[3], fd, APPENDED)
        close_fd(&w.iter[4], fd)
    return n


cdef uint64_t fcntl_setfd_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long fd
    iow_path(w, 0, b"fcntlsetfdfile.txt")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        fd = open_path(&w.iter[0], w.path[0], OPEN_FLAGS | O_CLOEXEC)
        fcntl3(&w.iter[1], fd, F_GETFD, 0)
        fcntl3(&w.iter[2], fd, F_SETFD, 0)
        write_str(&w.iter[3], fd, AFTER_SETFD)
        fcntl3(&w.iter[4], fd, F_GETFD, 0)
        close_fd(&w.iter[5], fd)
    return n


cdef uint64_t fcntl_invalid_fd_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_fcntl, INVALID_FD, F_GETFL, 0)


cdef int fcntl_dupfd_max_setup(iow_worker *w) noexcept nogil:
    iow_path(w, 0, b"fcntldupfdmaxfile.txt")
    return open_setup_files(w, 1)


cdef uint64_t fcntl_dupfd_max_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_fcntl, w.fd[0], F_DUPFD, DUPFD_MIN_TOO_HIGH)


# ---- ioctl ----

cdef uint64_t ioctl_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    # FIONREAD stores the readable byte count (an int) into the scratch buffer.
    return open_call_close_loop(w, n, b"ioctlfile.txt", __NR_ioctl, FIONREAD, <long>w.scratch)


cdef uint64_t ioctl_cloexec_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long fd
    iow_path(w, 0, b"ioctlcloexecfile.txt")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        fd = open_path(&w.iter[0], w.path[0], OPEN_FLAGS)
        iow_tally_ret(&w.iter[1], iow_sys3(__NR_ioctl, fd, FIOCLEX, 0))
        fcntl3(&w.iter[2], fd, F_GETFD, 0)
        write_str(&w.iter[3], fd, AFTER_FIOCLEX)
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_ioctl, fd, FIONCLEX, 0))
        fcntl3(&w.iter[5], fd, F_GETFD, 0)
        write_str(&w.iter[6], fd, AFTER_FIONCLEX)
        close_fd(&w.iter[7], fd)
    return n


# ---- manifest ----

def _rlimit_nofile_below_dupfd_min():
    import resource
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY or soft > DUPFD_MIN_TOO_HIGH:
        return f"RLIMIT_NOFILE ({soft}) exceeds F_DUPFD's minimum {DUPFD_MIN_TOO_HIGH}: it would succeed"
    return None


# The kernel's O_LARGEFILE (the libc header's is 0 on 64-bit targets): F_SETFL passes it back.
CONSTANTS = {"O_LARGEFILE": O_LARGEFILE}


def _open(name, flags="O_RDWR|O_CREAT", bind="fd"):
    path = "?" if name is None else f'"<dir>/{name}"'
    event = f"openat(AT_FDCWD, {path}, {flags}, 0644) -> >=0"
    return f"{bind} = {event}" if bind else event


def _write(fd, bytes payload, times=""):
    s = payload.decode()
    return f'write({fd}, "{s}", {len(s)}) -> {len(s)}{times}'


def _close(fd, expect="0"):
    return f"close({fd}) -> {expect}"


# A fixed number (base + 16*thread + slot, base from 500 up) depends on the run and the worker: written `?`. dup2/dup3
# return it, so later events name the bound result.
_BLOCK = [f"blk{k}" for k in range(RANGE_LEN)]
_RANGE = f"{_BLOCK[0]}, {_BLOCK[RANGE_LEN - 1]}"


def _range_setup(low, high=None):
    names = [f"{low}{k}.txt" for k in range(RANGE_LEN)] + ([high] if high else [])
    return [_open(name, bind=f"fd{k}") for k, name in enumerate(names)]


def _to_block(count):
    """dup3 setup's fd0..fd{count-1} onto the worker's block: blk0..blk2, then high."""
    names = _BLOCK + ["high"]
    return [f"{names[k]} = dup3(fd{k}, ?, 0) -> >={FIXED_FD_BASE + SLOT_RANGE + k}"
            for k in range(count)]


def _teardown(count):
    return [_close(f"fd{k}") for k in range(count)]


def _dup_write_close(name, dup_event, payload):
    return [_open(name), "nfd = " + dup_event, _write("nfd", payload), _close("nfd"), _close("fd")]


_FIXED = (FIXED_FD_BASE, FIXED_FD_BLOCK)  # the Scenario's fixed_fds: --verify keeps out of them
_BLOCK_NOTE = ("Workers share one fd table, so the fixed numbers come from the worker's own block "
               "base+16*thread, base being the lowest number from 500 up whose blocks hold no fd "
               "open at the start (500, ior's numbers for thread 0, unless the caller holds one): "
               "a descriptor the scenario did not open is never replaced or closed. The manifest "
               "writes such a number `?` and names the dup's bound result after it, and the "
               "result's lower bound covers every thread; --verify puts its counters above the "
               "last block.")
_RANGE_NOTE = ("ior opens its files and needs them on contiguous numbers; with two workers sharing the "
               "fd table, consecutive openat results need not be contiguous, so the files are opened "
               "once in setup and each iteration dup3s them onto this worker's block first. " + _BLOCK_NOTE)

SCENARIOS = scenarios("fd", [
    dict(name="close_basic", summary="open three files, close them one by one",
         kernel=kernel(close_basic_loop), needs_dir=True,
         iteration=[_open(f"closefile-{k}.txt", bind=f"fd{k}") for k in range(3)]
                   + [_close(f"fd{k}") for k in range(3)]),
    dict(name="close_range", summary="close_range(first, last, 0) over a block of three open files",
         kernel=kernel(close_range_loop, close_range_setup, close_setup_fds), needs_dir=True,
         setup=_range_setup("closerangefile-"),
         iteration=_to_block(RANGE_LEN) + [f"close_range({_RANGE}, 0) -> 0"],
         teardown=_teardown(RANGE_LEN), fixed_fds=_FIXED, notes=_RANGE_NOTE),
    dict(name="close_range_bounded",
         summary="close_range over three low fds; the fd right above stays open (still-open)",
         kernel=kernel(close_range_bounded_loop, close_range_bounded_setup, close_setup_fds),
         needs_dir=True,
         setup=_range_setup("closerangelow-", "closerangehigh.txt"),
         iteration=_to_block(RANGE_LEN + 1) + [
             f"close_range({_RANGE}, 0) -> 0",
             _write("high", STILL_OPEN),
             _close("high")],
         teardown=_teardown(RANGE_LEN + 1), fixed_fds=_FIXED,
         notes="The high fd sits right above the closed block, so a tracer that drops every fd >= "
               "first is caught. The write goes through a dup of setup's fd3 (closerangehigh.txt), "
               "so that file grows by 10 bytes per iteration. " + _RANGE_NOTE),
    dict(name="close_range_cloexec",
         summary="close_range(..., CLOSE_RANGE_CLOEXEC) marks three fds cloexec; write to all four",
         kernel=kernel(close_range_cloexec_loop, close_range_cloexec_setup, close_setup_fds),
         needs_dir=True,
         setup=_range_setup("closerangecloexec-low-", "closerangecloexec-high.txt"),
         iteration=_to_block(RANGE_LEN + 1)
                   + [f"close_range({_RANGE}, CLOSE_RANGE_CLOEXEC) -> 0"]
                   + [_write(fd, CLOEXEC_LOW) for fd in _BLOCK]     # O_CLOEXEC set
                   + [_write("high", CLOEXEC_HIGH)]                 # O_CLOEXEC clear
                   + [_close(fd) for fd in _BLOCK + ["high"]],
         teardown=_teardown(RANGE_LEN + 1), fixed_fds=_FIXED,
         notes="ior's source for this scenario is not public (its test is): file names follow the "
               "test, the payloads are ours. CLOSE_RANGE_CLOEXEC closes nothing (blk0..blk2 get "
               "O_CLOEXEC, high keeps it clear), so the iteration closes the block itself; the "
               "files grow with each iteration. " + _RANGE_NOTE),
    dict(name="close_invalid_fd", summary="close(99999): never open, -EBADF",
         kernel=kernel(close_invalid_fd_loop),
         iteration=[_close(INVALID_FD, "-EBADF")]),
    dict(name="close_double_close", summary="close an fd, then close the same number again: -EBADF",
         kernel=kernel(close_double_close_loop, close_double_close_setup, close_setup_fds),
         needs_dir=True,
         setup=[_open("doubleclosefile.txt")],
         iteration=[f"dfd = dup3(fd, ?, 0) -> >={FIXED_FD_BASE + SLOT_DOUBLE}",
                    _close("dfd"), _close("dfd", "-EBADF")],
         teardown=[_close("fd")], fixed_fds=_FIXED,
         notes="ior closes its freshly opened fd twice. Between the two closes another worker's "
               "openat could take the freed number (the kernel reuses the lowest), turning the "
               "second close into a close of that worker's file; so the doubly closed number is "
               "a dup3 of doubleclosefile.txt onto the worker's own block. " + _BLOCK_NOTE),
    dict(name="close_range_empty", summary="close_range(9000, 9999, 0) over no open fd: 0",
         kernel=kernel(close_range_empty_loop),
         iteration=["close_range(9000, 9999, 0) -> 0"], ior_repeat=5),
    dict(name="close_untracked",
         summary="close 64 files, each number at once reused by pipe2's read end",
         kernel=kernel(close_untracked_loop, close_untracked_setup, close_untracked_teardown),
         needs_dir=True,
         setup=[_open(None, bind=None) + " x63"],
         iteration=[
             _open("closeuntracked-0.txt", bind="f0"),
             _write("f0", NAMED_BEFORE_CLOSE),
             "close(f0) -> 0",
             "pipe2(&fds, O_CLOEXEC) -> 0",
             _write("?", JUST_BEFORE_CLOSE, " x63"),
             "close(?) -> 0 x63",
             "pipe2(&fds, O_CLOEXEC) -> 0 x63",
             "close(?) -> 0 x64",
             "close(?) -> 0 x64",
             _open(None, bind=None) + " x63",
         ],
         teardown=["close(?) -> 0 x63"],
         notes="Per iteration: open closeuntracked-0.txt and write 18 bytes to it, then for "
               "each file i (\"<dir>/closeuntracked-<i>.txt\", i = 0..63): (i>0: a 25-byte "
               "write,) close, pipe2 right after (its read end takes the number just freed); "
               "then per i: close the pipe's read end (file i's number) and write end, and "
               "reopen files 1..63 (each lands on its number again), so every iteration starts "
               "like the first. File 0 is opened by the iteration itself, so its write and close "
               "name the fd that openat returned (f0), as ior's test expects them named. "
               "The x63/x64 events' "
               "paths and fds change from call to call, so they are written `?`; pipe2 returns "
               "its fds through the array. ior opens the 64 files before its tracer attaches; "
               "here setup opens them inside the counted window (tracers see those opens; ior "
               "mode runs ior's sequence, IOR_SCENARIOS below). Left "
               "out: ior's 500 ms pause before the closes (it gives ior's lazy procfs lookup "
               "time) and the newest version's FIFO stage (a helper thread blocked in a 256 KiB "
               "write). With two workers their closes and pipes interleave, so a read end may "
               "take the other worker's freed number; every result is the same."),
    dict(name="dup_basic", summary="dup(fd), write \"via dup\" through the copy",
         kernel=kernel(dup_basic_loop), needs_dir=True,
         iteration=_dup_write_close("dupfile.txt", "dup(fd) -> >=0", VIA_DUP)),
    dict(name="dup_dup2", summary="dup2(fd, 500), write \"via dup2\" through fd 500",
         kernel=kernel(dup_dup2_loop), needs_dir=True, requires=[legacy_syscall("dup2")],
         iteration=_dup_write_close("dup2file.txt",
                                    f"dup2(fd, ?) -> >={FIXED_FD_BASE + SLOT_DUP2}", VIA_DUP2),
         fixed_fds=_FIXED, notes=_BLOCK_NOTE),
    dict(name="dup_dup3", summary="dup3(fd, 501, O_CLOEXEC), write \"via dup3\" through fd 501",
         kernel=kernel(dup_dup3_loop), needs_dir=True,
         iteration=_dup_write_close("dup3file.txt",
                                    f"dup3(fd, ?, O_CLOEXEC) -> >={FIXED_FD_BASE + SLOT_DUP3}",
                                    VIA_DUP3),
         fixed_fds=_FIXED, notes=_BLOCK_NOTE),
    dict(name="dup_invalid_fd", summary="dup(99999): never open, -EBADF",
         kernel=kernel(dup_invalid_fd_loop),
         iteration=[f"dup({INVALID_FD}) -> -EBADF"]),
    dict(name="dup2_same_fd", summary="dup2(fd, fd): a no-op that returns fd",
         kernel=kernel(dup2_same_fd_loop), needs_dir=True, requires=[legacy_syscall("dup2")],
         iteration=[_open("dup2samefile.txt"), "dup2(fd, fd) -> >=0", _close("fd")],
         notes="dup2(fd, fd) returns fd itself; the manifest cannot name a per-run number, so >=0."),
    dict(name="dup3_invalid_flags", summary="dup3(fd, 502, 0xBAD): only O_CLOEXEC is allowed, -EINVAL",
         kernel=kernel(dup3_invalid_flags_loop), needs_dir=True,
         iteration=[_open("dup3flagsfile.txt"), f"dup3(fd, ?, {BAD_DUP3_FLAGS:#x}) -> -EINVAL",
                    _close("fd")], fixed_fds=_FIXED,
         notes="The target is the worker's block's third number (`?`). The flags are checked before the "
               "target number, so it is never touched. " + _BLOCK_NOTE),
    dict(name="fcntl_dupfd", summary="fcntl(fd, F_DUPFD, 0), write \"via fcntl\" through the copy",
         kernel=kernel(fcntl_dupfd_loop), needs_dir=True,
         iteration=_dup_write_close("fcntlfile.txt", "fcntl(fd, F_DUPFD, 0) -> >=0", VIA_FCNTL)),
    dict(name="fcntl_setfl", summary="F_GETFL, F_SETFL(flags|O_APPEND), then an appending write",
         kernel=kernel(fcntl_setfl_loop), needs_dir=True,
         iteration=[_open("fcntlsetflfile.txt"),
                    f"fcntl(fd, F_GETFL, 0) -> {O_RDWR | O_LARGEFILE}",
                    "fcntl(fd, F_SETFL, O_RDWR|O_LARGEFILE|O_APPEND) -> 0",
                    _write("fd", APPENDED), _close("fd")],
         notes="F_GETFL reports O_RDWR plus O_LARGEFILE, which the kernel sets on every open by a "
               "64-bit process (O_CREAT is not kept); F_SETFL passes that value with O_APPEND "
               "added. Each iteration appends, so the file grows by 24 bytes per iteration."),
    dict(name="fcntl_setfd", summary="clear FD_CLOEXEC with F_SETFD on an O_CLOEXEC fd, then write",
         kernel=kernel(fcntl_setfd_loop), needs_dir=True,
         iteration=[_open("fcntlsetfdfile.txt", "O_RDWR|O_CREAT|O_CLOEXEC"),
                    f"fcntl(fd, F_GETFD, 0) -> {FD_CLOEXEC}",
                    "fcntl(fd, F_SETFD, 0) -> 0",
                    _write("fd", AFTER_SETFD),
                    "fcntl(fd, F_GETFD, 0) -> 0",
                    _close("fd")]),
    dict(name="fcntl_dupfd_cloexec", summary="fcntl(fd, F_DUPFD_CLOEXEC, 0), write through the copy",
         kernel=kernel(fcntl_dupfd_cloexec_loop), needs_dir=True,
         iteration=_dup_write_close("fcntlcloexecfile.txt", "fcntl(fd, F_DUPFD_CLOEXEC, 0) -> >=0",
                                    VIA_FCNTL_CLOEXEC)),
    dict(name="fcntl_invalid_fd", summary="fcntl(99999, F_GETFL): never open, -EBADF",
         kernel=kernel(fcntl_invalid_fd_loop),
         iteration=[f"fcntl({INVALID_FD}, F_GETFL, 0) -> -EBADF"], ior_repeat=5),
    dict(name="fcntl_dupfd_max", summary="fcntl(fd, F_DUPFD, 1<<30): minimum above RLIMIT_NOFILE, -EINVAL",
         kernel=kernel(fcntl_dupfd_max_loop, fcntl_dupfd_max_setup, close_setup_fds), needs_dir=True,
         requires=[_rlimit_nofile_below_dupfd_min],
         setup=[_open("fcntldupfdmaxfile.txt")],
         iteration=[f"fcntl(fd, F_DUPFD, {DUPFD_MIN_TOO_HIGH:#x}) -> -EINVAL"],
         teardown=[_close("fd")], ior_repeat=5,
         notes="ior opens the file once and repeats only the failing fcntl (x5), so the open and "
               "close are setup and teardown here."),
    dict(name="ioctl_basic", summary="ioctl(fd, FIONREAD, &n) on a regular file: 0",
         kernel=kernel(ioctl_basic_loop), needs_dir=True,
         iteration=[_open("ioctlfile.txt"), "ioctl(fd, FIONREAD, &n) -> 0", _close("fd")],
         notes="FIONREAD on a regular file reports size minus position and succeeds (ior "
               "tolerates an error; here it is definite)."),
    dict(name="ioctl_cloexec", summary="ioctl FIOCLEX then FIONCLEX, F_GETFD and a write after each",
         kernel=kernel(ioctl_cloexec_loop), needs_dir=True,
         iteration=[_open("ioctlcloexecfile.txt"),
                    "ioctl(fd, FIOCLEX, 0) -> 0",
                    f"fcntl(fd, F_GETFD, 0) -> {FD_CLOEXEC}",
                    _write("fd", AFTER_FIOCLEX),
                    "ioctl(fd, FIONCLEX, 0) -> 0",
                    "fcntl(fd, F_GETFD, 0) -> 0",
                    _write("fd", AFTER_FIONCLEX),
                    _close("fd")]),
])

# ior mode runs these instead of the scenarios of the same name (ior_mode.scenario_for_ior).
_IOR_NOTE = ("ior mode's sequence: ior's lowest-free descriptors, one worker (the normal mode's "
             "scenario uses the worker's fixed block instead).")
IOR_SCENARIOS = scenarios("fd", [
    dict(name="close_range",
         summary="open closerangefile-0..2, close_range(first, last, 0) (ior's descriptors)",
         kernel=kernel(close_range_ior_loop), needs_dir=True,
         iteration=[_open(f"closerangefile-{i}.txt", bind=f"fd{i}") for i in range(RANGE_LEN)]
                   + ["close_range(fd0, fd2, 0) -> 0"],
         notes=_IOR_NOTE),
    dict(name="close_range_bounded",
         summary="open closerangelow-0..2 and closerangehigh.txt, close_range(low0, low2, 0), "
                 "write to high (ior's descriptors)",
         kernel=kernel(close_range_bounded_ior_loop), needs_dir=True,
         iteration=[_open(f"closerangelow-{k}.txt", bind=f"fd{k}") for k in range(RANGE_LEN)]
                   + [_open("closerangehigh.txt", bind="high"),
                      "close_range(fd0, fd2, 0) -> 0",
                      _write("high", STILL_OPEN),
                      _close("high")],
         notes=_IOR_NOTE),
    dict(name="close_range_cloexec",
         summary="open closerangecloexec-low-0..2 and -high.txt, close_range(low0, low2, "
                 "CLOSE_RANGE_CLOEXEC), write to all four, close them (ior's descriptors)",
         kernel=kernel(close_range_cloexec_ior_loop), needs_dir=True,
         iteration=[_open(f"closerangecloexec-low-{k}.txt", bind=f"fd{k}")
                    for k in range(RANGE_LEN)]
                   + [_open("closerangecloexec-high.txt", bind="high"),
                      "close_range(fd0, fd2, CLOSE_RANGE_CLOEXEC) -> 0"]
                   + [_write(f"fd{k}", CLOEXEC_LOW) for k in range(RANGE_LEN)]
                   + [_write("high", CLOEXEC_HIGH)]
                   + [_close(f"fd{k}") for k in range(RANGE_LEN)] + [_close("high")],
         notes=_IOR_NOTE + " ior's source for it is not public: the sequence follows its test, "
               "the payloads and the closes at the end are ours."),
    dict(name="close_double_close",
         summary="open doubleclosefile.txt, close it, close it again: -EBADF (ior's descriptor)",
         kernel=kernel(close_double_close_ior_loop), needs_dir=True,
         iteration=[_open("doubleclosefile.txt"), _close("fd"), _close("fd", "-EBADF")],
         notes=_IOR_NOTE),
])
for _sc in IOR_SCENARIOS:
    _sc.one_worker = True   # they close numbers another worker could hold

def _raw_thread_supported():
    if not IOW_HAVE_CLONE_THREAD:
        return "starting a raw thread (the FIFO writer) is only written for x86-64 and aarch64"
    return None


_WRITER_CLONE = ("clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|"
                 "CLONE_CHILD_CLEARTID, &scratch_end, NULL, &writer_alive, 0)")
_UNTRACKED_IOR = scenarios("fd", [
    dict(name="close_untracked",
         summary="64 files opened before the PID line, each closed and its number reused by pipe2",
         kernel=kernel(once_loop, close_untracked_ior_setup, NULL, open_untracked),
         needs_dir=True, once=True, requires=[_raw_thread_supported],
         setup=[_write("?", NAMED_BEFORE_CLOSE),
                "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=500000000}, NULL) -> 0",
                _write("?", JUST_BEFORE_CLOSE, " x63"),
                "close(?) -> 0 x64",
                "pipe2(&fds, O_CLOEXEC) -> 0 x64",
                f"{_WRITER_CLONE} -> >=1",
                f"helper: {_WRITER_CLONE} -> 0 exit-only",
                "helper: write(?, {262144 zero bytes}, 262144) -> 262144",
                "helper: exit(0) -> noreturn",
                "openat(AT_FDCWD, ?, O_RDONLY|O_CLOEXEC, 0) -> >=0",
                "pread64(?, &proc_buf, 63, 0) -> >=1 x1..",
                "close(?) -> 0",
                "close(?) -> 0",
                "pipe2(&fds, O_CLOEXEC) -> 0",
                "read(?, &drain, ?) -> >=1 x4.."],
         notes="ior's sequence: the prestart opens closeuntracked-0..63.txt (O_RDWR|O_CREAT, "
               "0644) before the PID line, so a tracer has seen none of those opens and must "
               "name each descriptor itself (/proc); file 0 gets a write, then ior's 500 ms "
               "pause, then each file is closed (after a write, but file 0) and pipe2's read "
               "end takes its number at once. The fds come from the prestart (hence ?); the "
               "pipes stay open until the process ends (exit_group closes them: no close of "
               "a pipe). Then ior's newest FIFO stage: the prestart also made "
               "closeuntracked-fifo and opened it twice (O_RDWR); a raw thread writes 256 KiB "
               "into it (4 pipe buffers: it blocks), the worker reads the thread's "
               "/proc/self/task/<tid>/syscall until it shows that write on the FIFO's fd (x1..; "
               "ior reopens the file each poll), closes that fd and lets pipe2 take its number, "
               "then drains the FIFO through the second fd (reads of up to 64 KiB, x4..: a read "
               "gets what the writer has put in so far), and the write returns 262144; the "
               "worker waits for the thread's exit on its alive word (no syscall). One worker: "
               "the numbers are the lowest free. Runs once."),
])
for _sc in _UNTRACKED_IOR:
    _sc.one_worker = True   # the closed numbers are the lowest free ones
IOR_SCENARIOS += _UNTRACKED_IOR
