# The shared runner: worker threads, the release, timing and the outcome tallies.
#
# Life of a run (the controller is the calling Python thread):
#   start() / spawn()  T workers start with every signal blocked, learn their tid, name
#                themselves "ioworkload", run the kernel's prestart if it has one (ior mode:
#                a task parked for the run, before the PID line) and sleep in one futex wait
#                on the start word. start()
#                makes them threads of this process; spawn() forks a process whose main thread
#                is worker 0 and whose other workers are its threads (the process a tracer
#                attaches to: after the fork it runs only this file's C code).
#   parked()     every worker is asleep in that wait (the controller checks /proc).
#   release()    one FUTEX_WAKE: each worker returns 0 from its wait, runs setup, the timed
#                loop and teardown, adds itself to the done count, wakes the controller
#                (FUTEX_WAKE) and ends: a thread with exit(0); the spawned process's main thread
#                first waits once more (the leave word: hold file, counters read), then
#                exit_group(0).
# So from the release on, every syscall of every worker is declared (expect.py), and the
# controller never issues one on a worker's behalf. All state lives in MAP_SHARED memory, so a
# spawned process's tallies and clocks are read here directly.

from libc.stdint cimport uint64_t, int64_t
from libc.string cimport memcpy, strlen, strncpy
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from posix.signal cimport sigset_t, sigfillset

from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_kernel, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys6, iow_now_ns,
    IOW_MAX_EVENTS, IOW_ERRNO_SLOTS, IOW_NFDS, IOW_SCRATCH_BYTES, IOW_PATH_MAX, IOW_TASK_LOG,
    IOW_WAIT_STOPPED, IOW_WAIT_GONE, IOW_WAIT_TIMEOUT, IOW_WAIT_LATE, IOW_WAIT_BOUND_NS,
)

cdef extern from "<pthread.h>" nogil:
    ctypedef unsigned long pthread_t
    ctypedef struct pthread_attr_t:
        pass
    int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                       void *(*start)(void *) noexcept nogil, void *arg)
    int pthread_join(pthread_t thread, void **retval)
    int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
    int SIG_SETMASK

cdef extern from "<sys/mman.h>" nogil:
    void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)
    int munmap(void *addr, size_t length)
    void *MAP_FAILED
    enum:
        PROT_READ
        PROT_WRITE
        MAP_SHARED
        MAP_ANONYMOUS

cdef extern from "<unistd.h>" nogil:
    int fork()
    void _exit(int status)

cdef extern from "<linux/futex.h>" nogil:
    enum:
        FUTEX_WAIT
        FUTEX_WAKE

cdef extern from "<linux/prctl.h>" nogil:
    enum:
        PR_SET_NAME
        PR_SET_PDEATHSIG

cdef extern from "<signal.h>" nogil:
    enum:
        SIGKILL

cdef extern from "<sched.h>" nogil:
    enum:
        CLONE_NEWIPC
        CLONE_NEWUSER
        CLONE_NEWPID
        CLONE_NEWNS

cdef extern from "<sys/mount.h>" nogil:
    enum:
        MS_REC
        MS_PRIVATE
        MS_NOSUID
        MS_NODEV
        MS_NOEXEC

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDONLY
        O_WRONLY
        O_CLOEXEC

cdef extern from "<poll.h>" nogil:
    struct pollfd:
        int fd
        short events
        short revents
    enum:
        POLLIN

cdef extern from "<stdio.h>" nogil:
    int snprintf(char *out, size_t size, const char *fmt, ...)

cdef extern from "<sys/ipc.h>" nogil:
    enum:
        IPC_RMID

cdef extern from "<errno.h>" nogil:
    int errno
    enum:
        EPERM
        EINTR
        ETIMEDOUT
        EAGAIN

cdef extern from "<time.h>" nogil:
    struct timespec:
        long tv_sec
        long tv_nsec

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_gettid
        __NR_getpid
        __NR_kill
        __NR_futex
        __NR_prctl
        __NR_exit
        __NR_exit_group
        __NR_unshare
        __NR_openat
        __NR_write
        __NR_close
        __NR_geteuid
        __NR_getegid
        __NR_mq_unlink
        __NR_shmctl
        __NR_msgctl
        __NR_semctl
        __NR_setns
        __NR_pidfd_open
        __NR_poll
        __NR_setsid
        __NR_getpgid
        __NR_mount
        IOW_RAW_SYSCALLS

cdef extern from "iow_worker.h" nogil:
    enum:
        IOW_RESTART_SLOT0
    void iow_tally_reset(iow_tally *t, int n)
    int iow_load_acquire(const int *p)
    void iow_store_release(int *p, int v)
    int iow_fetch_add(int *p, int v)
    void iow_cpu_relax()

RAW_SYSCALLS = bool(IOW_RAW_SYSCALLS)
# Why a scenario gave up a wait for another task (results()' wait_failed), for the report.
WAIT_FAILURES = {
    IOW_WAIT_STOPPED: "cut short by the stop request (that iteration is partial)",
    IOW_WAIT_GONE: "given up: the other task had exited or gone past that point (descheduled "
                   "or stopped past it?)",
    IOW_WAIT_TIMEOUT: f"given up after {IOW_WAIT_BOUND_NS // 1000000000} s",
    IOW_WAIT_LATE: "too late: the sleep may have ended first (a loaded machine?), so the kernel's "
                   "outcome is not the declared one",
}
MAX_DIR_BYTES = IOW_PATH_MAX - 64  # a worker's directory; scenarios append their file names

cdef struct Shared:
    int stop
    int start_word    # futex: 1 at the release
    int done_count    # futex: workers that finished
    int leave_word    # futex: 1 lets a spawned process's main thread exit
    int launch_error  # a spawned process could not start its threads (pthread_create's rc)
    int exit_status   # a spawned process's final exit_group(exit_status): 0 but for `crash`
    int private_ipc   # a spawned process's unshare(CLONE_NEWIPC): 0 done, -errno refused,
                      # 1 not asked
    int own_proc      # a spawned process's /proc of its own (own_proc_mount): the same

cdef struct Slot:
    iow_worker *w
    iow_kernel *k
    Shared *sh
    uint64_t target        # iterations to run (ignored when duration_ns > 0)
    int64_t duration_ns    # > 0: run until this long has passed
    int64_t period_ns      # > 0: paced, one iteration per period (--rate)
    uint64_t done
    int64_t t0
    int64_t t1
    int setup_rc
    long prestart_rc       # the prestart's parked task (tid/pid > 0), 0 (none) or -errno
    int tid
    int ready
    int started
    int main_of_process    # worker 0 of a spawned process: leaves with exit_group
    pthread_t thread

cdef size_t WORKER_BYTES = ((sizeof(iow_worker) + 4095) // 4096) * 4096


cdef void *shared_alloc(size_t n) noexcept nogil:
    # MAP_SHARED: a spawned process writes its tallies where the controller reads them.
    cdef void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
    return NULL if p == MAP_FAILED else p


cdef uint64_t run_for(Slot *s) noexcept nogil:
    # Adaptive chunks: the clock is read once per chunk, each chunk aimed at ~2 ms, so the
    # deadline is met closely without reading the clock on every iteration.
    cdef uint64_t chunk = 1, total = 0, ran
    cdef int64_t deadline = s.t0 + s.duration_ns, before, now, took
    cdef iow_worker *w = s.w
    before = s.t0
    while not iow_load_acquire(&s.sh.stop):
        ran = s.k.loop(w, chunk)
        total += ran
        now = iow_now_ns()
        if ran < chunk or now >= deadline:
            break
        took = now - before
        before = now
        if took < 1000000 and chunk < (<uint64_t>1 << 40):
            chunk *= 2
        elif took > 4000000 and chunk > 1:
            chunk //= 2
        if <uint64_t>(deadline - now) < (<uint64_t>took):
            # the next chunk would overshoot: shrink it to the time that is left
            chunk = max(<uint64_t>1, <uint64_t>((<double>chunk) * (deadline - now) / took))
    return total


cdef enum:
    PACE_SLACK_NS = 20000000  # behind by more than this: the schedule restarts from now

cdef uint64_t run_paced(Slot *s) noexcept nogil:
    # One iteration per period, each started at t0 + i * period: the wait spins on the vDSO
    # clock (no syscall), so the declared stream is the same as unpaced. A thread that was
    # preempted catches up (the average stays R on a busy machine), but never by more than
    # 20 ms of iterations: a loop that cannot keep up (a slow tracer) runs as fast as it can.
    cdef uint64_t total = 0
    cdef int64_t period = s.period_ns, due = s.t0, now
    cdef bint timed = s.duration_ns > 0
    cdef int64_t deadline = s.t0 + s.duration_ns
    cdef iow_worker *w = s.w
    while not iow_load_acquire(&s.sh.stop):
        if not timed and total >= s.target:
            break
        now = iow_now_ns()
        while now < due:
            if iow_load_acquire(&s.sh.stop) or (timed and now >= deadline):
                return total  # a slow rate's next start may lie far past the duration
            iow_cpu_relax()
            now = iow_now_ns()
        if timed and now >= deadline:
            break
        if s.k.loop(w, 1) < 1:
            break
        total += 1
        due += period
        if due < now - PACE_SLACK_NS:
            due = now
    return total


cdef inline long futex_wait(int *word, int value) noexcept nogil:
    # Non-private: the word may be shared with the controller in another process.
    return iow_sys6(__NR_futex, <long>word, FUTEX_WAIT, value, 0, 0, 0)


cdef inline long futex_wake(int *word) noexcept nogil:
    return iow_sys6(__NR_futex, <long>word, FUTEX_WAKE, 0x7fffffff, 0, 0, 0)


cdef long write_own_proc_file(const char *path, const char *text) noexcept nogil:
    cdef long fd = iow_sys6(__NR_openat, AT_FDCWD, <long>path, O_WRONLY | O_CLOEXEC, 0, 0, 0)
    if fd < 0:
        return fd
    cdef long written = iow_sys6(__NR_write, fd, <long>text, strlen(text), 0, 0, 0)
    iow_sys1(__NR_close, fd)
    return written if written < 0 else 0


cdef long private_ipc_namespace() noexcept nogil:
    """An IPC namespace for the (still single-threaded) scenario process: 0 or -errno. Without
    CAP_SYS_ADMIN, inside a user namespace of its own whose ids map to the process's own, so
    it keeps its uid and gid (any user may; a host can forbid it)."""
    cdef char line[64]
    cdef long uid, gid, r = iow_sys1(__NR_unshare, CLONE_NEWIPC)
    if r != -EPERM:  # done, or a kernel without IPC namespaces
        return r
    uid = iow_sys0(__NR_geteuid)
    gid = iow_sys0(__NR_getegid)
    r = iow_sys1(__NR_unshare, CLONE_NEWUSER | CLONE_NEWIPC)
    if r < 0:
        return r
    # the namespace exists now: mapping failures leave ids unmapped, not the objects behind
    write_own_proc_file(b"/proc/self/setgroups", b"deny")
    snprintf(line, sizeof(line), b"%ld %ld 1", uid, uid)
    write_own_proc_file(b"/proc/self/uid_map", line)
    snprintf(line, sizeof(line), b"%ld %ld 1", gid, gid)
    write_own_proc_file(b"/proc/self/gid_map", line)
    return 0


cdef long own_proc_mount() noexcept nogil:
    """A /proc that shows the scenario process's own PID namespace (its C code reads
    /proc/<pid> with the ids its calls return), in a mount namespace of its own, made private
    first so nothing propagates back; it goes away with the process. 0 or -errno."""
    cdef long r = iow_sys1(__NR_unshare, CLONE_NEWNS)
    if r == 0:
        r = iow_sys6(__NR_mount, 0, <long><const char *>b"/", 0, MS_REC | MS_PRIVATE, 0, 0)
    if r == 0:
        r = iow_sys6(__NR_mount, <long><const char *>b"proc", <long><const char *>b"/proc",
                     <long><const char *>b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, 0)
    return r


cdef void worker_body(Slot *s) noexcept nogil:
    """A worker's whole life after it is started; never returns."""
    cdef iow_worker *w = s.w
    cdef Shared *sh = s.sh
    s.tid = w.tid = <int>iow_sys0(__NR_gettid)
    iow_sys2(__NR_prctl, PR_SET_NAME, <long><const char *>b"ioworkload")
    if s.k.prestart != NULL:
        s.prestart_rc = s.k.prestart(w)
    iow_store_release(&s.ready, 1)
    while not iow_load_acquire(&sh.start_word):
        futex_wait(&sh.start_word, 0)
    # ---- released: from here every syscall is an event of the expectation ----
    if not iow_load_acquire(&sh.stop):
        s.setup_rc = s.k.setup(w) if s.k.setup != NULL else 0
        s.t0 = iow_now_ns()
        if s.setup_rc == 0:
            if s.period_ns > 0:
                s.done = run_paced(s)
            elif s.duration_ns > 0:
                s.done = run_for(s)
            else:
                s.done = s.k.loop(w, s.target)
        s.t1 = iow_now_ns()
        if s.k.teardown != NULL:
            s.k.teardown(w)
    iow_fetch_add(&sh.done_count, 1)
    futex_wake(&sh.done_count)
    if s.main_of_process:
        while not iow_load_acquire(&sh.leave_word):
            futex_wait(&sh.leave_word, 0)
        iow_sys1(__NR_exit_group, sh.exit_status)
    # A raw exit, not glibc's thread exit (which adds rt_sigprocmask/madvise calls). The
    # kernel still clears the thread id for pthread_join (CLONE_CHILD_CLEARTID).
    while True:
        iow_sys1(__NR_exit, 0)


cdef void *worker_thread(void *arg) noexcept nogil:
    worker_body(<Slot *>arg)
    return NULL


cdef dict tally_to_dict(iow_tally *t):
    errors = {}
    cdef int e
    for e in range(IOW_ERRNO_SLOTS):
        if t.err[e]:
            # slots from IOW_RESTART_SLOT0 hold the kernel's restart codes 512..516
            errors[e if e < IOW_RESTART_SLOT0 else 512 + e - IOW_RESTART_SLOT0] = t.err[e]
    return {
        "ok": t.ok,
        "ok_min": t.ok_min if t.ok else None,
        "ok_max": t.ok_max if t.ok else None,
        "errors": errors,
    }


cdef class Run:
    """One scenario run on `threads` workers (see the module comment for the steps)."""
    cdef Shared *sh
    cdef Slot *slots
    cdef int nthreads
    cdef int threads_started
    cdef int joined
    cdef readonly int pid           # the process the workers live in
    cdef readonly bint own_process  # spawned: workers live in a child process
    cdef object capsule   # keeps the family module's kernel alive
    cdef readonly int n_setup, n_iter, n_teardown

    def __cinit__(self, object kernel_capsule, int threads, unsigned long long iterations,
                  double duration, list dirs, tuple event_counts, int fd_base=0,
                  double rate=0):
        if not PyCapsule_IsValid(kernel_capsule, b"ioworkload.kernel"):
            raise TypeError("not a scenario kernel")
        if threads < 1:
            raise ValueError("threads must be >= 1")
        self.n_setup, self.n_iter, self.n_teardown = event_counts
        if max(event_counts) > IOW_MAX_EVENTS:
            raise ValueError(f"a phase may declare at most {IOW_MAX_EVENTS} events")
        self.capsule = kernel_capsule
        cdef iow_kernel *k = <iow_kernel *>PyCapsule_GetPointer(kernel_capsule, b"ioworkload.kernel")
        self.nthreads = threads
        self.sh = <Shared *>shared_alloc(sizeof(Shared) + threads * sizeof(Slot))
        if self.sh == NULL:
            raise MemoryError()
        self.slots = <Slot *>(<char *>self.sh + sizeof(Shared))
        cdef int i, j
        cdef char *mem
        cdef bytes d
        cdef iow_worker *w
        for i in range(threads):
            mem = <char *>shared_alloc(WORKER_BYTES + IOW_SCRATCH_BYTES)
            if mem == NULL:
                raise MemoryError()
            w = self.slots[i].w = <iow_worker *>mem
            w.scratch = <unsigned char *>(mem + WORKER_BYTES)  # page aligned, zeroed
            w.index = i
            w.fd_base = fd_base
            for j in range(IOW_NFDS):
                w.fd[j] = -1
            w.sysv_id = -1
            d = dirs[i] if i < len(dirs) else b""
            if len(d) >= MAX_DIR_BYTES:
                raise ValueError("temporary directory path too long")  # runner checks first
            strncpy(w.dir, d, IOW_PATH_MAX - 1)
            iow_tally_reset(w.setup, IOW_MAX_EVENTS)
            iow_tally_reset(w.iter, IOW_MAX_EVENTS)
            iow_tally_reset(w.teardown, IOW_MAX_EVENTS)
            self.slots[i].k = k
            self.slots[i].sh = self.sh
            self.slots[i].target = iterations
            self.slots[i].duration_ns = <int64_t>(duration * 1e9) if duration > 0 else 0
            self.slots[i].period_ns = max(<int64_t>1, <int64_t>(1e9 / rate)) if rate > 0 else 0

    cdef int start_threads(self, int first) noexcept nogil:
        """pthreads for workers first..T-1, signals blocked (a handler on a worker would add
        rt_sigreturn to its stream; stopping is the controller's job). 0 or pthread's rc."""
        cdef sigset_t all_signals, old
        cdef int i, rc = 0
        sigfillset(&all_signals)
        pthread_sigmask(SIG_SETMASK, &all_signals, &old)
        for i in range(first, self.nthreads):
            rc = pthread_create(&self.slots[i].thread, NULL, worker_thread, &self.slots[i])
            if rc != 0:
                break
            self.slots[i].started = 1
            self.threads_started += 1
        pthread_sigmask(SIG_SETMASK, &old, NULL)
        return rc

    def start(self):
        """Workers as threads of this process."""
        self.pid = <int>iow_sys0(__NR_getpid)
        cdef int rc
        with nogil:
            rc = self.start_threads(0)
        if rc != 0:
            self.abort()
            raise OSError(rc, "cannot start worker thread")

    def spawn(self, int exit_status=0, bint private_ipc=False, bint pid_namespace=False,
              bint own_proc=False):
        """Workers in a new process: its main thread is worker 0, which ends the process with
        exit_group(exit_status). private_ipc: the process gets an IPC namespace of its own,
        where permitted (see private_ipc), before its threads start. pid_namespace: the
        process is the first of a new PID namespace (pid 1 there, as a container runtime
        starts one); OSError(EPERM) without CAP_SYS_ADMIN. own_proc: it mounts a /proc of
        its PID namespace (see own_proc), before its threads start. Returns its pid, as seen
        here."""
        cdef int parent = <int>iow_sys0(__NR_getpid)
        cdef int pid, rc
        cdef long own_ns = -1, parent_fd = -1, r
        cdef pollfd parent_gone
        cdef sigset_t all_signals
        self.slots[0].main_of_process = 1
        self.sh.exit_status = exit_status
        self.sh.private_ipc = 1
        self.sh.own_proc = 1
        self.own_process = True
        if pid_namespace:
            # unshare(CLONE_NEWPID) moves this thread's children (not itself) into a new
            # namespace; setns puts the next ones back in ours, so only the fork below is
            # moved. The child cannot name its parent by pid from there: a pidfd does (it
            # polls readable once that process has exited).
            own_ns = iow_sys6(__NR_openat, AT_FDCWD, <long><const char *>b"/proc/thread-self/ns/pid",
                              O_RDONLY | O_CLOEXEC, 0, 0, 0)
            if own_ns < 0:
                raise OSError(-own_ns, "cannot open this thread's PID namespace")
            parent_fd = iow_sys2(__NR_pidfd_open, parent, 0)
            r = parent_fd if parent_fd < 0 else iow_sys1(__NR_unshare, CLONE_NEWPID)
            if r < 0:
                iow_sys1(__NR_close, own_ns)
                if parent_fd >= 0:
                    iow_sys1(__NR_close, parent_fd)
                raise OSError(-r, "cannot make a PID namespace")
        with nogil:
            pid = fork()
            if pid == 0:
                # The child: only C from here on, never back into Python.
                iow_sys2(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL)
                if parent_fd >= 0:
                    iow_sys1(__NR_close, own_ns)
                    parent_gone.fd = <int>parent_fd
                    parent_gone.events = POLLIN
                    r = iow_sys3(__NR_poll, <long>&parent_gone, 1, 0)
                    r = -1 if r != 0 else 0
                    iow_sys1(__NR_close, parent_fd)
                else:
                    r = iow_sys2(__NR_kill, parent, 0)
                if r < 0:  # the command died before prctl
                    _exit(1)
                sigfillset(&all_signals)
                pthread_sigmask(SIG_SETMASK, &all_signals, NULL)
                if iow_sys1(__NR_getpgid, 0) == 0:
                    # its process group is not in its PID namespace (--pid-namespace, or the
                    # command's own under unshare --pid --fork): a session of its own, as a
                    # container's first process has, so getpgrp and getsid name one
                    iow_sys0(__NR_setsid)
                if own_proc:  # before the PID line, as the IPC namespace below
                    self.sh.own_proc = <int>own_proc_mount()
                if private_ipc:  # before the PID line: no tracer sees it
                    self.sh.private_ipc = <int>private_ipc_namespace()
                rc = self.start_threads(1)
                if rc != 0:
                    self.sh.launch_error = rc
                    iow_store_release(&self.sh.stop, 1)
                    iow_store_release(&self.sh.start_word, 1)
                worker_body(&self.slots[0])
        if own_ns >= 0:
            iow_sys2(__NR_setns, own_ns, CLONE_NEWPID)
            iow_sys1(__NR_close, own_ns)
            iow_sys1(__NR_close, parent_fd)
        if pid < 0:  # glibc's fork: -1 and errno
            raise OSError(errno, "cannot fork the scenario process")
        self.pid = pid
        return pid

    def ready(self):
        """The workers' tids once every one has started (None before)."""
        cdef int i
        for i in range(self.nthreads):
            if not iow_load_acquire(&self.slots[i].ready):
                return None
        return [self.slots[i].tid for i in range(self.nthreads)]

    def prestarted(self):
        """Per worker, what its prestart left (read once every worker is ready): the parked
        task's tid/pid, 0 for none, or -errno."""
        return [self.slots[i].prestart_rc for i in range(self.nthreads)]

    @property
    def launch_error(self):
        return self.sh.launch_error

    @property
    def own_proc(self):
        """The spawned process's own /proc: 0 mounted, -errno refused, 1 not asked (read once
        its workers are ready)."""
        return self.sh.own_proc

    @property
    def private_ipc(self):
        """The spawned process has an IPC namespace of its own (read once its workers are
        ready): its SysV objects and POSIX queues die with it, whatever kills it."""
        return self.sh.private_ipc == 0

    def sysv_ids(self):
        """Per worker, the SysV IPC object it holds now (-1: none): what a killed process
        leaves behind, for the runner to remove."""
        return [self.slots[i].w.sysv_id for i in range(self.nthreads)]

    @property
    def start_word_address(self):
        return <size_t>&self.sh.start_word

    @property
    def leave_word_address(self):
        return <size_t>&self.sh.leave_word

    def release(self):
        iow_store_release(&self.sh.start_word, 1)
        futex_wake(&self.sh.start_word)

    def wait_done(self, double timeout):
        """Sleep until every worker finished or `timeout` seconds passed; True when all did.
        A signal ends the wait early (False), so Python can run its handler."""
        cdef int n
        cdef timespec ts
        ts.tv_sec = <long>timeout
        ts.tv_nsec = <long>((timeout - ts.tv_sec) * 1e9)
        with nogil:
            n = iow_load_acquire(&self.sh.done_count)
            if n < self.nthreads:
                iow_sys6(__NR_futex, <long>&self.sh.done_count, FUTEX_WAIT, n, <long>&ts, 0, 0)
                n = iow_load_acquire(&self.sh.done_count)
        return n >= self.nthreads

    def let_leave(self):
        """Let a spawned process's main thread exit."""
        iow_store_release(&self.sh.leave_word, 1)
        futex_wake(&self.sh.leave_word)

    def request_stop(self):
        cdef int i
        iow_store_release(&self.sh.stop, 1)
        for i in range(self.nthreads):
            iow_store_release(&self.slots[i].w.stop, 1)

    def abort(self):
        """Stop the workers at whatever stage they are and reap this process's threads (a
        spawned process is the runner's to kill and reap)."""
        self.request_stop()
        self.release()
        self.join()

    def join(self):
        cdef int i
        if self.joined or self.own_process:
            return
        with nogil:
            for i in range(self.nthreads):
                if self.slots[i].started:
                    pthread_join(self.slots[i].thread, NULL)
        self.joined = 1

    def results(self):
        """Per worker: tid, iterations run, loop start/end (ns), setup rc and the tallies."""
        out = []
        cdef int i, e
        cdef iow_worker *w
        for i in range(self.nthreads):
            w = self.slots[i].w
            out.append({
                "tid": self.slots[i].tid,
                "iterations": self.slots[i].done,
                "t0": self.slots[i].t0,
                "t1": self.slots[i].t1,
                "setup_rc": self.slots[i].setup_rc,
                "tasks_created": w.ntasks,
                "wait_failed": w.wait_failed,
                "wait_note": w.wait_note.decode(errors="replace") if w.wait_failed else None,
                "task_tids": [w.task_tid[e] for e in range(min(w.ntasks, IOW_TASK_LOG))],
                "setup": [tally_to_dict(&w.setup[e]) for e in range(self.n_setup)],
                "iteration": [tally_to_dict(&w.iter[e]) for e in range(self.n_iter)],
                "teardown": [tally_to_dict(&w.teardown[e]) for e in range(self.n_teardown)],
            })
        return out

    def __dealloc__(self):
        cdef int i
        if self.sh == NULL:
            return
        if self.threads_started and not self.joined and not self.own_process:
            self.abort()  # never unmap memory a live thread still uses
        for i in range(self.nthreads):
            if self.slots[i].w != NULL:
                munmap(self.slots[i].w, WORKER_BYTES + IOW_SCRATCH_BYTES)
        munmap(self.sh, sizeof(Shared) + self.nthreads * sizeof(Slot))


cdef extern from "iow_syscall.h" nogil:
    ctypedef struct iow_nr_entry:
        const char *name
        long nr
    const iow_nr_entry *iow_legacy_table


def raw_syscall(long nr, long a=0, long b=0, long c=0, long d=0, long e=0, long f=0):
    """Issue one raw syscall (for run-time probes, never in a counted window): ret or -errno."""
    return iow_sys6(nr, a, b, c, d, e, f)


def legacy_syscall_numbers():
    """{name: number} of the legacy syscalls this architecture's headers define (-1: absent)."""
    out = {}
    cdef int i = 0
    while iow_legacy_table[i].name != NULL:
        out[iow_legacy_table[i].name.decode()] = iow_legacy_table[i].nr
        i += 1
    return out


def remove_ipc_object(str kind, object what):
    """Remove what a killed scenario process left: ("mq", name) unlinks a POSIX queue,
    ("shm"|"msg"|"sem", id) removes a SysV object. 0 or -errno (-ENOENT/-EINVAL: gone)."""
    cdef bytes name
    if kind == "mq":
        name = what.encode()
        return iow_sys1(__NR_mq_unlink, <long><const char *>name)
    if kind == "shm":
        return iow_sys3(__NR_shmctl, what, IPC_RMID, 0)
    if kind == "msg":
        return iow_sys3(__NR_msgctl, what, IPC_RMID, 0)
    if kind == "sem":
        return iow_sys6(__NR_semctl, what, 0, IPC_RMID, 0, 0, 0)
    raise ValueError(f"no IPC object kind {kind!r}")


cdef extern from "<signal.h>" nogil:
    ctypedef void (*handler_t)(int)
    ctypedef struct struct_sigaction "struct sigaction":
        handler_t sa_handler
    int c_sigaction "sigaction"(int signum, const struct_sigaction *act, struct_sigaction *old)
    handler_t C_SIG_IGN "SIG_IGN"


def saved_disposition(int signum):
    """The signal's disposition as the kernel has it, (opaque bytes, ignored?): Python's
    getsignal() cannot see a handler a caller installed from C (ctypes)."""
    cdef struct_sigaction act
    if c_sigaction(signum, NULL, &act) != 0:
        raise OSError(errno, "sigaction")
    return (<char *>&act)[:sizeof(act)], act.sa_handler == C_SIG_IGN


def restore_disposition(int signum, bytes saved):
    """Put back what saved_disposition() gave, whatever Python's signal module believes."""
    cdef struct_sigaction act
    if len(saved) != sizeof(act):
        raise ValueError("not a saved disposition")
    memcpy(&act, <const char *>saved, sizeof(act))
    if c_sigaction(signum, &act, NULL) != 0:
        raise OSError(errno, "sigaction")


def set_comm(str name):
    """Name the calling thread (the process, when called on the main thread) for tracers."""
    cdef bytes b = name.encode()[:15]
    return iow_sys2(__NR_prctl, PR_SET_NAME, <long><const char *>b)
