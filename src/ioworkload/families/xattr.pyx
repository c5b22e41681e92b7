# Family 'xattr': ior's xattr-* scenarios (../shared/reference/ior-ioworkload-catalog.md, 4.11).
# The attribute is `user.ior` on `xattrfile.txt` in the worker's private directory. Setup
# creates the file (openat + close) and, for most scenarios, sets the attribute with ior's
# value; an iteration is ior's call. Bodies that remove or change the attribute put the
# setup's state back with one more declared call, so every iteration returns the same.

import os
import tempfile

from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport strlen
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6, iow_tally_ret,
    iow_stop_requested, kernel,
)
from ioworkload.families._common cimport one_call_loop, close_fd0
from ioworkload.families._files cimport open_file, create_file

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_setxattr
        __NR_lsetxattr
        __NR_fsetxattr
        __NR_getxattr
        __NR_lgetxattr
        __NR_fgetxattr
        __NR_listxattr
        __NR_llistxattr
        __NR_flistxattr
        __NR_removexattr
        __NR_lremovexattr
        __NR_fremovexattr
        __NR_setxattrat
        __NR_getxattrat
        __NR_listxattrat
        __NR_removexattrat

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD

cdef extern from *:
    """
    #include "iow_config.h"
    #if HAVE_STRUCT_XATTR_ARGS
    #include <linux/xattr.h>
    #else
    #include <linux/types.h>
    /* struct xattr_args of <linux/xattr.h> (Linux 6.13, for setxattrat/getxattrat): the value
     * buffer as a u64 user pointer, its size, XATTR_CREATE/REPLACE flags. Headers older than
     * 6.13 (this host's are 6.1) lack it. */
    struct xattr_args {
        __aligned_u64 value;
        __u32 size;
        __u32 flags;
    };
    #endif
    """
    struct xattr_args:
        uint64_t value
        uint32_t size
        uint32_t flags

from ioworkload.core.errors import errno_name
from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import syscall_implemented

cdef const char *NAME = b"user.ior"
cdef enum:
    BUF_BYTES = 256          # ior's value and name-list buffers
    AT_FLAGS_INVALID = 0x80000000

# ior's values; the byte counts are what get/size-probe calls return.
cdef const char *GETXATTRAT_VALUE = b"getxattrat-value"              # 16
cdef const char *LISTXATTRAT_VALUE = b"listxattrat-value"
cdef const char *REMOVEXATTRAT_VALUE = b"removexattrat-value"
cdef const char *GETXATTR_VALUE = b"getxattr-value"                  # 14
cdef const char *SIZE_PROBE_VALUE = b"getxattr-size-probe-value"     # 25
cdef const char *LGETXATTR_VALUE = b"lgetxattr-value"                # 15
cdef const char *LISTXATTR_VALUE = b"listxattr-value"
cdef const char *LIST_SIZE_PROBE_VALUE = b"listxattr-size-probe-value"
cdef const char *LLISTXATTR_VALUE = b"llistxattr-value"
cdef const char *LSET_INITIAL_VALUE = b"lsetxattr-initial"
cdef const char *LSET_UPDATED_VALUE = b"lsetxattr-updated"
cdef const char *SETXATTRAT_VALUE = b"setxattrat-value"              # 16
cdef const char *REMOVEXATTR_VALUE = b"removexattr-value"
cdef const char *LREMOVEXATTR_VALUE = b"lremovexattr-value"
cdef const char *FD_VALUE = b"fxattr-value"                          # 12

ctypedef struct XattrBufs:
    xattr_args args
    char value[BUF_BYTES]
    char names[BUF_BYTES]


cdef inline XattrBufs *bufs(iow_worker *w) noexcept nogil:
    return <XattrBufs *>w.scratch


cdef const char *FILE_NAME = b"xattrfile.txt"


cdef int plain_file_setup(iow_worker *w) noexcept nogil:
    """openat + close of xattrfile.txt (setup events 0, 1); its path is w.path[0]."""
    return create_file(w, FILE_NAME)


cdef int open_file_setup(iow_worker *w) noexcept nogil:
    """openat of xattrfile.txt (setup event 0), the fd kept in w.fd[0]."""
    return open_file(w, FILE_NAME)


cdef inline long set_value(iow_worker *w, const char *value) noexcept nogil:
    """setxattr(path, "user.ior", value, len, 0): the setup's call, also used to restore."""
    return iow_sys5(__NR_setxattr, <long>w.path[0], <long>NAME, <long>value, strlen(value), 0)


cdef int xattr_file(iow_worker *w, const char *value) noexcept nogil:
    """plain_file_setup, then set user.ior to `value` (setup event 2)."""
    cdef int rc = plain_file_setup(w)
    if rc < 0:
        return rc
    return <int>iow_tally_ret(&w.setup[2], set_value(w, value))


# ---- setups: ior's value per scenario ----

cdef int getxattrat_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, GETXATTRAT_VALUE)

cdef int listxattrat_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, LISTXATTRAT_VALUE)

cdef int removexattrat_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, REMOVEXATTRAT_VALUE)

cdef int getxattr_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, GETXATTR_VALUE)

cdef int size_probe_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, SIZE_PROBE_VALUE)

cdef int lgetxattr_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, LGETXATTR_VALUE)

cdef int listxattr_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, LISTXATTR_VALUE)

cdef int list_size_probe_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, LIST_SIZE_PROBE_VALUE)

cdef int llistxattr_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, LLISTXATTR_VALUE)

cdef int lsetxattr_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, LSET_INITIAL_VALUE)

cdef int removexattr_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, REMOVEXATTR_VALUE)

cdef int lremovexattr_setup(iow_worker *w) noexcept nogil:
    return xattr_file(w, LREMOVEXATTR_VALUE)


# ---- loops ----

cdef uint64_t then_set_back_loop(iow_worker *w, uint64_t n, const char *value, long nr,
                                 long a, long b, long c=0, long d=0, long e=0) noexcept nogil:
    """Iteration: nr(a..e), which removes or changes user.ior (event 0), then setxattr of the
    setup's `value` (event 1), so the next iteration finds what the first one found."""
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys6(nr, a, b, c, d, e, 0))
        iow_tally_ret(&w.iter[1], set_value(w, value))
    return n


cdef uint64_t getxattrat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef XattrBufs *b = bufs(w)
    b.args.value = <uint64_t>b.value
    b.args.size = BUF_BYTES
    b.args.flags = 0
    return one_call_loop(w, n, __NR_getxattrat, AT_FDCWD, <long>w.path[0], 0, <long>NAME,
                         <long>&b.args, sizeof(xattr_args))


cdef uint64_t listxattrat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_listxattrat, AT_FDCWD, <long>w.path[0], 0,
                         <long>bufs(w).names, BUF_BYTES)


cdef uint64_t removexattrat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return then_set_back_loop(w, n, REMOVEXATTRAT_VALUE, __NR_removexattrat, AT_FDCWD,
                              <long>w.path[0], 0, <long>NAME)


cdef uint64_t getxattr_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_getxattr, <long>w.path[0], <long>NAME, <long>bufs(w).value,
                         BUF_BYTES)


cdef uint64_t getxattr_size_probe_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_getxattr, <long>w.path[0], <long>NAME, 0, 0)


cdef uint64_t lgetxattr_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_lgetxattr, <long>w.path[0], <long>NAME, <long>bufs(w).value,
                         BUF_BYTES)


cdef uint64_t listxattr_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_listxattr, <long>w.path[0], <long>bufs(w).names, BUF_BYTES)


cdef uint64_t listxattr_size_probe_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_listxattr, <long>w.path[0], 0, 0)


cdef uint64_t llistxattr_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_llistxattr, <long>w.path[0], <long>bufs(w).names, BUF_BYTES)


cdef uint64_t lsetxattr_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return then_set_back_loop(w, n, LSET_INITIAL_VALUE, __NR_lsetxattr, <long>w.path[0],
                              <long>NAME, <long>LSET_UPDATED_VALUE, strlen(LSET_UPDATED_VALUE), 0)


cdef uint64_t removexattr_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return then_set_back_loop(w, n, REMOVEXATTR_VALUE, __NR_removexattr, <long>w.path[0], <long>NAME)


cdef uint64_t lremovexattr_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return then_set_back_loop(w, n, LREMOVEXATTR_VALUE, __NR_lremovexattr, <long>w.path[0],
                              <long>NAME)


cdef uint64_t setxattrat_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef XattrBufs *b = bufs(w)
    cdef uint64_t i
    b.args.value = <uint64_t>SETXATTRAT_VALUE
    b.args.size = <uint32_t>strlen(SETXATTRAT_VALUE)
    b.args.flags = 0
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys6(__NR_setxattrat, AT_FDCWD, <long>w.path[0], 0,
                                           <long>NAME, <long>&b.args, sizeof(xattr_args)))
        # The file started without the attribute: take it away again.
        iow_tally_ret(&w.iter[1], iow_sys2(__NR_removexattr, <long>w.path[0], <long>NAME))
    return n


cdef uint64_t fd_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef XattrBufs *b = bufs(w)
    cdef long fd = w.fd[0]
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys5(__NR_fsetxattr, fd, <long>NAME, <long>FD_VALUE,
                                           strlen(FD_VALUE), 0))
        iow_tally_ret(&w.iter[1], iow_sys4(__NR_fgetxattr, fd, <long>NAME, <long>b.value, BUF_BYTES))
        iow_tally_ret(&w.iter[2], iow_sys3(__NR_flistxattr, fd, <long>b.names, BUF_BYTES))
        iow_tally_ret(&w.iter[3], iow_sys2(__NR_fremovexattr, fd, <long>NAME))
    return n


# ---- requirements ----

def user_xattrs_in_tmpdir():
    """The filesystem under $TMPDIR (where the private directories live) takes user.* xattrs."""
    from ioworkload.core.runner import temp_base
    where = temp_base()  # exactly $TMPDIR: tempfile's fallbacks would probe another filesystem
    try:
        with tempfile.NamedTemporaryFile(prefix="ioworkload-xattr-probe-", dir=where) as f:
            os.setxattr(f.fileno(), "user.ioworkload-probe", b"1")
    except OSError as e:
        return (f"the filesystem of {where} does not support user.* xattrs "
                f"({errno_name(e.errno)}: {os.strerror(e.errno)})")
    return None


# Each probe fails before touching anything: a too-small xattr_args size or unknown
# at_flags are -EINVAL on a kernel that has the call, -ENOSYS on one before 6.13.
_HAS_SETXATTRAT = syscall_implemented("setxattrat", __NR_setxattrat, AT_FDCWD, 0, 0, 0, 0, 0)
_HAS_GETXATTRAT = syscall_implemented("getxattrat", __NR_getxattrat, AT_FDCWD, 0, 0, 0, 0, 0)
_HAS_LISTXATTRAT = syscall_implemented("listxattrat", __NR_listxattrat, AT_FDCWD, 0,
                                       AT_FLAGS_INVALID, 0, 0)
_HAS_REMOVEXATTRAT = syscall_implemented("removexattrat", __NR_removexattrat, AT_FDCWD, 0,
                                         AT_FLAGS_INVALID, 0)

_PATH = '"<dir>/xattrfile.txt"'
_CREATE = [f'fd = openat(AT_FDCWD, {_PATH}, O_RDWR|O_CREAT, 0644) -> >=0', "close(fd) -> 0"]


def _payload(value: bytes):
    """A value as the manifest's payload argument and its size: the exact bytes, then len."""
    return f'"{value.decode()}", {len(value)}'


def _restore(value: bytes):
    return f'setxattr({_PATH}, "user.ior", {_payload(value)}, 0) -> 0'


def _with_value(value: bytes):
    return _CREATE + [_restore(value)]


_USER = [user_xattrs_in_tmpdir]
_NOTE_LIST = ("Returns the name list's length: 9 (\"user.ior\\0\") here; more if an LSM or ACL "
              "adds names, hence ior's lower bound.")

SCENARIOS = scenarios("xattr", [
    dict(name="xattr_getxattrat", summary="getxattrat(AT_FDCWD, path, 0, \"user.ior\", &args, 16)",
         kernel=kernel(getxattrat_loop, getxattrat_setup), needs_dir=True,
         setup=_with_value(GETXATTRAT_VALUE),
         iteration=[f'getxattrat(AT_FDCWD, {_PATH}, 0, "user.ior", {{value=&value, size=256, flags=0}}, '
                    f'16) -> 16'],
         requires=_USER + [_HAS_GETXATTRAT],
         notes="Linux 6.13+. struct xattr_args is declared locally (the 6.1 headers lack it)."),
    dict(name="xattr_listxattrat", summary="listxattrat(AT_FDCWD, path, 0, list, 256)",
         kernel=kernel(listxattrat_loop, listxattrat_setup), needs_dir=True,
         setup=_with_value(LISTXATTRAT_VALUE),
         iteration=[f"listxattrat(AT_FDCWD, {_PATH}, 0, &list, 256) -> >=9"],
         requires=_USER + [_HAS_LISTXATTRAT],
         notes="Linux 6.13+. " + _NOTE_LIST),
    dict(name="xattr_removexattrat", summary="removexattrat(AT_FDCWD, path, 0, \"user.ior\"), then set back",
         kernel=kernel(removexattrat_loop, removexattrat_setup), needs_dir=True,
         setup=_with_value(REMOVEXATTRAT_VALUE),
         iteration=[f'removexattrat(AT_FDCWD, {_PATH}, 0, "user.ior") -> 0',
                    _restore(REMOVEXATTRAT_VALUE)],
         requires=_USER + [_HAS_REMOVEXATTRAT],
         notes="Linux 6.13+. The setxattr puts the attribute back so the next removal succeeds."),
    dict(name="xattr_getxattr", summary="getxattr(path, \"user.ior\", buf, 256): 14 bytes",
         kernel=kernel(getxattr_loop, getxattr_setup), needs_dir=True,
         setup=_with_value(GETXATTR_VALUE),
         iteration=[f'getxattr({_PATH}, "user.ior", &value, 256) -> 14'],
         requires=_USER),
    dict(name="xattr_getxattr_size_probe", summary="getxattr(path, \"user.ior\", NULL, 0): the value's size",
         kernel=kernel(getxattr_size_probe_loop, size_probe_setup), needs_dir=True,
         setup=_with_value(SIZE_PROBE_VALUE),
         iteration=[f'getxattr({_PATH}, "user.ior", NULL, 0) -> 25'],
         requires=_USER,
         notes="Returns 25, the size, but copies nothing: a tracer must count 0 bytes."),
    dict(name="xattr_lgetxattr", summary="lgetxattr(path, \"user.ior\", buf, 256) on a regular file",
         kernel=kernel(lgetxattr_loop, lgetxattr_setup), needs_dir=True,
         setup=_with_value(LGETXATTR_VALUE),
         iteration=[f'lgetxattr({_PATH}, "user.ior", &value, 256) -> 15'],
         requires=_USER,
         notes="A regular file, as ior: user.* attributes on a symlink itself are refused."),
    dict(name="xattr_listxattr", summary="listxattr(path, list, 256)",
         kernel=kernel(listxattr_loop, listxattr_setup), needs_dir=True,
         setup=_with_value(LISTXATTR_VALUE),
         iteration=[f"listxattr({_PATH}, &list, 256) -> >=9"],
         requires=_USER, notes=_NOTE_LIST),
    dict(name="xattr_listxattr_size_probe", summary="listxattr(path, NULL, 0): the list's size",
         kernel=kernel(listxattr_size_probe_loop, list_size_probe_setup), needs_dir=True,
         setup=_with_value(LIST_SIZE_PROBE_VALUE),
         iteration=[f"listxattr({_PATH}, NULL, 0) -> >=9"],
         requires=_USER,
         notes="Returns the size but copies nothing: a tracer must count 0 bytes. " + _NOTE_LIST),
    dict(name="xattr_llistxattr", summary="llistxattr(path, list, 256) on a regular file",
         kernel=kernel(llistxattr_loop, llistxattr_setup), needs_dir=True,
         setup=_with_value(LLISTXATTR_VALUE),
         iteration=[f"llistxattr({_PATH}, &list, 256) -> >=9"],
         requires=_USER, notes=_NOTE_LIST),
    dict(name="xattr_lsetxattr", summary="lsetxattr(path, \"user.ior\", \"lsetxattr-updated\"), then set back",
         kernel=kernel(lsetxattr_loop, lsetxattr_setup), needs_dir=True,
         setup=_with_value(LSET_INITIAL_VALUE),
         iteration=[f'lsetxattr({_PATH}, "user.ior", {_payload(LSET_UPDATED_VALUE)}, 0) -> 0',
                    _restore(LSET_INITIAL_VALUE)],
         requires=_USER,
         notes="The setxattr restores ior's initial value, so every lsetxattr is a real update."),
    dict(name="xattr_setxattrat", summary="setxattrat(AT_FDCWD, path, 0, \"user.ior\", &args, 16), then remove",
         kernel=kernel(setxattrat_loop, plain_file_setup), needs_dir=True,
         setup=_CREATE,
         iteration=[f'setxattrat(AT_FDCWD, {_PATH}, 0, "user.ior", {{value="{SETXATTRAT_VALUE.decode()}", '
                    f'size={len(SETXATTRAT_VALUE)}, flags=0}}, 16) -> 0',
                    f'removexattr({_PATH}, "user.ior") -> 0'],
         requires=_USER + [_HAS_SETXATTRAT],
         notes="Linux 6.13+. The file starts without the attribute, as in ior; removexattr "
               "restores that, so every setxattrat creates it."),
    dict(name="xattr_removexattr", summary="removexattr(path, \"user.ior\"), then set back",
         kernel=kernel(removexattr_loop, removexattr_setup), needs_dir=True,
         setup=_with_value(REMOVEXATTR_VALUE),
         iteration=[f'removexattr({_PATH}, "user.ior") -> 0', _restore(REMOVEXATTR_VALUE)],
         requires=_USER),
    dict(name="xattr_lremovexattr", summary="lremovexattr(path, \"user.ior\"), then set back",
         kernel=kernel(lremovexattr_loop, lremovexattr_setup), needs_dir=True,
         setup=_with_value(LREMOVEXATTR_VALUE),
         iteration=[f'lremovexattr({_PATH}, "user.ior") -> 0', _restore(LREMOVEXATTR_VALUE)],
         requires=_USER),
    dict(name="xattr_fd", summary="fsetxattr, fgetxattr, flistxattr, fremovexattr on one open fd",
         kernel=kernel(fd_loop, open_file_setup, close_fd0), needs_dir=True,
         setup=_CREATE[:1],
         iteration=[f'fsetxattr(fd, "user.ior", {_payload(FD_VALUE)}, 0) -> 0',
                    'fgetxattr(fd, "user.ior", &value, 256) -> 12',
                    "flistxattr(fd, &list, 256) -> >=9",
                    'fremovexattr(fd, "user.ior") -> 0'],
         teardown=["close(fd) -> 0"],
         requires=_USER),
])
