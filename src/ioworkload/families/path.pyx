# Path operations after ior's rename-*, link-*, unlink-*, dir-* and path-faulted-* scenarios.
#
# Every body that changes the directory (rename, link, mkdir, chdir...) undoes it within the
# iteration, so any --iterations N repeats the same calls with the same results. Most
# scenarios are a fixed list of calls whose arguments are known once setup ran (or are the fd
# an earlier call of the iteration opened): setup writes that list (a Plan) into the worker's
# scratch and plan_loop issues it. The legacy x86-64 calls (rename, link, symlink, readlink,
# unlink, rmdir, mkdir, access) are issued by their own numbers: tracers must see them, not
# their *at successors.

import os

from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memset, strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6, iow_tally_ret,
    iow_stop_requested, iow_path, kernel, IOW_PATH_MAX,
)
from ioworkload.families._common cimport close_fds

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_write
        __NR_mmap
        __NR_munmap
        __NR_renameat2
        __NR_linkat
        __NR_symlinkat
        __NR_readlinkat
        __NR_unlinkat
        __NR_mkdirat
        __NR_mknodat
        __NR_chdir
        __NR_getcwd
        __NR_getdents64
        __NR_newfstatat
        __NR_faccessat
        __NR_move_mount
        IOW_NR_rename
        IOW_NR_renameat
        IOW_NR_link
        IOW_NR_symlink
        IOW_NR_readlink
        IOW_NR_unlink
        IOW_NR_rmdir
        IOW_NR_mkdir
        IOW_NR_access

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        AT_REMOVEDIR
        O_RDONLY
        O_WRONLY
        O_RDWR
        O_CREAT
        O_TRUNC
        O_CLOEXEC
        O_DIRECTORY

cdef extern from "<linux/fs.h>" nogil:
    enum:
        RENAME_NOREPLACE

cdef extern from "<sys/stat.h>" nogil:
    enum:
        S_IFIFO

cdef extern from "<sys/mman.h>" nogil:
    enum:
        PROT_READ
        MAP_PRIVATE

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import capability, legacy_syscall, syscall_implemented

cdef enum:
    MAX_CALLS = 8
    BUF_BYTES = 4096         # readlink/getcwd/getdents64 buffer size, as ior passes
    PAGE = 4096              # one mapping per faulted string: one page, its own file
    BAD_FD = 9999            # ior's never-open descriptor

ctypedef struct Call:
    long nr
    long a[5]
    int fd_of      # >= 0: a[0] is the fd that call fd_of returned earlier in the iteration

ctypedef struct Plan:
    unsigned char buf[BUF_BYTES]   # first: aligned for struct stat and linux_dirent64
    int ncalls
    Call calls[MAX_CALLS]

cdef inline Plan *plan_of(iow_worker *w) noexcept nogil:
    return <Plan *>w.scratch

cdef void plan_call(iow_worker *w, long nr, long a, long b, long c, long d, long e) noexcept nogil:
    """Append one call to the worker's per-iteration plan (scratch starts zeroed: empty)."""
    cdef Plan *p = plan_of(w)
    cdef Call *call = &p.calls[p.ncalls]
    call.nr = nr
    call.a[0] = a
    call.a[1] = b
    call.a[2] = c
    call.a[3] = d
    call.a[4] = e
    call.fd_of = -1
    p.ncalls += 1

cdef void plan_call_on_fd(iow_worker *w, long nr, int fd_of, long b, long c) noexcept nogil:
    """Append nr(fd, b, c) on the fd that the plan's call fd_of opens each iteration."""
    plan_call(w, nr, -1, b, c, 0, 0)
    plan_of(w).calls[plan_of(w).ncalls - 1].fd_of = fd_of

cdef uint64_t plan_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """Each iteration issues the plan's calls in order; call k is iteration event k."""
    cdef Plan *p = plan_of(w)
    cdef const Call *c
    cdef long ret[MAX_CALLS]
    cdef uint64_t i
    cdef int k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        for k in range(p.ncalls):
            c = &p.calls[k]
            ret[k] = iow_tally_ret(&w.iter[k], iow_sys5(
                c.nr, ret[c.fd_of] if c.fd_of >= 0 else c.a[0], c.a[1], c.a[2], c.a[3], c.a[4]))
    return n


# ---- setup and teardown helpers (ev = the event's index in the setup manifest) ----

cdef long create_file(iow_worker *w, int ev, int slot, const char *name) noexcept nogil:
    """openat(O_CREAT) + close of an empty <dir>/<name>: 2 events. 0 or -errno."""
    cdef long fd = iow_tally_ret(&w.setup[ev], iow_sys4(
        __NR_openat, AT_FDCWD, <long>iow_path(w, slot, name),
        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644))
    if fd < 0:
        return fd
    return iow_tally_ret(&w.setup[ev + 1], iow_sys1(__NR_close, fd))

cdef long open_dir(iow_worker *w, int ev) noexcept nogil:
    """w.fd[0] = the private directory, O_DIRECTORY (ior's dirfd): 1 event."""
    w.fd[0] = iow_tally_ret(&w.setup[ev], iow_sys4(
        __NR_openat, AT_FDCWD, <long>w.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0))
    return w.fd[0] if w.fd[0] < 0 else 0

cdef long make_dir(iow_worker *w, int ev, int slot, const char *name) noexcept nogil:
    cdef long ret = iow_tally_ret(&w.setup[ev], iow_sys3(
        __NR_mkdirat, AT_FDCWD, <long>iow_path(w, slot, name), 0o755))
    return ret if ret < 0 else 0

cdef void close_dir(iow_worker *w) noexcept nogil:
    close_fds(w, 1)

# ---- rename ----

cdef int rename_basic_setup(iow_worker *w) noexcept nogil:
    cdef long ret = create_file(w, 0, 0, b"oldname.txt")
    iow_path(w, 1, b"newname.txt")
    plan_call(w, IOW_NR_rename, <long>w.path[0], <long>w.path[1], 0, 0, 0)
    plan_call(w, IOW_NR_rename, <long>w.path[1], <long>w.path[0], 0, 0, 0)
    return <int>ret

cdef int rename_at_setup(iow_worker *w, long nr, const char *old, const char *new) noexcept nogil:
    """create <old>, open the dirfd; plan nr(dirfd, old, dirfd, new[, 0]) and back."""
    cdef long ret = create_file(w, 0, 0, old)
    if ret < 0:
        return <int>ret
    ret = open_dir(w, 2)
    plan_call(w, nr, w.fd[0], <long>old, w.fd[0], <long>new, 0)
    plan_call(w, nr, w.fd[0], <long>new, w.fd[0], <long>old, 0)
    return <int>ret

cdef int rename_renameat_setup(iow_worker *w) noexcept nogil:
    return rename_at_setup(w, IOW_NR_renameat, b"renameat-old.txt", b"renameat-new.txt")

cdef int rename_renameat2_setup(iow_worker *w) noexcept nogil:
    return rename_at_setup(w, __NR_renameat2, b"renameat2-old.txt", b"renameat2-new.txt")

cdef int rename_enoent_setup(iow_worker *w) noexcept nogil:
    plan_call(w, IOW_NR_rename, <long>iow_path(w, 0, b"rename-enoent-missing.txt"),
              <long>iow_path(w, 1, b"rename-enoent-new.txt"), 0, 0, 0)
    return 0

cdef int rename_noreplace_setup(iow_worker *w) noexcept nogil:
    cdef long ret = create_file(w, 0, 0, b"noreplace-src.txt")
    if ret >= 0:
        ret = create_file(w, 2, 1, b"noreplace-dst.txt")
    if ret >= 0:
        ret = open_dir(w, 4)
    plan_call(w, __NR_renameat2, w.fd[0], <long><const char *>b"noreplace-src.txt",
              w.fd[0], <long><const char *>b"noreplace-dst.txt", RENAME_NOREPLACE)
    return <int>ret


# ---- link, symlink, readlink ----

cdef int link_basic_setup(iow_worker *w) noexcept nogil:
    cdef Plan *p = plan_of(w)
    cdef long ret = create_file(w, 0, 0, b"original.txt")
    iow_path(w, 1, b"hardlink.txt")
    iow_path(w, 2, b"symlink.txt")
    plan_call(w, IOW_NR_link, <long>w.path[0], <long>w.path[1], 0, 0, 0)
    plan_call(w, IOW_NR_symlink, <long>w.path[0], <long>w.path[2], 0, 0, 0)
    plan_call(w, IOW_NR_readlink, <long>w.path[2], <long>p.buf, 256, 0, 0)
    plan_call(w, IOW_NR_unlink, <long>w.path[1], 0, 0, 0, 0)
    plan_call(w, IOW_NR_unlink, <long>w.path[2], 0, 0, 0, 0)
    return <int>ret

cdef int link_linkat_setup(iow_worker *w) noexcept nogil:
    cdef long ret = create_file(w, 0, 0, b"linkat-original.txt")
    if ret >= 0:
        ret = open_dir(w, 2)
    plan_call(w, __NR_linkat, w.fd[0], <long><const char *>b"linkat-original.txt",
              w.fd[0], <long><const char *>b"linkat-hard.txt", 0)
    plan_call(w, __NR_unlinkat, w.fd[0], <long><const char *>b"linkat-hard.txt", 0, 0, 0)
    return <int>ret

cdef int link_symlinkat_setup(iow_worker *w) noexcept nogil:
    cdef long ret = create_file(w, 0, 0, b"symlinkat-original.txt")   # ior creates the target
    if ret >= 0:
        ret = open_dir(w, 2)
    plan_call(w, __NR_symlinkat, <long>iow_path(w, 0, b"symlinkat-original.txt"), w.fd[0],
              <long><const char *>b"symlinkat-link.txt", 0, 0)
    plan_call(w, __NR_unlinkat, w.fd[0], <long><const char *>b"symlinkat-link.txt", 0, 0, 0)
    return <int>ret

cdef int link_readlinkat_setup(iow_worker *w) noexcept nogil:
    cdef long ret = create_file(w, 0, 0, b"readlinkat-original.txt")  # ior creates the target
    if ret >= 0:
        ret = iow_tally_ret(&w.setup[2], iow_sys2(
            IOW_NR_symlink, <long>w.path[0], <long>iow_path(w, 1, b"readlinkat-link.txt")))
    if ret >= 0:
        ret = open_dir(w, 3)
    plan_call(w, __NR_readlinkat, w.fd[0], <long><const char *>b"readlinkat-link.txt",
              <long>plan_of(w).buf, 256, 0)
    return <int>ret

cdef int link_enoent_setup(iow_worker *w) noexcept nogil:
    plan_call(w, IOW_NR_link, <long>iow_path(w, 0, b"link-enoent-missing.txt"),
              <long>iow_path(w, 1, b"link-enoent-dst.txt"), 0, 0, 0)
    return 0

cdef int link_symlink_eexist_setup(iow_worker *w) noexcept nogil:
    cdef long ret = create_file(w, 0, 0, b"symlink-eexist.txt")
    plan_call(w, IOW_NR_symlink, <long><const char *>b"/tmp/dummy-target", <long>w.path[0], 0, 0, 0)
    return <int>ret

cdef int link_readlinkat_einval_setup(iow_worker *w) noexcept nogil:
    cdef long ret = create_file(w, 0, 0, b"readlinkat-einval.txt")
    if ret >= 0:
        ret = open_dir(w, 2)
    plan_call(w, __NR_readlinkat, w.fd[0], <long><const char *>b"readlinkat-einval.txt",
              <long>plan_of(w).buf, 256, 0)
    return <int>ret


# ---- unlink, rmdir ----

cdef void plan_create_close(iow_worker *w, long dirfd, const char *name) noexcept nogil:
    """Plan openat(dirfd, name, O_CREAT) and the close of its fd: iteration events 0 and 1."""
    plan_call(w, __NR_openat, dirfd, <long>name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644, 0)
    plan_call_on_fd(w, __NR_close, 0, 0, 0)

cdef int unlink_basic_setup(iow_worker *w) noexcept nogil:
    plan_create_close(w, AT_FDCWD, iow_path(w, 0, b"unlinkme.txt"))
    plan_call(w, IOW_NR_unlink, <long>w.path[0], 0, 0, 0, 0)
    return 0

cdef int unlink_unlinkat_setup(iow_worker *w) noexcept nogil:
    cdef long ret = open_dir(w, 0)
    plan_create_close(w, w.fd[0], b"unlinkat-file.txt")
    plan_call(w, __NR_unlinkat, w.fd[0], <long><const char *>b"unlinkat-file.txt", 0, 0, 0)
    return <int>ret

cdef int unlink_rmdir_setup(iow_worker *w) noexcept nogil:
    plan_call(w, __NR_mkdirat, AT_FDCWD, <long>iow_path(w, 0, b"rmdir-me-0"), 0o755, 0, 0)
    plan_call(w, IOW_NR_rmdir, <long>w.path[0], 0, 0, 0, 0)
    return 0

cdef enum:
    RMDIR_ROUNDS = 5         # ior's unlink-rmdir: rmdir-me-0..4 in one run


cdef int unlink_rmdir_rounds_setup(iow_worker *w) noexcept nogil:
    """ior mode's unlink_rmdir: the path of rmdir-me-<k> in slot k."""
    cdef char name[16]
    cdef int k
    memcpy(name, b"rmdir-me-0", 11)
    for k in range(RMDIR_ROUNDS):
        name[9] = <char>(48 + k)
        iow_path(w, k, name)
    return 0


cdef uint64_t unlink_rmdir_rounds_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """Each iteration: mkdirat + rmdir of rmdir-me-0, then -1 .. -4 (ior's five rounds)."""
    cdef uint64_t i
    cdef int k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        for k in range(RMDIR_ROUNDS):
            iow_tally_ret(&w.iter[2 * k], iow_sys3(__NR_mkdirat, AT_FDCWD, <long>w.path[k], 0o755))
            iow_tally_ret(&w.iter[2 * k + 1], iow_sys1(IOW_NR_rmdir, <long>w.path[k]))
    return n


cdef int unlink_enoent_setup(iow_worker *w) noexcept nogil:
    plan_call(w, IOW_NR_unlink, <long>iow_path(w, 0, b"unlink-enoent-missing.txt"), 0, 0, 0, 0)
    return 0

cdef int unlink_rmdir_notempty_setup(iow_worker *w) noexcept nogil:
    cdef long ret = make_dir(w, 0, 0, b"rmdir-notempty")
    if ret >= 0:
        ret = create_file(w, 1, 1, b"rmdir-notempty/blocker.txt")
    plan_call(w, IOW_NR_rmdir, <long>w.path[0], 0, 0, 0, 0)
    return <int>ret

cdef int unlink_unlinkat_enoent_setup(iow_worker *w) noexcept nogil:
    cdef long ret = open_dir(w, 0)
    plan_call(w, __NR_unlinkat, w.fd[0], <long><const char *>b"unlinkat-enoent-missing.txt", 0, 0, 0)
    return <int>ret


# ---- directories ----

cdef int dir_basic_setup(iow_worker *w) noexcept nogil:
    iow_path(w, 0, b"subdir")
    plan_call(w, IOW_NR_mkdir, <long>w.path[0], 0o755, 0, 0, 0)
    plan_call(w, __NR_faccessat, AT_FDCWD, <long>w.path[0], 0, 0, 0)   # F_OK
    plan_call(w, IOW_NR_rmdir, <long>w.path[0], 0, 0, 0, 0)
    return 0

cdef int dir_mkdirat_setup(iow_worker *w) noexcept nogil:
    iow_path(w, 0, b"mkdirat-subdir")
    plan_call(w, __NR_mkdirat, AT_FDCWD, <long>w.path[0], 0o755, 0, 0)
    plan_call(w, __NR_unlinkat, AT_FDCWD, <long>w.path[0], AT_REMOVEDIR, 0, 0)
    return 0

cdef int dir_mknodat_fifo_setup(iow_worker *w) noexcept nogil:
    iow_path(w, 0, b"mknodat-fifo")
    plan_call(w, __NR_mknodat, AT_FDCWD, <long>w.path[0], S_IFIFO | 0o600, 0, 0)
    plan_call(w, __NR_unlinkat, AT_FDCWD, <long>w.path[0], 0, 0, 0)
    return 0

cdef int dir_mkdir_eexist_setup(iow_worker *w) noexcept nogil:
    iow_path(w, 0, b"mkdir-eexist-subdir")
    plan_call(w, IOW_NR_mkdir, <long>w.path[0], 0o755, 0, 0, 0)
    plan_call(w, IOW_NR_mkdir, <long>w.path[0], 0o755, 0, 0, 0)
    plan_call(w, IOW_NR_rmdir, <long>w.path[0], 0, 0, 0, 0)
    return 0

cdef int dir_chdir_enoent_setup(iow_worker *w) noexcept nogil:
    plan_call(w, __NR_chdir, <long>iow_path(w, 0, b"chdir-enoent-missing"), 0, 0, 0, 0)
    return 0

cdef int dir_getdents_ebadf_setup(iow_worker *w) noexcept nogil:
    plan_call(w, __NR_getdents64, BAD_FD, <long>plan_of(w).buf, BUF_BYTES, 0, 0)
    return 0

cdef int dir_getdents_setup(iow_worker *w) noexcept nogil:
    cdef long ret = create_file(w, 0, 0, b"getdents-file.txt")
    plan_call(w, __NR_openat, AT_FDCWD, <long>w.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0)
    plan_call_on_fd(w, __NR_getdents64, 0, <long>plan_of(w).buf, BUF_BYTES)
    plan_call_on_fd(w, __NR_close, 0, 0, 0)
    return <int>ret


# chdir changes the cwd of the whole process. The directory to return to is captured by the
# scenario's prepare hook remember_cwd(), in Python right before the run: a worker cannot capture
# it itself, since another worker may already have moved the process elsewhere.
cdef char ORIG_CWD[IOW_PATH_MAX * 8]

def remember_cwd():
    """Record the process cwd for dir_chdir/dir_getcwd to return to (None, or why not)."""
    try:
        cwd = os.fsencode(os.getcwd())
    except OSError as e:
        return f"the current directory cannot be restored: {e.strerror}"
    if len(cwd) >= sizeof(ORIG_CWD):
        return "the current directory's path is too long to restore"
    try:  # the iterations return by this path: it must lead back here (search permission)
        os.chdir(cwd)
    except OSError as e:
        return (f"the current directory {os.fsdecode(cwd)} cannot be entered again by its path "
                f"({e.strerror}): the scenario returns there with chdir(path)")
    memcpy(ORIG_CWD, <const char *>cwd, len(cwd) + 1)
    return None

cdef int chdir_setup(iow_worker *w, bint with_getcwd) noexcept nogil:
    """Plan chdir(<dir>) [, getcwd] and chdir back to ORIG_CWD. ior chdirs into its temp
    directory itself, whose name carries the scenario's (so does ours: ioworkload-dir-chdir-*)."""
    plan_call(w, __NR_chdir, <long>w.dir, 0, 0, 0, 0)
    if with_getcwd:
        plan_call(w, __NR_getcwd, <long>plan_of(w).buf, BUF_BYTES, 0, 0, 0)
    plan_call(w, __NR_chdir, <long>ORIG_CWD, 0, 0, 0, 0)
    return 0

cdef int dir_chdir_setup(iow_worker *w) noexcept nogil:
    return chdir_setup(w, False)

cdef int dir_getcwd_setup(iow_worker *w) noexcept nogil:
    return chdir_setup(w, True)

cdef void chdir_back(iow_worker *w) noexcept nogil:
    # Each iteration already ends at ORIG_CWD; this holds even if an iteration's chdir failed.
    iow_tally_ret(&w.teardown[0], iow_sys1(__NR_chdir, <long>ORIG_CWD))


# ---- path strings on never-touched pages ----
# Each faulted string is the only content of its own backing file, mapped alone (one page,
# PROT_READ, MAP_PRIVATE) right before use and unmapped after: the kernel's own read of the
# name faults the page in, fault-around stays within the one-page mapping, and separate
# files keep the kernel from merging neighbouring mappings into one.

cdef long stage_string(iow_worker *w, int ev, int k, const char *name) noexcept nogil:
    """w.fd[k] = backing file <dir>/faulted-page-<k> holding "<dir>/<name>\\0", padded to
    IOW_PATH_MAX bytes: openat + write, 2 events. Uses path slots 14 and 15."""
    cdef char file_name[32]
    memcpy(file_name, b"faulted-page-0", 15)
    file_name[13] = <char>(48 + k)
    w.fd[k] = iow_tally_ret(&w.setup[ev], iow_sys4(
        __NR_openat, AT_FDCWD, <long>iow_path(w, 14, file_name),
        O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600))
    if w.fd[k] < 0:
        return w.fd[k]
    memset(w.path[15], 0, IOW_PATH_MAX)
    iow_path(w, 15, name)
    cdef long ret = iow_tally_ret(&w.setup[ev + 1], iow_sys3(
        __NR_write, w.fd[k], <long>w.path[15], IOW_PATH_MAX))
    return ret if ret < 0 else 0

cdef void map_strings(iow_worker *w, int count) noexcept nogil:
    """mmap each backing file fresh: w.val[k] = its page (iteration events 0..count-1)."""
    cdef int k
    for k in range(count):
        w.val[k] = iow_tally_ret(&w.iter[k], iow_sys6(
            __NR_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, w.fd[k], 0))

cdef void unmap_strings(iow_worker *w, int first_event, int count) noexcept nogil:
    cdef int k
    for k in range(count):
        iow_tally_ret(&w.iter[first_event + k], iow_sys2(__NR_munmap, w.val[k], PAGE))

cdef enum:
    NAMES_STRINGS = 7       # path_faulted_names: mappings per iteration
    MOVE_MOUNT_STRINGS = 4  # path_faulted_move_mount

# ior's three renames, one per combination of faulted names (both, old only, new only): the
# touched-* names are ordinary strings of ours. Each is renamed back with ordinary names, so
# every iteration finds the same three files.
cdef int path_faulted_names_setup(iow_worker *w) noexcept nogil:
    cdef long ret = create_file(w, 0, 0, b"faulted-both-old")
    if ret >= 0:
        ret = create_file(w, 2, 0, b"faulted-oldonly-old")
    if ret >= 0:
        ret = create_file(w, 4, 0, b"touched-newonly-old")
    if ret >= 0:
        ret = stage_string(w, 6, 0, b"faulted-access-missing")
    if ret >= 0:
        ret = stage_string(w, 8, 1, b"faulted-stat-missing")
    if ret >= 0:
        ret = stage_string(w, 10, 2, b"faulted-unlink-missing")
    if ret >= 0:
        ret = stage_string(w, 12, 3, b"faulted-both-old")
    if ret >= 0:
        ret = stage_string(w, 14, 4, b"faulted-both-new")
    if ret >= 0:
        ret = stage_string(w, 16, 5, b"faulted-oldonly-old")
    if ret >= 0:
        ret = stage_string(w, 18, 6, b"faulted-newonly-new")
    # the ordinary (heap) names: the touched ones and those the renames back use
    iow_path(w, 0, b"faulted-both-old")
    iow_path(w, 1, b"faulted-both-new")
    iow_path(w, 2, b"faulted-oldonly-old")
    iow_path(w, 3, b"touched-oldonly-new")
    iow_path(w, 4, b"touched-newonly-old")
    iow_path(w, 5, b"faulted-newonly-new")
    return <int>ret

cdef uint64_t path_faulted_names_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef Plan *p = plan_of(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        map_strings(w, NAMES_STRINGS)
        iow_tally_ret(&w.iter[7], iow_sys2(IOW_NR_access, w.val[0], 0))
        iow_tally_ret(&w.iter[8], iow_sys4(__NR_newfstatat, AT_FDCWD, w.val[1], <long>p.buf, 0))
        iow_tally_ret(&w.iter[9], iow_sys3(__NR_unlinkat, AT_FDCWD, w.val[2], 0))
        iow_tally_ret(&w.iter[10], iow_sys2(IOW_NR_rename, w.val[3], w.val[4]))           # both
        iow_tally_ret(&w.iter[11], iow_sys2(IOW_NR_rename, w.val[5], <long>w.path[3]))    # old only
        iow_tally_ret(&w.iter[12], iow_sys2(IOW_NR_rename, <long>w.path[4], w.val[6]))    # new only
        # back, with ordinary names
        iow_tally_ret(&w.iter[13], iow_sys2(IOW_NR_rename, <long>w.path[1], <long>w.path[0]))
        iow_tally_ret(&w.iter[14], iow_sys2(IOW_NR_rename, <long>w.path[3], <long>w.path[2]))
        iow_tally_ret(&w.iter[15], iow_sys2(IOW_NR_rename, <long>w.path[5], <long>w.path[4]))
        unmap_strings(w, 16, NAMES_STRINGS)
    return n

cdef void path_faulted_names_teardown(iow_worker *w) noexcept nogil:
    close_fds(w, NAMES_STRINGS)

cdef int path_faulted_move_mount_setup(iow_worker *w) noexcept nogil:
    cdef long ret = make_dir(w, 0, 0, b"faulted-mm-both-from")
    if ret >= 0:
        ret = make_dir(w, 1, 0, b"faulted-mm-both-to")
    if ret >= 0:
        ret = make_dir(w, 2, 0, b"faulted-mm-fromonly-from")
    if ret >= 0:
        ret = make_dir(w, 3, 1, b"touched-mm-fromonly-to")      # stays in slot 1: heap name
    if ret >= 0:
        ret = make_dir(w, 4, 2, b"touched-mm-toonly-from")      # stays in slot 2: heap name
    if ret >= 0:
        ret = make_dir(w, 5, 0, b"faulted-mm-toonly-to")
    if ret >= 0:
        ret = stage_string(w, 6, 0, b"faulted-mm-both-from")
    if ret >= 0:
        ret = stage_string(w, 8, 1, b"faulted-mm-both-to")
    if ret >= 0:
        ret = stage_string(w, 10, 2, b"faulted-mm-fromonly-from")
    if ret >= 0:
        ret = stage_string(w, 12, 3, b"faulted-mm-toonly-to")
    return <int>ret

cdef uint64_t path_faulted_move_mount_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        map_strings(w, MOVE_MOUNT_STRINGS)
        # Neither directory is a mount: -EINVAL once both names are read, nothing moves.
        iow_tally_ret(&w.iter[4], iow_sys5(__NR_move_mount, AT_FDCWD, w.val[0], AT_FDCWD, w.val[1], 0))
        iow_tally_ret(&w.iter[5], iow_sys5(__NR_move_mount, AT_FDCWD, w.val[2], AT_FDCWD,
                                           <long>w.path[1], 0))
        iow_tally_ret(&w.iter[6], iow_sys5(__NR_move_mount, AT_FDCWD, <long>w.path[2], AT_FDCWD,
                                           w.val[3], 0))
        unmap_strings(w, 7, MOVE_MOUNT_STRINGS)
    return n

cdef void path_faulted_move_mount_teardown(iow_worker *w) noexcept nogil:
    close_fds(w, MOVE_MOUNT_STRINGS)


# ---- ior mode's faulted paths: ior's faultedPages, step by step ----
# Each faulted string gets its own backing file <dir>/.backing-<k> the way ior makes it:
# os.WriteFile (openat O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, write, close), then an O_RDONLY
# open, a one-page PROT_READ MAP_PRIVATE mmap and a close; the page is unmapped at the end
# (ior's release). The string is the path NUL-padded to IOW_PATH_MAX, as in the normal mode
# (ior writes the path and one NUL): the write's length stays fixed whatever <dir> is.

cdef enum:
    BACKING_EVENTS = 6      # map_backing()'s calls
    STRINGS_OFFSET = 8192   # the padded strings in scratch, past the Plan (BUF_BYTES + calls)

cdef const char *X_CONTENT = b"x"   # ior's os.WriteFile(oldPath, "x") of a file to rename

cdef inline char *padded_string(iow_worker *w, int k) noexcept nogil:
    return <char *>w.scratch + STRINGS_OFFSET + k * IOW_PATH_MAX

cdef void stage_backing_names(iow_worker *w, const char **names, int count) noexcept nogil:
    """Pure string work: slot k = <dir>/.backing-<k>, padded string k = "<dir>/<names[k]>"."""
    cdef char backing[16]
    cdef int k
    memcpy(backing, b".backing-0", 11)
    for k in range(count):
        backing[9] = <char>(48 + k)
        iow_path(w, k, backing)
        iow_path(w, 15, names[k])
        memset(padded_string(w, k), 0, IOW_PATH_MAX)
        memcpy(padded_string(w, k), w.path[15], strlen(w.path[15]))

cdef int map_backing(iow_worker *w, int ev, int k) noexcept nogil:
    """ior's untouched(): write backing k, reopen it read-only, map its page into w.val[k],
    close: BACKING_EVENTS events from iteration event ev. Returns the next event."""
    cdef long fd = iow_tally_ret(&w.iter[ev], iow_sys4(
        __NR_openat, AT_FDCWD, <long>w.path[k], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644))
    iow_tally_ret(&w.iter[ev + 1], iow_sys3(__NR_write, fd, <long>padded_string(w, k),
                                            IOW_PATH_MAX))
    iow_tally_ret(&w.iter[ev + 2], iow_sys1(__NR_close, fd))
    fd = iow_tally_ret(&w.iter[ev + 3], iow_sys4(__NR_openat, AT_FDCWD, <long>w.path[k],
                                                 O_RDONLY, 0))
    w.val[k] = iow_tally_ret(&w.iter[ev + 4], iow_sys6(
        __NR_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, fd, 0))
    iow_tally_ret(&w.iter[ev + 5], iow_sys1(__NR_close, fd))
    return ev + BACKING_EVENTS

cdef int write_x_file(iow_worker *w, int ev, int slot) noexcept nogil:
    """os.WriteFile(<path slot>, "x"): openat, write, close (3 events). Returns the next event."""
    cdef long fd = iow_tally_ret(&w.iter[ev], iow_sys4(
        __NR_openat, AT_FDCWD, <long>w.path[slot], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
        0o644))
    iow_tally_ret(&w.iter[ev + 1], iow_sys3(__NR_write, fd, <long>X_CONTENT, 1))
    iow_tally_ret(&w.iter[ev + 2], iow_sys1(__NR_close, fd))
    return ev + 3

cdef int unmap_backings(iow_worker *w, int ev, int count) noexcept nogil:
    cdef int k
    for k in range(count):
        iow_tally_ret(&w.iter[ev + k], iow_sys2(__NR_munmap, w.val[k], PAGE))
    return ev + count


cdef int path_faulted_names_ior_setup(iow_worker *w) noexcept nogil:
    """Slots 0..6 the backings; 7..9 the files the renames move (written each round); 10 the
    touched new name of the second rename (slot 9 is the third's touched old name)."""
    cdef const char *names[NAMES_STRINGS]
    names[0] = b"faulted-access-missing"
    names[1] = b"faulted-stat-missing"
    names[2] = b"faulted-unlink-missing"
    names[3] = b"faulted-both-old"
    names[4] = b"faulted-both-new"
    names[5] = b"faulted-oldonly-old"
    names[6] = b"faulted-newonly-new"
    stage_backing_names(w, names, NAMES_STRINGS)
    iow_path(w, 7, b"faulted-both-old")
    iow_path(w, 8, b"faulted-oldonly-old")
    iow_path(w, 9, b"touched-newonly-old")
    iow_path(w, 10, b"touched-oldonly-new")
    return 0

cdef uint64_t path_faulted_names_ior_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """ior's faultedPathNames in its order. A round needs no restore: each rename's source is
    written afresh and its target replaced."""
    cdef Plan *p = plan_of(w)
    cdef uint64_t i
    cdef int ev
    for i in range(n):
        if iow_stop_requested(w):
            return i
        ev = map_backing(w, 0, 0)
        iow_tally_ret(&w.iter[ev], iow_sys2(IOW_NR_access, w.val[0], 0))
        ev = map_backing(w, ev + 1, 1)
        iow_tally_ret(&w.iter[ev], iow_sys4(__NR_newfstatat, AT_FDCWD, w.val[1], <long>p.buf, 0))
        ev = map_backing(w, ev + 1, 2)
        iow_tally_ret(&w.iter[ev], iow_sys3(__NR_unlinkat, AT_FDCWD, w.val[2], 0))
        ev = write_x_file(w, ev + 1, 7)                                           # both
        ev = map_backing(w, map_backing(w, ev, 3), 4)
        iow_tally_ret(&w.iter[ev], iow_sys2(IOW_NR_rename, w.val[3], w.val[4]))
        ev = map_backing(w, write_x_file(w, ev + 1, 8), 5)                        # old only
        iow_tally_ret(&w.iter[ev], iow_sys2(IOW_NR_rename, w.val[5], <long>w.path[10]))
        ev = map_backing(w, write_x_file(w, ev + 1, 9), 6)                        # new only
        iow_tally_ret(&w.iter[ev], iow_sys2(IOW_NR_rename, <long>w.path[9], w.val[6]))
        unmap_backings(w, ev + 1, NAMES_STRINGS)
    return n


cdef int path_faulted_move_mount_ior_setup(iow_worker *w) noexcept nogil:
    """Slots 0..3 the backings; 4..9 the directories in ior's mkdir order."""
    cdef const char *names[MOVE_MOUNT_STRINGS]
    names[0] = b"faulted-mm-both-from"
    names[1] = b"faulted-mm-both-to"
    names[2] = b"faulted-mm-fromonly-from"
    names[3] = b"faulted-mm-toonly-to"
    stage_backing_names(w, names, MOVE_MOUNT_STRINGS)
    iow_path(w, 4, b"faulted-mm-both-from")
    iow_path(w, 5, b"faulted-mm-both-to")
    iow_path(w, 6, b"faulted-mm-fromonly-from")
    iow_path(w, 7, b"touched-mm-fromonly-to")
    iow_path(w, 8, b"touched-mm-toonly-from")
    iow_path(w, 9, b"faulted-mm-toonly-to")
    return 0

cdef inline int mkdir_pair(iow_worker *w, int ev, int slot) noexcept nogil:
    """os.Mkdir of the from and to directories in slots slot, slot + 1 (2 events)."""
    iow_tally_ret(&w.iter[ev], iow_sys3(__NR_mkdirat, AT_FDCWD, <long>w.path[slot], 0o755))
    iow_tally_ret(&w.iter[ev + 1], iow_sys3(__NR_mkdirat, AT_FDCWD, <long>w.path[slot + 1],
                                            0o755))
    return ev + 2

cdef uint64_t path_faulted_move_mount_ior_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """ior's faultedMoveMounts: per case its two directories, its backings, the move_mount;
    then the pages unmapped and (ours, for the next round) the directories removed."""
    cdef uint64_t i
    cdef int ev, k
    for i in range(n):
        if iow_stop_requested(w):
            return i
        ev = map_backing(w, map_backing(w, mkdir_pair(w, 0, 4), 0), 1)          # both
        iow_tally_ret(&w.iter[ev], iow_sys5(__NR_move_mount, AT_FDCWD, w.val[0], AT_FDCWD,
                                            w.val[1], 0))
        ev = map_backing(w, mkdir_pair(w, ev + 1, 6), 2)                          # from only
        iow_tally_ret(&w.iter[ev], iow_sys5(__NR_move_mount, AT_FDCWD, w.val[2], AT_FDCWD,
                                            <long>w.path[7], 0))
        ev = map_backing(w, mkdir_pair(w, ev + 1, 8), 3)                          # to only
        iow_tally_ret(&w.iter[ev], iow_sys5(__NR_move_mount, AT_FDCWD, <long>w.path[8],
                                            AT_FDCWD, w.val[3], 0))
        ev = unmap_backings(w, ev + 1, MOVE_MOUNT_STRINGS)
        for k in range(6):
            iow_tally_ret(&w.iter[ev + k], iow_sys3(__NR_unlinkat, AT_FDCWD,
                                                    <long>w.path[4 + k], AT_REMOVEDIR))
    return n


# ---- the registry table ----

_DIRFD = "dirfd = openat(AT_FDCWD, \"<dir>\", O_RDONLY|O_DIRECTORY|O_CLOEXEC, 0) -> >=0"
_CLOSE_DIRFD = ["close(dirfd) -> 0"]


def _create(name):
    """Setup events of create_file()."""
    return [f"fd = openat(AT_FDCWD, \"<dir>/{name}\", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, "
            "0644) -> >=0",
            "close(fd) -> 0"]


def _stage(names):
    """Setup events of stage_string() for each name: backing file k's fd is bound as pagek."""
    out = []
    for k, name in enumerate(names):
        out += [f"page{k} = openat(AT_FDCWD, \"<dir>/faulted-page-{k}\", "
                "O_RDWR|O_CREAT|O_TRUNC|O_CLOEXEC, 0600) -> >=0",
                f"write(page{k}, {{\"<dir>/{name}\" NUL-padded to 512 bytes}}, 512) -> 512"]
    return out


def _mapped(count):
    """map_strings(): backing file k's fresh page is bound as mapk."""
    return [f"map{k} = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, page{k}, 0) -> >=0"
            for k in range(count)]


def _unmapped(count):
    return [f"munmap(map{k}, 4096) -> 0" for k in range(count)]


def _closed(count):
    return [f"close(page{k}) -> 0" for k in range(count)]


_RENAME = legacy_syscall("rename")
_DIR = dict(needs_dir=True)
_CWD_NOTE = ("chdir moves the whole process: each iteration returns to the cwd the run started "
             "in (an absolute path captured in Python before the run, written ?: it is neither "
             "under <dir> nor fixed), and teardown does it once more. With --threads N the "
             "workers move the process concurrently, so getcwd may report either directory.")
_FAULTED_NOTE = ("A faulted name is passed as the page address its mmap returned (mapk), not as "
                 "a name of ours; the manifest writes the string the kernel reads there (what a "
                 "tracer should report), since a pointer argument has one written form. Setup "
                 "writes each name NUL-padded to 512 bytes (IOW_PATH_MAX) into its backing file. ")

_FAULTED_NAMES = ["faulted-access-missing", "faulted-stat-missing", "faulted-unlink-missing",
                  "faulted-both-old", "faulted-both-new", "faulted-oldonly-old", "faulted-newonly-new"]
_FAULTED_MM = ["faulted-mm-both-from", "faulted-mm-both-to", "faulted-mm-fromonly-from",
               "faulted-mm-toonly-to"]
_MM_DIRS = ["faulted-mm-both-from", "faulted-mm-both-to", "faulted-mm-fromonly-from",
            "touched-mm-fromonly-to", "touched-mm-toonly-from", "faulted-mm-toonly-to"]

SCENARIOS = scenarios("path", [
    # rename
    dict(name="rename_basic", summary="rename(oldname.txt, newname.txt) by the legacy number, and back",
         kernel=kernel(plan_loop, rename_basic_setup), **_DIR,
         setup=_create("oldname.txt"),
         iteration=["rename(\"<dir>/oldname.txt\", \"<dir>/newname.txt\") -> 0",
                    "rename(\"<dir>/newname.txt\", \"<dir>/oldname.txt\") -> 0"],
         requires=[_RENAME]),
    dict(name="rename_renameat",
         summary="renameat(dirfd, renameat-old.txt, dirfd, renameat-new.txt), and back",
         kernel=kernel(plan_loop, rename_renameat_setup, close_dir), **_DIR,
         setup=_create("renameat-old.txt") + [_DIRFD],
         iteration=["renameat(dirfd, \"renameat-old.txt\", dirfd, \"renameat-new.txt\") -> 0",
                    "renameat(dirfd, \"renameat-new.txt\", dirfd, \"renameat-old.txt\") -> 0"],
         teardown=_CLOSE_DIRFD,
         requires=[legacy_syscall("renameat")]),
    dict(name="rename_renameat2", summary="renameat2(dirfd, old, dirfd, renameat2-new.txt, 0), and back",
         kernel=kernel(plan_loop, rename_renameat2_setup, close_dir), **_DIR,
         setup=_create("renameat2-old.txt") + [_DIRFD],
         iteration=["renameat2(dirfd, \"renameat2-old.txt\", dirfd, \"renameat2-new.txt\", 0) -> 0",
                    "renameat2(dirfd, \"renameat2-new.txt\", dirfd, \"renameat2-old.txt\", 0) -> 0"],
         teardown=_CLOSE_DIRFD),
    dict(name="rename_enoent", summary="rename of a missing file: -ENOENT",
         kernel=kernel(plan_loop, rename_enoent_setup), **_DIR,
         iteration=["rename(\"<dir>/rename-enoent-missing.txt\", \"<dir>/rename-enoent-new.txt\") "
                    "-> -ENOENT"],
         requires=[_RENAME], ior_repeat=5),
    dict(name="rename_noreplace", summary="renameat2(RENAME_NOREPLACE) onto an existing file: -EEXIST",
         kernel=kernel(plan_loop, rename_noreplace_setup, close_dir), **_DIR,
         setup=_create("noreplace-src.txt") + _create("noreplace-dst.txt") + [_DIRFD],
         iteration=["renameat2(dirfd, \"noreplace-src.txt\", dirfd, \"noreplace-dst.txt\", "
                    "RENAME_NOREPLACE) -> -EEXIST"],
         teardown=_CLOSE_DIRFD),
    # link
    dict(name="link_basic",
         summary="link + symlink + readlink (legacy numbers) of original.txt, then unlink both",
         kernel=kernel(plan_loop, link_basic_setup), **_DIR,
         setup=_create("original.txt"),
         iteration=["link(\"<dir>/original.txt\", \"<dir>/hardlink.txt\") -> 0",
                    "symlink(\"<dir>/original.txt\", \"<dir>/symlink.txt\") -> 0",
                    "readlink(\"<dir>/symlink.txt\", &buf, 256) -> >=13",
                    "unlink(\"<dir>/hardlink.txt\") -> 0",
                    "unlink(\"<dir>/symlink.txt\") -> 0"],
         requires=[legacy_syscall("link"), legacy_syscall("symlink"), legacy_syscall("readlink"),
                   legacy_syscall("unlink")],
         notes="readlink returns the length of the absolute target \"<dir>/original.txt\", "
               "which depends on $TMPDIR: the manifest states strlen(\"/original.txt\") as "
               "lower bound."),
    dict(name="link_linkat",
         summary="linkat(dirfd, linkat-original.txt, dirfd, linkat-hard.txt, 0), then unlinkat",
         kernel=kernel(plan_loop, link_linkat_setup, close_dir), **_DIR,
         setup=_create("linkat-original.txt") + [_DIRFD],
         iteration=["linkat(dirfd, \"linkat-original.txt\", dirfd, \"linkat-hard.txt\", 0) -> 0",
                    "unlinkat(dirfd, \"linkat-hard.txt\", 0) -> 0"],
         teardown=_CLOSE_DIRFD),
    dict(name="link_symlinkat",
         summary="symlinkat(absolute target, dirfd, symlinkat-link.txt), then unlinkat",
         kernel=kernel(plan_loop, link_symlinkat_setup, close_dir), **_DIR,
         setup=_create("symlinkat-original.txt") + [_DIRFD],
         iteration=["symlinkat(\"<dir>/symlinkat-original.txt\", dirfd, \"symlinkat-link.txt\") -> 0",
                    "unlinkat(dirfd, \"symlinkat-link.txt\", 0) -> 0"],
         teardown=_CLOSE_DIRFD,
         notes="The target is created once in setup, as ior creates it before its symlinkat."),
    dict(name="link_readlinkat", summary="readlinkat(dirfd, readlinkat-link.txt, buf, 256) of a symlink",
         kernel=kernel(plan_loop, link_readlinkat_setup, close_dir), **_DIR,
         setup=_create("readlinkat-original.txt")
               + ["symlink(\"<dir>/readlinkat-original.txt\", \"<dir>/readlinkat-link.txt\") -> 0",
                  _DIRFD],
         iteration=["readlinkat(dirfd, \"readlinkat-link.txt\", &buf, 256) -> >=13"],
         teardown=_CLOSE_DIRFD,
         requires=[legacy_syscall("symlink")],
         notes="readlinkat returns the length of the absolute target "
               "\"<dir>/readlinkat-original.txt\" "
               "(created in setup, as ior does), which depends on $TMPDIR: "
               "the manifest states strlen(\"/original.txt\") as lower bound."),
    dict(name="link_enoent", summary="link of a missing file: -ENOENT",
         kernel=kernel(plan_loop, link_enoent_setup), **_DIR,
         iteration=["link(\"<dir>/link-enoent-missing.txt\", \"<dir>/link-enoent-dst.txt\") -> -ENOENT"],
         requires=[legacy_syscall("link")], ior_repeat=3,
         notes="ior sleeps 20 ms between its repeats; one iteration issues the call once."),
    dict(name="link_symlink_eexist", summary="symlink(\"/tmp/dummy-target\", existing file): -EEXIST",
         kernel=kernel(plan_loop, link_symlink_eexist_setup), **_DIR,
         setup=_create("symlink-eexist.txt"),
         iteration=["symlink(\"/tmp/dummy-target\", \"<dir>/symlink-eexist.txt\") -> -EEXIST"],
         requires=[legacy_syscall("symlink")]),
    dict(name="link_readlinkat_einval", summary="readlinkat of a regular file: -EINVAL",
         kernel=kernel(plan_loop, link_readlinkat_einval_setup, close_dir), **_DIR,
         setup=_create("readlinkat-einval.txt") + [_DIRFD],
         iteration=["readlinkat(dirfd, \"readlinkat-einval.txt\", &buf, 256) -> -EINVAL"],
         teardown=_CLOSE_DIRFD),
    # unlink
    dict(name="unlink_basic", summary="create unlinkme.txt, close, unlink it (legacy number)",
         kernel=kernel(plan_loop, unlink_basic_setup), **_DIR,
         iteration=["fd = openat(AT_FDCWD, \"<dir>/unlinkme.txt\", "
                    "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) -> >=0",
                    "close(fd) -> 0",
                    "unlink(\"<dir>/unlinkme.txt\") -> 0"],
         requires=[legacy_syscall("unlink")]),
    dict(name="unlink_unlinkat", summary="create unlinkat-file.txt under dirfd, close, unlinkat it",
         kernel=kernel(plan_loop, unlink_unlinkat_setup, close_dir), **_DIR,
         setup=[_DIRFD],
         iteration=["fd = openat(dirfd, \"unlinkat-file.txt\", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, "
                    "0644) -> >=0",
                    "close(fd) -> 0",
                    "unlinkat(dirfd, \"unlinkat-file.txt\", 0) -> 0"],
         teardown=_CLOSE_DIRFD),
    dict(name="unlink_rmdir", summary="mkdirat rmdir-me-0, then rmdir it (legacy number)",
         kernel=kernel(plan_loop, unlink_rmdir_setup), **_DIR,
         iteration=["mkdirat(AT_FDCWD, \"<dir>/rmdir-me-0\", 0755) -> 0",
                    "rmdir(\"<dir>/rmdir-me-0\") -> 0"],
         requires=[legacy_syscall("rmdir")], ior_repeat=5,
         notes="ior makes rmdir-me-0..4 in one run; each iteration here makes and removes rmdir-me-0."),
    dict(name="unlink_enoent", summary="unlink of a missing file: -ENOENT",
         kernel=kernel(plan_loop, unlink_enoent_setup), **_DIR,
         iteration=["unlink(\"<dir>/unlink-enoent-missing.txt\") -> -ENOENT"],
         requires=[legacy_syscall("unlink")], ior_repeat=5),
    dict(name="unlink_rmdir_notempty", summary="rmdir of a directory holding blocker.txt: -ENOTEMPTY",
         kernel=kernel(plan_loop, unlink_rmdir_notempty_setup), **_DIR,
         setup=["mkdirat(AT_FDCWD, \"<dir>/rmdir-notempty\", 0755) -> 0"]
               + _create("rmdir-notempty/blocker.txt"),
         iteration=["rmdir(\"<dir>/rmdir-notempty\") -> -ENOTEMPTY"],
         requires=[legacy_syscall("rmdir")]),
    dict(name="unlink_unlinkat_enoent", summary="unlinkat(dirfd, missing, 0): -ENOENT",
         kernel=kernel(plan_loop, unlink_unlinkat_enoent_setup, close_dir), **_DIR,
         setup=[_DIRFD],
         iteration=["unlinkat(dirfd, \"unlinkat-enoent-missing.txt\", 0) -> -ENOENT"],
         teardown=_CLOSE_DIRFD, ior_repeat=5),
    # path strings a tracer cannot read at sys_enter
    dict(name="path_faulted_names",
         summary="access/newfstatat/unlinkat/rename with names on never-touched mmapped pages",
         kernel=kernel(path_faulted_names_loop, path_faulted_names_setup, path_faulted_names_teardown),
         **_DIR,
         setup=(_create("faulted-both-old") + _create("faulted-oldonly-old")
                + _create("touched-newonly-old") + _stage(_FAULTED_NAMES)),
         iteration=_mapped(7) + [
             "access(\"<dir>/faulted-access-missing\", F_OK) -> -ENOENT",
             "newfstatat(AT_FDCWD, \"<dir>/faulted-stat-missing\", &st, 0) -> -ENOENT",
             "unlinkat(AT_FDCWD, \"<dir>/faulted-unlink-missing\", 0) -> -ENOENT",
             "rename(\"<dir>/faulted-both-old\", \"<dir>/faulted-both-new\") -> 0",
             "rename(\"<dir>/faulted-oldonly-old\", \"<dir>/touched-oldonly-new\") -> 0",
             "rename(\"<dir>/touched-newonly-old\", \"<dir>/faulted-newonly-new\") -> 0",
             "rename(\"<dir>/faulted-both-new\", \"<dir>/faulted-both-old\") -> 0",
             "rename(\"<dir>/touched-oldonly-new\", \"<dir>/faulted-oldonly-old\") -> 0",
             "rename(\"<dir>/faulted-newonly-new\", \"<dir>/touched-newonly-old\") -> 0",
         ] + _unmapped(7),
         teardown=_closed(7),
         requires=[legacy_syscall("access"), _RENAME],
         notes="Faulted: the names of access, newfstatat and unlinkat, both names of the first "
               "rename, the old name of the second and the new name of the third (map0..map6 "
               "in that order); the touched-* names are ordinary ones, as in ior's scenario "
               "(one rename per combination of faulted names). " + _FAULTED_NOTE +
               "Each faulted name is the only content of its own backing file, mapped "
               "(one page, PROT_READ, MAP_PRIVATE) fresh each iteration and never touched by "
               "us: its page is not present at sys_enter, so a nofault read (BPF "
               "bpf_probe_read_user_str) fails there; the kernel's own read faults it in. The "
               "last three renames, all ordinary names, move the files back for the next "
               "iteration (ior renames once and removes its directory). "
               "tests/test_family_path.py counts the kernel-mode page faults: exactly one per "
               "faulted name."),
    dict(name="path_faulted_move_mount",
         summary="move_mount of plain directories, names on never-touched pages: -EINVAL",
         kernel=kernel(path_faulted_move_mount_loop, path_faulted_move_mount_setup,
                       path_faulted_move_mount_teardown), **_DIR,
         setup=[f"mkdirat(AT_FDCWD, \"<dir>/{d}\", 0755) -> 0" for d in _MM_DIRS] + _stage(_FAULTED_MM),
         iteration=_mapped(4) + [
             "move_mount(AT_FDCWD, \"<dir>/faulted-mm-both-from\", AT_FDCWD, "
             "\"<dir>/faulted-mm-both-to\", 0) -> -EINVAL",
             "move_mount(AT_FDCWD, \"<dir>/faulted-mm-fromonly-from\", AT_FDCWD, "
             "\"<dir>/touched-mm-fromonly-to\", 0) -> -EINVAL",
             "move_mount(AT_FDCWD, \"<dir>/touched-mm-toonly-from\", AT_FDCWD, "
             "\"<dir>/faulted-mm-toonly-to\", 0) -> -EINVAL",
         ] + _unmapped(4),
         teardown=_closed(4),
         # may_mount(): CAP_SYS_ADMIN over the mount namespace, the host's (unshare -Ur: EPERM)
         requires=[capability("CAP_SYS_ADMIN", initial_namespace=True),
                   # flags ~0 are refused before anything is looked up
                   syscall_implemented("move_mount", __NR_move_mount, -1, 0, -1, 0, 0xffffffff)],
         notes="Faulted: both names of the first call, the from name of the second and the to "
               "name of the third (map0..map3 in that order); the touched-* names are ordinary "
               "ones, as ior names them. "
               + _FAULTED_NOTE +
               "Without CAP_SYS_ADMIN move_mount fails with -EPERM before reading either name, "
               "so it needs root. The directories are no mount points: after both names are "
               "resolved the kernel refuses with -EINVAL and nothing is mounted or moved."),
    # directories
    dict(name="dir_basic", summary="mkdir subdir (legacy number), faccessat it, rmdir it",
         kernel=kernel(plan_loop, dir_basic_setup), **_DIR,
         iteration=["mkdir(\"<dir>/subdir\", 0755) -> 0",
                    "faccessat(AT_FDCWD, \"<dir>/subdir\", F_OK) -> 0",
                    "rmdir(\"<dir>/subdir\") -> 0"],
         requires=[legacy_syscall("mkdir"), legacy_syscall("rmdir")],
         notes="ior's syscall.Access is faccessat (not the legacy access), as here."),
    dict(name="dir_mkdirat",
         summary="mkdirat(AT_FDCWD, mkdirat-subdir, 0755), then unlinkat(AT_REMOVEDIR)",
         kernel=kernel(plan_loop, dir_mkdirat_setup), **_DIR,
         iteration=["mkdirat(AT_FDCWD, \"<dir>/mkdirat-subdir\", 0755) -> 0",
                    "unlinkat(AT_FDCWD, \"<dir>/mkdirat-subdir\", AT_REMOVEDIR) -> 0"]),
    dict(name="dir_mknodat_fifo", summary="mknodat(S_IFIFO|0600) a FIFO, then unlinkat it",
         kernel=kernel(plan_loop, dir_mknodat_fifo_setup), **_DIR,
         iteration=["mknodat(AT_FDCWD, \"<dir>/mknodat-fifo\", S_IFIFO|0600, 0) -> 0",
                    "unlinkat(AT_FDCWD, \"<dir>/mknodat-fifo\", 0) -> 0"],
         notes="A FIFO needs no CAP_MKNOD."),
    dict(name="dir_chdir", summary="chdir into the private directory, then back to the starting cwd",
         kernel=kernel(plan_loop, dir_chdir_setup, chdir_back), **_DIR,
         iteration=["chdir(\"<dir>\") -> 0", "chdir(?) -> 0"],
         teardown=["chdir(?) -> 0"],
         prepare=remember_cwd, notes=_CWD_NOTE),
    dict(name="dir_getcwd", summary="chdir into the private directory, getcwd(buf, 4096), chdir back",
         kernel=kernel(plan_loop, dir_getcwd_setup, chdir_back), **_DIR,
         iteration=["chdir(\"<dir>\") -> 0", "getcwd(&buf, 4096) -> >=2",
                    "chdir(?) -> 0"],
         teardown=["chdir(?) -> 0"],
         prepare=remember_cwd,
         notes="getcwd returns the path length including its NUL. ior sleeps 300 ms before "
               "returning; one iteration does not. " + _CWD_NOTE),
    dict(name="dir_getdents", summary="open the directory holding one file, getdents64(4096): 88 bytes",
         kernel=kernel(plan_loop, dir_getdents_setup), **_DIR,
         setup=_create("getdents-file.txt"),
         iteration=["fd = openat(AT_FDCWD, \"<dir>\", O_RDONLY|O_DIRECTORY|O_CLOEXEC, 0) -> >=0",
                    "getdents64(fd, &buf, 4096) -> 88",
                    "close(fd) -> 0"],
         notes="88 bytes = three linux_dirent64 records, 8-byte aligned: \".\" (24), \"..\" (24) "
               "and \"getdents-file.txt\" (40)."),
    dict(name="dir_mkdir_eexist", summary="mkdir twice (legacy number): 0 then -EEXIST; rmdir",
         kernel=kernel(plan_loop, dir_mkdir_eexist_setup), **_DIR,
         iteration=["mkdir(\"<dir>/mkdir-eexist-subdir\", 0755) -> 0",
                    "mkdir(\"<dir>/mkdir-eexist-subdir\", 0755) -> -EEXIST",
                    "rmdir(\"<dir>/mkdir-eexist-subdir\") -> 0"],
         requires=[legacy_syscall("mkdir"), legacy_syscall("rmdir")]),
    dict(name="dir_chdir_enoent", summary="chdir into a missing directory: -ENOENT",
         kernel=kernel(plan_loop, dir_chdir_enoent_setup), **_DIR,
         iteration=["chdir(\"<dir>/chdir-enoent-missing\") -> -ENOENT"], ior_repeat=5),
    dict(name="dir_getdents_ebadf", summary="getdents64(9999, buf, 4096): -EBADF",
         kernel=kernel(plan_loop, dir_getdents_ebadf_setup),
         iteration=["getdents64(9999, &buf, 4096) -> -EBADF"], ior_repeat=40,
         notes="ior sleeps 25 ms between its 40 repeats; one iteration issues the call once."),
])

def _backing(k, name):
    """map_backing(): ior's os.WriteFile of backing k, its O_RDONLY reopen, mmap (bound mapk),
    close."""
    path = f"\"<dir>/.backing-{k}\""
    return [f"b{k} = openat(AT_FDCWD, {path}, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) -> >=0",
            f"write(b{k}, {{\"<dir>/{name}\" NUL-padded to 512 bytes}}, 512) -> 512",
            f"close(b{k}) -> 0",
            f"r{k} = openat(AT_FDCWD, {path}, O_RDONLY, 0) -> >=0",
            f"map{k} = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, r{k}, 0) -> >=0",
            f"close(r{k}) -> 0"]


def _write_x(name):
    """write_x_file(): ior's os.WriteFile(name, "x")."""
    return [f"x = openat(AT_FDCWD, \"<dir>/{name}\", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644)"
            " -> >=0",
            "write(x, \"x\", 1) -> 1",
            "close(x) -> 0"]


def _mkdir(name):
    return f"mkdirat(AT_FDCWD, \"<dir>/{name}\", 0755) -> 0"


_IOR_FAULTED_NOTE = ("ior mode's sequence: ior's faultedPages step by step (each backing "
                     "written with os.WriteFile's calls, reopened O_RDONLY, mapped, closed; "
                     "the pages unmapped at the end). The backing holds the path NUL-padded "
                     "to 512 bytes (ior: the path and one NUL), so the write's length does not "
                     "depend on <dir>. ")

# ior mode runs these instead of the scenarios of the same name (ior_mode.scenario_for_ior).
IOR_SCENARIOS = scenarios("path", [
    dict(name="path_faulted_names",
         summary="ior's faulted names: each backing written, reopened, mapped right before its "
                 "access/newfstatat/unlinkat/rename",
         kernel=kernel(path_faulted_names_ior_loop, path_faulted_names_ior_setup), **_DIR,
         iteration=(
             _backing(0, "faulted-access-missing")
             + ["access(\"<dir>/faulted-access-missing\", F_OK) -> -ENOENT"]
             + _backing(1, "faulted-stat-missing")
             + ["newfstatat(AT_FDCWD, \"<dir>/faulted-stat-missing\", &st, 0) -> -ENOENT"]
             + _backing(2, "faulted-unlink-missing")
             + ["unlinkat(AT_FDCWD, \"<dir>/faulted-unlink-missing\", 0) -> -ENOENT"]
             + _write_x("faulted-both-old") + _backing(3, "faulted-both-old")
             + _backing(4, "faulted-both-new")
             + ["rename(\"<dir>/faulted-both-old\", \"<dir>/faulted-both-new\") -> 0"]
             + _write_x("faulted-oldonly-old") + _backing(5, "faulted-oldonly-old")
             + ["rename(\"<dir>/faulted-oldonly-old\", \"<dir>/touched-oldonly-new\") -> 0"]
             + _write_x("touched-newonly-old") + _backing(6, "faulted-newonly-new")
             + ["rename(\"<dir>/touched-newonly-old\", \"<dir>/faulted-newonly-new\") -> 0"]
             + _unmapped(7)),
         requires=[legacy_syscall("access"), _RENAME],
         notes=_IOR_FAULTED_NOTE + "Faulted as in the normal mode (map0..map6). No rename back: "
               "each round writes the renamed files afresh and the renames replace the "
               "previous round's targets."),
    dict(name="path_faulted_move_mount",
         summary="ior's faulted move_mount: per case its two directories, its backings, the "
                 "move_mount (-EINVAL)",
         kernel=kernel(path_faulted_move_mount_ior_loop, path_faulted_move_mount_ior_setup),
         **_DIR,
         iteration=(
             [_mkdir("faulted-mm-both-from"), _mkdir("faulted-mm-both-to")]
             + _backing(0, "faulted-mm-both-from") + _backing(1, "faulted-mm-both-to")
             + ["move_mount(AT_FDCWD, \"<dir>/faulted-mm-both-from\", AT_FDCWD, "
                "\"<dir>/faulted-mm-both-to\", 0) -> -EINVAL"]
             + [_mkdir("faulted-mm-fromonly-from"), _mkdir("touched-mm-fromonly-to")]
             + _backing(2, "faulted-mm-fromonly-from")
             + ["move_mount(AT_FDCWD, \"<dir>/faulted-mm-fromonly-from\", AT_FDCWD, "
                "\"<dir>/touched-mm-fromonly-to\", 0) -> -EINVAL"]
             + [_mkdir("touched-mm-toonly-from"), _mkdir("faulted-mm-toonly-to")]
             + _backing(3, "faulted-mm-toonly-to")
             + ["move_mount(AT_FDCWD, \"<dir>/touched-mm-toonly-from\", AT_FDCWD, "
                "\"<dir>/faulted-mm-toonly-to\", 0) -> -EINVAL"]
             + _unmapped(4)
             + [f"unlinkat(AT_FDCWD, \"<dir>/{d}\", AT_REMOVEDIR) -> 0" for d in _MM_DIRS]),
         requires=[capability("CAP_SYS_ADMIN", initial_namespace=True),
                   syscall_implemented("move_mount", __NR_move_mount, -1, 0, -1, 0, 0xffffffff)],
         notes=_IOR_FAULTED_NOTE + "Faulted as in the normal mode (map0..map3). The "
               "directories are removed at the end of each round (ours: ior's os.Mkdir would "
               "fail on the next round's existing ones)."),
    dict(name="unlink_rmdir", summary="mkdirat rmdir-me-0..4, each rmdir'ed at once (legacy number)",
         kernel=kernel(unlink_rmdir_rounds_loop, unlink_rmdir_rounds_setup), **_DIR,
         iteration=[call for k in range(RMDIR_ROUNDS)
                    for call in (f"mkdirat(AT_FDCWD, \"<dir>/rmdir-me-{k}\", 0755) -> 0",
                                 f"rmdir(\"<dir>/rmdir-me-{k}\") -> 0")],
         requires=[legacy_syscall("rmdir")],
         notes="ior mode's sequence: ior's five rounds with fresh names in one run."),
])
