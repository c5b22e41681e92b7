# Family 'stat': ior's stat-* scenarios (../shared/reference/ior-ioworkload-catalog.md, 4.10).
# Each scenario first creates its file (openat + close, or openat kept open for the fd calls);
# an iteration is the one stat-type call ior makes on it. stat/lstat/fstat/access are the
# legacy x86-64 calls (tracepoints newstat/newlstat/newfstat/access), issued by their own
# numbers, never as newfstatat/faccessat.

from libc.stdint cimport uint64_t
from ioworkload.core._kernel cimport iow_worker, iow_sys2, iow_tally_ret, iow_stop_requested, iow_path, kernel
from ioworkload.families._common cimport one_call_loop, close_fd0
from ioworkload.families._files cimport open_file, create_file

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_statx
        __NR_faccessat
        __NR_statfs
        __NR_fstatfs
        IOW_NR_stat
        IOW_NR_lstat
        IOW_NR_fstat
        IOW_NR_access
        IOW_NR_newfstatat

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD

cdef extern from "<unistd.h>" nogil:
    enum:
        R_OK

cdef extern from "<sys/stat.h>" nogil:
    enum:
        STATX_BASIC_STATS

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import legacy_syscall

# fstat(2) on this descriptor fails with -EBADF: far above any fd this process opens
# (RLIMIT_NOFILE here is 20000), as in ior.
cdef enum:
    FD_NEVER_OPEN = 99999


# The kernel writes its struct stat (144 bytes), struct statx (256) or struct statfs (120)
# into the worker's 256 KiB scratch buffer; nothing reads it back.
cdef inline long out_buf(iow_worker *w) noexcept nogil:
    return <long>w.scratch


# ---- setups: one per file name ior uses ----

cdef int statfile_setup(iow_worker *w) noexcept nogil:
    return create_file(w, b"statfile.txt")

cdef int fstatfile_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"fstatfile.txt")

cdef int lstatfile_setup(iow_worker *w) noexcept nogil:
    return create_file(w, b"lstatfile.txt")

cdef int fstatatfile_setup(iow_worker *w) noexcept nogil:
    return create_file(w, b"fstatatfile.txt")

cdef int statxfile_setup(iow_worker *w) noexcept nogil:
    return create_file(w, b"statxfile.txt")

cdef int accessfile_setup(iow_worker *w) noexcept nogil:
    return create_file(w, b"accessfile.txt")

cdef int faccessatfile_setup(iow_worker *w) noexcept nogil:
    return create_file(w, b"faccessatfile.txt")

cdef int statfsfile_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"statfsfile.txt")


# ---- loops: the file's path is w.path[0], its open fd (where kept) w.fd[0] ----

cdef uint64_t stat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_stat, <long>w.path[0], out_buf(w))


cdef uint64_t fstat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_fstat, w.fd[0], out_buf(w))


cdef uint64_t lstat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_lstat, <long>w.path[0], out_buf(w))


cdef uint64_t newfstatat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_newfstatat, AT_FDCWD, <long>w.path[0], out_buf(w), 0)


cdef uint64_t statx_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_statx, AT_FDCWD, <long>w.path[0], 0, STATX_BASIC_STATS,
                         out_buf(w))


cdef uint64_t access_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_access, <long>w.path[0], R_OK)


cdef uint64_t faccessat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    # The faccessat without a flags word, which Go's Faccessat(..., 0) issues.
    return one_call_loop(w, n, __NR_faccessat, AT_FDCWD, <long>w.path[0], R_OK)


cdef uint64_t stat_enoent_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_stat, <long>iow_path(w, 0, b"stat-enoent-missing.txt"),
                         out_buf(w))


cdef uint64_t access_enoent_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_access, <long>iow_path(w, 0, b"access-enoent-missing.txt"),
                         R_OK)


cdef uint64_t fstat_ebadf_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, IOW_NR_fstat, FD_NEVER_OPEN, out_buf(w))


cdef uint64_t statfs_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_statfs, <long>w.path[0], out_buf(w)))
        iow_tally_ret(&w.iter[1], iow_sys2(__NR_fstatfs, w.fd[0], out_buf(w)))
    return n


def _create(name):
    return [f'fd = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT, 0644) -> >=0', "close(fd) -> 0"]


def _open(name):
    return [f'fd = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT, 0644) -> >=0']


_CLOSE = ["close(fd) -> 0"]

SCENARIOS = scenarios("stat", [
    dict(name="stat_basic", summary="stat(path): the legacy x86-64 call, tracepoint newstat",
         kernel=kernel(stat_loop, statfile_setup), needs_dir=True,
         setup=_create("statfile.txt"),
         iteration=['stat("<dir>/statfile.txt", &st) -> 0'],
         requires=[legacy_syscall("stat")]),
    dict(name="stat_fstat", summary="fstat(fd) on an open file: tracepoint newfstat",
         kernel=kernel(fstat_loop, fstatfile_setup, close_fd0), needs_dir=True,
         setup=_open("fstatfile.txt"),
         iteration=["fstat(fd, &st) -> 0"],
         teardown=_CLOSE,
         requires=[legacy_syscall("fstat")]),
    dict(name="stat_lstat", summary="lstat(path) of a regular file: tracepoint newlstat",
         kernel=kernel(lstat_loop, lstatfile_setup), needs_dir=True,
         setup=_create("lstatfile.txt"),
         iteration=['lstat("<dir>/lstatfile.txt", &st) -> 0'],
         requires=[legacy_syscall("lstat")]),
    dict(name="stat_newfstatat", summary="newfstatat(AT_FDCWD, path, &st, 0), what Go's Stat issues",
         kernel=kernel(newfstatat_loop, fstatatfile_setup), needs_dir=True,
         setup=_create("fstatatfile.txt"),
         iteration=['newfstatat(AT_FDCWD, "<dir>/fstatatfile.txt", &st, 0) -> 0'],
         requires=[legacy_syscall("newfstatat")]),
    dict(name="stat_statx", summary="statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx)",
         kernel=kernel(statx_loop, statxfile_setup), needs_dir=True,
         setup=_create("statxfile.txt"),
         iteration=['statx(AT_FDCWD, "<dir>/statxfile.txt", 0, STATX_BASIC_STATS, &stx) -> 0']),
    dict(name="stat_access", summary="access(path, R_OK): the legacy call, not faccessat",
         kernel=kernel(access_loop, accessfile_setup), needs_dir=True,
         setup=_create("accessfile.txt"),
         iteration=['access("<dir>/accessfile.txt", R_OK) -> 0'],
         requires=[legacy_syscall("access")]),
    dict(name="stat_faccessat", summary="faccessat(AT_FDCWD, path, R_OK), the 3-argument call",
         kernel=kernel(faccessat_loop, faccessatfile_setup), needs_dir=True,
         setup=_create("faccessatfile.txt"),
         iteration=['faccessat(AT_FDCWD, "<dir>/faccessatfile.txt", R_OK) -> 0'],
         notes="Go's Faccessat with flags 0 issues faccessat (nr 269 on x86-64), not "
               "faccessat2; the syscall has no flags argument, so three are passed."),
    dict(name="stat_enoent", summary="stat() of a missing file: -ENOENT",
         kernel=kernel(stat_enoent_loop), needs_dir=True,
         iteration=['stat("<dir>/stat-enoent-missing.txt", &st) -> -ENOENT'],
         requires=[legacy_syscall("stat")], ior_repeat=5),
    dict(name="stat_access_enoent", summary="access(missing, R_OK): -ENOENT",
         kernel=kernel(access_enoent_loop), needs_dir=True,
         iteration=['access("<dir>/access-enoent-missing.txt", R_OK) -> -ENOENT'],
         requires=[legacy_syscall("access")], ior_repeat=5,
         notes="ENOENT rather than EACCES whoever runs it: the name does not exist."),
    dict(name="stat_fstat_ebadf", summary="fstat(99999): -EBADF",
         kernel=kernel(fstat_ebadf_loop),
         iteration=["fstat(99999, &st) -> -EBADF"],
         requires=[legacy_syscall("fstat")], ior_repeat=20,
         notes="ior sleeps 20 ms between its 20 calls to survive dropped events; one "
               "iteration is one call, no sleep."),
    dict(name="stat_statfs", summary="statfs(path) then fstatfs(fd) of the same open file",
         kernel=kernel(statfs_loop, statfsfile_setup, close_fd0), needs_dir=True,
         setup=_open("statfsfile.txt"),
         iteration=['statfs("<dir>/statfsfile.txt", &sfs) -> 0', "fstatfs(fd, &sfs) -> 0"],
         teardown=_CLOSE),
])
