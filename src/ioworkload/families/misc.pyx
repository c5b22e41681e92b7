# Family 'misc': ior's misc, sched, priority and mixed-family scenarios
# (../shared/reference/ior-ioworkload-catalog.md, 4.17): getcpu / uname / sysinfo / vmsplice /
# alarm, the read-only scheduler queries and the affinity round trip, get/setpriority and
# ioprio_get/set round trips, and one pass over seven syscall families.
#
# Every "set" targets the calling thread (pid/who 0): the worker's own, which ends with the run,
# so a run inside the caller's process (ioworkload.run) never touches the caller's threads. The
# affinity and the nice value are written back as just read; ioprio_basic's teardown puts back
# the I/O priority the thread came with (ior's fallback may have set an explicit one).

from libc.stdint cimport uint64_t
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, kernel,
)
from ioworkload.families._common cimport close_tracked, one_call_loop

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_getcpu
        __NR_uname
        __NR_sysinfo
        __NR_pipe2
        __NR_vmsplice
        __NR_read
        __NR_write
        __NR_close
        __NR_openat
        __NR_mkdirat
        __NR_unlinkat
        __NR_mmap
        __NR_munmap
        __NR_socketpair
        __NR_getpid
        __NR_getppid
        __NR_nanosleep
        __NR_sched_yield
        __NR_sched_getaffinity
        __NR_sched_setaffinity
        __NR_sched_getscheduler
        __NR_sched_getparam
        __NR_sched_getattr
        __NR_sched_get_priority_max
        __NR_sched_get_priority_min
        __NR_sched_rr_get_interval
        __NR_getpriority
        __NR_setpriority
        __NR_ioprio_get
        __NR_ioprio_set
        IOW_NR_alarm

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        AT_REMOVEDIR
        O_RDWR
        O_CREAT
        O_TRUNC
        O_CLOEXEC

cdef extern from "<sys/mman.h>" nogil:
    enum:
        PROT_READ
        PROT_WRITE
        MAP_PRIVATE
        MAP_ANONYMOUS

cdef extern from "<sys/socket.h>" nogil:
    enum:
        AF_UNIX
        SOCK_STREAM
        SOCK_CLOEXEC

cdef extern from "<sched.h>" nogil:
    enum:
        SCHED_OTHER

cdef extern from "<sys/resource.h>" nogil:
    enum:
        PRIO_PROCESS

# <linux/ioprio.h> is missing from older kernel headers; these values are ABI.
cdef extern from *:
    """
    #define IOW_IOPRIO_WHO_PROCESS 1
    #define IOW_IOPRIO_CLASS_SHIFT 13
    #define IOW_IOPRIO_CLASS_BE 2
    """
    enum:
        IOW_IOPRIO_WHO_PROCESS
        IOW_IOPRIO_CLASS_SHIFT
        IOW_IOPRIO_CLASS_BE

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import legacy_syscall

CONSTANTS = {
    "SCHED_OTHER": SCHED_OTHER, "PRIO_PROCESS": PRIO_PROCESS,
    "IOPRIO_WHO_PROCESS": IOW_IOPRIO_WHO_PROCESS,
}

cdef enum:
    VMSPLICE_BYTES = 16       # ior's buffer: far below a pipe's 64 KiB, vmsplice never blocks
    AFFINITY_BYTES = 128      # Go's unix.CPUSet (1024 CPUs), as ior passes it
    SCHED_ATTR_SIZE_VER0 = 48
    PAGE = 4096
    NANOSLEEP_NS = 1000       # ior's 1 us nap
    # ior's fallback when ioprio_get reports no class: best effort, level 4 (0x4004)
    IOPRIO_BE_4 = (IOW_IOPRIO_CLASS_BE << IOW_IOPRIO_CLASS_SHIFT) | 4
    P_DIR = 0                 # w.path slots of family_mixed
    P_FILE = 1

cdef const char *FAMILY_PAYLOAD = b"family"

cdef extern from "<time.h>" nogil:
    struct timespec:
        long tv_sec
        long tv_nsec

ctypedef struct IoVec:
    void *base
    size_t len

# What the kernel writes and reads through our pointers, in the worker's zeroed scratch area.
ctypedef struct MiscScratch:
    unsigned int cpu
    unsigned int node
    unsigned char uts[390]              # struct new_utsname: 6 x 65 bytes
    unsigned char info[128]             # struct sysinfo (112 bytes on 64-bit)
    int fds[2]
    unsigned char spliced[VMSPLICE_BYTES]   # zeroes, gathered into the pipe
    unsigned char drained[VMSPLICE_BYTES]
    IoVec iov
    unsigned char mask[AFFINITY_BYTES]
    int param
    unsigned char attr[SCHED_ATTR_SIZE_VER0]
    timespec interval
    timespec nap


# ---- misc_basic ----

cdef uint64_t misc_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef MiscScratch *s = <MiscScratch *>w.scratch
    cdef uint64_t i
    cdef long got
    s.iov.base = s.spliced
    s.iov.len = VMSPLICE_BYTES
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_getcpu, <long>&s.cpu, <long>&s.node, 0))
        iow_tally_ret(&w.iter[1], iow_sys1(__NR_uname, <long>s.uts))
        iow_tally_ret(&w.iter[2], iow_sys1(__NR_sysinfo, <long>s.info))
        if iow_tally_ret(&w.iter[3], iow_sys2(__NR_pipe2, <long>s.fds, 0)) == 0:
            w.fd[0] = s.fds[0]
            w.fd[1] = s.fds[1]
        got = iow_tally_ret(&w.iter[4], iow_sys4(__NR_vmsplice, w.fd[1], <long>&s.iov, 1, 0))
        if got > 0:   # ior drains only what vmsplice put in
            iow_tally_ret(&w.iter[5], iow_sys3(__NR_read, w.fd[0], <long>s.drained, got))
        # Go's deferred closes: the write end (deferred last) first
        close_tracked(&w.iter[6], &w.fd[1])
        close_tracked(&w.iter[7], &w.fd[0])
        iow_tally_ret(&w.iter[8], iow_sys1(IOW_NR_alarm, 0))
    return n


# ---- sched_basic ----

cdef uint64_t sched_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef MiscScratch *s = <MiscScratch *>w.scratch
    cdef uint64_t i
    cdef unsigned int *attr_size = <unsigned int *>s.attr
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys0(__NR_sched_yield))
        # the mask just read goes back unchanged; a failed read writes nothing back
        if iow_tally_ret(&w.iter[1], iow_sys3(__NR_sched_getaffinity, 0, AFFINITY_BYTES,
                                              <long>s.mask)) > 0:
            iow_tally_ret(&w.iter[2], iow_sys3(__NR_sched_setaffinity, 0, AFFINITY_BYTES,
                                               <long>s.mask))
        iow_tally_ret(&w.iter[3], iow_sys1(__NR_sched_getscheduler, 0))
        iow_tally_ret(&w.iter[4], iow_sys2(__NR_sched_getparam, 0, <long>&s.param))
        attr_size[0] = SCHED_ATTR_SIZE_VER0   # sched_attr.size: the struct's version
        iow_tally_ret(&w.iter[5], iow_sys4(__NR_sched_getattr, 0, <long>s.attr,
                                           SCHED_ATTR_SIZE_VER0, 0))
        iow_tally_ret(&w.iter[6], iow_sys1(__NR_sched_get_priority_max, SCHED_OTHER))
        iow_tally_ret(&w.iter[7], iow_sys1(__NR_sched_get_priority_min, SCHED_OTHER))
        iow_tally_ret(&w.iter[8], iow_sys2(__NR_sched_rr_get_interval, 0, <long>&s.interval))
    return n


# ---- priority_basic, ioprio_basic ----

cdef uint64_t priority_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long prio
    for i in range(n):
        if iow_stop_requested(w):
            return i
        # the raw call returns 20 - nice (1..40), never a negative nice
        prio = iow_tally_ret(&w.iter[0], iow_sys2(__NR_getpriority, PRIO_PROCESS, 0))
        if prio > 0:
            iow_tally_ret(&w.iter[1], iow_sys3(__NR_setpriority, PRIO_PROCESS, 0, 20 - prio))
    return n


cdef int ioprio_setup(iow_worker *w) noexcept nogil:
    """The thread's I/O priority as it came (0: no class set), for the teardown to put back."""
    w.val[0] = iow_tally_ret(&w.setup[0], iow_sys2(__NR_ioprio_get, IOW_IOPRIO_WHO_PROCESS, 0))
    return <int>w.val[0] if w.val[0] < 0 else 0


cdef uint64_t ioprio_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long prio
    for i in range(n):
        if iow_stop_requested(w):
            return i
        prio = iow_tally_ret(&w.iter[0], iow_sys2(__NR_ioprio_get, IOW_IOPRIO_WHO_PROCESS, 0))
        if prio >= 0:
            iow_tally_ret(&w.iter[1], iow_sys3(__NR_ioprio_set, IOW_IOPRIO_WHO_PROCESS, 0,
                                               prio if prio > 0 else IOPRIO_BE_4))
    return n


cdef void ioprio_teardown(iow_worker *w) noexcept nogil:
    # ior's fallback turns "no class" into an explicit best effort/4: undone here
    if w.val[0] >= 0:
        iow_tally_ret(&w.teardown[0], iow_sys3(__NR_ioprio_set, IOW_IOPRIO_WHO_PROCESS, 0,
                                               w.val[0]))


# ---- family_mixed ----

cdef int family_mixed_setup(iow_worker *w) noexcept nogil:
    # No syscalls: the paths.
    iow_path(w, P_DIR, b"family-mixed")
    iow_path(w, P_FILE, b"family-mixed/family-file.txt")
    return 0


cdef uint64_t family_mixed_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef MiscScratch *s = <MiscScratch *>w.scratch
    cdef uint64_t i
    cdef long addr
    s.nap.tv_sec = 0
    s.nap.tv_nsec = NANOSLEEP_NS
    for i in range(n):
        if iow_stop_requested(w):
            return i
        # FS: ior's temporary directory with one file, removed again
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_mkdirat, AT_FDCWD, <long>w.path[P_DIR], 0o700))
        w.fd[0] = iow_tally_ret(&w.iter[1], iow_sys4(__NR_openat, AT_FDCWD, <long>w.path[P_FILE],
                                                     O_RDWR | O_CREAT | O_TRUNC, 0o644))
        if w.fd[0] >= 0:
            iow_tally_ret(&w.iter[2], iow_sys3(__NR_write, w.fd[0], <long>FAMILY_PAYLOAD, 6))
        close_tracked(&w.iter[3], &w.fd[0])
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>w.path[P_FILE], 0))
        iow_tally_ret(&w.iter[5], iow_sys3(__NR_unlinkat, AT_FDCWD, <long>w.path[P_DIR],
                                           AT_REMOVEDIR))
        # Memory: one anonymous page, touched, unmapped
        addr = iow_tally_ret(&w.iter[6], iow_sys6(__NR_mmap, 0, PAGE, PROT_READ | PROT_WRITE,
                                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        if addr > 0:
            (<unsigned char *>addr)[0] = 1
            iow_tally_ret(&w.iter[7], iow_sys2(__NR_munmap, addr, PAGE))
        # IPC: a pipe, closed in Go's deferred order (the write end first)
        if iow_tally_ret(&w.iter[8], iow_sys2(__NR_pipe2, <long>s.fds, O_CLOEXEC)) == 0:
            w.fd[0] = s.fds[0]
            w.fd[1] = s.fds[1]
        close_tracked(&w.iter[9], &w.fd[1])
        close_tracked(&w.iter[10], &w.fd[0])
        # Network: a socket pair, likewise
        if iow_tally_ret(&w.iter[11], iow_sys4(__NR_socketpair, AF_UNIX,
                                               SOCK_STREAM | SOCK_CLOEXEC, 0, <long>s.fds)) == 0:
            w.fd[0] = s.fds[0]
            w.fd[1] = s.fds[1]
        close_tracked(&w.iter[12], &w.fd[1])
        close_tracked(&w.iter[13], &w.fd[0])
        # Process, Sched, Time
        iow_tally_ret(&w.iter[14], iow_sys0(__NR_getpid))
        iow_tally_ret(&w.iter[15], iow_sys0(__NR_sched_yield))
        iow_tally_ret(&w.iter[16], iow_sys2(__NR_nanosleep, <long>&s.nap, 0))
    return n


# ---- crash ----

cdef uint64_t crash_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return one_call_loop(w, n, __NR_getppid)


cdef uint64_t crash_ior_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return n   # ior's crash issues nothing: it fails


# ---- requirements ----

def _no_alarm_pending():
    """alarm(0) cancels the process's pending alarm: in a caller's process that has one
    (pytest-timeout, a watchdog) the scenario would take it away."""
    import signal
    if signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        return ("an alarm (ITIMER_REAL) is pending in this process, and misc_basic's alarm(0) "
                "would cancel it: run it in a process of its own (the command line, spawn())")
    return None


def _sched_other():
    """sched_getscheduler(0) returns the policy the worker inherits: declared SCHED_OTHER."""
    import os
    policy = os.sched_getscheduler(0)
    if policy != os.SCHED_OTHER:
        return (f"this thread runs under scheduling policy {policy}, not SCHED_OTHER (0), which "
                f"sched_basic declares sched_getscheduler(0) returns")
    return None


# ---- the table ----

SCENARIOS = scenarios("misc", [
    dict(name="misc_basic",
         summary="getcpu, uname, sysinfo, vmsplice 16 bytes into a pipe and drain it, alarm(0)",
         kernel=kernel(misc_basic_loop), requires=[legacy_syscall("alarm"), _no_alarm_pending],
         iteration=["getcpu(&cpu, &node, NULL) -> 0",
                    "uname(&uts) -> 0",
                    "sysinfo(&info) -> 0",
                    "pipe2(&fds, 0) -> 0",
                    "vmsplice(?, [{&zeroes, 16}], 1, 0) -> 16",
                    "read(?, &buf, 16) -> 16",
                    "close(?) -> 0",
                    "close(?) -> 0",
                    "alarm(0) -> 0"],
         notes="ior's sequence (its Go pipe is pipe2(fds, 0)); the pipe's fds come back through "
               "&fds, hence ? (the vmsplice and the first close: the write end; the read and "
               "the second close: the read end). uname is the kernel's newuname (tracepoint "
               "sys_enter_newuname). The 16 bytes are zeroes, as ior's buffer. alarm(0) "
               "returns the seconds left of a pending alarm: a scenario process has none, so 0; "
               "run in a caller's process that has one pending, it is unsupported rather than "
               "cancel it. alarm is x86-64's legacy call (aarch64 lacks it: unsupported there). "
               "ior ignores alarm's result; here it must be 0."),
    dict(name="sched_basic",
         summary="sched_yield, affinity read and written back, policy/param/attr/priority "
                 "range/RR interval reads",
         kernel=kernel(sched_basic_loop), requires=[_sched_other],
         iteration=["sched_yield() -> 0",
                    "sched_getaffinity(0, 128, &mask) -> >=8",
                    "sched_setaffinity(0, 128, &mask) -> 0",
                    "sched_getscheduler(0) -> 0",
                    "sched_getparam(0, &param) -> 0",
                    "sched_getattr(0, {size=48}, 48, 0) -> 0",
                    "sched_get_priority_max(SCHED_OTHER) -> 0",
                    "sched_get_priority_min(SCHED_OTHER) -> 0",
                    "sched_rr_get_interval(0, &interval) -> 0"],
         notes="ior's sequence on the calling thread (pid 0). The raw sched_getaffinity returns "
               "the bytes of the kernel's CPU mask it copied (a multiple of 8: 8 up to 64 "
               "CPUs), not 0 as glibc's wrapper does; the 128-byte buffer is Go's CPUSet. The "
               "mask read is written back unchanged (also under --cpu), so the affinity stays "
               "what it was; the policy is never changed (SCHED_OTHER is required: "
               "unsupported under another policy)."),
    dict(name="priority_basic",
         summary="getpriority(PRIO_PROCESS, 0), setpriority back to the same nice value",
         kernel=kernel(priority_basic_loop),
         iteration=["getpriority(PRIO_PROCESS, 0) -> >=1",
                    "setpriority(PRIO_PROCESS, 0, ?) -> 0"],
         notes="The raw getpriority returns 20 - nice (1..40); setpriority gets the nice value "
               "itself, 20 minus that result (? in the expect file: the run's nice, 0 unless "
               "the caller is reniced). who = 0 is the calling thread: the worker's own; "
               "writing back the value just read needs no privilege and changes nothing."),
    dict(name="ioprio_basic",
         summary="ioprio_get(IOPRIO_WHO_PROCESS, 0), ioprio_set back to the value read",
         kernel=kernel(ioprio_basic_loop, ioprio_setup, ioprio_teardown),
         setup=["orig = ioprio_get(IOPRIO_WHO_PROCESS, 0) -> >=0"],
         iteration=["ioprio_get(IOPRIO_WHO_PROCESS, 0) -> >=0",
                    "ioprio_set(IOPRIO_WHO_PROCESS, 0, ?) -> 0"],
         teardown=["ioprio_set(IOPRIO_WHO_PROCESS, 0, orig) -> 0"],
         notes="ior's rule: ioprio_set gets the value ioprio_get returned, or best effort level "
               "4 (0x4004) when that is 0 (no class set, what a thread that never set one "
               "reads on the reference kernel); the realtime class is never asked for. So the "
               "first iteration may turn \"no class\" into an explicit 0x4004 and the later "
               "ones read and write that (? in the expect file: 0x4004 unless the caller set "
               "another, e.g. with ionice). The setup reads the value the thread came with and "
               "the teardown writes it back (0, IOPRIO_CLASS_NONE, is accepted). who = 0 is the "
               "calling thread, the worker's own: the caller's threads keep their I/O "
               "priority."),
    dict(name="family_mixed",
         summary="one call or pair from each of seven families: FS, memory, IPC, network, "
                 "process, sched, time",
         kernel=kernel(family_mixed_loop, family_mixed_setup),
         needs_dir=True,
         iteration=['mkdirat(AT_FDCWD, "<dir>/family-mixed", 0700) -> 0',
                    'fd = openat(AT_FDCWD, "<dir>/family-mixed/family-file.txt", '
                    'O_RDWR|O_CREAT|O_TRUNC, 0644) -> >=0',
                    'write(fd, "family", 6) -> 6',
                    "close(fd) -> 0",
                    'unlinkat(AT_FDCWD, "<dir>/family-mixed/family-file.txt", 0) -> 0',
                    'unlinkat(AT_FDCWD, "<dir>/family-mixed", AT_REMOVEDIR) -> 0',
                    "addr = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, "
                    "-1, 0) -> >=4096",
                    "munmap(addr, 4096) -> 0",
                    "pipe2(&fds, O_CLOEXEC) -> 0",
                    "close(?) -> 0",
                    "close(?) -> 0",
                    "socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, &fds) -> 0",
                    "close(?) -> 0",
                    "close(?) -> 0",
                    "getpid() -> >=1",
                    "sched_yield() -> 0",
                    "nanosleep({tv_sec=0, tv_nsec=1000}, NULL) -> 0"],
         notes="ior's once-through sequence: FS (openat/write), Memory (mmap/munmap), IPC "
               "(pipe2), Network (socketpair), Process (getpid), Sched (sched_yield), Time "
               "(nanosleep 1 us). ior repeats it for 3 s with a 25 ms sleep between passes; "
               "here one iteration is one pass, without the sleep (the Go runtime's own calls "
               "around it could not be declared). ior's temporary directory is family-mixed in "
               "the worker's private directory: made, and removed with its file (mkdirat, "
               "unlinkat x2), as os.MkdirTemp and RemoveAll do; the pipe's and the pair's fds "
               "are closed in Go's deferred order (the second fd first) and come back through "
               "&fds, hence ?. The page is touched once (a fault, no syscall)."),
    dict(name="crash",
         summary="ior's harness check: getppid, then the process exits with status 1",
         kernel=kernel(crash_loop), exit_status=1,
         iteration=["getppid() -> >=1"],
         notes="ior's `crash` issues nothing itself and fails (\"intentional crash for "
               "testing\"), so its process exits 1: a tracer's test of a target that fails. "
               "Here the scenario process prints its PID line as any other, runs its iterations "
               "(getppid, so a tracer sees calls before the failure), then ends with "
               "exit_group(1) instead of exit_group(0): the expect file's last event and its "
               "`exit_status` say so. The command reports the run as usual, then fails with "
               "exit 1 and `scenario crash failed: intentional crash for testing` on stderr "
               "(after --hold-file, so a tracer can drain). Everything else is as declared: "
               "--verify still checks every count, and a mismatch is reported as for any "
               "scenario. ioworkload.run() (threads of the caller's process) cannot end the "
               "caller: crash is unsupported there; spawn() runs it (its Result is whole, "
               "close() returns 1)."),
])

# ior mode's own sequence (ior_mode.py): ior's crash issues no call of its own.
IOR_SCENARIOS = scenarios("misc", [
    dict(name="crash",
         summary="ior's harness check: no call of its own, the process exits with status 1",
         kernel=kernel(crash_ior_loop), exit_status=1, once=True,
         notes="ior's sequence: after the release the scenario process issues only the "
               "runner's own calls (the done wake, the leave wait) and exit_group(1); in ior "
               "mode a failure skips the hold file, so it exits at once, and the command "
               "prints `scenario crash failed: intentional crash for testing` and exits 1."),
])
