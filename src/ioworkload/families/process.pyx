# Family 'process': ior's process and exec scenarios (../shared/reference/ior-ioworkload-catalog.md,
# 4.6). A successful execve would replace the scenario process, so it happens in a forked child:
# the child starts a raw thread, and that non-leader thread execs a tiny image the setup wrote
# into the worker's private directory, whose every syscall is known (no loader, no libc).

from libc.stdint cimport uint64_t
from libc.string cimport memcpy, strlen   # <string.h>, for the image builder below
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, iow_note_task, kernel, IOW_SCRATCH_BYTES,
    iow_now_ns, iow_wait_over, iow_wait_give_up, IOW_WAIT_BOUND_NS,
)
from libc.stdint cimport int64_t
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
        __NR_gettid
        __NR_getpid
        __NR_kcmp
        __NR_execve
        __NR_execveat
        __NR_clone
        __NR_wait4
        __NR_clock_nanosleep
        __NR_exit_group
        __NR_exit
        __NR_futex
        __NR_prctl

cdef extern from "<linux/futex.h>" nogil:
    enum:
        FUTEX_WAIT
        FUTEX_WAKE

cdef extern from "<linux/prctl.h>" nogil:
    enum:
        PR_SET_PDEATHSIG

cdef extern from "iow_worker.h" nogil:
    void iow_tally_reset(iow_tally *t, int n)

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_WRONLY
        O_CREAT
        O_TRUNC
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

cdef extern from * nogil:
    """
    /* A static x86-64 ELF executable of one PT_LOAD segment: its code, then an optional
       NUL-terminated path the code opens (RIP-relative), at 0x400000 + 120. Its only
       syscalls are the ones below: no loader, no libc. */
    #define IOW_IMAGE_BASE 0x400000UL
    #define IOW_IMAGE_CODE 120
    #if defined(__x86_64__)
    #define IOW_HAVE_IMAGE 1
    /* exit_group(0) */
    #define IOW_EXIT0 \
        0xb8, 0xe7, 0x00, 0x00, 0x00,             /* mov $231, %eax (exit_group) */ \
        0x31, 0xff,                               /* xor %edi, %edi */ \
        0x0f, 0x05                                /* syscall */
    /* fd = openat(AT_FDCWD, path, O_RDWR|O_CREAT, 0644); close(fd). The path follows the
       code: `to_path` is its distance from the end of the lea (the image's length - 17). */
    #define IOW_OPEN_CLOSE(to_path) \
        0xb8, 0x01, 0x01, 0x00, 0x00,             /* mov $257, %eax (openat) */ \
        0xbf, 0x9c, 0xff, 0xff, 0xff,             /* mov $-100, %edi (AT_FDCWD) */ \
        0x48, 0x8d, 0x35, (to_path), 0x00, 0x00, 0x00, /* lea path(%rip), %rsi */ \
        0xba, 0x42, 0x00, 0x00, 0x00,             /* mov $0x42, %edx (O_RDWR|O_CREAT) */ \
        0x41, 0xba, 0xa4, 0x01, 0x00, 0x00,       /* mov $0644, %r10d */ \
        0x0f, 0x05,                               /* syscall */ \
        0x89, 0xc7,                               /* mov %eax, %edi */ \
        0xb8, 0x03, 0x00, 0x00, 0x00,             /* mov $3, %eax (close) */ \
        0x0f, 0x05                                /* syscall */
    /* ior mode's images end like the scenario process's main thread: they wait until the
       controller lets them go (SIGUSR1, blocked: the runner's mask survives the exec), then
       exit_group(0). rt_sigtimedwait(&{SIGUSR1}, NULL, NULL, 8); exit_group(0) */
    #define IOW_WAIT_THEN_EXIT \
        0x68, 0x00, 0x02, 0x00, 0x00,             /* push $0x200: the set {SIGUSR1} */ \
        0x48, 0x89, 0xe7,                         /* mov %rsp, %rdi */ \
        0x31, 0xf6,                               /* xor %esi, %esi */ \
        0x31, 0xd2,                               /* xor %edx, %edx */ \
        0x41, 0xba, 0x08, 0x00, 0x00, 0x00,       /* mov $8, %r10d (sigsetsize) */ \
        0xb8, 0x80, 0x00, 0x00, 0x00,             /* mov $128, %eax (rt_sigtimedwait) */ \
        0x0f, 0x05,                               /* syscall */ \
        IOW_EXIT0
    static const unsigned char iow_image_exit0[] = { IOW_EXIT0 };
    static const unsigned char iow_image_open_basic[] = { IOW_OPEN_CLOSE(48 - 17), IOW_EXIT0 };
    static const unsigned char iow_image_wait_exit0[] = { IOW_WAIT_THEN_EXIT };
    static const unsigned char iow_image_open_wait[] = {
        IOW_OPEN_CLOSE(73 - 17), IOW_WAIT_THEN_EXIT
    };
    _Static_assert(sizeof(iow_image_open_basic) == 48 && sizeof(iow_image_open_wait) == 73,
                   "IOW_OPEN_CLOSE's distance to the path is the image's length - 17");
    #else
    #define IOW_HAVE_IMAGE 0
    static const unsigned char iow_image_exit0[1];
    static const unsigned char iow_image_open_basic[1];
    static const unsigned char iow_image_wait_exit0[1];
    static const unsigned char iow_image_open_wait[1];
    #endif

    /* No worker forks while another has its image open for writing: a child holding that
       descriptor (inherited, until its own exec closes it) would make the other worker's
       exec of the image fail with ETXTBSY. A spin lock (no syscall) across each image write
       and each fork; a forked child never touches its copy. */
    static int iow_process_image_lock;
    static inline void iow_process_image_lock_take(void)
    {
        while (__atomic_exchange_n(&iow_process_image_lock, 1, __ATOMIC_ACQUIRE))
            iow_cpu_relax();
    }
    static inline void iow_process_image_lock_drop(void)
    {
        __atomic_store_n(&iow_process_image_lock, 0, __ATOMIC_RELEASE);
    }

    static void iow_put16(unsigned char *p, unsigned v) { p[0] = v; p[1] = v >> 8; }
    static void iow_put32(unsigned char *p, unsigned long v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
    static void iow_put64(unsigned char *p, unsigned long v) { for (int i = 0; i < 8; i++) p[i] = v >> (8 * i); }

    /* The image of code (and path, may be NULL) into out; returns its length. */
    static long iow_build_image(unsigned char *out, const unsigned char *code, unsigned long code_len,
                                const char *path)
    {
        unsigned long path_len = path ? strlen(path) + 1 : 0;
        unsigned long total = IOW_IMAGE_CODE + code_len + path_len;
        memset(out, 0, IOW_IMAGE_CODE);
        memcpy(out, "\\x7f" "ELF\\x02\\x01\\x01", 7);          /* 64-bit, little endian, v1 */
        iow_put16(out + 16, 2);                             /* ET_EXEC */
        iow_put16(out + 18, 62);                            /* EM_X86_64 */
        iow_put32(out + 20, 1);
        iow_put64(out + 24, IOW_IMAGE_BASE + IOW_IMAGE_CODE);   /* entry */
        iow_put64(out + 32, 64);                            /* program headers right after */
        iow_put16(out + 52, 64);
        iow_put16(out + 54, 56);
        iow_put16(out + 56, 1);
        iow_put32(out + 64, 1);                             /* PT_LOAD */
        iow_put32(out + 68, 5);                             /* PF_R|PF_X */
        iow_put64(out + 80, IOW_IMAGE_BASE);
        iow_put64(out + 88, IOW_IMAGE_BASE);
        iow_put64(out + 96, total);
        iow_put64(out + 104, total);
        iow_put64(out + 112, 0x1000);
        memcpy(out + IOW_IMAGE_CODE, code, code_len);
        if (path)
            memcpy(out + IOW_IMAGE_CODE + code_len, path, path_len);
        return (long)total;
    }
    """
    enum:
        IOW_HAVE_IMAGE
    const unsigned char iow_image_exit0[]
    const unsigned char iow_image_open_basic[]
    const unsigned char iow_image_wait_exit0[]
    const unsigned char iow_image_open_wait[]
    long iow_build_image(unsigned char *out, const unsigned char *code, unsigned long code_len,
                         const char *path)
    void iow_process_image_lock_take()
    void iow_process_image_lock_drop()

import os

from ioworkload.core.manifest import scenarios

cdef enum:
    KCMP_FILE = 0        # <linux/kcmp.h>
    KCMP_VM = 1
    TARGET_MODE = 0o600
    IMAGE_MODE = 0o755
    EXEC_GAP_NS = 10000000   # ior's 10 ms between exec attempts
    # paths in w.path
    P_TARGET = 0
    P_MISSING = 1
    P_MISSING_AT = 2
    P_OPENED = 3

CONSTANTS = {"KCMP_FILE": KCMP_FILE, "KCMP_VM": KCMP_VM}

cdef unsigned long THREAD_FLAGS = (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND
                                   | CLONE_THREAD | CLONE_SYSVSEM)

ctypedef struct ProcessState:
    int leader_ready          # the child's main thread has its clone's return
    int park_word             # futex: 1 releases the exec thread a prestart parked (ior mode)
    int exec_failed           # ior mode: that thread's execve returned (the worker goes on)
    int wake_returned         # ior mode: the worker's wake has returned and is tallied
    const char *argv[2]
    const char *envp[1]
    long pid
    int status
    long image_len
    unsigned char image[1024]


cdef inline ProcessState *state(iow_worker *w) noexcept nogil:
    return <ProcessState *>w.scratch


# ---- process_exec_lifecycle ----

cdef int exec_lifecycle_setup(iow_worker *w) noexcept nogil:
    cdef ProcessState *st = state(w)
    iow_path(w, P_MISSING, b"ior-missing-execve-only")
    iow_path(w, P_MISSING_AT, b"ior-missing-execveat-only")
    st.envp[0] = NULL
    st.argv[1] = NULL
    return 0


cdef uint64_t process_exec_lifecycle_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef ProcessState *st = state(w)
    cdef timespec gap
    cdef uint64_t i
    gap.tv_sec = 0
    gap.tv_nsec = EXEC_GAP_NS
    for i in range(n):
        if iow_stop_requested(w):
            return i
        st.argv[0] = w.path[P_MISSING]
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_execve, <long>w.path[P_MISSING], <long>st.argv,
                                           <long>st.envp))
        st.argv[0] = w.path[P_MISSING_AT]
        iow_tally_ret(&w.iter[1], iow_sys5(__NR_execveat, AT_FDCWD, <long>w.path[P_MISSING_AT],
                                           <long>st.argv, <long>st.envp, 0))
        iow_tally_ret(&w.iter[2], iow_sys4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0, <long>&gap, 0))
    return n


# ---- process_kcmp_file, process_kcmp_vm ----

cdef int getpid_setup(iow_worker *w) noexcept nogil:
    state(w).pid = iow_tally_ret(&w.setup[0], iow_sys0(__NR_getpid))
    return 0 if state(w).pid > 0 else <int>state(w).pid


cdef inline uint64_t kcmp_loop(iow_worker *w, uint64_t n, long kind) noexcept nogil:
    cdef long pid = state(w).pid
    cdef uint64_t i
    iow_path(w, P_TARGET, b"kcmp-target")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys4(__NR_openat, AT_FDCWD, <long>w.path[P_TARGET],
                                                     O_RDWR | O_CREAT, TARGET_MODE))
        iow_tally_ret(&w.iter[1], iow_sys5(__NR_kcmp, pid, pid, kind, w.fd[0], w.fd[0]))
        close_tracked(&w.iter[2], &w.fd[0])
    return n


cdef uint64_t process_kcmp_file_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return kcmp_loop(w, n, KCMP_FILE)


cdef uint64_t process_kcmp_vm_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return kcmp_loop(w, n, KCMP_VM)


# ---- exec_non_leader_thread(_tid), exec_non_leader_into_open ----
# Setup writes the image to <dir>/true (3 events). Each iteration: fork a child (0), which
# starts a thread (2) and spins until the exec ends it; the thread (3: its clone's 0) calls
# gettid (4) and execve (5); the image runs (6: its own calls, then exit_group); the worker
# reaps the child (after them).

cdef int write_image(iow_worker *w, const unsigned char *code, unsigned long code_len,
                     const char *path) noexcept nogil:
    cdef ProcessState *st = state(w)
    cdef long fd
    st.image_len = iow_build_image(st.image, code, code_len, path)
    iow_process_image_lock_take()
    fd = iow_tally_ret(&w.setup[0], iow_sys4(__NR_openat, AT_FDCWD, <long>iow_path(w, P_TARGET, b"true"),
                                             O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, IMAGE_MODE))
    if fd >= 0:
        iow_tally_ret(&w.setup[1], iow_sys3(__NR_write, fd, <long>st.image, st.image_len))
        iow_tally_ret(&w.setup[2], iow_sys1(__NR_close, fd))
    iow_process_image_lock_drop()
    if fd < 0:
        return <int>fd
    st.argv[0] = b"true"
    st.argv[1] = NULL
    st.envp[0] = NULL
    return 0


cdef int exit0_setup(iow_worker *w) noexcept nogil:
    return write_image(w, iow_image_exit0, sizeof(iow_image_exit0), NULL)


cdef int into_open_setup(iow_worker *w) noexcept nogil:
    return write_image(w, iow_image_open_basic, sizeof(iow_image_open_basic),
                       iow_path(w, P_OPENED, b"testfile.txt"))


cdef void exec_thread(void *arg) noexcept nogil:
    # The child's second thread: execs the image and never returns on success. Nothing of
    # ours runs after a successful execve, so its 0 and the image's calls are tallied as
    # declared before it (--verify and tracers witness them), and taken back if it fails.
    cdef iow_worker *w = <iow_worker *>arg
    cdef ProcessState *st = state(w)
    cdef int k, last = 8 if w.val[1] else 6
    cdef long ret
    iow_tally_ret(&w.iter[3], 0)  # clone returned 0 here
    # The main thread's clone returns first (a ptrace tracer reports it before the exec can
    # end that thread), then this thread goes on.
    while not iow_load_acquire(&st.leader_ready):
        iow_cpu_relax()
    iow_tally_ret(&w.iter[4], iow_sys0(__NR_gettid))
    for k in range(5, last + 1):
        iow_tally_ret(&w.iter[k], 0)   # execve's 0, the image's fd (>= 0), close, exit_group
    ret = iow_sys3(__NR_execve, <long>w.path[P_TARGET], <long>st.argv, <long>st.envp)
    for k in range(5, last + 1):
        w.iter[k].ok -= 1
    iow_tally_ret(&w.iter[5], ret)
    while True:
        iow_sys1(__NR_exit_group, 1)


cdef uint64_t exec_non_leader_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef ProcessState *st = state(w)
    cdef uint64_t i
    cdef long pid, tid
    cdef int reap = 7 if w.val[1] == 0 else 9
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_process_image_lock_take()
        pid = iow_sys5(__NR_clone, SIGCHLD, 0, 0, 0, 0)
        if pid == 0:
            iow_tally_ret(&w.iter[1], 0)  # clone returned 0 here
            # the thread's stack: the top of the scratch memory (shared with the worker, which
            # only waits meanwhile)
            iow_store_release(&st.leader_ready, 0)
            tid = iow_tally_ret(&w.iter[2], iow_clone_thread(
                THREAD_FLAGS, w.scratch + IOW_SCRATCH_BYTES, NULL, exec_thread, w))
            w.val[2] = tid
            iow_store_release(&st.leader_ready, 1)
            if tid < 0:
                while True:
                    iow_sys1(__NR_exit_group, 1)
            while True:  # the exec ends this thread (de_thread); no syscall until then
                iow_cpu_relax()
        iow_process_image_lock_drop()
        iow_tally_ret(&w.iter[0], pid)
        iow_note_task(w, pid)
        if pid > 0:
            iow_tally_ret(&w.iter[reap], iow_sys4(__NR_wait4, pid, <long>&st.status, 0, 0))
            iow_note_task(w, w.val[2])   # the exec'ing thread, as the child noted it
    return n


cdef int exec_non_leader_setup(iow_worker *w) noexcept nogil:
    w.val[1] = 0
    return exit0_setup(w)


cdef int exec_into_open_setup(iow_worker *w) noexcept nogil:
    w.val[1] = 1
    return into_open_setup(w)


# ior mode: ior's exec-non-leader-* in the scenario process itself. The prestart writes the
# image and parks a raw thread (before the PID line: its tid is the one ior follows); setup
# wakes it and waits without a syscall; the thread execs the image, whose de_thread kills
# the worker and every other thread and gives the thread the PID. The image runs on as the
# process (the `image` role's events), then waits for the controller and exits (IMAGE_EXIT).

cdef inline long park_wait(int *word) noexcept nogil:
    return iow_sys6(__NR_futex, <long>word, FUTEX_WAIT, 0, 0, 0, 0)


cdef void exec_when_released(void *arg) noexcept nogil:
    # Nothing of ours runs after a successful execve: its 0 and the image's own calls are
    # tallied before it, and taken back if it fails.
    cdef iow_worker *w = <iow_worker *>arg
    cdef ProcessState *st = state(w)
    cdef long woke = 0, ret
    cdef int k, last = 4 if w.val[1] else 2
    while not iow_load_acquire(&st.park_word):
        woke = park_wait(&st.park_word)     # only the last wait returns after the release
    iow_tally_ret(&w.setup[1], woke)
    # not before the worker's wake has returned: the exec would kill it inside that call
    while not iow_load_acquire(&st.wake_returned):
        iow_cpu_relax()
    for k in range(2, last + 1):
        iow_tally_ret(&w.setup[k], 0)   # execve's 0, the image's fd (>= 0) and close
    ret = iow_sys3(__NR_execve, <long>w.path[P_TARGET], <long>st.argv, <long>st.envp)
    for k in range(2, last + 1):
        w.setup[k].ok -= 1
    iow_tally_ret(&w.setup[2], ret)
    iow_store_release(&st.exec_failed, 1)
    while True:
        iow_sys1(__NR_exit, 0)


cdef long park_exec_thread(iow_worker *w, const unsigned char *code, unsigned long code_len,
                           const char *path) noexcept nogil:
    cdef ProcessState *st = state(w)
    cdef long rc = write_image(w, code, code_len, path)
    iow_tally_reset(w.setup, 3)   # the image's write is the prestart's: outside the run
    if rc < 0:
        return rc
    st.park_word = 0
    st.exec_failed = 0
    st.wake_returned = 0
    return iow_clone_thread(THREAD_FLAGS, w.scratch + IOW_SCRATCH_BYTES, NULL,
                            exec_when_released, w)


cdef long park_exec_true(iow_worker *w) noexcept nogil:
    w.val[1] = 0
    return park_exec_thread(w, iow_image_wait_exit0, sizeof(iow_image_wait_exit0), NULL)


cdef long park_exec_into_open(iow_worker *w) noexcept nogil:
    w.val[1] = 1
    return park_exec_thread(w, iow_image_open_wait, sizeof(iow_image_open_wait),
                            iow_path(w, P_OPENED, b"testfile.txt"))


cdef int release_exec_thread(iow_worker *w) noexcept nogil:
    cdef ProcessState *st = state(w)
    cdef int64_t deadline
    cdef int why
    iow_store_release(&st.park_word, 1)
    iow_tally_ret(&w.setup[0], iow_sys6(__NR_futex, <long>&st.park_word, FUTEX_WAKE, 1, 0, 0, 0))
    iow_store_release(&st.wake_returned, 1)
    # the exec ends this thread here (de_thread): no syscall until then; on with a failed one,
    # or (a mismatch) once stopped or stuck past the bound
    deadline = iow_now_ns() + IOW_WAIT_BOUND_NS
    while not iow_load_acquire(&st.exec_failed):
        why = iow_wait_over(w, deadline)
        if why:
            iow_wait_give_up(w, why, b"the parked thread's exec")
            break
        iow_cpu_relax()
    return 0


cdef uint64_t nothing_more_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return n


def _image_supported():
    if not IOW_HAVE_IMAGE:
        return "the exec target image is only written for x86-64"
    if not IOW_HAVE_CLONE_THREAD:
        return "starting a raw thread is only written for x86-64 and aarch64"
    from ioworkload.core.runner import temp_base
    base = temp_base()
    if os.statvfs(base).f_flag & os.ST_NOEXEC:
        return f"{base} is mounted noexec: the exec target image is written there"
    return None


def _kcmp_supported():
    from ioworkload.core import _runner
    pid = os.getpid()
    ret = _runner.raw_syscall(__NR_kcmp, pid, pid, KCMP_VM, 0, 0)
    if ret == -38:
        return "the kernel has no kcmp (CONFIG_KCMP / CONFIG_CHECKPOINT_RESTORE off: ENOSYS)"
    if ret < 0:
        import errno
        return f"kcmp of this process with itself is refused ({errno.errorcode.get(-ret, -ret)})"
    return None


_FORK = "clone(SIGCHLD, 0, NULL, NULL, 0)"
_THREAD = ("clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, "
           "&scratch_end, NULL, NULL, 0)")
_WRITE_IMAGE = ['fd = openat(AT_FDCWD, "<dir>/true", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0755) -> >=0',
                "write(fd, {the image: a static ELF executable}, ?) -> >=1",
                "close(fd) -> 0"]


def _exec_iteration(image_events):
    return [f"pid = {_FORK} -> >=1",
            f"child: {_FORK} -> 0 exit-only",
            f"child: {_THREAD} -> >=1",
            f"child: {_THREAD} -> 0 exit-only",
            "child: gettid() -> >=1",
            'child: execve("<dir>/true", ["true"], []) -> 0'] + [
            f"child: {e}" for e in image_events] + [
            "wait4(pid, &status, 0, NULL) -> >=1"]


_EXEC_NOTES = ("ior execs /usr/bin/true from a non-main thread of the workload itself, which "
               "then becomes true and exits. Here a forked child does it (an exec would "
               "replace the scenario process): its main thread starts a raw thread and spins "
               "(no syscall) until the exec's de_thread ends it; the thread calls gettid and "
               "execve(\"<dir>/true\", [\"true\"], []) (an empty environment: exact), which "
               "enters under the thread's tid and returns 0 under the child's pid. The target "
               "is not /usr/bin/true, whose loader and libc calls vary by host, but a static "
               "executable of {size} the setup writes to <dir>/true (comm `true`, as ior's): "
               "its only syscalls are declared. The worker reaps the child with wait4.")

SCENARIOS = scenarios("process", [
    dict(name="process_exec_lifecycle",
         summary="execve and execveat of missing files (-ENOENT), then a 10 ms sleep",
         kernel=kernel(process_exec_lifecycle_loop, exec_lifecycle_setup), needs_dir=True,
         iteration=['execve("<dir>/ior-missing-execve-only", ["<dir>/ior-missing-execve-only"], '
                    '[]) -> -ENOENT',
                    'execveat(AT_FDCWD, "<dir>/ior-missing-execveat-only", '
                    '["<dir>/ior-missing-execveat-only"], [], 0) -> -ENOENT',
                    "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=10000000}, NULL) -> 0"],
         ior_repeat=100,
         notes="ior loops for 2 s over execve(\"/tmp/ior-missing-execve-only\") and "
               "execveat(AT_FDCWD, \"ior-missing-execveat-only\") (relative to its cwd), "
               "sleeping 10 ms between; here one iteration is one pass, and both paths are in "
               "the worker's private directory, so nothing there can make an exec succeed and "
               "replace the process. ior_repeat 100 is about ior's 2 s."),
    dict(name="process_kcmp_file",
         summary="kcmp(pid, pid, KCMP_FILE, fd, fd) of an open file with itself: 0",
         kernel=kernel(process_kcmp_file_loop, getpid_setup), needs_dir=True,
         requires=[_kcmp_supported],
         setup=["pid = getpid() -> >=1"],
         iteration=['fd = openat(AT_FDCWD, "<dir>/kcmp-target", O_RDWR|O_CREAT, 0600) -> >=0',
                    "kcmp(pid, pid, KCMP_FILE, fd, fd) -> 0", "close(fd) -> 0"],
         notes="ior tolerates EPERM and ENOSYS from kcmp; here a host that refuses it makes "
               "the scenario unsupported (the probe compares this process's VM with itself). "
               "ior's os.Getpid is a getpid call in setup."),
    dict(name="process_kcmp_vm",
         summary="kcmp(pid, pid, KCMP_VM, fd, fd): the fd arguments are ignored, 0",
         kernel=kernel(process_kcmp_vm_loop, getpid_setup), needs_dir=True,
         requires=[_kcmp_supported],
         setup=["pid = getpid() -> >=1"],
         iteration=['fd = openat(AT_FDCWD, "<dir>/kcmp-target", O_RDWR|O_CREAT, 0600) -> >=0',
                    "kcmp(pid, pid, KCMP_VM, fd, fd) -> 0", "close(fd) -> 0"],
         notes="The fd arguments are valid numbers that KCMP_VM ignores: a tracer must not "
               "name a file for this row. ior tolerates EPERM and ENOSYS; here such a host "
               "makes it unsupported."),
    dict(name="exec_non_leader_thread",
         summary="a forked child's non-leader thread execs a tiny static `true` (exit_group 0)",
         kernel=kernel(exec_non_leader_loop, exec_non_leader_setup), needs_dir=True,
         requires=[_image_supported],
         setup=_WRITE_IMAGE,
         iteration=_exec_iteration(["exit_group(0) -> noreturn"]),
         notes=_EXEC_NOTES.format(size="129 bytes (exit_group(0))")),
    dict(name="exec_non_leader_thread_tid",
         summary="the same exec from a non-leader thread, for a tracer following that thread",
         kernel=kernel(exec_non_leader_loop, exec_non_leader_setup), needs_dir=True,
         requires=[_image_supported],
         setup=_WRITE_IMAGE,
         iteration=_exec_iteration(["exit_group(0) -> noreturn"]),
         notes="ior parks the exec'ing thread before its PID line and publishes its tid "
               "(IOR_WORKLOAD_TID_FILE) for `ior -tid`, as ior mode does (IOR_SCENARIOS below); "
               "in the normal mode this is exec_non_leader_thread's sequence, the thread's tid "
               "in the expect file's result. " + _EXEC_NOTES.format(size="129 bytes (exit_group(0))")),
    dict(name="exec_non_leader_into_open",
         summary="a non-leader thread execs an image that does open_basic's openat and close",
         kernel=kernel(exec_non_leader_loop, exec_into_open_setup), needs_dir=True,
         requires=[_image_supported],
         setup=_WRITE_IMAGE,
         iteration=_exec_iteration([
             'openat(AT_FDCWD, "<dir>/testfile.txt", O_RDWR|O_CREAT, 0644) -> >=0',
             "close(?) -> 0", "exit_group(0) -> noreturn"]),
         notes="ior execs itself as `ioworkload --scenario=open-basic`, which prints a PID "
               "again and runs open-basic; here the image (a static executable holding the "
               "path) issues open_basic's two calls on <dir>/testfile.txt and exit_group(0), "
               "so every call after the exec is declared (its fd is the lowest free one in the "
               "child, hence close(?)). "
               + _EXEC_NOTES.format(size="under 200 bytes")),
])


# ior mode's own sequences (ior_mode.py): the exec in the scenario process itself
_RELEASE_EXEC = ["futex(&park_word, FUTEX_WAKE, 1, NULL, NULL, 0) -> 1",
                 "helper: futex(&park_word, FUTEX_WAIT, 0, NULL, NULL, 0) -> 0 exit-only",
                 'helper: execve("<dir>/true", ["true"], []) -> 0']
_IOR_EXEC_NOTES = (
    "ior's sequence, in the scenario process itself: the prestart writes the image (<dir>/true, "
    "a static executable of its own calls only: no loader, no libc) and starts a raw thread "
    "that sleeps in a futex wait on park_word before the PID line; its tid names the helper "
    "task and goes to IOR_WORKLOAD_TID_FILE ({tid_file}). Setup wakes it and waits without "
    "a syscall; the thread calls execve, which enters under its tid and returns 0 under the "
    "PID (the kernel's de_thread kills the worker and hands the thread the leader's tid, so "
    "the expect file's execve says returns_on: the PID). The worker's events end with its "
    "wake (killed in a spin, no exit of its own); from the exec on, the process is the "
    "image (the image task, tid == PID): {image}then, like the main thread of every run, it "
    "waits until the controller lets it go (after the hold file: rt_sigtimedwait for "
    "SIGUSR1, which the runner keeps blocked and the exec keeps blocked) and ends the process "
    "with exit_group(0). Its comm is `true`. Iterations add nothing: ior's scenario runs "
    "once.")
_IOR_EXEC = dict(needs_dir=True, requires=[_image_supported], prestart_task="helper", once=True,
                 execs=True)

IOR_SCENARIOS = scenarios("process", [
    dict(name="exec_non_leader_thread",
         summary="a thread parked before the PID line execs a tiny `true` in the process itself",
         kernel=kernel(nothing_more_loop, release_exec_thread, NULL, park_exec_true),
         prestart_required=False, setup=_RELEASE_EXEC, **_IOR_EXEC,
         notes=_IOR_EXEC_NOTES.format(tid_file="when set", image="")),
    dict(name="exec_non_leader_thread_tid",
         summary="the same exec, the parked thread's tid published for `ior -tid`",
         kernel=kernel(nothing_more_loop, release_exec_thread, NULL, park_exec_true),
         setup=_RELEASE_EXEC, **_IOR_EXEC,
         notes=_IOR_EXEC_NOTES.format(tid_file="required, as ior's prestart hook needs it",
                                      image="")),
    dict(name="exec_non_leader_into_open",
         summary="a parked thread execs an image that opens testfile.txt under the PID",
         kernel=kernel(nothing_more_loop, release_exec_thread, NULL, park_exec_into_open),
         prestart_required=False,
         setup=_RELEASE_EXEC + [
             'image: openat(AT_FDCWD, "<dir>/testfile.txt", O_RDWR|O_CREAT, 0644) -> >=0',
             "image: close(?) -> 0"], **_IOR_EXEC,
         notes=_IOR_EXEC_NOTES.format(
             tid_file="when set",
             image="it opens <dir>/testfile.txt and closes it (open_basic's calls; ior re-execs "
                   "itself as `ioworkload --scenario=open-basic`, which prints its PID again: "
                   "not here), ")),
])
for _sc in IOR_SCENARIOS:
    _sc.one_worker = True   # the exec takes the whole process
