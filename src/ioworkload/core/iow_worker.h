/* The state one worker thread carries through a scenario, and the outcome tally.
 *
 * Everything here is plain memory: tallying, the stop flag and the clock issue no syscalls
 * (CLOCK_MONOTONIC is read through the vDSO), so a scenario's thread issues only what its
 * manifest declares.
 */
#ifndef IOW_WORKER_H
#define IOW_WORKER_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#define IOW_MAX_EVENTS 160   /* events per phase (setup, iteration, teardown) */
#define IOW_ERRNO_SLOTS 160  /* errno values 1..149 counted individually; larger ones in slot 0 */
/* The kernel's restart codes 512..516 (ERESTARTSYS..ERESTART_RESTARTBLOCK), tallied by a
   scenario whose signal handler saw a call interrupted, in slots 150..154 (no errno is that
   large: Linux's largest is 133). */
#define IOW_RESTART_SLOT0 150
#define IOW_PATH_MAX 512
#define IOW_NPATHS 16
#define IOW_NFDS 160
#define IOW_NVALS 16
#define IOW_SCRATCH_BYTES (256 * 1024)
#define IOW_TASK_LOG 4096    /* tids of the first tasks a worker creates, for the expect file */
#define IOW_WAIT_NOTE 96
/* The longest a scenario waits for another task (a child, a helper thread, the worker seen
   from its stopper) to reach the point it waits for; far past any scheduling delay, so hitting
   it means the other task is stuck, not slow. */
#define IOW_WAIT_BOUND_NS (20LL * 1000000000LL)

/* Why a scenario gave up a wait for another task (iow_worker.wait_failed; 0: it never did).
   The runner turns it into the run's first mismatch. */
enum {
    IOW_WAIT_STOPPED = 1,   /* the stop flag was set meanwhile */
    IOW_WAIT_GONE = 2,      /* the other task had exited, or moved past the point */
    IOW_WAIT_TIMEOUT = 3,   /* IOW_WAIT_BOUND_NS passed */
    IOW_WAIT_LATE = 4,      /* a stop or signal may have come after the sleep it was to cut
                               short had ended: the kernel's outcome is not the declared one */
};

typedef struct {
    uint64_t ok;               /* calls that returned >= 0 */
    int64_t ok_min, ok_max;    /* range of the non-negative return values */
    uint64_t err[IOW_ERRNO_SLOTS];  /* calls that returned -errno, by errno */
} iow_tally;

typedef struct iow_worker {
    int index;                 /* 0 .. threads-1 */
    int tid;                   /* the kernel thread id, for per-thread perf counters */
    int stop;                  /* set by the controller on Ctrl-C/SIGTERM; kept in the worker
                                  itself so the per-iteration check is one load */
    int fd_base;               /* first fd number of the scenarios' fixed blocks: chosen by the
                                  runner above every fd open at the start (never the caller's) */
    char dir[IOW_PATH_MAX];    /* this worker's private directory (no trailing slash) */
    char path[IOW_NPATHS][IOW_PATH_MAX];
    long fd[IOW_NFDS];         /* initialised to -1: teardown closes only what setup opened */
    long val[IOW_NVALS];
    void *ptr[4];
    long sysv_id;              /* the SysV IPC object this worker holds now (-1: none), kept
                                  for the runner: it removes it if the process is killed */
    int wait_failed;           /* IOW_WAIT_*: the first wait this worker's scenario gave up */
    char wait_note[IOW_WAIT_NOTE];  /* what it waited for, for the report */
    int ntasks;                /* helper threads and children this worker created */
    int task_tid[IOW_TASK_LOG];
    unsigned char *scratch;    /* IOW_SCRATCH_BYTES, page aligned, zeroed */
    iow_tally setup[IOW_MAX_EVENTS];
    iow_tally iter[IOW_MAX_EVENTS];
    iow_tally teardown[IOW_MAX_EVENTS];
} iow_worker;

/* Count one syscall outcome; returns ret so calls can be written inline. */
static inline long iow_tally_ret(iow_tally *t, long ret)
{
    if (__builtin_expect(ret >= 0, 1)) {
        t->ok++;
        if (ret < t->ok_min) t->ok_min = ret;
        if (ret > t->ok_max) t->ok_max = ret;
    } else {
        unsigned long e = (unsigned long)-ret;
        if (e >= 512 && e <= 516)
            e = IOW_RESTART_SLOT0 + (e - 512);
        else if (e >= IOW_RESTART_SLOT0)
            e = 0;
        t->err[e]++;
    }
    return ret;
}

/* Note a task the worker created (a clone's return in the parent); plain memory, no syscall. */
static inline void iow_note_task(iow_worker *w, long tid)
{
    if (tid <= 0)
        return;
    if (w->ntasks < IOW_TASK_LOG)
        w->task_tid[w->ntasks] = (int)tid;
    w->ntasks++;
}

static inline void iow_tally_reset(iow_tally *t, int n)
{
    memset(t, 0, sizeof(*t) * n);
    for (int i = 0; i < n; i++) {
        t[i].ok_min = INT64_MAX;
        t[i].ok_max = INT64_MIN;
    }
}

static inline int iow_stop_requested(const iow_worker *w)
{
    return __atomic_load_n(&w->stop, __ATOMIC_RELAXED);
}

/* "<dir>/<name>" into w->path[slot]; pure string work, no syscalls. */
static inline char *iow_path(iow_worker *w, int slot, const char *name)
{
    size_t d = strlen(w->dir), n = strlen(name);
    if (d + 1 + n + 1 > IOW_PATH_MAX) n = IOW_PATH_MAX - d - 2;
    memcpy(w->path[slot], w->dir, d);
    w->path[slot][d] = '/';
    memcpy(w->path[slot] + d + 1, name, n);
    w->path[slot][d + 1 + n] = 0;
    return w->path[slot];
}

static inline int64_t iow_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);  /* vDSO: no kernel entry */
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Note the first wait given up, and why (plain memory: a stopper child shares it). */
static inline void iow_wait_give_up(iow_worker *w, int why, const char *what)
{
    if (__atomic_load_n(&w->wait_failed, __ATOMIC_RELAXED))
        return;
    strncpy(w->wait_note, what, IOW_WAIT_NOTE - 1);
    w->wait_note[IOW_WAIT_NOTE - 1] = 0;
    __atomic_store_n(&w->wait_failed, why, __ATOMIC_RELEASE);
}

/* One round of a bounded wait for another task: 0 to keep waiting; else why to give up (the
   stop flag, or the deadline on the vDSO clock: no syscall). */
static inline int iow_wait_over(const iow_worker *w, int64_t deadline)
{
    if (__atomic_load_n(&w->stop, __ATOMIC_RELAXED))
        return IOW_WAIT_STOPPED;
    return iow_now_ns() > deadline ? IOW_WAIT_TIMEOUT : 0;
}

static inline int iow_load_acquire(const int *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void iow_store_release(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline int iow_fetch_add(int *p, int v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
static inline void iow_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

#endif
