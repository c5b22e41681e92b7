/* Reference loops for the benchmarks: the fastest plain C can issue the same syscalls.
 * Usage: ref_loop {getppid|gettid|enosys|io_setup|libc_getppid|libc_io_setup} N  -> prints ns per
 * call (enosys: syscall 1023, which no kernel assigns). */
#include <linux/aio_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline long raw0(long n)
{
    long r;
#if defined(__x86_64__)
    __asm__ volatile("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0");
    __asm__ volatile("svc #0" : "=r"(x0) : "r"(x8) : "memory");
    r = x0;
#else
    r = syscall(n);
#endif
    return r;
}

static inline long raw2(long n, long a, long b)
{
    long r;
#if defined(__x86_64__)
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
    r = x0;
#else
    r = syscall(n, a, b);
#endif
    return r;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s {getppid|gettid|enosys|io_setup|libc_getppid|libc_io_setup} N\n",
                argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    aio_context_t ctx = 0;
    double t0 = now();
    if (!strcmp(argv[1], "getppid"))
        for (long i = 0; i < n; i++) raw0(SYS_getppid);
    else if (!strcmp(argv[1], "gettid"))
        for (long i = 0; i < n; i++) raw0(SYS_gettid);
    else if (!strcmp(argv[1], "enosys"))
        for (long i = 0; i < n; i++) raw0(1023);
    else if (!strcmp(argv[1], "io_setup"))
        for (long i = 0; i < n; i++) raw2(SYS_io_setup, 0, (long)&ctx);
    else if (!strcmp(argv[1], "libc_getppid"))
        for (long i = 0; i < n; i++) syscall(SYS_getppid);
    else if (!strcmp(argv[1], "libc_io_setup"))
        for (long i = 0; i < n; i++) syscall(SYS_io_setup, 0, &ctx);
    else
        return 2;
    printf("%.3f\n", (now() - t0) / n);
    return 0;
}
