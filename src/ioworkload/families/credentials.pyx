# Family 'credentials': user and group ids, supplementary groups, capabilities, process groups
# and sessions.
#
# The worker only reads: the get* calls, setfsuid(-1)/setfsgid(-1) (an invalid id changes
# nothing and returns the current one) and capget. Every call that changes credentials or the
# session is a forked child's (_forked.pxd): it moves to a process group of its own, writes
# back the capabilities it read, and drops to nobody (65534) by each of the set*id calls, then
# exits. The command's (and a caller's) own credentials, group and session are never touched.

from libc.stdint cimport uint64_t
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys0, iow_sys1, iow_sys2, iow_sys3,
    iow_tally_ret, iow_stop_requested, kernel,
)
from ioworkload.families._forked cimport fork_child

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_getuid
        __NR_getgid
        __NR_geteuid
        __NR_getegid
        __NR_getresuid
        __NR_getresgid
        __NR_getgroups
        __NR_setfsuid
        __NR_setfsgid
        __NR_capget
        __NR_capset
        __NR_getpgid
        __NR_getsid
        __NR_setpgid
        __NR_setsid
        __NR_setgroups
        __NR_setregid
        __NR_setresgid
        __NR_setgid
        __NR_setreuid
        __NR_setresuid
        __NR_setuid
        IOW_NR_getpgrp

cdef extern from "<linux/capability.h>" nogil:
    enum:
        _LINUX_CAPABILITY_VERSION_3

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import capability, legacy_syscall, user_namespace_maps
from ioworkload.families._forked import forked_child

cdef enum:
    NOBODY = 65534       # the overflow uid/gid: nobody, nogroup
    DROP_EVENTS = 17     # the child's calls in credentials_drop

CONSTANTS = {"_LINUX_CAPABILITY_VERSION_3": _LINUX_CAPABILITY_VERSION_3}

# What the kernel reads and writes through our pointers, in the worker's zeroed scratch area.
ctypedef struct CredScratch:
    unsigned int ids[3]
    unsigned int cap_header[2]      # struct __user_cap_header_struct: version, pid
    unsigned int cap_data[6]        # 2 x struct __user_cap_data_struct (version 3)
    unsigned int groups[1]
    int status


cdef inline CredScratch *scratch(iow_worker *w) noexcept nogil:
    cdef CredScratch *s = <CredScratch *>w.scratch
    s.cap_header[0] = _LINUX_CAPABILITY_VERSION_3
    s.cap_header[1] = 0     # this task
    return s


# ---- credentials_read ----

cdef uint64_t credentials_read_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef CredScratch *s = scratch(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys0(__NR_getuid))
        iow_tally_ret(&w.iter[1], iow_sys0(__NR_getgid))
        iow_tally_ret(&w.iter[2], iow_sys0(__NR_geteuid))
        iow_tally_ret(&w.iter[3], iow_sys0(__NR_getegid))
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_getresuid, <long>&s.ids[0], <long>&s.ids[1],
                                           <long>&s.ids[2]))
        iow_tally_ret(&w.iter[5], iow_sys3(__NR_getresgid, <long>&s.ids[0], <long>&s.ids[1],
                                           <long>&s.ids[2]))
        iow_tally_ret(&w.iter[6], iow_sys2(__NR_getgroups, 0, 0))
        # -1 is no valid id: nothing changes, the current fs id comes back
        iow_tally_ret(&w.iter[7], iow_sys1(__NR_setfsuid, -1))
        iow_tally_ret(&w.iter[8], iow_sys1(__NR_setfsgid, -1))
        iow_tally_ret(&w.iter[9], iow_sys2(__NR_capget, <long>s.cap_header, <long>s.cap_data))
        iow_tally_ret(&w.iter[10], iow_sys0(IOW_NR_getpgrp))
        iow_tally_ret(&w.iter[11], iow_sys1(__NR_getpgid, 0))
        iow_tally_ret(&w.iter[12], iow_sys1(__NR_getsid, 0))
    return n


# ---- credentials_drop ----

cdef void drop_to_nobody(iow_worker *w, iow_tally *t) noexcept nogil:
    # The forked child's calls (DROP_EVENTS of them): its own process group, then the session
    # it cannot start as a group leader; its capabilities written back as read; the group ids
    # while it still may, then the user ids; at last it cannot go back to root.
    cdef CredScratch *s = scratch(w)
    s.groups[0] = NOBODY
    iow_tally_ret(&t[0], iow_sys2(__NR_setpgid, 0, 0))
    iow_tally_ret(&t[1], iow_sys1(__NR_getpgid, 0))
    iow_tally_ret(&t[2], iow_sys0(__NR_setsid))
    iow_tally_ret(&t[3], iow_sys2(__NR_capget, <long>s.cap_header, <long>s.cap_data))
    iow_tally_ret(&t[4], iow_sys2(__NR_capset, <long>s.cap_header, <long>s.cap_data))
    iow_tally_ret(&t[5], iow_sys2(__NR_setgroups, 1, <long>s.groups))
    iow_tally_ret(&t[6], iow_sys2(__NR_setregid, NOBODY, NOBODY))
    iow_tally_ret(&t[7], iow_sys3(__NR_setresgid, NOBODY, NOBODY, NOBODY))
    iow_tally_ret(&t[8], iow_sys1(__NR_setgid, NOBODY))
    iow_tally_ret(&t[9], iow_sys1(__NR_setfsgid, NOBODY))
    iow_tally_ret(&t[10], iow_sys2(__NR_setreuid, NOBODY, NOBODY))
    iow_tally_ret(&t[11], iow_sys3(__NR_setresuid, NOBODY, NOBODY, NOBODY))
    iow_tally_ret(&t[12], iow_sys1(__NR_setuid, NOBODY))
    iow_tally_ret(&t[13], iow_sys1(__NR_setfsuid, NOBODY))
    iow_tally_ret(&t[14], iow_sys1(__NR_setuid, 0))
    iow_tally_ret(&t[15], iow_sys0(__NR_getuid))
    iow_tally_ret(&t[16], iow_sys0(__NR_getgid))


cdef uint64_t credentials_drop_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef CredScratch *s = scratch(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        fork_child(w, w.iter, drop_to_nobody, DROP_EVENTS, &s.status)
    return n


# ---- the table ----

_CAP_HEADER = "{_LINUX_CAPABILITY_VERSION_3, pid 0}"

SCENARIOS = scenarios("credentials", [
    dict(name="credentials_read",
         summary="uids, gids, groups, fs ids, capabilities, process group and session: read only",
         kernel=kernel(credentials_read_loop), requires=[legacy_syscall("getpgrp")],
         iteration=["getuid() -> >=0", "getgid() -> >=0", "geteuid() -> >=0", "getegid() -> >=0",
                    "getresuid(&ruid, &euid, &suid) -> 0", "getresgid(&rgid, &egid, &sgid) -> 0",
                    "getgroups(0, NULL) -> >=0",
                    "setfsuid(-1) -> >=0", "setfsgid(-1) -> >=0",
                    f"capget({_CAP_HEADER}, &data) -> 0",
                    "getpgrp() -> >=1", "getpgid(0) -> >=1", "getsid(0) -> >=0"],
         notes="Read only, for any user: getgroups(0, NULL) counts the groups; setfsuid(-1) and "
               "setfsgid(-1) pass an invalid id, which the kernel ignores, and return the "
               "current fs id (the only way to read it); capget reads this thread's sets. The "
               "values depend on who runs it, so the results are bounds."),
    dict(name="credentials_drop",
         summary="a forked child takes a process group, writes its capabilities back, drops to nobody",
         kernel=kernel(credentials_drop_loop),
         requires=[capability("CAP_SETUID"), capability("CAP_SETGID"), user_namespace_maps(65534)],
         iteration=forked_child([
             "setpgid(0, 0) -> 0", "getpgid(0) -> >=1", "setsid() -> -EPERM",
             f"capget({_CAP_HEADER}, &data) -> 0", f"capset({_CAP_HEADER}, &data) -> 0",
             "setgroups(1, [65534]) -> 0", "setregid(65534, 65534) -> 0",
             "setresgid(65534, 65534, 65534) -> 0", "setgid(65534) -> 0", "setfsgid(65534) -> 65534",
             "setreuid(65534, 65534) -> 0", "setresuid(65534, 65534, 65534) -> 0",
             "setuid(65534) -> 0", "setfsuid(65534) -> 65534", "setuid(0) -> -EPERM",
             "getuid() -> 65534", "getgid() -> 65534"]),
         notes="Every change is a forked child's, which exits at the end of the iteration: the "
               "command's credentials, process group and session stay as they were. The child "
               "makes itself a process group leader (setpgid), so setsid is refused (-EPERM: a "
               "group leader cannot start a session); capset writes back the sets capget read "
               "(no change); it sets its groups to [nobody] and its gids, then its uids, to "
               "65534 by each call (setre*, setres*, set*, setfs*: the fs ids come back as the "
               "previous value, already 65534); with every uid non-zero it has lost its "
               "capabilities, so setuid(0) fails (-EPERM). Needs root (CAP_SETUID and "
               "CAP_SETGID); as another user it is unsupported."),
])
