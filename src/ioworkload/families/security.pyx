# Family 'security': ior's pidfd, security, locks and seccomp scenarios
# (../shared/reference/ior-ioworkload-catalog.md, 4.14): getrandom, flock, pidfd_open /
# pidfd_getfd / pidfd_send_signal, add_key / request_key / keyctl, ptrace, perf_event_open,
# landlock_create_ruleset / landlock_add_rule, and a seccomp filter's denials.
#
# Nothing here changes the process for good: the pidfd target is a child we fork and reap
# within the iteration (ior targets its own process, and probes PID 1: never here), the keys
# live in a keyring of our own that teardown revokes and unlinks, the landlock ruleset is
# never enforced (as in ior), and the seccomp filter sits on a throwaway raw-clone thread
# that exits at the end of its iteration.

from libc.stdint cimport uint64_t
from libc.string cimport strlen
from posix.time cimport timespec, CLOCK_MONOTONIC
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5,
    iow_tally_ret, iow_stop_requested, iow_path, iow_note_task, kernel, IOW_SCRATCH_BYTES,
)
from ioworkload.families._clone cimport (
    IOW_HAVE_CLONE_THREAD, iow_clone_thread, iow_release_fence, CLONE_VM, CLONE_FS, CLONE_FILES,
    CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM, CLONE_CHILD_CLEARTID, CLONE_VFORK, iow_load_acquire,
    iow_store_release, iow_cpu_relax,
)
from ioworkload.families._common cimport close_tracked

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_read
        __NR_write
        __NR_pipe2
        __NR_clone
        __NR_exit_group
        __NR_wait4
        __NR_getrandom
        __NR_flock
        __NR_pidfd_open
        __NR_add_key
        __NR_request_key
        __NR_keyctl
        __NR_ptrace
        __NR_perf_event_open
        __NR_clock_nanosleep

# Numbers, structs and constants the build host's headers may lack (all numbers >= 424 are
# the same on every architecture; the values are the kernel's uapi ones).
cdef extern from *:
    """
    #include <asm/unistd.h>
    #ifndef __NR_pidfd_send_signal
    #define __NR_pidfd_send_signal 424
    #endif
    #ifndef __NR_pidfd_getfd
    #define __NR_pidfd_getfd 438
    #endif
    #ifndef __NR_landlock_create_ruleset
    #define __NR_landlock_create_ruleset 444
    #endif
    #ifndef __NR_landlock_add_rule
    #define __NR_landlock_add_rule 445
    #endif

    #define IOW_KEY_SPEC_THREAD_KEYRING (-1)   /* <linux/keyctl.h> */
    #define IOW_KEYCTL_GET_KEYRING_ID 0
    #define IOW_KEYCTL_REVOKE 3
    #define IOW_KEYCTL_UNLINK 9
    #define IOW_PTRACE_PEEKDATA 2              /* <linux/ptrace.h> */
    #define IOW_PERF_TYPE_SOFTWARE 1           /* <linux/perf_event.h> */
    #define IOW_PERF_COUNT_SW_CPU_CLOCK 0
    #define IOW_LANDLOCK_CREATE_RULESET_VERSION 1  /* <linux/landlock.h> */
    #define IOW_LANDLOCK_RULE_PATH_BENEATH 1
    #define IOW_LANDLOCK_ACCESS_FS_READ_FILE 4

    /* ior's perf_event_attr: type, size, config only (16 bytes, below PERF_ATTR_SIZE_VER0). */
    typedef struct { unsigned int type, size; unsigned long long config; } iow_short_perf_attr;
    /* struct landlock_ruleset_attr with its ABI-4 net field (16 bytes), as ior sends it. */
    typedef struct { unsigned long long handled_access_fs, handled_access_net; } iow_ruleset_attr;
    /* struct landlock_path_beneath_attr: packed, 12 bytes. */
    typedef struct __attribute__((packed)) {
        unsigned long long allowed_access;
        int parent_fd;
    } iow_path_beneath_attr;
    """
    enum:
        __NR_pidfd_send_signal
        __NR_pidfd_getfd
        __NR_landlock_create_ruleset
        __NR_landlock_add_rule
        IOW_KEY_SPEC_THREAD_KEYRING
        IOW_KEYCTL_GET_KEYRING_ID
        IOW_KEYCTL_REVOKE
        IOW_KEYCTL_UNLINK
        IOW_PTRACE_PEEKDATA
        IOW_PERF_TYPE_SOFTWARE
        IOW_PERF_COUNT_SW_CPU_CLOCK
        IOW_LANDLOCK_CREATE_RULESET_VERSION
        IOW_LANDLOCK_RULE_PATH_BENEATH
        IOW_LANDLOCK_ACCESS_FS_READ_FILE
    ctypedef struct iow_short_perf_attr:
        unsigned int type
        unsigned int size
        unsigned long long config
    ctypedef struct iow_ruleset_attr:
        unsigned long long handled_access_fs
        unsigned long long handled_access_net
    ctypedef struct iow_path_beneath_attr:
        unsigned long long allowed_access
        int parent_fd

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_CREAT
        O_CLOEXEC
        O_PATH

cdef extern from "<sys/file.h>" nogil:
    enum:
        LOCK_EX
        LOCK_UN

cdef extern from "<signal.h>" nogil:
    enum:
        SIGCHLD

# seccomp_denied's filter: ior's four instructions (load the syscall number; fchmod is
# answered with EPERM, everything else allowed).
cdef extern from *:
    """
    #include <errno.h>
    #include <stddef.h>
    #include <linux/filter.h>
    #include <linux/seccomp.h>
    #include <sys/prctl.h>
    #ifndef SECCOMP_GET_ACTION_AVAIL
    #define SECCOMP_GET_ACTION_AVAIL 2
    #endif
    static void iow_deny_fchmod_filter(struct sock_filter *insns, struct sock_fprog *prog)
    {
        const struct sock_filter code[4] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fchmod, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        for (int i = 0; i < 4; i++)
            insns[i] = code[i];
        prog->len = 4;
        prog->filter = insns;
    }
    """
    enum:
        PR_SET_NO_NEW_PRIVS
        SECCOMP_SET_MODE_FILTER
        SECCOMP_GET_ACTION_AVAIL
        SECCOMP_RET_ERRNO
        __NR_fchmod
        __NR_prctl
        __NR_seccomp
        __NR_exit
    struct sock_filter:
        unsigned short code
    struct sock_fprog:
        unsigned short len
    void iow_deny_fchmod_filter(sock_filter *insns, sock_fprog *prog) nogil

import os

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import syscall_implemented

# Names manifests use that the common headers (_consts) do not have.
CONSTANTS = {
    "LOCK_EX": LOCK_EX, "LOCK_UN": LOCK_UN,
    "KEY_SPEC_THREAD_KEYRING": IOW_KEY_SPEC_THREAD_KEYRING,
    "KEYCTL_GET_KEYRING_ID": IOW_KEYCTL_GET_KEYRING_ID, "KEYCTL_REVOKE": IOW_KEYCTL_REVOKE,
    "KEYCTL_UNLINK": IOW_KEYCTL_UNLINK,
    "PTRACE_PEEKDATA": IOW_PTRACE_PEEKDATA,
    "LANDLOCK_RULE_PATH_BENEATH": IOW_LANDLOCK_RULE_PATH_BENEATH,
    "PR_SET_NO_NEW_PRIVS": PR_SET_NO_NEW_PRIVS, "SECCOMP_SET_MODE_FILTER": SECCOMP_SET_MODE_FILTER,
}

cdef enum:
    RANDOM_BYTES = 32       # ior's getrandom buffer
    IOR_COPY_HOLD_NS = 500000000   # ior's pause before it closes pidfd_getfd's copy
    MODE = 0o644
    NEVER_OPEN_FD = 99999   # ior's invalid source fd
    P_FILE = 0              # w.path slot
    V_KEYRING = 0           # w.val slots: our private keyring, the user key in it
    V_KEY = 1
    DENIED_CALLS = 3        # ior's fchmod calls under the filter

cdef const char *GETFD_PAYLOAD = b"via pidfd_getfd"   # 15 bytes
cdef const char *RELEASE_BYTE = b"x"
cdef const char *KEY_TYPE = b"user"
cdef const char *KEY_DESC = b"ior-key"
cdef const char *KEY_PAYLOAD = b"ior"
cdef const char *KEYRING_TYPE = b"keyring"
cdef const char *KEYRING_DESC = b"ioworkload"
cdef const char *ROOT_DIR = b"/"

ctypedef struct SecurityScratch:
    unsigned char random[RANDOM_BYTES]
    int hold[2]             # the held child's pipe: it reads hold[0] until hold[1] is closed
    int status
    unsigned char byte
    iow_short_perf_attr perf
    iow_ruleset_attr ruleset
    iow_path_beneath_attr beneath
    sock_filter filter[4]
    sock_fprog prog
    int thread_alive        # CLONE_CHILD_CLEARTID word: 1 until the helper thread has exited
    timespec hold_copy      # how long ior mode keeps pidfd_getfd's copy open


# ---- security_getrandom ----

cdef uint64_t getrandom_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SecurityScratch *st = <SecurityScratch *>w.scratch
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_getrandom, <long>st.random, RANDOM_BYTES, 0))
    return n


# ---- flock_basic ----

cdef uint64_t flock_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    iow_path(w, P_FILE, b"flockfile.txt")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_FILE], O_RDWR | O_CREAT, MODE))
        iow_tally_ret(&w.iter[1], iow_sys2(__NR_flock, w.fd[0], LOCK_EX))
        iow_tally_ret(&w.iter[2], iow_sys2(__NR_flock, w.fd[0], LOCK_UN))
        close_tracked(&w.iter[3], &w.fd[0])
    return n


# ---- the held child: the pidfd scenarios' target ----
# A forked child that lives until we write one byte into its pipe: it reads the pipe, which
# returns that byte. Waiting for a byte, not for EOF: with --threads the other workers' children
# inherit copies of this pipe's write end too (one fd table), so EOF could never come.

cdef void held_child(SecurityScratch *st, iow_tally *t) noexcept nogil:
    # The forked child (a copy of this process): only raw syscalls, then the raw exit_group.
    # Its tallies land in its own copy of memory: the kernel's counts witness them.
    iow_tally_ret(&t[0], 0)  # clone returned 0 here
    iow_tally_ret(&t[1], iow_sys3(__NR_read, st.hold[0], <long>&st.byte, 1))
    iow_tally_ret(&t[2], 0)  # exit_group does not return
    iow_sys1(__NR_exit_group, 0)


cdef long start_held_child(iow_worker *w, iow_tally *t) noexcept nogil:
    """pipe2(&hold, O_CLOEXEC), clone(SIGCHLD) and the child's 3 events (5 events); returns
    the child's pid (or -errno)."""
    cdef SecurityScratch *st = <SecurityScratch *>w.scratch
    cdef long pid
    st.hold[0] = -1
    st.hold[1] = -1
    if iow_tally_ret(&t[0], iow_sys2(__NR_pipe2, <long>st.hold, O_CLOEXEC)) < 0:
        return -1
    pid = iow_sys5(__NR_clone, SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        held_child(st, &t[2])
    iow_tally_ret(&t[1], pid)
    iow_note_task(w, pid)
    if pid < 0:
        iow_sys1(__NR_close, st.hold[1])  # not declared: the run has failed already
        iow_sys1(__NR_close, st.hold[0])
        st.hold[0] = -1
        st.hold[1] = -1
    return pid


cdef void release_held_child(iow_worker *w, iow_tally *t, long pid) noexcept nogil:
    """write(hold_w, "x", 1) (the child's read returns it), close both ends, wait4(pid)
    (4 events)."""
    cdef SecurityScratch *st = <SecurityScratch *>w.scratch
    if pid <= 0:
        return
    iow_tally_ret(&t[0], iow_sys3(__NR_write, st.hold[1], <long>RELEASE_BYTE, 1))
    iow_tally_ret(&t[1], iow_sys1(__NR_close, st.hold[1]))
    iow_tally_ret(&t[2], iow_sys1(__NR_close, st.hold[0]))
    iow_tally_ret(&t[3], iow_sys4(__NR_wait4, pid, <long>&st.status, 0, 0))


# ---- pidfd_send_signal, pidfd_getfd_success, pidfd_getfd_failure ----

cdef uint64_t pidfd_send_signal_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long pid
    for i in range(n):
        if iow_stop_requested(w):
            return i
        pid = start_held_child(w, &w.iter[0])
        if pid > 0:
            w.fd[0] = iow_tally_ret(&w.iter[5], iow_sys2(__NR_pidfd_open, pid, 0))
            # signal 0: the kernel checks the target and permission, delivers nothing
            iow_tally_ret(&w.iter[6], iow_sys4(__NR_pidfd_send_signal, w.fd[0], 0, 0, 0))
            close_tracked(&w.iter[7], &w.fd[0])
        release_held_child(w, &w.iter[8], pid)
    return n


cdef uint64_t pidfd_getfd_copy(iow_worker *w, uint64_t n, long hold_ns) noexcept nogil:
    """Each iteration copies the child's fd and writes through the copy; with hold_ns, the copy
    stays open that long before it is closed (one more event after the write)."""
    cdef SecurityScratch *st = <SecurityScratch *>w.scratch
    cdef uint64_t i
    cdef long pid
    cdef int after = 9 if hold_ns == 0 else 10
    st.hold_copy.tv_sec = hold_ns // 1000000000
    st.hold_copy.tv_nsec = hold_ns % 1000000000
    iow_path(w, P_FILE, b"pidfd-getfd-source.txt")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        # the source file is open before the fork: the child holds a copy of that fd number
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_FILE], O_RDWR | O_CREAT, MODE))
        pid = start_held_child(w, &w.iter[1])
        if pid > 0:
            w.fd[1] = iow_tally_ret(&w.iter[6], iow_sys2(__NR_pidfd_open, pid, 0))
            w.fd[2] = iow_tally_ret(&w.iter[7], iow_sys3(__NR_pidfd_getfd, w.fd[1], w.fd[0], 0))
            iow_tally_ret(&w.iter[8], iow_sys3(__NR_write, w.fd[2], <long>GETFD_PAYLOAD,
                                               strlen(GETFD_PAYLOAD)))
            if hold_ns:
                iow_tally_ret(&w.iter[9], iow_sys4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0,
                                                   <long>&st.hold_copy, 0))
            close_tracked(&w.iter[after], &w.fd[2])
            close_tracked(&w.iter[after + 1], &w.fd[1])
        release_held_child(w, &w.iter[after + 2], pid)
        close_tracked(&w.iter[after + 6], &w.fd[0])
    return n


cdef uint64_t pidfd_getfd_success_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return pidfd_getfd_copy(w, n, 0)


cdef uint64_t ior_pidfd_getfd_success_loop(iow_worker *w, uint64_t n) noexcept nogil:
    # ior keeps the copy open 500 ms, so its event loop can name the fd through /proc
    return pidfd_getfd_copy(w, n, IOR_COPY_HOLD_NS)


cdef uint64_t pidfd_getfd_failure_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long pid
    for i in range(n):
        if iow_stop_requested(w):
            return i
        pid = start_held_child(w, &w.iter[0])
        if pid > 0:
            w.fd[0] = iow_tally_ret(&w.iter[5], iow_sys2(__NR_pidfd_open, pid, 0))
            iow_tally_ret(&w.iter[6], iow_sys3(__NR_pidfd_getfd, w.fd[0], NEVER_OPEN_FD, 0))
            close_tracked(&w.iter[7], &w.fd[0])
        release_held_child(w, &w.iter[8], pid)
    return n


# ---- security_keys_ptrace_perf ----

cdef int keys_setup(iow_worker *w) noexcept nogil:
    # A keyring of our own, linked into this thread's keyring (created on first use, private
    # to the thread): ior's key goes there, not into the process keyring of whoever runs us.
    cdef long ring = iow_tally_ret(&w.setup[0], iow_sys5(
        __NR_add_key, <long>KEYRING_TYPE, <long>KEYRING_DESC, 0, 0, IOW_KEY_SPEC_THREAD_KEYRING))
    w.val[V_KEYRING] = ring
    w.val[V_KEY] = -1
    return <int>ring if ring < 0 else 0


cdef uint64_t keys_ptrace_perf_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SecurityScratch *st = <SecurityScratch *>w.scratch
    cdef long ring = w.val[V_KEYRING]
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.val[V_KEY] = iow_tally_ret(&w.iter[0], iow_sys5(
            __NR_add_key, <long>KEY_TYPE, <long>KEY_DESC, <long>KEY_PAYLOAD, strlen(KEY_PAYLOAD),
            ring))
        iow_tally_ret(&w.iter[1], iow_sys4(__NR_request_key, <long>KEY_TYPE, <long>KEY_DESC, 0,
                                           ring))
        iow_tally_ret(&w.iter[2], iow_sys5(__NR_keyctl, IOW_KEYCTL_GET_KEYRING_ID, ring, 0, 0, 0))
        iow_tally_ret(&w.iter[3], iow_sys4(__NR_ptrace, IOW_PTRACE_PEEKDATA, -1, 0, 0))
        # the kernel writes its own attr size back into perf.size on -E2BIG: set it each time
        st.perf.type = IOW_PERF_TYPE_SOFTWARE
        st.perf.size = sizeof(iow_short_perf_attr)
        st.perf.config = IOW_PERF_COUNT_SW_CPU_CLOCK
        w.fd[0] = iow_tally_ret(&w.iter[4], iow_sys5(__NR_perf_event_open, <long>&st.perf, 0, -1,
                                                     -1, 0))
        close_tracked(&w.iter[5], &w.fd[0])  # only if it opened (not declared: -E2BIG)
    return n


cdef void keys_teardown(iow_worker *w) noexcept nogil:
    if w.val[V_KEYRING] <= 0:
        return
    if w.val[V_KEY] > 0:
        iow_tally_ret(&w.teardown[0], iow_sys5(__NR_keyctl, IOW_KEYCTL_REVOKE, w.val[V_KEY], 0, 0, 0))
    # the thread keyring held the last link: the keyring, and the key in it, are freed
    iow_tally_ret(&w.teardown[1], iow_sys5(__NR_keyctl, IOW_KEYCTL_UNLINK, w.val[V_KEYRING],
                                           IOW_KEY_SPEC_THREAD_KEYRING, 0, 0))
    w.val[V_KEYRING] = -1


# ---- security_landlock ----

cdef uint64_t landlock_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SecurityScratch *st = <SecurityScratch *>w.scratch
    cdef uint64_t i
    st.ruleset.handled_access_fs = IOW_LANDLOCK_ACCESS_FS_READ_FILE
    st.ruleset.handled_access_net = 0
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys3(
            __NR_landlock_create_ruleset, <long>&st.ruleset, sizeof(iow_ruleset_attr), 0))
        w.fd[1] = iow_tally_ret(&w.iter[1], iow_sys4(
            __NR_openat, AT_FDCWD, <long>ROOT_DIR, O_PATH | O_CLOEXEC, 0))
        st.beneath.allowed_access = IOW_LANDLOCK_ACCESS_FS_READ_FILE
        st.beneath.parent_fd = <int>w.fd[1]
        iow_tally_ret(&w.iter[2], iow_sys4(__NR_landlock_add_rule, w.fd[0],
                                           IOW_LANDLOCK_RULE_PATH_BENEATH, <long>&st.beneath, 0))
        close_tracked(&w.iter[3], &w.fd[1])
        close_tracked(&w.iter[4], &w.fd[0])
    return n


# ---- seccomp_denied ----
# The filter cannot be removed from the thread that installs it, so a raw-clone helper thread
# carries it and exits at the end of the iteration; no other thread ever has it (no TSYNC).

cdef void seccomp_thread_body(void *arg) noexcept nogil:
    # Runs on the helper thread's own stack; only raw syscalls, then the raw exit.
    cdef iow_worker *w = <iow_worker *>arg
    cdef SecurityScratch *st = <SecurityScratch *>w.scratch
    cdef int k
    iow_tally_ret(&w.iter[2], 0)  # clone returned 0 here
    iow_tally_ret(&w.iter[3], iow_sys2(__NR_fchmod, w.fd[0], MODE))
    if iow_tally_ret(&w.iter[4], iow_sys5(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) == 0:
        if iow_tally_ret(&w.iter[5], iow_sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0,
                                              <long>&st.prog)) == 0:
            for k in range(DENIED_CALLS):
                iow_tally_ret(&w.iter[6], iow_sys2(__NR_fchmod, w.fd[0], MODE))
    iow_tally_ret(&w.iter[7], 0)  # exit does not return
    iow_release_fence()           # the tallies above are visible before the tid word clears
    iow_sys1(__NR_exit, 0)


cdef uint64_t seccomp_denied_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SecurityScratch *st = <SecurityScratch *>w.scratch
    cdef uint64_t i
    cdef long tid
    iow_path(w, P_FILE, b"denied.txt")
    iow_deny_fchmod_filter(st.filter, &st.prog)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_FILE], O_RDWR | O_CREAT, MODE))
        iow_store_release(&st.thread_alive, 1)
        # CLONE_VFORK: the worker sleeps inside clone until the helper has exited, so it waits
        # without a syscall of its own (as in open_by_handle_at_threads).
        tid = iow_tally_ret(&w.iter[1], iow_clone_thread(
            CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
            | CLONE_VFORK | CLONE_CHILD_CLEARTID, w.scratch + IOW_SCRATCH_BYTES,
            &st.thread_alive, seccomp_thread_body, w))
        iow_note_task(w, tid)
        if tid > 0:
            while iow_load_acquire(&st.thread_alive):  # orders the helper's tallies before ours
                iow_cpu_relax()
        close_tracked(&w.iter[8], &w.fd[0])
    return n


# ---- requirements ----

def _errno_text(long ret):
    from ioworkload.core.errors import errno_name
    return errno_name(-ret)


def _ptrace_scope_allows_children():
    """pidfd_getfd needs ptrace access to our own child: Yama's ptrace_scope 0 and 1 allow
    it, 2 only with CAP_SYS_PTRACE, 3 never."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = int(f.read())
    except (OSError, ValueError):
        return None  # no Yama: plain ptrace rules, our own child is ours
    if scope >= 3:
        return "Yama's kernel.yama.ptrace_scope is 3: no process may ptrace another (pidfd_getfd)"
    if scope == 2:
        with open("/proc/self/status") as f:
            caps = next((int(l.split()[1], 16) for l in f if l.startswith("CapEff:")), 0)
        if not caps >> 19 & 1:  # CAP_SYS_PTRACE
            return ("Yama's kernel.yama.ptrace_scope is 2: pidfd_getfd needs CAP_SYS_PTRACE "
                    "(run as root)")
    return None


def _keys_usable():
    """keyctl answers (a kernel without CONFIG_KEYS says ENOSYS; a container's seccomp
    profile often denies the key calls with EPERM). Asked for this thread's keyring
    without creating it: -ENOKEY, or its id, and nothing is made."""
    from ioworkload.core._runner import raw_syscall
    ret = raw_syscall(__NR_keyctl, IOW_KEYCTL_GET_KEYRING_ID, IOW_KEY_SPEC_THREAD_KEYRING, 0)
    if ret < 0 and -ret != 126:  # ENOKEY
        return f"the kernel's key management (keyctl) is not available here ({_errno_text(ret)})"
    return None


def _perf_attr_checked():
    """perf_event_open reaches its attr check: ior's 16-byte attr is refused with E2BIG
    (a kernel without perf events says ENOSYS; a seccomp profile may say EPERM)."""
    from ioworkload.core._runner import raw_syscall
    cdef iow_short_perf_attr attr
    attr.type = IOW_PERF_TYPE_SOFTWARE
    attr.size = sizeof(iow_short_perf_attr)
    attr.config = IOW_PERF_COUNT_SW_CPU_CLOCK
    ret = raw_syscall(__NR_perf_event_open, <long>&attr, 0, -1, -1, 0)
    if ret >= 0:
        os.close(ret)
        return "perf_event_open accepted a 16-byte attr (expected E2BIG)"
    if -ret != 7:  # E2BIG
        return f"perf_event_open does not check its attr here ({_errno_text(ret)})"
    return None


def _landlock_abi():
    """The kernel has Landlock and it is enabled (ABI version >= 1)."""
    from ioworkload.core._runner import raw_syscall
    ret = raw_syscall(__NR_landlock_create_ruleset, 0, 0, IOW_LANDLOCK_CREATE_RULESET_VERSION)
    if ret < 0:
        return (f"Landlock is not available ({_errno_text(ret)}): the kernel lacks it, or the "
                f"landlock LSM is not enabled (lsm= boot parameter)")
    return None


def _clone_thread_supported():
    if not IOW_HAVE_CLONE_THREAD:
        return "starting a raw helper thread is only written for x86-64 and aarch64"
    return None


def _seccomp_errno_filters():
    """The kernel has seccomp filters and their SECCOMP_RET_ERRNO action."""
    from ioworkload.core._runner import raw_syscall
    cdef unsigned int action = SECCOMP_RET_ERRNO
    ret = raw_syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, <long>&action)
    if ret < 0:
        return f"seccomp filters with SECCOMP_RET_ERRNO are not available here ({_errno_text(ret)})"
    return None


_PIDFD = [syscall_implemented("pidfd_open", __NR_pidfd_open, -1, 0)]
_GETFD = _PIDFD + [syscall_implemented("pidfd_getfd", __NR_pidfd_getfd, -1, 0, 0),
                   _ptrace_scope_allows_children]
_FORK = "clone(SIGCHLD, 0, NULL, NULL, 0)"
_CLOSE = "close(fd) -> 0"


def _HELD_CHILD():
    """The events of start_held_child(): the pipe, the fork and the child's own calls."""
    return ["pipe2(&hold, O_CLOEXEC) -> 0",
            f"pid = {_FORK} -> >=1",
            f"child: {_FORK} -> 0 exit-only",
            "child: read(?, &byte, 1) -> 1",
            "child: exit_group(0) -> noreturn"]


# iow_clone_thread's call: flags, the stack top (end of the worker's scratch), no parent tid
# pointer, the CLONE_CHILD_CLEARTID word, tls 0.
_THREAD_CLONE = ("clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|"
                 "CLONE_VFORK|CLONE_CHILD_CLEARTID, &scratch_end, NULL, &thread_alive, 0)")

# release_held_child(): one byte for the child's read, both ends closed, the child reaped
_RELEASE_CHILD = ['write(?, "x", 1) -> 1', "close(?) -> 0", "close(?) -> 0",
                  "wait4(pid, &status, 0, NULL) -> >=1"]
_HELD_NOTE = ("The target is a child forked for the iteration (ior targets its own process): "
              "it blocks reading a pipe until the worker, after its pidfd calls, writes one "
              "byte into it; the worker closes both ends and reaps it with wait4. The child "
              "issues only the child: events, through raw syscalls, and ends with the raw "
              "exit_group.")

def _getfd_success(hold):
    """pidfd_getfd_success's iteration; `hold`: the events between the write and the close of
    the copy."""
    return (['fd = openat(AT_FDCWD, "<dir>/pidfd-getfd-source.txt", O_RDWR|O_CREAT, 0644) -> >=0']
            + _HELD_CHILD() + [
            "pidfd = pidfd_open(pid, 0) -> >=0",
            "copy = pidfd_getfd(pidfd, fd, 0) -> >=0",
            'write(copy, "via pidfd_getfd", 15) -> 15'] + hold + [
            "close(copy) -> 0", "close(pidfd) -> 0"] + _RELEASE_CHILD + [_CLOSE])


_GETFD_NOTE = ("The source file is opened before the fork, so the child holds the same fd "
               "number: pidfd_getfd copies the child's fd into ours (ptrace access to our own "
               "child: Yama's ptrace_scope 0 or 1, or 2 with CAP_SYS_PTRACE). ")

SCENARIOS = scenarios("security", [
    dict(name="security_getrandom", summary="getrandom(buf, 32, 0): 32 random bytes",
         kernel=kernel(getrandom_loop),
         iteration=["getrandom(&buf, 32, 0) -> 32"],
         notes="ior loops until 32 bytes are filled (retrying EINTR); the kernel never returns a "
               "short count for a request of 256 bytes or less once its generator is ready, so "
               "one call is the whole loop."),
    dict(name="flock_basic", summary="open flockfile.txt, flock(LOCK_EX), flock(LOCK_UN), close",
         kernel=kernel(flock_basic_loop), needs_dir=True,
         iteration=['fd = openat(AT_FDCWD, "<dir>/flockfile.txt", O_RDWR|O_CREAT, 0644) -> >=0',
                    "flock(fd, LOCK_EX) -> 0", "flock(fd, LOCK_UN) -> 0", _CLOSE],
         notes="Each worker locks the file in its own directory: with --threads the locks never "
               "contend, so LOCK_EX never blocks."),
    dict(name="pidfd_send_signal",
         summary="pidfd_open of a forked child, pidfd_send_signal(pidfd, 0): a liveness probe",
         kernel=kernel(pidfd_send_signal_loop),
         iteration=_HELD_CHILD() + [
             "pidfd = pidfd_open(pid, 0) -> >=0",
             "pidfd_send_signal(pidfd, 0, NULL, 0) -> 0",
             "close(pidfd) -> 0"] + _RELEASE_CHILD,
         requires=_PIDFD + [syscall_implemented("pidfd_send_signal", __NR_pidfd_send_signal,
                                                -1, 0, 0, 0)],
         notes="Signal 0 delivers nothing: the kernel only checks that the target lives and "
               "that we may signal it. " + _HELD_NOTE),
    dict(name="pidfd_getfd_success",
         summary="pidfd_getfd copies a forked child's fd of a file; write through the copy",
         kernel=kernel(pidfd_getfd_success_loop), needs_dir=True,
         iteration=_getfd_success([]),
         requires=_GETFD,
         notes=_GETFD_NOTE + "ior sleeps 500 ms before closing the copy (so its event loop can "
               "read /proc); here it is closed at once (ior mode: after ior's 500 ms). "
               + _HELD_NOTE),
    dict(name="pidfd_getfd_failure",
         summary="pidfd_getfd(pidfd, 99999, 0) of a forked child: no such fd, -EBADF",
         kernel=kernel(pidfd_getfd_failure_loop),
         iteration=_HELD_CHILD() + [
             "pidfd = pidfd_open(pid, 0) -> >=0",
             "pidfd_getfd(pidfd, 99999, 0) -> -EBADF",
             "close(pidfd) -> 0"] + _RELEASE_CHILD,
         requires=_GETFD,
         notes="ior also probes PID 1 (pidfd_open(1), pidfd_getfd(initpfd, 1, 0): as root it "
               "copies init's stdout), best effort, results ignored: never here, a scenario "
               "touches no process but its own. Our pidfd calls cross a process boundary "
               "anyway: the target is our child. " + _HELD_NOTE),
    dict(name="security_keys_ptrace_perf",
         summary="add_key/request_key/keyctl in a private keyring; ptrace -ESRCH; perf -E2BIG",
         kernel=kernel(keys_ptrace_perf_loop, keys_setup, keys_teardown),
         setup=['ring = add_key("keyring", "ioworkload", NULL, 0, KEY_SPEC_THREAD_KEYRING) -> >=1'],
         iteration=['key = add_key("user", "ior-key", "ior", 3, ring) -> >=1',
                    'request_key("user", "ior-key", NULL, ring) -> >=1',
                    "keyctl(KEYCTL_GET_KEYRING_ID, ring, 0, 0, 0) -> >=1",
                    "ptrace(PTRACE_PEEKDATA, -1, 0, 0) -> -ESRCH",
                    "perf_event_open({type=PERF_TYPE_SOFTWARE, size=16, "
                    "config=PERF_COUNT_SW_CPU_CLOCK}, 0, -1, -1, 0) -> -E2BIG"],
         teardown=["keyctl(KEYCTL_REVOKE, key, 0, 0, 0) -> 0",
                   "keyctl(KEYCTL_UNLINK, ring, KEY_SPEC_THREAD_KEYRING, 0, 0) -> 0"],
         requires=[_keys_usable, _perf_attr_checked],
         notes="ior adds the key to the process keyring (KEY_SPEC_PROCESS_KEYRING, -2) and "
               "never removes it; here setup makes a keyring of our own in the worker thread's "
               "keyring, the iteration's three key calls name it instead of -2, and teardown "
               "revokes the key and unlinks the keyring (the last link: the kernel frees both). "
               "add_key of an existing description updates that key, so every iteration "
               "returns the same id. The 16-byte perf attr is below the smallest size the "
               "kernel accepts (64): -E2BIG before any permission check (the kernel writes its "
               "own size back into the attr), so no event is ever opened. ior ignores every "
               "result; here each is exact."),
    dict(name="security_landlock",
         summary="landlock_create_ruleset(READ_FILE), landlock_add_rule of /: never enforced",
         kernel=kernel(landlock_loop),
         iteration=["ruleset = landlock_create_ruleset({handled_access_fs=LANDLOCK_ACCESS_FS_"
                    "READ_FILE, handled_access_net=0}, 16, 0) -> >=0",
                    'root = openat(AT_FDCWD, "/", O_PATH|O_CLOEXEC, 0) -> >=0',
                    "landlock_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, {allowed_access="
                    "LANDLOCK_ACCESS_FS_READ_FILE, parent_fd=root}, 0) -> 0",
                    "close(root) -> 0", "close(ruleset) -> 0"],
         requires=[_landlock_abi],
         notes="As in ior, landlock_restrict_self is never called: the ruleset is built and "
               "closed, no thread is ever confined. The 16-byte attr carries ABI 4's "
               "handled_access_net (0); older kernels accept it too (zeroed trailing bytes). "
               "ior tolerates ENOSYS/EOPNOTSUPP; here a kernel without Landlock is unsupported."),
    dict(name="seccomp_denied",
         summary="a throwaway thread filters fchmod: 1 fchmod ok, then 3 answered -EPERM",
         kernel=kernel(seccomp_denied_loop), needs_dir=True, helper_threads=True,
         iteration=['fd = openat(AT_FDCWD, "<dir>/denied.txt", O_RDWR|O_CREAT, 0644) -> >=0',
                    f"{_THREAD_CLONE} -> >=1",
                    f"helper: {_THREAD_CLONE} -> 0 exit-only",
                    "helper: fchmod(?, 0644) -> 0",
                    "helper: prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) -> 0",
                    "helper: seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=4, filter=[ld nr; "
                    "jeq __NR_fchmod; ret SECCOMP_RET_ERRNO|EPERM; ret SECCOMP_RET_ALLOW]}) -> 0",
                    f"helper: fchmod(?, 0644) -> -EPERM filtered x{DENIED_CALLS}",
                    "helper: exit(0) -> noreturn",
                    _CLOSE],
         requires=[_clone_thread_supported, _seccomp_errno_filters],
         notes="The filter answers fchmod before the syscall tracepoints run: the kernel's "
               "sys_enter tracepoints (raw_syscalls, syscalls:sys_enter_fchmod) never fire for "
               "the three denied calls, sys_exit_fchmod does (-EPERM): 'filtered' events, exits "
               "without an enter. A ptrace tracer (strace) stops at their entry too (ptrace "
               "reports before seccomp runs) and sees three whole calls. The helper is a raw "
               "clone on a stack at the end of the worker's scratch memory that ends with the "
               "raw exit, taking its filter and no_new_privs flag with it; the worker waits in "
               "its CLONE_VFORK clone (no syscall of its own). The helper's fd (?) is the "
               "worker's fd. ior runs the same sequence on a locked Go thread that then ends."),
])


# ior mode's own sequences (ior_mode.py)
IOR_SCENARIOS = scenarios("security", [
    dict(name="pidfd_getfd_success",
         summary="pidfd_getfd copies a forked child's fd; the copy stays open ior's 500 ms",
         kernel=kernel(ior_pidfd_getfd_success_loop), needs_dir=True,
         iteration=_getfd_success([
             "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=500000000}, NULL) -> 0"]),
         requires=_GETFD,
         notes="ior's sequence: after the write the copy stays open for 500 ms (ior: \"so the "
               "event loop can resolve the /proc fd path\": ior names the pidfd_getfd row by "
               "reading /proc/<pid>/fd/<copy> when it handles the call's exit, a race a copy "
               "closed microseconds later can lose), then it is closed. " + _GETFD_NOTE
               + _HELD_NOTE),
])
