# Family 'metadata': ior's chmod-*, chown-* and utime-* scenarios
# (../shared/reference/ior-ioworkload-catalog.md, 4.12). chmod, chown, lchown, utime, utimes
# and futimesat are legacy x86-64 calls issued by their own numbers, never as their *at
# successors. Modes, ids and times are chosen so each iteration leaves the file as it found
# it: chmod 0640 -> 0644 -> 0644 -> 0640, ids -1 ("no change"), fixed timestamps.

from libc.stdint cimport uint64_t
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_tally_ret,
    iow_stop_requested, iow_path, kernel,
)
from ioworkload.families._common cimport one_call_loop, close_fd0
from ioworkload.families._files cimport open_file, create_file

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_symlinkat
        __NR_fchmodat
        __NR_fchmod
        __NR_fchmodat2
        __NR_fchownat
        __NR_fchown
        __NR_utimensat
        IOW_NR_chmod
        IOW_NR_chown
        IOW_NR_lchown
        IOW_NR_utime
        IOW_NR_utimes
        IOW_NR_futimesat

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_CREAT
        O_PATH
        O_DIRECTORY
        O_CLOEXEC

cdef extern from "<sys/stat.h>" nogil:
    enum:
        UTIME_OMIT

cdef extern from "<linux/utime.h>" nogil:
    struct utimbuf:
        long actime
        long modtime

cdef extern from "<linux/time_types.h>" nogil:
    struct __kernel_old_timeval:
        long tv_sec
        long tv_usec
    struct __kernel_timespec:
        long long tv_sec
        long long tv_nsec

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import legacy_syscall, syscall_implemented

cdef enum:
    ID_UNCHANGED = -1            # (uid_t)-1 / (gid_t)-1: leave the owner/group as they are
    AT_FLAGS_INVALID = 0x80000000
cdef long long IOR_TIME = 1000000000   # ior's timestamps: 2001-09-09, whole seconds
cdef const char *IGNORED_TARGET = b"ignored-relative-target"   # never created
cdef const char *ONE_OMIT_TARGET = b"one-omit-target"


# ---- chmod / chown ----

cdef int chmod_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"chmodfile.txt")


cdef uint64_t chmod_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef long path = <long>w.path[0]
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys2(IOW_NR_chmod, path, 0o640))
        # fchmodat has no flags argument (that is what fchmodat2 added).
        iow_tally_ret(&w.iter[1], iow_sys3(__NR_fchmodat, AT_FDCWD, path, 0o644))
        iow_tally_ret(&w.iter[2], iow_sys2(__NR_fchmod, w.fd[0], 0o644))
        iow_tally_ret(&w.iter[3], iow_sys4(__NR_fchmodat2, AT_FDCWD, path, 0o640, 0))
    return n


cdef int chown_setup(iow_worker *w) noexcept nogil:
    cdef int rc = open_file(w, b"chownfile.txt")
    if rc < 0:
        return rc
    # symlinkat(target, AT_FDCWD, link): what Go's syscall.Symlink issues
    return <int>iow_tally_ret(&w.setup[1], iow_sys3(
        __NR_symlinkat, <long>w.path[0], AT_FDCWD, <long>iow_path(w, 1, b"chownlink")))


cdef uint64_t chown_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef long path = <long>w.path[0]
    cdef long link = <long>w.path[1]
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(IOW_NR_chown, path, ID_UNCHANGED, ID_UNCHANGED))
        iow_tally_ret(&w.iter[1], iow_sys3(IOW_NR_lchown, link, ID_UNCHANGED, ID_UNCHANGED))
        iow_tally_ret(&w.iter[2], iow_sys5(__NR_fchownat, AT_FDCWD, path, ID_UNCHANGED,
                                           ID_UNCHANGED, 0))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_fchown, w.fd[0], ID_UNCHANGED, ID_UNCHANGED))
    return n


# ---- utime family: setups name ior's files ----

cdef int utime_setup(iow_worker *w) noexcept nogil:
    return create_file(w, b"utimefile.txt")

cdef int utimes_setup(iow_worker *w) noexcept nogil:
    return create_file(w, b"utimesfile.txt")

cdef int futimesat_setup(iow_worker *w) noexcept nogil:
    return create_file(w, b"futimesatfile.txt")

cdef int utimensat_setup(iow_worker *w) noexcept nogil:
    return create_file(w, b"utimensatfile.txt")


cdef int open_dir(iow_worker *w) noexcept nogil:
    """openat(AT_FDCWD, "<dir>", O_PATH|O_DIRECTORY|O_CLOEXEC, 0) as setup event 0: the dirfd
    the *-omit scenarios resolve their relative names against, in w.fd[0]. The mode is passed
    (0, ignored without O_CREAT) so the kernel's fourth argument is a known value."""
    w.fd[0] = iow_tally_ret(&w.setup[0], iow_sys4(
        __NR_openat, AT_FDCWD, <long>w.dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0))
    return <int>w.fd[0] if w.fd[0] < 0 else 0


cdef int one_omit_setup(iow_worker *w) noexcept nogil:
    """open_dir, then create "one-omit-target" in it (openat at dirfd + close: events 1, 2)."""
    cdef long fd
    cdef int rc = open_dir(w)
    if rc < 0:
        return rc
    fd = iow_tally_ret(&w.setup[1], iow_sys4(
        __NR_openat, w.fd[0], <long>ONE_OMIT_TARGET, O_RDWR | O_CREAT, 0o644))
    if fd < 0:
        return <int>fd
    return <int>iow_tally_ret(&w.setup[2], iow_sys1(__NR_close, fd))


# The time arguments live in the worker's scratch buffer, set before the loop.
ctypedef struct Times:
    utimbuf buf                    # utime
    __kernel_old_timeval tv[2]     # utimes, futimesat
    __kernel_timespec ts[2]        # utimensat


cdef Times *ior_times(iow_worker *w) noexcept nogil:
    """ior's times, 1e9 s for access and modification, in every form the calls take."""
    cdef Times *t = <Times *>w.scratch
    t.buf.actime = IOR_TIME
    t.buf.modtime = IOR_TIME
    t.tv[0].tv_sec = IOR_TIME
    t.tv[0].tv_usec = 0
    t.tv[1] = t.tv[0]
    t.ts[0].tv_sec = IOR_TIME
    t.ts[0].tv_nsec = 0
    t.ts[1] = t.ts[0]
    return t


cdef uint64_t utime_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_utime, <long>w.path[0], <long>&ior_times(w).buf)


cdef uint64_t utimes_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_utimes, <long>w.path[0], <long>ior_times(w).tv)


cdef uint64_t futimesat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_futimesat, AT_FDCWD, <long>w.path[0], <long>ior_times(w).tv)


cdef uint64_t utimensat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_utimensat, AT_FDCWD, <long>w.path[0], <long>ior_times(w).ts, 0)


cdef uint64_t double_omit_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef Times *t = ior_times(w)
    t.ts[0].tv_sec = 0
    t.ts[0].tv_nsec = UTIME_OMIT
    t.ts[1] = t.ts[0]
    # Both times omitted: the kernel returns 0 before it even looks at the name.
    return one_call_loop(w, n, __NR_utimensat, w.fd[0], <long>IGNORED_TARGET, <long>t.ts, 0)


cdef uint64_t one_omit_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef Times *t = ior_times(w)
    t.ts[0].tv_sec = 0
    t.ts[0].tv_nsec = UTIME_OMIT      # access time left alone, modification time set
    return one_call_loop(w, n, __NR_utimensat, w.fd[0], <long>ONE_OMIT_TARGET, <long>t.ts, 0)


cdef uint64_t utime_enoent_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_utime, <long>iow_path(w, 0, b"utime-enoent-missing.txt"),
                         <long>&ior_times(w).buf)


def _create(name):
    return [f'fd = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT, 0644) -> >=0', "close(fd) -> 0"]


def _open(name):
    return [f'fd = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT, 0644) -> >=0']


_OPEN_DIR = ['dirfd = openat(AT_FDCWD, "<dir>", O_PATH|O_DIRECTORY|O_CLOEXEC, 0) -> >=0']
_CLOSE = ["close(fd) -> 0"]
_CLOSE_DIR = ["close(dirfd) -> 0"]
_TV = "[{1000000000, 0}, {1000000000, 0}]"

# fchmodat2 with unknown flags is -EINVAL where it exists, -ENOSYS before Linux 6.6.
_HAS_FCHMODAT2 = syscall_implemented("fchmodat2", __NR_fchmodat2, AT_FDCWD, 0, 0, AT_FLAGS_INVALID)

SCENARIOS = scenarios("metadata", [
    dict(name="chmod_basic", summary="chmod, fchmodat, fchmod, fchmodat2 on one file",
         kernel=kernel(chmod_loop, chmod_setup, close_fd0), needs_dir=True,
         setup=_open("chmodfile.txt"),
         iteration=['chmod("<dir>/chmodfile.txt", 0640) -> 0',
                    'fchmodat(AT_FDCWD, "<dir>/chmodfile.txt", 0644) -> 0',
                    "fchmod(fd, 0644) -> 0",
                    'fchmodat2(AT_FDCWD, "<dir>/chmodfile.txt", 0640, 0) -> 0'],
         teardown=_CLOSE,
         requires=[legacy_syscall("chmod"), _HAS_FCHMODAT2],
         notes="ior tolerates -ENOSYS from fchmodat2 on kernels before 6.6; a manifest must be "
               "exact, so there the scenario is unsupported (probed) instead of expecting "
               "either result."),
    dict(name="chown_basic", summary="chown, lchown (symlink), fchownat, fchown with ids -1",
         kernel=kernel(chown_loop, chown_setup, close_fd0), needs_dir=True,
         setup=_open("chownfile.txt") + ['symlinkat("<dir>/chownfile.txt", AT_FDCWD, '
                                         '"<dir>/chownlink") -> 0'],
         iteration=['chown("<dir>/chownfile.txt", -1, -1) -> 0',
                    'lchown("<dir>/chownlink", -1, -1) -> 0',
                    'fchownat(AT_FDCWD, "<dir>/chownfile.txt", -1, -1, 0) -> 0',
                    "fchown(fd, -1, -1) -> 0"],
         teardown=_CLOSE,
         requires=[legacy_syscall("chown"), legacy_syscall("lchown")],
         notes="Owner and group -1 mean 'leave unchanged': no CAP_CHOWN needed, nothing "
               "changes but ctime."),
    dict(name="utime_basic", summary="utime(path, {1e9, 1e9}): the legacy call",
         kernel=kernel(utime_loop, utime_setup), needs_dir=True,
         setup=_create("utimefile.txt"),
         iteration=['utime("<dir>/utimefile.txt", {1000000000, 1000000000}) -> 0'],
         requires=[legacy_syscall("utime")]),
    dict(name="utime_utimes", summary="utimes(path, [{1e9, 0}, {1e9, 0}])",
         kernel=kernel(utimes_loop, utimes_setup), needs_dir=True,
         setup=_create("utimesfile.txt"),
         iteration=[f'utimes("<dir>/utimesfile.txt", {_TV}) -> 0'],
         requires=[legacy_syscall("utimes")]),
    dict(name="utime_futimesat", summary="futimesat(AT_FDCWD, path, [{1e9, 0}, {1e9, 0}])",
         kernel=kernel(futimesat_loop, futimesat_setup), needs_dir=True,
         setup=_create("futimesatfile.txt"),
         iteration=[f'futimesat(AT_FDCWD, "<dir>/futimesatfile.txt", {_TV}) -> 0'],
         requires=[legacy_syscall("futimesat")]),
    dict(name="utime_utimensat", summary="utimensat(AT_FDCWD, path, [{1e9, 0}, {1e9, 0}], 0)",
         kernel=kernel(utimensat_loop, utimensat_setup), needs_dir=True,
         setup=_create("utimensatfile.txt"),
         iteration=[f'utimensat(AT_FDCWD, "<dir>/utimensatfile.txt", {_TV}, 0) -> 0']),
    dict(name="utime_utimensat_double_omit",
         summary="utimensat(dirfd, name, [UTIME_OMIT, UTIME_OMIT], 0): 0, name never resolved",
         kernel=kernel(double_omit_loop, open_dir, close_fd0), needs_dir=True,
         setup=_OPEN_DIR,
         iteration=['utimensat(dirfd, "ignored-relative-target", [{0, UTIME_OMIT}, {0, UTIME_OMIT}], 0) -> 0'],
         teardown=_CLOSE_DIR,
         notes="With both times UTIME_OMIT the kernel returns 0 before resolving the name, so "
               "ignored-relative-target need not exist (it does not). The dirfd is an O_PATH "
               "handle on the private directory (ior's newest source was not available; its "
               "tests model the dirfd as O_PATH)."),
    dict(name="utime_utimensat_one_omit",
         summary="utimensat(dirfd, name, [UTIME_OMIT, {1e9, 0}], 0): only mtime set",
         kernel=kernel(one_omit_loop, one_omit_setup, close_fd0), needs_dir=True,
         setup=_OPEN_DIR + ['fd = openat(dirfd, "one-omit-target", O_RDWR|O_CREAT, 0644) -> >=0',
                            "close(fd) -> 0"],
         iteration=['utimensat(dirfd, "one-omit-target", [{0, UTIME_OMIT}, {1000000000, 0}], 0) -> 0'],
         teardown=_CLOSE_DIR,
         notes="Access time omitted, modification time set, relative to an O_PATH dirfd on the "
               "private directory (inferred from ior's tests)."),
    dict(name="utime_enoent", summary="utime() of a missing file: -ENOENT",
         kernel=kernel(utime_enoent_loop), needs_dir=True,
         iteration=['utime("<dir>/utime-enoent-missing.txt", {1000000000, 1000000000}) -> -ENOENT'],
         requires=[legacy_syscall("utime")], ior_repeat=5,
         notes="ior sleeps 20 ms between its 5 calls to survive dropped events; one iteration "
               "is one call, no sleep."),
])
