# Family 'socket': ior's socket-* scenarios and recv-flags
# (../shared/reference/ior-ioworkload-catalog.md, 4.3 and 4.2). Every socket is AF_UNIX. One
# iteration is one repeat of ior's body, everything it opens closed within it; a bound socket's
# file (under the worker's private directory) is unlinked again at the iteration's end, so the
# next bind finds the name free. All in one thread: an AF_UNIX stream connect to a listener with
# room in its backlog completes at once, before accept, so no peer thread is needed.

from libc.stdint cimport uint64_t
from libc.string cimport memset, memcpy, strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path,
)
from ioworkload.core._kernel cimport kernel
from ioworkload.families._common cimport close_tracked

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_close
        __NR_unlinkat
        __NR_socket
        __NR_socketpair
        __NR_bind
        __NR_listen
        __NR_connect
        __NR_accept
        __NR_accept4
        __NR_shutdown
        __NR_getsockname
        __NR_getpeername
        __NR_setsockopt
        __NR_getsockopt
        __NR_sendmsg
        __NR_recvfrom
        __NR_recvmsg

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD

cdef extern from "<errno.h>" nogil:
    enum:
        ENAMETOOLONG

# The kernel's user msghdr is not in the uapi headers; glibc's has the same layout. struct
# iovec comes from glibc too, because <linux/uio.h> would define it a second time.
cdef extern from "<sys/uio.h>" nogil:
    struct iovec:
        void *iov_base
        size_t iov_len

cdef extern from "<sys/socket.h>" nogil:
    enum:
        AF_UNIX
        SOCK_STREAM
        SOCK_DGRAM
        MSG_PEEK
        MSG_TRUNC
        SOL_SOCKET
        SO_RCVBUF
        SHUT_RDWR
        SOCK_NONBLOCK
        SOCK_CLOEXEC
    struct msghdr:
        void *msg_name
        unsigned int msg_namelen
        iovec *msg_iov
        size_t msg_iovlen
        void *msg_control
        size_t msg_controllen
        int msg_flags

cdef extern from "<sys/un.h>" nogil:
    struct sockaddr_un:
        unsigned short sun_family
        char sun_path[108]

from ioworkload.core.manifest import scenarios

cdef enum:
    # fd slots
    LISTENER = 0
    CLIENT = 1
    ACCEPTED = 2
    TX = 3                  # the datagram pair's first fd: ior sends on fds[0]...
    RX = 4                  # ...and receives on fds[1]
    # ior's recv-flags datagram lengths, buffer sizes and iovec split
    PEEK_LEN = 100
    TRUNC_LEN = 300
    PROBE_LEN = 200
    TRUNC_MSG_LEN = 400
    MANY_IOV_LEN = 90
    RECV_BUF = 4096
    SHORT_BUF = 10
    IOV_A = 25
    IOV_B = 15
    MANY_IOVS = 9           # one more than ior's BPF IOR_RECVMSG_MAX_IOV
    RCVBUF_SIZE = 32768
    PLAIN_ACCEPT = -1       # connected(): the legacy accept instead of accept4

ctypedef struct SocketState:
    sockaddr_un addr        # the listener's name, <dir>/<ior's file name>
    sockaddr_un name        # getsockname/getpeername's output
    unsigned int name_len
    int rcvbuf
    unsigned int opt_len
    int pair[2]
    msghdr send_msg
    iovec send_iov
    msghdr probe_msg        # recvmsg with one zero-length iovec (the netlink size probe)
    iovec probe_iov
    msghdr whole_msg        # recvmsg of the whole 200-byte datagram
    iovec whole_iov
    msghdr split_msg        # recvmsg into iov[25, 15]
    iovec split_iov[2]
    msghdr many_msg         # recvmsg into 9 iovecs of 10 bytes
    iovec many_iov[MANY_IOVS]
    char zeros[TRUNC_MSG_LEN]   # every datagram's payload: n zero bytes, as ior's make([]byte, n)
    char buf[RECV_BUF]


cdef inline SocketState *state(iow_worker *w) noexcept nogil:
    return <SocketState *>w.scratch


# ---- one socket, one pair ----

cdef uint64_t socket_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys3(__NR_socket, AF_UNIX, SOCK_STREAM, 0))
        close_tracked(&w.iter[1], &w.fd[0])
    return n


cdef void socketpair_into(iow_worker *w, iow_tally *t, int kind, int first) noexcept nogil:
    """socketpair(AF_UNIX, kind, 0, fds) as one event; fds[0] goes to w.fd[first], fds[1] to
    w.fd[first + 1] (both stay -1 on failure)."""
    cdef SocketState *s = state(w)
    if iow_tally_ret(t, iow_sys4(__NR_socketpair, AF_UNIX, kind, 0, <long>s.pair)) == 0:
        w.fd[first] = s.pair[0]
        w.fd[first + 1] = s.pair[1]


cdef uint64_t socketpair_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        socketpair_into(w, &w.iter[0], SOCK_STREAM, TX)
        close_tracked(&w.iter[1], &w.fd[TX])
        close_tracked(&w.iter[2], &w.fd[RX])
    return n


# ---- listener, client, accepted connection ----

cdef int named_socket_setup(iow_worker *w, const char *name) noexcept nogil:
    """The listener's address, <dir>/name (no syscall). -ENAMETOOLONG when the private
    directory is too deep for sun_path."""
    cdef SocketState *s = state(w)
    cdef const char *path = iow_path(w, 0, name)
    cdef size_t n = strlen(path)
    if n >= sizeof(s.addr.sun_path):
        return -ENAMETOOLONG
    memset(&s.addr, 0, sizeof(sockaddr_un))
    s.addr.sun_family = AF_UNIX
    memcpy(s.addr.sun_path, path, n)
    return 0


cdef int accept_setup(iow_worker *w) noexcept nogil:
    return named_socket_setup(w, b"accept.sock")


cdef int introspection_setup(iow_worker *w) noexcept nogil:
    return named_socket_setup(w, b"introspection.sock")


cdef void connected(iow_worker *w, long accept_flags) noexcept nogil:
    """Events 0-5: listener socket, bind, listen(1), client socket, connect, then accept4(l,
    NULL, NULL, accept_flags) or, with PLAIN_ACCEPT, the legacy accept(l, NULL, NULL). Every
    call is issued even after a failure (each is tallied), so the counts stay the manifest's."""
    cdef SocketState *s = state(w)
    w.fd[LISTENER] = iow_tally_ret(&w.iter[0], iow_sys3(__NR_socket, AF_UNIX, SOCK_STREAM, 0))
    iow_tally_ret(&w.iter[1], iow_sys3(__NR_bind, w.fd[LISTENER], <long>&s.addr,
                                       sizeof(sockaddr_un)))
    iow_tally_ret(&w.iter[2], iow_sys2(__NR_listen, w.fd[LISTENER], 1))
    w.fd[CLIENT] = iow_tally_ret(&w.iter[3], iow_sys3(__NR_socket, AF_UNIX, SOCK_STREAM, 0))
    # the listener's backlog has room: the connection is queued and connect returns at once
    iow_tally_ret(&w.iter[4], iow_sys3(__NR_connect, w.fd[CLIENT], <long>&s.addr,
                                       sizeof(sockaddr_un)))
    if accept_flags == PLAIN_ACCEPT:
        w.fd[ACCEPTED] = iow_tally_ret(&w.iter[5], iow_sys3(__NR_accept, w.fd[LISTENER], 0, 0))
    else:
        w.fd[ACCEPTED] = iow_tally_ret(&w.iter[5], iow_sys4(__NR_accept4, w.fd[LISTENER], 0, 0,
                                                            accept_flags))


cdef void disconnected(iow_worker *w, int first) noexcept nogil:
    """Events first..first+3: close the accepted, client and listener fds (ior's deferred closes,
    last opened first), then unlinkat the socket's file."""
    cdef SocketState *s = state(w)
    close_tracked(&w.iter[first], &w.fd[ACCEPTED])
    close_tracked(&w.iter[first + 1], &w.fd[CLIENT])
    close_tracked(&w.iter[first + 2], &w.fd[LISTENER])
    iow_tally_ret(&w.iter[first + 3], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>s.addr.sun_path, 0))


cdef uint64_t accept_lifecycle(iow_worker *w, uint64_t n, long accept_flags) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        connected(w, accept_flags)
        iow_tally_ret(&w.iter[6], iow_sys2(__NR_shutdown, w.fd[ACCEPTED], SHUT_RDWR))
        disconnected(w, 7)
    return n


cdef uint64_t accept_lifecycle_loop(iow_worker *w, uint64_t n) noexcept nogil:
    # ior's newest workload: the accepted socket non-blocking and close-on-exec
    return accept_lifecycle(w, n, SOCK_NONBLOCK | SOCK_CLOEXEC)


cdef uint64_t accept_lifecycle_plain_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return accept_lifecycle(w, n, PLAIN_ACCEPT)


cdef uint64_t introspection_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SocketState *s = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        connected(w, 0)
        s.name_len = sizeof(sockaddr_un)
        iow_tally_ret(&w.iter[6], iow_sys3(__NR_getsockname, w.fd[ACCEPTED], <long>&s.name,
                                           <long>&s.name_len))
        s.name_len = sizeof(sockaddr_un)
        iow_tally_ret(&w.iter[7], iow_sys3(__NR_getpeername, w.fd[ACCEPTED], <long>&s.name,
                                           <long>&s.name_len))
        s.rcvbuf = RCVBUF_SIZE
        iow_tally_ret(&w.iter[8], iow_sys5(__NR_setsockopt, w.fd[ACCEPTED], SOL_SOCKET, SO_RCVBUF,
                                           <long>&s.rcvbuf, sizeof(int)))
        s.opt_len = sizeof(int)
        iow_tally_ret(&w.iter[9], iow_sys5(__NR_getsockopt, w.fd[ACCEPTED], SOL_SOCKET, SO_RCVBUF,
                                           <long>&s.rcvbuf, <long>&s.opt_len))
        disconnected(w, 10)
    return n


# ---- recv_flags: receive flags whose return is not the bytes the caller got ----

cdef void one_msg(msghdr *m, iovec *v, size_t count) noexcept nogil:
    memset(m, 0, sizeof(msghdr))
    m.msg_iov = v
    m.msg_iovlen = count


cdef int recv_flags_setup(iow_worker *w) noexcept nogil:
    """The message headers and iovecs (no syscall)."""
    cdef SocketState *s = state(w)
    cdef int k
    one_msg(&s.send_msg, &s.send_iov, 1)
    s.probe_iov.iov_base = NULL
    s.probe_iov.iov_len = 0
    one_msg(&s.probe_msg, &s.probe_iov, 1)
    s.whole_iov.iov_base = s.buf
    s.whole_iov.iov_len = PROBE_LEN
    one_msg(&s.whole_msg, &s.whole_iov, 1)
    s.split_iov[0].iov_base = s.buf
    s.split_iov[0].iov_len = IOV_A
    s.split_iov[1].iov_base = s.buf + IOV_A
    s.split_iov[1].iov_len = IOV_B
    one_msg(&s.split_msg, s.split_iov, 2)
    for k in range(MANY_IOVS):
        s.many_iov[k].iov_base = s.buf + k * (MANY_IOV_LEN // MANY_IOVS)
        s.many_iov[k].iov_len = MANY_IOV_LEN // MANY_IOVS
    one_msg(&s.many_msg, s.many_iov, MANY_IOVS)
    return 0


cdef void send_zeros(iow_worker *w, iow_tally *t, size_t n) noexcept nogil:
    """sendmsg(tx, {one iovec of n zero bytes}, 0): one datagram of n bytes."""
    cdef SocketState *s = state(w)
    s.send_iov.iov_base = s.zeros
    s.send_iov.iov_len = n
    iow_tally_ret(t, iow_sys3(__NR_sendmsg, w.fd[TX], <long>&s.send_msg, 0))


cdef uint64_t recv_flags_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SocketState *s = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        socketpair_into(w, &w.iter[0], SOCK_DGRAM, TX)
        # (a) MSG_PEEK leaves the datagram queued: the plain receive gets it again
        send_zeros(w, &w.iter[1], PEEK_LEN)
        iow_tally_ret(&w.iter[2], iow_sys6(__NR_recvfrom, w.fd[RX], <long>s.buf, RECV_BUF,
                                           MSG_PEEK, 0, 0))
        iow_tally_ret(&w.iter[3], iow_sys6(__NR_recvfrom, w.fd[RX], <long>s.buf, RECV_BUF,
                                           0, 0, 0))
        # (b) MSG_TRUNC returns the datagram's length, not the 10 bytes that fit
        send_zeros(w, &w.iter[4], TRUNC_LEN)
        iow_tally_ret(&w.iter[5], iow_sys6(__NR_recvfrom, w.fd[RX], <long>s.buf, SHORT_BUF,
                                           MSG_TRUNC, 0, 0))
        # (c) the netlink idiom: size probe with an empty iovec, then the real receive
        send_zeros(w, &w.iter[6], PROBE_LEN)
        iow_tally_ret(&w.iter[7], iow_sys3(__NR_recvmsg, w.fd[RX], <long>&s.probe_msg,
                                           MSG_PEEK | MSG_TRUNC))
        iow_tally_ret(&w.iter[8], iow_sys3(__NR_recvmsg, w.fd[RX], <long>&s.whole_msg, 0))
        # (d) MSG_TRUNC into two short iovecs (40 bytes of 400)
        send_zeros(w, &w.iter[9], TRUNC_MSG_LEN)
        iow_tally_ret(&w.iter[10], iow_sys3(__NR_recvmsg, w.fd[RX], <long>&s.split_msg,
                                            MSG_TRUNC))
        # (e) nine iovecs that together hold the datagram exactly
        send_zeros(w, &w.iter[11], MANY_IOV_LEN)
        iow_tally_ret(&w.iter[12], iow_sys3(__NR_recvmsg, w.fd[RX], <long>&s.many_msg,
                                            MSG_TRUNC))
        # ior's deferred closes: fds[1] first
        close_tracked(&w.iter[13], &w.fd[RX])
        close_tracked(&w.iter[14], &w.fd[TX])
    return n


# ---- the registry table ----

cdef sockaddr_un _unix_address
SUN_PATH_BYTES = sizeof(_unix_address.sun_path)   # 108 on Linux: the path and its NUL


def _sun_path_fits(scenario, name):
    """The socket's path, <$TMPDIR>/ioworkload-<scenario>-XXXXXXXX/w<i>/<name>, fits sun_path
    with its NUL for every worker index of the run (of any run, without a thread count):
    checked before anything is made, so a too deep $TMPDIR is `unsupported` (exit 77), not a
    failed bind."""
    import os
    import sys
    from ioworkload.core.args import MAX_THREADS
    from ioworkload.core.errors import UsageError
    from ioworkload.core.runner import temp_base

    def probe(threads=None):
        try:
            base = temp_base()
        except UsageError:
            return None   # a missing or full $TMPDIR is the run's usage error (exit 2), not ours
        if sys.version_info >= (3, 12):   # tempfile.mkdtemp's path is absolute from 3.12 on
            base = os.path.abspath(base)
        longest = os.path.join(base, f"ioworkload-{scenario}-XXXXXXXX",
                               f"w{(threads or MAX_THREADS) - 1}", name)
        size = len(os.fsencode(longest)) + 1
        if size > SUN_PATH_BYTES:
            return (f"$TMPDIR ({base}) is too deep for an AF_UNIX socket path: {longest} needs "
                    f"{size} bytes with its NUL, sun_path holds {SUN_PATH_BYTES}; set TMPDIR to a "
                    f"shorter directory")
        return None

    probe.__name__ = f"sun_path_fits({name})"
    probe.takes_threads = True
    return probe


def _sockaddr(name):
    return f'{{sa_family=AF_UNIX, sun_path="<dir>/{name}"}}'


def _connected(name, accept):
    """The events of connected(): bind/connect pass the whole sockaddr_un (110 bytes)."""
    addr = _sockaddr(name)
    return ["l = socket(AF_UNIX, SOCK_STREAM, 0) -> >=0",
            f"bind(l, {addr}, 110) -> 0",
            "listen(l, 1) -> 0",
            "c = socket(AF_UNIX, SOCK_STREAM, 0) -> >=0",
            f"connect(c, {addr}, 110) -> 0",
            accept]


def _disconnected(name):
    return ["close(a) -> 0", "close(c) -> 0", "close(l) -> 0",
            f'unlinkat(AT_FDCWD, "<dir>/{name}", 0) -> 0']


_ACCEPT4 = "a = accept4(l, NULL, NULL, 0) -> >=0"
_ACCEPT4_FLAGS = "a = accept4(l, NULL, NULL, SOCK_NONBLOCK|SOCK_CLOEXEC) -> >=0"
_ADDR_NOTE = ("bind and connect pass the whole struct sockaddr_un (addrlen 110), where Go's "
              "syscall.Bind passes 2 + strlen(path) + 1; the kernel reads the same name either "
              "way, and 110 does not depend on the private directory's length. A $TMPDIR too deep "
              "for sun_path's 108 bytes (for any worker's directory) makes the scenario "
              "unsupported before anything runs. ")
_LIFECYCLE_NOTE = ("ior makes a temporary directory per run and removes it at the end; here "
                   "the socket lives in the worker's private directory and the closing "
                   "unlinkat (ours) frees its name for the next iteration's bind. The client's "
                   "connect completes before accept (AF_UNIX queues it on the listener), so one "
                   "thread does it all. ")

_RECV_FLAGS = [
    "socketpair(AF_UNIX, SOCK_DGRAM, 0, &fds) -> 0",
    "sendmsg(?, {msg_iov=[{&zeros, 100}], msg_iovlen=1}, 0) -> 100",
    "recvfrom(?, &buf, 4096, MSG_PEEK, NULL, NULL) -> 100",
    "recvfrom(?, &buf, 4096, 0, NULL, NULL) -> 100",
    "sendmsg(?, {msg_iov=[{&zeros, 300}], msg_iovlen=1}, 0) -> 300",
    "recvfrom(?, &buf, 10, MSG_TRUNC, NULL, NULL) -> 300",
    "sendmsg(?, {msg_iov=[{&zeros, 200}], msg_iovlen=1}, 0) -> 200",
    "recvmsg(?, {msg_iov=[{NULL, 0}], msg_iovlen=1}, MSG_PEEK|MSG_TRUNC) -> 200",
    "recvmsg(?, {msg_iov=[{&buf, 200}], msg_iovlen=1}, 0) -> 200",
    "sendmsg(?, {msg_iov=[{&zeros, 400}], msg_iovlen=1}, 0) -> 400",
    "recvmsg(?, {msg_iov=[{&buf, 25}, {&buf, 15}], msg_iovlen=2}, MSG_TRUNC) -> 400",
    "sendmsg(?, {msg_iov=[{&zeros, 90}], msg_iovlen=1}, 0) -> 90",
    "recvmsg(?, {msg_iov=[9 x {&buf, 10}], msg_iovlen=9}, MSG_TRUNC) -> 90",
    "close(?) -> 0",
    "close(?) -> 0",
]

SCENARIOS = scenarios("socket", [
    dict(name="socket_basic", summary="socket(AF_UNIX, SOCK_STREAM, 0), then close",
         kernel=kernel(socket_basic_loop),
         iteration=["fd = socket(AF_UNIX, SOCK_STREAM, 0) -> >=0", "close(fd) -> 0"]),
    dict(name="socketpair_basic", summary="socketpair(AF_UNIX, SOCK_STREAM), close both ends",
         kernel=kernel(socketpair_basic_loop),
         iteration=["socketpair(AF_UNIX, SOCK_STREAM, 0, &fds) -> 0",
                    "close(?) -> 0", "close(?) -> 0"],
         notes="socketpair stores its two fds through &fds, so the closes show ?: fds[0], "
               "then fds[1], as ior closes them."),
    dict(name="socket_accept_lifecycle",
         summary="AF_UNIX listener: bind, listen, connect, accept4, shutdown, close all",
         kernel=kernel(accept_lifecycle_loop, accept_setup), needs_dir=True,
         requires=[_sun_path_fits("socket_accept_lifecycle", "accept.sock")],
         iteration=_connected("accept.sock", _ACCEPT4_FLAGS) + ["shutdown(a, SHUT_RDWR) -> 0"]
                   + _disconnected("accept.sock"),
         notes="accept4 asks for SOCK_NONBLOCK|SOCK_CLOEXEC, as ior's newest workload does (its "
               "test wants both flags on the accepted socket; the plain accept's are clear). "
               + _LIFECYCLE_NOTE + _ADDR_NOTE),
    dict(name="socket_accept_lifecycle_plain",
         summary="the same lifecycle through the legacy accept (nr 43), never accept4",
         kernel=kernel(accept_lifecycle_plain_loop, accept_setup), needs_dir=True,
         requires=[_sun_path_fits("socket_accept_lifecycle_plain", "accept.sock")],
         iteration=_connected("accept.sock", "a = accept(l, NULL, NULL) -> >=0")
                   + ["shutdown(a, SHUT_RDWR) -> 0"] + _disconnected("accept.sock"),
         notes="ior asserts that no accept4 appears; here the manifest has none, so any would "
               "be an undeclared call. " + _LIFECYCLE_NOTE + _ADDR_NOTE),
    dict(name="socket_introspection",
         summary="an accepted AF_UNIX connection: getsockname, getpeername, SO_RCVBUF set/get",
         kernel=kernel(introspection_loop, introspection_setup), needs_dir=True,
         requires=[_sun_path_fits("socket_introspection", "introspection.sock")],
         iteration=_connected("introspection.sock", _ACCEPT4) + [
             "getsockname(a, &addr, &addrlen) -> 0",
             "getpeername(a, &addr, &addrlen) -> 0",
             "setsockopt(a, SOL_SOCKET, SO_RCVBUF, {32768}, 4) -> 0",
             "getsockopt(a, SOL_SOCKET, SO_RCVBUF, &val, &len) -> 0",
         ] + _disconnected("introspection.sock"),
         notes="ior does not shut the connection down here, nor do we. getsockname and "
               "getpeername get a 110-byte buffer (Go's: 112); the accepted socket's peer, the "
               "client, is unbound: getpeername returns 0 with the family alone. "
               + _LIFECYCLE_NOTE + _ADDR_NOTE),
    dict(name="recv_flags",
         summary="DGRAM socketpair: MSG_PEEK, MSG_TRUNC, the netlink size probe, 9-iovec recvmsg",
         kernel=kernel(recv_flags_loop, recv_flags_setup),
         iteration=_RECV_FLAGS,
         notes="ior's five steps on one AF_UNIX datagram pair, sending on fds[0] and receiving "
               "on fds[1] (the ? in sendmsg, and in recvfrom/recvmsg, respectively; the closes "
               "are fds[1], then fds[0]). Each datagram is n zero bytes. The returns are the "
               "datagram lengths, not the bytes copied: recvfrom MSG_PEEK 100 then 100; "
               "recvfrom of 10 bytes with MSG_TRUNC 300; recvmsg with one empty iovec "
               "MSG_PEEK|MSG_TRUNC 200, then 200; recvmsg into iov[25, 15] MSG_TRUNC 400 (40 "
               "copied); recvmsg into 9 iovecs of 10 bytes (one more than ior's BPF sums) 90. "
               "ior checks each return and fails on any other; so do we (exact returns)."),
])
