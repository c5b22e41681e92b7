# Family 'ipc': ior's IPC, anonymous-fd and notification scenarios
# (../shared/reference/ior-ioworkload-catalog.md, 4.4): pipes, eventfds, memfd / userfaultfd /
# signalfd / timerfd, fanotify_init and fanotify_mark, inotify, a BPF map, SysV shared memory /
# message queues / semaphores, POSIX message queues.
#
# Every kernel object is private to one iteration: created (SysV ids with IPC_PRIVATE, a queue
# name of the worker's own) and removed again before the next stop check, so an interrupted
# run never leaves one behind; nothing stays open between iterations.

from libc.errno cimport EACCES, ENOSYS
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy, memset, strlen
from libc.stdio cimport snprintf
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6,
    iow_tally_ret, iow_stop_requested, iow_path, kernel, IOW_PATH_MAX,
)
from ioworkload.families._common cimport close_tracked

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_openat
        __NR_close
        __NR_write
        __NR_pipe2
        __NR_eventfd2
        __NR_inotify_init1
        __NR_inotify_add_watch
        __NR_inotify_rm_watch
        __NR_shmget
        __NR_shmat
        __NR_shmdt
        __NR_shmctl
        __NR_msgget
        __NR_msgsnd
        __NR_msgrcv
        __NR_msgctl
        __NR_semget
        __NR_semop
        __NR_semctl
        __NR_mq_open
        __NR_mq_unlink
        __NR_mq_timedsend
        __NR_mq_timedreceive
        __NR_mq_notify
        __NR_mq_getsetattr
        __NR_memfd_create
        __NR_fanotify_init
        __NR_userfaultfd
        __NR_signalfd4
        __NR_timerfd_create
        __NR_timerfd_settime
        __NR_timerfd_gettime
        __NR_fanotify_mark
        __NR_bpf
        __NR_getpriority
        IOW_NR_pipe
        IOW_NR_eventfd
        IOW_NR_signalfd

# memfd_secret (5.14) is missing from older headers, and from architectures without it.
cdef extern from *:
    """
    #include <asm/unistd.h>
    #ifdef __NR_memfd_secret
    #define IOW_NR_memfd_secret __NR_memfd_secret
    #else
    #define IOW_NR_memfd_secret (-1)
    #endif
    """
    enum:
        IOW_NR_memfd_secret

# fanotify_init's event_f_flags take the kernel's O_LARGEFILE, which libc's <fcntl.h> defines as
# 0 on 64-bit targets (and <linux/fcntl.h> cannot sit beside it); the kernel's own values:
cdef extern from *:
    """
    #if defined(__aarch64__)
    #define IOW_KERNEL_O_LARGEFILE 0400000   /* arch/arm64/include/uapi/asm/fcntl.h */
    #else
    #define IOW_KERNEL_O_LARGEFILE 0100000   /* include/uapi/asm-generic/fcntl.h */
    #endif
    """
    enum:
        IOW_KERNEL_O_LARGEFILE

cdef extern from "<sys/fanotify.h>" nogil:
    enum:
        FAN_CLOEXEC
        FAN_NONBLOCK
        FAN_CLASS_NOTIF
        FAN_MARK_ADD
        FAN_MARK_FLUSH
        FAN_OPEN

cdef extern from "<linux/bpf.h>" nogil:
    enum:
        BPF_MAP_CREATE
        BPF_MAP_TYPE_ARRAY

cdef extern from "<sys/resource.h>" nogil:
    enum:
        PRIO_PROCESS

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        O_RDWR
        O_WRONLY
        O_CREAT
        O_EXCL
        O_TRUNC
        O_CLOEXEC
        O_NONBLOCK
        O_RDONLY
        O_DIRECTORY

cdef extern from "<sys/eventfd.h>" nogil:
    enum:
        EFD_SEMAPHORE
        EFD_CLOEXEC
        EFD_NONBLOCK

cdef extern from "<sys/inotify.h>" nogil:
    enum:
        IN_CLOEXEC
        IN_CREATE
        IN_DELETE
        IN_MODIFY

cdef extern from "<sys/mman.h>" nogil:
    enum:
        MFD_CLOEXEC
        MFD_ALLOW_SEALING

cdef extern from "<sys/signalfd.h>" nogil:
    enum:
        SFD_CLOEXEC
        SFD_NONBLOCK

cdef extern from "<sys/timerfd.h>" nogil:
    enum:
        TFD_CLOEXEC

cdef extern from "<sys/ipc.h>" nogil:
    enum:
        IPC_PRIVATE
        IPC_CREAT
        IPC_RMID

cdef extern from "<sys/sem.h>" nogil:
    struct sembuf:
        unsigned short sem_num
        short sem_op
        short sem_flg

# The struct only (same layout as the kernel's <linux/mqueue.h>); none of librt's wrappers.
cdef extern from "<mqueue.h>" nogil:
    struct mq_attr:
        long mq_flags
        long mq_maxmsg
        long mq_msgsize
        long mq_curmsgs

cdef extern from "<time.h>" nogil:
    enum:
        CLOCK_REALTIME
        CLOCK_MONOTONIC
    struct timespec:
        long tv_sec
        long tv_nsec
    struct itimerspec:
        timespec it_interval
        timespec it_value
    int clock_gettime(int clk, timespec *ts)

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import capability, legacy_syscall, syscall_implemented

# Names manifests use that the common headers (_consts) do not have.
CONSTANTS = {
    "EFD_SEMAPHORE": EFD_SEMAPHORE, "EFD_CLOEXEC": EFD_CLOEXEC, "EFD_NONBLOCK": EFD_NONBLOCK,
    "IN_CLOEXEC": IN_CLOEXEC, "IN_CREATE": IN_CREATE, "IN_DELETE": IN_DELETE,
    "IN_MODIFY": IN_MODIFY,
    "MFD_ALLOW_SEALING": MFD_ALLOW_SEALING, "SFD_CLOEXEC": SFD_CLOEXEC,
    "SFD_NONBLOCK": SFD_NONBLOCK, "TFD_CLOEXEC": TFD_CLOEXEC,
    "FAN_CLOEXEC": FAN_CLOEXEC, "FAN_NONBLOCK": FAN_NONBLOCK,
    "FAN_CLASS_NOTIF": FAN_CLASS_NOTIF, "FAN_MARK_ADD": FAN_MARK_ADD,
    "FAN_MARK_FLUSH": FAN_MARK_FLUSH, "FAN_OPEN": FAN_OPEN,
    "BPF_MAP_CREATE": BPF_MAP_CREATE, "PRIO_PROCESS": PRIO_PROCESS,
    "IPC_PRIVATE": IPC_PRIVATE, "IPC_CREAT": IPC_CREAT, "IPC_RMID": IPC_RMID,
}

cdef enum:
    SHM_BYTES = 4096        # ior's segment size
    MQ_MAXMSG = 8           # ior's queue attributes
    MQ_MSGSIZE = 128
    MQ_DEADLINE_S = 2       # ior's send/receive deadline: now + 2 s (never reached: nothing blocks)
    P_WATCHED = 0           # w.path slots
    P_MISSING = 1
    P_QUEUE = 2
    P_ABSOLUTE = 3          # fanotify_marks' three targets
    P_RELATIVE = 4
    P_NULL_TARGET = 5
    FAN_GROUP = 0           # fanotify_marks' w.fd slots
    FAN_DIR = 1
    FAN_TARGET = 2
    KERNEL_SIGSET_BYTES = 8      # the kernel's sigset_t: what signalfd's sizemask must be
    GO_SIGSET_BYTES = 128        # Go's unix.Sigset_t (glibc's sigset_t too): -EINVAL

cdef const char *PIPE_BYTE = b"x"
cdef const char *WATCHED_CONTENT = b"ior"
cdef const char *SHM_PAYLOAD = b"ior-sysv-shm"
cdef const char *MSG_TEXT = b"ior-sysv-msg"                # 12
cdef const char *MQ_PAYLOAD = b"ior-mq-payload"            # 14
cdef const char *MEMFD_NAME = b"ior-memfd"
cdef const char *RELATIVE_NAME = b"relative"
cdef const char *EMPTY_PATH = b""
cdef const char *FLUSH_NAME = b"ignored-flush-target"   # FAN_MARK_FLUSH never resolves it
cdef const char *MAP_NAME = b"ior_s4_map"

# ior's BPF_MAP_CREATE attribute: the prefix of union bpf_attr up to map_extra, 72 bytes, as
# the size argument says (the kernel reads that much and takes the rest as zero).
ctypedef struct BpfMapCreateAttr:
    uint32_t map_type
    uint32_t key_size
    uint32_t value_size
    uint32_t max_entries
    uint32_t map_flags
    uint32_t inner_map_fd
    uint32_t numa_node
    char map_name[16]
    uint32_t map_ifindex
    uint32_t btf_fd
    uint32_t btf_key_type_id
    uint32_t btf_value_type_id
    uint32_t btf_vmlinux_value_type_id
    uint64_t map_extra

# What the kernel reads and writes through our pointers, in the worker's zeroed scratch area.
ctypedef struct MsgBuf:
    long mtype
    char mtext[16]

ctypedef struct IpcScratch:
    int fds[2]              # pipe/pipe2 output
    sembuf sem_up
    sembuf sem_down
    MsgBuf msg_out
    MsgBuf msg_in
    mq_attr attr            # glibc's struct, padding included, is the kernel's 64 bytes
    mq_attr old_attr
    timespec deadline
    unsigned int prio
    char mq_buf[MQ_MSGSIZE]
    unsigned char sigmask[GO_SIGSET_BYTES]  # empty: no signal is read through the signalfds
    itimerspec timer_new
    itimerspec timer_cur
    BpfMapCreateAttr map_attr


# ---- pipe, pipe2 ----

cdef uint64_t pipe_pair_loop(iow_worker *w, uint64_t n, long nr, long flags) noexcept nogil:
    """Each iteration: nr(fds[, flags]) (pipe ignores the second register), write one byte into
    the write end, close the write end, then the read end (ior's deferred order)."""
    cdef IpcScratch *s = <IpcScratch *>w.scratch
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        if iow_tally_ret(&w.iter[0], iow_sys2(nr, <long>s.fds, flags)) == 0:
            w.fd[0] = s.fds[0]
            w.fd[1] = s.fds[1]
        if w.fd[1] >= 0:
            iow_tally_ret(&w.iter[1], iow_sys3(__NR_write, w.fd[1], <long>PIPE_BYTE, 1))
        close_tracked(&w.iter[2], &w.fd[1])
        close_tracked(&w.iter[3], &w.fd[0])
    return n


cdef uint64_t pipe_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return pipe_pair_loop(w, n, IOW_NR_pipe, 0)


cdef uint64_t pipe2_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return pipe_pair_loop(w, n, __NR_pipe2, O_CLOEXEC | O_NONBLOCK)


# ---- eventfd, eventfd2 ----

cdef uint64_t eventfd_pair_loop(iow_worker *w, uint64_t n, long nr, long flags) noexcept nogil:
    """Each iteration: nr(1[, flags]) (eventfd ignores the second register), close the fd."""
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys2(nr, 1, flags))
        close_tracked(&w.iter[1], &w.fd[0])
    return n


cdef uint64_t eventfd_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return eventfd_pair_loop(w, n, IOW_NR_eventfd, 0)


cdef uint64_t eventfd2_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    return eventfd_pair_loop(w, n, __NR_eventfd2, EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK)


# ---- inotify ----

cdef int write_ior_file(iow_worker *w, int first, const char *path) noexcept nogil:
    """Setup events first..first+2, ior's os.WriteFile(path, "ior", 0600): openat, write 3
    bytes, close. 0 or the first failure's -errno."""
    cdef long fd = iow_tally_ret(&w.setup[first], iow_sys4(
        __NR_openat, AT_FDCWD, <long>path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600))
    if fd < 0:
        return <int>fd
    cdef long r = iow_tally_ret(&w.setup[first + 1], iow_sys3(__NR_write, fd,
                                                              <long>WATCHED_CONTENT,
                                                              strlen(WATCHED_CONTENT)))
    cdef long c = iow_tally_ret(&w.setup[first + 2], iow_sys1(__NR_close, fd))
    return <int>(r if r < 0 else (c if c < 0 else 0))


cdef int inotify_setup(iow_worker *w) noexcept nogil:
    iow_path(w, P_MISSING, b"missing")
    return write_ior_file(w, 0, iow_path(w, P_WATCHED, b"watched"))


cdef uint64_t inotify_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long wd
    cdef long mask = IN_CREATE | IN_DELETE | IN_MODIFY
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys1(__NR_inotify_init1, IN_CLOEXEC))
        wd = iow_tally_ret(&w.iter[1], iow_sys3(__NR_inotify_add_watch, w.fd[0],
                                                <long>w.path[P_WATCHED], mask))
        iow_tally_ret(&w.iter[2], iow_sys2(__NR_inotify_rm_watch, w.fd[0], wd))
        iow_tally_ret(&w.iter[3], iow_sys3(__NR_inotify_add_watch, w.fd[0],
                                           <long>w.path[P_MISSING], mask))
        close_tracked(&w.iter[4], &w.fd[0])
    return n


# ---- SysV shared memory, message queue, semaphore set ----

cdef uint64_t sysv_shm_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """shmget(IPC_PRIVATE), shmat, store ior's payload (a page fault, no syscall), shmdt,
    shmctl(IPC_RMID): the segment is gone before the next iteration."""
    cdef uint64_t i
    cdef long shmid, addr
    for i in range(n):
        if iow_stop_requested(w):
            return i
        shmid = iow_tally_ret(&w.iter[0], iow_sys3(__NR_shmget, IPC_PRIVATE, SHM_BYTES,
                                                   IPC_CREAT | 0o600))
        w.sysv_id = shmid  # for the runner, should the process be killed before IPC_RMID
        addr = iow_tally_ret(&w.iter[1], iow_sys3(__NR_shmat, shmid, 0, 0))
        if addr > 0:
            memcpy(<void *>addr, SHM_PAYLOAD, strlen(SHM_PAYLOAD))
        iow_tally_ret(&w.iter[2], iow_sys1(__NR_shmdt, addr))
        if iow_tally_ret(&w.iter[3], iow_sys3(__NR_shmctl, shmid, IPC_RMID, 0)) == 0:
            w.sysv_id = -1
    return n


cdef uint64_t sysv_msg_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef IpcScratch *s = <IpcScratch *>w.scratch
    cdef uint64_t i
    cdef long msqid
    cdef long size = strlen(MSG_TEXT)
    s.msg_out.mtype = 1
    memcpy(s.msg_out.mtext, MSG_TEXT, size)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        msqid = iow_tally_ret(&w.iter[0], iow_sys2(__NR_msgget, IPC_PRIVATE, IPC_CREAT | 0o600))
        w.sysv_id = msqid
        iow_tally_ret(&w.iter[1], iow_sys4(__NR_msgsnd, msqid, <long>&s.msg_out, size, 0))
        iow_tally_ret(&w.iter[2], iow_sys5(__NR_msgrcv, msqid, <long>&s.msg_in, size, 0, 0))
        if iow_tally_ret(&w.iter[3], iow_sys3(__NR_msgctl, msqid, IPC_RMID, 0)) == 0:
            w.sysv_id = -1
    return n


cdef uint64_t sysv_sem_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """semget one semaphore, +1 then -1 (the decrement never blocks), semctl(IPC_RMID)."""
    cdef IpcScratch *s = <IpcScratch *>w.scratch
    cdef uint64_t i
    cdef long semid
    s.sem_up.sem_num = 0
    s.sem_up.sem_op = 1
    s.sem_up.sem_flg = 0
    s.sem_down.sem_num = 0
    s.sem_down.sem_op = -1
    s.sem_down.sem_flg = 0
    for i in range(n):
        if iow_stop_requested(w):
            return i
        semid = iow_tally_ret(&w.iter[0], iow_sys3(__NR_semget, IPC_PRIVATE, 1, IPC_CREAT | 0o600))
        w.sysv_id = semid
        iow_tally_ret(&w.iter[1], iow_sys3(__NR_semop, semid, <long>&s.sem_up, 1))
        iow_tally_ret(&w.iter[2], iow_sys3(__NR_semop, semid, <long>&s.sem_down, 1))
        if iow_tally_ret(&w.iter[3], iow_sys4(__NR_semctl, semid, 0, IPC_RMID, 0)) == 0:
            w.sysv_id = -1
    return n


# ---- POSIX message queue ----

MQ_NAME = "ior-mq-{tid}-{index}"  # the runner's copy of the name, to unlink it for a killed run


cdef int mq_setup(iow_worker *w) noexcept nogil:
    """The queue's name (no syscall): "ior-mq-<tid>-<worker index>" (MQ_NAME). A thread id is
    unique among the running tasks, so concurrent runs and workers never share a queue."""
    snprintf(w.path[P_QUEUE], IOW_PATH_MAX, b"ior-mq-%d-%d", w.tid, w.index)
    return 0


cdef uint64_t mq_posix_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef IpcScratch *s = <IpcScratch *>w.scratch
    cdef uint64_t i
    cdef long name = <long>w.path[P_QUEUE]
    cdef long size = strlen(MQ_PAYLOAD)
    s.attr.mq_maxmsg = MQ_MAXMSG
    s.attr.mq_msgsize = MQ_MSGSIZE
    for i in range(n):
        if iow_stop_requested(w):
            return i
        clock_gettime(CLOCK_REALTIME, &s.deadline)   # the vDSO: no kernel entry
        s.deadline.tv_sec += MQ_DEADLINE_S
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys4(__NR_mq_open, name,
                                                     O_CREAT | O_EXCL | O_RDWR, 0o600,
                                                     <long>&s.attr))
        iow_tally_ret(&w.iter[1], iow_sys2(__NR_mq_notify, w.fd[0], 0))
        iow_tally_ret(&w.iter[2], iow_sys3(__NR_mq_getsetattr, w.fd[0], 0, <long>&s.old_attr))
        iow_tally_ret(&w.iter[3], iow_sys5(__NR_mq_timedsend, w.fd[0], <long>MQ_PAYLOAD, size,
                                           0, <long>&s.deadline))
        iow_tally_ret(&w.iter[4], iow_sys5(__NR_mq_timedreceive, w.fd[0], <long>s.mq_buf,
                                           MQ_MSGSIZE, <long>&s.prio, <long>&s.deadline))
        # unlink before close, as ior's deferred calls run: the name goes first
        iow_tally_ret(&w.iter[5], iow_sys1(__NR_mq_unlink, name))
        close_tracked(&w.iter[6], &w.fd[0])
    return n


# ---- fds out of thin air: memfd, memfd_secret, userfaultfd, signalfd, timerfd ----

cdef inline long new_fd_then_close(iow_worker *w, int slot, long ret) noexcept nogil:
    """Tally an fd-creating call in iteration slot `slot`, close the fd in slot + 1."""
    w.fd[0] = iow_tally_ret(&w.iter[slot], ret)
    close_tracked(&w.iter[slot + 1], &w.fd[0])
    return ret


cdef uint64_t fd_from_air_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef IpcScratch *s = <IpcScratch *>w.scratch
    cdef uint64_t i
    cdef long mask = <long>s.sigmask
    s.timer_new.it_value.tv_sec = 1     # one second ahead: never fires before the close
    for i in range(n):
        if iow_stop_requested(w):
            return i
        new_fd_then_close(w, 0, iow_sys2(__NR_memfd_create, <long>MEMFD_NAME,
                                         MFD_CLOEXEC | MFD_ALLOW_SEALING))
        new_fd_then_close(w, 2, iow_sys1(IOW_NR_memfd_secret, O_CLOEXEC))
        new_fd_then_close(w, 4, iow_sys1(__NR_userfaultfd, O_CLOEXEC))
        new_fd_then_close(w, 6, iow_sys3(IOW_NR_signalfd, -1, mask, KERNEL_SIGSET_BYTES))
        iow_tally_ret(&w.iter[8], iow_sys4(__NR_signalfd4, -1, mask, GO_SIGSET_BYTES, 0))
        w.fd[0] = iow_tally_ret(&w.iter[9], iow_sys4(__NR_signalfd4, -1, mask,
                                                     KERNEL_SIGSET_BYTES, SFD_CLOEXEC))
        # on an existing signalfd both calls only replace its mask, and return it
        iow_tally_ret(&w.iter[10], iow_sys3(IOW_NR_signalfd, w.fd[0], mask, KERNEL_SIGSET_BYTES))
        iow_tally_ret(&w.iter[11], iow_sys4(__NR_signalfd4, w.fd[0], mask, KERNEL_SIGSET_BYTES,
                                            SFD_NONBLOCK))
        close_tracked(&w.iter[12], &w.fd[0])
        w.fd[0] = iow_tally_ret(&w.iter[13], iow_sys2(__NR_timerfd_create, CLOCK_MONOTONIC,
                                                      TFD_CLOEXEC))
        iow_tally_ret(&w.iter[14], iow_sys4(__NR_timerfd_settime, w.fd[0], 0,
                                            <long>&s.timer_new, 0))
        iow_tally_ret(&w.iter[15], iow_sys2(__NR_timerfd_gettime, w.fd[0], <long>&s.timer_cur))
        close_tracked(&w.iter[16], &w.fd[0])
    return n


# ---- fanotify ----

cdef uint64_t fanotify_flags_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys2(__NR_fanotify_init, FAN_CLOEXEC | FAN_NONBLOCK,
                                                     O_RDONLY | IOW_KERNEL_O_LARGEFILE))
        close_tracked(&w.iter[1], &w.fd[0])
    return n


cdef int fanotify_marks_setup(iow_worker *w) noexcept nogil:
    """ior's three targets, each written as os.WriteFile does (events 0-8)."""
    cdef int rc = write_ior_file(w, 0, iow_path(w, P_ABSOLUTE, b"absolute"))
    if rc == 0:
        rc = write_ior_file(w, 3, iow_path(w, P_RELATIVE, b"relative"))
    if rc == 0:
        rc = write_ior_file(w, 6, iow_path(w, P_NULL_TARGET, b"null-target"))
    return rc


cdef inline long fan_mark(iow_worker *w, int slot, long flags, long mask, long dfd,
                          const char *pathname) noexcept nogil:
    return iow_tally_ret(&w.iter[slot], iow_sys5(__NR_fanotify_mark, w.fd[FAN_GROUP], flags, mask,
                                                 dfd, <long>pathname))


cdef uint64_t fanotify_marks_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """ior's sequence: a group, the directory and the NULL target opened, five marks (three
    good, an empty path -ENOENT, NULL at AT_FDCWD -EBADF), a flush, the closes (deferred order:
    target, directory, group; closing the group would remove any mark left)."""
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[FAN_GROUP] = iow_tally_ret(&w.iter[0], iow_sys2(
            __NR_fanotify_init, FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY))
        w.fd[FAN_DIR] = iow_tally_ret(&w.iter[1], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.dir, O_RDONLY | O_DIRECTORY, 0))
        w.fd[FAN_TARGET] = iow_tally_ret(&w.iter[2], iow_sys4(
            __NR_openat, AT_FDCWD, <long>w.path[P_NULL_TARGET], O_RDONLY, 0))
        fan_mark(w, 3, FAN_MARK_ADD, FAN_OPEN, -1, w.path[P_ABSOLUTE])
        fan_mark(w, 4, FAN_MARK_ADD, FAN_OPEN, w.fd[FAN_DIR], RELATIVE_NAME)
        fan_mark(w, 5, FAN_MARK_ADD, FAN_OPEN, w.fd[FAN_TARGET], NULL)
        fan_mark(w, 6, FAN_MARK_ADD, FAN_OPEN, w.fd[FAN_TARGET], EMPTY_PATH)
        fan_mark(w, 7, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, NULL)
        fan_mark(w, 8, FAN_MARK_FLUSH, 0, w.fd[FAN_DIR], FLUSH_NAME)
        close_tracked(&w.iter[9], &w.fd[FAN_TARGET])
        close_tracked(&w.iter[10], &w.fd[FAN_DIR])
        close_tracked(&w.iter[11], &w.fd[FAN_GROUP])
    return n


# ---- BPF map ----

cdef void fill_map_attr(BpfMapCreateAttr *attr) noexcept nogil:
    """ior's map: an array of one 8-byte value under a 4-byte key, named ior_s4_map."""
    memset(attr, 0, sizeof(BpfMapCreateAttr))
    attr.map_type = BPF_MAP_TYPE_ARRAY
    attr.key_size = 4
    attr.value_size = 8
    attr.max_entries = 1
    memcpy(attr.map_name, MAP_NAME, strlen(MAP_NAME))


cdef uint64_t bpf_map_create_basic_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """Create the map, getpriority (ior's marker that the create succeeded), close: the last
    reference goes, and the kernel frees the map (its id is gone at once)."""
    cdef IpcScratch *s = <IpcScratch *>w.scratch
    cdef uint64_t i
    fill_map_attr(&s.map_attr)
    for i in range(n):
        if iow_stop_requested(w):
            return i
        w.fd[0] = iow_tally_ret(&w.iter[0], iow_sys3(__NR_bpf, BPF_MAP_CREATE, <long>&s.map_attr,
                                                     sizeof(BpfMapCreateAttr)))
        iow_tally_ret(&w.iter[1], iow_sys2(__NR_getpriority, PRIO_PROCESS, 0))
        close_tracked(&w.iter[2], &w.fd[0])
    return n


BPF_MAP_ATTR_BYTES = sizeof(BpfMapCreateAttr)   # ior pins 72; a test does too


def _bpf_map_creatable():
    """BPF_MAP_CREATE of ior's map succeeds here (the probe's map is closed, so freed, again).
    Its refusal names the errno and whether the capability it wants is missing."""
    import os
    from ioworkload.core.errors import errno_name
    from ioworkload.core.probes import capability, in_initial_user_namespace
    cdef BpfMapCreateAttr attr
    fill_map_attr(&attr)
    cdef long ret = iow_sys3(__NR_bpf, BPF_MAP_CREATE, <long>&attr, sizeof(BpfMapCreateAttr))
    if ret >= 0:
        os.close(ret)
        return None
    if ret == -ENOSYS:
        return "the kernel has no bpf syscall (ENOSYS)"
    lacking = capability("CAP_BPF")() and capability("CAP_SYS_ADMIN")()
    return (f"BPF_MAP_CREATE is refused here (-{errno_name(-ret)})"
            + ("; it needs CAP_BPF or CAP_SYS_ADMIN (run as root)" if lacking else
               "; it needs CAP_BPF in the initial user namespace, and this process is in one "
               "of its own" if not in_initial_user_namespace() else
               " although this process holds CAP_BPF or CAP_SYS_ADMIN (a lockdown or LSM "
               "policy, or RLIMIT_MEMLOCK before 5.11)"))


IOR_QUEUE_REFUSED = "mq_open: permission denied"   # ior's workload's error, its test's skip


def _ior_queue_name_accepted():
    """ior passes its queue name "/ior-mq-<pid>-<ns>" to the raw mq_open, and the kernel
    refuses a queue name with a slash (-EACCES): ior's workload fails with "mq_open:
    permission denied", on which ior's test skips. Asked here the same way (O_RDONLY, no
    O_CREAT: nothing is ever created)."""
    import os
    cdef bytes name = f"/ior-mq-{os.getpid()}-probe".encode()
    cdef long ret = iow_sys4(__NR_mq_open, <long><const char *>name, 0, 0, 0)
    if ret >= 0:
        os.close(ret)
    if ret == -EACCES:
        return (f"{IOR_QUEUE_REFUSED}: ior's queue name \"/ior-mq-<pid>-<ns>\" has a slash, "
                "which the raw mq_open refuses (-EACCES); ior's own workload fails here the "
                "same way, and ior's test skips")
    return None


KERNEL_O_LARGEFILE = IOW_KERNEL_O_LARGEFILE   # tests compare it with <linux/fcntl.h>'s


def _creates_fd(name, nr, *args):
    """The host lets this process make the fd (memfd_secret may be compiled out or disabled,
    userfaultfd restricted to privileged callers): the probe's fd is closed again."""
    import os
    from ioworkload.core import _runner
    from ioworkload.core.errors import errno_name

    def probe():
        if nr < 0:
            return f"this architecture has no {name} syscall"
        ret = _runner.raw_syscall(nr, *args)
        if ret < 0:
            return f"{name} is refused here (-{errno_name(-ret)})"
        os.close(ret)
        return None

    probe.__name__ = f"creates_fd({name})"
    return probe


# ---- the table ----

_SYSV_NOTE = ("IPC_PRIVATE gives a new object each call, so workers never share one; IPC_RMID "
              "removes it in the same iteration (an interrupted run stops between iterations, "
              "so `ipcs` never shows one left behind). ")


# fanotify_init without FAN_REPORT_FID is checked with capable(): root of a user namespace is not
_FANOTIFY = [capability("CAP_SYS_ADMIN", initial_namespace=True),
             syscall_implemented("fanotify_init", __NR_fanotify_init, 0xffffffff, 0)]

SCENARIOS = scenarios("ipc", [
    dict(name="pipe_basic", summary="the legacy pipe(&fds), write one byte, close both ends",
         kernel=kernel(pipe_basic_loop), requires=[legacy_syscall("pipe")],
         iteration=["pipe(&fds) -> 0", 'write(?, "x", 1) -> 1', "close(?) -> 0",
                    "close(?) -> 0"],
         notes="ior calls Go's syscall.Pipe, which on current Go issues pipe2(fds, 0), so ior's "
               "test matches \"enter_pipe\" as a substring; here the legacy pipe syscall is "
               "issued by its own number (x86-64 has it, aarch64 does not: unsupported there). "
               "The newest ior writes one byte into the write end (its byte is not recorded: "
               "ours is \"x\"). pipe stores its two fds through &fds: no event returns them, so "
               "the write (write end) and the closes (write end, then read end: Go's deferred "
               "order) show ?."),
    dict(name="pipe2_basic", summary="pipe2(&fds, O_CLOEXEC/O_NONBLOCK), write one byte, close both",
         kernel=kernel(pipe2_basic_loop),
         iteration=["pipe2(&fds, O_CLOEXEC|O_NONBLOCK) -> 0", 'write(?, "x", 1) -> 1',
                    "close(?) -> 0", "close(?) -> 0"],
         notes="As pipe_basic, with ior's flags; the fds come back through &fds, hence ?."),
    dict(name="eventfd_basic", summary="the legacy eventfd(1), then close",
         kernel=kernel(eventfd_basic_loop), requires=[legacy_syscall("eventfd")],
         iteration=["fd = eventfd(1) -> >=0", "close(fd) -> 0"],
         notes="ior issues the legacy call by number (284 on x86-64; aarch64 lacks it: "
               "unsupported there)."),
    dict(name="eventfd2_basic",
         summary="eventfd2(1, EFD_SEMAPHORE/EFD_CLOEXEC/EFD_NONBLOCK), then close",
         kernel=kernel(eventfd2_basic_loop),
         iteration=["fd = eventfd2(1, EFD_SEMAPHORE|EFD_CLOEXEC|EFD_NONBLOCK) -> >=0",
                    "close(fd) -> 0"],
         notes="The newest ior's flags (older versions had no EFD_SEMAPHORE)."),
    dict(name="fd_from_air_eventfd_users",
         summary="memfd_create, memfd_secret, userfaultfd, signalfd/signalfd4, timerfd: fds "
                 "made and closed",
         kernel=kernel(fd_from_air_loop),
         requires=[_creates_fd("memfd_secret", IOW_NR_memfd_secret, O_CLOEXEC),
                   _creates_fd("userfaultfd", __NR_userfaultfd, O_CLOEXEC),
                   legacy_syscall("signalfd")],
         iteration=['memfd = memfd_create("ior-memfd", MFD_CLOEXEC|MFD_ALLOW_SEALING) -> >=0',
                    "close(memfd) -> 0",
                    "secret = memfd_secret(O_CLOEXEC) -> >=0", "close(secret) -> 0",
                    "uffd = userfaultfd(O_CLOEXEC) -> >=0", "close(uffd) -> 0",
                    "sfd0 = signalfd(-1, &mask, 8) -> >=0", "close(sfd0) -> 0",
                    "signalfd4(-1, &mask, 128, 0) -> -EINVAL",
                    "sfd = signalfd4(-1, &mask, 8, SFD_CLOEXEC) -> >=0",
                    "signalfd(sfd, &mask, 8) -> >=0",
                    "signalfd4(sfd, &mask, 8, SFD_NONBLOCK) -> >=0",
                    "close(sfd) -> 0",
                    "tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC) -> >=0",
                    "timerfd_settime(tfd, 0, {it_interval={0, 0}, it_value={1, 0}}, NULL) -> 0",
                    "timerfd_gettime(tfd, &cur) -> 0",
                    "close(tfd) -> 0"],
         notes="The newest ior's sequence. ior ignores every error (memfd_secret is often "
               "disabled, userfaultfd restricted); here each must succeed, and a host that "
               "refuses memfd_secret or userfaultfd makes the scenario unsupported (the probe "
               "says which errno), as does an architecture without the legacy signalfd. The "
               "signalfd4 with sizemask 128 (Go's Sigset_t size; the kernel wants its own 8 "
               "bytes) is -EINVAL on every kernel, so it is declared so. On an existing "
               "signalfd, signalfd and signalfd4 replace its (empty) mask and return the same "
               "fd. The timer is armed 1 s ahead and closed long before it fires."),
    dict(name="fanotify_flags",
         summary="fanotify_init(FAN_CLOEXEC/FAN_NONBLOCK, O_RDONLY/O_LARGEFILE), then close",
         kernel=kernel(fanotify_flags_loop),
         requires=_FANOTIFY,
         iteration=["fd = fanotify_init(FAN_CLOEXEC|FAN_NONBLOCK, O_RDONLY|O_LARGEFILE) -> >=0",
                    "close(fd) -> 0"],
         notes="fanotify_init needs CAP_SYS_ADMIN (unsupported without it; ior ignores the "
               "error). O_LARGEFILE is the kernel's bit (0x8000 on x86-64), as ior passes it; "
               "the group (FAN_CLASS_NOTIF, 0) has no marks and is closed at once."),
    dict(name="fanotify_marks",
         summary="fanotify_mark: absolute, dirfd-relative and NULL paths; empty path, AT_FDCWD; flush",
         kernel=kernel(fanotify_marks_loop, fanotify_marks_setup), needs_dir=True,
         requires=_FANOTIFY,
         setup=[e for name in ("absolute", "relative", "null-target") for e in (
             f'fd = openat(AT_FDCWD, "<dir>/{name}", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0600)'
             " -> >=0", 'write(fd, "ior", 3) -> 3', "close(fd) -> 0")],
         iteration=["g = fanotify_init(FAN_CLASS_NOTIF|FAN_CLOEXEC|FAN_NONBLOCK, O_RDONLY) -> >=0",
                    'd = openat(AT_FDCWD, "<dir>", O_RDONLY|O_DIRECTORY, 0) -> >=0',
                    't = openat(AT_FDCWD, "<dir>/null-target", O_RDONLY, 0) -> >=0',
                    'fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN, -1, "<dir>/absolute") -> 0',
                    'fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN, d, "relative") -> 0',
                    "fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN, t, NULL) -> 0",
                    'fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN, t, "") -> -ENOENT',
                    "fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, NULL) -> -EBADF",
                    'fanotify_mark(g, FAN_MARK_FLUSH, 0, d, "ignored-flush-target") -> 0',
                    "close(t) -> 0", "close(d) -> 0", "close(g) -> 0"],
         notes="ior makes a temporary directory with its three targets each run; here they are "
               "written once in setup (os.WriteFile's openat, write \"ior\", close) in the "
               "worker's private directory, and every iteration is ior's fanotify sequence: the "
               "group, the directory and null-target opened as Go's syscall.Open does (no "
               "O_CLOEXEC), the marks with FAN_OPEN on an absolute path (dfd -1), a path "
               "relative to the directory fd and a NULL path (the fd's own file), then an empty "
               "path (-ENOENT: no AT_EMPTY_PATH) and NULL at AT_FDCWD (-EBADF), and "
               "FAN_MARK_FLUSH, which never resolves its path. ior fails without CAP_SYS_ADMIN; "
               "here that makes the scenario unsupported. No event is read: closing the group "
               "drops it and its marks every iteration."),
    dict(name="bpf_map_create_basic",
         summary="bpf(BPF_MAP_CREATE) of a 1-entry array map, getpriority, close (map freed)",
         kernel=kernel(bpf_map_create_basic_loop), requires=[_bpf_map_creatable],
         iteration=["fd = bpf(BPF_MAP_CREATE, {map_type=BPF_MAP_TYPE_ARRAY, key_size=4, "
                    'value_size=8, max_entries=1, map_name="ior_s4_map"}, 72) -> >=0',
                    "getpriority(PRIO_PROCESS, 0) -> >=1",
                    "close(fd) -> 0"],
         notes="ior's attribute: the 72-byte prefix of union bpf_attr up to map_extra, all "
               "zero but the map's type, sizes and name. ior treats a refusal as benign and "
               "issues getpriority (its marker) only when the map was made; here the map must "
               "be made, and a host that refuses (no CAP_BPF or CAP_SYS_ADMIN, a lockdown or "
               "LSM policy) makes the scenario unsupported with the errno it returned. "
               "getpriority returns 20 - nice (1..40), hence >=1. Closing the only fd frees "
               "the map: no map named ior_s4_map outlives its iteration."),
    dict(name="inotify_basic",
         summary="inotify_init1, add a watch, remove it, watch a missing file (-ENOENT), close",
         kernel=kernel(inotify_basic_loop, inotify_setup), needs_dir=True,
         requires=[syscall_implemented("inotify_rm_watch", __NR_inotify_rm_watch, -1, 0)],
         setup=['fd = openat(AT_FDCWD, "<dir>/watched", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, '
                '0600) -> >=0',
                'write(fd, "ior", 3) -> 3', "close(fd) -> 0"],
         iteration=["ino = inotify_init1(IN_CLOEXEC) -> >=0",
                    'wd = inotify_add_watch(ino, "<dir>/watched", IN_CREATE|IN_DELETE|IN_MODIFY)'
                    " -> 1",
                    "inotify_rm_watch(ino, wd) -> 0",
                    'inotify_add_watch(ino, "<dir>/missing", IN_CREATE|IN_DELETE|IN_MODIFY) '
                    "-> -ENOENT",
                    "close(ino) -> 0"],
         notes="ior creates its temporary directory and the watched file (os.WriteFile: "
               "openat, write \"ior\", close) each run; here the file is made once in setup and "
               "every iteration is ior's inotify sequence. A fresh inotify instance numbers its "
               "first watch 1, so add_watch returns exactly 1. The -ENOENT watch is ior's "
               "point (the failed call keeps its path and group fd)."),
    dict(name="sysv_shm_basic",
         summary="shmget(IPC_PRIVATE, 4096), shmat, store 12 bytes, shmdt, shmctl(IPC_RMID)",
         kernel=kernel(sysv_shm_basic_loop), ipc_objects=[("sysv", "shm")],
         requires=[syscall_implemented("shmctl", __NR_shmctl, -1, IPC_RMID, 0)],
         iteration=["id = shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600) -> >=0",
                    "addr = shmat(id, NULL, 0) -> >=0",
                    "shmdt(addr) -> 0",
                    "shmctl(id, IPC_RMID, NULL) -> 0"],
         notes=_SYSV_NOTE + "The store of \"ior-sysv-shm\" into the segment is a page fault, "
               "no syscall. shmctl gets IPC_RMID as is (glibc would add IPC_64)."),
    dict(name="sysv_msg_basic",
         summary="msgget(IPC_PRIVATE), msgsnd 12 bytes, msgrcv them, msgctl(IPC_RMID)",
         kernel=kernel(sysv_msg_basic_loop), ipc_objects=[("sysv", "msg")],
         requires=[syscall_implemented("msgctl", __NR_msgctl, -1, IPC_RMID, 0)],
         iteration=["id = msgget(IPC_PRIVATE, IPC_CREAT|0600) -> >=0",
                    'msgsnd(id, {mtype=1, mtext="ior-sysv-msg"}, 12, 0) -> 0',
                    "msgrcv(id, &buf, 12, 0, 0) -> 12",
                    "msgctl(id, IPC_RMID, NULL) -> 0"],
         notes=_SYSV_NOTE + "msgsz counts the text only (12), not mtype."),
    dict(name="sysv_sem_basic",
         summary="semget(IPC_PRIVATE, 1), semop +1, semop -1, semctl(IPC_RMID)",
         kernel=kernel(sysv_sem_basic_loop), ipc_objects=[("sysv", "sem")],
         requires=[syscall_implemented("semctl", __NR_semctl, -1, 0, IPC_RMID, 0)],
         iteration=["id = semget(IPC_PRIVATE, 1, IPC_CREAT|0600) -> >=0",
                    "semop(id, [{sem_num=0, sem_op=1, sem_flg=0}], 1) -> 0",
                    "semop(id, [{sem_num=0, sem_op=-1, sem_flg=0}], 1) -> 0",
                    "semctl(id, 0, IPC_RMID, 0) -> 0"],
         notes=_SYSV_NOTE + "The increment comes first, so the decrement never blocks."),
    dict(name="mq_posix_basic",
         summary="mq_open a private queue, notify, getsetattr, timedsend/receive 14 bytes, unlink",
         kernel=kernel(mq_posix_basic_loop, mq_setup), ipc_objects=[("mq", MQ_NAME)],
         requires=[syscall_implemented("mq_unlink", __NR_mq_unlink, 0)],
         iteration=["mqd = mq_open(?, O_CREAT|O_EXCL|O_RDWR, 0600, {mq_maxmsg=8, mq_msgsize=128})"
                    " -> >=0",
                    "mq_notify(mqd, NULL) -> 0",
                    "mq_getsetattr(mqd, NULL, &old) -> 0",
                    'mq_timedsend(mqd, "ior-mq-payload", 14, 0, &deadline) -> 0',
                    "mq_timedreceive(mqd, &buf, 128, &prio, &deadline) -> 14",
                    "mq_unlink(?) -> 0",
                    "close(mqd) -> 0"],
         notes="The queue's name is \"ior-mq-<tid>-<worker index>\" (the worker's thread id: "
               "unique among running tasks), so it depends on the run: ?. ior passes "
               "\"/ior-mq-<pid>-<ns>\" to the raw syscall, which the kernel refuses (-EACCES: "
               "a name with a slash), and its test skips on that; here the name is given as "
               "glibc's mq_open gives it, without the slash, so the sequence runs (ior mode "
               "fails as ior's workload does). The queue "
               "is unlinked and closed in the same iteration (/dev/mqueue keeps no entry). "
               "mq_notify(NULL) with no registration returns 0 (ior tolerates -EINVAL). The "
               "deadline is now + 2 s on CLOCK_REALTIME (read through the vDSO, no syscall); "
               "nothing blocks, so it is never reached."),
])

# ior mode runs these instead of the scenarios of the same name (ior_mode.scenario_for_ior).
# mq_posix_basic: ior's own workload cannot run it (its queue name has a slash, which the raw
# mq_open refuses); ior mode fails the same way, after the PID line, with ior's error text,
# so that ior's test skips as it does with ior's workload. The normal mode runs the sequence.
_MQ = next(sc for sc in SCENARIOS if sc.name == "mq_posix_basic")
IOR_SCENARIOS = [_MQ.replace(requires=list(_MQ.requires) + [_ior_queue_name_accepted])]


# ---- sysv_sem_timedop ----

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_semtimedop

cdef enum:
    SEM_WAIT_NS = 1000000     # semtimedop's timeout: 1 ms, then -EAGAIN


cdef uint64_t sysv_sem_timedop_loop(iow_worker *w, uint64_t n) noexcept nogil:
    """semget one semaphore (0), semtimedop -1 with a 1 ms timeout (it times out: -EAGAIN),
    semtimedop +1 without one, semctl(IPC_RMID)."""
    cdef IpcScratch *s = <IpcScratch *>w.scratch
    cdef uint64_t i
    cdef long semid
    s.sem_up.sem_num = s.sem_down.sem_num = 0
    s.sem_up.sem_op = 1
    s.sem_down.sem_op = -1
    s.sem_up.sem_flg = s.sem_down.sem_flg = 0
    s.deadline.tv_sec = 0
    s.deadline.tv_nsec = SEM_WAIT_NS
    for i in range(n):
        if iow_stop_requested(w):
            return i
        semid = iow_tally_ret(&w.iter[0], iow_sys3(__NR_semget, IPC_PRIVATE, 1, IPC_CREAT | 0o600))
        w.sysv_id = semid  # for the runner, should the process be killed before IPC_RMID
        iow_tally_ret(&w.iter[1], iow_sys4(__NR_semtimedop, semid, <long>&s.sem_down, 1,
                                           <long>&s.deadline))
        iow_tally_ret(&w.iter[2], iow_sys4(__NR_semtimedop, semid, <long>&s.sem_up, 1, 0))
        if iow_tally_ret(&w.iter[3], iow_sys4(__NR_semctl, semid, 0, IPC_RMID, 0)) == 0:
            w.sysv_id = -1
    return n


SCENARIOS += scenarios("ipc", [
    dict(name="sysv_sem_timedop",
         summary="semtimedop -1 on a zero semaphore times out after 1 ms (-EAGAIN); +1; IPC_RMID",
         kernel=kernel(sysv_sem_timedop_loop), ipc_objects=[("sysv", "sem")],
         requires=[syscall_implemented("semctl", __NR_semctl, -1, 0, IPC_RMID, 0)],
         iteration=["id = semget(IPC_PRIVATE, 1, IPC_CREAT|0600) -> >=0",
                    "semtimedop(id, [{sem_num=0, sem_op=-1, sem_flg=0}], 1, "
                    f"{{tv_sec=0, tv_nsec={SEM_WAIT_NS}}}) -> -EAGAIN",
                    "semtimedop(id, [{sem_num=0, sem_op=1, sem_flg=0}], 1, NULL) -> 0",
                    "semctl(id, 0, IPC_RMID, 0) -> 0"],
         notes=_SYSV_NOTE + "The decrement waits on a semaphore at 0 for its whole 1 ms "
               "timeout (relative), then fails with -EAGAIN; the increment never waits."),
])
