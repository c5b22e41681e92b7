"""bpftrace with a program shipped here: every return of the process and of its children
(sys_exit), with the entry's six raw registers, and the entry of the calls that never return,
as JSON lines with the time (`at`) that orders them; and every io_uring request completed on a
ring the process created (io_uring:io_uring_complete, its opcode from io_uring_submit_req), as
the worker that created the ring, so io_uring scenarios are judged on their `operations`."""

import re

from ioworkload.judge.capabilities import Capabilities
from ioworkload.judge.tracers import Tracer

# One JSON object a line: the process's every syscall return (and the entry of calls that never
# return), arguments from the entry. Children of the process count too (their parent is in it).
# A return is reported under the number entered: rt_sigreturn's sys_exit has id -1 (the
# registers it restores are no syscall's). Each call says its table: a call through int $0x80
# runs with TS_COMPAT in the task's thread_info status (set at the compat entry, cleared on the
# way back to user space, after sys_exit), and raw_syscalls gives its ia32 number.
BPFTRACE_PROGRAM = r"""
BEGIN { printf("ready\n"); }
tracepoint:raw_syscalls:sys_enter /pid == PID || curtask->real_parent->tgid == PID/ {
  @in[tid] = 1; @nr[tid] = args->id; @abi[tid] = IN_COMPAT ? "ia32" : "NATIVE_ABI";
  @a0[tid] = args->args[0]; @a1[tid] = args->args[1]; @a2[tid] = args->args[2];
  @a3[tid] = args->args[3]; @a4[tid] = args->args[4]; @a5[tid] = args->args[5];
  if (@abi[tid] == "NATIVE_ABI" && (args->id == EXIT || args->id == EXIT_GROUP)) {
    printf("{\"tid\": %d, \"nr\": %d, \"abi\": \"NATIVE_ABI\", \"ret\": null, \"args\": [%ld, %ld, %ld, %ld, %ld, %ld], \"at\": %lu}\n",
           tid, args->id, args->args[0], args->args[1], args->args[2], args->args[3],
           args->args[4], args->args[5], nsecs);
  }
}
tracepoint:raw_syscalls:sys_exit /pid == PID || curtask->real_parent->tgid == PID/ {
  if (@in[tid]) {
    printf("{\"tid\": %d, \"nr\": %d, \"abi\": \"%s\", \"ret\": %ld, \"args\": [%ld, %ld, %ld, %ld, %ld, %ld], \"at\": %lu}\n",
           tid, @nr[tid], @abi[tid], args->ret, @a0[tid], @a1[tid], @a2[tid], @a3[tid], @a4[tid], @a5[tid], nsecs);
  } else {
    printf("{\"tid\": %d, \"nr\": %d, \"abi\": \"%s\", \"ret\": %ld, \"at\": %lu}\n", tid, args->id,
           IN_COMPAT ? "ia32" : "NATIVE_ABI", args->ret, nsecs);
  }
  delete(@in[tid]); delete(@nr[tid]); delete(@abi[tid]);
}
tracepoint:io_uring:io_uring_create /pid == PID/ { @ring[args->ctx] = tid; }
tracepoint:io_uring:io_uring_submit_req /@ring[args->ctx]/ { @op[args->req] = args->opcode; }
tracepoint:io_uring:io_uring_complete /@ring[args->ctx]/ {
  printf("{\"tid\": %d, \"opcode\": %d, \"res\": %d, \"user_data\": %lu, \"at\": %lu}\n",
         @ring[args->ctx], @op[args->req], args->res, args->user_data, nsecs);
  delete(@op[args->req]);
}
END { clear(@ring); clear(@op); clear(@in); clear(@nr); clear(@abi); clear(@a0); clear(@a1); clear(@a2); clear(@a3); clear(@a4); clear(@a5); }
"""


def capabilities() -> Capabilities:
    # It prints every register as a 64-bit value, on both halves of every call, of every
    # task (threads have the process's pid; children are matched on their parent).
    return Capabilities(returns=True, args=True, entry=True, exit=True, new_tasks=True,
                        order=True)


def tracer() -> Tracer:
    return Tracer("bpftrace", "bpftrace {program}", "jsonl", ready="line", caps=capabilities(),
                  program=BPFTRACE_PROGRAM, blind_spots=BLIND_SPOTS)


# The program pairs a return with the entry of the same task: an execve that a thread other
# than the leader entered returns in the leader, which entered nothing.
BLIND_SPOTS = (
    (re.compile(r"^no arguments: execve(at)?\b"),
     "a non-leader thread's execve returns as the leader, whose entry the program did not see"),
)
