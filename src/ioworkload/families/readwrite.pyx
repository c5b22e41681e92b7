# Read/write and byte accounting, after ior's readwrite-* and retbytes-phase-a scenarios.
# The file (or, for retbytes_phase_a, every socket, pipe, file and directory) is opened in
# setup and closed in teardown; one iteration is one repeat of ior's body, plus the declared
# lseek/read calls that put the file offset and pipes back, so every iteration sees the same
# state and returns the same values. File names, payloads and byte counts are ior's.

from libc.stdint cimport uint64_t
from libc.string cimport memset, strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, kernel,
)
from ioworkload.families._common cimport close_fds

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_read
        __NR_write
        __NR_lseek
        __NR_pread64
        __NR_pwrite64
        __NR_readv
        __NR_writev
        __NR_preadv
        __NR_pwritev
        __NR_preadv2
        __NR_pwritev2
        __NR_readahead
        __NR_cachestat
        __NR_getpid
        __NR_socketpair
        __NR_sendto
        __NR_recvfrom
        __NR_sendmsg
        __NR_recvmsg
        __NR_sendmmsg
        __NR_recvmmsg
        __NR_splice
        __NR_tee
        __NR_pipe2
        __NR_mkdirat
        __NR_getdents64
        __NR_process_vm_readv
        __NR_process_vm_writev
        IOW_NR_fadvise64
        IOW_NR_sendfile

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDONLY
        O_WRONLY
        O_RDWR
        O_CREAT
        O_TRUNC
        O_DIRECTORY
        O_CLOEXEC
        SEEK_SET
        POSIX_FADV_NORMAL

# The kernel's user msghdr/mmsghdr are not in the uapi headers; glibc's have the same layout.
# struct iovec comes from glibc too, because <linux/uio.h> would define it a second time.
cdef extern from "<sys/uio.h>" nogil:
    struct iovec:
        void *iov_base
        size_t iov_len

cdef extern from "<sys/socket.h>" nogil:
    enum:
        AF_UNIX
        SOCK_STREAM
        SOCK_DGRAM
    struct msghdr:
        void *msg_name
        unsigned int msg_namelen
        iovec *msg_iov
        size_t msg_iovlen
        void *msg_control
        size_t msg_controllen
        int msg_flags
    struct mmsghdr:
        msghdr msg_hdr
        unsigned int msg_len

# struct cachestat_range and struct cachestat (uapi <linux/mman.h>, Linux 6.5) are newer than
# the 6.1 headers this builds against: declared here with the kernel's layout unless present.
cdef extern from *:
    """
    #include "iow_config.h"
    #if HAVE_STRUCT_CACHESTAT_RANGE
    #include <linux/mman.h>
    #else
    #include <linux/types.h>
    struct cachestat_range { __u64 off; __u64 len; };
    struct cachestat {
        __u64 nr_cache; __u64 nr_dirty; __u64 nr_writeback;
        __u64 nr_evicted; __u64 nr_recently_evicted;
    };
    #endif
    """
    struct cachestat_range:
        unsigned long long off
        unsigned long long len
    struct cachestat:
        unsigned long long nr_cache

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import legacy_syscall, syscall_implemented

# ior's payloads; the manifests below spell out their lengths.
cdef const char *HELLO = b"hello from ioworkload"      # 21
cdef const char *PREAD_DATA = b"pread test data"        # 15
cdef const char *PREADV_DATA = b"preadv test data"      # 16
cdef const char *PREADV2_DATA = b"preadv2 test data"    # 17
cdef const char *PWRITE_DATA = b"pwrite test data"      # 16
cdef const char *PWRITEV_HEAD = b"pwritev "             # 8
cdef const char *PWRITEV2_HEAD = b"pwritev2 "           # 9
cdef const char *WRITEV_HEAD = b"writev "               # 7
cdef const char *TEST_DATA = b"test data"               # 9
cdef const char *READV_DATA = b"readv test data here"   # 20
cdef const char *SHOULD_FAIL = b"should fail"           # 11
cdef const char *SOME_DATA = b"some data"               # 9
cdef const char *READAHEAD_DATA = b"readahead test data"  # 19
cdef const char *FADVISE_DATA = b"fadvise64 test data"  # 19
cdef const char *CACHESTAT_DATA = b"cachestat test data"  # 19
cdef const char *RET_BYTES = b"phase-a-ret-bytes!"      # 18
cdef const char *SEND_RECV = b"phase-a-send-recv!"      # 18
cdef const char *TEE_BYTES = b"phase-a-tee-bytes!"      # 18
cdef const char *PROCESS_VM = b"phase-a-process-vm"     # 18
cdef const char *BATCH_ONE = b"batch-one"               # 9
cdef const char *BATCH_TWO = b"batch-two"               # 9

cdef enum:
    FILE_MODE = 0o644
    DIR_MODE = 0o700          # ior's temporary directories are 0700
    BAD_FD = 99999            # never open here: the EBADF scenarios' descriptor, as in ior
    READAHEAD_BYTES = 4096
    WRONLY_READ_BYTES = 16
    PREAD_INVALID_BYTES = 16
    PHASE_A_BYTES = 18
    DENTS_BYTES = 4096

ctypedef struct RwBuffers:
    char buf[256]
    iovec iov[2]
    cachestat_range range_
    cachestat stat


cdef inline void set_iov(iovec *v, const void *base, size_t n) noexcept nogil:
    v.iov_base = <void *>base
    v.iov_len = n


cdef inline long rewind(iow_tally *t, long fd) noexcept nogil:
    return iow_tally_ret(t, iow_sys3(__NR_lseek, fd, 0, SEEK_SET))


cdef long open_at(iow_worker *w, iow_tally *t, int slot, const char *name,
                  long flags) noexcept nogil:
    """openat(AT_FDCWD, "<dir>/name", flags, 0644 or 0) into w.fd[slot]: the fd or -errno."""
    w.fd[slot] = iow_tally_ret(t, iow_sys4(
        __NR_openat, AT_FDCWD, <long>iow_path(w, 0, name), flags,
        FILE_MODE if flags & O_CREAT else 0))
    return w.fd[slot]


cdef int open_file(iow_worker *w, const char *name, long flags) noexcept nogil:
    """The one-file scenarios' setup: setup[0] opens `name` as w.fd[0]."""
    cdef long fd = open_at(w, &w.setup[0], 0, name, flags)
    return <int>fd if fd < 0 else 0


cdef void close_file(iow_worker *w) noexcept nogil:
    close_fds(w, 1)


# ---- one file opened O_RDWR|O_CREAT (ior's setup of every readwrite scenario) ----

cdef int basic_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"rwfile.txt", O_RDWR | O_CREAT)

cdef int pread_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"preadfile.txt", O_RDWR | O_CREAT)

cdef int preadv_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"preadvfile.txt", O_RDWR | O_CREAT)

cdef int preadv2_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"preadv2file.txt", O_RDWR | O_CREAT)

cdef int pwrite_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"pwritefile.txt", O_RDWR | O_CREAT)

cdef int pwritev_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"pwritevfile.txt", O_RDWR | O_CREAT)

cdef int pwritev2_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"pwritev2file.txt", O_RDWR | O_CREAT)

cdef int readv_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"readvfile.txt", O_RDWR | O_CREAT)

cdef int writev_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"writevfile.txt", O_RDWR | O_CREAT)

cdef int wronly_read_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"wronlyfile.txt", O_WRONLY | O_CREAT)

cdef int pread_invalid_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"preadinvalid.txt", O_RDWR | O_CREAT)

cdef int pwrite_invalid_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"pwriteinvalid.txt", O_RDWR | O_CREAT)

cdef int readahead_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"readaheadfile.txt", O_RDWR | O_CREAT)

cdef int fadvise64_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"fadvise64file.txt", O_RDWR | O_CREAT)

cdef int cachestat_setup(iow_worker *w) noexcept nogil:
    return open_file(w, b"cachestatfile.txt", O_RDWR | O_CREAT)


cdef int rdonly_write_setup(iow_worker *w) noexcept nogil:
    # ior creates the file read-write, closes it, and reopens it read-only.
    cdef long fd = open_at(w, &w.setup[0], 0, b"rdonlywritefile.txt", O_RDWR | O_CREAT)
    if fd < 0:
        return <int>fd
    iow_tally_ret(&w.setup[1], iow_sys1(__NR_close, fd))
    fd = open_at(w, &w.setup[2], 0, b"rdonlywritefile.txt", O_RDONLY)
    return <int>fd if fd < 0 else 0


# ---- loops: two shapes of iteration; each scenario fills in its call ----

cdef uint64_t one_call(iow_worker *w, uint64_t n, long nr, long a, long b, long c,
                       long d) noexcept nogil:
    """Per iteration: iter[0] = nr(a, b, c, d, 0, 0): unused argument registers are zeroed
    (preadv2/pwritev2 read the sixth as flags)."""
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys6(nr, a, b, c, d, 0, 0))
    return n


cdef uint64_t write_then(iow_worker *w, uint64_t n, const char *data, bint rewind_first,
                         long nr, long b, long c, long d) noexcept nogil:
    """Per iteration: write(fd, data); [lseek(fd, 0, SEEK_SET);] nr(fd, b, c, d, 0, 0); and
    lseek(fd, 0, SEEK_SET) so the next iteration writes over the same bytes."""
    cdef long fd = w.fd[0]
    cdef long size = strlen(data)
    cdef int k = 2 if rewind_first else 1   # the index of the call
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_write, fd, <long>data, size))
        if rewind_first:
            rewind(&w.iter[1], fd)
        iow_tally_ret(&w.iter[k], iow_sys6(nr, fd, b, c, d, 0, 0))
        rewind(&w.iter[k + 1], fd)
    return n


cdef iovec *two_iovs(iow_worker *w, const void *first, size_t n1, const void *second,
                     size_t n2) noexcept nogil:
    cdef RwBuffers *b = <RwBuffers *>w.scratch
    set_iov(&b.iov[0], first, n1)
    set_iov(&b.iov[1], second, n2)
    return b.iov


cdef inline char *buf_of(iow_worker *w) noexcept nogil:
    return (<RwBuffers *>w.scratch).buf


cdef uint64_t basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return write_then(w, n, HELLO, True, __NR_read, <long>buf_of(w), strlen(HELLO), 0)


cdef uint64_t readv_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef char *buf = buf_of(w)
    cdef iovec *iov = two_iovs(w, buf, 5, buf + 5, strlen(READV_DATA) - 5)
    return write_then(w, n, READV_DATA, True, __NR_readv, <long>iov, 2, 0)


cdef uint64_t pread_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return write_then(w, n, PREAD_DATA, False, __NR_pread64, <long>buf_of(w),
                      strlen(PREAD_DATA), 0)


cdef uint64_t vector_read(iow_worker *w, uint64_t n, long nr, const char *data,
                          size_t head) noexcept nogil:
    # preadv(fd, iov, 2, pos_l 0, pos_h 0); preadv2's flags (arg 6) are 0 as well.
    cdef char *buf = buf_of(w)
    cdef iovec *iov = two_iovs(w, buf, head, buf + head, strlen(data) - head)
    return write_then(w, n, data, False, nr, <long>iov, 2, 0)


cdef uint64_t preadv_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return vector_read(w, n, __NR_preadv, PREADV_DATA, 6)


cdef uint64_t preadv2_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return vector_read(w, n, __NR_preadv2, PREADV2_DATA, 7)


cdef uint64_t pread_invalid_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return write_then(w, n, SOME_DATA, False, __NR_pread64, <long>buf_of(w),
                      PREAD_INVALID_BYTES, -1)


cdef uint64_t readahead_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return write_then(w, n, READAHEAD_DATA, False, __NR_readahead, 0, READAHEAD_BYTES, 0)


cdef uint64_t fadvise64_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return write_then(w, n, FADVISE_DATA, False, IOW_NR_fadvise64, 0, 0, POSIX_FADV_NORMAL)


cdef uint64_t cachestat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef RwBuffers *b = <RwBuffers *>w.scratch
    b.range_.off = 0   # off 0, len 0: the whole file
    b.range_.len = 0
    return write_then(w, n, CACHESTAT_DATA, False, __NR_cachestat, <long>&b.range_,
                      <long>&b.stat, 0)


cdef uint64_t pwrite_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call(w, n, __NR_pwrite64, w.fd[0], <long>PWRITE_DATA, strlen(PWRITE_DATA), 0)


cdef uint64_t vector_write(iow_worker *w, uint64_t n, long nr, const char *head) noexcept nogil:
    # pwritev(fd, iov, 2, pos_l 0, pos_h 0); pwritev2's flags (arg 6) are 0 as well.
    cdef iovec *iov = two_iovs(w, head, strlen(head), TEST_DATA, strlen(TEST_DATA))
    return one_call(w, n, nr, w.fd[0], <long>iov, 2, 0)


cdef uint64_t pwritev_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return vector_write(w, n, __NR_pwritev, PWRITEV_HEAD)


cdef uint64_t pwritev2_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return vector_write(w, n, __NR_pwritev2, PWRITEV2_HEAD)


cdef uint64_t writev_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef iovec *iov = two_iovs(w, WRITEV_HEAD, strlen(WRITEV_HEAD), TEST_DATA, strlen(TEST_DATA))
    cdef long fd = w.fd[0]
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_writev, fd, <long>iov, 2))
        rewind(&w.iter[1], fd)
    return n


cdef uint64_t wronly_read_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call(w, n, __NR_read, w.fd[0], <long>buf_of(w), WRONLY_READ_BYTES, 0)


cdef uint64_t rdonly_write_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call(w, n, __NR_write, w.fd[0], <long>SHOULD_FAIL, strlen(SHOULD_FAIL), 0)


cdef uint64_t pwrite_invalid_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call(w, n, __NR_pwrite64, w.fd[0], <long>SHOULD_FAIL, strlen(SHOULD_FAIL), -1)


cdef uint64_t readahead_ebadf_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call(w, n, __NR_readahead, BAD_FD, 0, READAHEAD_BYTES, 0)


cdef uint64_t fadvise64_ebadf_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call(w, n, IOW_NR_fadvise64, BAD_FD, 0, 0, POSIX_FADV_NORMAL)


# ---- retbytes_phase_a: seven byte-returning stages on descriptors kept open from setup ----

cdef enum:
    # w.fd slots, closed in this order by teardown
    STREAM_A = 0
    STREAM_B = 1
    DGRAM_A = 2
    DGRAM_B = 3
    SENDFILE_SRC = 4
    SENDFILE_DST = 5
    SPLICE_SRC = 6
    SPLICE_PIPE_R = 7
    SPLICE_PIPE_W = 8
    TEE_A_R = 9
    TEE_A_W = 10
    TEE_B_R = 11
    TEE_B_W = 12
    DENTS_DIR = 13
    PHASE_A_FDS = 14
    SCRATCH_FD = 14           # each getdents file while setup creates it
    GETDENTS_FILES = 4

cdef const char *GETDENTS_NAMES[GETDENTS_FILES]
GETDENTS_NAMES[0] = b"getdents-dir/getdents-file-0.txt"
GETDENTS_NAMES[1] = b"getdents-dir/getdents-file-1.txt"
GETDENTS_NAMES[2] = b"getdents-dir/getdents-file-2.txt"
GETDENTS_NAMES[3] = b"getdents-dir/getdents-file-3.txt"

ctypedef struct PhaseA:
    int pair[2]
    iovec send_iov
    iovec recv_iov
    msghdr send_msg
    msghdr recv_msg
    iovec batch_send_iov[2]
    iovec batch_recv_iov[2]
    mmsghdr batch_send[2]
    mmsghdr batch_recv[2]
    iovec vm_payload
    iovec vm_target
    iovec vm_readback
    char recv_buf[PHASE_A_BYTES]
    char batch_buf[2][PHASE_A_BYTES]
    char drain_buf[PHASE_A_BYTES]
    char vm_target_buf[PHASE_A_BYTES]
    char vm_readback_buf[PHASE_A_BYTES]
    char dents[DENTS_BYTES]


cdef void one_iov_msg(msghdr *m, iovec *v, const void *base, size_t n) noexcept nogil:
    set_iov(v, base, n)
    memset(m, 0, sizeof(msghdr))
    m.msg_iov = v
    m.msg_iovlen = 1


cdef void phase_a_buffers(PhaseA *s) noexcept nogil:
    cdef int k
    one_iov_msg(&s.send_msg, &s.send_iov, SEND_RECV, PHASE_A_BYTES)
    one_iov_msg(&s.recv_msg, &s.recv_iov, s.recv_buf, PHASE_A_BYTES)
    one_iov_msg(&s.batch_send[0].msg_hdr, &s.batch_send_iov[0], BATCH_ONE, strlen(BATCH_ONE))
    one_iov_msg(&s.batch_send[1].msg_hdr, &s.batch_send_iov[1], BATCH_TWO, strlen(BATCH_TWO))
    for k in range(2):
        one_iov_msg(&s.batch_recv[k].msg_hdr, &s.batch_recv_iov[k], s.batch_buf[k],
                    strlen(BATCH_ONE))
    set_iov(&s.vm_payload, PROCESS_VM, PHASE_A_BYTES)
    set_iov(&s.vm_target, s.vm_target_buf, PHASE_A_BYTES)
    set_iov(&s.vm_readback, s.vm_readback_buf, PHASE_A_BYTES)


cdef long fd_pair(iow_worker *w, iow_tally *t, int slot, long ret) noexcept nogil:
    """Tally a socketpair/pipe2 result and keep its two fds (in the scratch pair) at slot."""
    cdef PhaseA *s = <PhaseA *>w.scratch
    if iow_tally_ret(t, ret) == 0:
        w.fd[slot] = s.pair[0]
        w.fd[slot + 1] = s.pair[1]
    return ret


cdef long payload_file(iow_worker *w, int first, int slot, const char *name) noexcept nogil:
    """setup[first]: openat(name, O_RDWR|O_CREAT|O_TRUNC); setup[first+1]: write 18 bytes."""
    cdef long fd = open_at(w, &w.setup[first], slot, name, O_RDWR | O_CREAT | O_TRUNC)
    if fd < 0:
        return fd
    return iow_tally_ret(&w.setup[first + 1],
                         iow_sys3(__NR_write, fd, <long>RET_BYTES, PHASE_A_BYTES))


cdef int phase_a_setup(iow_worker *w) noexcept nogil:
    cdef PhaseA *s = <PhaseA *>w.scratch
    cdef long r
    cdef int k, e
    phase_a_buffers(s)
    w.val[0] = iow_tally_ret(&w.setup[0], iow_sys0(__NR_getpid))
    r = fd_pair(w, &w.setup[1], STREAM_A,
                iow_sys4(__NR_socketpair, AF_UNIX, SOCK_STREAM, 0, <long>s.pair))
    if r < 0:
        return <int>r
    r = fd_pair(w, &w.setup[2], DGRAM_A,
                iow_sys4(__NR_socketpair, AF_UNIX, SOCK_DGRAM, 0, <long>s.pair))
    if r < 0:
        return <int>r
    r = payload_file(w, 3, SENDFILE_SRC, b"sendfilesrc.txt")
    if r < 0:
        return <int>r
    r = open_at(w, &w.setup[5], SENDFILE_DST, b"sendfiledst.txt", O_RDWR | O_CREAT | O_TRUNC)
    if r < 0:
        return <int>r
    r = payload_file(w, 6, SPLICE_SRC, b"splicesrc.txt")
    if r < 0:
        return <int>r
    for k in range(3):  # the splice pipe, tee pipes A and B: consecutive slot pairs
        r = fd_pair(w, &w.setup[8 + k], SPLICE_PIPE_R + 2 * k,
                    iow_sys2(__NR_pipe2, <long>s.pair, O_CLOEXEC))
        if r < 0:
            return <int>r
    r = iow_tally_ret(&w.setup[11], iow_sys3(
        __NR_mkdirat, AT_FDCWD, <long>iow_path(w, 0, b"getdents-dir"), DIR_MODE))
    if r < 0:
        return <int>r
    e = 12
    for k in range(GETDENTS_FILES):
        r = open_at(w, &w.setup[e], SCRATCH_FD, GETDENTS_NAMES[k], O_RDWR | O_CREAT)
        if r < 0:
            return <int>r
        iow_tally_ret(&w.setup[e + 1], iow_sys1(__NR_close, r))
        w.fd[SCRATCH_FD] = -1
        e += 2
    r = open_at(w, &w.setup[e], DENTS_DIR, b"getdents-dir", O_RDONLY | O_DIRECTORY)
    return <int>r if r < 0 else 0


cdef enum:
    DENTS_REPEATS = 40        # ior's getdents64 repeats (it survives attach races with them)


cdef int phase_a_ior_setup(iow_worker *w) noexcept nogil:
    """ior's sequence: every stage once, getdents64 DENTS_REPEATS times (w.val[1])."""
    w.val[1] = DENTS_REPEATS
    return phase_a_setup(w)


cdef void phase_a_teardown(iow_worker *w) noexcept nogil:
    close_fds(w, PHASE_A_FDS)


cdef uint64_t phase_a_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef PhaseA *s = <PhaseA *>w.scratch
    cdef long pid = w.val[0]
    cdef long dents_repeats = w.val[1] if w.val[1] > 0 else 1
    cdef long k
    cdef long tee_len = strlen(TEE_BYTES)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        # (1) stream socketpair: each call moves the 18-byte payload once
        iow_tally_ret(&w.iter[0], iow_sys6(
            __NR_sendto, w.fd[STREAM_A], <long>SEND_RECV, PHASE_A_BYTES, 0, 0, 0))
        iow_tally_ret(&w.iter[1], iow_sys6(
            __NR_recvfrom, w.fd[STREAM_B], <long>s.recv_buf, PHASE_A_BYTES, 0, 0, 0))
        iow_tally_ret(&w.iter[2], iow_sys3(__NR_sendmsg, w.fd[STREAM_A], <long>&s.send_msg, 0))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_recvmsg, w.fd[STREAM_B], <long>&s.recv_msg, 0))
        # (2) datagram socketpair: two messages out and back in, counted as messages
        iow_tally_ret(&w.iter[4], iow_sys4(__NR_sendmmsg, w.fd[DGRAM_A], <long>s.batch_send, 2, 0))
        iow_tally_ret(&w.iter[5], iow_sys5(
            __NR_recvmmsg, w.fd[DGRAM_B], <long>s.batch_recv, 2, 0, 0))
        # (3) sendfile from offset 0 of the source to offset 0 of the destination
        rewind(&w.iter[6], w.fd[SENDFILE_SRC])
        rewind(&w.iter[7], w.fd[SENDFILE_DST])
        iow_tally_ret(&w.iter[8], iow_sys4(
            IOW_NR_sendfile, w.fd[SENDFILE_DST], w.fd[SENDFILE_SRC], 0, PHASE_A_BYTES))
        # (4) splice the source file into a pipe, then empty the pipe again
        rewind(&w.iter[9], w.fd[SPLICE_SRC])
        iow_tally_ret(&w.iter[10], iow_sys6(
            __NR_splice, w.fd[SPLICE_SRC], 0, w.fd[SPLICE_PIPE_W], 0, PHASE_A_BYTES, 0))
        iow_tally_ret(&w.iter[11], iow_sys3(
            __NR_read, w.fd[SPLICE_PIPE_R], <long>s.drain_buf, PHASE_A_BYTES))
        # (5) tee pipe A into pipe B (A keeps its bytes), then empty both
        iow_tally_ret(&w.iter[12], iow_sys3(__NR_write, w.fd[TEE_A_W], <long>TEE_BYTES, tee_len))
        iow_tally_ret(&w.iter[13], iow_sys4(__NR_tee, w.fd[TEE_A_R], w.fd[TEE_B_W], tee_len, 0))
        iow_tally_ret(&w.iter[14], iow_sys3(
            __NR_read, w.fd[TEE_A_R], <long>s.drain_buf, PHASE_A_BYTES))
        iow_tally_ret(&w.iter[15], iow_sys3(
            __NR_read, w.fd[TEE_B_R], <long>s.drain_buf, PHASE_A_BYTES))
        # (6) the four-file directory from its start (ior mode: DENTS_REPEATS times)
        for k in range(dents_repeats):
            rewind(&w.iter[16], w.fd[DENTS_DIR])
            iow_tally_ret(&w.iter[17], iow_sys3(
                __NR_getdents64, w.fd[DENTS_DIR], <long>s.dents, DENTS_BYTES))
        # (7) this process's own memory, written and read back through process_vm_*
        iow_tally_ret(&w.iter[18], iow_sys6(
            __NR_process_vm_writev, pid, <long>&s.vm_payload, 1, <long>&s.vm_target, 1, 0))
        iow_tally_ret(&w.iter[19], iow_sys6(
            __NR_process_vm_readv, pid, <long>&s.vm_readback, 1, <long>&s.vm_target, 1, 0))
    return n


# ---- the registry table ----

def _one_file(name, flags="O_RDWR|O_CREAT"):
    return [f'fd = openat(AT_FDCWD, "<dir>/{name}", {flags}, 0644) -> >=0']


_CLOSE = ["close(fd) -> 0"]
_REWIND = "lseek(fd, 0, SEEK_SET) -> 0"
_REWIND_NOTE = ("The closing lseek(fd, 0, SEEK_SET) is not ior's: it rewinds so the next "
                "iteration writes over the same bytes and the file never grows.")


def _rw(name, summary, file, iteration, flags="O_RDWR|O_CREAT", setup=(), **extra):
    """A one-file scenario: setup opens `file` as fd (then any further setup events),
    teardown closes it."""
    return dict(name=name, summary=summary, setup=_one_file(file, flags) + list(setup),
                iteration=iteration, teardown=_CLOSE, needs_dir=True, **extra)


def _phase_a_open(bind, name):
    return (f'{bind} = openat(AT_FDCWD, "<dir>/{name}", O_RDWR|O_CREAT|O_TRUNC, 0644) '
            "-> >=0")


# socketpair and pipe2 write their two fds into an array (&fds): no event returns them, so
# the calls that use them show ? (which one each is: the comments, in slot order).
_PHASE_A_SETUP = [
    "pid = getpid() -> >=1",
    "socketpair(AF_UNIX, SOCK_STREAM, 0, &fds) -> 0",   # stream a, stream b
    "socketpair(AF_UNIX, SOCK_DGRAM, 0, &fds) -> 0",    # dgram a, dgram b
    _phase_a_open("src", "sendfilesrc.txt"),
    'write(src, "phase-a-ret-bytes!", 18) -> 18',
    _phase_a_open("dst", "sendfiledst.txt"),
    _phase_a_open("splice_src", "splicesrc.txt"),
    'write(splice_src, "phase-a-ret-bytes!", 18) -> 18',
    "pipe2(&fds, O_CLOEXEC) -> 0",                      # splice pipe
    "pipe2(&fds, O_CLOEXEC) -> 0",                      # tee pipe A
    "pipe2(&fds, O_CLOEXEC) -> 0",                      # tee pipe B
    'mkdirat(AT_FDCWD, "<dir>/getdents-dir", 0700) -> 0',
] + [e for k in range(4) for e in (
    f'fd = openat(AT_FDCWD, "<dir>/getdents-dir/getdents-file-{k}.txt", O_RDWR|O_CREAT, 0644) '
    "-> >=0",
    "close(fd) -> 0")] + [
    'dir = openat(AT_FDCWD, "<dir>/getdents-dir", O_RDONLY|O_DIRECTORY, 0) -> >=0',
]

_PHASE_A_ITERATION = [
    'sendto(?, "phase-a-send-recv!", 18, 0, NULL, 0) -> 18',               # stream a
    "recvfrom(?, &buf, 18, 0, NULL, NULL) -> 18",                           # stream b
    'sendmsg(?, {msg_iov=[{"phase-a-send-recv!", 18}], msg_iovlen=1}, 0) -> 18',  # stream a
    "recvmsg(?, {msg_iov=[{&buf, 18}], msg_iovlen=1}, 0) -> 18",            # stream b
    # dgram a
    'sendmmsg(?, [{msg_iov=[{"batch-one", 9}]}, {msg_iov=[{"batch-two", 9}]}], 2, 0) -> 2',
    "recvmmsg(?, [{msg_iov=[{&buf, 9}]}, {msg_iov=[{&buf, 9}]}], 2, 0, NULL) -> 2",  # dgram b
    "lseek(src, 0, SEEK_SET) -> 0",
    "lseek(dst, 0, SEEK_SET) -> 0",
    "sendfile(dst, src, NULL, 18) -> 18",
    "lseek(splice_src, 0, SEEK_SET) -> 0",
    "splice(splice_src, NULL, ?, NULL, 18, 0) -> 18",                      # splice pipe[1]
    "read(?, &buf, 18) -> 18",                                              # splice pipe[0]
    'write(?, "phase-a-tee-bytes!", 18) -> 18',                             # pipe A[1]
    "tee(?, ?, 18, 0) -> 18",                                               # pipe A[0], B[1]
    "read(?, &buf, 18) -> 18",                                              # pipe A[0]
    "read(?, &buf, 18) -> 18",                                              # pipe B[0]
    "lseek(dir, 0, SEEK_SET) -> 0",
    "getdents64(dir, &dirents, 4096) -> 208",
    'process_vm_writev(pid, [{"phase-a-process-vm", 18}], 1, [{&target, 18}], 1, 0) -> 18',
    "process_vm_readv(pid, [{&readback, 18}], 1, [{&target, 18}], 1, 0) -> 18",
]

# In w.fd slot order: stream a, b, dgram a, b, the three files, splice pipe [0] [1], tee pipe
# A [0] [1], B [0] [1], the directory.
_PHASE_A_TEARDOWN = [f"close({what}) -> 0" for what in (
    "?", "?", "?", "?", "src", "dst", "splice_src", "?", "?", "?", "?", "?", "?", "dir")]

SCENARIOS = scenarios("readwrite", [
    _rw("readwrite_basic", "write 21 bytes to rwfile.txt, lseek to 0, read them back",
        "rwfile.txt",
        ['write(fd, "hello from ioworkload", 21) -> 21', _REWIND, "read(fd, &buf, 21) -> 21",
         _REWIND],
        kernel=kernel(basic_loop, basic_setup, close_file), notes=_REWIND_NOTE),
    _rw("readwrite_pread", "write 15 bytes, pread64 them back from offset 0",
        "preadfile.txt",
        ['write(fd, "pread test data", 15) -> 15', "pread64(fd, &buf, 15, 0) -> 15", _REWIND],
        kernel=kernel(pread_loop, pread_setup, close_file), notes=_REWIND_NOTE),
    _rw("readwrite_preadv", "write 16 bytes, preadv them into iov[6, 10] from offset 0",
        "preadvfile.txt",
        ['write(fd, "preadv test data", 16) -> 16',
         "preadv(fd, [{&buf, 6}, {&buf[6], 10}], 2, 0, 0) -> 16", _REWIND],
        kernel=kernel(preadv_loop, preadv_setup, close_file), notes=_REWIND_NOTE),
    _rw("readwrite_preadv2", "write 17 bytes, preadv2 them into iov[7, 10], offset 0, flags 0",
        "preadv2file.txt",
        ['write(fd, "preadv2 test data", 17) -> 17',
         "preadv2(fd, [{&buf, 7}, {&buf[7], 10}], 2, 0, 0, 0) -> 17", _REWIND],
        kernel=kernel(preadv2_loop, preadv2_setup, close_file), notes=_REWIND_NOTE),
    _rw("readwrite_pwrite", "pwrite64 16 bytes at offset 0",
        "pwritefile.txt",
        ['pwrite64(fd, "pwrite test data", 16, 0) -> 16'],
        kernel=kernel(pwrite_loop, pwrite_setup, close_file)),
    _rw("readwrite_pwritev", "pwritev [\"pwritev \", \"test data\"] (17 bytes) at offset 0",
        "pwritevfile.txt",
        ['pwritev(fd, [{"pwritev ", 8}, {"test data", 9}], 2, 0, 0) -> 17'],
        kernel=kernel(pwritev_loop, pwritev_setup, close_file)),
    _rw("readwrite_pwritev2", "pwritev2 [\"pwritev2 \", \"test data\"] (18 bytes), offset 0",
        "pwritev2file.txt",
        ['pwritev2(fd, [{"pwritev2 ", 9}, {"test data", 9}], 2, 0, 0, 0) -> 18'],
        kernel=kernel(pwritev2_loop, pwritev2_setup, close_file)),
    _rw("readwrite_readv", "write 20 bytes, lseek to 0, readv them into iov[5, 15]",
        "readvfile.txt",
        ['write(fd, "readv test data here", 20) -> 20', _REWIND,
         "readv(fd, [{&buf, 5}, {&buf[5], 15}], 2) -> 20", _REWIND],
        kernel=kernel(readv_loop, readv_setup, close_file), notes=_REWIND_NOTE),
    _rw("readwrite_writev", "writev [\"writev \", \"test data\"] (16 bytes)",
        "writevfile.txt",
        ['writev(fd, [{"writev ", 7}, {"test data", 9}], 2) -> 16', _REWIND],
        kernel=kernel(writev_loop, writev_setup, close_file), notes=_REWIND_NOTE),
    _rw("readwrite_wronly_read", "read 16 bytes from an O_WRONLY fd: -EBADF",
        "wronlyfile.txt",
        ["read(fd, &buf, 16) -> -EBADF"], flags="O_WRONLY|O_CREAT",
        kernel=kernel(wronly_read_loop, wronly_read_setup, close_file)),
    _rw("readwrite_rdonly_write", "write \"should fail\" (11) to an O_RDONLY fd: -EBADF",
        "rdonlywritefile.txt",
        ['write(fd, "should fail", 11) -> -EBADF'],
        setup=["close(fd) -> 0",
               'fd = openat(AT_FDCWD, "<dir>/rdonlywritefile.txt", O_RDONLY, 0) -> >=0'],
        kernel=kernel(rdonly_write_loop, rdonly_write_setup, close_file)),
    _rw("readwrite_pread_invalid", "write 9 bytes, then pread64 at offset -1: -EINVAL",
        "preadinvalid.txt",
        ['write(fd, "some data", 9) -> 9', "pread64(fd, &buf, 16, -1) -> -EINVAL", _REWIND],
        kernel=kernel(pread_invalid_loop, pread_invalid_setup, close_file), notes=_REWIND_NOTE),
    _rw("readwrite_pwrite_invalid", "pwrite64 \"should fail\" (11) at offset -1: -EINVAL",
        "pwriteinvalid.txt",
        ['pwrite64(fd, "should fail", 11, -1) -> -EINVAL'],
        kernel=kernel(pwrite_invalid_loop, pwrite_invalid_setup, close_file)),
    _rw("readwrite_readahead", "write 19 bytes, readahead(fd, 0, 4096): 0, not a byte count",
        "readaheadfile.txt",
        ['write(fd, "readahead test data", 19) -> 19', "readahead(fd, 0, 4096) -> 0", _REWIND],
        kernel=kernel(readahead_loop, readahead_setup, close_file), notes=_REWIND_NOTE),
    dict(name="readwrite_readahead_ebadf",
         summary="readahead(99999, 0, 4096) on no open fd: -EBADF",
         kernel=kernel(readahead_ebadf_loop),
         iteration=["readahead(99999, 0, 4096) -> -EBADF"], ior_repeat=5),
    _rw("readwrite_fadvise64", "write 19 bytes, fadvise64(fd, 0, 0, POSIX_FADV_NORMAL): 0",
        "fadvise64file.txt",
        ['write(fd, "fadvise64 test data", 19) -> 19',
         "fadvise64(fd, 0, 0, POSIX_FADV_NORMAL) -> 0", _REWIND],
        kernel=kernel(fadvise64_loop, fadvise64_setup, close_file),
        requires=[legacy_syscall("fadvise64")], notes=_REWIND_NOTE),
    dict(name="readwrite_fadvise64_ebadf",
         summary="fadvise64(99999, 0, 0, POSIX_FADV_NORMAL): -EBADF",
         kernel=kernel(fadvise64_ebadf_loop),
         iteration=["fadvise64(99999, 0, 0, POSIX_FADV_NORMAL) -> -EBADF"], ior_repeat=5,
         requires=[legacy_syscall("fadvise64")]),
    _rw("readwrite_cachestat", "write 19 bytes, cachestat of the whole file (syscall 451): 0",
        "cachestatfile.txt",
        ['write(fd, "cachestat test data", 19) -> 19',
         "cachestat(fd, {off=0, len=0}, &cstat, 0) -> 0", _REWIND],
        kernel=kernel(cachestat_loop, cachestat_setup, close_file),
        requires=[syscall_implemented("cachestat", __NR_cachestat, -1, 0, 0, 0)],
        notes="Linux 6.5+; where the kernel lacks it (ENOSYS) the scenario is unsupported "
              "instead of ior's silent success. " + _REWIND_NOTE),
    dict(name="retbytes_phase_a",
         summary="byte-returning calls: socket send/recv, *mmsg, sendfile, splice, tee, "
                 "getdents64, process_vm_*",
         kernel=kernel(phase_a_loop, phase_a_setup, phase_a_teardown), needs_dir=True,
         setup=_PHASE_A_SETUP, iteration=_PHASE_A_ITERATION, teardown=_PHASE_A_TEARDOWN,
         requires=[legacy_syscall("sendfile")], ior_repeat=40,
         notes="ior's seven stages, each once per iteration. Sockets, pipes, files and the "
               "directory of four files live from setup to teardown; the iteration rewinds the "
               "files (lseek) and empties the pipes (read) it filled, all declared. "
               "socketpair and pipe2 store their two fds through &fds, so the calls on them "
               "show ?: sendto/sendmsg on the stream pair's first fd, recvfrom/recvmsg on its "
               "second; sendmmsg on the datagram pair's first, recvmmsg on its second; splice "
               "into the splice pipe's write end, read from its read end; write into tee pipe "
               "A, tee(A read end, B write end), then read A and B; teardown closes stream a, "
               "b, dgram a, b, the three files, then each pipe's read and write ends, then "
               "the directory. "
               "sendmmsg/recvmmsg return message counts (2), not bytes. getdents64 returns "
               "208 = '.' 24 + '..' 24 + 4 x 40 for getdents-file-N.txt. ior calls getdents64 "
               "40 times (with 25 ms sleeps) to survive attach races: hence ior_repeat=40, no "
               "sleeps. process_vm_* target this process (pid: getpid() once in setup)."),
])

# ior mode runs these instead of the scenarios of the same name (ior_mode.scenario_for_ior).
IOR_SCENARIOS = scenarios("readwrite", [
    dict(name="retbytes_phase_a",
         summary="ior's counts: each byte-returning stage once, getdents64 40 times",
         kernel=kernel(phase_a_loop, phase_a_ior_setup, phase_a_teardown), needs_dir=True,
         setup=_PHASE_A_SETUP,
         iteration=[e + (f" x{DENTS_REPEATS}" if e.startswith(("lseek(dir", "getdents64"))
                         else "") for e in _PHASE_A_ITERATION],
         teardown=_PHASE_A_TEARDOWN,
         requires=[legacy_syscall("sendfile")],
         notes="ior mode's sequence: ior runs each stage once and getdents64 40 times; the "
               "directory is rewound before each getdents64 (declared), as in the normal "
               "mode's scenario."),
])
