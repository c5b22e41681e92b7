# Family 'wide': arguments and returns a tracer must not cut short. Offsets, lengths and
# addresses above 2^32, negative 64-bit values and a flag word with its top bit set (a tracer
# keeping 32 bits sees another number: often 0), and names and paths as long as the kernel
# takes them (a 255-byte name; a 4095-byte path through fifteen nested directories) and one
# byte longer (-ENAMETOOLONG), where a tracer keeping 64 or 256 bytes of a string shows a
# different one. Everything lives in the worker's private directory; the big file is sparse
# (4 bytes written 5 GiB in), the big mappings PROT_NONE and MAP_NORESERVE (nothing committed).

from libc.stdint cimport uint64_t
from libc.string cimport memset, memcpy
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, kernel,
)
from ioworkload.families._common cimport close_tracked, close_fd0

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_pwrite64
        __NR_pread64
        __NR_lseek
        __NR_mmap
        __NR_munmap
        __NR_mremap
        __NR_mkdirat
        __NR_unlinkat

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        AT_REMOVEDIR
        O_RDONLY
        O_RDWR
        O_CREAT
        O_TRUNC
        O_DIRECTORY

cdef extern from "<unistd.h>" nogil:
    enum:
        SEEK_SET
        SEEK_CUR
        SEEK_END

cdef extern from "<sys/mman.h>" nogil:
    enum:
        PROT_NONE
        MAP_PRIVATE
        MAP_ANONYMOUS
        MAP_NORESERVE

cdef extern from * nogil:
    """
    #ifndef MAP_FIXED_NOREPLACE
    #define MAP_FIXED_NOREPLACE 0x100000
    #endif
    /* One worker at a time maps the fixed high address (plain memory, no syscall). */
    static int iow_wide_fixed_lock;
    static inline void iow_wide_lock(void)
    {
        while (__atomic_exchange_n(&iow_wide_fixed_lock, 1, __ATOMIC_ACQUIRE))
            ;
    }
    static inline void iow_wide_unlock(void)
    {
        __atomic_store_n(&iow_wide_fixed_lock, 0, __ATOMIC_RELEASE);
    }
    """
    enum:
        MAP_FIXED_NOREPLACE
    void iow_wide_lock()
    void iow_wide_unlock()

from ioworkload.core.manifest import scenarios

CONSTANTS = {"MAP_FIXED_NOREPLACE": MAP_FIXED_NOREPLACE}

# Above 2^32 and not page aligned: its low 32 bits (0x40000123) are another offset.
cdef long FAR = 0x140000123
cdef long MINUS_4G = -0x100000000          # low 32 bits 0: a 32-bit tracer sees 0
cdef long BIG_LEN = 0x100001000            # 4 GiB and a page
cdef long HIGH_ADDR = 0x200000000000       # 32 TiB up: free in any x86-64 or aarch64 layout
cdef unsigned long TOP_BIT = 0x8000000000000000

cdef enum:
    PAYLOAD_BYTES = 4
    MODE = 0o600
    DIR_MODE = 0o700
    NAME_MAX_BYTES = 255
    DEPTH = 15                # directories; with the file: 16 x 255 bytes + 15 slashes = 4095
    PATH_BYTES = (DEPTH + 1) * (NAME_MAX_BYTES + 1) - 1

cdef const char *PAYLOAD = b"wide"


# ---- wide_offsets ----

cdef int wide_offsets_setup(iow_worker *w) noexcept nogil:
    w.fd[0] = iow_tally_ret(&w.setup[0], iow_sys4(
        __NR_openat, AT_FDCWD, <long>iow_path(w, 0, b"wide-sparse"), O_RDWR | O_CREAT | O_TRUNC, MODE))
    return <int>w.fd[0] if w.fd[0] < 0 else 0


cdef uint64_t wide_offsets_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long fd = w.fd[0]
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys4(__NR_pwrite64, fd, <long>PAYLOAD, PAYLOAD_BYTES, FAR))
        iow_tally_ret(&w.iter[1], iow_sys4(__NR_pread64, fd, <long>w.scratch, PAYLOAD_BYTES, FAR))
        iow_tally_ret(&w.iter[2], iow_sys3(__NR_lseek, fd, FAR, SEEK_SET))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_lseek, fd, MINUS_4G, SEEK_CUR))
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_lseek, fd, 0, SEEK_END))
        iow_tally_ret(&w.iter[5], iow_sys3(__NR_lseek, fd, MINUS_4G, SEEK_SET))
    return n


# ---- wide_mappings ----

cdef uint64_t wide_mappings_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long addr
    for i in range(n):
        if iow_stop_requested(w):
            return i
        addr = iow_tally_ret(&w.iter[0], iow_sys6(
            __NR_mmap, 0, BIG_LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0))
        iow_tally_ret(&w.iter[1], iow_sys5(__NR_mremap, addr, BIG_LEN, BIG_LEN, <long>TOP_BIT, 0))
        iow_tally_ret(&w.iter[2], iow_sys2(__NR_munmap, addr, BIG_LEN))
        # the same address for every worker: one at a time maps and unmaps it
        iow_wide_lock()
        addr = iow_tally_ret(&w.iter[3], iow_sys6(
            __NR_mmap, HIGH_ADDR, BIG_LEN, PROT_NONE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0))
        if addr == HIGH_ADDR:
            iow_tally_ret(&w.iter[4], iow_sys2(__NR_munmap, addr, BIG_LEN))
        iow_wide_unlock()
    return n


# ---- wide_names ----
# The nested directories' relative paths, in the scratch: path k (0-based) is k+1 components
# deep, component j being 255 times the letter 'a' + j. The longest one, PATH_BYTES, is the
# file; one more letter on its last component is one byte past PATH_MAX.

cdef char *nested(iow_worker *w, int depth, int extra) noexcept nogil:
    """The path `depth` components deep (the last one `extra` bytes longer), NUL-terminated,
    in the scratch (written there afresh: no syscall)."""
    cdef char *p = <char *>w.scratch
    cdef int j, k = 0
    for j in range(depth):
        if j:
            p[k] = c'/'
            k += 1
        memset(p + k, c'a' + j, NAME_MAX_BYTES)
        k += NAME_MAX_BYTES
    memset(p + k, c'a' + depth - 1, extra)
    p[k + extra] = 0
    return p


cdef char *long_name(iow_worker *w, int length) noexcept nogil:
    cdef char *p = <char *>w.scratch + 2 * PATH_BYTES
    memset(p, c'n', length)
    p[length] = 0
    return p


cdef int wide_names_setup(iow_worker *w) noexcept nogil:
    cdef int k
    cdef long rc
    w.val[0] = 0   # directories made
    w.fd[0] = iow_tally_ret(&w.setup[0], iow_sys4(
        __NR_openat, AT_FDCWD, <long>w.dir, O_RDONLY | O_DIRECTORY, 0))
    if w.fd[0] < 0:
        return <int>w.fd[0]
    for k in range(DEPTH):
        rc = iow_tally_ret(&w.setup[1 + k], iow_sys3(__NR_mkdirat, w.fd[0], <long>nested(w, k + 1, 0),
                                                     DIR_MODE))
        if rc < 0:
            return <int>rc
        w.val[0] += 1
    return 0


cdef uint64_t wide_names_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long dirfd = w.fd[0]
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[1] = iow_tally_ret(&w.iter[0], iow_sys4(
            __NR_openat, dirfd, <long>nested(w, DEPTH + 1, 0), O_RDWR | O_CREAT, MODE))
        close_tracked(&w.iter[1], &w.fd[1])
        iow_tally_ret(&w.iter[2], iow_sys4(__NR_openat, dirfd, <long>nested(w, DEPTH + 1, 1),
                                           O_RDWR | O_CREAT, MODE))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_unlinkat, dirfd, <long>nested(w, DEPTH + 1, 0), 0))
        w.fd[1] = iow_tally_ret(&w.iter[4], iow_sys4(
            __NR_openat, dirfd, <long>long_name(w, NAME_MAX_BYTES), O_RDWR | O_CREAT, MODE))
        close_tracked(&w.iter[5], &w.fd[1])
        iow_tally_ret(&w.iter[6], iow_sys3(__NR_unlinkat, dirfd, <long>long_name(w, NAME_MAX_BYTES), 0))
        iow_tally_ret(&w.iter[7], iow_sys4(__NR_openat, dirfd, <long>long_name(w, NAME_MAX_BYTES + 1),
                                           O_RDWR | O_CREAT, MODE))
    return n


cdef void wide_names_teardown(iow_worker *w) noexcept nogil:
    cdef int k
    for k in range(<int>w.val[0] - 1, -1, -1):   # the deepest first
        iow_tally_ret(&w.teardown[DEPTH - 1 - k], iow_sys3(
            __NR_unlinkat, w.fd[0], <long>nested(w, k + 1, 0), AT_REMOVEDIR))
    w.val[0] = 0
    close_tracked(&w.teardown[DEPTH], &w.fd[0])


def _file_size_limit_allows():
    """RLIMIT_FSIZE reaches past the sparse file's 4 bytes, 5 GiB in (else the write fails)."""
    import resource
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if soft != resource.RLIM_INFINITY and soft < FAR + PAYLOAD_BYTES:
        return (f"needs a file size limit of {FAR + PAYLOAD_BYTES} bytes or more (ulimit -f is "
                f"{soft} bytes): the sparse file's 4 bytes are written 5 GiB in")
    return None


def _nested(depth, extra=0):
    """nested()'s path, as the manifest writes it."""
    letters = "abcdefghijklmnop"[:depth]
    return "/".join(c * NAME_MAX_BYTES for c in letters) + letters[-1:] * extra


_LONGEST = _nested(DEPTH + 1)
_NAME = "n" * NAME_MAX_BYTES
assert len(_LONGEST) == PATH_BYTES == 4095

SCENARIOS = scenarios("wide", [
    dict(name="wide_offsets",
         summary="pwrite64/pread64/lseek 5 GiB into a sparse file, lseek back by -4 GiB, to the end",
         kernel=kernel(wide_offsets_loop, wide_offsets_setup, close_fd0), needs_dir=True,
         requires=[_file_size_limit_allows],
         setup=['fd = openat(AT_FDCWD, "<dir>/wide-sparse", O_RDWR|O_CREAT|O_TRUNC, 0600) -> >=0'],
         iteration=[f'pwrite64(fd, "wide", 4, {FAR}) -> 4',
                    f"pread64(fd, &buf, 4, {FAR}) -> 4",
                    f"lseek(fd, {FAR}, SEEK_SET) -> {FAR}",
                    f"lseek(fd, {MINUS_4G}, SEEK_CUR) -> {FAR + MINUS_4G}",
                    f"lseek(fd, 0, SEEK_END) -> {FAR + PAYLOAD_BYTES}",
                    f"lseek(fd, {MINUS_4G}, SEEK_SET) -> -EINVAL"],
         teardown=["close(fd) -> 0"],
         notes="Offsets a tracer keeping 32 bits shows wrong: 5368709411 (0x140000123; its "
               "low half is 0x40000123) and -4294967296 (its low half is 0), as arguments "
               "and as lseek's results. The file is sparse: 4 bytes 5 GiB in, one block on "
               "disk. A negative absolute offset is rejected."),
    dict(name="wide_mappings",
         summary="4 GiB + 4 KiB PROT_NONE mappings, one at 0x200000000000; mremap with the top flag bit",
         kernel=kernel(wide_mappings_loop),
         iteration=[f"addr = mmap(NULL, {BIG_LEN}, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, "
                    f"-1, 0) -> >={1 << 32}",
                    f"mremap(addr, {BIG_LEN}, {BIG_LEN}, {TOP_BIT:#x}, 0) -> -EINVAL",
                    f"munmap(addr, {BIG_LEN}) -> 0",
                    f"mmap({HIGH_ADDR:#x}, {BIG_LEN}, PROT_NONE, "
                    f"MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|MAP_FIXED_NOREPLACE, -1, 0) -> {HIGH_ADDR}",
                    f"munmap({HIGH_ADDR:#x}, {BIG_LEN}) -> 0"],
         notes="Lengths of 4 GiB and a page (0x100001000: a tracer keeping 32 bits sees 4096), "
               "an address the kernel picks (above 4 GiB on x86-64) and one we fix at "
               "0x200000000000 with MAP_FIXED_NOREPLACE (its low 32 bits are 0), which the "
               "workers map and unmap one at a time (a spin lock, no syscall). PROT_NONE and "
               "MAP_NORESERVE: nothing is committed. mremap's flags have only bit 63 set "
               "(0x8000000000000000, no flag): -EINVAL."),
    dict(name="wide_names",
         summary="a 4095-byte path through 15 nested 255-byte directories, a 255-byte name, each +1: -ENAMETOOLONG",
         kernel=kernel(wide_names_loop, wide_names_setup, wide_names_teardown), needs_dir=True,
         setup=['dirfd = openat(AT_FDCWD, "<dir>", O_RDONLY|O_DIRECTORY, 0) -> >=0'] + [
             f'mkdirat(dirfd, "{_nested(k + 1)}", 0700) -> 0' for k in range(DEPTH)],
         iteration=[f'fd = openat(dirfd, "{_LONGEST}", O_RDWR|O_CREAT, 0600) -> >=0',
                    "close(fd) -> 0",
                    f'openat(dirfd, "{_nested(DEPTH + 1, 1)}", O_RDWR|O_CREAT, 0600) -> -ENAMETOOLONG',
                    f'unlinkat(dirfd, "{_LONGEST}", 0) -> 0',
                    f'fd = openat(dirfd, "{_NAME}", O_RDWR|O_CREAT, 0600) -> >=0',
                    "close(fd) -> 0",
                    f'unlinkat(dirfd, "{_NAME}", 0) -> 0',
                    f'openat(dirfd, "{_NAME}n", O_RDWR|O_CREAT, 0600) -> -ENAMETOOLONG'],
         teardown=[f'unlinkat(dirfd, "{_nested(k)}", AT_REMOVEDIR) -> 0'
                   for k in range(DEPTH, 0, -1)] + ["close(dirfd) -> 0"],
         notes="Strings as long as the kernel takes them: relative to the private directory "
               "(so their length does not depend on $TMPDIR), component j of every path is "
               "255 times the letter 'a' + j, and the file 16 components deep is 4095 bytes "
               "(PATH_MAX with its NUL): created, then removed. One byte more on it is "
               "-ENAMETOOLONG (the whole path), as is a 256-byte name next to the 255-byte "
               "one (one component). A tracer that keeps 64 or 256 bytes of a string shows "
               "another path."),
])
