# Flushing to storage: fsync, fdatasync, sync, sync_file_range, after ior's sync-* scenarios.
# Each iteration is ior's body: open the file, write ior's payload, flush, close. The file is
# opened without O_TRUNC, like ior; a fresh open writes at offset 0, so it keeps ior's content.

from libc.stdint cimport uint64_t
from libc.string cimport strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys1, iow_sys3, iow_sys4, iow_tally_ret,
    iow_stop_requested, iow_path, kernel,
)
from ioworkload.families._common cimport one_call_loop

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_write
        __NR_fsync
        __NR_fdatasync
        __NR_sync
        __NR_sync_file_range

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_CREAT

from ioworkload.core.manifest import scenarios

cdef enum:
    INVALID_FD = 99999   # ior's never-open descriptor

cdef const char *SYNC_ME = b"sync me"
cdef const char *FDATASYNC_ME = b"fdatasync me"
cdef const char *RANGE_DATA = b"sync file range data"
cdef const char *RANGE_TO_EOF = b"sync file range to eof"


cdef uint64_t write_flush_close_loop(iow_worker *w, uint64_t n, const char *name,
                                     const char *payload, long nr, long b, long c) noexcept nogil:
    """Each iteration: open name (ior's flags and mode), write payload, flush with the syscall
    nr(fd, b, c, 0), close."""
    cdef uint64_t i
    cdef long fd
    iow_path(w, 0, name)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        fd = iow_tally_ret(&w.iter[0], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[0], O_RDWR | O_CREAT, 0o644))
        iow_tally_ret(&w.iter[1], iow_sys3(__NR_write, fd, <long>payload, strlen(payload)))
        iow_tally_ret(&w.iter[2], iow_sys4(nr, fd, b, c, 0))
        iow_tally_ret(&w.iter[3], iow_sys1(__NR_close, fd))
    return n


cdef uint64_t sync_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return write_flush_close_loop(w, n, b"syncfile.txt", SYNC_ME, __NR_fsync, 0, 0)


cdef uint64_t sync_fdatasync_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return write_flush_close_loop(w, n, b"fdatasyncfile.txt", FDATASYNC_ME, __NR_fdatasync, 0, 0)


cdef uint64_t sync_sync_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_sync, 0, 0, 0, 0)


cdef uint64_t sync_sync_file_range_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return write_flush_close_loop(w, n, b"syncrangefile.txt", RANGE_DATA, __NR_sync_file_range,
                                  0, strlen(RANGE_DATA))


cdef uint64_t sync_sync_file_range_to_eof_loop(iow_worker *w, uint64_t n) noexcept nogil:
    # nbytes 0: from the offset to the end of the file
    return write_flush_close_loop(w, n, b"syncrangeeoffile.txt", RANGE_TO_EOF,
                                  __NR_sync_file_range, 0, 0)


cdef uint64_t sync_fsync_ebadf_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_fsync, INVALID_FD, 0, 0, 0)


cdef uint64_t sync_fdatasync_ebadf_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_fdatasync, INVALID_FD, 0, 0, 0)


cdef uint64_t sync_file_range_ebadf_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_sync_file_range, INVALID_FD, 0, 0, 0)


def _body(name, bytes payload, flush):
    s = payload.decode()
    return [f'fd = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT, 0644) -> >=0',
            f'write(fd, "{s}", {len(s)}) -> {len(s)}', flush, "close(fd) -> 0"]


SCENARIOS = scenarios("sync", [
    dict(name="sync_basic", summary="write \"sync me\" (7 bytes), fsync the file",
         kernel=kernel(sync_basic_loop), needs_dir=True,
         iteration=_body("syncfile.txt", SYNC_ME, "fsync(fd) -> 0")),
    dict(name="sync_fdatasync", summary="write \"fdatasync me\" (12 bytes), fdatasync the file",
         kernel=kernel(sync_fdatasync_loop), needs_dir=True,
         iteration=_body("fdatasyncfile.txt", FDATASYNC_ME, "fdatasync(fd) -> 0")),
    dict(name="sync_sync", summary="sync(): flush every filesystem (no arguments)",
         kernel=kernel(sync_sync_loop),
         iteration=["sync() -> 0"],
         notes="sync() writes back every filesystem on the machine, so an iteration can take "
               "milliseconds; it always returns 0."),
    dict(name="sync_sync_file_range", summary="write 20 bytes, sync_file_range(fd, 0, 20, 0)",
         kernel=kernel(sync_sync_file_range_loop), needs_dir=True,
         iteration=_body("syncrangefile.txt", RANGE_DATA,
                         f"sync_file_range(fd, 0, {len(RANGE_DATA)}, 0) -> 0")),
    dict(name="sync_sync_file_range_to_eof",
         summary="write 22 bytes, sync_file_range(fd, 0, 0, 0): nbytes 0 means to end of file",
         kernel=kernel(sync_sync_file_range_to_eof_loop), needs_dir=True,
         iteration=_body("syncrangeeoffile.txt", RANGE_TO_EOF, "sync_file_range(fd, 0, 0, 0) -> 0")),
    dict(name="sync_fsync_ebadf", summary="fsync(99999): never open, -EBADF",
         kernel=kernel(sync_fsync_ebadf_loop),
         iteration=[f"fsync({INVALID_FD}) -> -EBADF"], ior_repeat=5),
    dict(name="sync_fdatasync_ebadf", summary="fdatasync(99999): never open, -EBADF",
         kernel=kernel(sync_fdatasync_ebadf_loop),
         iteration=[f"fdatasync({INVALID_FD}) -> -EBADF"], ior_repeat=5),
    dict(name="sync_file_range_ebadf", summary="sync_file_range(99999, 0, 0, 0): never open, -EBADF",
         kernel=kernel(sync_file_range_ebadf_loop),
         iteration=[f"sync_file_range({INVALID_FD}, 0, 0, 0) -> -EBADF"], ior_repeat=5),
])
