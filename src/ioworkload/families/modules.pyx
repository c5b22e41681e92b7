# Family 'modules': loading and unloading kernel modules, and loading a kernel to kexec into.
#
# Nothing is ever loaded, unloaded or staged: each call is rejected before the kernel acts (a
# 16-byte image, shorter than an ELF header, fails init_module's ELF check; finit_module gets
# no descriptor; delete_module names a module that does not exist; kexec_load and
# kexec_file_load get a flag no kernel defines). A kernel built without module or kexec support
# has none of these calls (-ENOSYS, and no per-syscall tracepoint: --verify counts them at
# raw_syscalls by number): the *_absent scenarios declare that, the others need the calls and
# root, and each says `unsupported` where it does not fit the host.

from libc.stdint cimport uint64_t
from ioworkload.core._kernel cimport iow_worker, iow_sys2, iow_sys3, iow_sys4, iow_sys5, iow_tally_ret, iow_stop_requested, kernel

cdef extern from "iow_syscall.h" nogil:
    enum:
        __NR_init_module
        __NR_finit_module
        __NR_delete_module
        __NR_kexec_load

# kexec_file_load is x86-64's, arm64's, ... but not every architecture's.
cdef extern from *:
    """
    #include <asm/unistd.h>
    #ifdef __NR_kexec_file_load
    #define IOW_NR_kexec_file_load __NR_kexec_file_load
    #else
    #define IOW_NR_kexec_file_load (-1)
    #endif
    """
    enum:
        IOW_NR_kexec_file_load

cdef extern from "<fcntl.h>" nogil:
    enum:
        O_NONBLOCK

from ioworkload.core.manifest import scenarios
from ioworkload.core.probes import built_with, capability

cdef enum:
    IMAGE_BYTES = 16            # shorter than an ELF header (64 bytes): -ENOEXEC
    KEXEC_UNKNOWN_FLAG = 0x8000 # no kexec_load or kexec_file_load flag

cdef const char *NOT_AN_IMAGE = b"not a module!!!\n"
cdef const char *NO_MODULE = b"iow_no_such_module"
cdef const char *NO_ARGS = b""


cdef uint64_t modules_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys3(__NR_init_module, <long>NOT_AN_IMAGE, IMAGE_BYTES,
                                           <long>NO_ARGS))
        iow_tally_ret(&w.iter[1], iow_sys3(__NR_finit_module, -1, <long>NO_ARGS, 0))
        iow_tally_ret(&w.iter[2], iow_sys2(__NR_delete_module, <long>NO_MODULE, O_NONBLOCK))
    return n


cdef uint64_t kexec_loop(iow_worker *w, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if iow_stop_requested(w):
            return i
        iow_tally_ret(&w.iter[0], iow_sys4(__NR_kexec_load, 0, 0, 0, KEXEC_UNKNOWN_FLAG))
        iow_tally_ret(&w.iter[1], iow_sys5(IOW_NR_kexec_file_load, -1, -1, 0, 0,
                                           KEXEC_UNKNOWN_FLAG))
    return n


# ---- requirements ----

def _modules(absent):
    return built_with("module loading", "CONFIG_MODULES", __NR_delete_module, 0, O_NONBLOCK,
                      absent=absent)


def _kexec(absent):
    return built_with("kexec_load", "CONFIG_KEXEC", __NR_kexec_load, 0, 0, 0, KEXEC_UNKNOWN_FLAG,
                      absent=absent)


def _kexec_file(absent):
    return built_with("kexec_file_load", "CONFIG_KEXEC_FILE", IOW_NR_kexec_file_load,
                      -1, -1, 0, 0, KEXEC_UNKNOWN_FLAG, absent=absent)


_IMAGE = '"not a module!!!\\n"'
_MODULE_CALLS = [f'init_module({_IMAGE}, 16, "")', 'finit_module(-1, "", 0)',
                 'delete_module("iow_no_such_module", O_NONBLOCK)']
_KEXEC_CALLS = ["kexec_load(0, 0, NULL, 0x8000)", "kexec_file_load(-1, -1, 0, NULL, 0x8000)"]


SCENARIOS = scenarios("modules", [
    dict(name="modules_rejected",
         summary="init_module of a 16-byte non-ELF image, finit_module(-1), delete_module of no module",
         kernel=kernel(modules_loop),
         requires=[capability("CAP_SYS_MODULE"), _modules(False)],
         iteration=[f"{_MODULE_CALLS[0]} -> -ENOEXEC", f"{_MODULE_CALLS[1]} -> -EBADF",
                    f"{_MODULE_CALLS[2]} -> -ENOENT"],
         notes="Rejected before the kernel acts: the image is 16 bytes, shorter than an ELF "
               "header (-ENOEXEC, nothing loaded); finit_module gets no descriptor (-EBADF); "
               "no module is called iow_no_such_module (-ENOENT). Needs root (CAP_SYS_MODULE, "
               "and kernel.modules_disabled 0: -EPERM first otherwise); a kernel without "
               "modules runs modules_absent instead."),
    dict(name="modules_absent",
         summary="the module calls on a kernel built without modules: -ENOSYS, raw_syscalls only",
         kernel=kernel(modules_loop), requires=[_modules(True)],
         iteration=[f"{c} -> -ENOSYS" for c in _MODULE_CALLS],
         notes="The same calls as modules_rejected, on a kernel built without CONFIG_MODULES: "
               "the entries are sys_ni_syscall, -ENOSYS, with no per-syscall tracepoint, so "
               "--verify counts them at raw_syscalls by number (the expect file's enter/exit "
               "name raw_syscalls)."),
    dict(name="kexec_rejected",
         summary="kexec_load and kexec_file_load with a flag no kernel defines: -EINVAL",
         kernel=kernel(kexec_loop),
         requires=[capability("CAP_SYS_BOOT"), _kexec(False), _kexec_file(False)],
         iteration=[f"{c} -> -EINVAL" for c in _KEXEC_CALLS],
         notes="Rejected before the kernel acts: the flags are checked right after the "
               "permission, before any segment or file is read, and 0x8000 is no flag "
               "(-EINVAL): nothing is loaded or unloaded. Needs root (CAP_SYS_BOOT, and "
               "kernel.kexec_load_disabled 0: -EPERM otherwise); a kernel without kexec runs "
               "kexec_absent instead."),
    dict(name="kexec_absent",
         summary="kexec_load and kexec_file_load on a kernel built without kexec: -ENOSYS",
         kernel=kernel(kexec_loop), requires=[_kexec(True), _kexec_file(True)],
         iteration=[f"{c} -> -ENOSYS" for c in _KEXEC_CALLS],
         notes="The same calls as kexec_rejected, on a kernel built without CONFIG_KEXEC and "
               "CONFIG_KEXEC_FILE: -ENOSYS with no per-syscall tracepoint, so --verify counts "
               "them at raw_syscalls by number."),
])
