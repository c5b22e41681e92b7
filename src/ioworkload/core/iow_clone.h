/* A raw clone of a new thread that starts in a C function on a stack of ours: the scenario
 * families that declare a helper thread's every syscall (helper: events) use it instead of
 * pthread_create, which adds mmap/mprotect/rt_sigprocmask/set_robust_list calls of its own.
 */
#ifndef IOW_CLONE_H
#define IOW_CLONE_H

#include "iow_syscall.h"

/* Start fn(arg) on a new thread whose stack ends at stack_top (16-byte aligned). Returns
   the new thread's id (or -errno) in the caller. The new thread jumps straight from the
   syscall into fn on its own stack, so it never touches the caller's frame, and fn must
   end with the raw exit syscall. With CLONE_CHILD_CLEARTID the kernel zeroes *ctid once
   the thread has exited. */
#if defined(__x86_64__)
#define IOW_HAVE_CLONE_THREAD 1
static long iow_clone_thread(unsigned long flags, void *stack_top, int *ctid,
                             void (*fn)(void *), void *arg)
{
    long ret;
    register long r10 __asm__("r10") = (long)ctid;
    register long r8 __asm__("r8") = 0;                  /* tls: unused */
    register void (*r12)(void *) __asm__("r12") = fn;    /* kept by the kernel in both */
    register void *r13 __asm__("r13") = arg;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xor %%ebp, %%ebp\n\t"
        "mov %%r13, %%rdi\n\t"
        "call *%%r12\n\t"
        "ud2\n"
        "1:"
        : "=a"(ret)
        : "a"((long)__NR_clone), "D"(flags), "S"(stack_top), "d"(0L), "r"(r10), "r"(r8),
          "r"(r12), "r"(r13)
        : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
#define IOW_HAVE_CLONE_THREAD 1
static long iow_clone_thread(unsigned long flags, void *stack_top, int *ctid,
                             void (*fn)(void *), void *arg)
{
    /* arm64 clone: flags, stack, parent_tid, tls, child_tid */
    register long x8 __asm__("x8") = __NR_clone;
    register long x0 __asm__("x0") = (long)flags;
    register long x1 __asm__("x1") = (long)stack_top;
    register long x2 __asm__("x2") = 0;
    register long x3 __asm__("x3") = 0;
    register long x4 __asm__("x4") = (long)ctid;
    register void (*x9)(void *) __asm__("x9") = fn;
    register void *x10 __asm__("x10") = arg;
    __asm__ volatile(
        "svc #0\n\t"
        "cbnz x0, 1f\n\t"
        "mov x29, xzr\n\t"
        "mov x30, xzr\n\t"
        "mov x0, x10\n\t"
        "blr x9\n\t"
        "brk #0x1\n"
        "1:"
        : "+r"(x0)
        : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x9), "r"(x10)
        : "memory");
    return x0;
}
#else
#define IOW_HAVE_CLONE_THREAD 0
static long iow_clone_thread(unsigned long flags, void *stack_top, int *ctid,
                             void (*fn)(void *), void *arg)
{
    return -38; /* ENOSYS */
}
#endif

static inline void iow_release_fence(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }

#endif
