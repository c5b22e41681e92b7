# Family 'open': ior's open-* scenarios (../shared/reference/ior-ioworkload-catalog.md, 4.1).
# One iteration is one repeat of ior's body; a body that creates something either reuses it
# (O_CREAT of an existing file) or removes it again within the iteration.

from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memset, strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5,
    iow_tally_ret, iow_stop_requested, iow_path, iow_note_task, kernel, IOW_SCRATCH_BYTES,
)
from ioworkload.families._common cimport close_tracked, one_call_loop
from ioworkload.families._clone cimport (
    IOW_HAVE_CLONE_THREAD, iow_clone_thread, iow_release_fence, CLONE_VM, CLONE_FS, CLONE_FILES,
    CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM, CLONE_CHILD_CLEARTID, CLONE_VFORK, iow_load_acquire,
    iow_store_release, iow_cpu_relax,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_openat2
        __NR_close
        __NR_mkdirat
        __NR_unlinkat
        __NR_statx
        __NR_utimensat
        __NR_write
        __NR_name_to_handle_at
        __NR_open_by_handle_at
        __NR_gettid
        __NR_clone
        __NR_exit
        __NR_exit_group
        __NR_wait4
        __NR_clock_nanosleep
        IOW_NR_creat

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        AT_EMPTY_PATH
        AT_REMOVEDIR
        O_RDONLY
        O_WRONLY
        O_RDWR
        O_CREAT
        O_DIRECTORY
        O_NOCTTY
        O_NONBLOCK

cdef extern from "<sys/stat.h>" nogil:
    enum:
        STATX_BASIC_STATS

cdef extern from "<time.h>" nogil:
    enum:
        CLOCK_MONOTONIC
    struct timespec:
        long tv_sec
        long tv_nsec

cdef extern from "<signal.h>" nogil:
    enum:
        SIGCHLD

cdef extern from "<linux/openat2.h>" nogil:
    struct open_how:
        unsigned long long flags
        unsigned long long mode
        unsigned long long resolve

cdef extern from *:
    """
    /* struct file_handle with room for MAX_HANDLE_SZ (128) bytes, as ior allocates it
       (<fcntl.h> declares f_handle as a flexible array). */
    typedef struct {
        unsigned int handle_bytes;
        int handle_type;
        unsigned char f_handle[128];
    } iow_file_handle;

    /* A spin lock shared by the workers of one run (no syscalls). */
    static int iow_inode_lock;
    static inline void iow_inode_lock_take(void)
    {
        while (__atomic_exchange_n(&iow_inode_lock, 1, __ATOMIC_ACQUIRE))
            iow_cpu_relax();
    }
    static inline void iow_inode_lock_drop(void) { __atomic_store_n(&iow_inode_lock, 0, __ATOMIC_RELEASE); }
    """
    ctypedef struct iow_file_handle:
        unsigned int handle_bytes
        int handle_type
    void iow_inode_lock_take() nogil
    void iow_inode_lock_drop() nogil

import os

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import capability, legacy_syscall, syscall_implemented

cdef enum:
    MAX_HANDLE_SZ = 128
    MODE = 0o644
    TOUCH_MODE = 0o666   # touch's MODE_RW_UGO (before the umask)
    # paths in w.path
    P_FILE = 0
    P_FILE2 = 1
    P_FILE3 = 2
    P_FILE4 = 3

cdef const char *SHOULD_FAIL = b"should fail"  # 11 bytes, as ior writes
cdef long BAD_FD = -1

ctypedef struct HandleState:
    iow_file_handle fh        # 8-byte header + 128 bytes of handle
    iow_file_handle older
    int mount_id
    int thread_alive      # CLONE_CHILD_CLEARTID word: 1 until the helper thread has exited
    int round_base        # the helper's round: its first event's index (HANDLE_THREAD_EVENTS each)
    char round_name[32]   # and the file it takes the handle of

ctypedef struct DirfdState:
    unsigned char statx_buf[256]
    timespec times[2]
    open_how how

ctypedef struct SpawnState:
    int status

# The helper thread's stack: the top of the worker's scratch (page aligned), far above the
# state structs at its start; the thread's frames need well under 1 KiB.
cdef void *thread_stack_top(iow_worker *w) noexcept nogil:
    return w.scratch + IOW_SCRATCH_BYTES


# ---- helpers: each tallies consecutive events starting at t[0] ----

cdef long create_file(iow_worker *w, iow_tally *t, int slot, const char *name) noexcept nogil:
    """openat(O_RDWR|O_CREAT, 0644) + close: the file exists afterwards (2 events)."""
    cdef long fd = iow_tally_ret(&t[0], iow_sys4(
        __NR_openat, AT_FDCWD, <long>iow_path(w, slot, name), O_RDWR | O_CREAT, MODE))
    if fd >= 0:
        iow_tally_ret(&t[1], iow_sys1(__NR_close, fd))
    return fd


cdef long open_dir(iow_worker *w, iow_tally *t) noexcept nogil:
    """openat(AT_FDCWD, <worker dir>, O_RDONLY|O_DIRECTORY): ior's mount fd (1 event)."""
    return iow_tally_ret(t, iow_sys4(__NR_openat, AT_FDCWD, <long>w.dir, O_RDONLY | O_DIRECTORY, 0))


cdef long take_handle(iow_tally *t, long dirfd, const char *name, iow_file_handle *fh,
                      int *mount_id) noexcept nogil:
    """name_to_handle_at(dirfd, name, fh{handle_bytes=128}, &mount_id, 0) (1 event)."""
    fh.handle_bytes = MAX_HANDLE_SZ
    return iow_tally_ret(t, iow_sys5(__NR_name_to_handle_at, dirfd, <long>name, <long>fh,
                                     <long>mount_id, 0))


cdef void handle_of_new_file(iow_worker *w, iow_tally *t, int slot, const char *name,
                             iow_file_handle *fh, bint locked) noexcept nogil:
    """create_file + open_dir (into w.fd[0]) + take_handle of the file (4 events)."""
    cdef HandleState *st = <HandleState *>w.scratch
    if locked:
        iow_inode_lock_take()
    create_file(w, t, slot, name)
    if locked:
        iow_inode_lock_drop()
    w.fd[0] = open_dir(w, &t[2])
    take_handle(&t[3], w.fd[0], name, fh, &st.mount_id)


cdef long open_handle(iow_tally *t, long mount_fd, iow_file_handle *fh) noexcept nogil:
    """open_by_handle_at(mount_fd, fh, O_RDONLY) (1 event)."""
    return iow_tally_ret(t, iow_sys3(__NR_open_by_handle_at, mount_fd, <long>fh, O_RDONLY))


# ---- open_basic, open_creat, open_openat2, open_enoent, open_rdonly_write ----

cdef uint64_t open_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    iow_path(w, P_FILE, b"testfile.txt")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_FILE], O_RDWR | O_CREAT, MODE))
        close_tracked(&w.iter[1], &w.fd[0])
    return n


cdef uint64_t open_creat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    iow_path(w, P_FILE, b"creatfile.txt")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys2(IOW_NR_creat, <long>w.path[P_FILE], MODE))
        close_tracked(&w.iter[1], &w.fd[0])
    return n


cdef uint64_t open_openat2_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef DirfdState *st = <DirfdState *>w.scratch
    cdef uint64_t i
    iow_path(w, P_FILE, b"openat2file.txt")
    memset(&st.how, 0, sizeof(open_how))
    st.how.flags = O_RDWR | O_CREAT
    st.how.mode = MODE
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys4(
            __NR_openat2, AT_FDCWD, <long>w.path[P_FILE], <long>&st.how, sizeof(open_how)))
        close_tracked(&w.iter[1], &w.fd[0])
    return n


cdef uint64_t open_enoent_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_openat, AT_FDCWD,
                         <long>iow_path(w, P_FILE, b"nonexistent/enoentfile.txt"), O_RDONLY, 0)


cdef uint64_t open_rdonly_write_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        create_file(w, &w.iter[0], P_FILE, b"rdonlyfile.txt")
        w.fd[0] = iow_tally_ret(&w.iter[2], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_FILE], O_RDONLY, 0))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_write, w.fd[0], <long>SHOULD_FAIL, strlen(SHOULD_FAIL)))
        close_tracked(&w.iter[4], &w.fd[0])
    return n


# ---- open_dirfd_paths ----

cdef uint64_t open_dirfd_paths_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef DirfdState *st = <DirfdState *>w.scratch
    cdef uint64_t i
    iow_path(w, P_FILE, b"dirfd-base")
    iow_path(w, P_FILE2, b"dirfd-base/relative-openat.txt")
    st.times[0].tv_sec = 1000000000
    st.times[0].tv_nsec = 0
    st.times[1] = st.times[0]
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_mkdirat, AT_FDCWD, <long>w.path[P_FILE], 0o755))
        w.fd[0] = iow_tally_ret(&w.iter[1], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_FILE], O_RDONLY | O_DIRECTORY, 0))
        w.fd[1] = iow_tally_ret(&w.iter[2], iow_sys4(
            __NR_openat, w.fd[0], <long><const char *>b"relative-openat.txt", O_RDWR | O_CREAT, MODE))
        close_tracked(&w.iter[3], &w.fd[1])
        # The dir fd with an empty path: a tracer must name the row after the fd's path.
        iow_tally_ret(&w.iter[4], iow_sys5(__NR_statx, w.fd[0], <long><const char *>b"",
                                           AT_EMPTY_PATH, STATX_BASIC_STATS, <long>st.statx_buf))
        iow_tally_ret(&w.iter[5], iow_sys4(__NR_utimensat, w.fd[0], <long><const char *>b"",
                                           <long>st.times, AT_EMPTY_PATH))
        close_tracked(&w.iter[6], &w.fd[0])
        # undo: the next iteration's mkdirat must succeed again
        iow_tally_ret(&w.iter[7], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>w.path[P_FILE2], 0))
        iow_tally_ret(&w.iter[8], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>w.path[P_FILE], AT_REMOVEDIR))
    return n


# ---- open_by_handle_at family ----

cdef uint64_t open_by_handle_at_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef HandleState *st = <HandleState *>w.scratch
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        handle_of_new_file(w, &w.iter[0], P_FILE, b"handlefile.txt", &st.fh, False)
        w.fd[1] = open_handle(&w.iter[4], w.fd[0], &st.fh)
        close_tracked(&w.iter[5], &w.fd[1])
        close_tracked(&w.iter[6], &w.fd[0])
    return n


cdef uint64_t open_by_handle_at_fail_loop(iow_worker *w, uint64_t n) noexcept nogil:
    # Why the lock: ext4 hands a freed inode number to the next file created in its block
    # group. If a file is being created on the number our stale handle names while
    # open_by_handle_at looks it up, the inode cache reports it as "being created", iget_locked
    # returns NULL and ext4 turns that into -ENOMEM instead of -ESTALE. So this scenario's own
    # file creations and the unlink..open_by_handle_at window exclude each other (a spin lock,
    # no syscall); only another process creating files in the same group can still hit it.
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        handle_fail_round(w, w.iter, b"handle-estale-0.txt")
    return n


cdef enum:
    HANDLE_FAIL_EVENTS = 24   # handle_fail_round()'s calls
    HANDLE_ROUNDS = 5         # ior's handleRounds: the per-round names -0..-4
    HANDLE_REUSE_EVENTS = 10  # one round of open_by_handle_at_reuse_ior_loop
    HANDLE_THREAD_EVENTS = 13 # handle_threads_round()'s events, the helper's included


cdef void handle_fail_round(iow_worker *w, iow_tally *t, const char *estale_name) noexcept nogil:
    """One round of ior's open-by-handle-at-fail (HANDLE_FAIL_EVENTS events from t[0])."""
    cdef HandleState *st = <HandleState *>w.scratch
    # a valid handle passed with mount fd -1
    handle_of_new_file(w, &t[0], P_FILE, b"handle-ebadf.txt", &st.fh, True)
    open_handle(&t[4], BAD_FD, &st.fh)
    close_tracked(&t[5], &w.fd[0])
    # a handle whose file is gone (unlinked, inode freed)
    handle_of_new_file(w, &t[6], P_FILE2, estale_name, &st.fh, True)
    iow_inode_lock_take()
    iow_tally_ret(&t[10], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>w.path[P_FILE2], 0))
    open_handle(&t[11], w.fd[0], &st.fh)
    iow_inode_lock_drop()
    close_tracked(&t[12], &w.fd[0])
    # two handles taken in turn; the failing call uses the older one
    handle_of_new_file(w, &t[13], P_FILE3, b"handle-older.txt", &st.older, True)
    close_tracked(&t[17], &w.fd[0])
    handle_of_new_file(w, &t[18], P_FILE4, b"handle-newer.txt", &st.fh, True)
    close_tracked(&t[22], &w.fd[0])
    open_handle(&t[23], BAD_FD, &st.older)


cdef inline const char *round_name(char *buf, const char *pattern, size_t digit_at,
                                   int r) noexcept nogil:
    """`pattern` (its digit at digit_at) with round r's digit: pure string work."""
    memcpy(buf, pattern, strlen(pattern) + 1)
    buf[digit_at] = <char>(48 + r)
    return buf


cdef uint64_t open_by_handle_at_fail_ior_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """ior's five rounds in one iteration, the unlinked file handle-estale-<round>.txt."""
    cdef char name[32]
    cdef uint64_t i
    cdef int r
    for i in range(n):
        if iow_stop_requested(w):
            return i
        for r in range(HANDLE_ROUNDS):
            handle_fail_round(w, &w.iter[r * HANDLE_FAIL_EVENTS],
                              round_name(name, b"handle-estale-0.txt", 14, r))
    return n


cdef uint64_t open_by_handle_at_reuse_ior_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """ior's openByHandleAtReusedNumber: five rounds (handle-reuse-<r>, decoy-<r>), each
    decoy kept open on the number the handle's fd had, all closed at the end (ior's deferred
    closes: the last decoy first)."""
    cdef HandleState *st = <HandleState *>w.scratch
    cdef iow_tally *t
    cdef char name[32]
    cdef uint64_t i
    cdef int r
    for i in range(n):
        if iow_stop_requested(w):
            return i
        for r in range(HANDLE_ROUNDS):
            t = &w.iter[r * HANDLE_REUSE_EVENTS]
            round_name(name, b"handle-reuse-0.txt", 13, r)
            create_file(w, &t[0], P_FILE, name)
            create_file(w, &t[2], P_FILE2, round_name(name, b"decoy-0.txt", 6, r))
            w.fd[0] = open_dir(w, &t[4])
            take_handle(&t[5], w.fd[0], round_name(name, b"handle-reuse-0.txt", 13, r), &st.fh,
                        &st.mount_id)
            w.fd[1] = open_handle(&t[6], w.fd[0], &st.fh)
            close_tracked(&t[7], &w.fd[1])
            # the decoy takes the number just freed (the lowest free fd) and keeps it
            w.fd[2 + r] = iow_tally_ret(&t[8], iow_sys4(
                __NR_openat, AT_FDCWD, <long>w.path[P_FILE2], O_RDONLY, 0))
            close_tracked(&t[9], &w.fd[0])
        for r in range(HANDLE_ROUNDS):
            close_tracked(&w.iter[HANDLE_ROUNDS * HANDLE_REUSE_EVENTS + r],
                          &w.fd[2 + HANDLE_ROUNDS - 1 - r])
    return n


cdef uint64_t open_by_handle_at_reuse_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef HandleState *st = <HandleState *>w.scratch
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        create_file(w, &w.iter[0], P_FILE2, b"decoy-0.txt")
        handle_of_new_file(w, &w.iter[2], P_FILE, b"handle-reuse-0.txt", &st.fh, False)
        w.fd[1] = open_handle(&w.iter[6], w.fd[0], &st.fh)
        close_tracked(&w.iter[7], &w.fd[1])
        # the decoy takes the number just freed (the lowest free fd)
        w.fd[2] = iow_tally_ret(&w.iter[8], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_FILE2], O_RDONLY, 0))
        close_tracked(&w.iter[9], &w.fd[0])
        close_tracked(&w.iter[10], &w.fd[2])
    return n


cdef void handle_thread_body(void *arg) noexcept nogil:
    # Runs on the helper thread's own stack; only raw syscalls, then the raw exit.
    cdef iow_worker *w = <iow_worker *>arg
    cdef HandleState *st = <HandleState *>w.scratch
    cdef iow_tally *t = &w.iter[st.round_base]
    iow_tally_ret(&t[3], 0)  # clone returned 0 here
    w.fd[0] = open_dir(w, &t[4])
    take_handle(&t[5], w.fd[0], st.round_name, &st.fh, &st.mount_id)
    iow_tally_ret(&t[6], iow_sys0(__NR_gettid))
    iow_tally_ret(&t[7], 0)  # exit does not return
    iow_release_fence()      # the tallies above are visible before the tid word clears
    iow_sys1(__NR_exit, 0)


cdef void handle_threads_round(iow_worker *w, int base) noexcept nogil:
    """One round of ior's open-by-handle-at-threads on st.round_name (HANDLE_THREAD_EVENTS
    events from iteration event base): the helper takes the handle, the worker opens it."""
    cdef HandleState *st = <HandleState *>w.scratch
    cdef iow_tally *t = &w.iter[base]
    cdef long tid
    st.round_base = base
    create_file(w, &t[0], P_FILE, st.round_name)
    iow_store_release(&st.thread_alive, 1)
    # CLONE_VFORK: the worker sleeps inside clone until the helper has exited, so it
    # waits without a syscall of its own and without spinning against its helper for a CPU.
    tid = iow_tally_ret(&t[2], iow_clone_thread(
        CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
        | CLONE_VFORK | CLONE_CHILD_CLEARTID, thread_stack_top(w), &st.thread_alive,
        handle_thread_body, w))
    iow_note_task(w, tid)
    if tid > 0:
        # The kernel cleared the word before ending the vfork wait; this only orders
        # the helper's tallies and fds before our reads.
        while iow_load_acquire(&st.thread_alive):
            iow_cpu_relax()
    iow_tally_ret(&t[8], iow_sys0(__NR_gettid))
    open_handle(&t[9], BAD_FD, &st.fh)
    w.fd[1] = open_handle(&t[10], w.fd[0], &st.fh)
    close_tracked(&t[11], &w.fd[1])
    close_tracked(&t[12], &w.fd[0])


cdef uint64_t open_by_handle_at_threads_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef HandleState *st = <HandleState *>w.scratch
    cdef uint64_t i
    round_name(st.round_name, b"handle-thread-0.txt", 14, 0)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        handle_threads_round(w, 0)
    return n


cdef uint64_t open_by_handle_at_threads_ior_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """ior's five rounds in one iteration, round r on handle-thread-<r>.txt."""
    cdef HandleState *st = <HandleState *>w.scratch
    cdef uint64_t i
    cdef int r
    for i in range(n):
        if iow_stop_requested(w):
            return i
        for r in range(HANDLE_ROUNDS):
            round_name(st.round_name, b"handle-thread-0.txt", 14, r)
            handle_threads_round(w, r * HANDLE_THREAD_EVENTS)
    return n


# ---- open_duration_gap ----

cdef enum:
    FIRST_GAP_MS = 800   # ior's gap, on each worker's first iteration
    GAP_MS = 50          # later iterations: still a gap, but 100 iterations take 5 s, not 80

cdef uint64_t open_duration_gap_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef timespec gap
    cdef uint64_t i
    cdef long ms
    iow_path(w, P_FILE, b"gap-shared.txt")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_FILE], O_RDWR | O_CREAT, MODE))
        close_tracked(&w.iter[1], &w.fd[0])
        ms = FIRST_GAP_MS if w.val[0] == 0 else GAP_MS
        w.val[0] += 1
        gap.tv_sec = ms // 1000
        gap.tv_nsec = (ms % 1000) * 1000000
        iow_tally_ret(&w.iter[2], iow_sys4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0, <long>&gap, 0))
        w.fd[0] = iow_tally_ret(&w.iter[3], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_FILE], O_RDWR | O_CREAT, MODE))
        close_tracked(&w.iter[4], &w.fd[0])
    return n


# ---- open_pid_filter ----

cdef int open_pid_filter_setup(iow_worker *w) noexcept nogil:
    # No syscalls: the paths, so the forked child only issues its declared calls.
    iow_path(w, P_FILE, b"parentfile.txt")
    iow_path(w, P_FILE2, b"childfile.txt")
    return 0


cdef void pid_filter_child(iow_worker *w) noexcept nogil:
    # The forked child (a copy of this process): only raw syscalls, then the raw exit_group.
    # It does what `touch childfile.txt` does to the file (ior runs touch), and nothing else.
    cdef long fd
    iow_tally_ret(&w.iter[3], 0)  # clone returned 0 here
    fd = iow_tally_ret(&w.iter[4], iow_sys4(
        __NR_openat, AT_FDCWD, <long>w.path[P_FILE2], O_WRONLY | O_CREAT | O_NOCTTY | O_NONBLOCK,
        TOUCH_MODE))
    if fd >= 0:
        iow_tally_ret(&w.iter[5], iow_sys1(__NR_close, fd))
    iow_tally_ret(&w.iter[6], 0)  # exit_group does not return
    iow_sys1(__NR_exit_group, 0)


cdef uint64_t open_pid_filter_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SpawnState *st = <SpawnState *>w.scratch
    cdef uint64_t i
    cdef long pid
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_FILE], O_RDWR | O_CREAT, MODE))
        close_tracked(&w.iter[1], &w.fd[0])
        pid = iow_sys5(__NR_clone, SIGCHLD, 0, 0, 0, 0)
        if pid == 0:
            pid_filter_child(w)
        iow_tally_ret(&w.iter[2], pid)
        iow_note_task(w, pid)
        if pid > 0:
            iow_tally_ret(&w.iter[7], iow_sys4(__NR_wait4, pid, <long>&st.status, 0, 0))
    return n


cdef void open_pid_filter_teardown(iow_worker *w) noexcept nogil:
    # Removing the child's file also proves that the child ran.
    iow_tally_ret(&w.teardown[0], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>w.path[P_FILE2], 0))


def _clone_thread_supported():
    if not IOW_HAVE_CLONE_THREAD:
        return "starting a raw helper thread is only written for x86-64 and aarch64"
    return None


def _file_handles_in_tmpdir():
    """The filesystem under $TMPDIR exports file handles (ramfs, for one, does not: EOPNOTSUPP).
    Asked with a zero-byte handle: -EOVERFLOW when it does, and nothing is opened."""
    import errno
    from ioworkload.core.errors import errno_name
    from ioworkload.core.runner import temp_base
    where = temp_base()
    cdef bytes path = os.fsencode(where)
    cdef unsigned int header[2]   # struct file_handle: handle_bytes 0, handle_type
    cdef int mount_id = 0
    header[0] = 0
    header[1] = 0
    ret = iow_sys5(__NR_name_to_handle_at, AT_FDCWD, <long><const char *>path, <long>header,
                   <long>&mount_id, 0)
    if ret in (-errno.EOPNOTSUPP, -errno.ENOSYS):
        return (f"the filesystem of {where} does not support file handles "
                f"({errno_name(-ret)}): name_to_handle_at needs them")
    return None


_NEEDS_ROOT = capability("CAP_DAC_READ_SEARCH", initial_namespace=True)
_HANDLES = [_NEEDS_ROOT, _file_handles_in_tmpdir]
_CLOSE = "close(fd) -> 0"
_OPEN_DIR = 'dirfd = openat(AT_FDCWD, "<dir>", O_RDONLY|O_DIRECTORY, 0) -> >=0'


def _CREATE(name):
    """The two events of create_file()."""
    return [f'fd = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT, 0644) -> >=0', _CLOSE]


def _HANDLE(name):
    """The event of take_handle() (the struct's handle_bytes set to MAX_HANDLE_SZ first)."""
    return f'name_to_handle_at(dirfd, "{name}", {{handle_bytes=128}}, &mount_id, 0) -> 0'


def _fail_round(estale):
    """The events of handle_fail_round()."""
    return (_CREATE("handle-ebadf.txt") + [
        _OPEN_DIR, _HANDLE("handle-ebadf.txt"),
        "open_by_handle_at(-1, &fh, O_RDONLY) -> -EBADF", "close(dirfd) -> 0"]
        + _CREATE(estale) + [
        _OPEN_DIR, _HANDLE(estale),
        f'unlinkat(AT_FDCWD, "<dir>/{estale}", 0) -> 0',
        "open_by_handle_at(dirfd, &fh, O_RDONLY) -> -ESTALE", "close(dirfd) -> 0"]
        + _CREATE("handle-older.txt") + [_OPEN_DIR, _HANDLE("handle-older.txt"), "close(dirfd) -> 0"]
        + _CREATE("handle-newer.txt") + [_OPEN_DIR, _HANDLE("handle-newer.txt"), "close(dirfd) -> 0",
        "open_by_handle_at(-1, &older, O_RDONLY) -> -EBADF"])


def _reuse_round(r):
    """One round of open_by_handle_at_reuse_ior_loop (the decoy stays open as decoy<r>)."""
    return (_CREATE(f"handle-reuse-{r}.txt") + _CREATE(f"decoy-{r}.txt") + [
        _OPEN_DIR, _HANDLE(f"handle-reuse-{r}.txt"),
        "fd = open_by_handle_at(dirfd, &fh, O_RDONLY) -> >=0", _CLOSE,
        f'decoy{r} = openat(AT_FDCWD, "<dir>/decoy-{r}.txt", O_RDONLY, 0) -> >=0',
        "close(dirfd) -> 0"])


def _threads_round(name):
    """The events of handle_threads_round(), the helper's included."""
    return _CREATE(name) + [
        f"{_THREAD_CLONE} -> >=1",
        f"helper: {_THREAD_CLONE} -> 0 exit-only",
        f"helper: {_OPEN_DIR}",
        f"helper: {_HANDLE(name)}",
        "helper: gettid() -> >=1",
        "helper: exit(0) -> noreturn",
        "gettid() -> >=1",
        "open_by_handle_at(-1, &fh, O_RDONLY) -> -EBADF",
        "fd = open_by_handle_at(?, &fh, O_RDONLY) -> >=0",
        _CLOSE, "close(?) -> 0"]


# iow_clone_thread's call: flags, the stack top (end of the worker's scratch), no parent tid
# pointer, the CLONE_CHILD_CLEARTID word, tls 0.
_THREAD_CLONE = ("clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|"
                 "CLONE_VFORK|CLONE_CHILD_CLEARTID, &scratch_end, NULL, &thread_alive, 0)")
_FORK = "clone(SIGCHLD, 0, NULL, NULL, 0)"

SCENARIOS = scenarios("open", [
    dict(name="open_basic", summary="openat(testfile.txt, O_RDWR|O_CREAT, 0644), then close",
         kernel=kernel(open_basic_loop), needs_dir=True,
         iteration=_CREATE("testfile.txt")),
    dict(name="open_dirfd_paths", summary="openat, statx and utimensat relative to a directory fd",
         kernel=kernel(open_dirfd_paths_loop), needs_dir=True,
         iteration=['mkdirat(AT_FDCWD, "<dir>/dirfd-base", 0755) -> 0',
                    'dirfd = openat(AT_FDCWD, "<dir>/dirfd-base", O_RDONLY|O_DIRECTORY, 0) -> >=0',
                    'fd = openat(dirfd, "relative-openat.txt", O_RDWR|O_CREAT, 0644) -> >=0',
                    _CLOSE,
                    'statx(dirfd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &statx_buf) -> 0',
                    'utimensat(dirfd, "", [{1000000000, 0}, {1000000000, 0}], AT_EMPTY_PATH) -> 0',
                    "close(dirfd) -> 0",
                    'unlinkat(AT_FDCWD, "<dir>/dirfd-base/relative-openat.txt", 0) -> 0',
                    'unlinkat(AT_FDCWD, "<dir>/dirfd-base", AT_REMOVEDIR) -> 0'],
         notes="The last two unlinkat calls are ours: they undo the iteration so the next "
               "mkdirat succeeds again."),
    dict(name="open_openat2", summary="openat2 with open_how{O_RDWR|O_CREAT, 0644}: flags in a struct",
         kernel=kernel(open_openat2_loop), needs_dir=True,
         iteration=['fd = openat2(AT_FDCWD, "<dir>/openat2file.txt", {flags=O_RDWR|O_CREAT, '
                    'mode=0644, resolve=0}, 24) -> >=0', _CLOSE],
         requires=[syscall_implemented("openat2", __NR_openat2, AT_FDCWD, 0, 0, 0)]),
    dict(name="open_creat", summary="the legacy creat syscall (implies O_WRONLY|O_CREAT|O_TRUNC)",
         kernel=kernel(open_creat_loop), needs_dir=True,
         iteration=['fd = creat("<dir>/creatfile.txt", 0644) -> >=0', _CLOSE],
         requires=[legacy_syscall("creat")]),
    dict(name="open_by_handle_at", summary="name_to_handle_at, then open_by_handle_at on the dir fd",
         kernel=kernel(open_by_handle_at_loop), needs_dir=True,
         iteration=_CREATE("handlefile.txt") + [
             _OPEN_DIR, _HANDLE("handlefile.txt"),
             "fd = open_by_handle_at(dirfd, &fh, O_RDONLY) -> >=0", _CLOSE, "close(dirfd) -> 0"],
         requires=_HANDLES),
    dict(name="open_by_handle_at_fail",
         summary="open_by_handle_at failing: mount fd -1 (-EBADF), unlinked file (-ESTALE)",
         kernel=kernel(open_by_handle_at_fail_loop), needs_dir=True,
         iteration=_fail_round("handle-estale-0.txt"),
         requires=_HANDLES, ior_repeat=5,
         notes="ior runs five rounds of the three steps with files handle-estale-0..4; here "
               "one iteration is one round, and the ESTALE file is always handle-estale-0.txt "
               "(created and unlinked within the iteration; ior mode runs ior's five rounds "
               "with their names). The older handle (&older) is another struct than the one the "
               "other calls use (&fh). The unlinked file's inode is freed before "
               "open_by_handle_at looks it up, so it fails with -ESTALE. Kernel quirk: if at "
               "that instant a new file is being created on the freed inode number, ext4 answers "
               "-ENOMEM instead; the workers of one run never create a file while another is in "
               "that window, but another process creating files on the same ext4 block group "
               "can (seen 8 in 3000 iterations while other programs churned files in /tmp)."),
    dict(name="open_by_handle_at_reuse",
         summary="the handle's fd number is closed and reused at once by a decoy file",
         kernel=kernel(open_by_handle_at_reuse_loop), needs_dir=True,
         iteration=_CREATE("decoy-0.txt") + _CREATE("handle-reuse-0.txt") + [
             _OPEN_DIR, _HANDLE("handle-reuse-0.txt"),
             "fd = open_by_handle_at(dirfd, &fh, O_RDONLY) -> >=0", _CLOSE,
             'decoy = openat(AT_FDCWD, "<dir>/decoy-0.txt", O_RDONLY, 0) -> >=0',
             "close(dirfd) -> 0", "close(decoy) -> 0"],
         requires=_HANDLES, ior_repeat=5,
         notes="The decoy openat gets the number open_by_handle_at returned (lowest free fd; "
               "with --threads > 1 another worker may take it first). ior keeps its five "
               "decoys open, sleeps 300 ms and closes them at the end; here the decoy is "
               "closed at the end of each iteration so any iteration count works."),
    dict(name="open_by_handle_at_threads",
         summary="name_to_handle_at on a brand-new thread, open_by_handle_at on the worker",
         kernel=kernel(open_by_handle_at_threads_loop), needs_dir=True,
         helper_threads=True,
         iteration=_threads_round("handle-thread-0.txt"),
         requires=_HANDLES + [_clone_thread_supported], ior_repeat=5,
         notes="The helper thread is a raw clone on a stack at the end of the worker's scratch "
               "memory (&scratch_end); it issues only the helper: events and ends with the raw "
               "exit. The worker waits for it without a syscall of its own: with CLONE_VFORK "
               "its clone returns only once the helper has exited (so a tracer sees the "
               "worker's clone exit after the helper's calls); the kernel then clears "
               "&thread_alive (CLONE_CHILD_CLEARTID). The worker's open_by_handle_at and last "
               "close use the dir fd the helper opened (the helper's dirfd, hence ? in the "
               "worker's events). Both threads' syscalls are counted together (perf inherit). "
               "ior's file is handle-thread-<i>.txt, i = 0..4; here always -0 (ior mode runs "
               "ior's five rounds with their names)."),
    dict(name="open_duration_gap", summary="open+close, sleep, open+close the same file: a time gap",
         kernel=kernel(open_duration_gap_loop), needs_dir=True,
         iteration=_CREATE("gap-shared.txt") + [
             "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=800000000 on the worker's "
             "first iteration, then 50000000}, NULL) -> 0"]
             + _CREATE("gap-shared.txt"),
         ior_repeat=5,
         notes="ior sleeps 800 ms in each of its 5 repeats and asserts the largest gap between "
               "the two opens is >= 500 ms. Here each worker's first iteration sleeps 800 ms and "
               "later ones 50 ms, so ior's assertion holds and 100 iterations take ~6 s, not 80."),
    dict(name="open_enoent", summary="openat of a path under a missing directory: -ENOENT",
         kernel=kernel(open_enoent_loop), needs_dir=True,
         iteration=['openat(AT_FDCWD, "<dir>/nonexistent/enoentfile.txt", O_RDONLY, 0) -> -ENOENT'],
         ior_repeat=5),
    dict(name="open_rdonly_write", summary="write(11 bytes) to an O_RDONLY fd: -EBADF",
         kernel=kernel(open_rdonly_write_loop), needs_dir=True,
         iteration=_CREATE("rdonlyfile.txt") + [
             'fd = openat(AT_FDCWD, "<dir>/rdonlyfile.txt", O_RDONLY, 0) -> >=0',
             'write(fd, "should fail", 11) -> -EBADF', _CLOSE]),
    dict(name="open_pid_filter",
         summary="open a file, then fork a child process that creates childfile.txt as touch would",
         kernel=kernel(open_pid_filter_loop, open_pid_filter_setup, open_pid_filter_teardown),
         needs_dir=True,
         iteration=_CREATE("parentfile.txt") + [
             f"pid = {_FORK} -> >=1",
             f"child: {_FORK} -> 0 exit-only",
             'child: fd = openat(AT_FDCWD, "<dir>/childfile.txt", '
             'O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK, 0666) -> >=0',
             "child: close(fd) -> 0",
             "child: exit_group(0) -> noreturn",
             "wait4(pid, &status, 0, NULL) -> >=1"],
         teardown=['unlinkat(AT_FDCWD, "<dir>/childfile.txt", 0) -> 0'],
         notes="The child is another process: a tracer (and --verify) following the worker's "
               "pid/tid must not see its openat of childfile.txt. ior forks and execs `touch "
               "childfile.txt`; here the forked child issues touch's open of the file itself "
               "(same flags and mode), closes it and ends with the raw exit_group, so every "
               "call it makes is declared (an exec'd program's loader calls could not be). The "
               "teardown's unlinkat proves that the child really created the file."),
])

# ior mode runs these instead of the scenarios of the same name (ior_mode.scenario_for_ior).
_IOR_ROUNDS_NOTE = ("ior mode's sequence: ior's five rounds in one iteration, each with its "
                    "own names (-0..-4).")
IOR_SCENARIOS = scenarios("open", [
    dict(name="open_by_handle_at_fail",
         summary="ior's five rounds: mount fd -1 (-EBADF), handle-estale-<round> unlinked "
                 "(-ESTALE), the older of two handles with mount fd -1 (-EBADF)",
         kernel=kernel(open_by_handle_at_fail_ior_loop), needs_dir=True,
         iteration=[e for r in range(HANDLE_ROUNDS) for e in _fail_round(f"handle-estale-{r}.txt")],
         requires=_HANDLES, notes=_IOR_ROUNDS_NOTE),
    dict(name="open_by_handle_at_reuse",
         summary="ior's five rounds: each handle's fd number is reused by decoy-<round>, kept "
                 "open until all rounds are done",
         kernel=kernel(open_by_handle_at_reuse_ior_loop), needs_dir=True,
         iteration=[e for r in range(HANDLE_ROUNDS) for e in _reuse_round(r)]
                   + [f"close(decoy{r}) -> 0" for r in reversed(range(HANDLE_ROUNDS))],
         requires=_HANDLES,
         notes=_IOR_ROUNDS_NOTE + " The handle's file is created before its decoy and the "
               "decoys stay open until the last round (ior's order; its 300 ms settle before "
               "the closes is left out)."),
    dict(name="open_by_handle_at_threads",
         summary="ior's five rounds: a brand-new thread takes handle-thread-<round>'s handle, "
                 "the worker opens it",
         kernel=kernel(open_by_handle_at_threads_ior_loop), needs_dir=True,
         helper_threads=True,
         iteration=[e for r in range(HANDLE_ROUNDS) for e in _threads_round(f"handle-thread-{r}.txt")],
         requires=_HANDLES + [_clone_thread_supported],
         notes=_IOR_ROUNDS_NOTE + " Five helper threads per iteration, one per round: each "
               "issues its round's helper: events (counted together, per event, over the "
               "helpers)."),
])
