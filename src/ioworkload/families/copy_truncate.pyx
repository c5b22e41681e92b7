# Family 'copy_truncate': ior's copy-file-range-* and truncate-* scenarios
# (../shared/reference/ior-ioworkload-catalog.md, 4.13). One iteration is one repeat of ior's
# body; files are opened with O_TRUNC, so every iteration starts from the same state.

from libc.stdint cimport uint64_t
from libc.string cimport strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, kernel,
)
from ioworkload.families._common cimport close_tracked, one_call_loop

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_write
        __NR_lseek
        __NR_copy_file_range
        __NR_truncate
        __NR_ftruncate

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_CREAT
        O_TRUNC

cdef extern from "<stdio.h>" nogil:
    enum:
        SEEK_SET

from ioworkload.core.manifest import scenarios

cdef enum:
    MODE = 0o644
    BAD_FD = 99999          # never open: ior's invalid descriptor
    TRUNCATED_SIZE = 5
    P_SRC = 0
    P_DST = 1

# Payloads of ior's byte counts.
cdef const char *COPY_DATA = b"copy_file_range integration data"     # 32
cdef const char *EBADF_DATA = b"copy_file_range ebadf data"           # 26
cdef const char *TRUNCATE_DATA = b"truncate-basic data.\n"            # 21
cdef const char *FTRUNCATE_DATA = b"ftruncate-basic data.\n"          # 22


cdef long open_trunc(iow_worker *w, iow_tally *t, int slot, const char *name) noexcept nogil:
    """openat(<dir>/name, O_RDWR|O_CREAT|O_TRUNC, 0644) (1 event)."""
    return iow_tally_ret(t, iow_sys4(__NR_openat, AT_FDCWD, <long>iow_path(w, slot, name),
                                     O_RDWR | O_CREAT | O_TRUNC, MODE))


cdef long write_all(iow_tally *t, long fd, const char *data) noexcept nogil:
    return iow_tally_ret(t, iow_sys3(__NR_write, fd, <long>data, strlen(data)))


cdef uint64_t copy_file_range_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = open_trunc(w, &w.iter[0], P_SRC, b"copyrangesrc.txt")
        w.fd[1] = open_trunc(w, &w.iter[1], P_DST, b"copyrangedst.txt")
        write_all(&w.iter[2], w.fd[0], COPY_DATA)
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_lseek, w.fd[0], 0, SEEK_SET))
        # NULL offsets: copy from the source's file position, to the destination's
        iow_tally_ret(&w.iter[4], iow_sys6(__NR_copy_file_range, w.fd[0], 0, w.fd[1], 0,
                                           strlen(COPY_DATA), 0))
        close_tracked(&w.iter[5], &w.fd[1])
        close_tracked(&w.iter[6], &w.fd[0])
    return n


cdef uint64_t copy_file_range_bad_dst_fd_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = open_trunc(w, &w.iter[0], P_SRC, b"copyrangeebadfsrc.txt")
        write_all(&w.iter[1], w.fd[0], EBADF_DATA)
        iow_tally_ret(&w.iter[2], iow_sys6(__NR_copy_file_range, w.fd[0], 0, BAD_FD, 0, 16, 0))
        close_tracked(&w.iter[3], &w.fd[0])
    return n


cdef uint64_t truncate_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = open_trunc(w, &w.iter[0], P_SRC, b"truncfile.txt")
        write_all(&w.iter[1], w.fd[0], TRUNCATE_DATA)
        close_tracked(&w.iter[2], &w.fd[0])
        iow_tally_ret(&w.iter[3], iow_sys2(__NR_truncate, <long>w.path[P_SRC], TRUNCATED_SIZE))
    return n


cdef uint64_t truncate_ftruncate_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = open_trunc(w, &w.iter[0], P_SRC, b"ftruncfile.txt")
        write_all(&w.iter[1], w.fd[0], FTRUNCATE_DATA)
        iow_tally_ret(&w.iter[2], iow_sys2(__NR_ftruncate, w.fd[0], TRUNCATED_SIZE))
        close_tracked(&w.iter[3], &w.fd[0])
    return n


cdef uint64_t truncate_enoent_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_truncate, <long>iow_path(w, P_SRC, b"truncate-enoent-missing.txt"), 0)


cdef uint64_t truncate_ftruncate_ebadf_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_ftruncate, BAD_FD, 0)


_CLOSE = "close(fd) -> 0"


def _OPEN(name, bind="fd"):
    """The event of open_trunc(), its fd bound as `bind`."""
    return f'{bind} = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT|O_TRUNC, 0644) -> >=0'


SCENARIOS = scenarios("copy_truncate", [
    dict(name="copy_file_range_basic", summary="copy_file_range of 32 bytes between two files",
         kernel=kernel(copy_file_range_basic_loop), needs_dir=True,
         iteration=[_OPEN("copyrangesrc.txt", "src"), _OPEN("copyrangedst.txt", "dst"),
                    'write(src, "copy_file_range integration data", 32) -> 32',
                    "lseek(src, 0, SEEK_SET) -> 0",
                    "copy_file_range(src, NULL, dst, NULL, 32, 0) -> 32",
                    "close(dst) -> 0", "close(src) -> 0"],
         notes="ior accepts any positive result; on a local file system the whole 32 bytes "
               "are copied, so 32 is expected. The closes are ior's deferred ones (dst first)."),
    dict(name="copy_file_range_bad_dst_fd", summary="copy_file_range to fd 99999: -EBADF",
         kernel=kernel(copy_file_range_bad_dst_fd_loop), needs_dir=True,
         iteration=[_OPEN("copyrangeebadfsrc.txt", "src"),
                    'write(src, "copy_file_range ebadf data", 26) -> 26',
                    "copy_file_range(src, NULL, 99999, NULL, 16, 0) -> -EBADF",
                    "close(src) -> 0"]),
    dict(name="truncate_basic", summary="write 21 bytes, close, truncate(path, 5)",
         kernel=kernel(truncate_basic_loop), needs_dir=True,
         iteration=[_OPEN("truncfile.txt"),
                    'write(fd, "truncate-basic data.\\n", 21) -> 21', _CLOSE,
                    'truncate("<dir>/truncfile.txt", 5) -> 0']),
    dict(name="truncate_ftruncate", summary="write 22 bytes, ftruncate(fd, 5)",
         kernel=kernel(truncate_ftruncate_loop), needs_dir=True,
         iteration=[_OPEN("ftruncfile.txt"),
                    'write(fd, "ftruncate-basic data.\\n", 22) -> 22',
                    "ftruncate(fd, 5) -> 0", _CLOSE]),
    dict(name="truncate_enoent", summary="truncate of a missing file: -ENOENT",
         kernel=kernel(truncate_enoent_loop), needs_dir=True,
         iteration=['truncate("<dir>/truncate-enoent-missing.txt", 0) -> -ENOENT'], ior_repeat=5),
    dict(name="truncate_ftruncate_ebadf", summary="ftruncate(99999, 0): -EBADF",
         kernel=kernel(truncate_ftruncate_ebadf_loop),
         iteration=["ftruncate(99999, 0) -> -EBADF"]),
])
