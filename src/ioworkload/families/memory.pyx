# Memory mappings and locks: mmap, msync, mremap, munmap, mlock/mlock2/munlock, mlockall/munlockall,
# after ior's mmap-* scenarios. Each iteration maps and unmaps its own region; workers share the
# address space, but every mapping is private to the iteration that made it.

from libc.stdint cimport uint64_t
from libc.string cimport memcpy, strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, kernel,
)
from ioworkload.families._common cimport close_fd0

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


# ---- memory_query_advise, memory_membarrier, memory_process_advice, pkey_* ----
# The worker's own mappings and process only: brk is asked where the break is (0: it does not
# move, glibc's malloc owns it), advice and queries name a mapping the iteration made.

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_brk
        __NR_mincore
        __NR_madvise
        __NR_membarrier
        __NR_getpid
        __NR_pidfd_open
        __NR_process_madvise
        __NR_process_mrelease
        __NR_pkey_alloc
        __NR_pkey_free
        __NR_pkey_mprotect

cdef extern from "<linux/mman.h>" nogil:
    enum:
        MADV_WILLNEED
        MADV_DONTNEED
        MADV_COLD
        PKEY_DISABLE_WRITE

cdef extern from "<linux/membarrier.h>" nogil:
    enum:
        MEMBARRIER_CMD_QUERY
        MEMBARRIER_CMD_PRIVATE_EXPEDITED
        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED

CONSTANTS = {
    "MADV_WILLNEED": MADV_WILLNEED, "MADV_COLD": MADV_COLD, "PKEY_DISABLE_WRITE": PKEY_DISABLE_WRITE,
    "MEMBARRIER_CMD_QUERY": MEMBARRIER_CMD_QUERY,
    "MEMBARRIER_CMD_PRIVATE_EXPEDITED": MEMBARRIER_CMD_PRIVATE_EXPEDITED,
    "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED": MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
}

cdef enum:
    BAD_ADVICE = 12345
    BAD_MEMBARRIER_CMD = 12345
    UNALLOCATED_PKEY = 15     # the highest x86 protection key, never allocated here
    NO_PKEY = -1              # pkey_mprotect's "no key": plain mprotect

ctypedef struct AdviceState:
    unsigned char vec[2]      # mincore's one byte a page
    void *base                # process_madvise's iovec
    long length
    long pid


cdef uint64_t memory_query_advise_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef AdviceState *st = <AdviceState *>w.scratch
    cdef uint64_t i
    cdef long addr
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys1(__NR_brk, 0))
        addr = iow_tally_ret(&w.iter[1], iow_sys6(
            __NR_mmap, 0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        iow_tally_ret(&w.iter[2], iow_sys3(__NR_mincore, addr, 2 * PAGE, <long>st.vec))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_mincore, 1, PAGE, <long>st.vec))
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_madvise, addr, 2 * PAGE, MADV_WILLNEED))
        iow_tally_ret(&w.iter[5], iow_sys3(__NR_madvise, addr, 2 * PAGE, MADV_DONTNEED))
        iow_tally_ret(&w.iter[6], iow_sys3(__NR_madvise, addr, 2 * PAGE, BAD_ADVICE))
        iow_tally_ret(&w.iter[7], iow_sys2(__NR_munmap, addr, 2 * PAGE))
    return n


cdef uint64_t memory_membarrier_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0))
        iow_tally_ret(&w.iter[1], iow_sys3(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0))
        iow_tally_ret(&w.iter[2], iow_sys3(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_membarrier, BAD_MEMBARRIER_CMD, 0, 0))
    return n


cdef int own_pidfd_setup(iow_worker *w) noexcept nogil:
    cdef AdviceState *st = <AdviceState *>w.scratch
    st.pid = iow_tally_ret(&w.setup[0], iow_sys0(__NR_getpid))
    w.fd[0] = iow_tally_ret(&w.setup[1], iow_sys2(__NR_pidfd_open, st.pid, 0))
    return <int>w.fd[0] if w.fd[0] < 0 else 0


cdef void own_pidfd_teardown(iow_worker *w) noexcept nogil:
    close_fd0(w)


cdef uint64_t memory_process_advice_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef AdviceState *st = <AdviceState *>w.scratch
    cdef uint64_t i
    cdef long addr
    for i in range(n):
        if iow_stop_requested(w):
            return i
        addr = map_anonymous_page(w)
        if addr > 0:
            (<char *>addr)[0] = 1   # fault the page in (no syscall): there is something to advise
        st.base = <void *>addr
        st.length = PAGE
        iow_tally_ret(&w.iter[1], iow_sys5(__NR_process_madvise, w.fd[0], <long>&st.base, 1,
                                           MADV_COLD, 0))
        iow_tally_ret(&w.iter[2], iow_sys2(__NR_process_mrelease, w.fd[0], 0))
        iow_tally_ret(&w.iter[3], iow_sys2(__NR_munmap, addr, PAGE))
    return n


cdef uint64_t pkey_rejected_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long addr
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_pkey_alloc, 1, 0))
        iow_tally_ret(&w.iter[1], iow_sys1(__NR_pkey_free, NO_PKEY))
        addr = iow_tally_ret(&w.iter[2], iow_sys6(
            __NR_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        iow_tally_ret(&w.iter[3], iow_sys4(__NR_pkey_mprotect, addr, PAGE, PROT_READ, NO_PKEY))
        iow_tally_ret(&w.iter[4], iow_sys4(__NR_pkey_mprotect, addr, PAGE, PROT_READ, UNALLOCATED_PKEY))
        iow_tally_ret(&w.iter[5], iow_sys2(__NR_munmap, addr, PAGE))
    return n


cdef uint64_t pkey_alloc_free_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long addr, key
    for i in range(n):
        if iow_stop_requested(w):
            return i
        addr = map_anonymous_page(w)
        key = iow_tally_ret(&w.iter[1], iow_sys2(__NR_pkey_alloc, 0, PKEY_DISABLE_WRITE))
        iow_tally_ret(&w.iter[2], iow_sys4(__NR_pkey_mprotect, addr, PAGE, PROT_READ, key))
        iow_tally_ret(&w.iter[3], iow_sys2(__NR_munmap, addr, PAGE))
        iow_tally_ret(&w.iter[4], iow_sys1(__NR_pkey_free, key))
    return n


def _process_advice_here():
    from ioworkload.core import _runner
    if _runner.raw_syscall(__NR_process_mrelease, -1, 0) == -38:
        return "the kernel has no process_mrelease (ENOSYS)"
    if _runner.raw_syscall(__NR_process_madvise, -1, 0, 0, MADV_COLD, 0) == -38:
        return "the kernel has no process_madvise (CONFIG_ADVISE_SYSCALLS off: ENOSYS)"
    return None


def _cpu_has_pku():
    """Protection keys need the CPU's PKU and the kernel's use of it (ospke in cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        flags = []
    if "pku" not in flags or "ospke" not in flags:
        return "the CPU has no memory protection keys (no pku/ospke in /proc/cpuinfo)"
    return None


SCENARIOS += scenarios("memory", [
    dict(name="memory_query_advise",
         summary="brk(NULL), mincore, madvise WILLNEED/DONTNEED and a bad advice on two anonymous pages",
         kernel=kernel(memory_query_advise_loop),
         iteration=["brk(NULL) -> >=1",
                    f"addr = mmap(NULL, {2 * PAGE}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, "
                    f"-1, 0) -> >={PAGE}",
                    f"mincore(addr, {2 * PAGE}, &vec) -> 0",
                    f"mincore(1, {PAGE}, &vec) -> -EINVAL",
                    f"madvise(addr, {2 * PAGE}, MADV_WILLNEED) -> 0",
                    f"madvise(addr, {2 * PAGE}, MADV_DONTNEED) -> 0",
                    f"madvise(addr, {2 * PAGE}, {BAD_ADVICE}) -> -EINVAL",
                    f"munmap(addr, {2 * PAGE}) -> 0"],
         notes="brk(NULL) only reports the program break (a value the kernel rejects as a new "
               "break leaves it where it is): glibc's malloc owns the heap, nothing moves. "
               "mincore reads which of the two pages are resident (an unaligned start is "
               "rejected); the advice names the iteration's own mapping; 12345 is no advice."),
    dict(name="memory_membarrier",
         summary="membarrier: query, register private expedited, a private expedited barrier, a bad command",
         kernel=kernel(memory_membarrier_loop),
         iteration=["membarrier(MEMBARRIER_CMD_QUERY, 0, 0) -> >=1",
                    "membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) -> 0",
                    "membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) -> 0",
                    f"membarrier({BAD_MEMBARRIER_CMD}, 0, 0) -> -EINVAL"],
         notes="Contained: the registration and the barrier concern this process's threads "
               "only (registering again is a no-op returning 0). The query's result is the "
               "set of commands this kernel supports (a host-dependent bit mask)."),
    dict(name="memory_process_advice",
         summary="process_madvise(MADV_COLD) on our own page through a pidfd; process_mrelease refused",
         kernel=kernel(memory_process_advice_loop, own_pidfd_setup, own_pidfd_teardown),
         requires=[_process_advice_here],
         setup=["pid = getpid() -> >=1", "pidfd = pidfd_open(pid, 0) -> >=0"],
         iteration=[_ANON_PAGE,
                    f"process_madvise(pidfd, [{{iov_base=addr, iov_len={PAGE}}}], 1, MADV_COLD, 0) "
                    f"-> {PAGE}",
                    "process_mrelease(pidfd, 0) -> -EINVAL",
                    f"munmap(addr, {PAGE}) -> 0"],
         teardown=["close(pidfd) -> 0"],
         notes="The target is the scenario's own process, through a pidfd of it: MADV_COLD "
               "(a hint that only ages the page) on one page the iteration mapped and "
               "touched, all of it advised (4096). process_mrelease reaps only a process "
               "that is being killed: ours is alive, -EINVAL, nothing released."),
    dict(name="pkey_rejected",
         summary="pkey_alloc with bad flags, pkey_free of no key, pkey_mprotect without and with a bad key",
         kernel=kernel(pkey_rejected_loop),
         iteration=["pkey_alloc(1, 0) -> -EINVAL",
                    f"pkey_free({NO_PKEY}) -> -EINVAL",
                    _ANON_PAGE,
                    f"pkey_mprotect(addr, {PAGE}, PROT_READ, {NO_PKEY}) -> 0",
                    f"pkey_mprotect(addr, {PAGE}, PROT_READ, {UNALLOCATED_PKEY}) -> -EINVAL",
                    f"munmap(addr, {PAGE}) -> 0"],
         notes="The same on every CPU, with or without protection keys: flags other than 0 "
               "are rejected, no key -1 is allocated, pkey_mprotect with key -1 is plain "
               "mprotect, and key 15 was never allocated. pkey_alloc_free allocates one."),
    dict(name="pkey_alloc_free",
         summary="pkey_alloc(0, PKEY_DISABLE_WRITE), pkey_mprotect a page with it, pkey_free",
         kernel=kernel(pkey_alloc_free_loop), requires=[_cpu_has_pku],
         iteration=[_ANON_PAGE,
                    "key = pkey_alloc(0, PKEY_DISABLE_WRITE) -> >=1",
                    f"pkey_mprotect(addr, {PAGE}, PROT_READ, key) -> 0",
                    f"munmap(addr, {PAGE}) -> 0",
                    "pkey_free(key) -> 0"],
         notes="Needs a CPU with protection keys (unsupported elsewhere: pkey_alloc would "
               "fail with -ENOSPC). The key (1 or more: key 0 is the default) guards only "
               "the iteration's page, which is unmapped before the key is freed; the "
               "key's write-disable bit stays in this thread's PKRU, which no mapping uses."),
])
