# Family 'system': clocks, limits, usage, personality, filesystems, host names, sessions,
# accounting, reboot, the kernel log and I/O port permissions.
#
# Nothing on the host may change, so each call that could is issued in one of three ways:
# - read only: adjtimex and clock_adjtime with modes 0, syslog's buffer size, prlimit64 with no
#   new limit, personality(0xffffffff) (a query), setfsuid-style queries;
# - rejected before the kernel acts: settimeofday and clock_settime with an out-of-range
#   fraction, reboot with a bad magic, acct of a path that does not exist, a host name longer
#   than the kernel takes, setns of no descriptor;
# - contained in a forked child (_forked.pxd) that exits at the end of the iteration: a session
#   of its own (setsid, then vhangup with no controlling terminal), its umask, a UTS namespace
#   of its own (unshare) where sethostname and setdomainname change only that namespace, chroot
#   into the worker's private directory, its own RLIMIT_NOFILE written back as read.

from libc.stdint cimport uint64_t
from libc.string cimport memset
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4,
    iow_tally_ret, iow_stop_requested, iow_path, kernel,
)
from ioworkload.families._forked cimport fork_child

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_gettimeofday
        __NR_times
        __NR_clock_getres
        __NR_adjtimex
        __NR_clock_adjtime
        __NR_getrusage
        __NR_getrlimit
        __NR_setrlimit
        __NR_prlimit64
        __NR_personality
        __NR_settimeofday
        __NR_clock_settime
        __NR_setsid
        __NR_getsid
        __NR_umask
        __NR_unshare
        __NR_sethostname
        __NR_setdomainname
        __NR_setns
        __NR_chroot
        __NR_reboot
        __NR_acct
        __NR_syslog
        IOW_NR_time

# x86-64 only: other architectures have no such numbers (the scenarios are unsupported there).
cdef extern from *:
    """
    #include <asm/unistd.h>
    #ifdef __NR_sysfs
    #define IOW_NR_sysfs __NR_sysfs
    #else
    #define IOW_NR_sysfs (-1)
    #endif
    #ifdef __NR_ustat
    #define IOW_NR_ustat __NR_ustat
    #else
    #define IOW_NR_ustat (-1)
    #endif
    #ifdef __NR_vhangup
    #define IOW_NR_vhangup __NR_vhangup
    #else
    #define IOW_NR_vhangup (-1)
    #endif
    #ifdef __NR_iopl
    #define IOW_NR_iopl __NR_iopl
    #define IOW_NR_ioperm __NR_ioperm
    #else
    #define IOW_NR_iopl (-1)
    #define IOW_NR_ioperm (-1)
    #endif
    """
    enum:
        IOW_NR_sysfs
        IOW_NR_ustat
        IOW_NR_vhangup
        IOW_NR_iopl
        IOW_NR_ioperm

cdef extern from "<time.h>" nogil:
    enum:
        CLOCK_REALTIME
        CLOCK_MONOTONIC

cdef extern from "<sched.h>" nogil:
    enum:
        CLONE_NEWUTS

cdef extern from "<sys/resource.h>" nogil:
    enum:
        RUSAGE_SELF
        RLIMIT_NOFILE

import os

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import built_with, capability, in_table, legacy_syscall
from ioworkload.families._forked import forked_child

cdef enum:
    SYSFS_COUNT = 3              # sysfs(3): how many filesystem types the kernel knows
    SYSLOG_ACTION_SIZE_BUFFER = 10
    PERSONALITY_QUERY = 0xffffffff
    USEC_OUT_OF_RANGE = 1000001  # a timeval's tv_usec past one second
    NSEC_OUT_OF_RANGE = 1000000000
    BAD_REBOOT_MAGIC = 0xbad     # neither LINUX_REBOOT_MAGIC1 nor a command the kernel knows
    UMASK_SET = 0o77
    NAME_LEN = 10                # "ioworkload"
    TOO_LONG = 65                # __NEW_UTS_LEN is 64
    IO_PORT = 0x80               # ioperm(0x80, 1, 0): turn one port off
    CONTAINED_EVENTS = 14        # the child's calls in system_contained
    P_MISSING = 0                # w.path slot of acct's path

CONSTANTS = {"CLONE_NEWUTS": CLONE_NEWUTS, "RUSAGE_SELF": RUSAGE_SELF,
             "SYSLOG_ACTION_SIZE_BUFFER": SYSLOG_ACTION_SIZE_BUFFER}

cdef const char *HOST_NAME = b"ioworkload"

# What the kernel reads and writes through our pointers, in the worker's zeroed scratch area.
ctypedef struct SystemScratch:
    long tv[2]                        # struct timeval
    long tms[4]                       # struct tms
    long ts[2]                        # struct timespec
    unsigned char timex[256]          # struct timex (208 bytes on 64-bit): modes first
    unsigned char usage[256]          # struct rusage (144)
    unsigned long rlim[2]             # struct rlimit
    unsigned char ustat[64]           # struct ustat (32)
    long bad_tv[2]
    long bad_ts[2]
    char too_long[TOO_LONG + 1]
    int status


cdef inline SystemScratch *scratch(iow_worker *w) noexcept nogil:
    return <SystemScratch *>w.scratch


# ---- system_queries ----

cdef uint64_t system_queries_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SystemScratch *s = scratch(w)
    cdef unsigned int *modes = <unsigned int *>s.timex
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_gettimeofday, <long>s.tv, 0))
        iow_tally_ret(&w.iter[1], iow_sys1(IOW_NR_time, 0))
        iow_tally_ret(&w.iter[2], iow_sys1(__NR_times, <long>s.tms))
        iow_tally_ret(&w.iter[3], iow_sys2(__NR_clock_getres, CLOCK_MONOTONIC, <long>s.ts))
        modes[0] = 0     # read only: the kernel changes nothing and fills in the rest
        iow_tally_ret(&w.iter[4], iow_sys1(__NR_adjtimex, <long>s.timex))
        modes[0] = 0
        iow_tally_ret(&w.iter[5], iow_sys2(__NR_clock_adjtime, CLOCK_REALTIME, <long>s.timex))
        iow_tally_ret(&w.iter[6], iow_sys2(__NR_getrusage, RUSAGE_SELF, <long>s.usage))
        iow_tally_ret(&w.iter[7], iow_sys2(__NR_getrlimit, RLIMIT_NOFILE, <long>s.rlim))
        iow_tally_ret(&w.iter[8], iow_sys4(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, <long>s.rlim))
        iow_tally_ret(&w.iter[9], iow_sys1(__NR_personality, PERSONALITY_QUERY))
        iow_tally_ret(&w.iter[10], iow_sys3(IOW_NR_sysfs, SYSFS_COUNT, 0, 0))
        iow_tally_ret(&w.iter[11], iow_sys2(IOW_NR_ustat, 0, <long>s.ustat))
    return n


# ---- system_time_rejected ----

cdef uint64_t system_time_rejected_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SystemScratch *s = scratch(w)
    cdef uint64_t i
    s.bad_tv[0] = 0
    s.bad_tv[1] = USEC_OUT_OF_RANGE
    s.bad_ts[0] = 0
    s.bad_ts[1] = NSEC_OUT_OF_RANGE
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_settimeofday, <long>s.bad_tv, 0))
        iow_tally_ret(&w.iter[1], iow_sys2(__NR_clock_settime, CLOCK_REALTIME, <long>s.bad_ts))
    return n


# ---- system_contained ----

cdef void contained_child(iow_worker *w, iow_tally *t) noexcept nogil:
    # The forked child's calls (CONTAINED_EVENTS of them); all it changes ends with it.
    cdef SystemScratch *s = scratch(w)
    iow_tally_ret(&t[0], iow_sys0(__NR_setsid))
    iow_tally_ret(&t[1], iow_sys1(__NR_getsid, 0))
    # a new session has no controlling terminal: there is nothing to hang up
    iow_tally_ret(&t[2], iow_sys0(IOW_NR_vhangup))
    iow_tally_ret(&t[3], iow_sys1(__NR_umask, UMASK_SET))
    iow_tally_ret(&t[4], iow_sys1(__NR_umask, 0))
    iow_tally_ret(&t[5], iow_sys1(__NR_unshare, CLONE_NEWUTS))
    iow_tally_ret(&t[6], iow_sys2(__NR_sethostname, <long>HOST_NAME, NAME_LEN))
    iow_tally_ret(&t[7], iow_sys2(__NR_setdomainname, <long>HOST_NAME, NAME_LEN))
    iow_tally_ret(&t[8], iow_sys2(__NR_sethostname, <long>s.too_long, TOO_LONG))
    iow_tally_ret(&t[9], iow_sys2(__NR_setns, -1, CLONE_NEWUTS))
    iow_tally_ret(&t[10], iow_sys1(__NR_chroot, <long>w.dir))
    iow_tally_ret(&t[11], iow_sys4(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, <long>s.rlim))
    iow_tally_ret(&t[12], iow_sys2(__NR_setrlimit, RLIMIT_NOFILE, <long>s.rlim))
    iow_tally_ret(&t[13], iow_sys4(__NR_prlimit64, 0, RLIMIT_NOFILE, <long>s.rlim, 0))


cdef uint64_t system_contained_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef SystemScratch *s = scratch(w)
    cdef uint64_t i
    memset(s.too_long, b'x', TOO_LONG)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        fork_child(w, w.iter, contained_child, CONTAINED_EVENTS, &s.status)
    return n


# ---- system_rejected ----

cdef uint64_t system_rejected_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    iow_path(w, P_MISSING, b"missing/acct")
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys4(__NR_reboot, BAD_REBOOT_MAGIC, 0, BAD_REBOOT_MAGIC, 0))
        iow_tally_ret(&w.iter[1], iow_sys1(__NR_acct, <long>w.path[P_MISSING]))
        iow_tally_ret(&w.iter[2], iow_sys3(__NR_syslog, SYSLOG_ACTION_SIZE_BUFFER, 0, 0))
    return n


# ---- system_ioport, system_ioport_absent ----

cdef uint64_t system_ioport_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys1(IOW_NR_iopl, 0))
        iow_tally_ret(&w.iter[1], iow_sys3(IOW_NR_ioperm, IO_PORT, 1, 0))
    return n


# ---- requirements ----

def _uts_namespaces():
    if not os.path.exists("/proc/self/ns/uts"):
        return "the kernel has no UTS namespaces (CONFIG_UTS_NS): sethostname would change the host"
    return None


def _ioport(absent):
    return built_with("iopl/ioperm", "CONFIG_X86_IOPL_IOPERM", IOW_NR_iopl, 0, absent=absent)


# ---- the table ----

SCENARIOS = scenarios("system", [
    dict(name="system_queries",
         summary="clocks, time adjustment (modes 0), usage, limits, personality, sysfs, ustat: read only",
         kernel=kernel(system_queries_loop),
         requires=[legacy_syscall("time"), in_table("sysfs"), in_table("ustat")],
         iteration=["gettimeofday(&tv, NULL) -> 0", "time(NULL) -> >=1", "times(&tms) -> >=0",
                    "clock_getres(CLOCK_MONOTONIC, &res) -> 0",
                    "adjtimex({modes=0}) -> >=0",
                    "clock_adjtime(CLOCK_REALTIME, {modes=0}) -> >=0",
                    "getrusage(RUSAGE_SELF, &usage) -> 0",
                    "getrlimit(RLIMIT_NOFILE, &rlim) -> 0",
                    "prlimit64(0, RLIMIT_NOFILE, NULL, &rlim) -> 0",
                    "personality(0xffffffff) -> >=0",
                    "sysfs(3, 0, 0) -> >=1",
                    "ustat(0, &ubuf) -> -EINVAL"],
         notes="Read only, for any user. adjtimex and clock_adjtime with modes 0 read the "
               "kernel clock's state (the result is the clock state, TIME_OK or another) and "
               "change nothing; prlimit64 with no new limit reads; personality(0xffffffff) "
               "queries the persona without setting it; sysfs(3) counts the filesystem types; "
               "ustat of device 0 (no filesystem) is -EINVAL. The raw time and gettimeofday "
               "enter the kernel (a libc call would use the vDSO)."),
    dict(name="system_time_rejected",
         summary="settimeofday and clock_settime with an out-of-range fraction: -EINVAL, clock untouched",
         kernel=kernel(system_time_rejected_loop),
         iteration=["settimeofday({tv_sec=0, tv_usec=1000001}, NULL) -> -EINVAL",
                    "clock_settime(CLOCK_REALTIME, {tv_sec=0, tv_nsec=1000000000}) -> -EINVAL"],
         notes="Rejected before the kernel acts: it checks the fraction (tv_usec above one "
               "second, tv_nsec at one second) before the permission and before setting the "
               "clock, so the result is -EINVAL for any user and the time never changes."),
    dict(name="system_contained",
         summary="a forked child: setsid, vhangup, umask, its own UTS namespace's names, chroot, rlimit",
         kernel=kernel(system_contained_loop), needs_dir=True,
         requires=[in_table("vhangup"), _uts_namespaces, capability("CAP_SYS_ADMIN"),
                   # vhangup checks capable(): the initial user namespace's
                   capability("CAP_SYS_CHROOT"), capability("CAP_SYS_TTY_CONFIG", True)],
         iteration=forked_child([
             "setsid() -> >=1", "getsid(0) -> >=1", "vhangup() -> 0",
             "umask(077) -> >=0", "umask(0) -> 63",
             "unshare(CLONE_NEWUTS) -> 0",
             'sethostname("ioworkload", 10) -> 0', 'setdomainname("ioworkload", 10) -> 0',
             f'sethostname("{"x" * 65}", 65) -> -EINVAL',
             "setns(-1, CLONE_NEWUTS) -> -EBADF",
             'chroot("<dir>") -> 0',
             "prlimit64(0, RLIMIT_NOFILE, NULL, &rlim) -> 0",
             "setrlimit(RLIMIT_NOFILE, &rlim) -> 0",
             "prlimit64(0, RLIMIT_NOFILE, &rlim, NULL) -> 0"]),
         notes="Contained: every call is a forked child's, which exits at the end of the "
               "iteration. It starts a session of its own (so it has no controlling terminal "
               "and vhangup hangs up nothing), sets its umask and reads it back (63 = 077), "
               "moves to a new UTS namespace of its own before sethostname and setdomainname "
               "(the host's names never change; a 65-byte name is -EINVAL, longer than the "
               "kernel takes), calls setns on no descriptor (-EBADF), chroots into the "
               "worker's private directory, and writes back its own RLIMIT_NOFILE as it read "
               "it. Needs root (CAP_SYS_ADMIN, CAP_SYS_CHROOT, CAP_SYS_TTY_CONFIG); as "
               "another user it is unsupported."),
    dict(name="system_rejected",
         summary="reboot with a bad magic and acct of a missing path, rejected; syslog's buffer size",
         kernel=kernel(system_rejected_loop), needs_dir=True,
         # each checked with capable(): the initial user namespace's (unshare -Ur: -EPERM)
         requires=[capability("CAP_SYS_BOOT", True), capability("CAP_SYS_PACCT", True),
                   capability("CAP_SYSLOG", True)],
         iteration=["reboot(0xbad, 0, 0xbad, NULL) -> -EINVAL",
                    'acct("<dir>/missing/acct") -> -ENOENT',
                    "syslog(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0) -> >=1"],
         notes="Rejected before the kernel acts: reboot checks its magic numbers (0xbad is "
               "neither, nor is the command one) right after the capability; acct opens the "
               "path before accounting starts, and <dir>/missing does not exist (-ENOENT). "
               "syslog's SIZE_BUFFER only reads the log buffer's size. Without the "
               "capabilities each of them is -EPERM first: needs root (CAP_SYS_BOOT, "
               "CAP_SYS_PACCT, CAP_SYSLOG); as another user it is unsupported."),
    dict(name="system_ioport",
         summary="iopl(0) and ioperm(0x80, 1, 0): the level and the port left off",
         kernel=kernel(system_ioport_loop), requires=[_ioport(False)],
         iteration=["iopl(0) -> 0", "ioperm(0x80, 1, 0) -> 0"],
         notes="Asks for no I/O privilege: iopl(0) keeps the thread at level 0 and ioperm "
               "turns port 0x80 off, which needs no capability. A kernel without them "
               "(CONFIG_X86_IOPL_IOPERM off) runs system_ioport_absent instead."),
    dict(name="system_ioport_absent",
         summary="iopl(0) and ioperm(0x80, 1, 0) on a kernel built without them: -ENOSYS",
         kernel=kernel(system_ioport_loop), requires=[_ioport(True)],
         iteration=["iopl(0) -> -ENOSYS", "ioperm(0x80, 1, 0) -> -ENOSYS"],
         notes="The same calls as system_ioport, on a kernel built without "
               "CONFIG_X86_IOPL_IOPERM: both keep their tracepoints and return -ENOSYS."),
])
