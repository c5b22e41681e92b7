# Family 'tasks': what a task registers with the kernel for itself (set_tid_address, the robust
# futex list, rseq, its FS/GS bases, its LDT), how it is created and reaped (vfork, clone3,
# waitid), its scheduling policy (sched_setparam/setscheduler/setattr), a signal queued to one
# thread (rt_tgsigqueueinfo) and landlock_restrict_self.
#
# Nothing changes a task that outlives the scenario: the registrations happen on a raw helper
# thread of the worker's own (glibc registered the worker's robust list and rseq area: replacing
# them would break its thread exit), the policies are set to what the probe found them, the
# signal is 0 (a permission and existence check: nothing is delivered), and landlock is given a
# descriptor that is none (-EBADF) before it could restrict anything.

from libc.stdint cimport uint64_t, uint32_t, int32_t
from libc.string cimport memset
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys0, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5,
    iow_tally_ret, iow_stop_requested, iow_note_task, kernel, IOW_SCRATCH_BYTES,
)
from ioworkload.families._clone cimport (
    IOW_HAVE_CLONE_THREAD, iow_clone_thread, iow_release_fence, CLONE_VM, CLONE_FS, CLONE_FILES,
    CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM, CLONE_CHILD_CLEARTID, CLONE_VFORK, iow_load_acquire,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_exit
        __NR_getpid
        __NR_gettid
        __NR_set_tid_address
        __NR_set_robust_list
        __NR_get_robust_list
        __NR_rseq
        __NR_modify_ldt
        __NR_waitid
        __NR_clone3
        __NR_sched_setparam
        __NR_sched_setscheduler
        __NR_sched_setattr
        __NR_rt_tgsigqueueinfo
        __NR_landlock_restrict_self
        __NR_landlock_create_ruleset
        IOW_NR_vfork

cdef extern from "<sys/wait.h>" nogil:
    enum:
        P_PID
        WEXITED
        WNOHANG

cdef extern from "<signal.h>" nogil:
    enum:
        SIGCHLD
        SI_QUEUE

cdef extern from "<sched.h>" nogil:
    enum:
        SCHED_OTHER

cdef extern from * nogil:
    """
    #if defined(__x86_64__)
    #include <asm/prctl.h>
    #define IOW_HAVE_ARCH_PRCTL 1
    #define IOW_NR_arch_prctl __NR_arch_prctl
    /* A process-creating call (vfork, clone3) whose child only ends itself: in the child
       (return 0) the next instructions are exit_group(0), so a vfork child sharing our stack
       never touches it. Returns the child's pid (or -errno) in the parent. */
    #define IOW_HAVE_SPAWN_EXIT0 1
    static long iow_spawn_exit0(long nr, long a, long b)
    {
        long ret;
        __asm__ volatile(
            "syscall\\n\\t"
            "test %%rax, %%rax\\n\\t"
            "jnz 1f\\n\\t"
            "mov $231, %%eax\\n\\t"          /* exit_group */
            "xor %%edi, %%edi\\n\\t"
            "syscall\\n\\t"
            "ud2\\n"
            "1:"
            : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
        return ret;
    }
    #else
    #define IOW_HAVE_ARCH_PRCTL 0
    #define IOW_NR_arch_prctl (-1)
    #define ARCH_GET_FS 0x1003
    #define ARCH_GET_GS 0x1004
    #define IOW_HAVE_SPAWN_EXIT0 0
    static long iow_spawn_exit0(long nr, long a, long b) { return -38; }
    #endif
    /* i386's TLS calls: x86-64 keeps their numbers, implemented by nothing (-ENOSYS). */
    #ifdef __NR_set_thread_area
    #define IOW_NR_set_thread_area __NR_set_thread_area
    #define IOW_NR_get_thread_area __NR_get_thread_area
    #else
    #define IOW_NR_set_thread_area (-1)
    #define IOW_NR_get_thread_area (-1)
    #endif
    """
    enum:
        IOW_HAVE_ARCH_PRCTL
        IOW_NR_arch_prctl
        ARCH_GET_FS
        ARCH_GET_GS
        IOW_HAVE_SPAWN_EXIT0
        IOW_NR_set_thread_area
        IOW_NR_get_thread_area
    long iow_spawn_exit0(long nr, long a, long b)

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import capability, legacy_syscall, syscall_implemented

cdef enum:
    ROBUST_HEAD_BYTES = 24    # struct robust_list_head
    RSEQ_BYTES = 32           # struct rseq's original size (32-byte aligned)
    RSEQ_FLAG_UNREGISTER = 1
    RSEQ_SIG = 0x53053053     # the signature our (absent) abort handlers would carry
    LDT_ENTRY_BYTES = 16
    CLONE_ARGS_BYTES = 88     # struct clone_args up to cgroup (CLONE_ARGS_SIZE_VER2)
    SCHED_ATTR_BYTES = 48     # SCHED_ATTR_SIZE_VER0
    SCHED_FLAG_KEEP_ALL = 0x18
    BAD_POLICY = 12345
    BAD_ARCH_OPTION = 0x9999
    LANDLOCK_CREATE_RULESET_VERSION = 1

CONSTANTS = {"ARCH_GET_FS": ARCH_GET_FS, "ARCH_GET_GS": ARCH_GET_GS,
             "RSEQ_FLAG_UNREGISTER": RSEQ_FLAG_UNREGISTER, "RSEQ_SIG": RSEQ_SIG,
             "SCHED_FLAG_KEEP_ALL": SCHED_FLAG_KEEP_ALL, "SI_QUEUE": SI_QUEUE}

ctypedef struct RobustHead:
    void *next                # the list: empty, so it points at itself
    long futex_offset
    void *pending

ctypedef struct CloneArgs:
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls
    uint64_t set_tid, set_tid_size, cgroup

ctypedef struct SchedAttr:
    uint32_t size, sched_policy
    uint64_t sched_flags
    int32_t sched_nice
    uint32_t sched_priority
    uint64_t runtime, deadline, period

ctypedef struct SigInfo:
    int si_signo, si_errno, si_code
    int pad[29]

ctypedef struct TaskState:
    unsigned char rseq_area[RSEQ_BYTES]    # first: the scratch is page aligned
    int thread_alive          # CLONE_CHILD_CLEARTID word of the helper
    RobustHead head
    void *head_ptr
    unsigned long head_len
    unsigned long fs_base
    unsigned char ldt[LDT_ENTRY_BYTES]
    CloneArgs clone_args
    unsigned char info[128]   # waitid's siginfo
    SigInfo queued
    SchedAttr attr
    int priority              # struct sched_param
    long pid
    long tid


cdef inline TaskState *state(iow_worker *w) noexcept nogil:
    return <TaskState *>w.scratch


# ---- task_registrations ----

cdef void registering_thread(void *arg) noexcept nogil:
    # The helper: raw syscalls only, then the raw exit. It has no robust list and no rseq
    # area of its own (a new thread starts without them), so it registers and reads ours.
    cdef iow_worker *w = <iow_worker *>arg
    cdef TaskState *st = state(w)
    iow_tally_ret(&w.iter[1], 0)  # clone returned 0 here
    iow_tally_ret(&w.iter[2], iow_sys1(__NR_set_tid_address, <long>&st.thread_alive))
    iow_tally_ret(&w.iter[3], iow_sys2(__NR_set_robust_list, <long>&st.head, ROBUST_HEAD_BYTES))
    iow_tally_ret(&w.iter[4], iow_sys3(__NR_get_robust_list, 0, <long>&st.head_ptr,
                                       <long>&st.head_len))
    iow_tally_ret(&w.iter[5], iow_sys4(__NR_rseq, <long>st.rseq_area, RSEQ_BYTES, 0, RSEQ_SIG))
    iow_tally_ret(&w.iter[6], iow_sys4(__NR_rseq, <long>st.rseq_area, RSEQ_BYTES,
                                       RSEQ_FLAG_UNREGISTER, RSEQ_SIG))
    iow_tally_ret(&w.iter[7], iow_sys2(IOW_NR_arch_prctl, ARCH_GET_FS, <long>&st.fs_base))
    iow_tally_ret(&w.iter[8], 0)  # exit does not return
    iow_release_fence()
    iow_sys1(__NR_exit, 0)


cdef uint64_t task_registrations_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef TaskState *st = state(w)
    cdef uint64_t i
    cdef long tid
    for i in range(n):
        if iow_stop_requested(w):
            return i
        memset(st.rseq_area, 0, RSEQ_BYTES)
        st.head.next = &st.head
        st.head.futex_offset = 0
        st.head.pending = NULL
        st.thread_alive = 1
        # CLONE_VFORK: the worker sleeps inside clone until the helper has exited.
        tid = iow_tally_ret(&w.iter[0], iow_clone_thread(
            CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
            | CLONE_VFORK | CLONE_CHILD_CLEARTID, w.scratch + IOW_SCRATCH_BYTES,
            &st.thread_alive, registering_thread, w))
        iow_note_task(w, tid)
        if tid > 0:
            while iow_load_acquire(&st.thread_alive):   # cleared before the vfork wait ended
                pass
        iow_tally_ret(&w.iter[9], iow_sys3(__NR_get_robust_list, 0, <long>&st.head_ptr,
                                           <long>&st.head_len))
        iow_tally_ret(&w.iter[10], iow_sys2(__NR_set_robust_list, <long>&st.head, 1))
        iow_tally_ret(&w.iter[11], iow_sys2(IOW_NR_arch_prctl, ARCH_GET_GS, <long>&st.fs_base))
        iow_tally_ret(&w.iter[12], iow_sys2(IOW_NR_arch_prctl, BAD_ARCH_OPTION, <long>&st.fs_base))
        iow_tally_ret(&w.iter[13], iow_sys3(__NR_modify_ldt, 0, <long>st.ldt, LDT_ENTRY_BYTES))
    return n


# ---- task_vfork_clone3 ----

cdef inline long spawn_exit0(iow_worker *w, int first, long nr, long a, long b) noexcept nogil:
    """Events first..first+3: the call (nr(a, b)), the child's 0 and its exit_group(0),
    waitid(P_PID, pid, WEXITED). The child's two are tallied before the call (it runs none of
    our code) and taken back if the call fails."""
    cdef TaskState *st = state(w)
    cdef long pid
    iow_tally_ret(&w.iter[first + 1], 0)
    iow_tally_ret(&w.iter[first + 2], 0)
    pid = iow_tally_ret(&w.iter[first], iow_spawn_exit0(nr, a, b))
    if pid <= 0:
        w.iter[first + 1].ok -= 1
        w.iter[first + 2].ok -= 1
        return pid
    iow_note_task(w, pid)
    iow_tally_ret(&w.iter[first + 3], iow_sys5(__NR_waitid, P_PID, pid, <long>st.info, WEXITED, 0))
    return pid


cdef uint64_t task_vfork_clone3_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef TaskState *st = state(w)
    cdef uint64_t i
    cdef long pid
    memset(&st.clone_args, 0, sizeof(CloneArgs))
    st.clone_args.exit_signal = SIGCHLD
    for i in range(n):
        if iow_stop_requested(w):
            return i
        spawn_exit0(w, 0, IOW_NR_vfork, 0, 0)
        pid = spawn_exit0(w, 4, __NR_clone3, <long>&st.clone_args, CLONE_ARGS_BYTES)
        iow_tally_ret(&w.iter[8], iow_sys5(__NR_waitid, P_PID, pid, <long>st.info,
                                           WEXITED | WNOHANG, 0))
    return n


# ---- task_sched_set ----

cdef uint64_t task_sched_set_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef TaskState *st = state(w)
    cdef uint64_t i
    st.priority = 0
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_sched_setparam, 0, <long>&st.priority))
        iow_tally_ret(&w.iter[1], iow_sys2(__NR_sched_setparam, 0, 0))
        iow_tally_ret(&w.iter[2], iow_sys3(__NR_sched_setscheduler, 0, SCHED_OTHER,
                                           <long>&st.priority))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_sched_setscheduler, 0, BAD_POLICY,
                                           <long>&st.priority))
        memset(&st.attr, 0, sizeof(SchedAttr))
        st.attr.size = SCHED_ATTR_BYTES
        st.attr.sched_flags = SCHED_FLAG_KEEP_ALL
        iow_tally_ret(&w.iter[4], iow_sys3(__NR_sched_setattr, 0, <long>&st.attr, 0))
        st.attr.sched_flags = 0
        st.attr.sched_policy = BAD_POLICY
        iow_tally_ret(&w.iter[5], iow_sys3(__NR_sched_setattr, 0, <long>&st.attr, 0))
    return n


# ---- task_signal_check ----

cdef int ids_setup(iow_worker *w) noexcept nogil:
    cdef TaskState *st = state(w)
    st.pid = iow_tally_ret(&w.setup[0], iow_sys0(__NR_getpid))
    st.tid = iow_tally_ret(&w.setup[1], iow_sys0(__NR_gettid))
    memset(&st.queued, 0, sizeof(SigInfo))
    st.queued.si_code = SI_QUEUE
    return 0


cdef uint64_t task_signal_check_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef TaskState *st = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys4(__NR_rt_tgsigqueueinfo, st.pid, st.tid, 0,
                                           <long>&st.queued))
        iow_tally_ret(&w.iter[1], iow_sys4(__NR_rt_tgsigqueueinfo, 0, st.tid, 0, <long>&st.queued))
    return n


# ---- task_landlock_rejected ----

cdef uint64_t task_landlock_rejected_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys2(__NR_landlock_restrict_self, -1, 0))
    return n


# ---- task_thread_area_enosys ----

cdef uint64_t task_thread_area_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef TaskState *st = state(w)
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys1(IOW_NR_set_thread_area, <long>st.ldt))
        iow_tally_ret(&w.iter[1], iow_sys1(IOW_NR_get_thread_area, <long>st.ldt))
    return n


def _registrations_here():
    if not IOW_HAVE_CLONE_THREAD or not IOW_HAVE_ARCH_PRCTL:
        return "written for x86-64 (arch_prctl, the raw helper thread)"
    from ioworkload.core import _runner
    if _runner.raw_syscall(__NR_rseq, 0, 0, 0, 0) == -38:
        return "the kernel has no rseq (CONFIG_RSEQ off: ENOSYS)"
    if _runner.raw_syscall(__NR_modify_ldt, 0, 0, 0) == -38:
        return "the kernel has no modify_ldt (CONFIG_MODIFY_LDT_SYSCALL off: ENOSYS)"
    return None


def _spawn_here():
    if not IOW_HAVE_SPAWN_EXIT0:
        return "the vfork/clone3 children are written for x86-64"
    return legacy_syscall("vfork")()


def _normal_policy():
    """The worker threads (created by this one) run SCHED_OTHER, without SCHED_RESET_ON_FORK,
    so setting SCHED_OTHER with priority 0 and the nice value kept changes nothing."""
    import os
    policy = os.sched_getscheduler(0)
    if policy != os.SCHED_OTHER:
        return (f"this process runs scheduling policy {policy}, not SCHED_OTHER: the scenario "
                f"sets SCHED_OTHER")
    return None


def _thread_area_numbers():
    if IOW_NR_set_thread_area < 0:
        return "this architecture has no set_thread_area/get_thread_area numbers (x86 only)"
    from ioworkload.core import _runner
    if _runner.raw_syscall(IOW_NR_get_thread_area, 0) != -38:
        return "the kernel implements get_thread_area here (a 32-bit x86 kernel?): not ENOSYS"
    return None


def _landlock_here():
    from ioworkload.core import _runner
    abi = _runner.raw_syscall(__NR_landlock_create_ruleset, 0, 0, LANDLOCK_CREATE_RULESET_VERSION)
    if abi == -38:
        return "the kernel has no landlock (CONFIG_SECURITY_LANDLOCK off: ENOSYS)"
    if abi < 0:
        return "landlock is not enabled at boot (lsm= does not list it: EOPNOTSUPP)"
    # Without CAP_SYS_ADMIN (or no_new_privs) the kernel refuses with -EPERM before the fd.
    return capability("CAP_SYS_ADMIN")()


_HELPER = ("clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|"
           "CLONE_VFORK|CLONE_CHILD_CLEARTID, &scratch_end, NULL, &thread_alive, 0)")
_RSEQ = f"rseq(&rseq_area, {RSEQ_BYTES}, {{flags}}, RSEQ_SIG) -> 0"
_WAITID = "waitid(P_PID, {pid}, &info, WEXITED, NULL) -> 0"
_CLONE_ARGS = "{flags=0, exit_signal=SIGCHLD}"

SCENARIOS = scenarios("tasks", [
    dict(name="task_registrations",
         summary="a helper thread registers its tid word, robust list and rseq area; FS/GS; LDT read",
         kernel=kernel(task_registrations_loop), requires=[_registrations_here],
         iteration=[f"{_HELPER} -> >=1",
                    f"helper: {_HELPER} -> 0 exit-only",
                    "helper: set_tid_address(&thread_alive) -> >=1",
                    f"helper: set_robust_list({{next=&head}}, {ROBUST_HEAD_BYTES}) -> 0",
                    "helper: get_robust_list(0, &head_ptr, &len) -> 0",
                    "helper: " + _RSEQ.format(flags=0),
                    "helper: " + _RSEQ.format(flags="RSEQ_FLAG_UNREGISTER"),
                    "helper: arch_prctl(ARCH_GET_FS, &base) -> 0",
                    "helper: exit(0) -> noreturn",
                    "get_robust_list(0, &head_ptr, &len) -> 0",
                    "set_robust_list(&head, 1) -> -EINVAL",
                    "arch_prctl(ARCH_GET_GS, &base) -> 0",
                    f"arch_prctl({BAD_ARCH_OPTION:#x}, &base) -> -EINVAL",
                    f"modify_ldt(0, &ldt, {LDT_ENTRY_BYTES}) -> 0"],
         notes="Contained: the helper is a raw thread of the worker (CLONE_VFORK: the worker "
               "sleeps in clone until it exits), which starts without a robust list or rseq "
               "area. It sets its clear-tid word to the one it already has "
               "(set_tid_address returns its tid), registers an empty robust list (the head "
               "points at itself) and reads it back, registers an rseq area of ours (32 "
               "bytes, signature RSEQ_SIG) and unregisters it, and reads its FS base. The "
               "worker only reads what glibc registered for it (get_robust_list), has a bad "
               "length rejected (set_robust_list, 1 byte: -EINVAL), reads its GS base, has "
               "an unknown arch_prctl option rejected, and reads its LDT: none (0 bytes)."),
    dict(name="task_vfork_clone3",
         summary="vfork and clone3 children that exit at once, reaped with waitid; a second waitid fails",
         kernel=kernel(task_vfork_clone3_loop), requires=[_spawn_here],
         iteration=["pid = vfork() -> >=1",
                    "child: vfork() -> 0 exit-only",
                    "child: exit_group(0) -> noreturn",
                    _WAITID.format(pid="pid"),
                    f"pid3 = clone3({_CLONE_ARGS}, {CLONE_ARGS_BYTES}) -> >=1",
                    f"child: clone3({_CLONE_ARGS}, {CLONE_ARGS_BYTES}) -> 0 exit-only",
                    "child: exit_group(0) -> noreturn",
                    _WAITID.format(pid="pid3"),
                    "waitid(P_PID, pid3, &info, WEXITED|WNOHANG, NULL) -> -ECHILD"],
         notes="Each child's only call is exit_group(0), issued by the instructions right "
               "after the syscall (the vfork child shares the worker's stack and never "
               "touches it); the vfork parent resumes once the child has exited. clone3 "
               "takes struct clone_args (88 bytes: flags 0, exit_signal SIGCHLD, the rest "
               "0): a fork. waitid reaps each child by pid; asked again for the reaped "
               "clone3 child it fails with -ECHILD."),
    dict(name="task_sched_set",
         summary="sched_setparam/setscheduler/setattr on the worker's thread: its own policy, or rejected",
         kernel=kernel(task_sched_set_loop), requires=[_normal_policy],
         iteration=["sched_setparam(0, {sched_priority=0}) -> 0",
                    "sched_setparam(0, NULL) -> -EINVAL",
                    "sched_setscheduler(0, SCHED_OTHER, {sched_priority=0}) -> 0",
                    f"sched_setscheduler(0, {BAD_POLICY}, {{sched_priority=0}}) -> -EINVAL",
                    f"sched_setattr(0, {{size={SCHED_ATTR_BYTES}, sched_flags=SCHED_FLAG_KEEP_ALL}}, 0) -> 0",
                    f"sched_setattr(0, {{size={SCHED_ATTR_BYTES}, sched_policy={BAD_POLICY}}}, 0) -> -EINVAL"],
         notes="Contained: every call names the worker's own thread (0). The probe requires "
               "SCHED_OTHER (no reset-on-fork), so setting SCHED_OTHER with priority 0 "
               "(sched_setscheduler keeps the nice value) and sched_setattr with "
               "SCHED_FLAG_KEEP_ALL (policy and parameters kept) change nothing; a NULL "
               "parameter and the policy 12345 are rejected."),
    dict(name="task_signal_check",
         summary="rt_tgsigqueueinfo of signal 0 to the worker's own thread; tgid 0 rejected",
         kernel=kernel(task_signal_check_loop, ids_setup),
         setup=["pid = getpid() -> >=1", "tid = gettid() -> >=1"],
         iteration=["rt_tgsigqueueinfo(pid, tid, 0, {si_signo=0, si_code=SI_QUEUE}) -> 0",
                    "rt_tgsigqueueinfo(0, tid, 0, {si_signo=0, si_code=SI_QUEUE}) -> -EINVAL"],
         notes="Signal 0 is the kernel's existence and permission check: nothing is queued "
               "or delivered. A thread group id of 0 is rejected before any lookup."),
    dict(name="task_thread_area_enosys",
         summary="set_thread_area and get_thread_area: numbers x86-64 keeps, implemented by nothing",
         kernel=kernel(task_thread_area_loop), requires=[_thread_area_numbers],
         iteration=["set_thread_area(&desc) -> -ENOSYS", "get_thread_area(&desc) -> -ENOSYS"],
         notes="i386's TLS descriptor calls (x86-64 uses arch_prctl): the 64-bit table keeps "
               "numbers 205 and 211 for them, served by sys_ni_syscall, so the kernel has no "
               "syscalls:sys_enter_/sys_exit_ tracepoints for them: --verify counts them at "
               "raw_syscalls:sys_enter/sys_exit by number (the expect file names those "
               "tracepoints and gives no arguments), and a tracer must still name them."),
    dict(name="task_landlock_rejected",
         summary="landlock_restrict_self(-1, 0): no ruleset descriptor, -EBADF, nothing restricted",
         kernel=kernel(task_landlock_rejected_loop), requires=[_landlock_here],
         iteration=["landlock_restrict_self(-1, 0) -> -EBADF"],
         notes="Rejected before it acts: with CAP_SYS_ADMIN the kernel gets as far as the "
               "ruleset descriptor, -1, and fails with -EBADF; the worker is not restricted. "
               "Without CAP_SYS_ADMIN (and no no_new_privs) it would refuse with -EPERM "
               "first: the scenario then exits 77 naming the capability."),
])
