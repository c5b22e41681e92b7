# Family 'removed': the entries of the x86-64 table that no kernel implements any more, or
# never did (uselib, _sysctl, create_module, ..., lookup_dcookie). The kernel still enters
# and leaves them (sys_ni_syscall: -ENOSYS), and a tracer still sees them at raw_syscalls and
# must name them; they have no per-syscall tracepoint, so --verify counts them at
# raw_syscalls:sys_enter/sys_exit filtered on their number, and the expect file names those.
#
# Their arguments are the numbers 1, 2, ... (as many as strace decodes for each), so a
# tracer's argument report is checked too. The kernel never reads them.

from libc.stdint cimport uint64_t
from ioworkload.core._kernel cimport iow_worker, iow_sys6, iow_tally_ret, iow_stop_requested, kernel, IOW_MAX_EVENTS

import errno

from ioworkload.core import expect
from ioworkload.core.manifest import scenarios

# (name, arguments) in the table's order of expect.REMOVED; their numbers from this build's
# table (-1 where the architecture has none: the scenario is unsupported there).
cdef long REMOVED_NR[IOW_MAX_EVENTS]
cdef int REMOVED_ARGS[IOW_MAX_EVENTS]
cdef int REMOVED_COUNT = len(expect.REMOVED)
for _k, (_name, _nargs) in enumerate(expect.REMOVED.items()):
    REMOVED_NR[_k] = expect.syscall_number(_name) or -1
    REMOVED_ARGS[_k] = _nargs


cdef uint64_t removed_entries_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    cdef long a[6]
    cdef int k, j
    for i in range(n):
        if iow_stop_requested(w):
            return i
        for k in range(REMOVED_COUNT):
            for j in range(6):
                a[j] = j + 1 if j < REMOVED_ARGS[k] else 0
            iow_tally_ret(&w.iter[k], iow_sys6(REMOVED_NR[k], a[0], a[1], a[2], a[3], a[4], a[5]))
    return n


def _all_removed():
    """Each entry is in this architecture's table and returns -ENOSYS on this kernel (an older
    kernel may still implement one: uselib with CONFIG_USELIB, lookup_dcookie before 6.8)."""
    from ioworkload.core import _runner
    for name in expect.REMOVED:
        nr = expect.syscall_number(name)
        if nr is None:
            return f"this architecture has no {name} entry (the removed entries are x86-64's)"
        ret = _runner.raw_syscall(nr, 0, 0, 0, 0, 0, 0)
        if ret != -errno.ENOSYS:
            return (f"this kernel implements {name} ({errno.errorcode.get(-ret, ret)} for "
                    f"{name}(0, ...), not ENOSYS)")
    return None


def _call(name, nargs):
    return f"{name}({', '.join(str(k + 1) for k in range(nargs))}) -> -ENOSYS"


SCENARIOS = scenarios("removed", [
    dict(name="removed_entries",
         summary="the 15 removed or never implemented x86-64 entries, uselib to lookup_dcookie: -ENOSYS",
         kernel=kernel(removed_entries_loop), requires=[_all_removed],
         iteration=[_call(name, nargs) for name, nargs in expect.REMOVED.items()],
         notes="Each entry is still in the x86-64 table and the kernel enters and leaves it "
               "(-ENOSYS), but none has a per-syscall tracepoint: --verify counts them at "
               "raw_syscalls filtered on their number, and the expect file's enter/exit name "
               "raw_syscalls. The arguments are 1, 2, ... as many as strace decodes for each "
               "(arg0, arg1, ... in the expect file: no tracepoint names them). The probe "
               "issues each once with zeros: a kernel that still implements one (uselib, "
               "lookup_dcookie on older kernels) makes the scenario unsupported, and nothing "
               "it could do with zeros changes the host."),
])
