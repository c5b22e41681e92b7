# The raw thread clone of iow_clone.h (a new thread running a C function on a stack of ours,
# issuing only what its function issues). Declarations only: no run-time import.

cdef extern from "iow_clone.h" nogil:
    enum:
        IOW_HAVE_CLONE_THREAD
    long iow_clone_thread(unsigned long flags, void *stack_top, int *ctid,
                          void (*fn)(void *) noexcept nogil, void *arg) nogil
    void iow_release_fence()
