"""Kernels to boot: Debian's packaged kernels, fetched into a cache and extracted (never
installed), or a user's own image. apt runs with a private configuration (its own source list,
package lists and archive directory in the cache): /etc/apt and the host's package state are
never touched."""

from __future__ import annotations

import glob
import json
import os
import platform
import re
import shutil
import subprocess

from ioworkload.core.errors import Unsupported, UsageError

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# The series a tracer ships against, by the suite that carries it; any other suite name
# (debian:trixie, debian:bookworm-backports) is taken as it is.
DEBIAN_ALIASES = {"6.1": "bookworm", "6.12": "bookworm-backports", "newest": "sid"}
# The packages that hold the image and its modules (linux-image-X is a bare dependency
# package in newer suites, linux-binary-X and linux-modules-X hold the files).
KERNEL_PACKAGE = re.compile(r"^linux-(image|binary|modules)-\d[^ ]*$")
FETCH_TIMEOUT = 900.0
MARKER = "kernel.json"


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ioworkload", "kernels")


class Kernel:
    """One column of the matrix: `image` is None for the host itself."""

    def __init__(self, spec: str, image: str | None, release: str):
        self.spec, self.image, self.release = spec, image, release

    def __repr__(self) -> str:
        return f"Kernel({self.spec!r}, {self.release!r})"


def parse_spec(spec: str) -> tuple[str, str]:
    """('host', ''), ('debian', SUITE) or ('path', PATH); bad input is a UsageError."""
    if spec == "host":
        return "host", ""
    if spec.startswith("debian:"):
        suite = DEBIAN_ALIASES.get(spec[7:], spec[7:])
        if not re.fullmatch(r"[a-z][a-z0-9-]*", suite):
            raise UsageError(f"--kernel {spec}: a Debian suite or series is like debian:6.1, "
                             f"debian:6.12, debian:sid or debian:trixie")
        return "debian", suite
    if ":" in spec.split("/")[0] and not os.path.exists(spec):
        raise UsageError(f"--kernel {spec}: unknown source {spec.split(':')[0]!r} "
                         f"(debian:SUITE, host, or a path to a kernel image)")
    if not os.path.isfile(spec):
        raise UsageError(f"--kernel {spec}: no such kernel image")
    return "path", os.path.abspath(spec)


def image_release(path: str) -> str | None:
    """The release string an x86 bzImage carries in its setup header (the `kernel_version`
    field at 0x20e points at it, 0x200 bytes off), as `file` reads it; None if it is not one."""
    try:
        with open(path, "rb") as f:
            head = f.read(0x8000)
    except OSError as e:
        raise UsageError(f"cannot read kernel image {path}: {e.strerror}") from None
    if len(head) < 0x210 or head[0x202:0x206] != b"HdrS":
        return None
    offset = int.from_bytes(head[0x20E:0x210], "little") + 0x200
    text = head[offset:offset + 256].split(b"\0", 1)[0].decode("ascii", "replace")
    return text.split(" ", 1)[0] or None


def resolve(spec: str, log=lambda line: None) -> Kernel:
    kind, value = parse_spec(spec)
    if kind == "host":
        return Kernel("host", None, platform.release())
    if kind == "path":
        release = image_release(value)
        if release is None:
            raise UsageError(f"--kernel {spec}: not an x86 kernel image (no bzImage header)")
        return Kernel(spec, value, release)
    return fetch_debian(spec, value, log)


def _apt_options(root: str) -> list[str]:
    """apt's view of the cache directory only: its own source list, lists, archives and state."""
    return ["-o", f"Dir::Etc::SourceList={root}/sources.list",
            "-o", "Dir::Etc::SourceParts=/nonexistent",
            "-o", f"Dir::State::Lists={root}/lists",
            "-o", f"Dir::Cache={root}/cache",
            "-o", "Dir::State::status=/dev/null",
            "-o", "APT::Sandbox::User=root",
            "-o", "Debug::NoLocking=1",
            "-o", "Acquire::Languages=none",
            "-q"]


def _sources(suites: list[str]) -> str:
    lines = []
    for suite in suites:
        mirror = DEBIAN_SECURITY_MIRROR if suite.endswith("-security") else DEBIAN_MIRROR
        lines.append(f"deb [signed-by={DEBIAN_KEYRING}] {mirror} {suite} main\n")
    return "".join(lines)


def _run(argv: list[str], what: str, cwd: str | None = None) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=FETCH_TIMEOUT)
    except FileNotFoundError:
        raise Unsupported(f"{argv[0]} is not installed (needed to {what})") from None
    except subprocess.TimeoutExpired:
        raise Unsupported(f"{what}: {argv[0]} did not finish within {FETCH_TIMEOUT:g} s") from None
    if done.returncode != 0:
        err = [line for line in done.stderr.splitlines() if line.strip()]
        raise Unsupported(f"{what}: {argv[0]} exited {done.returncode}"
                          + (f": {err[-1].strip()}" if err else ""))
    return done.stdout


def apt_download(suites: list[str], packages: list[str], into: str, log, closure: bool = False
                 ) -> list[str]:
    """Download `packages` (with closure: their dependencies named like a kernel package too)
    from `suites` into `into`; the .deb paths."""
    if not os.path.exists(DEBIAN_KEYRING):
        raise Unsupported(f"Debian's archive keyring is not installed ({DEBIAN_KEYRING}: "
                          f"apt-get install debian-archive-keyring)")
    apt = os.path.join(into, "apt")
    for d in ("lists/partial", "cache/archives/partial"):
        os.makedirs(os.path.join(apt, d), exist_ok=True)
    with open(os.path.join(apt, "sources.list"), "w") as f:
        f.write(_sources(suites))
    opts = _apt_options(apt)
    log(f"reading Debian's package lists for {' '.join(suites)}")
    _run(["apt-get", *opts, "update"], f"read the package lists of {' '.join(suites)}")
    if closure:
        out = _run(["apt-cache", *opts, "depends", "--recurse", "--no-recommends", "--no-suggests",
                    "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *packages],
                   f"resolve {' '.join(packages)}")
        packages = sorted({line.strip() for line in out.splitlines()
                           if KERNEL_PACKAGE.match(line.strip())})
        if not packages:
            raise Unsupported(f"no kernel package found in {' '.join(suites)}")
    log(f"downloading {' '.join(packages)}")
    debs = os.path.join(into, "debs")
    os.makedirs(debs, exist_ok=True)
    _run(["apt-get", *opts, "download", *packages], "download " + " ".join(packages), cwd=debs)
    return sorted(glob.glob(os.path.join(debs, "*.deb")))


def extract(debs: list[str], root: str) -> None:
    """Unpack into `root` (a fresh directory: half an extraction is never reused)."""
    tmp = root + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for deb in debs:
        _run(["dpkg-deb", "-x", deb, tmp], f"unpack {os.path.basename(deb)}")
    shutil.rmtree(root, ignore_errors=True)
    os.rename(tmp, root)


def _find_image(root: str) -> tuple[str, str]:
    """(vmlinuz path, release) in an extracted kernel package: /boot/vmlinuz-R (up to Debian
    13) or /usr/lib/modules/R/vmlinuz (newer)."""
    for path in sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*"))):
        return path, os.path.basename(path)[len("vmlinuz-"):]
    for path in sorted(glob.glob(os.path.join(root, "usr", "lib", "modules", "*", "vmlinuz"))):
        return path, os.path.basename(os.path.dirname(path))
    raise Unsupported(f"no kernel image in the extracted packages ({root})")


def fetch_debian(spec: str, suite: str, log) -> Kernel:
    """Debian's newest kernel of `suite`, from the cache once it is there."""
    if platform.machine() != "x86_64":
        raise Unsupported(f"{spec}: Debian kernels are fetched for x86_64 only, "
                          f"not {platform.machine()}")
    where = os.path.join(cache_dir(), "debian-" + suite)
    marker = os.path.join(where, MARKER)
    try:
        with open(marker) as f:
            known = json.load(f)
        if os.path.isfile(known["image"]):
            return Kernel(spec, known["image"], known["release"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    os.makedirs(where, exist_ok=True)
    suites = [suite] + ([f"{suite}-security"] if suite in ("bookworm", "trixie") else [])
    shutil.rmtree(os.path.join(where, "debs"), ignore_errors=True)
    debs = apt_download(suites, ["linux-image-amd64"], where, log, closure=True)
    root = os.path.join(where, "root")
    extract(debs, root)
    for done in ("debs", "apt"):  # the packages (100+ MB) are unpacked; the lists are stale soon
        shutil.rmtree(os.path.join(where, done), ignore_errors=True)
    image, release = _find_image(root)
    with open(marker + ".part", "w") as f:
        json.dump({"image": image, "release": release, "suite": suite}, f)
    os.rename(marker + ".part", marker)
    return Kernel(spec, image, release)


def udev_overlay(log) -> str | None:
    """A directory to overlay on /usr that holds udev, which virtme-ng's guest init needs, or
    None when the host has it. Debian's udev package is extracted into the cache, never
    installed: installed, it would start a daemon on the host."""
    if any(os.path.exists(p) for p in ("/usr/lib/systemd/systemd-udevd", "/lib/systemd/systemd-udevd",
                                       "/sbin/udevd", "/usr/sbin/udevd")):
        return None
    where = os.path.join(cache_dir(), "udev")
    usr = os.path.join(where, "usr-merged")
    if os.path.isfile(os.path.join(usr, "bin", "udevadm")):
        return usr
    codename = _host_codename()
    os.makedirs(where, exist_ok=True)
    shutil.rmtree(os.path.join(where, "debs"), ignore_errors=True)
    debs = apt_download([codename, f"{codename}-updates", f"{codename}-security"], ["udev"],
                        where, log)
    raw = os.path.join(where, "root")
    extract(debs, raw)
    # The package puts files in /bin and /lib, which are /usr/bin and /usr/lib on a merged-/usr
    # host: gather them under one tree to lay over /usr.
    tmp = usr + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for top in ("usr", "bin", "lib", "sbin"):
        src = os.path.join(raw, top)
        if os.path.isdir(src):
            shutil.copytree(src, tmp if top == "usr" else os.path.join(tmp, top),
                            symlinks=True, dirs_exist_ok=True)
    os.rename(tmp, usr)
    for done in ("debs", "apt", "root"):
        shutil.rmtree(os.path.join(where, done), ignore_errors=True)
    return usr


def _host_codename() -> str:
    try:
        with open("/etc/os-release") as f:
            fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    except OSError:
        fields = {}
    codename = fields.get("VERSION_CODENAME", "").strip('"')
    if fields.get("ID", "").strip('"') != "debian" or not codename:
        raise Unsupported("virtme-ng's guest needs udev: install it (this host is not Debian, "
                          "whose udev package could be extracted instead)")
    return codename
