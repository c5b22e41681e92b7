# Memory mappings and locks: mmap, msync, mremap, munmap, mlock/mlock2/munlock, mlockall/munlockall,
# after ior's mmap-* scenarios. Each iteration maps and unmaps its own region; workers share the
# address space, but every mapping is private to the iteration that made it.

from libc.stdint cimport uint64_t
from libc.string cimport memcpy, strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, kernel,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_write
        __NR_mmap
        __NR_munmap
        __NR_mremap
        __NR_msync
        __NR_mlock
        __NR_mlock2
        __NR_munlock
        __NR_mlockall
        __NR_munlockall

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_CREAT
        O_TRUNC

cdef extern from "<linux/mman.h>" nogil:
    enum:
        PROT_READ
        PROT_WRITE
        MAP_SHARED
        MAP_PRIVATE
        MAP_ANONYMOUS
        MS_ASYNC
        MS_SYNC
        MREMAP_MAYMOVE
        MCL_CURRENT

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import capability

cdef enum:
    PAGE = 4096   # ior's anonymous mapping size (one page on x86-64 and 4K-page aarch64)
    NO_MSYNC = -1

cdef const char *MMAP_DATA = b"mmap shared page data"
cdef const char *MSYNC_DATA = b"msync shared page data"
cdef const char *MSYNC_INVALID_DATA = b"msync invalid flags data"


cdef uint64_t mapped_file_loop(iow_worker *w, uint64_t n, const char *name, const char *payload,
                              const char *store, long msync_flags) noexcept nogil:
    """Each iteration: create name (O_TRUNC), write payload, map it MAP_SHARED, copy store into
    the mapping (a page fault, no syscall), msync unless msync_flags is NO_MSYNC, munmap, close
    (ior's deferred order: the mapping goes before the fd).
    A short or failed write (a full $TMPDIR: ENOSPC) leaves the mapped page past the file's end,
    where a store is SIGBUS: the store is skipped, the iteration's other calls still go out as
    declared (its counts add up, the write's tally names the failure) and the loop ends there."""
    cdef uint64_t i
    cdef long fd, addr, written
    cdef long length = strlen(payload)
    cdef int k
    iow_path(w, 0, name)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        fd = iow_tally_ret(&w.iter[0], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[0], O_RDWR | O_CREAT | O_TRUNC, 0o644))
        written = iow_tally_ret(&w.iter[1], iow_sys3(__NR_write, fd, <long>payload, length))
        addr = iow_tally_ret(&w.iter[2], iow_sys6(
            __NR_mmap, 0, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0))
        if addr > 0 and store != NULL and written == length:
            memcpy(<void *>addr, store, strlen(store))
        k = 3
        if msync_flags != NO_MSYNC:
            iow_tally_ret(&w.iter[k], iow_sys3(__NR_msync, addr, length, msync_flags))
            k += 1
        iow_tally_ret(&w.iter[k], iow_sys2(__NR_munmap, addr, length))
        iow_tally_ret(&w.iter[k + 1], iow_sys1(__NR_close, fd))
        if written != length:
            return i + 1
    return n


cdef uint64_t mmap_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return mapped_file_loop(w, n, b"mmapfile.txt", MMAP_DATA, b"MMAP", NO_MSYNC)


cdef uint64_t mmap_msync_sync_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return mapped_file_loop(w, n, b"msyncfile.txt", MSYNC_DATA, b"MSYNC", MS_SYNC)


cdef uint64_t mmap_msync_invalid_flags_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return mapped_file_loop(w, n, b"msyncinvalidfile.txt", MSYNC_INVALID_DATA, NULL,
                            MS_SYNC | MS_ASYNC)


cdef inline long map_anonymous_page(iow_worker *w) noexcept nogil:
    return iow_tally_ret(&w.iter[0], iow_sys6(
        __NR_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))


cdef uint64_t mmap_mremap_munmap_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long addr, moved
    for i in range(n):
        if iow_stop_requested(w):
            return i
        addr = map_anonymous_page(w)
        moved = iow_tally_ret(&w.iter[1], iow_sys4(__NR_mremap, addr, PAGE, 2 * PAGE, MREMAP_MAYMOVE))
        if moved > 0:
            iow_tally_ret(&w.iter[2], iow_sys2(__NR_munmap, moved, 2 * PAGE))
        else:   # mremap failed: the first mapping is still there (the tally shows the failure)
            iow_tally_ret(&w.iter[2], iow_sys2(__NR_munmap, addr, PAGE))
    return n


cdef uint64_t mmap_memory_lock_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long addr
    for i in range(n):
        if iow_stop_requested(w):
            return i
        addr = map_anonymous_page(w)
        iow_tally_ret(&w.iter[1], iow_sys2(__NR_mlock, addr, PAGE))
        iow_tally_ret(&w.iter[2], iow_sys2(__NR_munlock, addr, PAGE))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_mlock2, addr, PAGE, 0))
        iow_tally_ret(&w.iter[4], iow_sys2(__NR_munlock, addr, PAGE))
        # Locks (and faults in) every page of the whole Python process, so it is undone at once.
        iow_tally_ret(&w.iter[5], iow_sys1(__NR_mlockall, MCL_CURRENT))
        iow_tally_ret(&w.iter[6], iow_sys0(__NR_munlockall))
        iow_tally_ret(&w.iter[7], iow_sys2(__NR_munmap, addr, PAGE))
    return n


def _can_lock_whole_process():
    """mlockall(MCL_CURRENT) succeeds only with CAP_IPC_LOCK or a memlock limit above the
    process's whole size, which changes with every worker thread: so only an unlimited one."""
    import resource
    if capability("CAP_IPC_LOCK", initial_namespace=True)() is None:
        return None
    soft = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
    if soft == resource.RLIM_INFINITY:
        return None
    return (f"needs CAP_IPC_LOCK (in the initial user namespace) or an unlimited "
            f"RLIMIT_MEMLOCK (now {soft} bytes): mlockall(MCL_CURRENT) locks the whole process")


def _file_body(name, bytes payload):
    s = payload.decode()
    return [f'fd = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT|O_TRUNC, 0644) -> >=0',
            f'write(fd, "{s}", {len(s)}) -> {len(s)}',
            f"addr = mmap(NULL, {len(s)}, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0) -> >={PAGE}"]


def _unmap_close(length):
    return [f"munmap(addr, {length}) -> 0", "close(fd) -> 0"]


_ANON_PAGE = f"addr = mmap(NULL, {PAGE}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) -> >={PAGE}"

SCENARIOS = scenarios("memory", [
    dict(name="mmap_basic", summary="map a 21-byte file MAP_SHARED, store 4 bytes, unmap",
         kernel=kernel(mmap_basic_loop), needs_dir=True,
         iteration=_file_body("mmapfile.txt", MMAP_DATA) + _unmap_close(len(MMAP_DATA)),
         notes="The 4-byte store (\"MMAP\") is a page fault, not a syscall."),
    dict(name="mmap_msync_sync", summary="map a 22-byte file, store, msync(MS_SYNC), unmap",
         kernel=kernel(mmap_msync_sync_loop), needs_dir=True,
         iteration=_file_body("msyncfile.txt", MSYNC_DATA)
                   + [f"msync(addr, {len(MSYNC_DATA)}, MS_SYNC) -> 0"] + _unmap_close(len(MSYNC_DATA))),
    dict(name="mmap_msync_invalid_flags", summary="msync(addr, len, MS_SYNC|MS_ASYNC): -EINVAL",
         kernel=kernel(mmap_msync_invalid_flags_loop), needs_dir=True,
         iteration=_file_body("msyncinvalidfile.txt", MSYNC_INVALID_DATA)
                   + [f"msync(addr, {len(MSYNC_INVALID_DATA)}, MS_SYNC|MS_ASYNC) -> -EINVAL"]
                   + _unmap_close(len(MSYNC_INVALID_DATA))),
    dict(name="mmap_mremap_munmap", summary="anonymous page, mremap to two pages, munmap both",
         kernel=kernel(mmap_mremap_munmap_loop),
         iteration=[_ANON_PAGE,
                    f"moved = mremap(addr, {PAGE}, {2 * PAGE}, MREMAP_MAYMOVE, ?) -> >={PAGE}",
                    f"munmap(moved, {2 * PAGE}) -> 0"],
         notes="mremap is issued with four arguments: its fifth, new_addr, is whatever the "
               "register holds (?); the kernel reads it only with MREMAP_FIXED."),
    dict(name="mmap_memory_lock", summary="mlock, munlock, mlock2, munlock, mlockall, munlockall",
         kernel=kernel(mmap_memory_lock_loop), requires=[_can_lock_whole_process],
         iteration=[_ANON_PAGE,
                    f"mlock(addr, {PAGE}) -> 0",
                    f"munlock(addr, {PAGE}) -> 0",
                    f"mlock2(addr, {PAGE}, 0) -> 0",
                    f"munlock(addr, {PAGE}) -> 0",
                    "mlockall(MCL_CURRENT) -> 0",
                    "munlockall() -> 0",
                    f"munmap(addr, {PAGE}) -> 0"],
         notes="ior tolerates EPERM/ENOMEM from the locks; here they must succeed, so the scenario "
               "needs CAP_IPC_LOCK (root) or an unlimited RLIMIT_MEMLOCK. mlockall(MCL_CURRENT) "
               "locks and faults in the whole Python process (milliseconds); munlockall in the "
               "same iteration undoes it, and also any lock another thread of the process held."),
])
