# The raw thread clone of iow_clone.h (a new thread running a C function on a stack of ours,
# issuing only what its function issues), the clone flags such a thread is made with, and the
# atomics a worker waits for it with (no syscall). Declarations only: no run-time import.

cdef extern from "iow_clone.h" nogil:
    enum:
        IOW_HAVE_CLONE_THREAD
    long iow_clone_thread(unsigned long flags, void *stack_top, int *ctid,
                          void (*fn)(void *) noexcept nogil, void *arg) nogil
    void iow_release_fence()

cdef extern from "<sched.h>" nogil:
    enum:
        CLONE_VM
        CLONE_FS
        CLONE_FILES
        CLONE_SIGHAND
        CLONE_THREAD
        CLONE_SYSVSEM
        CLONE_CHILD_CLEARTID
        CLONE_VFORK

cdef extern from "iow_worker.h" nogil:
    int iow_load_acquire(const int *p)
    void iow_store_release(int *p, int v)
    void iow_cpu_relax()
