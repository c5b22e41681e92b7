# Family 'mount': ior's mountfs_management (../shared/reference/ior-ioworkload-catalog.md,
# 4.16): the new mount API (fsopen, fsconfig, fsmount, move_mount, fspick, open_tree,
# open_tree_attr, mount_setattr), mount/umount2, pivot_root, quotactl/quotactl_fd,
# swapon/swapoff, statmount/listmount.
#
# As root these really mount tmpfs. Every mount call is issued by a child process born in a
# mount namespace of its own (raw clone with CLONE_NEWNS) that first makes its whole tree
# private (MS_REC|MS_PRIVATE), so no mount propagates back, and the namespace, with whatever
# is mounted in it, ends with the child: the host's mount table never changes, also when the
# run is killed (SIGKILL) half-way through the sequence. ior mode (IOR_SCENARIOS) issues the
# same calls on the worker, the scenario's process having moved to such a namespace first.

from libc.stdint cimport uint64_t
from libc.string cimport memset
from ioworkload.core._kernel cimport (
    iow_worker, iow_tally, iow_sys1, iow_sys2, iow_sys3, iow_sys4, iow_sys5,
    iow_tally_ret, iow_stop_requested, iow_path, iow_note_task, kernel,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_unshare
        __NR_clone
        __NR_wait4
        __NR_exit_group
        __NR_mkdirat
        __NR_openat
        __NR_write
        __NR_close
        __NR_mount
        __NR_umount2
        __NR_fsopen
        __NR_fsconfig
        __NR_fsmount
        __NR_fspick
        __NR_move_mount
        __NR_open_tree
        __NR_mount_setattr
        __NR_pivot_root
        __NR_quotactl
        __NR_quotactl_fd
        __NR_swapon
        __NR_swapoff

# Newer than some build hosts' headers: their unified numbers (the same on every architecture).
cdef extern from *:
    """
    #include <asm/unistd.h>
    #ifndef __NR_statmount
    #define __NR_statmount 457
    #endif
    #ifndef __NR_listmount
    #define __NR_listmount 458
    #endif
    #ifndef __NR_open_tree_attr
    #define __NR_open_tree_attr 467
    #endif
    """
    enum:
        __NR_statmount
        __NR_listmount
        __NR_open_tree_attr

cdef extern from "<fcntl.h>" nogil:
    enum:
        AT_FDCWD
        AT_NO_AUTOMOUNT
        AT_SYMLINK_NOFOLLOW
        O_RDONLY
        O_WRONLY
        O_CREAT
        O_TRUNC
        O_CLOEXEC

cdef extern from "<signal.h>" nogil:
    enum:
        SIGCHLD

cdef extern from "<sched.h>" nogil:
    enum:
        CLONE_NEWNS

# glibc's <sys/mount.h> (2.36+) carries the new mount API's constants and struct mount_attr.
cdef extern from "<sys/mount.h>" nogil:
    enum:
        MS_REC
        MS_PRIVATE
        MS_BIND
        MNT_DETACH
        FSOPEN_CLOEXEC
        FSCONFIG_SET_STRING
        FSCONFIG_CMD_CREATE
        FSCONFIG_CMD_RECONFIGURE
        FSMOUNT_CLOEXEC
        MOVE_MOUNT_F_EMPTY_PATH
        FSPICK_CLOEXEC
        FSPICK_NO_AUTOMOUNT
        OPEN_TREE_CLONE
        OPEN_TREE_CLOEXEC
        MOUNT_ATTR_RDONLY
    struct mount_attr:
        uint64_t attr_set
        uint64_t attr_clr
        uint64_t propagation
        uint64_t userns_fd

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import capability, syscall_implemented

CONSTANTS = {
    "MS_REC": MS_REC, "MS_PRIVATE": MS_PRIVATE, "MS_BIND": MS_BIND, "MNT_DETACH": MNT_DETACH,
    "FSOPEN_CLOEXEC": FSOPEN_CLOEXEC, "FSCONFIG_SET_STRING": FSCONFIG_SET_STRING,
    "FSCONFIG_CMD_CREATE": FSCONFIG_CMD_CREATE,
    "FSCONFIG_CMD_RECONFIGURE": FSCONFIG_CMD_RECONFIGURE, "FSMOUNT_CLOEXEC": FSMOUNT_CLOEXEC,
    "MOVE_MOUNT_F_EMPTY_PATH": MOVE_MOUNT_F_EMPTY_PATH, "FSPICK_CLOEXEC": FSPICK_CLOEXEC,
    "FSPICK_NO_AUTOMOUNT": FSPICK_NO_AUTOMOUNT, "OPEN_TREE_CLONE": OPEN_TREE_CLONE,
    "OPEN_TREE_CLOEXEC": OPEN_TREE_CLOEXEC, "MOUNT_ATTR_RDONLY": MOUNT_ATTR_RDONLY,
}

cdef enum:
    P_MNT = 0                # w.path slots
    P_OPEN_TREE = 1
    P_DEST = 2
    P_SWAP = 3
    MNT_ID_REQ_SIZE_VER0 = 24
    STATMOUNT_BUF = 256
    LISTMOUNT_IDS = 8
    QUOTA_TYPE_NONE = 3      # USRQUOTA, GRPQUOTA, PRJQUOTA are 0-2 (MAXQUOTAS)

cdef const char *SWAP_CONTENT = b"swap"
cdef const char *ROOT = b"/"
cdef const char *TMPFS = b"tmpfs"
cdef const char *SOURCE_KEY = b"source"
cdef const char *NONE = b"none"
cdef const char *EMPTY = b""

ctypedef struct MntIdReq:    # struct mnt_id_req, version 0
    unsigned int size
    unsigned int spare
    uint64_t mnt_id
    uint64_t param

ctypedef struct MountState:
    int status
    mount_attr empty_attr        # open_tree_attr: change nothing
    mount_attr rdonly_attr       # mount_setattr: attr_set = MOUNT_ATTR_RDONLY
    MntIdReq req                 # mnt_id 0: no mount has it
    unsigned char statmount_buf[STATMOUNT_BUF]
    uint64_t mount_ids[LISTMOUNT_IDS]


cdef int mountfs_setup(iow_worker *w) noexcept nogil:
    """ior's three directories and its 4-byte "swap" file, in the worker's private directory
    (in the host's namespace: plain files, no mount)."""
    cdef MountState *s = <MountState *>w.scratch
    cdef long fd, r
    memset(s, 0, sizeof(MountState))
    s.rdonly_attr.attr_set = MOUNT_ATTR_RDONLY
    s.req.size = MNT_ID_REQ_SIZE_VER0
    iow_path(w, P_MNT, b"mnt")
    iow_path(w, P_OPEN_TREE, b"open-tree-target")
    iow_path(w, P_DEST, b"move-mount-destination")
    cdef int k
    for k in range(3):  # the slots P_MNT, P_OPEN_TREE, P_DEST are 0..2, as the events
        r = iow_tally_ret(&w.setup[k], iow_sys3(__NR_mkdirat, AT_FDCWD, <long>w.path[k], 0o755))
        if r < 0:
            return <int>r
    fd = iow_tally_ret(&w.setup[3], iow_sys4(__NR_openat, AT_FDCWD,
                                             <long>iow_path(w, P_SWAP, b"swapfile"),
                                             O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600))
    if fd < 0:
        return <int>fd
    r = iow_tally_ret(&w.setup[4], iow_sys3(__NR_write, fd, <long>SWAP_CONTENT, 4))
    iow_tally_ret(&w.setup[5], iow_sys1(__NR_close, fd))
    return <int>r if r < 0 else 0


cdef void private_tree(iow_worker *w, iow_tally *t) noexcept nogil:
    # In a new mount namespace, first: nothing mounted below propagates to the namespace it was
    # copied from; then the private directory becomes a mount of its own, so pivot_root's
    # result does not depend on whether $TMPDIR is on the root filesystem (2 events)
    iow_tally_ret(&t[0], iow_sys5(__NR_mount, 0, <long>ROOT, 0, MS_REC | MS_PRIVATE, 0))
    iow_tally_ret(&t[1], iow_sys5(__NR_mount, <long>w.dir, <long>w.dir, 0, MS_BIND, 0))


cdef void mount_sequence(iow_worker *w, iow_tally *t) noexcept nogil:
    # ior's calls, fsopen to listmount (28 events). Every call is issued even after a failure,
    # so the counts stay the manifest's (a failed fd is passed on as the kernel's -errno:
    # -EBADF).
    cdef MountState *s = <MountState *>w.scratch
    cdef long ctx, mnt, pick, tree, clone_fd, qfd
    cdef long dest = <long>w.path[P_DEST], mntdir = <long>w.path[P_MNT]
    ctx = iow_tally_ret(&t[0], iow_sys2(__NR_fsopen, <long>TMPFS, FSOPEN_CLOEXEC))
    iow_tally_ret(&t[1], iow_sys5(__NR_fsconfig, ctx, FSCONFIG_SET_STRING, <long>SOURCE_KEY,
                                  <long>NONE, 0))
    iow_tally_ret(&t[2], iow_sys5(__NR_fsconfig, ctx, FSCONFIG_CMD_CREATE, 0, 0, 0))
    mnt = iow_tally_ret(&t[3], iow_sys3(__NR_fsmount, ctx, FSMOUNT_CLOEXEC, 0))
    iow_tally_ret(&t[4], iow_sys5(__NR_move_mount, mnt, <long>EMPTY, AT_FDCWD, dest,
                                  MOVE_MOUNT_F_EMPTY_PATH))
    # ior reconfigures "/" itself (whose superblock the host shares); here the tmpfs just mounted
    pick = iow_tally_ret(&t[5], iow_sys3(__NR_fspick, AT_FDCWD, dest,
                                         FSPICK_NO_AUTOMOUNT | FSPICK_CLOEXEC))
    iow_tally_ret(&t[6], iow_sys5(__NR_fsconfig, pick, FSCONFIG_CMD_RECONFIGURE, 0, 0, 0))
    iow_tally_ret(&t[7], iow_sys1(__NR_close, pick))
    iow_tally_ret(&t[8], iow_sys2(__NR_umount2, dest, MNT_DETACH))
    iow_tally_ret(&t[9], iow_sys1(__NR_close, mnt))
    iow_tally_ret(&t[10], iow_sys1(__NR_close, ctx))
    tree = iow_tally_ret(&t[11], iow_sys3(__NR_open_tree, AT_FDCWD, <long>w.path[P_OPEN_TREE],
                                          OPEN_TREE_CLOEXEC | AT_NO_AUTOMOUNT |
                                          AT_SYMLINK_NOFOLLOW))
    iow_tally_ret(&t[12], iow_sys1(__NR_close, tree))
    clone_fd = iow_tally_ret(&t[13], iow_sys5(__NR_open_tree_attr, AT_FDCWD,
                                              <long>w.path[P_OPEN_TREE],
                                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC,
                                              <long>&s.empty_attr, sizeof(mount_attr)))
    iow_tally_ret(&t[14], iow_sys1(__NR_close, clone_fd))
    iow_tally_ret(&t[15], iow_sys5(__NR_mount_setattr, AT_FDCWD, mntdir, 0,
                                   <long>&s.rdonly_attr, sizeof(mount_attr)))
    iow_tally_ret(&t[16], iow_sys5(__NR_mount, <long>NONE, mntdir, <long>TMPFS, 0, 0))
    iow_tally_ret(&t[17], iow_sys2(__NR_umount2, mntdir, 0))
    iow_tally_ret(&t[18], iow_sys2(__NR_umount2, mntdir, MNT_DETACH))
    iow_tally_ret(&t[19], iow_sys2(__NR_pivot_root, mntdir, <long>w.dir))
    iow_tally_ret(&t[20], iow_sys4(__NR_quotactl, 0, mntdir, 0, 0))
    qfd = iow_tally_ret(&t[21], iow_sys4(__NR_openat, AT_FDCWD, mntdir, O_RDONLY, 0))
    # quota type 3 (>= MAXQUOTAS) is -EINVAL before any filesystem is asked: command 0 is
    # -EINVAL on ext4 but -ENOSYS where $TMPDIR is a tmpfs without quotas
    iow_tally_ret(&t[22], iow_sys4(__NR_quotactl_fd, qfd, QUOTA_TYPE_NONE, 0, 0))
    iow_tally_ret(&t[23], iow_sys1(__NR_close, qfd))
    iow_tally_ret(&t[24], iow_sys2(__NR_swapon, <long>w.path[P_SWAP], 0))
    iow_tally_ret(&t[25], iow_sys1(__NR_swapoff, <long>w.path[P_SWAP]))
    iow_tally_ret(&t[26], iow_sys4(__NR_statmount, <long>&s.req, <long>s.statmount_buf,
                                   STATMOUNT_BUF, 0))
    iow_tally_ret(&t[27], iow_sys4(__NR_listmount, <long>&s.req, <long>s.mount_ids,
                                   LISTMOUNT_IDS, 0))


cdef void mountfs_child(iow_worker *w) noexcept nogil:
    # The child, in its own mount namespace: only raw syscalls, then the raw exit_group.
    # Its events are iteration slots 1..
    cdef iow_tally *t = &w.iter[1]
    iow_tally_ret(&t[0], 0)  # clone returned 0 here
    private_tree(w, &t[1])
    mount_sequence(w, &t[3])
    iow_tally_ret(&t[31], 0)  # exit_group does not return
    iow_sys1(__NR_exit_group, 0)


cdef uint64_t mountfs_management_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef MountState *s = <MountState *>w.scratch
    cdef uint64_t i
    cdef long pid
    for i in range(n):
        if iow_stop_requested(w):
            return i
        pid = iow_sys5(__NR_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0)
        if pid == 0:
            mountfs_child(w)
        iow_tally_ret(&w.iter[0], pid)
        iow_note_task(w, pid)
        if pid > 0:
            iow_tally_ret(&w.iter[33], iow_sys4(__NR_wait4, pid, <long>&s.status, 0, 0))
    return n


cdef int ior_mountfs_setup(iow_worker *w) noexcept nogil:
    # ior mode: the files, then this process (the command spawned it; one worker) moves to a mount
    # namespace of its own, made private: it ends with the process
    cdef int r = mountfs_setup(w)
    if r < 0:
        return r
    r = <int>iow_tally_ret(&w.setup[6], iow_sys1(__NR_unshare, CLONE_NEWNS))
    if r < 0:
        return r
    private_tree(w, &w.setup[7])
    return 0


cdef uint64_t ior_mountfs_management_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        mount_sequence(w, w.iter)
    return n


def _new_mount_namespace():
    """A child of ours can be born in a mount namespace of its own (a container's seccomp
    policy or a missing CONFIG may refuse it). Probed in a forked child: never this process."""
    import os
    from ioworkload.core import _runner
    from ioworkload.core.errors import errno_name
    pid = os.fork()
    if pid == 0:
        ret = _runner.raw_syscall(_NR_UNSHARE, CLONE_NEWNS)
        os._exit(0 if ret == 0 else min(-ret, 255))
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code:
        return f"a new mount namespace is refused here (unshare(CLONE_NEWNS): -{errno_name(code)})"
    return None


_NR_UNSHARE = __NR_unshare

_DEST = '"<dir>/move-mount-destination"'
_MNT = '"<dir>/mnt"'
_TREE = '"<dir>/open-tree-target"'
_SWAP = '"<dir>/swapfile"'
_CLONE = "clone(CLONE_NEWNS|SIGCHLD, 0, NULL, NULL, 0)"

_REQUIRES = [capability("CAP_SYS_ADMIN", initial_namespace=True),  # quotactl, swapon
             syscall_implemented("open_tree_attr", __NR_open_tree_attr, -1, 0, 0, 0, 0),
             syscall_implemented("statmount", __NR_statmount, 0, 0, 0, 0),
             syscall_implemented("listmount", __NR_listmount, 0, 0, 0, 0),
             _new_mount_namespace]
_FILES = [f"mkdirat(AT_FDCWD, {_MNT}, 0755) -> 0",
          f"mkdirat(AT_FDCWD, {_TREE}, 0755) -> 0",
          f"mkdirat(AT_FDCWD, {_DEST}, 0755) -> 0",
          f"fd = openat(AT_FDCWD, {_SWAP}, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0600) -> >=0",
          'write(fd, "swap", 4) -> 4',
          "close(fd) -> 0"]
_PRIVATE_TREE = ['mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL) -> 0',
                 'mount("<dir>", "<dir>", NULL, MS_BIND, NULL) -> 0']
# ior's calls, fsopen to listmount (mount_sequence)
_SEQUENCE = [
    'ctx = fsopen("tmpfs", FSOPEN_CLOEXEC) -> >=0',
    'fsconfig(ctx, FSCONFIG_SET_STRING, "source", "none", 0) -> 0',
    "fsconfig(ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) -> 0",
    "mnt = fsmount(ctx, FSMOUNT_CLOEXEC, 0) -> >=0",
    f'move_mount(mnt, "", AT_FDCWD, {_DEST}, MOVE_MOUNT_F_EMPTY_PATH) -> 0',
    f"pick = fspick(AT_FDCWD, {_DEST}, FSPICK_NO_AUTOMOUNT|FSPICK_CLOEXEC) -> >=0",
    "fsconfig(pick, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) -> 0",
    "close(pick) -> 0",
    f"umount2({_DEST}, MNT_DETACH) -> 0",
    "close(mnt) -> 0",
    "close(ctx) -> 0",
    f"tree = open_tree(AT_FDCWD, {_TREE}, "
    "OPEN_TREE_CLOEXEC|AT_NO_AUTOMOUNT|AT_SYMLINK_NOFOLLOW) -> >=0",
    "close(tree) -> 0",
    f"copy = open_tree_attr(AT_FDCWD, {_TREE}, OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC, "
    "{attr_set=0, attr_clr=0, propagation=0, userns_fd=0}, 32) -> >=0",
    "close(copy) -> 0",
    f"mount_setattr(AT_FDCWD, {_MNT}, 0, {{attr_set=MOUNT_ATTR_RDONLY}}, 32) "
    "-> -EINVAL",
    f'mount("none", {_MNT}, "tmpfs", 0, NULL) -> 0',
    f"umount2({_MNT}, 0) -> 0",
    f"umount2({_MNT}, MNT_DETACH) -> -EINVAL",
    f'pivot_root({_MNT}, "<dir>") -> -EINVAL',
    f"quotactl(0, {_MNT}, 0, NULL) -> -ENOTBLK",
    f"qfd = openat(AT_FDCWD, {_MNT}, O_RDONLY, 0) -> >=0",
    "quotactl_fd(qfd, 3, 0, NULL) -> -EINVAL",
    "close(qfd) -> 0",
    f"swapon({_SWAP}, 0) -> -EINVAL",
    f"swapoff({_SWAP}) -> -EINVAL",
    "statmount({size=24, mnt_id=0, param=0}, &buf, 256, 0) -> -EINVAL",
    "listmount({size=24, mnt_id=0, param=0}, &ids, 8, 0) -> -EINVAL",
]

SCENARIOS = scenarios("mount", [
    dict(name="mountfs_management",
         summary="new mount API, mount/umount2, pivot_root, quotactl, swapon, statmount: in a "
                 "private mount ns",
         kernel=kernel(mountfs_management_loop, mountfs_setup), needs_dir=True,
         requires=_REQUIRES,
         setup=_FILES,
         iteration=[
             f"pid = {_CLONE} -> >=1",
             f"child: {_CLONE} -> 0 exit-only",
             *[f"child: {e}" for e in _PRIVATE_TREE],
             *[f"child: {e}" for e in _SEQUENCE],
             "child: exit_group(0) -> noreturn",
             "wait4(pid, &status, 0, NULL) -> >=1"],
         notes="As root this really mounts: a tmpfs through fsopen/fsconfig/fsmount/move_mount, "
               "another through mount(2), and a clone of a directory through open_tree_attr. "
               "All of it is done by a child born in a mount namespace of its own (raw clone "
               "with CLONE_NEWNS|SIGCHLD), which first makes its whole tree private "
               "(MS_REC|MS_PRIVATE: nothing propagates back) and bind-mounts the private "
               "directory onto itself (so pivot_root's -EINVAL does not depend on whether "
               "$TMPDIR is on the root filesystem: ior gets -EBUSY there, -EINVAL elsewhere). "
               "The namespace dies with the child, and every mount in it, even when the run is "
               "killed: the host's mount table never changes. Needs CAP_SYS_ADMIN, a kernel "
               "with open_tree_attr (6.15), statmount and listmount (6.8), and a mount "
               "namespace the host allows (unsupported otherwise). Differences from ior, for "
               "safety and exactness: fspick reconfigures the tmpfs just mounted, not \"/\" "
               "(whose superblock the host shares), and before its umount2 (ior picks \"/\" "
               "after the umount); ior's listns (nr 470, 6.19+) is left out, as this build's "
               "kernels lack it. ior ignores every result; here each is declared as the kernel "
               "gives it: mount_setattr on a directory that is no mount root, the second "
               "umount2, pivot_root onto a non-mount and quotactl_fd with quota type 3 (none "
               "such: the same on every filesystem) are "
               "-EINVAL, quotactl on a directory -ENOTBLK, swapon/swapoff of ior's 4-byte "
               "\"swap\" file -EINVAL (so swap is never touched), statmount/listmount of mount "
               "id 0 -EINVAL. The setup (ior's directories and swap file) is plain files in the "
               "host's namespace."),
])

# ior mode runs these instead of the scenarios of the same name (ior_mode.scenario_for_ior).
IOR_SCENARIOS = scenarios("mount", [
    dict(name="mountfs_management",
         summary="ior's mount calls on the main thread, in the process's own private mount ns",
         kernel=kernel(ior_mountfs_management_loop, ior_mountfs_setup), needs_dir=True,
         requires=_REQUIRES,
         setup=_FILES + ["unshare(CLONE_NEWNS) -> 0"] + _PRIVATE_TREE,
         iteration=_SEQUENCE,
         notes="ior mode's sequence: ior's test looks for the calls on the traced process, so "
               "the worker (the main thread; one worker) makes them itself, after moving the "
               "scenario's process (the command spawns it: no caller's is touched) to a mount "
               "namespace of its own in setup, made private and with the private directory "
               "bind-mounted onto itself, as the normal mode's child does. The namespace and "
               "every mount in it end with the process, also when it is killed; every "
               "iteration unmounts what it mounted. Otherwise as the normal mode's sequence."),
])
for _sc in IOR_SCENARIOS:
    _sc.one_worker = True   # one namespace for the process
