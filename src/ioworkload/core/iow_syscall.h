/* Raw syscall entry: the `syscall`/`svc` instruction issued inline.
 *
 * Why not libc syscall(): it costs 12-17 ns a call on this class of machine and sets errno;
 * glibc wrappers also swap syscalls (open -> openat, stat -> newfstatat). Every function
 * here returns the kernel's raw result: >= 0 on success, -errno on failure.
 */
#ifndef IOW_SYSCALL_H
#define IOW_SYSCALL_H

#include <sys/syscall.h>
#include <asm/unistd.h>
#include "iow_config.h"

/* Syscalls newer than the build host's headers. Numbers >= 424 are shared by every
 * architecture (the unified syscall table), so one value serves x86-64 and aarch64. */
#if !HAVE_NR_PIDFD_OPEN
#define __NR_pidfd_open 434
#endif
#if !HAVE_NR_CLOSE_RANGE
#define __NR_close_range 436
#endif
#if !HAVE_NR_OPENAT2
#define __NR_openat2 437
#endif
#if !HAVE_NR_MOVE_MOUNT
#define __NR_move_mount 429
#endif
#if !HAVE_NR_CACHESTAT
#define __NR_cachestat 451
#endif
#if !HAVE_NR_FCHMODAT2
#define __NR_fchmodat2 452
#endif
#if !HAVE_NR_SETXATTRAT
#define __NR_setxattrat 463
#endif
#if !HAVE_NR_GETXATTRAT
#define __NR_getxattrat 464
#endif
#if !HAVE_NR_LISTXATTRAT
#define __NR_listxattrat 465
#endif
#if !HAVE_NR_REMOVEXATTRAT
#define __NR_removexattrat 466
#endif

/* A number no kernel assigns: the cheapest possible kernel entry and exit (-ENOSYS). */
#define IOW_NR_UNASSIGNED 1023

#if defined(__x86_64__)
#define IOW_RAW_SYSCALLS 1
#define IOW_CLOBBERS "rcx", "r11", "memory"
static inline long iow_sys6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : IOW_CLOBBERS);
    return ret;
}
static inline long iow_sys0(long n)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n) : IOW_CLOBBERS);
    return ret;
}
static inline long iow_sys1(long n, long a)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a) : IOW_CLOBBERS);
    return ret;
}
static inline long iow_sys2(long n, long a, long b)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b) : IOW_CLOBBERS);
    return ret;
}
static inline long iow_sys3(long n, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : IOW_CLOBBERS);
    return ret;
}
static inline long iow_sys4(long n, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : IOW_CLOBBERS);
    return ret;
}
static inline long iow_sys5(long n, long a, long b, long c, long d, long e)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : IOW_CLOBBERS);
    return ret;
}


/* The 32-bit door: `int $0x80` from this 64-bit process enters the kernel's ia32 table (its
 * numbers, arguments in ebx, ecx, edx, esi, edi, ebp, each read as 32 bits). Since 6.7 the
 * kernel enters it through an IDT entry whose C handler (int80_emulation,
 * arch/x86/entry/syscall_32.c) saves and restores every register but rax; kernels before 4.17
 * zeroed r8-r11 on the way out (entry_64_compat.S): declared clobbered, with the flags. ebp
 * cannot be an operand (it may be the frame pointer): the sixth argument is swapped into it
 * around the instruction, from a register of its own (early-clobber: never one an input
 * holds). The result is eax as a 32-bit process reads it: -4095..-1 is -errno, anything else
 * unsigned (an mmap2 address above 2 GiB stays positive). */
#define IOW_HAVE_INT80 1
static inline long iow_ia32_6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    __asm__ volatile("xchg %%rbp, %q[f]\n\tint $0x80\n\txchg %%rbp, %q[f]"
                     : "=a"(ret), [f] "+&r"(f)
                     : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
                     : "r8", "r9", "r10", "r11", "memory", "cc");
    unsigned int eax = (unsigned int)ret;
    return eax >= -4095u ? -(long)(unsigned int)(-eax) : (long)eax;
}

#elif defined(__aarch64__)
#define IOW_RAW_SYSCALLS 1
static inline long iow_sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0" : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}

#else
/* Elsewhere: libc's generic syscall(), converted back to the kernel's -errno convention. */
#define IOW_RAW_SYSCALLS 0
#include <errno.h>
#include <unistd.h>
static inline long iow_sys6(long n, long a, long b, long c, long d, long e, long f)
{
    long r = syscall(n, a, b, c, d, e, f);
    return r == -1 ? -errno : r;
}
#endif

#if !defined(__x86_64__)
/* No 32-bit door here: an ia32 scenario is unsupported (its probe sees -ENOSYS). */
#define IOW_HAVE_INT80 0
static inline long iow_ia32_6(long n, long a, long b, long c, long d, long e, long f)
{ (void)n; (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; return -38; }
#endif

#if !defined(__x86_64__)
/* With the six-register form in place, the shorter ones only pad with zeros. */
static inline long iow_sys0(long n) { return iow_sys6(n, 0, 0, 0, 0, 0, 0); }
static inline long iow_sys1(long n, long a) { return iow_sys6(n, a, 0, 0, 0, 0, 0); }
static inline long iow_sys2(long n, long a, long b) { return iow_sys6(n, a, b, 0, 0, 0, 0); }
static inline long iow_sys3(long n, long a, long b, long c) { return iow_sys6(n, a, b, c, 0, 0, 0); }
static inline long iow_sys4(long n, long a, long b, long c, long d)
{ return iow_sys6(n, a, b, c, d, 0, 0); }
static inline long iow_sys5(long n, long a, long b, long c, long d, long e)
{ return iow_sys6(n, a, b, c, d, e, 0); }
#endif

/* Legacy syscalls that only some architectures have (aarch64 lacks most). IOW_NR_<name> is -1
 * where the headers lack it; a scenario needing one is then unsupported, never substituted. */
#ifdef __NR_open
#define IOW_NR_open __NR_open
#else
#define IOW_NR_open (-1)
#endif
#ifdef __NR_creat
#define IOW_NR_creat __NR_creat
#else
#define IOW_NR_creat (-1)
#endif
#ifdef __NR_rename
#define IOW_NR_rename __NR_rename
#else
#define IOW_NR_rename (-1)
#endif
#ifdef __NR_unlink
#define IOW_NR_unlink __NR_unlink
#else
#define IOW_NR_unlink (-1)
#endif
#ifdef __NR_rmdir
#define IOW_NR_rmdir __NR_rmdir
#else
#define IOW_NR_rmdir (-1)
#endif
#ifdef __NR_mkdir
#define IOW_NR_mkdir __NR_mkdir
#else
#define IOW_NR_mkdir (-1)
#endif
#ifdef __NR_link
#define IOW_NR_link __NR_link
#else
#define IOW_NR_link (-1)
#endif
#ifdef __NR_symlink
#define IOW_NR_symlink __NR_symlink
#else
#define IOW_NR_symlink (-1)
#endif
#ifdef __NR_readlink
#define IOW_NR_readlink __NR_readlink
#else
#define IOW_NR_readlink (-1)
#endif
#ifdef __NR_access
#define IOW_NR_access __NR_access
#else
#define IOW_NR_access (-1)
#endif
#ifdef __NR_stat
#define IOW_NR_stat __NR_stat
#else
#define IOW_NR_stat (-1)
#endif
#ifdef __NR_lstat
#define IOW_NR_lstat __NR_lstat
#else
#define IOW_NR_lstat (-1)
#endif
#ifdef __NR_fstat
#define IOW_NR_fstat __NR_fstat
#else
#define IOW_NR_fstat (-1)
#endif
#ifdef __NR_utime
#define IOW_NR_utime __NR_utime
#else
#define IOW_NR_utime (-1)
#endif
#ifdef __NR_utimes
#define IOW_NR_utimes __NR_utimes
#else
#define IOW_NR_utimes (-1)
#endif
#ifdef __NR_futimesat
#define IOW_NR_futimesat __NR_futimesat
#else
#define IOW_NR_futimesat (-1)
#endif
#ifdef __NR_dup2
#define IOW_NR_dup2 __NR_dup2
#else
#define IOW_NR_dup2 (-1)
#endif
#ifdef __NR_chmod
#define IOW_NR_chmod __NR_chmod
#else
#define IOW_NR_chmod (-1)
#endif
#ifdef __NR_chown
#define IOW_NR_chown __NR_chown
#else
#define IOW_NR_chown (-1)
#endif
#ifdef __NR_lchown
#define IOW_NR_lchown __NR_lchown
#else
#define IOW_NR_lchown (-1)
#endif
#ifdef __NR_mknod
#define IOW_NR_mknod __NR_mknod
#else
#define IOW_NR_mknod (-1)
#endif
#ifdef __NR_getdents
#define IOW_NR_getdents __NR_getdents
#else
#define IOW_NR_getdents (-1)
#endif
#ifdef __NR_pipe
#define IOW_NR_pipe __NR_pipe
#else
#define IOW_NR_pipe (-1)
#endif
#ifdef __NR_fadvise64
#define IOW_NR_fadvise64 __NR_fadvise64
#else
#define IOW_NR_fadvise64 (-1)
#endif
#ifdef __NR_sendfile
#define IOW_NR_sendfile __NR_sendfile
#else
#define IOW_NR_sendfile (-1)
#endif
#ifdef __NR_renameat
#define IOW_NR_renameat __NR_renameat
#else
#define IOW_NR_renameat (-1)
#endif
#ifdef __NR_newfstatat
#define IOW_NR_newfstatat __NR_newfstatat
#else
#define IOW_NR_newfstatat (-1)
#endif
#ifdef __NR_epoll_wait
#define IOW_NR_epoll_wait __NR_epoll_wait
#else
#define IOW_NR_epoll_wait (-1)
#endif
#ifdef __NR_poll
#define IOW_NR_poll __NR_poll
#else
#define IOW_NR_poll (-1)
#endif
#ifdef __NR_select
#define IOW_NR_select __NR_select
#else
#define IOW_NR_select (-1)
#endif
#ifdef __NR_getpgrp
#define IOW_NR_getpgrp __NR_getpgrp
#else
#define IOW_NR_getpgrp (-1)
#endif
#ifdef __NR_fork
#define IOW_NR_fork __NR_fork
#else
#define IOW_NR_fork (-1)
#endif
#ifdef __NR_vfork
#define IOW_NR_vfork __NR_vfork
#else
#define IOW_NR_vfork (-1)
#endif
#ifdef __NR_alarm
#define IOW_NR_alarm __NR_alarm
#else
#define IOW_NR_alarm (-1)
#endif
#ifdef __NR_pause
#define IOW_NR_pause __NR_pause
#else
#define IOW_NR_pause (-1)
#endif
#ifdef __NR_time
#define IOW_NR_time __NR_time
#else
#define IOW_NR_time (-1)
#endif
#ifdef __NR_eventfd
#define IOW_NR_eventfd __NR_eventfd
#else
#define IOW_NR_eventfd (-1)
#endif
#ifdef __NR_signalfd
#define IOW_NR_signalfd __NR_signalfd
#else
#define IOW_NR_signalfd (-1)
#endif
#ifdef __NR_inotify_init
#define IOW_NR_inotify_init __NR_inotify_init
#else
#define IOW_NR_inotify_init (-1)
#endif
#ifdef __NR_epoll_create
#define IOW_NR_epoll_create __NR_epoll_create
#else
#define IOW_NR_epoll_create (-1)
#endif
#define IOW_LEGACY(name) (IOW_NR_##name >= 0)

/* Name -> number of each legacy syscall above, for run-time 'is it there' probes. */
typedef struct { const char *name; long nr; } iow_nr_entry;
static const iow_nr_entry iow_legacy_table[] = {
    {"open", IOW_NR_open},
    {"creat", IOW_NR_creat},
    {"rename", IOW_NR_rename},
    {"unlink", IOW_NR_unlink},
    {"rmdir", IOW_NR_rmdir},
    {"mkdir", IOW_NR_mkdir},
    {"link", IOW_NR_link},
    {"symlink", IOW_NR_symlink},
    {"readlink", IOW_NR_readlink},
    {"access", IOW_NR_access},
    {"stat", IOW_NR_stat},
    {"lstat", IOW_NR_lstat},
    {"fstat", IOW_NR_fstat},
    {"utime", IOW_NR_utime},
    {"utimes", IOW_NR_utimes},
    {"futimesat", IOW_NR_futimesat},
    {"dup2", IOW_NR_dup2},
    {"chmod", IOW_NR_chmod},
    {"chown", IOW_NR_chown},
    {"lchown", IOW_NR_lchown},
    {"mknod", IOW_NR_mknod},
    {"getdents", IOW_NR_getdents},
    {"pipe", IOW_NR_pipe},
    {"fadvise64", IOW_NR_fadvise64},
    {"sendfile", IOW_NR_sendfile},
    {"renameat", IOW_NR_renameat},
    {"newfstatat", IOW_NR_newfstatat},
    {"epoll_wait", IOW_NR_epoll_wait},
    {"poll", IOW_NR_poll},
    {"select", IOW_NR_select},
    {"getpgrp", IOW_NR_getpgrp},
    {"fork", IOW_NR_fork},
    {"vfork", IOW_NR_vfork},
    {"alarm", IOW_NR_alarm},
    {"pause", IOW_NR_pause},
    {"time", IOW_NR_time},
    {"eventfd", IOW_NR_eventfd},
    {"signalfd", IOW_NR_signalfd},
    {"inotify_init", IOW_NR_inotify_init},
    {"epoll_create", IOW_NR_epoll_create},
    {0, 0}
};

#endif
