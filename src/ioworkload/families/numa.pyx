# Family 'numa': the memory-policy calls (get_mempolicy, set_mempolicy, mbind,
# set_mempolicy_home_node) and page placement (move_pages, migrate_pages), on the worker's own
# thread and on pages it maps itself. Everything names node 0, which every NUMA kernel has
# (a machine without NUMA hardware is one node): pages asked to move there are where they are,
# so nothing moves. The thread's policy is set only to MPOL_DEFAULT, which the probe requires it
# to have already: the worker ends with the policy it started with.

from libc.stdint cimport uint64_t
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_sys6,
    iow_tally_ret, iow_stop_requested, kernel,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_mmap
        __NR_munmap
        __NR_get_mempolicy
        __NR_set_mempolicy
        __NR_mbind
        __NR_set_mempolicy_home_node
        __NR_move_pages
        __NR_migrate_pages

cdef extern from "<sys/mman.h>" nogil:
    enum:
        PROT_READ
        PROT_WRITE
        MAP_PRIVATE
        MAP_ANONYMOUS

cdef extern from "<linux/mempolicy.h>" nogil:
    enum:
        MPOL_DEFAULT
        MPOL_BIND
        MPOL_MF_MOVE

from ioworkload.core.manifest import scenarios

CONSTANTS = {"MPOL_DEFAULT": MPOL_DEFAULT, "MPOL_BIND": MPOL_BIND, "MPOL_MF_MOVE": MPOL_MF_MOVE}

cdef enum:
    PAGE = 4096
    MAXNODE = 64          # bits in the one-word node masks below (the kernel reads maxnode - 1)
    BAD_MODE = 12345      # no MPOL_* mode: -EINVAL


ctypedef struct NumaState:
    int mode                  # get_mempolicy's output
    unsigned long node0       # a node mask with node 0 only
    void *pages[1]            # move_pages' one page
    int nodes[1]              # ... its target node
    int status[1]             # ... and where the kernel says it is


cdef uint64_t numa_policy_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef NumaState *st = <NumaState *>w.scratch
    cdef uint64_t i
    cdef long addr
    st.node0 = 1
    st.nodes[0] = 0
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys5(__NR_get_mempolicy, <long>&st.mode, 0, 0, 0, 0))
        iow_tally_ret(&w.iter[1], iow_sys3(__NR_set_mempolicy, MPOL_DEFAULT, 0, 0))
        iow_tally_ret(&w.iter[2], iow_sys3(__NR_set_mempolicy, MPOL_BIND, 0, 0))
        addr = iow_tally_ret(&w.iter[3], iow_sys6(
            __NR_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        iow_tally_ret(&w.iter[4], iow_sys6(__NR_mbind, addr, PAGE, MPOL_BIND, <long>&st.node0,
                                           MAXNODE, 0))
        iow_tally_ret(&w.iter[5], iow_sys6(__NR_mbind, addr, PAGE, BAD_MODE, 0, 0, 0))
        iow_tally_ret(&w.iter[6], iow_sys4(__NR_set_mempolicy_home_node, addr, PAGE, 0, 0))
        if addr > 0:
            (<char *>addr)[0] = 1   # a page fault places the page (no syscall)
        st.pages[0] = <void *>addr
        st.status[0] = -1
        iow_tally_ret(&w.iter[7], iow_sys6(__NR_move_pages, 0, 1, <long>st.pages, 0,
                                           <long>st.status, 0))
        iow_tally_ret(&w.iter[8], iow_sys6(__NR_move_pages, 0, 1, <long>st.pages,
                                           <long>st.nodes, <long>st.status, MPOL_MF_MOVE))
        iow_tally_ret(&w.iter[9], iow_sys4(__NR_migrate_pages, 0, MAXNODE, <long>&st.node0,
                                           <long>&st.node0))
        iow_tally_ret(&w.iter[10], iow_sys2(__NR_munmap, addr, PAGE))
    return n


def _numa_here():
    """The kernel has the NUMA calls (CONFIG_NUMA), node 0 has memory, and this process runs
    under the default memory policy (so setting MPOL_DEFAULT changes nothing)."""
    from ioworkload.core import _runner
    cdef int mode = -1
    ret = _runner.raw_syscall(__NR_get_mempolicy, <long>&mode, 0, 0, 0, 0)
    if ret == -38:
        return "the kernel has no NUMA memory policies (CONFIG_NUMA off: ENOSYS)"
    if ret < 0:
        return f"get_mempolicy is refused here ({-ret})"
    if mode != MPOL_DEFAULT:
        return (f"this process runs under memory policy {mode} (numactl?), not MPOL_DEFAULT: "
                f"the scenario sets MPOL_DEFAULT")
    try:
        with open("/sys/devices/system/node/has_memory") as f:
            has = f.read().strip()
    except OSError:
        has = ""
    if not has.startswith("0"):
        return f"node 0 has no memory here (nodes with memory: {has or 'unknown'})"
    if _runner.raw_syscall(__NR_set_mempolicy_home_node, 0, 0, 0, 0) == -38:
        return "the kernel has no set_mempolicy_home_node (ENOSYS)"
    return None


_MAP = (f"addr = mmap(NULL, {PAGE}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) "
        f"-> >={PAGE}")

SCENARIOS = scenarios("numa", [
    dict(name="numa_policy",
         summary="get/set_mempolicy, mbind, set_mempolicy_home_node, move_pages, migrate_pages on node 0",
         kernel=kernel(numa_policy_loop), requires=[_numa_here],
         iteration=["get_mempolicy(&mode, NULL, 0, 0, 0) -> 0",
                    "set_mempolicy(MPOL_DEFAULT, NULL, 0) -> 0",
                    "set_mempolicy(MPOL_BIND, NULL, 0) -> -EINVAL",
                    _MAP,
                    f"mbind(addr, {PAGE}, MPOL_BIND, [1], {MAXNODE}, 0) -> 0",
                    f"mbind(addr, {PAGE}, {BAD_MODE}, NULL, 0, 0) -> -EINVAL",
                    f"set_mempolicy_home_node(addr, {PAGE}, 0, 0) -> 0",
                    "move_pages(0, 1, [addr], NULL, &status, 0) -> 0",
                    "move_pages(0, 1, [addr], [0], &status, MPOL_MF_MOVE) -> 0",
                    f"migrate_pages(0, {MAXNODE}, [1], [1]) -> 0",
                    f"munmap(addr, {PAGE}) -> 0"],
         notes="Contained: the policy calls act on the worker's own thread (set to "
               "MPOL_DEFAULT, the policy the probe found it under; MPOL_BIND with no nodes is "
               "rejected) and on a page it maps, binds to node 0 ([1]: a one-word node mask, "
               "maxnode 64) and unmaps; the bad mode 12345 is rejected. The page is touched "
               "(a fault, no syscall) before move_pages asks where it is (nodes NULL) and "
               "moves it to node 0, where it already is; migrate_pages moves the process's "
               "pages from node 0 to node 0: nothing. Each returns 0 (no page left unmoved)."),
])
