# Family 'signals': ior's signal and restart scenarios (../shared/reference/ior-ioworkload-catalog.md,
# 4.7): signals sent to ourselves, syscalls interrupted by a handled signal or by SIGSTOP/SIGCONT,
# and the kernel's restart of them (-ERESTARTSYS, -ERESTART_RESTARTBLOCK, restart_syscall,
# rt_sigreturn).
#
# Determinism: a signal (or SIGSTOP) is sent only once the target is blocked in the intended
# syscall, as /proc/.../syscall shows it (its number, and for reads the fd); that polling is the
# one event with a count range (x1..). Handled signals go to the worker thread with tgkill from a
# raw-clone helper thread; SIGSTOP/SIGCONT stop a whole thread group, so the task stopped is a
# child process of the worker (raw clone), never the workers' own process. ior mode
# (IOR_SCENARIOS, one worker, the process the command spawns) follows ior instead: the worker is
# stopped, by a forked child.

from libc.stdint cimport uint64_t
from libc.string cimport memset
from ioworkload.families._clone cimport (
    IOW_HAVE_CLONE_THREAD, iow_clone_thread, iow_release_fence, CLONE_VM, CLONE_FS, CLONE_FILES,
    CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM, CLONE_CHILD_CLEARTID, CLONE_VFORK, iow_load_acquire,
    iow_store_release, iow_cpu_relax,
)
from libc.stdint cimport int64_t
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5,
    iow_tally_ret, iow_stop_requested, iow_note_task, kernel, IOW_SCRATCH_BYTES, iow_now_ns,
    iow_wait_give_up, iow_wait_over, IOW_WAIT_BOUND_NS, IOW_WAIT_GONE, IOW_WAIT_TIMEOUT,
    IOW_WAIT_LATE,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_getpid
        __NR_gettid
        __NR_rt_sigaction
        __NR_rt_sigprocmask
        __NR_sigaltstack
        __NR_kill
        __NR_tgkill
        __NR_tkill
        __NR_rt_sigqueueinfo
        __NR_rt_sigpending
        __NR_rt_sigtimedwait
        __NR_restart_syscall
        __NR_openat
        __NR_pread64
        __NR_read
        __NR_write
        __NR_close
        __NR_pipe2
        __NR_dup3
        __NR_clock_nanosleep
        __NR_nanosleep
        __NR_clone
        __NR_exit
        __NR_exit_group
        __NR_wait4
        __NR_prctl
        __NR_getppid

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDONLY
        O_CLOEXEC

cdef extern from "<time.h>" nogil:
    enum:
        CLOCK_MONOTONIC
    struct timespec:
        long tv_sec
        long tv_nsec

cdef extern from "<signal.h>" nogil:
    enum:
        SIGCHLD
        SIGKILL
        SIGUSR1
        SIGUSR2
        SIGSTOP
        SIGCONT
        SIG_BLOCK
        SIG_UNBLOCK
        SIG_SETMASK
        SA_SIGINFO
        SA_RESTART
        SS_DISABLE
        SI_QUEUE

cdef extern from "<sys/wait.h>" nogil:
    enum:
        WUNTRACED

cdef extern from "<linux/prctl.h>" nogil:
    enum:
        PR_SET_PDEATHSIG

cdef extern from * nogil:
    """
    #include <signal.h>
    #include <ucontext.h>
    #include <stdio.h>
    #include <string.h>

    /* The kernel's struct sigaction (not glibc's): handler, flags, restorer, an 8-byte mask. */
    typedef struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        unsigned long mask;
    } iow_ksigaction;

    #ifndef SA_RESTORER
    #define SA_RESTORER 0x04000000
    #endif

    /* The kernel's siginfo for rt_sigqueueinfo: signo, errno, code, then the union (128 bytes). */
    typedef struct {
        int si_signo;
        int si_errno;
        int si_code;
        int pad[29];
    } iow_ksiginfo;

    /* Our own restorer: a handler returns here, on the signal frame, and this issues the raw
       rt_sigreturn (glibc's __restore_rt does the same; a C function would push a frame). The
       return register the handler's ucontext holds is what rt_sigreturn restores. */
    #if defined(__x86_64__)
    #define IOW_HAVE_SIGNALS 1
    __asm__(".pushsection .text\\n"
            ".type iow_sig_restorer, @function\\n"
            "iow_sig_restorer:\\n\\t"
            "mov $15, %eax\\n\\t"      /* __NR_rt_sigreturn */
            "syscall\\n\\t"
            "hlt\\n"
            ".size iow_sig_restorer, .-iow_sig_restorer\\n"
            ".popsection");
    #define IOW_UC_RET(uc) ((long)((ucontext_t *)(uc))->uc_mcontext.gregs[REG_RAX])
    #define IOW_RESTORER_FLAGS SA_RESTORER
    #elif defined(__aarch64__)
    #define IOW_HAVE_SIGNALS 1
    __asm__(".pushsection .text\\n"
            ".type iow_sig_restorer, %function\\n"
            "iow_sig_restorer:\\n\\t"
            "mov x8, #139\\n\\t"       /* __NR_rt_sigreturn */
            "svc #0\\n\\t"
            "brk #0x1\\n"
            ".size iow_sig_restorer, .-iow_sig_restorer\\n"
            ".popsection");
    #define IOW_UC_RET(uc) ((long)((ucontext_t *)(uc))->uc_mcontext.regs[0])
    #define IOW_RESTORER_FLAGS SA_RESTORER
    #else
    #define IOW_HAVE_SIGNALS 0
    #define IOW_UC_RET(uc) (0L)
    #define IOW_RESTORER_FLAGS 0
    #endif
    #if IOW_HAVE_SIGNALS
    extern void iow_sig_restorer(void) __attribute__((visibility("hidden")));
    static void *iow_restorer_addr(void) { return (void *)iow_sig_restorer; }
    #else
    static void *iow_restorer_addr(void) { return 0; }
    #endif

    /* What the handler tallies, per thread: the interrupted call's slot and the restart code
       the kernel returned for it (the handler running is the proof that it was interrupted;
       --verify has the kernel count the code itself), and rt_sigreturn's slot, tallied with
       the return register the handler's context holds (what rt_sigreturn restores).
       initial-exec TLS: a plain thread-pointer load, no allocation or syscall in the handler. */
    typedef struct {
        iow_tally *interrupted;
        long code;
        iow_tally *sigreturn;
        int *ran;              /* set to 1 once the handler has run (a helper waits for it) */
    } iow_sig_armed;
    static __thread iow_sig_armed iow_armed __attribute__((tls_model("initial-exec")));

    static inline void iow_arm(iow_tally *interrupted, long code, iow_tally *sigreturn, int *ran)
    {
        iow_armed.interrupted = interrupted;
        iow_armed.code = code;
        iow_armed.sigreturn = sigreturn;
        iow_armed.ran = ran;
        if (ran)
            __atomic_store_n(ran, 0, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }

    static void iow_on_signal(int sig, siginfo_t *info, void *uc)
    {
        (void)sig; (void)info;
        if (iow_armed.interrupted)
            iow_tally_ret(iow_armed.interrupted, -iow_armed.code);
        if (iow_armed.sigreturn)
            iow_tally_ret(iow_armed.sigreturn, IOW_UC_RET(uc));
        iow_armed.interrupted = 0;
        iow_armed.sigreturn = 0;
        if (iow_armed.ran)
            __atomic_store_n(iow_armed.ran, 1, __ATOMIC_RELEASE);
        iow_armed.ran = 0;
    }
    static void *iow_handler_addr(void) { return (void *)iow_on_signal; }

    /* The process-wide SIGUSR1/SIGUSR2 actions are shared by every worker of a run (and, in
       run(), by the caller's process): a spin lock (no syscalls) keeps one worker's install/
       restore from interleaving with another's, and a user count lets the last worker restore
       what was there before the first. */
    static int iow_sig_lock;
    static int iow_sig_users[2];   /* SIGUSR1, SIGUSR2 */
    static iow_ksigaction iow_sig_saved[2];
    static inline void iow_sig_lock_take(void)
    {
        while (__atomic_exchange_n(&iow_sig_lock, 1, __ATOMIC_ACQUIRE))
            iow_cpu_relax();
    }
    static inline void iow_sig_lock_drop(void) { __atomic_store_n(&iow_sig_lock, 0, __ATOMIC_RELEASE); }

    /* "<nr> 0x<arg0> ..." from /proc/.../syscall: the task is in syscall nr (with arg0 when
       want_arg0 >= 0). "running" and other numbers do not match. */
    static long iow_hex_field(const char *buf, long n, long *i)
    {
        /* " 0x<hex>" at *i; -1 when absent */
        long v = 0;
        if (*i + 3 > n || buf[*i] != ' ' || buf[*i + 1] != '0' || buf[*i + 2] != 'x')
            return -1;
        for (*i += 3; *i < n && buf[*i] > ' '; (*i)++) {
            char c = buf[*i];
            v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return v;
    }

    static int iow_syscall_line_is(const char *buf, long n, long nr, long want_arg0,
                                   long want_arg2)
    {
        long got = 0, arg0 = 0;
        long i = 0;
        if (n <= 0 || buf[0] < '0' || buf[0] > '9')
            return 0;
        while (i < n && buf[i] >= '0' && buf[i] <= '9')
            got = got * 10 + (buf[i++] - '0');
        if (got != nr)
            return 0;
        if (want_arg0 < 0)
            return 1;
        arg0 = iow_hex_field(buf, n, &i);
        if (arg0 != want_arg0)
            return 0;
        if (want_arg2 < 0)
            return 1;
        iow_hex_field(buf, n, &i);
        return iow_hex_field(buf, n, &i) == want_arg2;
    }

    /* A /proc/<pid>/syscall line of a task that has exited: the kernel finds no stack to read
       ("-1 0x0 0x0"; a live task outside a syscall shows its stack and instruction pointers). */
    static int iow_syscall_line_gone(const char *buf, long n)
    {
        return n >= 10 && memcmp(buf, "-1 0x0 0x0", 10) == 0;
    }

    /* The vDSO clock reading a sleeper takes just before its sleep (64-bit, shared with its
       stopper across the fork: MAP_SHARED scratch). */
    static inline void iow_store_time(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
    static inline int64_t iow_load_time(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

    /* A /proc/.../stat line shows the task stopped (the state after the comm's ")"): T, or t
       where a ptrace tracer (strace) holds the stop. */
    static int iow_stat_stopped(const char *buf, long n)
    {
        long i, close = -1;
        for (i = 0; i < n; i++)
            if (buf[i] == ')')
                close = i;
        return close >= 0 && close + 2 < n && (buf[close + 2] | 0x20) == 't';
    }

    /* "/proc/<pid>/syscall" into out (pure string work). */
    static void iow_proc_syscall_path(char *out, long pid)
    {
        snprintf(out, 64, "/proc/%ld/syscall", pid);
    }

    """
    ctypedef struct iow_ksigaction:
        void *handler
        unsigned long flags
        void *restorer
        unsigned long mask
    ctypedef struct iow_ksiginfo:
        int si_signo
        int si_errno
        int si_code
    enum:
        IOW_HAVE_SIGNALS
        IOW_RESTORER_FLAGS
        SA_RESTORER
    void *iow_restorer_addr()
    void *iow_handler_addr()
    void iow_arm(iow_tally *interrupted, long code, iow_tally *sigreturn, int *ran)
    void iow_sig_lock_take()
    void iow_sig_lock_drop()
    int iow_sig_users[2]
    iow_ksigaction iow_sig_saved[2]
    int iow_syscall_line_is(const char *buf, long n, long nr, long want_arg0, long want_arg2)
    void iow_proc_syscall_path(char *out, long pid)
    int iow_stat_stopped(const char *buf, long n)
    int iow_syscall_line_gone(const char *buf, long n)
    void iow_store_time(int64_t *p, int64_t v)
    int64_t iow_load_time(const int64_t *p)

cdef extern from "<signal.h>" nogil:
    ctypedef struct stack_t:
        void *ss_sp
        int ss_flags
        size_t ss_size

from ioworkload.core.manifest import scenarios

cdef enum:
    SIGSET_BYTES = 8              # the kernel's sigset_t (what ior passes as sigsetsize)
    ALTSTACK_BYTES = 8192         # ior's alternate stack
    ERESTARTSYS = 512
    ERESTART_RESTARTBLOCK = 516
    PROC_BUF = 64                 # one /proc/.../syscall read: the number and arg0 fit easily
    # w.val slots
    V_PID = 0                     # getpid() of setup
    V_PROC_FD = 1                 # the worker's own /proc/thread-self/syscall
    V_STAT_FD = 2                 # ior mode: the worker's own /proc/thread-self/stat
    V_INSTALLED = 3               # 1: our SIGUSR1 handler is installed (V_INSTALLED + 1: SIGUSR2)
    V_SLEEP_NR = 5                # ior mode: the syscall number of the sleep to stop
    # w.fd slots: the pipe of an iteration
    F_READ = 0
    F_WRITE = 1
    F_PROC = 2                    # a child's /proc/<pid>/syscall

cdef long THREAD_FLAGS = (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD
                          | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID)

# Scratch layout: the state struct at the start, the alternate stack after it, the helper
# thread's stack at the end.
ctypedef struct SigState:
    iow_ksigaction action
    iow_ksigaction action2    # SIGUSR2's, where a scenario handles both
    iow_ksigaction old_action
    unsigned long set
    unsigned long old_mask
    unsigned long setup_mask
    unsigned long pending
    iow_ksiginfo info
    iow_ksiginfo got
    timespec wait
    timespec sleep
    stack_t stack
    int fds[2]
    int status
    int helper_alive          # CLONE_CHILD_CLEARTID word
    int handler_ran           # the handler sets it: the interrupted call has returned
    char byte[8]
    char proc_buf[PROC_BUF]
    char read_buf[PROC_BUF]   # a child's reads (scratch is shared: never the poll's buffer)
    char proc_path[64]
    int helper_nr             # what the helper waits for the worker to block in
    int helper_arg0
    int sleep_over            # the sleeper sets it once its sleep returned: pollers give up
    int64_t sleep_start       # vDSO clock just before the sleep a stop or signal is to cut
    int64_t sleep_ns          # that sleep's length: the stop must land before start + this
    iow_worker *w

cdef inline SigState *state(iow_worker *w) noexcept nogil:
    return <SigState *>w.scratch

cdef inline void *altstack(iow_worker *w) noexcept nogil:
    return w.scratch + 4096

cdef inline void *helper_stack_top(iow_worker *w) noexcept nogil:
    return w.scratch + IOW_SCRATCH_BYTES


cdef inline unsigned long sigbit(int sig) noexcept nogil:
    return (<unsigned long>1) << (sig - 1)


cdef bint wait_until_blocked(iow_worker *w, iow_tally *t, long fd, char *buf, long nr,
                             long arg0, long arg2, const int *passed,
                             const char *what) noexcept nogil:
    # Read the target's /proc/.../syscall until it shows syscall nr (and arg0, arg2): every
    # read is declared as a count range (x1..). False (noted on w for the report) when the wait
    # is given up: the target exited or set *passed (it went past the call: a sleep that ended
    # before we looked), the stop flag, or the bound.
    cdef long n
    cdef int why
    cdef int64_t deadline = iow_now_ns() + IOW_WAIT_BOUND_NS
    while True:
        n = iow_tally_ret(t, iow_sys4(__NR_pread64, fd, <long>buf, PROC_BUF - 1, 0))
        if n >= 0 and iow_syscall_line_is(buf, n, nr, arg0, arg2):
            return True
        if n < 0 or iow_syscall_line_gone(buf, n) or (passed != NULL and iow_load_acquire(passed)):
            iow_wait_give_up(w, IOW_WAIT_GONE, what)
            return False
        why = iow_wait_over(w, deadline)
        if why:
            iow_wait_give_up(w, why, what)
            return False


cdef bint stopped_in_time(SigState *st) noexcept nogil:
    # Called once the stopped task is seen stopped: before its sleep's end, the stop certainly
    # cut the sleep short (-ERESTART_RESTARTBLOCK); after it, the timer may have won the race
    # (the sleep returned 0, no restart), which no declaration of ours describes.
    return iow_now_ns() < iow_load_time(&st.sleep_start) + st.sleep_ns


cdef void expect_sleep(SigState *st) noexcept nogil:
    # Before the sleeper's stopper or signaller exists (so it never sees the last iteration's
    # flag): the sleep of st.sleep is still to come.
    st.sleep_ns = st.sleep.tv_sec * 1000000000 + st.sleep.tv_nsec
    iow_store_release(&st.sleep_over, 0)


cdef inline void sleep_begins(SigState *st) noexcept nogil:
    # The sleeper, just before the sleep: what stopped_in_time() measures from.
    iow_store_time(&st.sleep_start, iow_now_ns())


cdef inline void sleep_ended(SigState *st) noexcept nogil:
    iow_store_release(&st.sleep_over, 1)


# ---- signals_basic ----

cdef int signals_basic_setup(iow_worker *w) noexcept nogil:
    cdef SigState *st = state(w)
    w.val[V_PID] = iow_tally_ret(&w.setup[0], iow_sys0(__NR_getpid))
    st.set = sigbit(SIGUSR1)
    st.wait.tv_sec = 0
    st.wait.tv_nsec = 100000000
    st.info.si_signo = SIGUSR1
    st.info.si_code = SI_QUEUE
    return 0


cdef uint64_t signals_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    cdef long pid = w.val[V_PID]
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        memset(&st.action, 0, sizeof(st.action))
        st.action.handler = <void *>1   # SIG_IGN
        # One worker's ignore..restore at a time: SIGUSR1's action is the process's.
        iow_sig_lock_take()
        iow_tally_ret(&t[0], iow_sys4(__NR_rt_sigaction, SIGUSR1, <long>&st.action,
                                      <long>&st.old_action, SIGSET_BYTES))
        iow_tally_ret(&t[1], iow_sys4(__NR_rt_sigprocmask, SIG_BLOCK, <long>&st.set,
                                      <long>&st.old_mask, SIGSET_BYTES))
        st.stack.ss_sp = altstack(w)
        st.stack.ss_flags = 0
        st.stack.ss_size = ALTSTACK_BYTES
        iow_tally_ret(&t[2], iow_sys2(__NR_sigaltstack, <long>&st.stack, 0))
        st.stack.ss_flags = SS_DISABLE
        iow_tally_ret(&t[3], iow_sys2(__NR_sigaltstack, <long>&st.stack, 0))
        iow_tally_ret(&t[4], iow_sys2(__NR_kill, pid, SIGUSR1))
        iow_tally_ret(&t[5], iow_sys3(__NR_tgkill, pid, w.tid, SIGUSR1))
        iow_tally_ret(&t[6], iow_sys2(__NR_tkill, w.tid, SIGUSR1))
        iow_tally_ret(&t[7], iow_sys3(__NR_rt_sigqueueinfo, pid, SIGUSR1, <long>&st.info))
        iow_tally_ret(&t[8], iow_sys2(__NR_rt_sigpending, <long>&st.pending, SIGSET_BYTES))
        iow_tally_ret(&t[9], iow_sys4(__NR_rt_sigtimedwait, <long>&st.set, <long>&st.got,
                                      <long>&st.wait, SIGSET_BYTES))
        iow_tally_ret(&t[10], iow_sys4(__NR_rt_sigprocmask, SIG_SETMASK, <long>&st.old_mask, 0,
                                       SIGSET_BYTES))
        iow_tally_ret(&t[11], iow_sys4(__NR_rt_sigaction, SIGUSR1, <long>&st.old_action, 0,
                                       SIGSET_BYTES))
        iow_sig_lock_drop()
    return n


# ---- the handler's install and restore (setup/teardown of the handled-signal scenarios) ----

cdef void install_handler(iow_worker *w, iow_tally *t, int sig, int restart) noexcept nogil:
    # rt_sigaction(sig, {iow_on_signal, SA_SIGINFO|SA_RESTORER[|SA_RESTART]}, &saved, 8), then
    # unblock sig on this thread: the worker starts with every signal blocked.
    global iow_sig_users
    cdef SigState *st = state(w)
    cdef iow_ksigaction *keep
    cdef iow_ksigaction *act = &st.action2 if sig == SIGUSR2 else &st.action
    memset(act, 0, sizeof(act[0]))
    act.handler = iow_handler_addr()
    act.flags = SA_SIGINFO | IOW_RESTORER_FLAGS | (SA_RESTART if restart else 0)
    act.restorer = iow_restorer_addr()
    iow_sig_lock_take()
    # the first worker in keeps what the process had; the others' old action is ours
    keep = &iow_sig_saved[sig == SIGUSR2] if iow_sig_users[sig == SIGUSR2] == 0 else &st.old_action
    if iow_tally_ret(&t[0], iow_sys4(__NR_rt_sigaction, sig, <long>act, <long>keep,
                                     SIGSET_BYTES)) == 0:
        iow_sig_users[sig == SIGUSR2] += 1
        w.val[V_INSTALLED + (sig == SIGUSR2)] = 1
    iow_sig_lock_drop()


cdef void restore_handler(iow_worker *w, iow_tally *t, int sig) noexcept nogil:
    global iow_sig_users
    cdef SigState *st = state(w)
    if not w.val[V_INSTALLED + (sig == SIGUSR2)]:
        return
    w.val[V_INSTALLED + (sig == SIGUSR2)] = 0
    iow_sig_lock_take()
    iow_sig_users[sig == SIGUSR2] -= 1
    # the last worker out puts back what the process had; the others leave ours in place
    iow_tally_ret(&t[0], iow_sys4(
        __NR_rt_sigaction, sig,
        <long>(&iow_sig_saved[sig == SIGUSR2] if iow_sig_users[sig == SIGUSR2] == 0
               else (&st.action2 if sig == SIGUSR2 else &st.action)), 0,
        SIGSET_BYTES))
    iow_sig_lock_drop()


cdef int handled_setup(iow_worker *w, int sig, int restart) noexcept nogil:
    # setup: getpid, rt_sigaction, rt_sigprocmask(SIG_UNBLOCK), open our /proc/thread-self/syscall
    cdef SigState *st = state(w)
    cdef long fd
    w.val[V_PROC_FD] = -1
    w.val[V_INSTALLED] = w.val[V_INSTALLED + 1] = 0
    w.val[V_PID] = iow_tally_ret(&w.setup[0], iow_sys0(__NR_getpid))
    install_handler(w, &w.setup[1], sig, restart)
    st.set = sigbit(sig)
    iow_tally_ret(&w.setup[2], iow_sys4(__NR_rt_sigprocmask, SIG_UNBLOCK, <long>&st.set,
                                        <long>&st.setup_mask, SIGSET_BYTES))
    fd = iow_tally_ret(&w.setup[3], iow_sys4(__NR_openat, AT_FDCWD,
                                             <long><const char *>b"/proc/thread-self/syscall",
                                             O_RDONLY | O_CLOEXEC, 0))
    w.val[V_PROC_FD] = fd
    return <int>fd if fd < 0 else 0


cdef void handled_teardown(iow_worker *w, int sig) noexcept nogil:
    cdef SigState *st = state(w)
    if w.val[V_PROC_FD] >= 0:
        iow_tally_ret(&w.teardown[0], iow_sys1(__NR_close, w.val[V_PROC_FD]))
        w.val[V_PROC_FD] = -1
    iow_tally_ret(&w.teardown[1], iow_sys4(__NR_rt_sigprocmask, SIG_SETMASK,
                                           <long>&st.setup_mask, 0, SIGSET_BYTES))
    restore_handler(w, &w.teardown[2], sig)


cdef long start_helper(iow_worker *w, iow_tally *t, void (*body)(void *) noexcept nogil) noexcept nogil:
    cdef SigState *st = state(w)
    cdef long tid
    st.w = w
    iow_store_release(&st.helper_alive, 1)
    tid = iow_tally_ret(t, iow_clone_thread(THREAD_FLAGS, helper_stack_top(w), &st.helper_alive,
                                            body, w))
    iow_note_task(w, tid)
    if tid < 0:
        iow_store_release(&st.helper_alive, 0)
    return tid


cdef void wait_for_handler(iow_worker *w, SigState *st) noexcept nogil:
    # No syscall: the signalled task's handler sets the flag. Bounded: on giving up, the caller
    # still writes its bytes, so the reader it signalled is never left blocked.
    cdef int why = 0
    cdef int64_t deadline = iow_now_ns() + IOW_WAIT_BOUND_NS
    while not iow_load_acquire(&st.handler_ran):
        why = iow_wait_over(w, deadline)
        if why:
            iow_wait_give_up(w, why, "the signalled task's handler to run")
            return
        iow_cpu_relax()


cdef void join_helper(iow_worker *w) noexcept nogil:
    # No syscall: the kernel clears the word when the helper has exited. Never given up (the
    # helper runs on this worker's scratch): it ends by itself, as every wait of a helper is
    # bounded and it issues nothing that blocks.
    cdef SigState *st = state(w)
    while iow_load_acquire(&st.helper_alive):
        iow_cpu_relax()


# ---- signal_restart ----

cdef void restart_helper(void *arg) noexcept nogil:
    # The helper thread: wait until the worker blocks in read(pipe), signal it, feed the pipe;
    # wait until it sleeps in clock_nanosleep, signal it; exit.
    cdef iow_worker *w = <iow_worker *>arg
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    iow_tally_ret(&t[3], 0)  # clone returned 0 here
    # The read never ends unless we write: on a given-up wait the byte still goes, unsignalled.
    if wait_until_blocked(w, &t[4], w.val[V_PROC_FD], st.proc_buf, __NR_read, st.fds[0], -1,
                          NULL, "the worker to block in its pipe read"):
        iow_tally_ret(&t[5], iow_sys3(__NR_tgkill, w.val[V_PID], w.tid, SIGUSR1))
        # The byte only once the handler has run: written earlier, it could wake the read
        # before the signal does, and the read would return 1 instead of -ERESTARTSYS.
        wait_for_handler(w, st)
    iow_tally_ret(&t[6], iow_sys3(__NR_write, st.fds[1], <long><const char *>b"x", 1))
    if wait_until_blocked(w, &t[7], w.val[V_PROC_FD], st.proc_buf, __NR_clock_nanosleep, -1,
                          -1, &st.sleep_over, "the worker to block in its sleep"):
        iow_tally_ret(&t[8], iow_sys3(__NR_tgkill, w.val[V_PID], w.tid, SIGUSR1))
    iow_tally_ret(&t[9], 0)  # exit does not return
    iow_sys1(__NR_exit, 0)


cdef int signal_restart_setup(iow_worker *w) noexcept nogil:
    cdef SigState *st = state(w)
    st.sleep.tv_sec = 2       # ior's 2 s; the signal ends it at once
    st.sleep.tv_nsec = 0
    return handled_setup(w, SIGUSR1, 1)


cdef void signalled_sleep(iow_worker *w, SigState *st) noexcept nogil:
    # The worker's clock_nanosleep(st.sleep) that the helper's SIGUSR1 (the handler armed)
    # ends with -EINTR. Any other return: the sleep ran out first (the helper came too late,
    # or gave up on seeing sleep_over), so the declared interruption did not happen.
    cdef long r = iow_sys4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0, <long>&st.sleep, 0)
    sleep_ended(st)
    if r != -4:  # EINTR
        iow_arm(NULL, 0, NULL, NULL)  # a late signal tallies nothing as the declared one
        iow_wait_give_up(w, IOW_WAIT_LATE, "the helper's SIGUSR1 to end the worker's sleep")


cdef void handled_teardown_usr1(iow_worker *w) noexcept nogil:
    handled_teardown(w, SIGUSR1)


cdef uint64_t signal_restart_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        if iow_tally_ret(&t[0], iow_sys2(__NR_pipe2, <long>st.fds, 0)) != 0:
            return i
        iow_tally_ret(&t[1], iow_sys0(__NR_gettid))
        expect_sleep(st)
        if start_helper(w, &t[2], restart_helper) > 0:
            iow_arm(&t[10], ERESTARTSYS, &t[11], &st.handler_ran)
            iow_tally_ret(&t[12], iow_sys3(__NR_read, st.fds[0], <long>st.byte, 1))
            iow_arm(&t[13], ERESTART_RESTARTBLOCK, &t[14], NULL)
            # -EINTR: rt_sigreturn's value, tallied by the handler
            signalled_sleep(w, st)
            join_helper(w)
        iow_tally_ret(&t[15], iow_sys1(__NR_close, st.fds[0]))
        iow_tally_ret(&t[16], iow_sys1(__NR_close, st.fds[1]))
        if w.wait_failed:
            return i + 1
    return n


# ---- a child process stopped and continued in a sleep (stop_restart, _twice, handled_sleep) ----

cdef void sleeper_child(iow_worker *w, iow_tally *t, int legacy, int stops) noexcept nogil:
    # The forked child: dies with its parent thread (no stopped orphan), sleeps, and after each
    # stop the kernel resumes the sleep with restart_syscall.
    cdef SigState *st = state(w)
    cdef int k
    iow_tally_ret(&t[0], 0)  # clone returned 0 here
    iow_tally_ret(&t[1], iow_sys5(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
    sleep_begins(st)
    if legacy:
        iow_sys2(__NR_nanosleep, <long>&st.sleep, 0)
    else:
        iow_sys4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0, <long>&st.sleep, 0)
    sleep_ended(st)
    # What the kernel saw: the sleep and each restart but the last returned
    # -ERESTART_RESTARTBLOCK (each one stopped), the last restart_syscall 0. No handler runs,
    # so user space sees only the final 0; the worker's wait4 saw each stop.
    iow_tally_ret(&t[2], -ERESTART_RESTARTBLOCK)
    for k in range(stops - 1):
        iow_tally_ret(&t[3 + k], -ERESTART_RESTARTBLOCK)
    iow_tally_ret(&t[2 + stops], 0)
    iow_tally_ret(&t[3 + stops], 0)  # exit_group does not return
    iow_sys1(__NR_exit_group, 0)


cdef void stop_child(iow_worker *w, iow_tally *t, int legacy, int stops) noexcept nogil:
    # t: [fork, child: fork 0, prctl, sleep, restart x stops, exit_group, open proc,
    #     then per stop: poll, kill STOP, wait4 stopped, kill CONT; then close proc, wait4]
    # A wait given up (the child exited or slept out before it was seen blocked; the stop
    # flag; the bound) skips the stops left: the child, continued, ends its sleep by itself.
    cdef SigState *st = state(w)
    cdef long pid, fd, k, base
    cdef long nr
    expect_sleep(st)
    pid = iow_sys5(__NR_clone, SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        sleeper_child(w, t + 1, legacy, stops)
    iow_tally_ret(&t[0], pid)
    iow_note_task(w, pid)
    if pid < 0:
        return
    base = 5 + stops
    iow_proc_syscall_path(st.proc_path, pid)
    fd = iow_tally_ret(&t[base], iow_sys4(__NR_openat, AT_FDCWD, <long>st.proc_path,
                                          O_RDONLY | O_CLOEXEC, 0))
    w.fd[F_PROC] = fd
    for k in range(stops):
        nr = __NR_restart_syscall if k else (__NR_nanosleep if legacy else __NR_clock_nanosleep)
        if fd >= 0 and not wait_until_blocked(w, &t[base + 1 + 4 * k], fd, st.proc_buf, nr, -1,
                                              -1, &st.sleep_over,
                                              "the child to block in its sleep"):
            break
        iow_tally_ret(&t[base + 2 + 4 * k], iow_sys2(__NR_kill, pid, SIGSTOP))
        iow_tally_ret(&t[base + 3 + 4 * k], iow_sys4(__NR_wait4, pid, <long>&st.status,
                                                     WUNTRACED, 0))
        # wait4 saw the stop (status 0x..7f) before the sleep's end: it cut the sleep short
        if (st.status & 0xff) != 0x7f or not stopped_in_time(st):
            iow_wait_give_up(w, IOW_WAIT_LATE, "the SIGSTOP to land in the child's sleep")
        iow_tally_ret(&t[base + 4 + 4 * k], iow_sys2(__NR_kill, pid, SIGCONT))
    if fd >= 0:
        iow_tally_ret(&t[base + 1 + 4 * stops], iow_sys1(__NR_close, fd))
        w.fd[F_PROC] = -1
    iow_tally_ret(&t[base + 2 + 4 * stops], iow_sys4(__NR_wait4, pid, <long>&st.status, 0, 0))


cdef uint64_t stop_restart_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef uint64_t i
    st.sleep.tv_sec = 1
    st.sleep.tv_nsec = 0
    for i in range(n):
        if iow_stop_requested(w):
            return i
        stop_child(w, w.iter, 0, 1)
        if w.wait_failed:
            return i + 1
    return n


cdef uint64_t stop_restart_twice_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef uint64_t i
    st.sleep.tv_sec = 2
    st.sleep.tv_nsec = 0
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys0(__NR_gettid))
        stop_child(w, w.iter + 1, 0, 2)
        if w.wait_failed:
            return i + 1
    return n


# ---- signal_handled_sleep ----

cdef void handled_sleep_helper(void *arg) noexcept nogil:
    cdef iow_worker *w = <iow_worker *>arg
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    iow_tally_ret(&t[1], 0)  # clone returned 0 here
    if wait_until_blocked(w, &t[2], w.val[V_PROC_FD], st.proc_buf, __NR_clock_nanosleep, -1,
                          -1, &st.sleep_over, "the worker to block in its sleep"):
        iow_tally_ret(&t[3], iow_sys3(__NR_tgkill, w.val[V_PID], w.tid, SIGUSR1))
    iow_tally_ret(&t[4], 0)  # exit does not return
    iow_sys1(__NR_exit, 0)


cdef void handled_sleep(iow_worker *w, iow_tally *t) noexcept nogil:
    """ior's 3 s sleep, which the helper thread's SIGUSR1 ends at once (slots 0-6)."""
    cdef SigState *st = state(w)
    st.sleep.tv_sec = 3
    st.sleep.tv_nsec = 0
    expect_sleep(st)
    if start_helper(w, &t[0], handled_sleep_helper) > 0:
        iow_arm(&t[5], ERESTART_RESTARTBLOCK, &t[6], NULL)
        signalled_sleep(w, st)
        join_helper(w)


cdef int signal_handled_sleep_setup(iow_worker *w) noexcept nogil:
    return handled_setup(w, SIGUSR1, 1)


cdef uint64_t signal_handled_sleep_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        handled_sleep(w, t)
        st.sleep.tv_sec = 1   # ior's stopped nanosleep(1 s)
        st.sleep.tv_nsec = 0
        if not w.wait_failed:
            stop_child(w, t + 7, 1, 1)
        if w.wait_failed:
            return i + 1
    return n


# ---- signal_reexec, signal_reexec_many: a child reads a pipe, stopped or signalled in it ----

cdef enum:
    REEXEC_FD = 200           # ior's dup3 target
    REEXEC_MANY = 32          # signal_reexec_many's fds 300..331
    REEXEC_MANY_FD = 300

cdef const char *PAYLOAD = b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"   # 32 bytes: the first n written


cdef int reexec_setup(iow_worker *w) noexcept nogil:
    # getpid, SIGUSR1's handler with SA_RESTART, SIGUSR2's without, both unblocked
    cdef SigState *st = state(w)
    w.val[V_INSTALLED] = w.val[V_INSTALLED + 1] = 0
    w.val[V_PID] = iow_tally_ret(&w.setup[0], iow_sys0(__NR_getpid))
    install_handler(w, &w.setup[1], SIGUSR1, 1)
    install_handler(w, &w.setup[2], SIGUSR2, 0)
    st.set = sigbit(SIGUSR1) | sigbit(SIGUSR2)
    iow_tally_ret(&w.setup[3], iow_sys4(__NR_rt_sigprocmask, SIG_UNBLOCK, <long>&st.set,
                                        <long>&st.setup_mask, SIGSET_BYTES))
    return 0


cdef void reexec_teardown(iow_worker *w) noexcept nogil:
    cdef SigState *st = state(w)
    iow_tally_ret(&w.teardown[0], iow_sys4(__NR_rt_sigprocmask, SIG_SETMASK,
                                           <long>&st.setup_mask, 0, SIGSET_BYTES))
    restore_handler(w, &w.teardown[1], SIGUSR1)
    restore_handler(w, &w.teardown[2], SIGUSR2)


cdef long fork_reader(iow_worker *w, iow_tally *t, void (*body)(iow_worker *, iow_tally *) noexcept nogil) noexcept nogil:
    cdef long pid = iow_sys5(__NR_clone, SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        iow_tally_ret(&t[1], 0)  # clone returned 0 here
        iow_tally_ret(&t[2], iow_sys5(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
        body(w, t)
        iow_sys1(__NR_exit_group, 0)
    iow_tally_ret(&t[0], pid)
    iow_note_task(w, pid)
    return pid


cdef long open_child_proc(iow_worker *w, iow_tally *t, long pid) noexcept nogil:
    cdef SigState *st = state(w)
    iow_proc_syscall_path(st.proc_path, pid)
    w.fd[F_PROC] = iow_tally_ret(t, iow_sys4(__NR_openat, AT_FDCWD, <long>st.proc_path,
                                             O_RDONLY | O_CLOEXEC, 0))
    return w.fd[F_PROC]


cdef void stop_and_continue(iow_worker *w, iow_tally *t, long pid, long fd, long want_fd,
                            long want_count) noexcept nogil:
    # t: poll, kill STOP, wait4 stopped, kill CONT
    # A wait given up skips the stop; the caller's write still ends the read.
    cdef SigState *st = state(w)
    if fd >= 0 and not wait_until_blocked(w, &t[0], fd, st.proc_buf, __NR_read, want_fd,
                                          want_count, NULL, "the child to block in its read"):
        return
    iow_tally_ret(&t[1], iow_sys2(__NR_kill, pid, SIGSTOP))
    iow_tally_ret(&t[2], iow_sys4(__NR_wait4, pid, <long>&st.status, WUNTRACED, 0))
    iow_tally_ret(&t[3], iow_sys2(__NR_kill, pid, SIGCONT))


cdef void reexec_reader(iow_worker *w, iow_tally *t) noexcept nogil:
    # The child: three reads on fd 200, interrupted by a stop, by SIGUSR1 (SA_RESTART: the
    # kernel re-executes it) and by SIGUSR2 (no SA_RESTART: EINTR, and we read again).
    cdef SigState *st = state(w)
    cdef long fd = st.fds[0]
    cdef long r
    iow_tally_ret(&t[4], iow_sys3(__NR_read, fd, <long>st.read_buf, 1))
    iow_tally_ret(&t[3], -ERESTARTSYS)   # what the kernel returned at the stop (no handler)
    iow_arm(&t[5], ERESTARTSYS, &t[6], &st.handler_ran)
    iow_tally_ret(&t[7], iow_sys3(__NR_read, fd, <long>st.read_buf, 2))
    iow_arm(&t[8], ERESTARTSYS, &t[9], &st.handler_ran)
    r = iow_sys3(__NR_read, fd, <long>st.read_buf, 3)   # -EINTR: rt_sigreturn's, tallied there
    iow_tally_ret(&t[10], iow_sys3(__NR_read, fd, <long>st.read_buf, 3) if r == -4 else r)
    iow_tally_ret(&t[11], 0)  # exit_group does not return


cdef void signal_and_feed(iow_worker *w, iow_tally *t, long pid, long fd, long want_fd,
                          int sig, long count) noexcept nogil:
    # t: poll, tgkill, write `count` bytes once the child's handler has run (the bytes also
    # after a wait given up: they end the child's read)
    cdef SigState *st = state(w)
    if fd < 0 or wait_until_blocked(w, &t[0], fd, st.proc_buf, __NR_read, want_fd, count, NULL,
                                    "the child to block in its read"):
        iow_tally_ret(&t[1], iow_sys3(__NR_tgkill, pid, pid, sig))
        wait_for_handler(w, st)
    iow_tally_ret(&t[2], iow_sys3(__NR_write, st.fds[1], <long>PAYLOAD, count))


cdef uint64_t signal_reexec_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    cdef uint64_t i
    cdef long pid, fd, orig, target = w.fd_base + w.index
    for i in range(n):
        if iow_stop_requested(w):
            return i
        if iow_tally_ret(&t[0], iow_sys2(__NR_pipe2, <long>st.fds, 0)) != 0:
            return i
        # the read end moves to fd 200 (ior's number; 200 + the worker's index)
        orig = st.fds[0]
        st.fds[0] = <int>iow_tally_ret(&t[1], iow_sys3(__NR_dup3, orig, target, O_CLOEXEC))
        iow_tally_ret(&t[2], iow_sys1(__NR_close, orig))
        pid = fork_reader(w, t + 3, reexec_reader)
        if pid > 0:
            fd = open_child_proc(w, &t[15], pid)
            stop_and_continue(w, &t[16], pid, fd, target, 1)
            iow_tally_ret(&t[20], iow_sys3(__NR_write, st.fds[1], <long>PAYLOAD, 1))
            signal_and_feed(w, &t[21], pid, fd, target, SIGUSR1, 2)
            signal_and_feed(w, &t[24], pid, fd, target, SIGUSR2, 3)
            if fd >= 0:
                iow_tally_ret(&t[27], iow_sys1(__NR_close, fd))
                w.fd[F_PROC] = -1
            iow_tally_ret(&t[28], iow_sys4(__NR_wait4, pid, <long>&st.status, 0, 0))
        iow_tally_ret(&t[29], iow_sys1(__NR_close, st.fds[0]))
        iow_tally_ret(&t[30], iow_sys1(__NR_close, st.fds[1]))
        if w.wait_failed:
            return i + 1
    return n


cdef inline long many_fd(iow_worker *w, long k) noexcept nogil:
    return w.fd_base + REEXEC_MANY * w.index + k


cdef void reexec_many_reader(iow_worker *w, iow_tally *t) noexcept nogil:
    # The child: read k+1 bytes from fd 300+k, k = 0..31, each read stopped and continued while
    # blocked (the kernel: -ERESTARTSYS, then the read re-executed).
    cdef SigState *st = state(w)
    cdef long k
    for k in range(REEXEC_MANY):
        iow_tally_ret(&t[4 + k], iow_sys3(__NR_read, many_fd(w, k), <long>st.read_buf, k + 1))
        iow_tally_ret(&t[3], -ERESTARTSYS)   # what the kernel returned at the stop
    iow_tally_ret(&t[4 + REEXEC_MANY], 0)  # exit_group does not return


cdef uint64_t signal_reexec_many_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    cdef uint64_t i
    cdef long pid, fd, orig, k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        if iow_tally_ret(&t[0], iow_sys2(__NR_pipe2, <long>st.fds, 0)) != 0:
            return i
        orig = st.fds[0]
        for k in range(REEXEC_MANY):
            iow_tally_ret(&t[1], iow_sys3(__NR_dup3, orig, many_fd(w, k), O_CLOEXEC))
        iow_tally_ret(&t[2], iow_sys1(__NR_close, orig))
        pid = fork_reader(w, t + 3, reexec_many_reader)
        if pid > 0:
            fd = open_child_proc(w, &t[40], pid)
            for k in range(REEXEC_MANY):
                stop_and_continue(w, &t[41], pid, fd, many_fd(w, k), k + 1)
                iow_tally_ret(&t[45 + k], iow_sys3(__NR_write, st.fds[1], <long>PAYLOAD, k + 1))
            if fd >= 0:
                iow_tally_ret(&t[77], iow_sys1(__NR_close, fd))
                w.fd[F_PROC] = -1
            iow_tally_ret(&t[78], iow_sys4(__NR_wait4, pid, <long>&st.status, 0, 0))
        for k in range(REEXEC_MANY):
            iow_tally_ret(&t[79], iow_sys1(__NR_close, many_fd(w, k)))
        iow_tally_ret(&t[80], iow_sys1(__NR_close, st.fds[1]))
        if w.wait_failed:
            return i + 1
    return n


# ---- ior mode (IOR_SCENARIOS): the worker itself is stopped, by a forked child ----
# ior's tests look for the stopped call on the traced process's main thread, so here the worker
# (the main thread: ior mode runs one) sleeps or reads, and a child process is the stopper:
# SIGSTOP/SIGCONT to the worker's own process, once /proc shows the worker blocked in the call.

cdef int open_own_stat(iow_worker *w, iow_tally *t) noexcept nogil:
    w.val[V_STAT_FD] = iow_tally_ret(t, iow_sys4(
        __NR_openat, AT_FDCWD, <long><const char *>b"/proc/thread-self/stat",
        O_RDONLY | O_CLOEXEC, 0))
    return -1 if w.val[V_STAT_FD] < 0 else 0


cdef void close_own_stat(iow_worker *w, iow_tally *t) noexcept nogil:
    if w.val[V_STAT_FD] >= 0:
        iow_tally_ret(t, iow_sys1(__NR_close, w.val[V_STAT_FD]))
        w.val[V_STAT_FD] = -1


cdef int open_own_proc(iow_worker *w, iow_tally *t) noexcept nogil:
    # t: openat /proc/thread-self/syscall, openat /proc/thread-self/stat (the child inherits
    # both: they name the worker's thread, whoever reads them)
    w.val[V_PROC_FD] = iow_tally_ret(&t[0], iow_sys4(
        __NR_openat, AT_FDCWD, <long><const char *>b"/proc/thread-self/syscall",
        O_RDONLY | O_CLOEXEC, 0))
    return -1 if open_own_stat(w, &t[1]) < 0 or w.val[V_PROC_FD] < 0 else 0


cdef void close_own_proc(iow_worker *w, iow_tally *t) noexcept nogil:
    if w.val[V_PROC_FD] >= 0:
        iow_tally_ret(&t[0], iow_sys1(__NR_close, w.val[V_PROC_FD]))
        w.val[V_PROC_FD] = -1
    close_own_stat(w, &t[1])


cdef int ior_stopped_setup(iow_worker *w) noexcept nogil:
    w.val[V_PROC_FD] = w.val[V_STAT_FD] = -1
    return open_own_proc(w, w.setup)


cdef void ior_stopped_teardown(iow_worker *w) noexcept nogil:
    close_own_proc(w, w.teardown)


cdef bint stop_parent(iow_worker *w, iow_tally *t, long ppid, long nr, long arg0,
                      long arg2, bint in_sleep) noexcept nogil:
    # In the child. t: poll the worker's syscall until it is blocked in nr (arg0, arg2),
    # kill STOP, poll its stat until it shows the stop, kill CONT. Under ptrace 't' may also be
    # a syscall stop before the SIGSTOP took effect: the SIGCONT then cancels the pending stop
    # (the kernel drops a dequeued one too), and the call was interrupted all the same (the
    # SIGSTOP woke it inside kill()), so what the worker issues is the same. in_sleep: nr is
    # the worker's sleep (or its restart), which must not run out before the stop lands.
    # False: the first wait was given up (the worker slept out or the stop flag), no stop sent.
    cdef SigState *st = state(w)
    cdef long n
    cdef int64_t deadline
    if not wait_until_blocked(w, &t[0], w.val[V_PROC_FD], st.proc_buf, nr, arg0, arg2,
                              &st.sleep_over if in_sleep else NULL,
                              "the worker to block in the call its stopper stops"):
        return False
    iow_tally_ret(&t[1], iow_sys2(__NR_kill, ppid, SIGSTOP))
    # Not given up on the stop flag: the worker's process is stopped, and only SIGCONT below
    # lets it go on; the bound still holds (the stopper's parent is alive: PDEATHSIG).
    deadline = iow_now_ns() + IOW_WAIT_BOUND_NS
    while True:
        n = iow_tally_ret(&t[2], iow_sys4(__NR_pread64, w.val[V_STAT_FD], <long>st.read_buf,
                                          PROC_BUF - 1, 0))
        if n < 0 or iow_stat_stopped(st.read_buf, n):
            break
        if iow_now_ns() > deadline:
            iow_wait_give_up(w, IOW_WAIT_TIMEOUT, "the worker's process to show its stop")
            break
    if in_sleep and not stopped_in_time(st):
        iow_wait_give_up(w, IOW_WAIT_LATE, "the SIGSTOP to land in the worker's sleep")
    iow_tally_ret(&t[3], iow_sys2(__NR_kill, ppid, SIGCONT))
    return True


cdef long fork_stopper(iow_worker *w, iow_tally *t, int stops) noexcept nogil:
    # t: [fork, child: fork 0, prctl, getppid, stop_parent x stops (4 each), exit_group]
    cdef long pid = iow_sys5(__NR_clone, SIGCHLD, 0, 0, 0, 0)
    cdef long ppid, k, nr
    if pid == 0:
        iow_tally_ret(&t[1], 0)  # clone returned 0 here
        iow_tally_ret(&t[2], iow_sys5(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
        ppid = iow_tally_ret(&t[3], iow_sys0(__NR_getppid))
        for k in range(stops):
            # the first stop finds the sleep, the next ones the kernel's restart of it
            nr = __NR_restart_syscall if k else w.val[V_SLEEP_NR]
            if not stop_parent(w, &t[4 + 4 * k], ppid, nr, -1, -1, True):
                break
        iow_tally_ret(&t[4 + 4 * stops], 0)  # exit_group does not return
        iow_sys1(__NR_exit_group, 0)
    iow_tally_ret(&t[0], pid)
    iow_note_task(w, pid)
    return pid


cdef void stopped_sleep(iow_worker *w, iow_tally *t, int legacy, int stops) noexcept nogil:
    # t: [fork stopper (5 + 4 x stops events), sleep, restart x stops, wait4]
    cdef SigState *st = state(w)
    cdef long pid, k, base = 5 + 4 * stops
    w.val[V_SLEEP_NR] = __NR_nanosleep if legacy else __NR_clock_nanosleep
    expect_sleep(st)
    pid = fork_stopper(w, t, stops)
    if pid < 0:
        return
    sleep_begins(st)
    if legacy:
        iow_sys2(__NR_nanosleep, <long>&st.sleep, 0)
    else:
        iow_sys4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0, <long>&st.sleep, 0)
    sleep_ended(st)
    # What the kernel saw (user space sees the final 0 only): the sleep and each restart but
    # the last returned -ERESTART_RESTARTBLOCK at a stop, the last restart_syscall 0.
    iow_tally_ret(&t[base], -ERESTART_RESTARTBLOCK)
    for k in range(stops - 1):
        iow_tally_ret(&t[base + 1 + k], -ERESTART_RESTARTBLOCK)
    iow_tally_ret(&t[base + stops], 0)
    iow_tally_ret(&t[base + stops + 1], iow_sys4(__NR_wait4, pid, <long>&st.status, 0, 0))


cdef uint64_t ior_stop_restart_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        st.sleep.tv_sec = 0       # ior's 600 ms
        st.sleep.tv_nsec = 600000000
        stopped_sleep(w, w.iter, 0, 1)
        if w.wait_failed:
            return i + 1
    return n


cdef uint64_t ior_stop_restart_twice_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        st.sleep.tv_sec = 1       # ior's 1.5 s
        st.sleep.tv_nsec = 500000000
        iow_tally_ret(&w.iter[0], iow_sys0(__NR_gettid))
        stopped_sleep(w, w.iter + 1, 0, 2)
        if w.wait_failed:
            return i + 1
    return n


cdef int ior_handled_sleep_setup(iow_worker *w) noexcept nogil:
    # signal_handled_sleep's setup (its /proc/thread-self/syscall included), then the stat
    cdef int r
    w.val[V_STAT_FD] = -1     # the teardown closes only what was opened
    r = handled_setup(w, SIGUSR1, 1)
    return open_own_stat(w, &w.setup[4]) if r == 0 else r


cdef void ior_handled_sleep_teardown(iow_worker *w) noexcept nogil:
    handled_teardown(w, SIGUSR1)
    close_own_stat(w, &w.teardown[3])


cdef uint64_t ior_handled_sleep_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        handled_sleep(w, t)
        st.sleep.tv_sec = 1   # ior's stopped nanosleep(1 s)
        st.sleep.tv_nsec = 0
        stopped_sleep(w, t + 7, 1, 1)
        if w.wait_failed:
            return i + 1
    return n


cdef int ior_reexec_setup(iow_worker *w) noexcept nogil:
    # signal_reexec's handlers, then the worker's own /proc syscall and stat for the stopper
    w.val[V_PROC_FD] = w.val[V_STAT_FD] = -1
    reexec_setup(w)
    return open_own_proc(w, &w.setup[4])


cdef void ior_reexec_teardown(iow_worker *w) noexcept nogil:
    reexec_teardown(w)
    close_own_proc(w, &w.teardown[3])


cdef void signal_parent(iow_worker *w, iow_tally *t, long ppid, long fd, int sig,
                        long count) noexcept nogil:
    # In the child. t: poll until the worker reads `count` bytes from fd, tgkill, then (once
    # the worker's handler ran: else the read could take the bytes before the signal) write
    cdef SigState *st = state(w)
    if wait_until_blocked(w, &t[0], w.val[V_PROC_FD], st.proc_buf, __NR_read, fd, count, NULL,
                          "the worker to block in its read"):
        iow_tally_ret(&t[1], iow_sys3(__NR_tgkill, ppid, ppid, sig))
        wait_for_handler(w, st)
    iow_tally_ret(&t[2], iow_sys3(__NR_write, st.fds[1], <long>PAYLOAD, count))


cdef uint64_t ior_signal_reexec_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    cdef uint64_t i
    cdef long pid, ppid, fd, orig, r
    for i in range(n):
        if iow_stop_requested(w):
            return i
        if iow_tally_ret(&t[0], iow_sys2(__NR_pipe2, <long>st.fds, 0)) != 0:
            return i
        orig = st.fds[0]
        st.fds[0] = <int>iow_tally_ret(&t[1], iow_sys3(__NR_dup3, orig, w.fd_base, O_CLOEXEC))
        iow_tally_ret(&t[2], iow_sys1(__NR_close, orig))
        fd = st.fds[0]
        pid = iow_sys5(__NR_clone, SIGCHLD, 0, 0, 0, 0)
        if pid == 0:
            # the stopper: a stop, SIGUSR1 (SA_RESTART), SIGUSR2 (none), each while the worker
            # is blocked in its read of 1, 2, 3 bytes
            iow_tally_ret(&t[4], 0)  # clone returned 0 here
            iow_tally_ret(&t[5], iow_sys5(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
            ppid = iow_tally_ret(&t[6], iow_sys0(__NR_getppid))
            stop_parent(w, &t[7], ppid, __NR_read, fd, 1, False)
            iow_tally_ret(&t[11], iow_sys3(__NR_write, st.fds[1], <long>PAYLOAD, 1))
            signal_parent(w, &t[12], ppid, fd, SIGUSR1, 2)
            signal_parent(w, &t[15], ppid, fd, SIGUSR2, 3)
            iow_tally_ret(&t[18], 0)  # exit_group does not return
            iow_sys1(__NR_exit_group, 0)
        iow_tally_ret(&t[3], pid)
        iow_note_task(w, pid)
        if pid > 0:
            iow_tally_ret(&t[20], iow_sys3(__NR_read, fd, <long>st.read_buf, 1))
            iow_tally_ret(&t[19], -ERESTARTSYS)   # what the kernel returned at the stop
            iow_arm(&t[21], ERESTARTSYS, &t[22], &st.handler_ran)
            iow_tally_ret(&t[23], iow_sys3(__NR_read, fd, <long>st.read_buf, 2))
            iow_arm(&t[24], ERESTARTSYS, &t[25], &st.handler_ran)
            r = iow_sys3(__NR_read, fd, <long>st.read_buf, 3)   # -EINTR: rt_sigreturn's
            iow_tally_ret(&t[26], iow_sys3(__NR_read, fd, <long>st.read_buf, 3) if r == -4 else r)
            iow_tally_ret(&t[27], iow_sys4(__NR_wait4, pid, <long>&st.status, 0, 0))
        iow_tally_ret(&t[28], iow_sys1(__NR_close, st.fds[0]))
        iow_tally_ret(&t[29], iow_sys1(__NR_close, st.fds[1]))
        if w.wait_failed:
            return i + 1
    return n


cdef uint64_t ior_signal_reexec_many_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    cdef uint64_t i
    cdef long pid, ppid, orig, k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        if iow_tally_ret(&t[0], iow_sys2(__NR_pipe2, <long>st.fds, 0)) != 0:
            return i
        orig = st.fds[0]
        for k in range(REEXEC_MANY):
            iow_tally_ret(&t[1], iow_sys3(__NR_dup3, orig, w.fd_base + k, O_CLOEXEC))
        iow_tally_ret(&t[2], iow_sys1(__NR_close, orig))
        pid = iow_sys5(__NR_clone, SIGCHLD, 0, 0, 0, 0)
        if pid == 0:
            # the stopper: each read stopped and continued while blocked, then fed k+1 bytes
            iow_tally_ret(&t[4], 0)  # clone returned 0 here
            iow_tally_ret(&t[5], iow_sys5(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
            ppid = iow_tally_ret(&t[6], iow_sys0(__NR_getppid))
            for k in range(REEXEC_MANY):
                stop_parent(w, &t[7], ppid, __NR_read, w.fd_base + k, k + 1, False)
                iow_tally_ret(&t[11 + k], iow_sys3(__NR_write, st.fds[1], <long>PAYLOAD, k + 1))
            iow_tally_ret(&t[11 + REEXEC_MANY], 0)  # exit_group does not return
            iow_sys1(__NR_exit_group, 0)
        iow_tally_ret(&t[3], pid)
        iow_note_task(w, pid)
        if pid > 0:
            for k in range(REEXEC_MANY):
                iow_tally_ret(&t[45 + k], iow_sys3(__NR_read, w.fd_base + k,
                                                   <long>st.read_buf, k + 1))
                iow_tally_ret(&t[44], -ERESTARTSYS)   # what the kernel returned at the stop
            iow_tally_ret(&t[77], iow_sys4(__NR_wait4, pid, <long>&st.status, 0, 0))
        for k in range(REEXEC_MANY):
            iow_tally_ret(&t[78], iow_sys1(__NR_close, w.fd_base + k))
        iow_tally_ret(&t[79], iow_sys1(__NR_close, st.fds[1]))
        if w.wait_failed:
            return i + 1
    return n


def _signals_supported():
    if not IOW_HAVE_SIGNALS or not IOW_HAVE_CLONE_THREAD:
        return "the raw signal restorer and helper thread are only written for x86-64 and aarch64"
    return None


CONSTANTS = {
    "SA_SIGINFO": SA_SIGINFO, "SA_RESTART": SA_RESTART, "SA_RESTORER": SA_RESTORER,
    "SS_DISABLE": SS_DISABLE, "SI_QUEUE": SI_QUEUE, "WUNTRACED": WUNTRACED,
}

_THREAD_CLONE = ("clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|"
                 "CLONE_CHILD_CLEARTID, &scratch_end, NULL, &helper_alive, 0)")
_FORK = "clone(SIGCHLD, 0, NULL, NULL, 0)"
_POLL = "pread64(?, &proc_buf, 63, 0) -> >=1 x1.."
_HANDLER = ("{sa_handler=&on_signal, sa_flags=SA_SIGINFO|SA_RESTORER|SA_RESTART, "
            "sa_restorer=&restorer, sa_mask=[]}")


def _handled_setup(handler=_HANDLER):
    return ["pid = getpid() -> >=1",
            f"rt_sigaction(SIGUSR1, {handler}, &saved_action, 8) -> 0",
            "rt_sigprocmask(SIG_UNBLOCK, [SIGUSR1], &setup_mask, 8) -> 0",
            'proc = openat(AT_FDCWD, "/proc/thread-self/syscall", O_RDONLY|O_CLOEXEC, 0) -> >=0']


_HANDLED_TEARDOWN = ["close(proc) -> 0",
                     "rt_sigprocmask(SIG_SETMASK, &setup_mask, NULL, 8) -> 0",
                     "rt_sigaction(SIGUSR1, &saved_action, NULL, 8) -> 0"]


def _stopped_child(sleep, stops):
    """stop_child()'s events: a forked child sleeps; the worker stops and continues it `stops`
    times, each once /proc/<child>/syscall shows it blocked in the sleep (then in
    restart_syscall)."""
    events = [f"child = {_FORK} -> >=1",
              f"child: {_FORK} -> 0 exit-only",
              "child: prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) -> 0",
              f"child: {sleep} -> -ERESTART_RESTARTBLOCK"]
    events += ["child: restart_syscall() -> -ERESTART_RESTARTBLOCK"] * (stops - 1)
    events += ["child: restart_syscall() -> 0",
               "child: exit_group(0) -> noreturn",
               "child_proc = openat(AT_FDCWD, ?, O_RDONLY|O_CLOEXEC, 0) -> >=0"]
    for _ in range(stops):
        events += ["pread64(child_proc, &proc_buf, 63, 0) -> >=1 x1..",
                   "kill(child, SIGSTOP) -> 0",
                   "wait4(child, &status, WUNTRACED, NULL) -> >=1",
                   "kill(child, SIGCONT) -> 0"]
    events += ["close(child_proc) -> 0", "wait4(child, &status, 0, NULL) -> >=1"]
    return events


_REEXEC_SETUP = ["pid = getpid() -> >=1",
                 f"rt_sigaction(SIGUSR1, {_HANDLER}, &saved_action, 8) -> 0",
                 "rt_sigaction(SIGUSR2, {sa_handler=&on_signal, sa_flags=SA_SIGINFO|SA_RESTORER, "
                 "sa_restorer=&restorer, sa_mask=[]}, &saved_action2, 8) -> 0",
                 "rt_sigprocmask(SIG_UNBLOCK, [SIGUSR1, SIGUSR2], &setup_mask, 8) -> 0"]
_REEXEC_TEARDOWN = ["rt_sigprocmask(SIG_SETMASK, &setup_mask, NULL, 8) -> 0",
                    "rt_sigaction(SIGUSR1, &saved_action, NULL, 8) -> 0",
                    "rt_sigaction(SIGUSR2, &saved_action2, NULL, 8) -> 0"]

_STOP_NOTE = ("SIGSTOP stops a whole thread group, so the task stopped here is a child process "
              "of the worker (raw clone), not the workers' own process as in ior (ior runs `sh -c "
              "'kill -STOP <pid>; kill -CONT <pid>'` against its main thread): the workers and, "
              "in run(), the caller's process are never stopped, and each worker stops only its "
              "own child. The worker is the stopper: it reads /proc/<child>/syscall (its path is "
              "the run's, hence ?) until the child is blocked in the sleep (x1..: as often as it "
              "takes), sends SIGSTOP, waits for the stop with wait4(WUNTRACED), sends SIGCONT. "
              "The child asks for SIGKILL when its parent thread dies (prctl), so an aborted run "
              "leaves no stopped process. The child's sleep returns -ERESTART_RESTARTBLOCK at "
              "the stop and the kernel resumes it with restart_syscall after SIGCONT; user space "
              "sees one 0. The child's sleep/restart tallies are written from what the kernel "
              "must have done (it cannot observe them); --verify has the kernel count them. "
              "That outcome depends on the stop landing before the sleep ends (a stop that "
              "wakes the child after its timer fired leaves a sleep that returned 0 and no "
              "restart): the sleep is long (1 s, 2 s for two stops) against any scheduling "
              "delay, and the worker checks it (wait4 saw the stop before the sleep's end, on "
              "the vDSO clock): a run where it did not fails with that reason, never with a "
              "stream that blames a tracer. Every wait (the poll, the handler) is bounded "
              "(20 s), ends on a stop request, and gives up when the child has exited or slept "
              "out, with the reason as the run's first mismatch.")

SCENARIOS = scenarios("signals", [
    dict(name="signals_basic",
         summary="SIGUSR1 ignored, blocked, sent to ourselves 4 ways, taken by rt_sigtimedwait",
         kernel=kernel(signals_basic_loop, signals_basic_setup),
         setup=["pid = getpid() -> >=1"],
         iteration=["rt_sigaction(SIGUSR1, {sa_handler=SIG_IGN, sa_flags=0, sa_mask=[]}, "
                    "&old_action, 8) -> 0",
                    "rt_sigprocmask(SIG_BLOCK, [SIGUSR1], &old_mask, 8) -> 0",
                    "sigaltstack({ss_sp=&altstack, ss_flags=0, ss_size=8192}, NULL) -> 0",
                    "sigaltstack({ss_sp=&altstack, ss_flags=SS_DISABLE, ss_size=8192}, NULL) -> 0",
                    "kill(pid, SIGUSR1) -> 0",
                    "tgkill(pid, ?, SIGUSR1) -> 0",
                    "tkill(?, SIGUSR1) -> 0",
                    "rt_sigqueueinfo(pid, SIGUSR1, {si_signo=SIGUSR1, si_code=SI_QUEUE}) -> 0",
                    "rt_sigpending(&pending, 8) -> 0",
                    "rt_sigtimedwait([SIGUSR1], &info, {tv_sec=0, tv_nsec=100000000}, 8) -> 10",
                    "rt_sigprocmask(SIG_SETMASK, &old_mask, NULL, 8) -> 0",
                    "rt_sigaction(SIGUSR1, &old_action, NULL, 8) -> 0"],
         requires=[_signals_supported],
         notes="As ior, once per iteration: SIGUSR1 is ignored and blocked, an alternate stack "
               "set and disabled, SIGUSR1 sent to the process (kill, rt_sigqueueinfo with "
               "si_code SI_QUEUE) and to this thread (tgkill; tkill finds it already pending), "
               "and rt_sigtimedwait takes the thread's pending one at once (10, SIGUSR1; ior "
               "tolerates EAGAIN, here it cannot happen). ? is the worker's tid. The "
               "process-directed ones are discarded at once where a thread of the process does "
               "not block SIGUSR1 (it is ignored: run() in your process), else they stay pending "
               "on the process, blocked by every thread, until it exits (a spawned run). The "
               "workers of a run take turns for the iteration (a spin lock, no syscall), so one "
               "worker never restores SIGUSR1's action while another still sends it."),
    dict(name="signal_restart",
         summary="a pipe read restarted after a SA_RESTART handler; a sleep ended by one (EINTR)",
         kernel=kernel(signal_restart_loop, signal_restart_setup, handled_teardown_usr1),
         setup=_handled_setup(),
         iteration=["pipe2(&fds, 0) -> 0",
                    "gettid() -> >=1",
                    f"{_THREAD_CLONE} -> >=1",
                    f"helper: {_THREAD_CLONE} -> 0 exit-only",
                    f"helper: {_POLL}",
                    "helper: tgkill(?, ?, SIGUSR1) -> 0",
                    'helper: write(?, "x", 1) -> 1',
                    f"helper: {_POLL}",
                    "helper: tgkill(?, ?, SIGUSR1) -> 0",
                    "helper: exit(0) -> noreturn",
                    "read(?, &byte, 1) -> -ERESTARTSYS",
                    "rt_sigreturn() -> 0",
                    "read(?, &byte, 1) -> 1",
                    "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=2, tv_nsec=0}, NULL) "
                    "-> -ERESTART_RESTARTBLOCK",
                    "rt_sigreturn() -> -EINTR",
                    "close(?) -> 0", "close(?) -> 0"],
         teardown=_HANDLED_TEARDOWN,
         requires=[_signals_supported],
         notes="The handler (SA_SIGINFO|SA_RESTART, our own restorer issuing the raw "
               "rt_sigreturn) is installed in setup and SIGUSR1 unblocked on the worker; a "
               "helper thread (raw clone, ior's goroutine) reads the worker's "
               "/proc/thread-self/syscall (opened by the worker in setup: the helper's fd is "
               "that one, hence ?) until the worker is blocked in read on the pipe (x1..), "
               "sends tgkill(pid, worker tid, SIGUSR1), writes one byte; then waits until the "
               "worker sleeps in clock_nanosleep and signals again. The kernel returns "
               "-ERESTARTSYS from the read, runs the handler, and re-executes the read (1); "
               "the sleep returns -ERESTART_RESTARTBLOCK, which a handler turns into EINTR. "
               "rt_sigreturn has no sys_exit tracepoint; what strace prints for it is the "
               "register it restores: 0 (rax = read's number, x86-64) and -EINTR. ior sleeps "
               "150 ms before each signal instead of looking; its pipe comes from Go's "
               "syscall.Pipe (pipe2, flags 0). The last worker's teardown restores the "
               "process's SIGUSR1 action (run() in your process: yours)."),
    dict(name="signal_handled_sleep",
         summary="a sleep ended by a handled signal; a child's nanosleep stopped and restarted",
         kernel=kernel(signal_handled_sleep_loop, signal_handled_sleep_setup,
                       handled_teardown_usr1),
         setup=_handled_setup(),
         iteration=[f"{_THREAD_CLONE} -> >=1",
                    f"helper: {_THREAD_CLONE} -> 0 exit-only",
                    f"helper: {_POLL}",
                    "helper: tgkill(?, ?, SIGUSR1) -> 0",
                    "helper: exit(0) -> noreturn",
                    "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=3, tv_nsec=0}, NULL) "
                    "-> -ERESTART_RESTARTBLOCK",
                    "rt_sigreturn() -> -EINTR"]
             + _stopped_child("nanosleep({tv_sec=1, tv_nsec=0}, NULL)", 1),
         teardown=_HANDLED_TEARDOWN,
         requires=[_signals_supported],
         notes="Part 1 as signal_restart's sleep: a helper thread signals the worker once it "
               "sleeps. Part 2: ior's stopped nanosleep(1 s). " + _STOP_NOTE),
    dict(name="stop_restart",
         summary="a child's clock_nanosleep stopped and continued: restart_syscall resumes it",
         kernel=kernel(stop_restart_loop),
         iteration=_stopped_child(
             "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=1, tv_nsec=0}, NULL)",
             1),
         notes="ior sleeps 600 ms; here 1 s. " + _STOP_NOTE),
    dict(name="stop_restart_twice",
         summary="a child's clock_nanosleep stopped twice: two restart_syscalls",
         kernel=kernel(stop_restart_twice_loop),
         iteration=["gettid() -> >=1"] + _stopped_child(
             "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=2, tv_nsec=0}, NULL)",
             2),
         notes="ior sleeps 1.5 s; here 2 s. The second stop comes once /proc shows the "
               "child blocked in restart_syscall. " + _STOP_NOTE),
    dict(name="signal_reexec",
         summary="a child's pipe read stopped, then signalled with and without SA_RESTART",
         kernel=kernel(signal_reexec_loop, reexec_setup, reexec_teardown),
         setup=_REEXEC_SETUP,
         iteration=["pipe2(&fds, 0) -> 0",
                    "fd200 = dup3(?, ?, O_CLOEXEC) -> >=200",
                    "close(?) -> 0",
                    f"child = {_FORK} -> >=1",
                    f"child: {_FORK} -> 0 exit-only",
                    "child: prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) -> 0",
                    "child: read(?, &buf, 1) -> -ERESTARTSYS",
                    "child: read(?, &buf, 1) -> 1",
                    "child: read(?, &buf, 2) -> -ERESTARTSYS",
                    "child: rt_sigreturn() -> 0",
                    "child: read(?, &buf, 2) -> 2",
                    "child: read(?, &buf, 3) -> -ERESTARTSYS",
                    "child: rt_sigreturn() -> -EINTR",
                    "child: read(?, &buf, 3) -> 3",
                    "child: exit_group(0) -> noreturn",
                    "child_proc = openat(AT_FDCWD, ?, O_RDONLY|O_CLOEXEC, 0) -> >=0",
                    "pread64(child_proc, &proc_buf, 63, 0) -> >=1 x1..",
                    "kill(child, SIGSTOP) -> 0",
                    "wait4(child, &status, WUNTRACED, NULL) -> >=1",
                    "kill(child, SIGCONT) -> 0",
                    'write(?, "x", 1) -> 1',
                    "pread64(child_proc, &proc_buf, 63, 0) -> >=1 x1..",
                    "tgkill(child, child, SIGUSR1) -> 0",
                    'write(?, "xx", 2) -> 2',
                    "pread64(child_proc, &proc_buf, 63, 0) -> >=1 x1..",
                    "tgkill(child, child, SIGUSR2) -> 0",
                    'write(?, "xxx", 3) -> 3',
                    "close(child_proc) -> 0",
                    "wait4(child, &status, 0, NULL) -> >=1",
                    "close(fd200) -> 0",
                    "close(?) -> 0"],
         teardown=_REEXEC_TEARDOWN,
         fixed_fds=(REEXEC_FD, 1),
         requires=[_signals_supported],
         notes="ior's three reads on fd 200 (here 200 + the worker's index, or the first free "
               "block above), read by a forked child (a stop stops a whole process): (1) "
               "stopped and continued while blocked: the kernel returns -ERESTARTSYS and, with "
               "no handler, re-executes the read (1 byte); (2) SIGUSR1, handled with "
               "SA_RESTART: -ERESTARTSYS, the handler, rt_sigreturn (0: rax = read's number), "
               "the read re-executed (2); (3) SIGUSR2, handled without SA_RESTART: -ERESTARTSYS "
               "at sys_exit, -EINTR to the child (rt_sigreturn's value), which reads again (3). "
               "The worker stops or signals (tgkill to the child) only once "
               "/proc/<child>/syscall shows the child blocked in that read (fd and count), and "
               "writes the bytes only after the child's handler ran (else the read could take "
               "them before the signal). ior installs SIGUSR2 with SA_RESTART (Go's runtime) "
               "and clears it with a raw rt_sigaction get/set; here it is installed without it "
               "in setup. ior's payload bytes are not recorded; here 'x's. " + _STOP_NOTE),
    dict(name="signal_reexec_many",
         summary="a child reads fds 300..331, k+1 bytes each, every read stopped and continued",
         kernel=kernel(signal_reexec_many_loop),
         iteration=["pipe2(&fds, 0) -> 0",
                    "dup3(?, ?, O_CLOEXEC) -> >=300 x32",
                    "close(?) -> 0",
                    f"child = {_FORK} -> >=1",
                    f"child: {_FORK} -> 0 exit-only",
                    "child: prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) -> 0",
                    "child: read(?, &buf, ?) -> -ERESTARTSYS x32"]
             + [f"child: read(?, &buf, {k + 1}) -> {k + 1}" for k in range(32)]
             + ["child: exit_group(0) -> noreturn",
                "child_proc = openat(AT_FDCWD, ?, O_RDONLY|O_CLOEXEC, 0) -> >=0",
                "pread64(child_proc, &proc_buf, 63, 0) -> >=1 x32..",
                "kill(child, SIGSTOP) -> 0 x32",
                "wait4(child, &status, WUNTRACED, NULL) -> >=1 x32",
                "kill(child, SIGCONT) -> 0 x32"]
             + [f'write(?, "{"x" * (k + 1)}", {k + 1}) -> {k + 1}' for k in range(32)]
             + ["close(child_proc) -> 0",
                "wait4(child, &status, 0, NULL) -> >=1",
                "close(?) -> 0 x32",
                "close(?) -> 0"],
         fixed_fds=(REEXEC_MANY_FD, REEXEC_MANY),
         requires=[_signals_supported],
         notes="ior's 32 reads, read k+1 bytes from fd 300+k (here 300 + 32 x the worker's "
               "index + k, or the first free block above), by a forked child; for each, once "
               "/proc/<child>/syscall shows the child blocked in that read (fd and count), the "
               "worker stops and continues it (the kernel returns -ERESTARTSYS and re-executes "
               "the read), then writes k+1 bytes. The loops are written as xN events: per k, "
               "the child's -ERESTARTSYS read and read of k+1 bytes, the worker's polls, "
               "SIGSTOP, wait4, SIGCONT and write interleave in that order. " + _STOP_NOTE),
])


def _stopper_child(sleep, stops):
    """stopped_sleep()'s events (ior mode): a forked child stops and continues the worker
    `stops` times while it sleeps, each once the worker's /proc/thread-self/syscall shows it
    blocked in the sleep (then in restart_syscall) and until its stat shows it stopped."""
    events = [f"stopper = {_FORK} -> >=1",
              f"child: {_FORK} -> 0 exit-only",
              "child: prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) -> 0",
              "child: ppid = getppid() -> >=1"]
    for _ in range(stops):
        events += [f"child: {_POLL}",
                   "child: kill(ppid, SIGSTOP) -> 0",
                   f"child: {_POLL}",
                   "child: kill(ppid, SIGCONT) -> 0"]
    events += ["child: exit_group(0) -> noreturn",
               f"{sleep} -> -ERESTART_RESTARTBLOCK"]
    events += ["restart_syscall() -> -ERESTART_RESTARTBLOCK"] * (stops - 1)
    events += ["restart_syscall() -> 0", "wait4(stopper, &status, 0, NULL) -> >=1"]
    return events


_OWN_PROC = ['proc = openat(AT_FDCWD, "/proc/thread-self/syscall", O_RDONLY|O_CLOEXEC, 0) -> >=0',
             'stat = openat(AT_FDCWD, "/proc/thread-self/stat", O_RDONLY|O_CLOEXEC, 0) -> >=0']
_OWN_PROC_CLOSE = ["close(proc) -> 0", "close(stat) -> 0"]
_IOR_STOP_NOTE = ("ior mode's sequence, as ior's: the worker (the process's main thread; one "
                  "worker only) is the one stopped. A forked child (raw clone; SIGKILL when its "
                  "parent thread dies) reads the worker's /proc/thread-self/syscall (opened by "
                  "the worker in setup and inherited: ? in the child) until it is blocked in "
                  "the call (x1..), sends SIGSTOP to the worker's process, reads its "
                  "/proc/thread-self/stat until it shows the stop (T; t under ptrace; x1..), sends "
                  "SIGCONT. ior's stopper is `sh -c 'kill -STOP <pid>; sleep; kill -CONT <pid>'`, "
                  "timed by sleeps instead of looking. Only ever in the scenario's own process "
                  "(the command spawns it): it stops the whole process. ior's sleeps are kept; "
                  "the stopper checks that its stop showed before the sleep's end (else the "
                  "timer may have won: the run fails with that reason), and every wait of its "
                  "is bounded and ends when the worker slept out or the run is stopped.")

# ior mode runs these instead of the scenarios of the same name (ior_mode.scenario_for_ior).
IOR_SCENARIOS = scenarios("signals", [
    dict(name="stop_restart",
         summary="the worker's clock_nanosleep stopped and continued by a child (ior's)",
         kernel=kernel(ior_stop_restart_loop, ior_stopped_setup, ior_stopped_teardown),
         setup=_OWN_PROC,
         iteration=_stopper_child(
             "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=600000000}, NULL)", 1),
         teardown=_OWN_PROC_CLOSE,
         requires=[_signals_supported],
         notes="ior's 600 ms sleep, which the kernel resumes with restart_syscall after the "
               "stop. " + _IOR_STOP_NOTE),
    dict(name="stop_restart_twice",
         summary="the worker's clock_nanosleep stopped twice by a child (ior's)",
         kernel=kernel(ior_stop_restart_twice_loop, ior_stopped_setup, ior_stopped_teardown),
         setup=_OWN_PROC,
         iteration=["gettid() -> >=1"] + _stopper_child(
             "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=1, tv_nsec=500000000}, NULL)", 2),
         teardown=_OWN_PROC_CLOSE,
         requires=[_signals_supported],
         notes="ior's 1.5 s sleep; the second stop comes once /proc shows the worker in "
               "restart_syscall. " + _IOR_STOP_NOTE),
    dict(name="signal_handled_sleep",
         summary="a sleep ended by a handled signal; the worker's nanosleep stopped by a child",
         kernel=kernel(ior_handled_sleep_loop, ior_handled_sleep_setup,
                       ior_handled_sleep_teardown),
         setup=_handled_setup() + _OWN_PROC[1:],
         iteration=[f"{_THREAD_CLONE} -> >=1",
                    f"helper: {_THREAD_CLONE} -> 0 exit-only",
                    f"helper: {_POLL}",
                    "helper: tgkill(?, ?, SIGUSR1) -> 0",
                    "helper: exit(0) -> noreturn",
                    "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=3, tv_nsec=0}, NULL) "
                    "-> -ERESTART_RESTARTBLOCK",
                    "rt_sigreturn() -> -EINTR"]
             + _stopper_child("nanosleep({tv_sec=1, tv_nsec=0}, NULL)", 1),
         teardown=_HANDLED_TEARDOWN + _OWN_PROC_CLOSE[1:],
         requires=[_signals_supported],
         notes="Part 1 as the normal mode's; part 2: ior's 1 s nanosleep, the worker's own. "
               + _IOR_STOP_NOTE),
    dict(name="signal_reexec",
         summary="the worker's pipe read stopped by a child, then signalled with and without "
                 "SA_RESTART (ior's)",
         kernel=kernel(ior_signal_reexec_loop, ior_reexec_setup, ior_reexec_teardown),
         setup=_REEXEC_SETUP + _OWN_PROC,
         iteration=["pipe2(&fds, 0) -> 0",
                    "fd200 = dup3(?, ?, O_CLOEXEC) -> >=200",
                    "close(?) -> 0",
                    f"stopper = {_FORK} -> >=1",
                    f"child: {_FORK} -> 0 exit-only",
                    "child: prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) -> 0",
                    "child: ppid = getppid() -> >=1",
                    f"child: {_POLL}",
                    "child: kill(ppid, SIGSTOP) -> 0",
                    f"child: {_POLL}",
                    "child: kill(ppid, SIGCONT) -> 0",
                    'child: write(?, "x", 1) -> 1',
                    f"child: {_POLL}",
                    "child: tgkill(ppid, ppid, SIGUSR1) -> 0",
                    'child: write(?, "xx", 2) -> 2',
                    f"child: {_POLL}",
                    "child: tgkill(ppid, ppid, SIGUSR2) -> 0",
                    'child: write(?, "xxx", 3) -> 3',
                    "child: exit_group(0) -> noreturn",
                    "read(fd200, &buf, 1) -> -ERESTARTSYS",
                    "read(fd200, &buf, 1) -> 1",
                    "read(fd200, &buf, 2) -> -ERESTARTSYS",
                    "rt_sigreturn() -> 0",
                    "read(fd200, &buf, 2) -> 2",
                    "read(fd200, &buf, 3) -> -ERESTARTSYS",
                    "rt_sigreturn() -> -EINTR",
                    "read(fd200, &buf, 3) -> 3",
                    "wait4(stopper, &status, 0, NULL) -> >=1",
                    "close(fd200) -> 0",
                    "close(?) -> 0"],
         teardown=_REEXEC_TEARDOWN + _OWN_PROC_CLOSE,
         fixed_fds=(REEXEC_FD, 1),
         requires=[_signals_supported],
         notes="ior's three reads on fd 200, the worker's own: stopped and continued (the "
               "kernel re-executes it: -ERESTARTSYS, then 1), SIGUSR1 with SA_RESTART "
               "(-ERESTARTSYS, the handler, rt_sigreturn, the read again: 2), SIGUSR2 without "
               "(-ERESTARTSYS, -EINTR to the worker, which reads again: 3). The child signals "
               "with tgkill(ppid, ppid: the main thread) once the worker's "
               "/proc/thread-self/syscall shows the read (fd and count), and writes the bytes "
               "after the stop or the handler. " + _IOR_STOP_NOTE),
    dict(name="signal_reexec_many",
         summary="the worker reads fds 300..331, k+1 bytes each, every read stopped by a child "
                 "(ior's)",
         kernel=kernel(ior_signal_reexec_many_loop, ior_stopped_setup, ior_stopped_teardown),
         setup=_OWN_PROC,
         iteration=["pipe2(&fds, 0) -> 0",
                    "dup3(?, ?, O_CLOEXEC) -> >=300 x32",
                    "close(?) -> 0",
                    f"stopper = {_FORK} -> >=1",
                    f"child: {_FORK} -> 0 exit-only",
                    "child: prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) -> 0",
                    "child: ppid = getppid() -> >=1",
                    "child: pread64(?, &proc_buf, 63, 0) -> >=1 x32..",
                    "child: kill(ppid, SIGSTOP) -> 0 x32",
                    "child: pread64(?, &proc_buf, 63, 0) -> >=1 x32..",
                    "child: kill(ppid, SIGCONT) -> 0 x32"]
             + [f'child: write(?, "{"x" * (k + 1)}", {k + 1}) -> {k + 1}' for k in range(32)]
             + ["child: exit_group(0) -> noreturn",
                "read(?, &buf, ?) -> -ERESTARTSYS x32"]
             + [f"read(?, &buf, {k + 1}) -> {k + 1}" for k in range(32)]
             + ["wait4(stopper, &status, 0, NULL) -> >=1",
                "close(?) -> 0 x32",
                "close(?) -> 0"],
         teardown=_OWN_PROC_CLOSE,
         fixed_fds=(REEXEC_MANY_FD, REEXEC_MANY),
         requires=[_signals_supported],
         notes="ior's 32 reads, the worker's own: read k+1 bytes from fd 300+k; for each, once "
               "the worker is blocked in it (fd and count), the child stops and continues the "
               "worker (the kernel: -ERESTARTSYS, then the read re-executed) and writes k+1 "
               "bytes. The loops are written as xN events: per k the child's polls, SIGSTOP, "
               "SIGCONT and write, and the worker's -ERESTARTSYS read and read of k+1 bytes. "
               + _IOR_STOP_NOTE),
])
for _sc in IOR_SCENARIOS:
    _sc.one_worker = True   # a stop stops every worker of the process


# ---- signal_pause_sigsuspend ----

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_rt_sigsuspend
        IOW_NR_pause

cdef enum:
    ERESTARTNOHAND = 514


cdef enum:
    RESIGNAL_NS = 1000000     # a helper that gave up its wait signals pause again this often


cdef void pause_helper(void *arg) noexcept nogil:
    # The helper: wait until the worker sleeps in pause, signal it, exit. pause ends only by a
    # signal: a helper that gave up its wait (the run has failed then) signals again until the
    # worker is past pause (undeclared calls of a failed run), so the worker is never left in it.
    cdef iow_worker *w = <iow_worker *>arg
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    cdef int64_t next_signal
    iow_tally_ret(&t[1], 0)  # clone returned 0 here
    if wait_until_blocked(w, &t[2], w.val[V_PROC_FD], st.proc_buf, IOW_NR_pause, -1, -1,
                          &st.sleep_over, "the worker to block in pause"):
        iow_tally_ret(&t[3], iow_sys3(__NR_tgkill, w.val[V_PID], w.tid, SIGUSR1))
    else:
        while not iow_load_acquire(&st.sleep_over):
            iow_sys3(__NR_tgkill, w.val[V_PID], w.tid, SIGUSR1)
            next_signal = iow_now_ns() + RESIGNAL_NS
            while iow_now_ns() < next_signal and not iow_load_acquire(&st.sleep_over):
                iow_cpu_relax()
    iow_tally_ret(&t[4], 0)  # exit does not return
    iow_sys1(__NR_exit, 0)


cdef uint64_t signal_pause_sigsuspend_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SigState *st = state(w)
    cdef iow_tally *t = w.iter
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_store_release(&st.sleep_over, 0)
        if start_helper(w, &t[0], pause_helper) > 0:
            iow_arm(&t[5], ERESTARTNOHAND, &t[6], &st.handler_ran)
            iow_sys0(IOW_NR_pause)   # returns -EINTR: rt_sigreturn's value, tallied by the handler
            iow_store_release(&st.sleep_over, 1)
            join_helper(w)
        # SIGUSR1 pending while blocked; rt_sigsuspend's mask lets it in at once
        st.set = sigbit(SIGUSR1)
        iow_tally_ret(&t[7], iow_sys4(__NR_rt_sigprocmask, SIG_BLOCK, <long>&st.set, 0,
                                      SIGSET_BYTES))
        iow_tally_ret(&t[8], iow_sys3(__NR_tgkill, w.val[V_PID], w.tid, SIGUSR1))
        st.pending = ~sigbit(SIGUSR1)
        iow_arm(&t[9], ERESTARTNOHAND, &t[10], &st.handler_ran)
        iow_sys2(__NR_rt_sigsuspend, <long>&st.pending, SIGSET_BYTES)
        iow_tally_ret(&t[11], iow_sys4(__NR_rt_sigprocmask, SIG_UNBLOCK, <long>&st.set, 0,
                                       SIGSET_BYTES))
        if w.wait_failed:
            return i + 1
    return n


def _pause_supported():
    if IOW_NR_pause < 0:
        return "this architecture has no pause syscall (only ppoll and rt_sigsuspend)"
    return _signals_supported()


SCENARIOS += scenarios("signals", [
    dict(name="signal_pause_sigsuspend",
         summary="pause ended by a helper's SIGUSR1; rt_sigsuspend letting in a pending one",
         kernel=kernel(signal_pause_sigsuspend_loop, signal_restart_setup, handled_teardown_usr1),
         setup=_handled_setup(),
         iteration=[f"{_THREAD_CLONE} -> >=1",
                    f"helper: {_THREAD_CLONE} -> 0 exit-only",
                    f"helper: {_POLL}",
                    "helper: tgkill(?, ?, SIGUSR1) -> 0",
                    "helper: exit(0) -> noreturn",
                    "pause() -> -ERESTARTNOHAND",
                    "rt_sigreturn() -> -EINTR",
                    "rt_sigprocmask(SIG_BLOCK, [SIGUSR1], NULL, 8) -> 0",
                    "tgkill(pid, ?, SIGUSR1) -> 0",
                    "rt_sigsuspend([~SIGUSR1], 8) -> -ERESTARTNOHAND",
                    "rt_sigreturn() -> -EINTR",
                    "rt_sigprocmask(SIG_UNBLOCK, [SIGUSR1], NULL, 8) -> 0"],
         teardown=_HANDLED_TEARDOWN,
         requires=[_pause_supported],
         notes="signal_restart's handler and setup. pause sleeps until a signal: a helper "
               "thread reads the worker's /proc/thread-self/syscall until it shows pause "
               "(x1..) and sends tgkill(pid, worker tid, SIGUSR1); the kernel returns "
               "-ERESTARTNOHAND, runs the handler, and pause returns -EINTR (rt_sigreturn's "
               "restored value). Then the worker blocks SIGUSR1, sends it to itself (pending), "
               "and rt_sigsuspend with every signal blocked but SIGUSR1 lets it in at once: "
               "-ERESTARTNOHAND, the handler, -EINTR, and the mask from before the suspend "
               "(SIGUSR1 blocked) is back; the worker unblocks it."),
])
