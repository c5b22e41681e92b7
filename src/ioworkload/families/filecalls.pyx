# Family 'filecalls': file calls no other family issues. The legacy numbers glibc never uses
# (open, getdents, mknod, inotify_init, epoll_create: x86-64 keeps them, tracers hooking only
# openat/getdents64/mknodat/inotify_init1/epoll_create1 miss them), and fchdir, fallocate,
# syncfs, faccessat2 and remap_file_pages. Everything happens in the worker's private
# directory; fchdir is only ever refused (a file is no directory), since a working directory is
# the whole process's.

from libc.stdint cimport uint64_t
from libc.string cimport strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, kernel,
)
from ioworkload.families._common cimport close_tracked

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_close
        __NR_unlinkat
        __NR_fchdir
        __NR_fallocate
        __NR_syncfs
        __NR_faccessat2
        __NR_mmap
        __NR_munmap
        __NR_remap_file_pages
        IOW_NR_open
        IOW_NR_getdents
        IOW_NR_mknod
        IOW_NR_inotify_init
        IOW_NR_epoll_create

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        AT_EACCESS
        O_RDONLY
        O_RDWR
        O_CREAT
        O_DIRECTORY

cdef extern from "<unistd.h>" nogil:
    enum:
        R_OK
        W_OK

cdef extern from "<sys/stat.h>" nogil:
    enum:
        S_IFIFO
        S_IFREG

cdef extern from "<sys/mman.h>" nogil:
    enum:
        PROT_READ
        PROT_WRITE
        MAP_SHARED

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import legacy_syscall

CONSTANTS = {"S_IFIFO": S_IFIFO, "S_IFREG": S_IFREG, "R_OK": R_OK, "W_OK": W_OK,
             "AT_EACCESS": AT_EACCESS}

cdef enum:
    PAGE = 4096
    FILE_BYTES = 2 * PAGE     # fallocate'd: the two pages remap_file_pages swaps
    MODE = 0o600
    DIRENT_BYTES = 32768
    # w.path slots
    P_FILE = 0
    P_FIFO = 1
    P_REGULAR = 2
    P_DIR = 3


cdef int legacy_paths_setup(iow_worker *w) noexcept nogil:
    # No syscalls: the paths.
    iow_path(w, P_FILE, b"legacy-open")
    iow_path(w, P_FIFO, b"legacy-fifo")
    iow_path(w, P_REGULAR, b"legacy-node")
    iow_path(w, P_DIR, b"")
    w.path[P_DIR][strlen(w.dir)] = 0   # "<dir>" itself: no trailing slash
    return 0


cdef uint64_t legacy_file_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long addr
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys3(IOW_NR_open, <long>w.path[P_FILE],
                                                     O_RDWR | O_CREAT, MODE))
        iow_tally_ret(&w.iter[1], iow_sys4(__NR_fallocate, w.fd[0], 0, 0, FILE_BYTES))
        iow_tally_ret(&w.iter[2], iow_sys4(__NR_fallocate, w.fd[0], 0, -1, PAGE))
        addr = iow_tally_ret(&w.iter[3], iow_sys6(__NR_mmap, 0, FILE_BYTES, PROT_READ | PROT_WRITE,
                                                  MAP_SHARED, w.fd[0], 0))
        # the first page of the mapping now shows the file's second page
        iow_tally_ret(&w.iter[4], iow_sys5(__NR_remap_file_pages, addr, PAGE, 0, 1, 0))
        iow_tally_ret(&w.iter[5], iow_sys2(__NR_munmap, addr, FILE_BYTES))
        iow_tally_ret(&w.iter[6], iow_sys1(__NR_fchdir, w.fd[0]))
        close_tracked(&w.iter[7], &w.fd[0])
        iow_tally_ret(&w.iter[8], iow_sys4(__NR_faccessat2, AT_FDCWD, <long>w.path[P_FILE],
                                           R_OK | W_OK, AT_EACCESS))
        iow_tally_ret(&w.iter[9], iow_sys3(IOW_NR_mknod, <long>w.path[P_FIFO], S_IFIFO | MODE, 0))
        iow_tally_ret(&w.iter[10], iow_sys3(IOW_NR_mknod, <long>w.path[P_REGULAR], S_IFREG | MODE, 0))
        w.fd[1] = iow_tally_ret(&w.iter[11], iow_sys3(IOW_NR_open, <long>w.path[P_DIR],
                                                      O_RDONLY | O_DIRECTORY, 0))
        iow_tally_ret(&w.iter[12], iow_sys3(IOW_NR_getdents, w.fd[1], <long>w.scratch, DIRENT_BYTES))
        iow_tally_ret(&w.iter[13], iow_sys3(IOW_NR_getdents, w.fd[1], <long>w.scratch, DIRENT_BYTES))
        close_tracked(&w.iter[14], &w.fd[1])
        iow_tally_ret(&w.iter[15], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>w.path[P_FIFO], 0))
        iow_tally_ret(&w.iter[16], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>w.path[P_REGULAR], 0))
        iow_tally_ret(&w.iter[17], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>w.path[P_FILE], 0))
        w.fd[2] = iow_tally_ret(&w.iter[18], iow_sys0(IOW_NR_inotify_init))
        close_tracked(&w.iter[19], &w.fd[2])
        w.fd[3] = iow_tally_ret(&w.iter[20], iow_sys1(IOW_NR_epoll_create, 1))
        # syncfs of an epoll instance: its (in-memory) filesystem has nothing to write, where
        # syncfs of a file in $TMPDIR would flush a whole disk filesystem the host shares
        iow_tally_ret(&w.iter[21], iow_sys1(__NR_syncfs, w.fd[3]))
        close_tracked(&w.iter[22], &w.fd[3])
        iow_tally_ret(&w.iter[23], iow_sys1(IOW_NR_epoll_create, 0))
        iow_tally_ret(&w.iter[24], iow_sys1(__NR_syncfs, -1))
    return n


def _legacy_numbers():
    for name in ("open", "getdents", "mknod", "inotify_init", "epoll_create"):
        why = legacy_syscall(name)()
        if why:
            return why
    return None


_OPEN = 'fd = open("<dir>/legacy-open", O_RDWR|O_CREAT, 0600) -> >=0'

SCENARIOS = scenarios("filecalls", [
    dict(name="legacy_file_calls",
         summary="legacy open/getdents/mknod/inotify_init/epoll_create, fallocate, syncfs, faccessat2",
         kernel=kernel(legacy_file_loop, legacy_paths_setup), needs_dir=True,
         requires=[_legacy_numbers],
         iteration=[_OPEN,
                    f"fallocate(fd, 0, 0, {FILE_BYTES}) -> 0",
                    f"fallocate(fd, 0, -1, {PAGE}) -> -EINVAL",
                    f"addr = mmap(NULL, {FILE_BYTES}, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0) -> >={PAGE}",
                    f"remap_file_pages(addr, {PAGE}, 0, 1, 0) -> 0",
                    f"munmap(addr, {FILE_BYTES}) -> 0",
                    "fchdir(fd) -> -ENOTDIR",
                    "close(fd) -> 0",
                    'faccessat2(AT_FDCWD, "<dir>/legacy-open", R_OK|W_OK, AT_EACCESS) -> 0',
                    'mknod("<dir>/legacy-fifo", S_IFIFO|0600, 0) -> 0',
                    'mknod("<dir>/legacy-node", S_IFREG|0600, 0) -> 0',
                    'dirfd = open("<dir>", O_RDONLY|O_DIRECTORY, 0) -> >=0',
                    f"getdents(dirfd, &dirents, {DIRENT_BYTES}) -> >=1",
                    f"getdents(dirfd, &dirents, {DIRENT_BYTES}) -> 0",
                    "close(dirfd) -> 0",
                    'unlinkat(AT_FDCWD, "<dir>/legacy-fifo", 0) -> 0',
                    'unlinkat(AT_FDCWD, "<dir>/legacy-node", 0) -> 0',
                    'unlinkat(AT_FDCWD, "<dir>/legacy-open", 0) -> 0',
                    "ino = inotify_init() -> >=0",
                    "close(ino) -> 0",
                    "ep = epoll_create(1) -> >=0",
                    "syncfs(ep) -> 0",
                    "close(ep) -> 0",
                    "epoll_create(0) -> -EINVAL",
                    "syncfs(-1) -> -EBADF"],
         notes="The legacy numbers (open 2, getdents 78, mknod 133, inotify_init 253, "
               "epoll_create 213 on x86-64), each issued by number: a tracer that only hooks "
               "their successors misses them. Contained: every path is in the private "
               "directory (a FIFO and a regular file made with mknod, no device node) and "
               "removed in the same iteration; fchdir is given the file (-ENOTDIR), since "
               "the working directory is the whole process's; fallocate reserves two pages "
               "(a negative offset is rejected); remap_file_pages (deprecated, emulated) "
               "maps the file's second page at the start of a shared mapping; syncfs is "
               "asked of the epoll instance's in-memory filesystem (0, nothing to write), "
               "not of $TMPDIR's, which the host shares; epoll_create(0) is rejected. "
               "getdents reads the directory's entries (., .., the three files) in one call, "
               "then 0 at its end."),
])
