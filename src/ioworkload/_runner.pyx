# The shared runner: worker threads, the start barrier, timing and the outcome tallies.
#
# Life of a run (the controller is the calling Python thread):
#   start()      T pthreads start with every signal blocked, learn their tid, name themselves
#                "ioworkload" and sleep in one futex wait (all before any tracer attaches).
#   arm()        wake them; each leaves the futex and spins (no syscalls) at the start line.
#   go()         release all at once. Each runs setup, then the timed loop, then teardown, sets
#                `finished` and spins again until the controller releases it, so per-thread perf
#                counters can be switched off while the thread is silent.
#   release(i)   let worker i return; join() reaps them.
# Between arm() and release() a worker issues exactly the syscalls of its scenario.

from libc.stdint cimport uint64_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset, strncpy
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from posix.signal cimport sigset_t, sigfillset
from posix.time cimport nanosleep, timespec

from ioworkload._kernel cimport (
    iow_worker, iow_tally, iow_kernel, iow_sys0, iow_sys2, iow_sys6, iow_now_ns,
    IOW_MAX_EVENTS, IOW_ERRNO_SLOTS, IOW_NFDS, IOW_SCRATCH_BYTES, IOW_PATH_MAX,
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

cdef extern from "<stdlib.h>" nogil:
    int posix_memalign(void **memptr, size_t alignment, size_t size)

cdef extern from "<linux/futex.h>" nogil:
    enum:
        FUTEX_WAIT_PRIVATE
        FUTEX_WAKE_PRIVATE

cdef extern from "<linux/prctl.h>" nogil:
    enum:
        PR_SET_NAME

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_gettid
        __NR_futex
        __NR_prctl
        IOW_RAW_SYSCALLS

cdef extern from "iow_worker.h" nogil:
    void iow_tally_reset(iow_tally *t, int n)
    int iow_load_acquire(const int *p)
    void iow_store_release(int *p, int v)
    void iow_cpu_relax()

RAW_SYSCALLS = bool(IOW_RAW_SYSCALLS)
MAX_DIR_BYTES = IOW_PATH_MAX - 64  # a worker's directory; scenarios append their file names

cdef struct Shared:
    int stop
    int gate          # futex word: 1 once arm() was called
    int go

cdef struct Slot:
    iow_worker *w
    iow_kernel *k
    Shared *sh
    uint64_t target        # iterations to run (ignored when deadline_ns > 0)
    int64_t duration_ns    # > 0: run until this long has passed
    uint64_t done
    int64_t t0
    int64_t t1
    int setup_rc
    int started
    int ready
    int armed
    int finished
    int release
    pthread_t thread


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


cdef void *worker_main(void *arg) noexcept nogil:
    cdef Slot *s = <Slot *>arg
    cdef iow_worker *w = s.w
    w.tid = <int>iow_sys0(__NR_gettid)
    iow_sys2(__NR_prctl, PR_SET_NAME, <long><const char *>b"ioworkload")
    iow_store_release(&s.ready, 1)
    while not iow_load_acquire(&s.sh.gate):
        iow_sys6(__NR_futex, <long>&s.sh.gate, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0)
    iow_store_release(&s.armed, 1)
    while not iow_load_acquire(&s.sh.go):
        iow_cpu_relax()
    # ---- counted window: only the scenario's own syscalls from here ----
    if not iow_load_acquire(&s.sh.stop):
        s.setup_rc = s.k.setup(w) if s.k.setup != NULL else 0
        s.t0 = iow_now_ns()
        if s.setup_rc == 0:
            if s.duration_ns > 0:
                s.done = run_for(s)
            else:
                s.done = s.k.loop(w, s.target)
        s.t1 = iow_now_ns()
        if s.k.teardown != NULL:
            s.k.teardown(w)
    iow_store_release(&s.finished, 1)
    while not iow_load_acquire(&s.release):
        iow_cpu_relax()
    # ---- end of counted window ----
    return NULL


cdef dict tally_to_dict(iow_tally *t):
    errors = {}
    cdef int e
    for e in range(IOW_ERRNO_SLOTS):
        if t.err[e]:
            errors[e] = t.err[e]
    return {
        "ok": t.ok,
        "ok_min": t.ok_min if t.ok else None,
        "ok_max": t.ok_max if t.ok else None,
        "errors": errors,
    }


cdef void sleep_us(long us) noexcept nogil:
    cdef timespec ts
    ts.tv_sec = us // 1000000
    ts.tv_nsec = (us % 1000000) * 1000
    nanosleep(&ts, NULL)


cdef class Run:
    """One scenario run on `threads` worker threads (see the module comment for the steps)."""
    cdef Shared *sh
    cdef Slot *slots
    cdef int nthreads
    cdef int started
    cdef int joined
    cdef object capsule   # keeps the family module's kernel alive
    cdef readonly int n_setup, n_iter, n_teardown

    def __cinit__(self, object kernel_capsule, int threads, unsigned long long iterations,
                  double duration, list dirs, tuple event_counts):
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
        self.sh = <Shared *>calloc(1, sizeof(Shared))
        self.slots = <Slot *>calloc(threads, sizeof(Slot))
        if self.sh == NULL or self.slots == NULL:
            raise MemoryError()
        cdef int i, j
        cdef void *mem
        cdef bytes d
        for i in range(threads):
            if posix_memalign(&mem, 64, sizeof(iow_worker)) != 0:
                raise MemoryError()
            memset(mem, 0, sizeof(iow_worker))
            self.slots[i].w = <iow_worker *>mem
            if posix_memalign(&mem, 4096, IOW_SCRATCH_BYTES) != 0:
                raise MemoryError()
            memset(mem, 0, IOW_SCRATCH_BYTES)
            w = self.slots[i].w
            w.scratch = <unsigned char *>mem
            w.index = i
            for j in range(IOW_NFDS):
                w.fd[j] = -1
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

    def start(self):
        """Start the threads parked in a futex wait; return their tids."""
        cdef sigset_t all_signals, old
        cdef int i, rc = 0
        sigfillset(&all_signals)
        # Workers inherit a full signal mask: Ctrl-C is the controller's job, and a handler
        # running on a worker would add syscalls (rt_sigreturn) to the counted stream.
        pthread_sigmask(SIG_SETMASK, &all_signals, &old)
        for i in range(self.nthreads):
            rc = pthread_create(&self.slots[i].thread, NULL, worker_main, &self.slots[i])
            if rc != 0:
                break
            self.slots[i].started = 1
            self.started += 1
        pthread_sigmask(SIG_SETMASK, &old, NULL)
        if rc != 0:
            self.abort()
            raise OSError(rc, "cannot start worker thread")
        with nogil:
            for i in range(self.nthreads):
                while not iow_load_acquire(&self.slots[i].ready):
                    sleep_us(50)
        return [self.slots[i].w.tid for i in range(self.nthreads)]

    def arm(self):
        """Wake the workers from the futex and wait until all spin at the start line."""
        cdef int i
        iow_store_release(&self.sh.gate, 1)
        iow_sys6(__NR_futex, <long>&self.sh.gate, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0)
        with nogil:
            for i in range(self.nthreads):
                while not iow_load_acquire(&self.slots[i].armed):
                    sleep_us(20)

    def go(self):
        iow_store_release(&self.sh.go, 1)

    def request_stop(self):
        cdef int i
        iow_store_release(&self.sh.stop, 1)
        for i in range(self.nthreads):
            iow_store_release(&self.slots[i].w.stop, 1)

    def finished(self, int i):
        return bool(iow_load_acquire(&self.slots[i].finished))

    def release(self, int i):
        iow_store_release(&self.slots[i].release, 1)

    def abort(self):
        """Stop everything at whatever stage it is and reap the threads (error paths)."""
        cdef int i
        self.request_stop()
        iow_store_release(&self.sh.gate, 1)
        iow_sys6(__NR_futex, <long>&self.sh.gate, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0)
        iow_store_release(&self.sh.go, 1)
        for i in range(self.nthreads):
            iow_store_release(&self.slots[i].release, 1)
        self.join()

    def join(self):
        cdef int i
        if self.joined:
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
                "tid": w.tid,
                "iterations": self.slots[i].done,
                "t0": self.slots[i].t0,
                "t1": self.slots[i].t1,
                "setup_rc": self.slots[i].setup_rc,
                "setup": [tally_to_dict(&w.setup[e]) for e in range(self.n_setup)],
                "iteration": [tally_to_dict(&w.iter[e]) for e in range(self.n_iter)],
                "teardown": [tally_to_dict(&w.teardown[e]) for e in range(self.n_teardown)],
            })
        return out

    def __dealloc__(self):
        cdef int i
        if self.slots != NULL:
            if self.started and not self.joined:
                # Never free memory a live thread still uses.
                self.abort()
            for i in range(self.nthreads):
                if self.slots[i].w != NULL:
                    free(self.slots[i].w.scratch)
                    free(self.slots[i].w)
            free(self.slots)
        free(self.sh)


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


def set_comm(str name):
    """Name the calling thread (the process, when called on the main thread) for tracers."""
    cdef bytes b = name.encode()[:15]
    return iow_sys2(__NR_prctl, PR_SET_NAME, <long><const char *>b)
