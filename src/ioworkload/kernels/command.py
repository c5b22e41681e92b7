"""`ioworkload kernels [--kernel K]... COMMAND [ARGS...]`: one ioworkload command (a `verify`
sweep, `check`, `overhead`) on several kernels, one report.

Each --kernel is booted by virtme-ng with 1 vCPU under `nice`, sees the host's root (the
installed package, strace, perf, bpftrace) read-only and a tmpfs TMPDIR, and writes its result
into a private directory of the host's TMPDIR; the host's own kernel is a column too (unless
--no-host). The VM is stopped on every path: the guard (guard.py) kills its process group when
the command ends, is interrupted or killed.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import sys
import time

from ioworkload.core.args import Parser, parse_seconds, timeout_scale
from ioworkload.core.errors import Unsupported, UsageError
from ioworkload.kernels import fetch, guest, report, vm

DEFAULT_TIMEOUT = 6 * 3600.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
MEMORY = re.compile(r"[1-9]\d*[MG]")  # what QEMU's -m takes, in the units people use
# One kernel parameter: vng passes it inside QEMU's -append string, where a space would start
# another parameter and a quote would change how the kernel splits them.
BOOT_OPTION = re.compile(r"[A-Za-z0-9_.-]+(=[^\s\"']+)?")


def _parser() -> Parser:
    p = Parser(prog="ioworkload kernels",
               description="Run an ioworkload command on several kernels (in VMs booted by "
                           "virtme-ng) and report the verdicts as a kernel x scenario table.",
               epilog="COMMAND: `verify [SCENARIO...|--family F|--all] [-n N]` (each scenario "
                      "once with --verify), `check ...` or `overhead ...` (their own options, "
                      "without --json). Example: ioworkload kernels --kernel debian:6.1 "
                      "--kernel debian:sid check --all --tracer strace")
    p.add_argument("--kernel", "-k", action="append", default=[], metavar="K",
                   help="debian:6.1, debian:6.12, debian:sid (or any Debian suite: fetched into "
                        "the cache, extracted, never installed), or a path to a kernel image "
                        "(bzImage); repeatable")
    p.add_argument("--no-host", action="store_true", help="no column for the host's own kernel")
    p.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                   help="KVM, or QEMU's software emulation (default: KVM where usable)")
    p.add_argument("--memory", default=vm.VM_MEMORY, metavar="SIZE",
                   help=f"guest memory (default {vm.VM_MEMORY})")
    p.add_argument("--timeout-scale", metavar="X",
                   help=f"multiply the tracers' ready and settle timeouts in a guest by X "
                        f"(default {vm.TCG_TIMEOUT_SCALE:g} under software emulation, else 1; "
                        f"also IOWORKLOAD_TIMEOUT_SCALE)")
    p.add_argument("--boot-option", action="append", default=[], metavar="OPT",
                   help="add OPT to a booted kernel's command line (e.g. ia32_emulation=0, to "
                        "see the 32-bit door shut); repeatable; needs --no-host")
    p.add_argument("--timeout", metavar="SECONDS",
                   help=f"give up on a kernel after this long (default {DEFAULT_TIMEOUT:g})")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="the whole report as one JSON object")
    fmt.add_argument("--markdown", action="store_true", help="the tables as Markdown")
    p.add_argument("command", metavar="COMMAND", help=", ".join(guest.COMMANDS))
    p.add_argument("args", nargs="...", metavar="ARGS", help="the command's own arguments")
    return p


class _Signals:
    """The stop signals, recorded while kernels run (the VM is stopped from the main loop)."""

    def __init__(self):
        self.caught: list[int] = []
        self.saved = {}

    def __enter__(self):
        for s in STOP_SIGNALS:
            self.saved[s] = signal.signal(s, lambda signum, frame: self.caught.append(signum))
        return self

    def __exit__(self, *exc):
        for s, handler in self.saved.items():
            signal.signal(s, handler)

    def first(self) -> int | None:
        return self.caught[0] if self.caught else None


def _log(line: str) -> None:
    print(f"ioworkload kernels: {line}", file=sys.stderr, flush=True)


def run_kernel(spec: str, command: str, argv: list[str], options, stopped) -> dict:
    """One column: the kernel fetched and booted (or the host), the command run on it."""
    result = {"kernel": spec, "release": None, "how": None, "seconds": None, "error": None,
              "rows": []}
    from ioworkload.core.runner import make_temp_dir
    workdir = make_temp_dir("ioworkload-kernels-")
    began = time.monotonic()
    try:
        kernel = fetch.resolve(spec, _log)
        result["release"] = kernel.release
        if kernel.image is None:
            result["how"] = "on the host"
            status = vm.run_guarded([sys.executable, "-m", "ioworkload.kernels.guest",
                                     os.path.join(workdir, "result.json"), command, *argv],
                                    workdir, options.timeout, stopped,
                                    show=lambda line: _log(f"{spec}: {line}"))
        else:
            vng = vm.vng_path()
            overlay = fetch.udev_overlay(_log)
            scale = options.scale or (1.0 if options.accel.kvm else vm.TCG_TIMEOUT_SCALE)
            result["how"] = (f"{options.accel.describe()}, {vm.VM_CPUS} vCPU, {options.memory}, "
                             f"{vm.vng_version(vng)}, timeouts x{scale:g}")
            _log(f"booting {spec} ({kernel.release}): {result['how']}")
            argv_vm = [vng, "--run", kernel.image, "--cpus", str(vm.VM_CPUS),
                       "--memory", options.memory, "--rwdir", workdir,
                       "--exec", vm.guest_script(workdir, command, argv, scale)]
            if not options.accel.kvm:
                argv_vm.insert(3, "--disable-kvm")
            for option in vm.GUEST_BOOT_OPTIONS + tuple(options.boot_options):
                argv_vm[3:3] = ["--append", option]
            if options.boot_options:
                result["how"] += ", booted with " + " ".join(options.boot_options)
            status = vm.run_guarded(argv_vm, workdir, options.timeout, stopped, overlay=overlay,
                                    nice=vm.VM_NICE, show=lambda line: _log(f"{spec}: {line}"))
        found = vm.read_result(workdir, status)
        result["rows"], result["error"] = found["rows"], found["error"]
        result["release"] = found.get("release") or result["release"]
    except Unsupported as e:
        result["error"], result["unsupported"] = f"unsupported: {e}", True
    except (TimeoutError, vm.Stopped) as e:  # before OSError, TimeoutError's base
        # what the guest finished before is kept (it saves after each scenario)
        result["rows"] = vm.partial_rows(workdir)
        result["error"] = f"error: {e} ({len(result['rows'])} rows done)"
        if isinstance(e, vm.Stopped):
            result["seconds"] = round(time.monotonic() - began, 1)
            e.partial = result
            raise
    except (RuntimeError, OSError) as e:
        result["error"] = f"error: {e}"
    finally:
        result["seconds"] = round(time.monotonic() - began, 1)
        shutil.rmtree(workdir, ignore_errors=True)
    return result


class _Options:
    def __init__(self, args):
        self.accel = vm.Accel(args.accel)
        self.memory = args.memory
        if not MEMORY.fullmatch(self.memory):
            raise UsageError(f"--memory must be a size like 2G or 1536M, not {self.memory!r}")
        self.scale = (timeout_scale(args.timeout_scale, "--timeout-scale")
                      if args.timeout_scale is not None else None)
        self.timeout = (parse_seconds(args.timeout, "--timeout") if args.timeout is not None
                        else DEFAULT_TIMEOUT)
        self.boot_options = args.boot_option
        for option in self.boot_options:
            if not BOOT_OPTION.fullmatch(option):
                raise UsageError(f"--boot-option takes one kernel parameter (NAME or NAME=VALUE, "
                                 f"no spaces), not {option[:80]!r}")
        if self.boot_options and not args.no_host:
            raise UsageError("--boot-option changes a booted kernel's command line, not the "
                             "host's: add --no-host")


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    guest.validate(args.command, args.args)
    specs = (["host"] if not args.no_host else []) + args.kernel
    specs = list(dict.fromkeys(specs))
    if not specs:
        raise UsageError("no kernel to run on: give --kernel K, or leave out --no-host")
    for spec in specs:
        fetch.parse_spec(spec)  # bad input fails now, before anything is fetched or booted
    options = _Options(args)
    results = []
    with _Signals() as signals:
        for spec in specs:
            _log(f"{spec}: {args.command} {' '.join(args.args)}")
            try:
                results.append(run_kernel(spec, args.command, args.args, options, signals.first))
            except vm.Stopped as e:
                _log(f"{e}: every VM is stopped; the report so far follows")
                results.append(e.partial)
                break
            if signals.first():
                break
    doc = {"command": [args.command, *args.args], "host": platform.node(),
           "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "kernels": results}
    fmt = "json" if args.json else "markdown" if args.markdown else "text"
    sys.stdout.write(report.render(doc, fmt))
    if signals.first():
        return 128 + signals.first()
    return report.exit_code(results)
