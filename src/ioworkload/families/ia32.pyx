# Family 'ia32': the 32-bit door. The 64-bit scenario process enters the kernel through
# `int $0x80` (iow_ia32_6 in iow_syscall.h), with the ia32 table's numbers (5 is open there,
# fstat in x86-64's) and every pointer argument below 4 GiB: paths and buffers live in one
# MAP_32BIT region the process maps before the release (prepare), a page per worker. The
# numbers come from the build's <asm/unistd_32.h> (expect.ia32_table), never written here.
#
# No syscalls:sys_enter_* tracepoint fires for a compat call on x86 (expect.IA32_ARGS says
# why): --verify counts these at raw_syscalls filtered on the ia32 number. Also here: the x32
# bit, a 64-bit `syscall` whose number has __X32_SYSCALL_BIT set (-ENOSYS where x32 is off).

from libc.stdint cimport uint64_t, uint32_t, uint16_t, int16_t, int32_t
from libc.string cimport memcpy, memset, strlen
from ioworkload.core._kernel cimport (iow_worker, iow_tally, iow_sys0, iow_sys6, iow_tally_ret,
                                      iow_stop_requested, iow_path, kernel, IOW_PATH_MAX)

cdef extern from "iow_syscall.h" nogil:
    long iow_ia32_6(long n, long a, long b, long c, long d, long e, long f)
    enum:
        IOW_HAVE_INT80
        __NR_mmap
        __NR_getpid
        __NR_gettid
        __NR_fstat
        __NR_openat
        __NR_close

cdef extern from "<sys/mman.h>" nogil:
    enum:
        PROT_READ
        PROT_WRITE
        MAP_PRIVATE
        MAP_ANONYMOUS
        MAP_NORESERVE
        MAP_32BIT

cdef extern from "<fcntl.h>" nogil:
    enum:
        O_RDONLY
        O_RDWR
        O_CREAT
        O_TRUNC
        AT_FDCWD

cdef extern from "<sys/socket.h>" nogil:
    enum:
        AF_UNIX
        SOCK_DGRAM

cdef extern from "<linux/net.h>" nogil:
    enum:
        SYS_SOCKET
        SYS_BIND
        SYS_CONNECT
        SYS_SEND
        SYS_RECV

cdef extern from "<linux/ipc.h>" nogil:
    enum:
        SEMOP
        SEMGET
        SEMCTL
        MSGSND
        MSGRCV
        MSGGET
        MSGCTL
        IPC_PRIVATE
        IPC_CREAT
        IPC_RMID

import errno
import os
import resource

from ioworkload.core import expect
from ioworkload.core.args import MAX_THREADS
from ioworkload.core.manifest import scenarios

CONSTANTS = {"SYS_SOCKET": SYS_SOCKET, "SYS_BIND": SYS_BIND, "SYS_CONNECT": SYS_CONNECT,
             "SYS_SEND": SYS_SEND, "SYS_RECV": SYS_RECV, "SEMOP": SEMOP, "SEMGET": SEMGET,
             "SEMCTL": SEMCTL, "MSGSND": MSGSND, "MSGRCV": MSGRCV, "MSGGET": MSGGET,
             "MSGCTL": MSGCTL}
# msgrcv through ipc() with the call's version 1 in its upper half: msgp and msgtyp passed as
# they are (version 0 reads them from a struct, ipc_kludge)
cdef long MSGRCV_V1 = MSGRCV | (1 << 16)

# What a worker's calls point at, all in its page of the low region. i386's layouts: a long is
# 4 bytes (msgbuf's mtype), struct stat64 is 96 bytes.
ctypedef struct Sembuf:
    uint16_t num
    int16_t op
    int16_t flg

ctypedef struct Low:
    char path[IOW_PATH_MAX]
    char path2[IOW_PATH_MAX]
    char buf[64]
    unsigned char stat[128]
    uint32_t llseek_result[2]
    uint32_t args[6]          # socketcall's argument array
    uint16_t sun_family       # sockaddr_un, as the kernel reads it
    char sun_path[108]
    Sembuf sem_up
    Sembuf sem_down
    int32_t mtype             # compat msgbuf: mtype, then the text
    char mtext[16]
    uint32_t semctl_pad

DEF LOW_PAGE = 4096
cdef char *LOW = NULL  # MAX_THREADS pages below 2 GiB (MAP_32BIT), mapped once per process

# The ia32 numbers, from the build's table (-1 off x86-64: the scenarios are unsupported).
cdef long NR_OPEN = expect.syscall_number("ia32:open") or -1
cdef long NR_OPENAT = expect.syscall_number("ia32:openat") or -1
cdef long NR_READ = expect.syscall_number("ia32:read") or -1
cdef long NR_WRITE = expect.syscall_number("ia32:write") or -1
cdef long NR_CLOSE = expect.syscall_number("ia32:close") or -1
cdef long NR_STAT64 = expect.syscall_number("ia32:stat64") or -1
cdef long NR_FSTAT64 = expect.syscall_number("ia32:fstat64") or -1
cdef long NR_LLSEEK = expect.syscall_number("ia32:_llseek") or -1
cdef long NR_UNLINK = expect.syscall_number("ia32:unlink") or -1
cdef long NR_GETPPID = expect.syscall_number("ia32:getppid") or -1
cdef long NR_GETPID = expect.syscall_number("ia32:getpid") or -1
cdef long NR_GETTID = expect.syscall_number("ia32:gettid") or -1
cdef long NR_MMAP2 = expect.syscall_number("ia32:mmap2") or -1
cdef long NR_MUNMAP = expect.syscall_number("ia32:munmap") or -1
cdef long NR_SOCKETCALL = expect.syscall_number("ia32:socketcall") or -1
cdef long NR_IPC = expect.syscall_number("ia32:ipc") or -1
cdef long NR_SOCKET = expect.syscall_number("ia32:socket") or -1
cdef long NR_BIND = expect.syscall_number("ia32:bind") or -1
cdef long NR_CONNECT = expect.syscall_number("ia32:connect") or -1
cdef long NR_SENDTO = expect.syscall_number("ia32:sendto") or -1
cdef long NR_RECVFROM = expect.syscall_number("ia32:recvfrom") or -1
DEF IA32_UNASSIGNED = 1023  # beyond the ia32 table: -ENOSYS

cdef inline long ia32(long nr, long a=0, long b=0, long c=0, long d=0, long e=0,
                      long f=0) noexcept nogil:
    return iow_ia32_6(nr, a, b, c, d, e, f)


cdef inline Low *low(iow_worker *w) noexcept nogil:
    return <Low *>(LOW + <long>w.index * LOW_PAGE)


cdef inline long addr(void *p) noexcept nogil:
    return <long>p


def _map_low():
    """prepare: the low region, mapped before the release (never unmapped: the process's
    memory, reused by every run in it)."""
    global LOW
    if LOW == NULL:
        ret = iow_sys6(__NR_mmap, 0, MAX_THREADS * LOW_PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_32BIT, -1, 0)
        if ret < 0:
            return f"mmap(MAP_32BIT) failed: {errno.errorcode.get(-ret, ret)}"
        LOW = <char *><long>ret
    return None


_door: "str | None | bool" = False


def _int80():
    """The 32-bit door opens: an int $0x80 getpid in a forked child returns its pid (a kernel
    without IA32_EMULATION, or booted with ia32_emulation=0, answers -ENOSYS or kills it)."""
    global _door
    if _door is not False:
        return _door
    if not IOW_HAVE_INT80 or NR_GETPID < 0:
        _door = "no 32-bit door on this architecture (int $0x80 is x86-64's)"
        return _door
    pid = os.fork()
    if pid == 0:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a shut door is a SIGSEGV: no core
        os._exit(0 if ia32(NR_GETPID) == iow_sys0(__NR_getpid) else 1)
    _, status = os.waitpid(pid, 0)
    _door = None if os.waitstatus_to_exitcode(status) == 0 else (
        "the kernel has no 32-bit door (int $0x80 getpid failed: no CONFIG_IA32_EMULATION, "
        "or ia32_emulation=0)")
    return _door


_x32: "str | None | bool" = False


def _x32_off():
    """x32 is off: a getpid with the x32 bit returns -ENOSYS (with CONFIG_X86_X32_ABI it would
    be x32's getpid, a real call)."""
    global _x32
    if _x32 is False:
        ret = iow_sys0(expect.X32_SYSCALL_BIT | __NR_getpid)
        _x32 = None if ret == -errno.ENOSYS else "x32 is enabled in this kernel (the x32 bit " \
            "makes a real call)"
    return _x32


cdef void copy_path(char *dst, iow_worker *w, const char *name) noexcept nogil:
    cdef char *p = iow_path(w, 0, name)
    memcpy(dst, p, strlen(p) + 1)


# -- process ids --------------------------------------------------------------------------

cdef uint64_t ia32_ids_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], ia32(NR_GETPPID))
        iow_tally_ret(&w.iter[1], ia32(NR_GETPID))
        iow_tally_ret(&w.iter[2], ia32(NR_GETTID))
    return n


# -- file calls ---------------------------------------------------------------------------

cdef int ia32_file_setup(iow_worker *w) noexcept nogil:
    cdef Low *m = low(w)
    copy_path(m.path, w, "ia32-file")
    memcpy(m.buf, b"ia32", 4)
    w.fd[0] = iow_tally_ret(&w.setup[0], ia32(NR_OPEN, addr(m.path), O_RDWR | O_CREAT | O_TRUNC,
                                              0o600))
    return <int>w.fd[0] if w.fd[0] < 0 else 0


cdef uint64_t ia32_file_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef Low *m = low(w)
    cdef uint64_t i
    cdef long fd = w.fd[0], again
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], ia32(NR_LLSEEK, fd, 0, 0, addr(m.llseek_result), 0))
        iow_tally_ret(&w.iter[1], ia32(NR_WRITE, fd, addr(m.buf), 4))
        iow_tally_ret(&w.iter[2], ia32(NR_LLSEEK, fd, 0, 0, addr(m.llseek_result), 0))
        iow_tally_ret(&w.iter[3], ia32(NR_READ, fd, addr(m.buf), 4))
        iow_tally_ret(&w.iter[4], ia32(NR_FSTAT64, fd, addr(m.stat)))
        iow_tally_ret(&w.iter[5], ia32(NR_STAT64, addr(m.path), addr(m.stat)))
        again = iow_tally_ret(&w.iter[6], ia32(NR_OPENAT, AT_FDCWD, addr(m.path), O_RDONLY, 0))
        iow_tally_ret(&w.iter[7], ia32(NR_CLOSE, again))
    return n


cdef void ia32_file_teardown(iow_worker *w) noexcept nogil:
    cdef Low *m = low(w)
    if w.fd[0] >= 0:
        iow_tally_ret(&w.teardown[0], ia32(NR_CLOSE, w.fd[0]))
        iow_tally_ret(&w.teardown[1], ia32(NR_UNLINK, addr(m.path)))


# -- mmap2 --------------------------------------------------------------------------------

cdef uint64_t ia32_mmap2_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long mapped
    for i in range(n):
        if iow_stop_requested(w):
            return i
        mapped = iow_tally_ret(&w.iter[0], ia32(NR_MMAP2, 0, 4096, PROT_READ | PROT_WRITE,
                                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        if mapped >= 0:
            iow_tally_ret(&w.iter[1], ia32(NR_MUNMAP, mapped, 4096))
    return n


# -- socketcall ---------------------------------------------------------------------------

cdef int ia32_socket_setup(iow_worker *w) noexcept nogil:
    cdef Low *m = low(w)
    cdef char *p = iow_path(w, 0, "ia32-sock")
    m.sun_family = AF_UNIX
    memset(m.sun_path, 0, sizeof(m.sun_path))
    memcpy(m.sun_path, p, min(strlen(p), sizeof(m.sun_path) - 1))
    copy_path(m.path, w, "ia32-sock")
    memcpy(m.buf, b"ia32", 4)
    return 0


cdef inline long socketcall(iow_tally *t, Low *m, long call, long a, long b, long c,
                            long d) noexcept nogil:
    m.args[0] = <uint32_t>a
    m.args[1] = <uint32_t>b
    m.args[2] = <uint32_t>c
    m.args[3] = <uint32_t>d
    return iow_tally_ret(t, ia32(NR_SOCKETCALL, call, addr(m.args)))


cdef uint64_t ia32_socket_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef Low *m = low(w)
    cdef uint64_t i
    cdef long server, client
    cdef long addrlen = 2 + strlen(m.sun_path) + 1
    for i in range(n):
        if iow_stop_requested(w):
            return i
        server = socketcall(&w.iter[0], m, SYS_SOCKET, AF_UNIX, SOCK_DGRAM, 0, 0)
        socketcall(&w.iter[1], m, SYS_BIND, server, addr(&m.sun_family), addrlen, 0)
        client = socketcall(&w.iter[2], m, SYS_SOCKET, AF_UNIX, SOCK_DGRAM, 0, 0)
        socketcall(&w.iter[3], m, SYS_CONNECT, client, addr(&m.sun_family), addrlen, 0)
        socketcall(&w.iter[4], m, SYS_SEND, client, addr(m.buf), 4, 0)
        socketcall(&w.iter[5], m, SYS_RECV, server, addr(m.buf), 4, 0)
        iow_tally_ret(&w.iter[6], ia32(NR_CLOSE, client))
        iow_tally_ret(&w.iter[7], ia32(NR_CLOSE, server))
        iow_tally_ret(&w.iter[8], ia32(NR_UNLINK, addr(m.path)))
    return n


# The socket calls as their own ia32 numbers (since Linux 4.3), beside socketcall's socket:
# the same operation through both, one iteration apart from nothing.
DEF SOCKADDR_UN_SIZE = 110  # the whole sockaddr_un, as the socket family passes it


cdef uint64_t ia32_socket_direct_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef Low *m = low(w)
    cdef uint64_t i
    cdef long server, client
    for i in range(n):
        if iow_stop_requested(w):
            return i
        server = iow_tally_ret(&w.iter[0], ia32(NR_SOCKET, AF_UNIX, SOCK_DGRAM, 0))
        iow_tally_ret(&w.iter[1], ia32(NR_BIND, server, addr(&m.sun_family), SOCKADDR_UN_SIZE))
        client = socketcall(&w.iter[2], m, SYS_SOCKET, AF_UNIX, SOCK_DGRAM, 0, 0)
        iow_tally_ret(&w.iter[3], ia32(NR_CONNECT, client, addr(&m.sun_family),
                                       SOCKADDR_UN_SIZE))
        iow_tally_ret(&w.iter[4], ia32(NR_SENDTO, client, addr(m.buf), 4, 0, 0, 0))
        iow_tally_ret(&w.iter[5], ia32(NR_RECVFROM, server, addr(m.buf), 4, 0, 0, 0))
        iow_tally_ret(&w.iter[6], ia32(NR_CLOSE, client))
        iow_tally_ret(&w.iter[7], ia32(NR_CLOSE, server))
        iow_tally_ret(&w.iter[8], ia32(NR_UNLINK, addr(m.path)))
    return n


# -- ipc ----------------------------------------------------------------------------------

cdef uint64_t ia32_sem_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef Low *m = low(w)
    cdef uint64_t i
    cdef long semid
    m.sem_up.num, m.sem_up.op, m.sem_up.flg = 0, 1, 0
    m.sem_down.num, m.sem_down.op, m.sem_down.flg = 0, -1, 0
    m.semctl_pad = 0
    for i in range(n):
        if iow_stop_requested(w):
            return i
        semid = iow_tally_ret(&w.iter[0], ia32(NR_IPC, SEMGET, IPC_PRIVATE, 1, IPC_CREAT | 0o600))
        w.sysv_id = semid  # for the runner, should the process be killed before IPC_RMID
        iow_tally_ret(&w.iter[1], ia32(NR_IPC, SEMOP, semid, 1, 0, addr(&m.sem_up)))
        iow_tally_ret(&w.iter[2], ia32(NR_IPC, SEMOP, semid, 1, 0, addr(&m.sem_down)))
        # (ipc's SEMCTL reads semctl's fourth argument from *ptr: a pointer, never NULL)
        if iow_tally_ret(&w.iter[3], ia32(NR_IPC, SEMCTL, semid, 0, IPC_RMID,
                                          addr(&m.semctl_pad))) == 0:
            w.sysv_id = -1
    return n


cdef uint64_t ia32_msg_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef Low *m = low(w)
    cdef uint64_t i
    cdef long msqid
    for i in range(n):
        if iow_stop_requested(w):
            return i
        msqid = iow_tally_ret(&w.iter[0], ia32(NR_IPC, MSGGET, IPC_PRIVATE, IPC_CREAT | 0o600))
        w.sysv_id = msqid
        m.mtype = 1
        memcpy(m.mtext, b"ia32-msg", 8)
        iow_tally_ret(&w.iter[1], ia32(NR_IPC, MSGSND, msqid, 8, 0, addr(&m.mtype)))
        iow_tally_ret(&w.iter[2], ia32(NR_IPC, MSGRCV_V1, msqid, 8, 0, addr(&m.mtype), 0))
        if iow_tally_ret(&w.iter[3], ia32(NR_IPC, MSGCTL, msqid, IPC_RMID, 0, 0)) == 0:
            w.sysv_id = -1
    return n


# -- a failing call per errno class --------------------------------------------------------

cdef int ia32_errors_setup(iow_worker *w) noexcept nogil:
    copy_path(low(w).path, w, "ia32-missing")
    return 0


cdef uint64_t ia32_errors_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef Low *m = low(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], ia32(NR_OPEN, addr(m.path), O_RDONLY, 0))      # ENOENT
        iow_tally_ret(&w.iter[1], ia32(NR_READ, -1, addr(m.buf), 4))            # EBADF
        iow_tally_ret(&w.iter[2], ia32(NR_STAT64, 0, addr(m.stat)))             # EFAULT
        iow_tally_ret(&w.iter[3], ia32(NR_SOCKETCALL, 0, 0))                    # EINVAL
        iow_tally_ret(&w.iter[4], ia32(IA32_UNASSIGNED))                        # ENOSYS
    return n


# -- both doors ---------------------------------------------------------------------------

cdef int both_doors_setup(iow_worker *w) noexcept nogil:
    cdef Low *m = low(w)
    copy_path(m.path, w, "doors")
    w.fd[0] = iow_tally_ret(&w.setup[0], iow_sys6(__NR_openat, AT_FDCWD, addr(m.path),
                                                  O_RDWR | O_CREAT | O_TRUNC, 0o600, 0, 0))
    return <int>w.fd[0] if w.fd[0] < 0 else 0


cdef uint64_t both_doors_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef Low *m = low(w)
    cdef uint64_t i
    cdef long fd
    for i in range(n):
        if iow_stop_requested(w):
            return i
        fd = iow_tally_ret(&w.iter[0], ia32(NR_OPEN, addr(m.path), O_RDONLY, 0))
        iow_tally_ret(&w.iter[1], iow_sys6(__NR_fstat, w.fd[0], addr(m.stat), 0, 0, 0, 0))
        iow_tally_ret(&w.iter[2], ia32(NR_CLOSE, fd))
    return n


cdef void both_doors_teardown(iow_worker *w) noexcept nogil:
    if w.fd[0] >= 0:
        iow_tally_ret(&w.teardown[0], iow_sys6(__NR_close, w.fd[0], 0, 0, 0, 0, 0))


# -- the x32 bit --------------------------------------------------------------------------

cdef long X32_GETPID = expect.X32_SYSCALL_BIT | __NR_getpid
cdef long X32_GETTID = expect.X32_SYSCALL_BIT | __NR_gettid


cdef uint64_t x32_bit_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys0(X32_GETPID))
        iow_tally_ret(&w.iter[1], iow_sys0(X32_GETTID))
    return n



_DOOR_NOTE = ("Issued with int $0x80 from the 64-bit process, numbers from the ia32 table, "
              "every pointer below 4 GiB (a MAP_32BIT page per worker, mapped before the "
              "release). No syscalls:sys_enter_* tracepoint fires for a compat call on x86: "
              "--verify counts them at raw_syscalls filtered on the ia32 number, with every "
              "other call of that number in either table. ")

SCENARIOS = scenarios("ia32", [
    dict(name="ia32_ids",
         summary="getppid, getpid, gettid through int $0x80 (ia32 64, 20, 224)",
         kernel=kernel(ia32_ids_loop), requires=[_int80], prepare=_map_low,
         iteration=["ia32:getppid() -> >=0", "ia32:getpid() -> >=1", "ia32:gettid() -> >=1"],
         notes=_DOOR_NOTE),
    dict(name="ia32_file_calls",
         summary="open, _llseek, write, read, fstat64, stat64, openat, close through int $0x80",
         kernel=kernel(ia32_file_loop, ia32_file_setup, ia32_file_teardown), needs_dir=True,
         requires=[_int80], prepare=_map_low,
         setup=['fd = ia32:open("<dir>/ia32-file", O_RDWR|O_CREAT|O_TRUNC, 0600) -> >=0'],
         iteration=["ia32:_llseek(fd, 0, 0, &result, SEEK_SET) -> 0",
                    'ia32:write(fd, "ia32", 4) -> 4',
                    "ia32:_llseek(fd, 0, 0, &result, SEEK_SET) -> 0",
                    "ia32:read(fd, &buf, 4) -> 4",
                    "ia32:fstat64(fd, &st) -> 0",
                    'ia32:stat64("<dir>/ia32-file", &st) -> 0',
                    'again = ia32:openat(AT_FDCWD, "<dir>/ia32-file", O_RDONLY, 0) -> >=0',
                    "ia32:close(again) -> 0"],
         teardown=["ia32:close(fd) -> 0", 'ia32:unlink("<dir>/ia32-file") -> 0'],
         notes=_DOOR_NOTE + "_llseek takes the offset as two 32-bit halves (high, low) and "
               "writes the result to a 64-bit loff_t."),
    dict(name="ia32_mmap2",
         summary="mmap2 an anonymous page through int $0x80 (below 4 GiB), munmap it",
         kernel=kernel(ia32_mmap2_loop), requires=[_int80], prepare=_map_low,
         iteration=["addr = ia32:mmap2(NULL, 4096, PROT_READ|PROT_WRITE, "
                    "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) -> >=0",
                    "ia32:munmap(addr, 4096) -> 0"],
         notes=_DOOR_NOTE + "A compat mmap2 places the page below 4 GiB (the 32-bit mmap "
               "base) without MAP_32BIT; its offset is in pages."),
    dict(name="ia32_socketcall",
         summary="socketcall's socket, bind, connect, send, recv on AF_UNIX datagrams "
                 "(int $0x80), close, unlink",
         kernel=kernel(ia32_socket_loop, ia32_socket_setup), needs_dir=True,
         requires=[_int80], prepare=_map_low,
         iteration=["server = ia32:socketcall(SYS_SOCKET, [AF_UNIX, SOCK_DGRAM, 0]) -> >=0",
                    'ia32:socketcall(SYS_BIND, [server, {AF_UNIX, "<dir>/ia32-sock"}, len]) -> 0',
                    "client = ia32:socketcall(SYS_SOCKET, [AF_UNIX, SOCK_DGRAM, 0]) -> >=0",
                    'ia32:socketcall(SYS_CONNECT, [client, {AF_UNIX, "<dir>/ia32-sock"}, len]) -> 0',
                    'ia32:socketcall(SYS_SEND, [client, "ia32", 4, 0]) -> 4',
                    "ia32:socketcall(SYS_RECV, [server, &buf, 4, 0]) -> 4",
                    "ia32:close(client) -> 0", "ia32:close(server) -> 0",
                    'ia32:unlink("<dir>/ia32-sock") -> 0'],
         notes=_DOOR_NOTE + "socketcall's second argument points at the subcall's arguments "
               "(32-bit words); a tracer may name the subcall (strace prints socket(...)), the "
               "kernel sees socketcall, number 102."),
    dict(name="ia32_socket_direct",
         summary="socket, bind, connect, sendto, recvfrom as direct ia32 calls, "
                 "beside a socketcall socket",
         kernel=kernel(ia32_socket_direct_loop, ia32_socket_setup), needs_dir=True,
         requires=[_int80], prepare=_map_low,
         iteration=["server = ia32:socket(AF_UNIX, SOCK_DGRAM, 0) -> >=0",
                    'ia32:bind(server, {sa_family=AF_UNIX, sun_path="<dir>/ia32-sock"}, 110) -> 0',
                    "client = ia32:socketcall(SYS_SOCKET, [AF_UNIX, SOCK_DGRAM, 0]) -> >=0",
                    'ia32:connect(client, {sa_family=AF_UNIX, sun_path="<dir>/ia32-sock"}, '
                    '110) -> 0',
                    'ia32:sendto(client, "ia32", 4, 0, NULL, 0) -> 4',
                    "ia32:recvfrom(server, &buf, 4, 0, NULL, NULL) -> 4",
                    "ia32:close(client) -> 0", "ia32:close(server) -> 0",
                    'ia32:unlink("<dir>/ia32-sock") -> 0'],
         notes=_DOOR_NOTE + "The ia32 table has each socket call as a number of its own (socket "
               "359, bind 361, connect 362, sendto 369, recvfrom 371) besides socketcall (102): "
               "strace prints both as socket(...) (its -n shows the number). The two sockets of "
               "an iteration are made through one door each."),
    dict(name="ia32_ipc_sem",
         summary="ipc's semget, semop +1, semop -1, semctl(IPC_RMID) through int $0x80",
         kernel=kernel(ia32_sem_loop), requires=[_int80], prepare=_map_low,
         ipc_objects=[("sysv", "sem")],
         iteration=["id = ia32:ipc(SEMGET, IPC_PRIVATE, 1, IPC_CREAT|0600, NULL, 0) -> >=0",
                    "ia32:ipc(SEMOP, id, 1, 0, [{0, 1, 0}], 0) -> 0",
                    "ia32:ipc(SEMOP, id, 1, 0, [{0, -1, 0}], 0) -> 0",
                    "ia32:ipc(SEMCTL, id, 0, IPC_RMID, &pad, 0) -> 0"],
         notes=_DOOR_NOTE + "ipc's SEMCTL reads semctl's fourth argument through ptr."),
    dict(name="ia32_ipc_msg",
         summary="ipc's msgget, msgsnd 8 bytes, msgrcv them, msgctl(IPC_RMID) through int $0x80",
         kernel=kernel(ia32_msg_loop), requires=[_int80], prepare=_map_low,
         ipc_objects=[("sysv", "msg")],
         iteration=["id = ia32:ipc(MSGGET, IPC_PRIVATE, IPC_CREAT|0600, 0, NULL, 0) -> >=0",
                    'ia32:ipc(MSGSND, id, 8, 0, {mtype=1, mtext="ia32-msg"}, 0) -> 0',
                    f"ia32:ipc({MSGRCV_V1}, id, 8, 0, &buf, 0) -> 8",
                    "ia32:ipc(MSGCTL, id, IPC_RMID, 0, NULL, 0) -> 0"],
         notes=_DOOR_NOTE + f"msgrcv goes as call {MSGRCV_V1} (MSGRCV with version 1 in the "
               "upper half: msgp and msgtyp as they are); the ia32 msgbuf's mtype is 4 bytes."),
    dict(name="ia32_errors",
         summary="one failing int $0x80 call per errno class: ENOENT, EBADF, EFAULT, EINVAL, ENOSYS",
         kernel=kernel(ia32_errors_loop, ia32_errors_setup), needs_dir=True,
         requires=[_int80], prepare=_map_low,
         iteration=['ia32:open("<dir>/ia32-missing", O_RDONLY, 0) -> -ENOENT',
                    "ia32:read(-1, &buf, 4) -> -EBADF",
                    "ia32:stat64(NULL, &st) -> -EFAULT",
                    "ia32:socketcall(0, NULL) -> -EINVAL",
                    f"ia32:syscall_{IA32_UNASSIGNED}() -> -ENOSYS"],
         notes=_DOOR_NOTE + f"ia32 number {IA32_UNASSIGNED} is unassigned."),
    dict(name="ia32_both_doors",
         summary="number 5 through both doors each iteration: ia32 open beside x86-64 fstat",
         kernel=kernel(both_doors_loop, both_doors_setup, both_doors_teardown), needs_dir=True,
         requires=[_int80], prepare=_map_low,
         setup=['fd = openat(AT_FDCWD, "<dir>/doors", O_RDWR|O_CREAT|O_TRUNC, 0600) -> >=0'],
         iteration=['again = ia32:open("<dir>/doors", O_RDONLY, 0) -> >=0',
                    "fstat(fd, &st) -> 0",
                    "ia32:close(again) -> 0"],
         teardown=["close(fd) -> 0"],
         notes=_DOOR_NOTE + "Both calls are id 5 at raw_syscalls: a tracer that names calls "
               "by number with one table names one of them wrong."),
    dict(name="x32_bit",
         summary="getpid and gettid as 64-bit syscalls with the x32 bit set: -ENOSYS (x32 off)",
         kernel=kernel(x32_bit_loop), requires=[_x32_off],
         iteration=[f"syscall_{X32_GETPID}() -> -ENOSYS", f"syscall_{X32_GETTID}() -> -ENOSYS"],
         notes="__X32_SYSCALL_BIT (0x40000000) with getpid's and gettid's numbers, through the "
               "64-bit `syscall`: with x32 off the kernel answers -ENOSYS, and raw_syscalls "
               "reports the number whole. A tracer that masks the bit and reports getpid is "
               "wrong."),
])
