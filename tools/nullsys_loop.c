/* The null-syscall experiments of tools/nullsys.py (issue 27): benchmarks/ref_loop.c's
 * inline-asm getppid loop, and variants of it that each add one thing an ioworkload scenario
 * process has and the plain loop has not.
 *
 * Usage: nullsys_loop VARIANT N [CPU]  -> prints ns per call of the timed loop: wall time, then
 * the thread's CPU time (the part of the wall time the guest's scheduler gave to other tasks
 * is not in it; time the host took from the vCPU is)
 *   plain          the loop (ref_loop.c's getppid)
 *   gettid|enosys  the same loop on gettid, on syscall 1023 (-ENOSYS)
 *   tallied        the loop ioworkload runs (iow_tally_ret and the stop-flag load of
 *                  iow_worker.h, on a worker laid out as the runner maps it)
 *   aligned        the loop in assembly starting on a 64-byte line
 *   straddling     the same with its `syscall` instruction across two 64-byte lines
 *   ymm            the upper halves of the ymm registers dirty during the loop (no vzeroupper)
 *   forked         the loop in a child of this small C process, which blocks in waitpid
 *   parent_spins   the same, the parent spinning (no syscall) on CPU the whole time
 *   other_spins    the same, a sibling spinning on CPU and the parent blocked in waitpid
 * Build: cc -O2 -I src/ioworkload/core tools/nullsys_loop.c */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iow_worker.h"

static inline long raw0(long n)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
    return r;
}

static double clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* A timed loop's ns per call, wall and on-CPU. */
typedef struct { double wall, cpu; } per_call;
typedef struct { double wall, cpu; } started;

static started start(void)
{
    return (started){clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_THREAD_CPUTIME_ID)};
}

static per_call per_call_since(started t0, long n)
{
    double wall = clock_ns(CLOCK_MONOTONIC), cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    return (per_call){(wall - t0.wall) / n, (cpu - t0.cpu) / n};
}

static per_call plain(long n, long nr)
{
    started t0 = start();
    for (long i = 0; i < n; i++)
        raw0(nr);
    return per_call_since(t0, n);
}

static per_call tallied(long n)
{
    /* MAP_SHARED and page aligned, as _runner.pyx maps a worker */
    iow_worker *w = mmap(NULL, sizeof(iow_worker), PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (w == MAP_FAILED)
        return (per_call){-1, -1};
    iow_tally_reset(w->iter, 1);
    started t0 = start();
    for (long i = 0; i < n; i++) {
        if (iow_stop_requested(w))
            break;
        iow_tally_ret(&w->iter[0], raw0(SYS_getppid));
    }
    return per_call_since(t0, n);
}

/* The loop in assembly, placed by the assembler directives `place`. */
#define ASM_LOOP(name, place)                                                               \
    static per_call name(long n)                                                            \
    {                                                                                       \
        long left = n;                                                                      \
        started t0 = start();                                                               \
        __asm__ volatile(place "\n"                                                        \
                         "1:\n\tmovl %[nr], %%eax\n\tsyscall\n\tdec %[left]\n\tjnz 1b"      \
                         : [left] "+r"(left) : [nr] "i"(SYS_getppid)                        \
                         : "rax", "rcx", "r11", "memory");                                  \
        return per_call_since(t0, n);                                                       \
    }
ASM_LOOP(aligned, ".p2align 6")
ASM_LOOP(straddling, ".p2align 6\n\t.skip 58, 0x90")  /* movl is 5 bytes: syscall at 63..64 */

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

/* Spin on this CPU, no syscall, until *done; every 2^20 turns, give up if `gone` says the
 * other side is gone (so a killed loop or parent never leaves a spinner behind). */
static void spin_until(const int *done, int (*gone)(pid_t), pid_t other)
{
    for (unsigned long turn = 1; !__atomic_load_n(done, __ATOMIC_RELAXED); turn++) {
        __asm__ volatile("pause");
        if (!(turn & ((1UL << 20) - 1)) && gone(other))
            return;
    }
}

static int child_gone(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) != 0;
}

static int parent_gone(pid_t parent)
{
    return getppid() != parent;
}

/* The plain loop in a forked child; a spinner (this process or a second child) runs on
 * spin_cpu until the loop is done, or nothing does (spin_cpu < 0). Children die with us. */
static per_call forked(long n, int spin_cpu, int parent_spins)
{
    struct { per_call ns; int done; } *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return (per_call){-1, -1};
    pid_t parent = getpid(), spinner = -1, child;
    if (spin_cpu >= 0 && !parent_spins && (spinner = fork()) == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pin(spin_cpu);
        spin_until(&shared->done, parent_gone, parent);
        _exit(0);
    }
    if ((child = fork()) == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        shared->ns = plain(n, SYS_getppid);
        __atomic_store_n(&shared->done, 1, __ATOMIC_RELEASE);
        _exit(0);
    }
    int reaped = 0;
    if (child > 0 && spin_cpu >= 0 && parent_spins) {
        pin(spin_cpu);
        spin_until(&shared->done, child_gone, child);
        reaped = !__atomic_load_n(&shared->done, __ATOMIC_ACQUIRE);  /* child_gone reaped it */
    }
    if (child > 0 && !reaped)
        waitpid(child, NULL, 0);
    __atomic_store_n(&shared->done, 1, __ATOMIC_RELEASE);  /* ends a sibling spinner */
    if (spinner > 0)
        waitpid(spinner, NULL, 0);
    return child < 0 || reaped ? (per_call){-1, -1} : shared->ns;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s VARIANT N [CPU] (see the file's comment)\n", argv[0]);
        return 2;
    }
    const char *v = argv[1];
    long n = atol(argv[2]);
    int cpu = argc > 3 ? atoi(argv[3]) : 0;
    per_call ns;
    if (n <= 0) {
        fprintf(stderr, "N must be a positive count\n");
        return 2;
    }
    if (!strcmp(v, "plain"))
        ns = plain(n, SYS_getppid);
    else if (!strcmp(v, "gettid"))
        ns = plain(n, SYS_gettid);
    else if (!strcmp(v, "enosys"))
        ns = plain(n, 1023);
    else if (!strcmp(v, "tallied"))
        ns = tallied(n);
    else if (!strcmp(v, "aligned"))
        ns = aligned(n);
    else if (!strcmp(v, "straddling"))
        ns = straddling(n);
    else if (!strcmp(v, "ymm")) {
        if (!__builtin_cpu_supports("avx")) {
            fprintf(stderr, "unsupported: this CPU has no AVX\n");
            return 77;
        }
        __asm__ volatile("vpcmpeqd %%ymm0, %%ymm0, %%ymm0" ::: "xmm0");
        ns = plain(n, SYS_getppid);
    } else if (!strcmp(v, "forked"))
        ns = forked(n, -1, 0);
    else if (!strcmp(v, "parent_spins"))
        ns = forked(n, cpu, 1);
    else if (!strcmp(v, "other_spins"))
        ns = forked(n, cpu, 0);
    else {
        fprintf(stderr, "unknown variant %s\n", v);
        return 2;
    }
    if (ns.wall < 0) {
        fprintf(stderr, "%s: the loop did not run to its end (no memory, no fork, or killed)\n", v);
        return 1;
    }
    printf("%.3f %.3f\n", ns.wall, ns.cpu);
    return 0;
}
