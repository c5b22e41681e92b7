# Family 'futex': futex as a scenario of its own (the runner's start and done waits are futex
# calls too, but always the same two), and futex_waitv. Every call is one the kernel answers at
# once, on the worker's own words: a wait whose value does not match (-EAGAIN), wakes and
# requeues with nobody waiting (0), a compare-requeue whose value does not match (-EAGAIN), and
# waits whose absolute timeout is already over (-ETIMEDOUT). No task ever sleeps in them.

from libc.stdint cimport uint64_t, uint32_t
from ioworkload.core._kernel cimport (
    iow_worker, iow_sys5, iow_sys6, iow_tally_ret, iow_stop_requested, kernel,
)

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_futex
        __NR_futex_waitv

cdef extern from "<linux/futex.h>" nogil:
    enum:
        FUTEX_WAIT_PRIVATE
        FUTEX_WAKE_PRIVATE
        FUTEX_REQUEUE_PRIVATE
        FUTEX_CMP_REQUEUE_PRIVATE
        FUTEX_WAIT_BITSET_PRIVATE
        FUTEX_WAKE_BITSET_PRIVATE
        FUTEX_BITSET_MATCH_ANY

cdef extern from "<time.h>" nogil:
    enum:
        CLOCK_MONOTONIC

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import syscall_implemented

cdef enum:
    FUTEX2_SIZE_U32 = 0x02      # <linux/futex.h> of 5.16+ (futex_waitv's per-waiter flags)
    FUTEX2_PRIVATE = 128

CONSTANTS = {
    "FUTEX_REQUEUE_PRIVATE": FUTEX_REQUEUE_PRIVATE,
    "FUTEX_CMP_REQUEUE_PRIVATE": FUTEX_CMP_REQUEUE_PRIVATE,
    "FUTEX_WAIT_BITSET_PRIVATE": FUTEX_WAIT_BITSET_PRIVATE,
    "FUTEX_WAKE_BITSET_PRIVATE": FUTEX_WAKE_BITSET_PRIVATE,
    "FUTEX_BITSET_MATCH_ANY": <uint32_t>FUTEX_BITSET_MATCH_ANY,
    "FUTEX2_SIZE_U32": FUTEX2_SIZE_U32,
    "FUTEX2_PRIVATE": FUTEX2_PRIVATE,
}

ctypedef struct Timespec:
    long tv_sec
    long tv_nsec

ctypedef struct FutexWaitv:
    uint64_t val
    uint64_t uaddr
    uint32_t flags
    uint32_t reserved

ctypedef struct FutexState:
    int word                  # stays 0: the value every wait below is asked about
    int other                 # the requeue target
    Timespec past             # an absolute CLOCK_MONOTONIC time already over: {0, 0}
    FutexWaitv waiters[1]


cdef uint64_t futex_ops_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef FutexState *st = <FutexState *>w.scratch
    cdef uint64_t i
    cdef long word = <long>&st.word, other = <long>&st.other
    st.word = st.other = 0
    st.past.tv_sec = st.past.tv_nsec = 0
    st.waiters[0].uaddr = <uint64_t>word
    st.waiters[0].flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE
    st.waiters[0].reserved = 0
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys6(__NR_futex, word, FUTEX_WAIT_PRIVATE, 1, 0, 0, 0))
        iow_tally_ret(&w.iter[1], iow_sys6(__NR_futex, word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0))
        # FUTEX_REQUEUE's fourth argument is no timeout but the most waiters to move (1)
        iow_tally_ret(&w.iter[2], iow_sys6(__NR_futex, word, FUTEX_REQUEUE_PRIVATE, 1, 1, other, 0))
        iow_tally_ret(&w.iter[3], iow_sys6(__NR_futex, word, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1,
                                           other, 1))
        iow_tally_ret(&w.iter[4], iow_sys6(__NR_futex, word, FUTEX_WAIT_BITSET_PRIVATE, 0,
                                           <long>&st.past, 0, FUTEX_BITSET_MATCH_ANY))
        iow_tally_ret(&w.iter[5], iow_sys6(__NR_futex, word, FUTEX_WAKE_BITSET_PRIVATE, 1, 0, 0,
                                           FUTEX_BITSET_MATCH_ANY))
        st.waiters[0].val = 1
        iow_tally_ret(&w.iter[6], iow_sys5(__NR_futex_waitv, <long>st.waiters, 1, 0, 0, 0))
        st.waiters[0].val = 0
        iow_tally_ret(&w.iter[7], iow_sys5(__NR_futex_waitv, <long>st.waiters, 1, 0,
                                           <long>&st.past, CLOCK_MONOTONIC))
    return n


_WAITER = "[{{val={val}, uaddr=&word, flags=FUTEX2_SIZE_U32|FUTEX2_PRIVATE}}]"

SCENARIOS = scenarios("futex", [
    dict(name="futex_ops",
         summary="futex wait/wake/requeue/cmp-requeue/bitset ops and futex_waitv, none of which sleeps",
         kernel=kernel(futex_ops_loop),
         requires=[syscall_implemented("futex_waitv", __NR_futex_waitv, 0, 0, 0, 0, 0)],
         iteration=["futex(&word, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0) -> -EAGAIN",
                    "futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) -> 0",
                    "futex(&word, FUTEX_REQUEUE_PRIVATE, 1, 1, &other, 0) -> 0",
                    "futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &other, 1) -> -EAGAIN",
                    "futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, {tv_sec=0, tv_nsec=0}, NULL, "
                    "FUTEX_BITSET_MATCH_ANY) -> -ETIMEDOUT",
                    "futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, FUTEX_BITSET_MATCH_ANY) -> 0",
                    f"futex_waitv({_WAITER.format(val=1)}, 1, 0, NULL, 0) -> -EAGAIN",
                    f"futex_waitv({_WAITER.format(val=0)}, 1, 0, {{tv_sec=0, tv_nsec=0}}, "
                    f"CLOCK_MONOTONIC) -> -ETIMEDOUT"],
         notes="The word is 0 throughout and nobody waits on it or on the requeue target: the "
               "waits for 1 fail with -EAGAIN, the wakes and the requeue (at most 1 waiter "
               "woken, 1 moved; the fourth argument is that count, not a timeout) find nobody "
               "(0), the compare-requeue expecting 1 fails with -EAGAIN, and the waits for 0 "
               "(FUTEX_WAIT_BITSET, futex_waitv) have an absolute CLOCK_MONOTONIC deadline of "
               "0, long past: -ETIMEDOUT without sleeping. All private (FUTEX_PRIVATE_FLAG, "
               "FUTEX2_PRIVATE): the words are the worker's own."),
])
