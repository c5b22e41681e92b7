# Family 'threads': ior's threads, comm, fork and exit scenarios
# (../shared/reference/ior-ioworkload-catalog.md, 4.5). Threads are raw clones running C on a
# stack in the worker's scratch memory (iow_clone.h), forked children issue raw syscalls only:
# every call of every task is declared (helper:/child: events). Where ior lets Go start
# threads concurrently and linger, here each helper runs while its creator sleeps inside the
# clone (CLONE_VFORK): the creator waits without a syscall of its own, so counts are exact.

from libc.stdint cimport uint64_t
from libc.stdio cimport snprintf
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, iow_note_task, kernel,
    IOW_SCRATCH_BYTES,
)
from ioworkload.families._common cimport close_tracked
from ioworkload.families._clone cimport (
    IOW_HAVE_CLONE_THREAD, iow_clone_thread, iow_release_fence, CLONE_VM, CLONE_FS, CLONE_FILES,
    CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM, CLONE_CHILD_CLEARTID, CLONE_VFORK, iow_load_acquire,
    iow_store_release, iow_cpu_relax,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_write
        __NR_read
        __NR_pread64
        __NR_pwrite64
        __NR_pipe2
        __NR_dup3
        __NR_mknodat
        __NR_gettid
        __NR_getpid
        __NR_getppid
        __NR_prctl
        __NR_clock_nanosleep
        __NR_wait4
        __NR_tgkill
        __NR_rt_sigaction
        __NR_rt_sigprocmask
        __NR_exit
        __NR_exit_group
        __NR_futex
        IOW_NR_fork

cdef extern from "<linux/futex.h>" nogil:
    enum:
        FUTEX_WAIT
        FUTEX_WAKE

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDONLY
        O_WRONLY
        O_RDWR
        O_CREAT
        O_CLOEXEC

cdef extern from "<sys/stat.h>" nogil:
    enum:
        S_IFIFO

cdef extern from "<time.h>" nogil:
    enum:
        CLOCK_MONOTONIC
    struct timespec:
        long tv_sec
        long tv_nsec

cdef extern from "<signal.h>" nogil:
    enum:
        SIGKILL
        SIGUSR1
        SIG_UNBLOCK
        SIG_SETMASK

cdef extern from "<linux/prctl.h>" nogil:
    enum:
        PR_SET_NAME
        PR_SET_PDEATHSIG

cdef extern from *:
    """
    static inline void iow_threads_release_fence(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }

    /* The kernel's struct sigaction for rt_sigaction (not libc's: glibc's wrapper fills in
       its own restorer and a 128-byte mask), and a restorer that is the raw rt_sigreturn. */
    typedef struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        unsigned long mask;
    } iow_kernel_sigaction;
    #define IOW_SA_RESTORER 0x04000000
    #if defined(__x86_64__)
    #define IOW_HAVE_RESTORER 1
    __asm__(".text\\n.p2align 4\\niow_threads_restorer:\\n\\tmov $15, %eax\\n\\tsyscall\\n");
    #elif defined(__aarch64__)
    #define IOW_HAVE_RESTORER 1
    __asm__(".text\\n.p2align 4\\niow_threads_restorer:\\n\\tmov x8, #139\\n\\tsvc #0\\n");
    #else
    #define IOW_HAVE_RESTORER 0
    #endif
    #if IOW_HAVE_RESTORER
    void iow_threads_restorer(void) __asm__("iow_threads_restorer");
    #else
    static void iow_threads_restorer(void) {}
    #endif

    /* SIGUSR1's handler: no syscall, it only counts (the kernel's rt_sigreturn follows). */
    static volatile int iow_threads_signals_handled;
    static void iow_threads_on_signal(int sig) { (void)sig; iow_threads_signals_handled++; }

    /* One worker at a time installs, uses and restores the process-wide SIGUSR1 action, so
       each restores exactly what it found (a spin lock: no syscall). */
    static int iow_threads_signal_lock;
    static inline void iow_threads_signal_lock_take(void)
    {
        while (__atomic_exchange_n(&iow_threads_signal_lock, 1, __ATOMIC_ACQUIRE))
            iow_cpu_relax();
    }
    static inline void iow_threads_signal_lock_drop(void)
    {
        __atomic_store_n(&iow_threads_signal_lock, 0, __ATOMIC_RELEASE);
    }
    """
    void iow_threads_release_fence() nogil
    ctypedef struct iow_kernel_sigaction:
        void (*handler)(int) noexcept nogil
        unsigned long flags
        void (*restorer)() noexcept nogil
        unsigned long mask
    enum:
        IOW_SA_RESTORER
        IOW_HAVE_RESTORER
    void iow_threads_restorer() noexcept nogil
    void iow_threads_on_signal(int sig) noexcept nogil
    void iow_threads_signal_lock_take() nogil
    void iow_threads_signal_lock_drop() nogil

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import legacy_syscall

cdef enum:
    MODE = 0o644
    FIFO_MODE = 0o600
    SHORT_LIVED_THREADS = 40       # ior's threadCommThreads
    PREADS = 4                     # ior's threadCommPreads, lateRenameOps, renameInOpenOps
    LATE_RENAME_THREADS = 12       # ior's lateRenameThreads
    SIGNALS = 3                    # ior's noreturnSignals
    BURST = 15000                  # getppid calls per iteration (x100 = ior's 1,500,000)
    IOR_BURST = 1500000            # ior's getppid-burst: all in one go
    SIGSET_BYTES = 8               # the kernel's sigset_t
    SIBLING_STACK_OFFSET = 64 * 1024   # a second thread's stack, below the first one's
    # paths in w.path
    P_DATA = 0
    P_FIFO = 1
    P_OTHER = 2
    # the settle pauses (ior: 500 ms; see the scenarios' notes)
    RENAME_SETTLE_NS = 1000000
    OPEN_SETTLE_NS = 20000000

cdef const char *DATA = b"thread comm race"   # 16 bytes, ior's openThreadCommFile payload
cdef const char *ONE = b"\x01"
cdef const char *TWO = b"\x02"
cdef const char *X = b"x"

# A raw thread sharing everything a pthread shares; CLONE_CHILD_CLEARTID clears its alive word.
cdef unsigned long THREAD_FLAGS = (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND
                                   | CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID)

ctypedef struct ThreadsState:
    int fds[2]                # pipe2 output
    int fds2[2]               # getppid_burst's second pipe
    int thread_alive          # CLONE_CHILD_CLEARTID word of the helper thread
    int sibling_alive         # ... of its sibling (thread_comm_rename_in_open)
    int helper_done           # the helper's last call is done (thread_comm_rename_in_open)
    int helper_index          # which helper of the iteration runs (thread_comm_late_rename)
    int park_word             # futex: 1 releases a task a prestart parked (ior mode)
    long helper_tid           # its gettid()
    long pid
    int status
    unsigned char buf[16]
    char comm_path[64]        # /proc/self/task/<tid>/comm
    timespec settle
    iow_kernel_sigaction act
    iow_kernel_sigaction old_act
    unsigned long mask
    unsigned long old_mask


cdef inline ThreadsState *state(iow_worker *w) noexcept nogil:
    return <ThreadsState *>w.scratch


# The helper thread's stack ends at the top of the worker's scratch (page aligned), far above
# the state at its start; a sibling's stack ends 64 KiB below it. Frames need well under 1 KiB.
cdef inline void *helper_stack(iow_worker *w) noexcept nogil:
    return w.scratch + IOW_SCRATCH_BYTES


cdef inline void *sibling_stack(iow_worker *w) noexcept nogil:
    return w.scratch + IOW_SCRATCH_BYTES - SIBLING_STACK_OFFSET


cdef long run_helper(iow_worker *w, iow_tally *t, void (*body)(void *) noexcept nogil) noexcept nogil:
    """clone(THREAD_FLAGS|CLONE_VFORK) of a helper running body(w) (1 event in the caller):
    returns once the helper has exited (the kernel ends the vfork wait at its exit)."""
    cdef ThreadsState *st = state(w)
    cdef long tid
    iow_store_release(&st.thread_alive, 1)
    tid = iow_tally_ret(t, iow_clone_thread(THREAD_FLAGS | CLONE_VFORK, helper_stack(w),
                                            &st.thread_alive, body, w))
    iow_note_task(w, tid)
    if tid > 0:
        # Already cleared when the vfork wait ended; this only orders the helper's writes
        # before our reads.
        while iow_load_acquire(&st.thread_alive):
            iow_cpu_relax()
    return tid


cdef inline void thread_exit(iow_tally *t) noexcept nogil:
    """The helper's last event: the raw exit (tallied first: it does not return)."""
    iow_tally_ret(t, 0)
    iow_threads_release_fence()   # the tallies are visible before the alive word clears
    while True:
        iow_sys1(__NR_exit, 0)


cdef inline void process_exit(iow_tally *t) noexcept nogil:
    """A forked child's last event: the raw exit_group (tallied first)."""
    iow_tally_ret(t, 0)
    while True:
        iow_sys1(__NR_exit_group, 0)


cdef long open_data_file(iow_worker *w, iow_tally *t, int slot, const char *name) noexcept nogil:
    """ior's openThreadCommFile: openat(O_RDWR|O_CREAT, 0644), write the 16-byte payload
    (2 events); the fd stays open."""
    cdef long fd = iow_tally_ret(&t[0], iow_sys4(
        __NR_openat, AT_FDCWD, <long>iow_path(w, slot, name), O_RDWR | O_CREAT, MODE))
    if fd >= 0:
        iow_tally_ret(&t[1], iow_sys3(__NR_write, fd, <long>DATA, 16))
    return fd


cdef void preads(iow_worker *w, iow_tally *t, long fd) noexcept nogil:
    """PREADS x pread64(fd, buf, 8, 0), one event slot."""
    cdef int k
    for k in range(PREADS):
        iow_tally_ret(t, iow_sys4(__NR_pread64, fd, <long>state(w).buf, 8, 0))


cdef void pwrites(iow_tally *t, long fd) noexcept nogil:
    """PREADS x pwrite64(fd, "x", 1, 0), one event slot."""
    cdef int k
    for k in range(PREADS):
        iow_tally_ret(t, iow_sys4(__NR_pwrite64, fd, <long>X, 1, 0))


cdef void settle(iow_worker *w, iow_tally *t, long ns) noexcept nogil:
    """clock_nanosleep(CLOCK_MONOTONIC, 0, {0, ns}, NULL) (1 event)."""
    cdef timespec ts
    ts.tv_sec = 0
    ts.tv_nsec = ns
    iow_tally_ret(t, iow_sys4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0, <long>&ts, 0))


cdef void rename_self(iow_tally *t, const char *name) noexcept nogil:
    """prctl(PR_SET_NAME, name, 0, 0, 0) (1 event)."""
    iow_tally_ret(t, iow_sys5(__NR_prctl, PR_SET_NAME, <long>name, 0, 0, 0))


cdef void write_comm(iow_worker *w, iow_tally *t, long tid, const char *name, int length) noexcept nogil:
    """ior's writeThreadComm: openat(/proc/self/task/<tid>/comm, O_WRONLY|O_CLOEXEC), write
    the name, close (3 events)."""
    cdef ThreadsState *st = state(w)
    cdef long fd
    snprintf(st.comm_path, sizeof(st.comm_path), b"/proc/self/task/%ld/comm", tid)
    fd = iow_tally_ret(&t[0], iow_sys4(__NR_openat, AT_FDCWD, <long>st.comm_path,
                                       O_WRONLY | O_CLOEXEC, 0))
    if fd >= 0:
        iow_tally_ret(&t[1], iow_sys3(__NR_write, fd, <long>name, length))
        iow_tally_ret(&t[2], iow_sys1(__NR_close, fd))


cdef void close_pair(iow_tally *t, int *fds) noexcept nogil:
    """close(fds[1]), then close(fds[0]): Go's deferred closes, in reverse (2 events)."""
    cdef long fd
    fd = fds[1]
    close_tracked(&t[0], &fd)
    fd = fds[0]
    close_tracked(&t[1], &fd)
    fds[0] = fds[1] = -1


# ---- thread_exit_keeps_fd ----

cdef void gettid_and_exit(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    iow_tally_ret(&w.iter[3], 0)  # clone returned 0 here
    iow_tally_ret(&w.iter[4], iow_sys0(__NR_gettid))
    thread_exit(&w.iter[5])


cdef uint64_t thread_exit_keeps_fd_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef ThreadsState *st = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        st.fds[0] = st.fds[1] = -1
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_pipe2, <long>st.fds, O_CLOEXEC))
        iow_tally_ret(&w.iter[1], iow_sys3(__NR_write, st.fds[1], <long>ONE, 1))
        run_helper(w, &w.iter[2], gettid_and_exit)
        iow_tally_ret(&w.iter[6], iow_sys3(__NR_write, st.fds[1], <long>TWO, 1))
        close_pair(&w.iter[7], st.fds)
    return n


cdef uint64_t new_threads_each_iteration(iow_worker *w, uint64_t n, int threads,
                                         void (*body)(void *) noexcept nogil) noexcept nogil:
    """Each iteration, `threads` helpers one after the other, each running `body` (the clones'
    tally is iteration slot 0)."""
    cdef uint64_t i
    cdef int k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        for k in range(threads):
            run_helper(w, &w.iter[0], body)
    return n


# ---- thread_exit_tid_worker ----

cdef void pipe_write_once(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    cdef ThreadsState *st = state(w)
    iow_tally_ret(&w.iter[1], 0)  # clone returned 0 here
    st.fds[0] = st.fds[1] = -1
    iow_tally_ret(&w.iter[2], iow_sys2(__NR_pipe2, <long>st.fds, O_CLOEXEC))
    iow_tally_ret(&w.iter[3], iow_sys3(__NR_write, st.fds[1], <long>ONE, 1))
    close_pair(&w.iter[4], st.fds)
    thread_exit(&w.iter[6])


cdef uint64_t thread_exit_tid_worker_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return new_threads_each_iteration(w, n, 1, pipe_write_once)


# ior mode: ior's thread-exit-tid-worker. The prestart parks a raw thread (before the PID
# line, so ior can follow its tid); setup wakes it; it does the pipe I/O and exits while the
# worker waits on its alive word (no syscall), as ior's main thread waits for it to vanish.

cdef inline long futex_wait_park(ThreadsState *st) noexcept nogil:
    # Non-private: a forked child parks on the same shared word (getppid_burst's ior sequence).
    return iow_sys6(__NR_futex, <long>&st.park_word, FUTEX_WAIT, 0, 0, 0, 0)


cdef inline void wait_for_unpark(ThreadsState *st, iow_tally *t) noexcept nogil:
    """A parked thread's wait: its return after the release is its first event (t)."""
    cdef long woke = 0
    while not iow_load_acquire(&st.park_word):
        woke = futex_wait_park(st)   # only the last wait returns after the release
    iow_tally_ret(t, woke)


cdef void parked_pipe_write(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    cdef ThreadsState *st = state(w)
    wait_for_unpark(st, &w.setup[1])
    st.fds[0] = st.fds[1] = -1
    iow_tally_ret(&w.setup[2], iow_sys2(__NR_pipe2, <long>st.fds, O_CLOEXEC))
    iow_tally_ret(&w.setup[3], iow_sys3(__NR_write, st.fds[1], <long>ONE, 1))
    close_pair(&w.setup[4], st.fds)
    thread_exit(&w.setup[6])


cdef long park_thread(iow_worker *w, void (*body)(void *) noexcept nogil) noexcept nogil:
    """A prestart's raw thread running body(w), which starts with wait_for_unpark: its tid."""
    cdef ThreadsState *st = state(w)
    st.park_word = 0
    iow_store_release(&st.thread_alive, 1)
    cdef long tid = iow_clone_thread(THREAD_FLAGS, helper_stack(w), &st.thread_alive, body, w)
    if tid < 0:
        iow_store_release(&st.thread_alive, 0)
    return tid


cdef void unpark_and_wait(iow_worker *w, iow_tally *t) noexcept nogil:
    """Wake the parked thread (FUTEX_WAKE, 1 event) and wait, without a syscall, until it is
    gone."""
    cdef ThreadsState *st = state(w)
    iow_store_release(&st.park_word, 1)
    iow_tally_ret(t, iow_sys6(__NR_futex, <long>&st.park_word, FUTEX_WAKE, 1, 0, 0, 0))
    while iow_load_acquire(&st.thread_alive):   # the kernel clears it once the thread is gone
        iow_cpu_relax()


cdef long park_pipe_writer(iow_worker *w) noexcept nogil:
    return park_thread(w, parked_pipe_write)


cdef int unpark_pipe_writer(iow_worker *w) noexcept nogil:
    unpark_and_wait(w, &w.setup[0])
    return 0


cdef uint64_t nothing_more_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return n


# ---- thread_comm_short_lived, thread_comm_renamed ----

cdef int data_file_setup(iow_worker *w) noexcept nogil:
    w.fd[0] = open_data_file(w, &w.setup[0], P_DATA, b"data")
    return 0 if w.fd[0] >= 0 else <int>w.fd[0]


cdef void data_file_teardown(iow_worker *w) noexcept nogil:
    close_tracked(&w.teardown[0], &w.fd[0])


cdef void short_lived_body(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    iow_tally_ret(&w.iter[1], 0)  # clone returned 0 here
    iow_tally_ret(&w.iter[2], iow_sys0(__NR_gettid))
    preads(w, &w.iter[3], w.fd[0])
    thread_exit(&w.iter[4])


cdef uint64_t thread_comm_short_lived_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return new_threads_each_iteration(w, n, SHORT_LIVED_THREADS, short_lived_body)


cdef void renamed_body(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    iow_tally_ret(&w.iter[1], 0)  # clone returned 0 here
    iow_tally_ret(&w.iter[2], iow_sys0(__NR_gettid))
    rename_self(&w.iter[3], b"iorworker")
    iow_tally_ret(&w.iter[4], iow_sys4(__NR_pwrite64, w.fd[0], <long>X, 1, 0))  # the warm-up
    settle(w, &w.iter[5], RENAME_SETTLE_NS)
    preads(w, &w.iter[6], w.fd[0])
    thread_exit(&w.iter[7])


cdef uint64_t thread_comm_renamed_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return new_threads_each_iteration(w, n, SHORT_LIVED_THREADS, renamed_body)


# ---- thread_comm_late_rename ----
# Iteration slots: worker 0-4 (preads, settle, rename, pwrites, rename back), 5 the clones;
# helpers (the 12 renamed threads and the 4 siblings) 6-18.

cdef enum:
    LR_CLONE = 5
    LR_H_CLONED = 6       # clone's 0 in each new thread (the 12 and their 4 siblings)
    LR_H_GETTID = 7
    LR_H_PREADS = 8
    LR_H_SETTLE = 9
    LR_H_PRCTL = 10
    LR_H_OPEN = 11        # the comm file: by the wk-procself threads and the siblings
    LR_H_WRITE_SELF = 12
    LR_H_WRITE_SIBLING = 13
    LR_H_CLOSE = 14
    LR_H_CLONE = 15       # a wk-sibling thread starts its sibling
    LR_H_PWRITES = 16
    LR_H_EXIT = 17


cdef void late_rename_sibling(void *arg) noexcept nogil:
    # Renames the thread that started it (which sleeps in its clone meanwhile: CLONE_VFORK).
    cdef iow_worker *w = <iow_worker *>arg
    cdef ThreadsState *st = state(w)
    iow_tally_ret(&w.iter[LR_H_CLONED], 0)
    write_comm_sibling(w, st.helper_tid)
    thread_exit(&w.iter[LR_H_EXIT])


cdef void write_comm_sibling(iow_worker *w, long tid) noexcept nogil:
    """write_comm with the sibling's slots: its open and close share the procself ones."""
    cdef ThreadsState *st = state(w)
    cdef long fd
    snprintf(st.comm_path, sizeof(st.comm_path), b"/proc/self/task/%ld/comm", tid)
    fd = iow_tally_ret(&w.iter[LR_H_OPEN], iow_sys4(__NR_openat, AT_FDCWD, <long>st.comm_path,
                                                   O_WRONLY | O_CLOEXEC, 0))
    if fd >= 0:
        iow_tally_ret(&w.iter[LR_H_WRITE_SIBLING], iow_sys3(__NR_write, fd, <long><const char *>b"wk-sibling", 10))
        iow_tally_ret(&w.iter[LR_H_CLOSE], iow_sys1(__NR_close, fd))


cdef void late_rename_body(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    cdef ThreadsState *st = state(w)
    cdef int style = st.helper_index % 3
    cdef long fd
    cdef long sibling
    iow_tally_ret(&w.iter[LR_H_CLONED], 0)
    st.helper_tid = iow_tally_ret(&w.iter[LR_H_GETTID], iow_sys0(__NR_gettid))
    preads(w, &w.iter[LR_H_PREADS], w.fd[0])
    settle(w, &w.iter[LR_H_SETTLE], RENAME_SETTLE_NS)
    if style == 0:
        rename_self(&w.iter[LR_H_PRCTL], b"wk-prctl")
    elif style == 1:
        snprintf(st.comm_path, sizeof(st.comm_path), b"/proc/self/task/%ld/comm", st.helper_tid)
        fd = iow_tally_ret(&w.iter[LR_H_OPEN], iow_sys4(__NR_openat, AT_FDCWD, <long>st.comm_path,
                                                       O_WRONLY | O_CLOEXEC, 0))
        if fd >= 0:
            iow_tally_ret(&w.iter[LR_H_WRITE_SELF], iow_sys3(__NR_write, fd, <long><const char *>b"wk-procself", 11))
            iow_tally_ret(&w.iter[LR_H_CLOSE], iow_sys1(__NR_close, fd))
    else:
        # Another thread renames this one; it waits in the clone until that thread is gone.
        iow_store_release(&st.sibling_alive, 1)
        sibling = iow_tally_ret(&w.iter[LR_H_CLONE], iow_clone_thread(
            THREAD_FLAGS | CLONE_VFORK, sibling_stack(w), &st.sibling_alive, late_rename_sibling, w))
        iow_note_task(w, sibling)
        while sibling > 0 and iow_load_acquire(&st.sibling_alive):
            iow_cpu_relax()
    pwrites(&w.iter[LR_H_PWRITES], w.fd[0])
    thread_exit(&w.iter[LR_H_EXIT])


cdef uint64_t thread_comm_late_rename_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef ThreadsState *st = state(w)
    cdef uint64_t i
    cdef int k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        # the worker first, as ior's main thread
        preads(w, &w.iter[0], w.fd[0])
        settle(w, &w.iter[1], RENAME_SETTLE_NS)
        rename_self(&w.iter[2], b"main-renamed")
        pwrites(&w.iter[3], w.fd[0])
        rename_self(&w.iter[4], b"ioworkload")   # ours: each iteration starts from the old name
        for k in range(LATE_RENAME_THREADS):
            st.helper_index = k
            run_helper(w, &w.iter[LR_CLONE], late_rename_body)
    return n


# ---- thread_comm_rename_in_open ----

cdef int rename_in_open_setup(iow_worker *w) noexcept nogil:
    cdef long ret = iow_tally_ret(&w.setup[0], iow_sys4(
        __NR_mknodat, AT_FDCWD, <long>iow_path(w, P_FIFO, b"fifo"), S_IFIFO | FIFO_MODE, 0))
    if ret < 0:
        return <int>ret
    w.fd[0] = open_data_file(w, &w.setup[1], P_DATA, b"data")
    return 0 if w.fd[0] >= 0 else <int>w.fd[0]


cdef void rename_then_unblock(void *arg) noexcept nogil:
    # The sibling: renames the helper while it is (very likely) blocked in its open of the
    # FIFO's read end, then opens the write end, which lets that open return.
    cdef iow_worker *w = <iow_worker *>arg
    cdef ThreadsState *st = state(w)
    cdef long fd
    iow_tally_ret(&w.iter[8], 0)  # clone returned 0 here
    settle(w, &w.iter[9], OPEN_SETTLE_NS)
    write_comm(w, &w.iter[10], st.helper_tid, b"fifo-renamed", 12)
    fd = iow_tally_ret(&w.iter[13], iow_sys4(__NR_openat, AT_FDCWD, <long>w.path[P_FIFO], O_WRONLY, 0))
    # ior closes its write end once the helper is done
    while not iow_load_acquire(&st.helper_done):
        iow_cpu_relax()
    if fd >= 0:
        iow_tally_ret(&w.iter[14], iow_sys1(__NR_close, fd))
    thread_exit(&w.iter[15])


cdef void renamed_in_open_body(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    cdef ThreadsState *st = state(w)
    cdef long sibling, fifo
    iow_tally_ret(&w.iter[1], 0)  # clone returned 0 here
    st.helper_tid = iow_tally_ret(&w.iter[2], iow_sys0(__NR_gettid))
    iow_store_release(&st.helper_done, 0)
    iow_store_release(&st.sibling_alive, 1)
    sibling = iow_tally_ret(&w.iter[3], iow_clone_thread(
        THREAD_FLAGS, sibling_stack(w), &st.sibling_alive, rename_then_unblock, w))
    iow_note_task(w, sibling)
    fifo = iow_tally_ret(&w.iter[4], iow_sys4(__NR_openat, AT_FDCWD, <long>w.path[P_FIFO], O_RDONLY, 0))
    pwrites(&w.iter[5], w.fd[0])
    close_tracked(&w.iter[6], &fifo)
    iow_store_release(&st.helper_done, 1)
    # the sibling's stack is ours until it has exited (the kernel clears its alive word)
    while sibling > 0 and iow_load_acquire(&st.sibling_alive):
        iow_cpu_relax()
    thread_exit(&w.iter[7])


cdef uint64_t thread_comm_rename_in_open_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return new_threads_each_iteration(w, n, 1, renamed_in_open_body)


# ---- thread_comm_fdtable ----

cdef int fdtable_setup(iow_worker *w) noexcept nogil:
    w.fd[0] = open_data_file(w, &w.setup[0], P_DATA, b"fdtable-a.txt")
    if w.fd[0] < 0:
        return <int>w.fd[0]
    w.fd[1] = open_data_file(w, &w.setup[2], P_OTHER, b"fdtable-b.txt")
    return 0 if w.fd[1] >= 0 else <int>w.fd[1]


cdef void fdtable_teardown(iow_worker *w) noexcept nogil:
    close_tracked(&w.teardown[0], &w.fd[1])
    close_tracked(&w.teardown[1], &w.fd[0])


cdef void dup_b_onto_a(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    iow_tally_ret(&w.iter[1], 0)  # clone returned 0 here
    iow_tally_ret(&w.iter[2], iow_sys0(__NR_gettid))
    iow_tally_ret(&w.iter[3], iow_sys3(__NR_dup3, w.fd[1], w.fd[0], 0))
    thread_exit(&w.iter[4])


cdef uint64_t thread_comm_fdtable_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        run_helper(w, &w.iter[0], dup_b_onto_a)
        iow_tally_ret(&w.iter[5], iow_sys4(__NR_pread64, w.fd[0], <long>state(w).buf, 8, 0))
    return n


# ior mode: ior's thread-comm-fdtable runs the dup3 on a Go runtime thread that existed
# before ior attached. The prestart parks a raw thread before the PID line; after the files are
# open, setup wakes it, it dup3s b onto a and exits, and the worker preads a.

cdef void parked_dup_b_onto_a(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    wait_for_unpark(state(w), &w.setup[5])
    iow_tally_ret(&w.setup[6], iow_sys3(__NR_dup3, w.fd[1], w.fd[0], 0))
    thread_exit(&w.setup[7])


cdef long park_fdtable_thread(iow_worker *w) noexcept nogil:
    return park_thread(w, parked_dup_b_onto_a)


cdef int ior_fdtable_setup(iow_worker *w) noexcept nogil:
    cdef int rc = fdtable_setup(w)
    if rc == 0:
        unpark_and_wait(w, &w.setup[4])
        iow_tally_ret(&w.setup[8], iow_sys4(__NR_pread64, w.fd[0], <long>state(w).buf, 8, 0))
    return rc


# ---- fork_inherit_fds ----

cdef uint64_t fork_inherit_fds_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef ThreadsState *st = state(w)
    cdef uint64_t i
    cdef long pid
    for i in range(n):
        if iow_stop_requested(w):
            return i
        st.fds[0] = st.fds[1] = -1
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_pipe2, <long>st.fds, 0))
        iow_tally_ret(&w.iter[1], iow_sys3(__NR_write, st.fds[1], <long>ONE, 1))
        pid = iow_sys0(IOW_NR_fork)
        if pid == 0:
            # the child: a copy of this process that issues raw syscalls only
            iow_tally_ret(&w.iter[3], 0)
            iow_tally_ret(&w.iter[4], iow_sys3(__NR_read, st.fds[0], <long>st.buf, 1))
            process_exit(&w.iter[5])
        iow_tally_ret(&w.iter[2], pid)
        iow_note_task(w, pid)
        if pid > 0:
            iow_tally_ret(&w.iter[6], iow_sys4(__NR_wait4, pid, <long>&st.status, 0, 0))
        close_pair(&w.iter[7], st.fds)
    return n


# ---- getppid_burst ----
# One child for the whole run, forked in setup: each iteration the worker lets it go with one
# byte, it issues BURST getppid calls and answers with one byte; closing the start pipe at
# teardown ends it. w.fd: 0 start read end, 1 start write end, 2 done read end, 3 done write end.

cdef const char *GO = b"\x01"
cdef const char *STOP = b"\x00"


cdef void burst_child(iow_worker *w, long start_read, long start_write, long done_write) noexcept nogil:
    # The fds come as arguments: w is shared memory, where the parent is about to clear them.
    cdef unsigned char byte = 0
    cdef long got
    cdef int k
    iow_tally_ret(&w.setup[3], 0)  # fork returned 0 here
    # Ours: if the scenario process is killed, so is this child. Its start pipe's end would
    # not always end it: with --threads 2, when both workers made their pipes before either
    # forked, each child holds the other's write end, and both would wait forever.
    iow_tally_ret(&w.setup[4], iow_sys5(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
    close_tracked(&w.setup[5], &start_write)   # ior's child closes the parent's end
    while True:
        got = iow_sys3(__NR_read, start_read, <long>&byte, 1)
        if got != 1 or byte != GO[0]:
            break
        iow_tally_ret(&w.iter[1], got)
        for k in range(BURST):
            iow_tally_ret(&w.iter[2], iow_sys0(__NR_getppid))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_write, done_write, <long>GO, 1))
    iow_tally_ret(&w.teardown[1], got)
    process_exit(&w.teardown[2])


cdef int getppid_burst_setup(iow_worker *w) noexcept nogil:
    cdef ThreadsState *st = state(w)
    cdef long pid
    st.fds[0] = st.fds[1] = st.fds2[0] = st.fds2[1] = -1
    if iow_tally_ret(&w.setup[0], iow_sys2(__NR_pipe2, <long>st.fds, 0)) < 0:
        return -1
    w.fd[0], w.fd[1] = st.fds[0], st.fds[1]
    if iow_tally_ret(&w.setup[1], iow_sys2(__NR_pipe2, <long>st.fds2, 0)) < 0:
        return -1
    w.fd[2], w.fd[3] = st.fds2[0], st.fds2[1]
    pid = iow_sys0(IOW_NR_fork)
    if pid == 0:
        burst_child(w, st.fds[0], st.fds[1], st.fds2[1])
    iow_tally_ret(&w.setup[2], pid)
    iow_note_task(w, pid)
    if pid < 0:
        return <int>pid
    w.val[0] = pid
    close_tracked(&w.setup[6], &w.fd[0])   # the parent keeps the write end of "start"
    close_tracked(&w.setup[7], &w.fd[3])   # ... and the read end of "done"
    return 0


cdef uint64_t getppid_burst_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef ThreadsState *st = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_write, w.fd[1], <long>GO, 1))
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_read, w.fd[2], <long>st.buf, 1))
    return n


cdef void getppid_burst_teardown(iow_worker *w) noexcept nogil:
    # A stop byte, not the pipe's end: with --threads 2 the other worker's child holds a copy
    # of our write end (forked while it was open), so it would never read end-of-file.
    cdef ThreadsState *st = state(w)
    cdef int k
    if w.val[0] > 0:
        iow_tally_ret(&w.teardown[0], iow_sys3(__NR_write, w.fd[1], <long>STOP, 1))
        iow_tally_ret(&w.teardown[3], iow_sys4(__NR_wait4, w.val[0], <long>&st.status, 0, 0))
    for k in range(4):
        if w.fd[k] >= 0:
            close_tracked(&w.teardown[4 if k == 1 else 5], &w.fd[k])


# ior mode: ior's getppid-burst (newest). The prestart forks the child before the PID line,
# parked in read on the start pipe; setup writes the byte and closes the pipe, the child
# issues all 1,500,000 getppid and exits, the worker reaps it.

cdef void parked_burst_child(iow_worker *w, long start_read, long start_write) noexcept nogil:
    cdef unsigned char byte = 0
    cdef long got
    cdef int k
    # Before the release (outside the run): no orphan if the scenario process is killed;
    # ior's child closes the parent's end.
    iow_sys5(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    iow_sys1(__NR_close, start_write)
    got = iow_sys3(__NR_read, start_read, <long>&byte, 1)
    if got == 1:
        iow_tally_ret(&w.setup[2], got)
        for k in range(IOR_BURST):
            iow_tally_ret(&w.setup[3], iow_sys0(__NR_getppid))
        process_exit(&w.setup[4])
    while True:   # the pipe's end without a byte: the run never started
        iow_sys1(__NR_exit_group, 0)


cdef long park_burst_child(iow_worker *w) noexcept nogil:
    cdef ThreadsState *st = state(w)
    cdef long pid
    st.fds[0] = st.fds[1] = -1
    pid = iow_sys2(__NR_pipe2, <long>st.fds, 0)
    if pid < 0:
        return pid
    pid = iow_sys0(IOW_NR_fork)
    if pid == 0:
        parked_burst_child(w, st.fds[0], st.fds[1])
    iow_sys1(__NR_close, st.fds[0])   # ior's parent keeps the write end only
    w.fd[0] = -1
    if pid < 0:
        iow_sys1(__NR_close, st.fds[1])
        return pid
    w.fd[1] = st.fds[1]
    w.val[0] = pid
    return pid


cdef int release_burst_child(iow_worker *w) noexcept nogil:
    cdef ThreadsState *st = state(w)
    iow_tally_ret(&w.setup[0], iow_sys3(__NR_write, w.fd[1], <long>GO, 1))
    close_tracked(&w.setup[1], &w.fd[1])
    iow_tally_ret(&w.setup[5], iow_sys4(__NR_wait4, w.val[0], <long>&st.status, 0, 0))
    return 0


# ---- noreturn_syscalls ----

cdef int noreturn_setup(iow_worker *w) noexcept nogil:
    state(w).pid = iow_tally_ret(&w.setup[0], iow_sys0(__NR_getpid))
    return 0 if state(w).pid > 0 else <int>state(w).pid


cdef void noreturn_thread(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    iow_tally_ret(&w.iter[7], 0)  # clone returned 0 here
    iow_tally_ret(&w.iter[8], iow_sys0(__NR_gettid))
    thread_exit(&w.iter[9])


cdef uint64_t noreturn_syscalls_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef ThreadsState *st = state(w)
    cdef uint64_t i
    cdef int k
    st.act.handler = iow_threads_on_signal
    st.act.flags = IOW_SA_RESTORER
    st.act.restorer = iow_threads_restorer
    st.act.mask = 0
    st.mask = 1UL << (SIGUSR1 - 1)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_threads_signal_lock_take()
        if iow_tally_ret(&w.iter[0], iow_sys4(__NR_rt_sigaction, SIGUSR1, <long>&st.act,
                                              <long>&st.old_act, SIGSET_BYTES)) == 0:
            iow_tally_ret(&w.iter[1], iow_sys4(__NR_rt_sigprocmask, SIG_UNBLOCK, <long>&st.mask,
                                               <long>&st.old_mask, SIGSET_BYTES))
            for k in range(SIGNALS):
                # delivered on the way out of tgkill: the handler runs, then rt_sigreturn
                # resumes here (tallied with the register it restores: tgkill's 0)
                iow_tally_ret(&w.iter[2], iow_sys3(__NR_tgkill, st.pid, w.tid, SIGUSR1))
                iow_tally_ret(&w.iter[3], 0)
            iow_tally_ret(&w.iter[4], iow_sys4(__NR_rt_sigprocmask, SIG_SETMASK,
                                               <long>&st.old_mask, 0, SIGSET_BYTES))
            iow_tally_ret(&w.iter[5], iow_sys4(__NR_rt_sigaction, SIGUSR1, <long>&st.old_act,
                                               0, SIGSET_BYTES))
        iow_threads_signal_lock_drop()
        run_helper(w, &w.iter[6], noreturn_thread)
    return n


def _clone_thread_supported():
    if not IOW_HAVE_CLONE_THREAD:
        return "starting a raw helper thread is only written for x86-64 and aarch64"
    return None


def _signal_restorer_supported():
    if not IOW_HAVE_RESTORER:
        return "the raw rt_sigreturn restorer is only written for x86-64 and aarch64"
    return None


_THREADS = [_clone_thread_supported]
_FLAGS = "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM"
# run_helper's call: the stack top (end of the worker's scratch), no parent tid pointer, the
# CLONE_CHILD_CLEARTID word, tls 0.
_CLONE = f"clone({_FLAGS}|CLONE_VFORK|CLONE_CHILD_CLEARTID, &scratch_end, NULL, &thread_alive, 0)"
_SIBLING_CLONE_VFORK = (f"clone({_FLAGS}|CLONE_VFORK|CLONE_CHILD_CLEARTID, &sibling_stack, NULL, "
                        "&sibling_alive, 0)")
_SIBLING_CLONE = f"clone({_FLAGS}|CLONE_CHILD_CLEARTID, &sibling_stack, NULL, &sibling_alive, 0)"
_EXIT = "helper: exit(0) -> noreturn"


def _thread(events, times=1):
    """A helper thread's events (each xtimes per iteration), framed by its clone's 0 and exit."""
    x = f" x{times}" if times != 1 else ""
    return ([f"{_CLONE} -> >=1{x}", f"helper: {_CLONE} -> 0 exit-only{x}"]
            + [f"helper: {e}" for e in events] + [_EXIT + x])


def _data_file(name, bind="fd"):
    """open_data_file(): ior's openThreadCommFile."""
    return [f'{bind} = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT, 0644) -> >=0',
            f'write({bind}, "thread comm race", 16) -> 16']


_PREADS = "pread64(?, &buf, 8, 0) -> 8"
_PWRITES = 'pwrite64(?, "x", 1, 0) -> 1'
_SETTLE = "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=1000000}, NULL) -> 0"
_COMM_OPEN = "openat(AT_FDCWD, ?, O_WRONLY|O_CLOEXEC, 0) -> >=0"
_ONE_BYTE = '"\\x01"'

SCENARIOS = scenarios("threads", [
    dict(name="thread_exit_keeps_fd",
         summary="pipe2, write, a helper thread exits, write to the same pipe again, close both",
         kernel=kernel(thread_exit_keeps_fd_loop), requires=_THREADS,
         iteration=["pipe2(&fds, O_CLOEXEC) -> 0", f"write(?, {_ONE_BYTE}, 1) -> 1"]
             + _thread(["gettid() -> >=1"])
             + ['write(?, "\\x02", 1) -> 1', "close(?) -> 0", "close(?) -> 0"],
         notes="The helper is a raw clone on a stack at the end of the worker's scratch memory "
               "(&scratch_end) that calls gettid and exits, while the process goes on. ior "
               "lets a Go-locked thread exit and polls newfstatat(/proc/self/task/<tid>) every "
               "5 ms until it is gone; here the worker sleeps inside its clone (CLONE_VFORK) "
               "until the helper has exited, with no call of its own. The second write goes to "
               "the same pipe: a tracer must still name it as the first (ior: the tracked "
               "pipe name, never procfs's pipe:[ino]). The closes are Go's deferred ones: the "
               "write end, then the read end."),
    dict(name="thread_exit_tid_worker",
         summary="a helper thread does pipe2, write, close x2 and exits; the process goes on",
         kernel=kernel(thread_exit_tid_worker_loop), requires=_THREADS,
         iteration=_thread(["pipe2(&fds, O_CLOEXEC) -> 0", f"write(?, {_ONE_BYTE}, 1) -> 1",
                            "close(?) -> 0", "close(?) -> 0"]),
         notes="ior parks the worker thread before its PID line and publishes its tid "
               "(IOR_WORKLOAD_TID_FILE) for `ior -tid`, which ior mode does too (IOR_SCENARIOS "
               "below); here the helper is created in each "
               "iteration (the expect file's result lists its tids) and the process ends from "
               "its main thread after the helper has gone, as in ior. ior waits for the "
               "thread's /proc entry to vanish; the worker here sleeps inside its clone "
               "(CLONE_VFORK) until the helper has exited."),
    dict(name="thread_comm_short_lived",
         summary="40 brand-new threads each issue 4 pread64 on one file and exit at once",
         kernel=kernel(thread_comm_short_lived_loop, data_file_setup, data_file_teardown),
         needs_dir=True, requires=_THREADS,
         setup=_data_file("data"),
         iteration=_thread(["gettid() -> >=1 x40", f"{_PREADS} x160"], 40),
         teardown=["close(fd) -> 0"],
         notes="Each thread inherits the comm `ioworkload` (a tracer must name its rows from "
               "the task_newtask record: it exits before a /proc lookup could answer). ior's "
               "40 goroutine threads run at once and linger 1 s for ior's lazy lookups; here "
               "they run one after the other (the worker sleeps inside each clone, "
               "CLONE_VFORK, until that thread has exited) and do not linger. Each thread's "
               "gettid is ior's fresh-thread check."),
    dict(name="thread_comm_renamed",
         summary="40 new threads rename themselves (prctl \"iorworker\"), pwrite64, pread64 x4",
         kernel=kernel(thread_comm_renamed_loop, data_file_setup, data_file_teardown),
         needs_dir=True, requires=_THREADS,
         setup=_data_file("data"),
         iteration=_thread(["gettid() -> >=1 x40",
                            'prctl(PR_SET_NAME, "iorworker", 0, 0, 0) -> 0 x40',
                            f"{_PWRITES} x40", f"{_SETTLE} x40", f"{_PREADS} x160"], 40),
         teardown=["close(fd) -> 0"],
         notes="Every row of each thread, the warm-up pwrite64 included, carries the new name "
               "iorworker (the task_rename record). ior's threads run at once and sleep 500 ms "
               "between the warm-up and the reads; here they run one after the other "
               "(CLONE_VFORK) and pause 1 ms (clock_nanosleep), so 100 iterations take seconds, "
               "not minutes. ior's own comment: the pause is no longer needed for this "
               "scenario since the rename is reported by task_rename."),
    dict(name="thread_comm_late_rename",
         summary="the worker and 12 threads each pread64 x4, rename (3 ways), pwrite64 x4",
         kernel=kernel(thread_comm_late_rename_loop, data_file_setup, data_file_teardown),
         needs_dir=True, requires=_THREADS,
         setup=_data_file("data"),
         iteration=[f"{_PREADS} x4", _SETTLE, 'prctl(PR_SET_NAME, "main-renamed", 0, 0, 0) -> 0',
                    f"{_PWRITES} x4", 'prctl(PR_SET_NAME, "ioworkload", 0, 0, 0) -> 0',
                    f"{_CLONE} -> >=1 x12",
                    f"helper: {_CLONE} -> 0 exit-only x16",
                    "helper: gettid() -> >=1 x12",
                    f"helper: {_PREADS} x48",
                    f"helper: {_SETTLE} x12",
                    'helper: prctl(PR_SET_NAME, "wk-prctl", 0, 0, 0) -> 0 x4',
                    f"helper: {_COMM_OPEN} x8",
                    'helper: write(?, "wk-procself", 11) -> 11 x4',
                    'helper: write(?, "wk-sibling", 10) -> 10 x4',
                    "helper: close(?) -> 0 x8",
                    f"helper: {_SIBLING_CLONE_VFORK} -> >=1 x4",
                    f"helper: {_PWRITES} x48",
                    _EXIT + " x16"],
         teardown=["close(fd) -> 0"],
         notes="The worker plays ior's main thread: 4 pread64 under `ioworkload`, a pause, "
               "prctl(PR_SET_NAME, \"main-renamed\"), 4 pwrite64 under the new name; then it "
               "takes its old name back (ours, so each iteration starts from it). Then 12 new "
               "threads in turn (thread k uses style k mod 3): 4 pread64, a pause, a rename, 4 "
               "pwrite64. wk-prctl: prctl on itself; wk-procself: writes "
               "/proc/self/task/<own tid>/comm; wk-sibling: a sibling thread it starts "
               "(it sleeps in the clone meanwhile: CLONE_VFORK) writes "
               "/proc/self/task/<its tid>/comm and exits. The comm path holds a tid, hence ? "
               "(8 such opens: 4 wk-procself, 4 siblings). helper: events pool the 12 threads "
               "and the 4 siblings (16 clone returns and exits). ior pauses 500 ms with its "
               "threads running at once and renames by a long-lived renamer goroutine; here "
               "the pause is 1 ms and the threads run one after the other."),
    dict(name="thread_comm_rename_in_open",
         summary="a thread blocked opening a FIFO is renamed by a sibling, which then unblocks it",
         kernel=kernel(thread_comm_rename_in_open_loop, rename_in_open_setup, data_file_teardown),
         needs_dir=True, requires=_THREADS,
         setup=['mknodat(AT_FDCWD, "<dir>/fifo", S_IFIFO|0600, 0) -> 0'] + _data_file("data"),
         iteration=[f"{_CLONE} -> >=1",
                    f"helper: {_CLONE} -> 0 exit-only",
                    "helper: gettid() -> >=1",
                    f"helper: {_SIBLING_CLONE} -> >=1",
                    'helper: fifo = openat(AT_FDCWD, "<dir>/fifo", O_RDONLY, 0) -> >=0',
                    f"helper: {_PWRITES} x4",
                    "helper: close(fifo) -> 0",
                    _EXIT,
                    f"helper: {_SIBLING_CLONE} -> 0 exit-only",
                    "helper: clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=20000000}, "
                    "NULL) -> 0",
                    f"helper: {_COMM_OPEN}",
                    'helper: write(?, "fifo-renamed", 12) -> 12',
                    "helper: close(?) -> 0",
                    'helper: openat(AT_FDCWD, "<dir>/fifo", O_WRONLY, 0) -> >=0',
                    "helper: close(?) -> 0",
                    _EXIT],
         teardown=["close(fd) -> 0"],
         notes="The helper thread starts a sibling and blocks in openat of the FIFO's read end "
               "(comm `ioworkload` at its sys_enter); the sibling pauses, writes "
               "/proc/self/task/<helper tid>/comm = fifo-renamed (the path holds a tid, hence "
               "?), then opens the write end, which lets the helper's openat return under the "
               "new name; the helper's 4 pwrite64 and its close carry it too. The sibling "
               "closes its end once the helper is done, and the helper exits only after the "
               "sibling has (both wait on memory, no syscall). ior pauses 500 ms before the "
               "rename; here 20 ms, which a loaded machine may not cover (the counts stay "
               "exact, only the rename may then land before the openat's entry)."),
    dict(name="thread_comm_fdtable",
         summary="a second thread dup3s fd b onto fd a; the worker then preads a (b's file)",
         kernel=kernel(thread_comm_fdtable_loop, fdtable_setup, fdtable_teardown),
         needs_dir=True, requires=_THREADS,
         setup=_data_file("fdtable-a.txt", "a") + _data_file("fdtable-b.txt", "b"),
         iteration=_thread(["gettid() -> >=1", "dup3(?, ?, 0) -> >=0"])
             + ["pread64(a, &buf, 8, 0) -> 8"],
         teardown=["close(b) -> 0", "close(a) -> 0"],
         notes="The dup3 on another thread changes the process's fd table: the worker's "
               "pread64 of a's number reads fdtable-b.txt. ior runs the dup3 on a Go thread "
               "that existed before ior attached (no task_newtask record, no cached comm); "
               "ior has no prestart hook for it, so here it is a new raw thread. The "
               "dup3 arguments are the helper's view of b and a (hence ?); it returns a."),
    dict(name="fork_inherit_fds",
         summary="pipe2, write a byte, fork: the child reads it from the inherited read end",
         kernel=kernel(fork_inherit_fds_loop), requires=[legacy_syscall("fork")],
         iteration=["pipe2(&fds, 0) -> 0", f"write(?, {_ONE_BYTE}, 1) -> 1",
                    "pid = fork() -> >=1",
                    "child: fork() -> 0 exit-only",
                    "child: read(?, &buf, 1) -> 1",
                    "child: exit_group(0) -> noreturn",
                    "wait4(pid, &status, 0, NULL) -> >=1",
                    "close(?) -> 0", "close(?) -> 0"],
         notes="As ior: the raw fork syscall; the child (raw syscalls only) reads the byte "
               "from its inherited copy of the read end and ends with exit_group(0); the "
               "parent reaps it with wait4 and closes the write end, then the read end (Go's "
               "deferred closes). ior also writes the child's pid to "
               "IOR_WORKLOAD_CHILD_PID_FILE; here the expect file's result lists it, and in ior "
               "mode the command writes that file after the run when it is set."),
    dict(name="getppid_burst",
         summary="a forked child issues 15,000 getppid per iteration (x100 = ior's 1,500,000)",
         kernel=kernel(getppid_burst_loop, getppid_burst_setup, getppid_burst_teardown),
         requires=[legacy_syscall("fork")], ior_repeat=100,
         setup=["pipe2(&start, 0) -> 0", "pipe2(&done, 0) -> 0",
                "pid = fork() -> >=1",
                "child: fork() -> 0 exit-only",
                "child: prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) -> 0",
                "child: close(?) -> 0",
                "close(?) -> 0", "close(?) -> 0"],
         iteration=[f"write(?, {_ONE_BYTE}, 1) -> 1",
                    "child: read(?, &buf, 1) -> 1",
                    "child: getppid() -> >=1 x15000",
                    f"child: write(?, {_ONE_BYTE}, 1) -> 1",
                    "read(?, &buf, 1) -> 1"],
         teardown=['write(?, "\\x00", 1) -> 1',
                   "child: read(?, &buf, 1) -> 1",
                   "child: exit_group(0) -> noreturn",
                   "wait4(pid, &status, 0, NULL) -> >=1",
                   "close(?) -> 0", "close(?) -> 0"],
         notes="One single-threaded child for the whole run, as ior's newest version: forked "
               "in setup (raw fork), it asks for SIGKILL when its parent dies (ours: no "
               "orphan if the scenario process is killed), closes the parent's end of the "
               "start pipe and waits in read. Each iteration the worker writes one byte to the start pipe, the child "
               "issues 15,000 getppid and answers on the done pipe, which the worker reads "
               "(so the timed loop covers the burst). At teardown a zero byte tells it to end "
               "(exit_group) and the worker reaps it. ior's harness run (ior_repeat 100) is "
               "ior's 1,500,000 getppid in one child: a tracer following the child's pid must "
               "account for 3,000,000 enter/exit records. ior forks before its PID line and "
               "publishes the child's pid (IOR_WORKLOAD_CHILD_PID_FILE), as ior mode does "
               "(IOR_SCENARIOS below); here the child is "
               "forked after the release and the expect file's result lists its pid."),
    dict(name="noreturn_syscalls",
         summary="SIGUSR1 to itself x3 (handler, rt_sigreturn), a thread's exit; exit_group last",
         kernel=kernel(noreturn_syscalls_loop, noreturn_setup),
         requires=_THREADS + [_signal_restorer_supported],
         setup=["getpid() -> >=1"],
         iteration=["rt_sigaction(SIGUSR1, {handler, SA_RESTORER, restorer, mask 0}, &old, 8) -> 0",
                    "rt_sigprocmask(SIG_UNBLOCK, [SIGUSR1], &old_mask, 8) -> 0",
                    "tgkill(?, ?, SIGUSR1) -> 0 x3",
                    "rt_sigreturn() -> 0 x3",
                    "rt_sigprocmask(SIG_SETMASK, &old_mask, NULL, 8) -> 0",
                    "rt_sigaction(SIGUSR1, &old, NULL, 8) -> 0"]
             + _thread(["gettid() -> >=1"]),
         notes="tgkill(pid, own tid, SIGUSR1) with SIGUSR1 unblocked: the signal is delivered "
               "on the way out of tgkill, the handler (no syscall) returns through the raw "
               "restorer, and rt_sigreturn resumes the interrupted code: the kernel's "
               "syscalls:sys_exit_rt_sigreturn never fires (the restored context is no "
               "syscall; raw_syscalls:sys_exit reports id -1), and its result is the register "
               "it restores, tgkill's 0, which strace prints (ior reports a row at enter, "
               "ret 0). exit: a helper thread's raw exit. "
               "exit_group: the runner's own end of a spawned process (its main thread, tid == "
               "pid; in ioworkload.run() the workers are threads and end with exit). ior "
               "installs its handler once through Go's signal.Notify and waits for each "
               "signal on a channel (>= 3 rt_sigreturn, the runtime may add more); here each "
               "iteration installs the handler, unblocks SIGUSR1 (workers keep every signal "
               "blocked), raises it 3 times and restores the mask and the old action; "
               "workers take turns (a spin lock) so each restores what it found."),
])

# ior mode's own sequences (ior_mode.py): ior's prestart hooks park a task before the PID line.
_PARKED = "futex(&park_word, FUTEX_WAIT, 0, NULL, NULL, 0) -> 0 exit-only"
_UNPARK = "futex(&park_word, FUTEX_WAKE, 1, NULL, NULL, 0) -> 1"

IOR_SCENARIOS = scenarios("threads", [
    dict(name="thread_comm_fdtable",
         summary="a thread parked before the PID line dup3s fd b onto fd a; the worker preads a",
         kernel=kernel(nothing_more_loop, ior_fdtable_setup, fdtable_teardown,
                       park_fdtable_thread),
         needs_dir=True, requires=_THREADS, prestart_task="helper", prestart_required=False,
         once=True,
         setup=_data_file("fdtable-a.txt", "a") + _data_file("fdtable-b.txt", "b") + [
             _UNPARK, f"helper: {_PARKED}", "helper: dup3(?, ?, 0) -> >=0", _EXIT,
             "pread64(a, &buf, 8, 0) -> 8"],
         teardown=["close(b) -> 0", "close(a) -> 0"],
         notes="ior's sequence: the dup3 runs on a thread that existed before the tracer "
               "attached (ior: a Go runtime thread, no task_newtask record, no cached comm). "
               "The prestart starts a raw thread before the PID line that sleeps in a futex "
               "wait on park_word (its clone and that wait are not part of the run); its tid "
               "names the helper task in the expect file (and goes to IOR_WORKLOAD_TID_FILE "
               "when set; ior's harness sets none here). After the two files are open the "
               "worker wakes it, it dup3s b onto a and exits while the worker waits on its "
               "alive word (no syscall), then the worker's pread64 of a reads fdtable-b.txt. "
               "Iterations add nothing: ior's scenario runs once."),
    dict(name="thread_exit_tid_worker",
         summary="a thread parked before the PID line does pipe2, write, close x2 and exits",
         kernel=kernel(nothing_more_loop, unpark_pipe_writer, NULL, park_pipe_writer),
         requires=_THREADS, prestart_task="helper", once=True,
         setup=[_UNPARK, f"helper: {_PARKED}", "helper: pipe2(&fds, O_CLOEXEC) -> 0",
                f"helper: write(?, {_ONE_BYTE}, 1) -> 1", "helper: close(?) -> 0",
                "helper: close(?) -> 0", _EXIT],
         notes="ior's sequence: the prestart starts a raw thread before the PID line, which "
               "sleeps in a futex wait on park_word (its clone and that wait are before the "
               "release: not part of the run); its tid goes to IOR_WORKLOAD_TID_FILE "
               "(required) and names the helper task in the expect file. The worker wakes it "
               "(setup), it does the pipe I/O and exits, and the worker waits for its alive "
               "word to clear (no syscall; ior polls /proc/self/task/<tid>). Iterations add "
               "nothing: ior's scenario runs once."),
    dict(name="getppid_burst",
         summary="a child forked before the PID line issues ior's 1,500,000 getppid and exits",
         kernel=kernel(nothing_more_loop, release_burst_child, NULL, park_burst_child),
         requires=[legacy_syscall("fork")], prestart_task="child", once=True,
         setup=[f"write(?, {_ONE_BYTE}, 1) -> 1", "close(?) -> 0",
                "child: read(?, &buf, 1) -> 1 exit-only",
                f"child: getppid() -> >=1 x{IOR_BURST}",
                "child: exit_group(0) -> noreturn",
                "wait4(?, &status, 0, NULL) -> >=1"],
         notes="ior's newest sequence: the prestart makes the start pipe and forks (raw fork) "
               "before the PID line; the child (raw syscalls only) asks for SIGKILL should "
               "the scenario process die (ours), closes the write end and sleeps in read; the "
               "parent closes the read end and its pid goes to IOR_WORKLOAD_CHILD_PID_FILE "
               "(required). Setup writes the byte and closes the pipe; the child's read "
               "returns (entered before the release: exit-only), it issues 1,500,000 getppid "
               "and exit_group(0), and the worker reaps it: `ior -pid <child>` accounts for "
               "3,000,001 records. Iterations add nothing: ior's scenario runs once."),
])
