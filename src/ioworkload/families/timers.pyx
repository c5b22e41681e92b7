# Family 'timers': ior's sleeps, timers and polling (../shared/reference/ior-ioworkload-catalog.md,
# 4.7): nanosleep / clock_nanosleep (relative and TIMER_ABSTIME), a POSIX timer's life,
# setitimer/getitimer that arm nothing, and epoll / poll / select waits on a pipe.
#
# Nothing here waits by chance: the sleeps are ior's (2-3 ms, real), the timers are disarmed or
# deleted within the iteration, and every readiness wait finds its byte already written, so it
# returns 1 at once and never times out.

from libc.errno cimport ERANGE
from libc.stdint cimport uint32_t, uint64_t
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6,
    iow_tally_ret, iow_stop_requested, kernel,
)
from ioworkload.families._common cimport close_tracked

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_read
        __NR_write
        __NR_close
        __NR_nanosleep
        __NR_clock_nanosleep
        __NR_clock_gettime
        __NR_timer_create
        __NR_timer_settime
        __NR_timer_gettime
        __NR_timer_getoverrun
        __NR_timer_delete
        __NR_setitimer
        __NR_getitimer
        __NR_pipe2
        __NR_epoll_create1
        __NR_epoll_ctl
        __NR_epoll_pwait
        __NR_ppoll
        __NR_pselect6
        IOW_NR_epoll_wait
        IOW_NR_poll
        IOW_NR_select

# epoll_pwait2 (5.11) is missing from older headers; its number is the same on every
# architecture's unified table.
cdef extern from *:
    """
    #include <asm/unistd.h>
    #ifdef __NR_epoll_pwait2
    #define IOW_NR_epoll_pwait2 __NR_epoll_pwait2
    #else
    #define IOW_NR_epoll_pwait2 441
    #endif
    """
    enum:
        IOW_NR_epoll_pwait2

cdef extern from "<time.h>" nogil:
    enum:
        CLOCK_MONOTONIC
        TIMER_ABSTIME
    struct timespec:
        long tv_sec
        long tv_nsec
    struct itimerspec:
        timespec it_interval
        timespec it_value

cdef extern from "<sys/time.h>" nogil:
    enum:
        ITIMER_REAL
    struct timeval:
        long tv_sec
        long tv_usec
    struct itimerval:
        timeval it_interval
        timeval it_value

cdef extern from "<sys/epoll.h>" nogil:
    enum:
        EPOLL_CLOEXEC
        EPOLL_CTL_ADD
        EPOLLIN
    union epoll_data_t:
        int fd
        uint64_t u64
    struct epoll_event:     # packed on x86-64: the header's own declaration keeps it so
        uint32_t events
        epoll_data_t data

cdef extern from "<poll.h>" nogil:
    enum:
        POLLIN
    struct pollfd:
        int fd
        short events
        short revents

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import legacy_syscall, syscall_implemented

# Names manifests use that the common headers (_consts) do not have.
CONSTANTS = {
    "ITIMER_REAL": ITIMER_REAL, "EPOLL_CLOEXEC": EPOLL_CLOEXEC, "EPOLL_CTL_ADD": EPOLL_CTL_ADD,
    "EPOLLIN": EPOLLIN, "POLLIN": POLLIN,
}

cdef enum:
    MS = 1000000                # ns
    NANOSLEEP_NS = 2 * MS       # ior's sleeps: nanosleep 2 ms, relative clock_nanosleep 3 ms,
    REL_SLEEP_NS = 3 * MS       # absolute clock_nanosleep now + 2 ms
    ABS_AHEAD_NS = 2 * MS
    TIMER_VALUE_S = 3600        # ior's POSIX timer: armed an hour ahead, deleted at once
    MAX_EVENTS = 4              # ior's epoll event array
    WAIT_MS = 100               # ior's wait timeouts (never reached: the byte is there first)
    FD_SET_WORDS = 16           # a 1024-bit fd_set
    READ_END = 0                # w.fd slots
    WRITE_END = 1
    EPOLL_FD = 2

cdef const char *WAKE_BYTE = b"\x01"    # ior's wake byte


# ---- sleep_syscalls ----

ctypedef struct SleepScratch:
    timespec nanosleep_req
    timespec relative_req
    timespec now
    timespec deadline


cdef uint64_t sleep_syscalls_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """nanosleep 2 ms, relative clock_nanosleep 3 ms, clock_gettime (a real syscall, as ior's
    x/sys/unix call is), clock_nanosleep(TIMER_ABSTIME) to now + 2 ms. Signals are blocked on
    the workers: each sleep runs to its end and returns 0."""
    cdef SleepScratch *s = <SleepScratch *>w.scratch
    cdef uint64_t i
    cdef long ahead
    s.nanosleep_req.tv_nsec = NANOSLEEP_NS
    s.relative_req.tv_nsec = REL_SLEEP_NS
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_nanosleep, <long>&s.nanosleep_req, 0))
        iow_tally_ret(&w.iter[1], iow_sys4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0,
                                           <long>&s.relative_req, 0))
        iow_tally_ret(&w.iter[2], iow_sys2(__NR_clock_gettime, CLOCK_MONOTONIC, <long>&s.now))
        ahead = s.now.tv_nsec + ABS_AHEAD_NS
        s.deadline.tv_sec = s.now.tv_sec + ahead // 1000000000
        s.deadline.tv_nsec = ahead % 1000000000
        iow_tally_ret(&w.iter[3], iow_sys4(__NR_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME,
                                           <long>&s.deadline, 0))
    return n


# ---- posix_timer_lifecycle ----

ctypedef struct TimerScratch:
    int timer_id            # the kernel's timer_t: an int, not an fd
    itimerspec new_value
    itimerspec cur_value


cdef uint64_t posix_timer_lifecycle_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """timer_create (NULL sigevent: SIGALRM on expiry, which an hour ahead never comes),
    settime, gettime, getoverrun, delete: no timer outlives its iteration."""
    cdef TimerScratch *s = <TimerScratch *>w.scratch
    cdef uint64_t i
    s.new_value.it_value.tv_sec = TIMER_VALUE_S
    for i in range(n):
        if iow_stop_requested(w):
            return i
        s.timer_id = -1
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_timer_create, CLOCK_MONOTONIC, 0,
                                           <long>&s.timer_id))
        iow_tally_ret(&w.iter[1], iow_sys4(__NR_timer_settime, s.timer_id, 0,
                                           <long>&s.new_value, 0))
        iow_tally_ret(&w.iter[2], iow_sys2(__NR_timer_gettime, s.timer_id, <long>&s.cur_value))
        iow_tally_ret(&w.iter[3], iow_sys1(__NR_timer_getoverrun, s.timer_id))
        iow_tally_ret(&w.iter[4], iow_sys1(__NR_timer_delete, s.timer_id))
    return n


# ---- interval_timer_noop ----

ctypedef struct ItimerScratch:
    itimerval zero          # all zero: disarms ITIMER_REAL, arms nothing
    itimerval out


cdef uint64_t interval_timer_noop_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef ItimerScratch *s = <ItimerScratch *>w.scratch
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_setitimer, ITIMER_REAL, <long>&s.zero, 0))
        iow_tally_ret(&w.iter[1], iow_sys2(__NR_getitimer, ITIMER_REAL, <long>&s.out))
    return n


def _itimer_real_unarmed():
    """setitimer(ITIMER_REAL, zero) disarms the process's real-time timer: refuse to run in a
    process that has one armed (run() in a caller that uses SIGALRM). The CLI's scenario
    process is a fresh fork, which never inherits one."""
    import signal
    if signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0):
        return ("this process has ITIMER_REAL armed, and interval_timer_noop's "
                "setitimer(ITIMER_REAL, zero) would disarm it (run it in a process of its own)")
    return None


# ---- polling_epoll ----

ctypedef struct PollScratch:
    int fds[2]              # pipe2's output: read end, write end
    epoll_event ctl_event
    epoll_event events[MAX_EVENTS]
    pollfd pfd
    timespec timeout        # epoll_pwait2, ppoll, pselect6 (the last two write back the rest)
    timeval select_timeout  # select writes back the rest too: reset before each call
    unsigned long read_set[FD_SET_WORDS]
    char byte


cdef inline PollScratch *poll_state(iow_worker *w) noexcept nogil:
    return <PollScratch *>w.scratch


cdef int polling_setup(iow_worker *w) noexcept nogil:
    """epoll_create1, pipe2(fds, 0) (Go's syscall.Pipe), epoll_ctl ADD the read end for
    EPOLLIN. -ERANGE when the read end is too high for select's 1024-bit fd_set."""
    cdef PollScratch *s = poll_state(w)
    w.fd[EPOLL_FD] = iow_tally_ret(&w.setup[0], iow_sys1(__NR_epoll_create1, EPOLL_CLOEXEC))
    cdef long r = iow_tally_ret(&w.setup[1], iow_sys2(__NR_pipe2, <long>s.fds, 0))
    if r == 0:
        w.fd[READ_END] = s.fds[0]
        w.fd[WRITE_END] = s.fds[1]
    s.ctl_event.events = EPOLLIN
    s.ctl_event.data.fd = <int>w.fd[READ_END]
    cdef long c = iow_tally_ret(&w.setup[2], iow_sys4(__NR_epoll_ctl, w.fd[EPOLL_FD], EPOLL_CTL_ADD,
                                                      w.fd[READ_END], <long>&s.ctl_event))
    if w.fd[EPOLL_FD] < 0:
        return <int>w.fd[EPOLL_FD]
    if r < 0:
        return <int>r
    if c < 0:
        return <int>c
    if w.fd[READ_END] >= FD_SET_WORDS * 64:
        return -ERANGE
    return 0


cdef inline void wake_wait_drain(iow_worker *w, int slot, long nr, long a, long b, long c,
                                 long d, long e, long f) noexcept nogil:
    """Events slot..slot+2: write the wake byte, the wait nr(a..f) (ready at once: 1), read the
    byte back so the next wait starts from an empty pipe."""
    cdef PollScratch *s = poll_state(w)
    iow_tally_ret(&w.iter[slot], iow_sys3(__NR_write, w.fd[WRITE_END], <long>WAKE_BYTE, 1))
    iow_tally_ret(&w.iter[slot + 1], iow_sys6(nr, a, b, c, d, e, f))
    iow_tally_ret(&w.iter[slot + 2], iow_sys3(__NR_read, w.fd[READ_END], <long>&s.byte, 1))


cdef inline void reset_read_set(PollScratch *s, long fd) noexcept nogil:
    cdef int k
    for k in range(FD_SET_WORDS):
        s.read_set[k] = 0
    s.read_set[fd // 64] = 1UL << (fd % 64)


cdef uint64_t polling_epoll_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef PollScratch *s = poll_state(w)
    cdef uint64_t i
    cdef long ep = w.fd[EPOLL_FD]
    cdef long rfd = w.fd[READ_END]
    cdef long events = <long>s.events
    s.pfd.fd = <int>rfd
    s.pfd.events = POLLIN
    for i in range(n):
        if iow_stop_requested(w):
            return i
        wake_wait_drain(w, 0, IOW_NR_epoll_wait, ep, events, MAX_EVENTS, WAIT_MS, 0, 0)
        wake_wait_drain(w, 3, __NR_epoll_pwait, ep, events, MAX_EVENTS, WAIT_MS, 0, 0)
        s.timeout.tv_sec = 0
        s.timeout.tv_nsec = WAIT_MS * MS
        wake_wait_drain(w, 6, IOW_NR_epoll_pwait2, ep, events, MAX_EVENTS, <long>&s.timeout, 0, 0)
        wake_wait_drain(w, 9, IOW_NR_poll, <long>&s.pfd, 1, WAIT_MS, 0, 0, 0)
        s.timeout.tv_sec = 0
        s.timeout.tv_nsec = WAIT_MS * MS
        wake_wait_drain(w, 12, __NR_ppoll, <long>&s.pfd, 1, <long>&s.timeout, 0, 0, 0)
        reset_read_set(s, rfd)
        s.select_timeout.tv_sec = 0
        s.select_timeout.tv_usec = WAIT_MS * 1000
        wake_wait_drain(w, 15, IOW_NR_select, rfd + 1, <long>s.read_set, 0, 0,
                        <long>&s.select_timeout, 0)
        reset_read_set(s, rfd)
        s.timeout.tv_sec = 0
        s.timeout.tv_nsec = WAIT_MS * MS
        wake_wait_drain(w, 18, __NR_pselect6, rfd + 1, <long>s.read_set, 0, 0, <long>&s.timeout, 0)
    return n


cdef void polling_teardown(iow_worker *w) noexcept nogil:
    """ior's deferred closes, last registered first: write end, read end, epoll fd."""
    close_tracked(&w.teardown[0], &w.fd[WRITE_END])
    close_tracked(&w.teardown[1], &w.fd[READ_END])
    close_tracked(&w.teardown[2], &w.fd[EPOLL_FD])


def _wait_events(wait, args):
    return ['write(?, "\\x01", 1) -> 1', f"{wait}({args}) -> 1", "read(?, &byte, 1) -> 1"]


# ---- the table ----

SCENARIOS = scenarios("timers", [
    dict(name="sleep_syscalls",
         summary="nanosleep 2 ms, clock_nanosleep 3 ms relative and to now + 2 ms absolute",
         kernel=kernel(sleep_syscalls_loop),
         iteration=["nanosleep({tv_sec=0, tv_nsec=2000000}, NULL) -> 0",
                    "clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=3000000}, NULL) -> 0",
                    "clock_gettime(CLOCK_MONOTONIC, &now) -> 0",
                    "clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, {now + 2 ms}, NULL) -> 0"],
         notes="ior loops for 2 s; here one iteration is its body once (about 7 ms of real "
               "sleep). ior's sleep lengths are kept: a tracer reports the requested 2,000,000 "
               "and 3,000,000 ns, and the absolute sleep's request is a point in time, not a "
               "duration. clock_gettime is the syscall (ior's x/sys/unix call is), not the "
               "vDSO. ior tolerates EINTR; the workers block signals, so every sleep returns "
               "0."),
    dict(name="posix_timer_lifecycle",
         summary="timer_create, timer_settime 3600 s ahead, gettime, getoverrun, timer_delete",
         kernel=kernel(posix_timer_lifecycle_loop),
         iteration=["timer_create(CLOCK_MONOTONIC, NULL, &id) -> 0",
                    "timer_settime(?, 0, {it_interval={0, 0}, it_value={3600, 0}}, NULL) -> 0",
                    "timer_gettime(?, &cur) -> 0",
                    "timer_getoverrun(?) -> 0",
                    "timer_delete(?) -> 0"],
         notes="The timer id comes back through &id (a timer_t, not an fd), hence ?. The timer "
               "is armed an hour ahead and deleted in the same iteration: it never fires and "
               "none outlives the run (/proc/<pid>/timers). ior fails on any error; so do we."),
    dict(name="interval_timer_noop",
         summary="setitimer(ITIMER_REAL, zero, NULL) arms nothing, then getitimer",
         kernel=kernel(interval_timer_noop_loop), prepare=_itimer_real_unarmed,
         iteration=["setitimer(ITIMER_REAL, {it_interval={0, 0}, it_value={0, 0}}, NULL) -> 0",
                    "getitimer(ITIMER_REAL, &out) -> 0"],
         notes="An all-zero itimerval disarms ITIMER_REAL and arms nothing: no SIGALRM. The "
               "CLI's scenario process never has that timer armed; ioworkload.run() refuses "
               "(unsupported) in a caller that has, rather than disarm it."),
    dict(name="polling_epoll",
         summary="epoll_wait/epoll_pwait/epoll_pwait2, poll, ppoll, select, pselect6 on a ready pipe",
         kernel=kernel(polling_epoll_loop, polling_setup, polling_teardown),
         requires=[legacy_syscall("epoll_wait"), legacy_syscall("poll"), legacy_syscall("select"),
                   syscall_implemented("epoll_pwait2", IOW_NR_epoll_pwait2, -1, 0, 0, 0, 0, 0)],
         setup=["ep = epoll_create1(EPOLL_CLOEXEC) -> >=0",
                "pipe2(&fds, 0) -> 0",
                "epoll_ctl(ep, EPOLL_CTL_ADD, ?, {events=EPOLLIN, data=?}) -> 0"],
         iteration=_wait_events("epoll_wait", "ep, &events, 4, 100")
                   + _wait_events("epoll_pwait", "ep, &events, 4, 100, NULL, 0")
                   + _wait_events("epoll_pwait2", "ep, &events, 4, {0, 100000000}, NULL, 0")
                   + _wait_events("poll", "[{fd=?, events=POLLIN}], 1, 100")
                   + _wait_events("ppoll", "[{fd=?, events=POLLIN}], 1, {0, 100000000}, NULL, 0")
                   + _wait_events("select", "?, {?}, NULL, NULL, {0, 100000}")
                   + _wait_events("pselect6", "?, {?}, NULL, NULL, {0, 100000000}, NULL"),
         teardown=["close(?) -> 0", "close(?) -> 0", "close(ep) -> 0"],
         notes="ior's polling loop runs for 5 s; here one iteration is its body once: each of "
               "the seven waits is preceded by a write of the wake byte 0x01 to the pipe and "
               "followed by a read of it, so every wait returns 1 at once (its 100 ms timeout "
               "is never reached). The pipe's fds come back through &fds (pipe2 with flags 0: "
               "what Go's syscall.Pipe issues), hence ?: writes go to the write end, reads, "
               "polls and the epoll registration name the read end, select's nfds is the read "
               "end + 1. ior drops epoll_pwait2 after ENOSYS; here a kernel without it (before "
               "5.11) makes the scenario unsupported, as does an architecture without the "
               "legacy epoll_wait, poll or select (aarch64). ior's 2 ms sleep between rounds "
               "(Go's time.Sleep, a runtime wait, no named syscall) is left out. The closes "
               "are ior's deferred order: write end, read end, epoll fd."),
])
