"""Running the guest side on one kernel: booted by virtme-ng (QEMU, KVM where usable, software
emulation otherwise), or on the host itself for its column. Either way the work runs under
guard.py, which ends it with the command, however the command ends."""

from __future__ import annotations

import json
import re
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

from ioworkload.core.errors import Unsupported
from ioworkload.kernels import guard

VM_CPUS = 1
VM_MEMORY = "2G"
VM_NICE = 19  # the VM is a background job on a shared machine
# Under software emulation a guest runs some 3-30 times slower than the host (measured on the
# project machines): the tracers' ready and settle timeouts grow this much there.
TCG_TIMEOUT_SCALE = 10.0
STOP_POLL = 0.2
# A clock the vDSO can read: where the guest kernel distrusts the emulated TSC (7.2 under TCG
# picks another clocksource), clock_gettime falls back to a real syscall, and the runner's own
# timing reads become syscalls no manifest declares (every --verify WRONG by two).
GUEST_BOOT_OPTIONS = ("clocksource=tsc", "tsc=reliable")
# On the guest's /run (a tmpfs): not /tmp, where the host's TMPDIR, and so the shared
# directory the result comes back through, may be.
GUEST_TMPDIR = "/run/ioworkload-tmp"
GUEST_PACKAGE_DIR = "/run/ioworkload-package"
LOG_TAIL = 5
GUEST_ARGV = "argv.json"
PROGRESS = re.compile(r"^\[\d+/\d+\] ")  # guest.py's and check's lines


def vng_path() -> str:
    found = shutil.which("vng")
    if found is None:
        beside = os.path.join(os.path.dirname(sys.executable), "vng")  # the same venv
        if os.access(beside, os.X_OK):
            return beside
        raise Unsupported("virtme-ng is not installed (pip install virtme-ng; it also needs "
                          "qemu-system-x86 and busybox-static)")
    return found


def vng_version(vng: str) -> str:
    try:
        done = subprocess.run([vng, "--version"], capture_output=True, text=True, timeout=60)
        return done.stdout.strip() or done.stderr.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "virtme-ng"


def kvm_unusable() -> str | None:
    """Why QEMU cannot use KVM here, or None when it can."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "no usable /dev/kvm"
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        flags = []
    if "vmx" not in flags and "svm" not in flags:
        # e.g. a nested paravirtual KVM (kvm_pvm), which runs only kernels built for it
        return "/dev/kvm is there but the CPU shows no vmx/svm flag"
    return None


class Accel:
    """How the VMs run: KVM or QEMU's software emulation (TCG), and why."""

    def __init__(self, choice: str):
        why = kvm_unusable()
        if choice == "kvm" and why:
            raise Unsupported(f"--accel kvm: {why}")
        self.kvm = choice == "kvm" or (choice == "auto" and why is None)
        self.why = "" if self.kvm else (why or "--accel tcg")

    def describe(self) -> str:
        if self.kvm:
            return "QEMU with KVM"
        return f"QEMU software emulation (TCG: {self.why})"


def _tail(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-LOG_TAIL:])


class Stopped(Exception):
    """A stop signal reached the command while a kernel ran."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.partial: dict | None = None  # the kernel's result so far


class _Progress:
    """The guest's progress lines ([i/n] scenario ...) out of the VM's log, as they come."""

    def __init__(self, log: str, show):
        self.log, self.show, self.offset, self.partial = log, show, 0, b""

    def poll(self) -> None:
        try:
            with open(self.log, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            text = line.decode(errors="replace").strip()
            if PROGRESS.match(text):
                self.show(text)


def run_guarded(argv: list[str], workdir: str, timeout: float, stopped, overlay: str | None = None,
                nice: int = 0, show=lambda line: None) -> int:
    """Run `argv` under the guard, its output into workdir/vm.log (progress lines also to
    `show`); its exit status. A stop signal (`stopped()` gives its number) or the timeout ends
    it, the guard first."""
    log = os.path.join(workdir, "vm.log")
    cmd = [sys.executable, "-m", "ioworkload.kernels.guard"]
    cmd += (["--overlay", overlay] if overlay else []) + ["--nice", str(nice), "--"] + argv
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=guard.die_with_parent)
    deadline = time.monotonic() + timeout
    progress = _Progress(log, show)
    try:
        while proc.poll() is None:
            progress.poll()
            signum = stopped()
            if signum:
                raise Stopped(signum)
            if time.monotonic() > deadline:
                raise TimeoutError(f"did not end within {timeout:g} s")
            time.sleep(STOP_POLL)
        progress.poll()
        return proc.returncode
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the guard kills the VM's group, then exits
            try:
                proc.wait(guard.GRACE * 3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def guest_script(workdir: str, command: str, argv: list[str], scale: float) -> str:
    """The shell line the guest runs: a tmpfs of its own for TMPDIR (the guest's /tmp is an
    overlay, which lacks file handles and, on older kernels, xattrs), an editable install's files linked as a
    plain package (linktree.py), then the guest side, which writes workdir/result.json."""
    steps = [f"mkdir -p {GUEST_TMPDIR}", f"mount -t tmpfs -o mode=1777 ioworkload-tmp {GUEST_TMPDIR}",
             "cd /"]
    env = [f"TMPDIR={GUEST_TMPDIR}", f"IOWORKLOAD_TIMEOUT_SCALE={scale:g}"]
    editable = editable_install()
    if editable:
        build, files = editable
        tree = os.path.join(workdir, "package.json")
        with open(tree, "w") as f:
            json.dump(files, f)
        steps.append(shlex.join([sys.executable, "-S", os.path.join(os.path.dirname(__file__),
                                                                    "linktree.py"),
                                 tree, GUEST_PACKAGE_DIR]))
        env += [f"PYTHONPATH={GUEST_PACKAGE_DIR}", f"MESONPY_EDITABLE_SKIP={shlex.quote(build)}"]
    # The command comes through the shared directory, not the kernel's command line (2048
    # bytes on x86, where virtme-ng puts --exec): a list of 60 scenarios cut it, and the guest
    # never started.
    with open(os.path.join(workdir, GUEST_ARGV), "w") as f:
        json.dump([command, *argv], f)
    steps.append(" ".join(env) + " " + shlex.join(
        [sys.executable, "-m", "ioworkload.kernels.guest", os.path.join(workdir, "result.json"),
         "--argv-file", os.path.join(workdir, GUEST_ARGV)]))
    return " && ".join(steps)


def read_result(workdir: str, status: int) -> dict:
    path = os.path.join(workdir, "result.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        tail = _tail(os.path.join(workdir, "vm.log"))
        raise RuntimeError(f"no result (exit status {status})" + (f": {tail}" if tail else ""))


def editable_install() -> tuple[str, dict[str, str]] | None:
    """(build directory, {path in the package tree: file}) when ioworkload is an editable
    meson-python install, else None (an installed package needs nothing)."""
    for finder in sys.meta_path:
        build = getattr(finder, "_build_path", None)
        rebuild = getattr(finder, "_rebuild", None)
        if build is None or rebuild is None or "ioworkload" not in getattr(finder, "_top_level_modules", ()):
            continue
        files: dict[str, str] = {}

        def walk(node, prefix):
            for name, value in node.items():
                path = f"{prefix}/{name}" if prefix else name
                if isinstance(value, dict):
                    walk(value, path)
                else:
                    files[path] = value
        walk(rebuild(), "")
        return build, files
    return None


def partial_rows(workdir: str) -> list[dict]:
    """The rows a guest saved before it was stopped (none if it saved nothing)."""
    try:
        with open(os.path.join(workdir, "result.json")) as f:
            return json.load(f)["rows"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
