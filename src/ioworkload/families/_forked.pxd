# A forked child that issues only declared calls: the worker forks with a raw clone(SIGCHLD),
# the child runs a C body of raw syscalls (tallied in the worker's shared memory, which the
# child sees too) and ends with the raw exit_group(0); the worker reaps it with wait4. What the
# child changes (its credentials, session, namespaces, root, umask, limits) ends with it.
# Inline only: cimporting this adds no run-time import. Manifest side: _forked.py.

from ioworkload.core._kernel cimport iow_worker, iow_tally, iow_sys1, iow_sys4, iow_sys5, iow_tally_ret, iow_note_task

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_clone
        __NR_wait4
        __NR_exit_group

cdef extern from "<signal.h>" nogil:
    enum:
        SIGCHLD

# The child's calls: tallied from t[0] on, exactly `events` of them (forked_child()'s `body`).
ctypedef void (*child_body)(iow_worker *w, iow_tally *t) noexcept nogil


cdef inline long fork_child(iow_worker *w, iow_tally *t, child_body body, int events,
                            int *status) noexcept nogil:
    """The events of _forked.forked_child(body) from t[0]: the fork, its 0 in the child, the
    body's `events`, the child's exit_group(0), the worker's wait4. Returns the fork's result."""
    cdef long pid = iow_sys5(__NR_clone, SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        iow_tally_ret(&t[1], 0)   # clone returned 0 here
        body(w, &t[2])
        iow_tally_ret(&t[2 + events], 0)   # exit_group does not return
        while True:
            iow_sys1(__NR_exit_group, 0)
    iow_tally_ret(&t[0], pid)
    iow_note_task(w, pid)
    if pid > 0:
        iow_tally_ret(&t[3 + events], iow_sys4(__NR_wait4, pid, <long>status, 0, 0))
    return pid
