"""Build step: this architecture's syscall table (name -> number) from the build's own
<asm/unistd.h>, as a module (ioworkload.core._syscall_numbers), so expect files and `coverage` name the numbers the kernels issue.
On x86-64 also the ia32 table (<asm/unistd_32.h>: the numbers `int $0x80` takes), as
NUMBERS_IA32 (empty elsewhere).

usage: gen_syscall_numbers.py OUTPUT CC [CC-ARGS...]
"""

import json
import re
import subprocess
import sys

# Newer than some build hosts' headers; the unified table (>= 424) gives every architecture
# the same number (iow_syscall.h supplies the same fallbacks to the kernels).
UNIFIED = {"pidfd_open": 434, "close_range": 436, "openat2": 437, "move_mount": 429,
           "cachestat": 451, "fchmodat2": 452, "setxattrat": 463, "getxattrat": 464,
           "listxattrat": 465, "removexattrat": 466, "statmount": 457, "listmount": 458,
           "open_tree_attr": 467}


def numbers(cc: list[str], header: str) -> dict[str, int]:
    """Every __NR_ macro `header` defines, evaluated (empty: the header is not there)."""
    run = subprocess.run(cc + ["-dM", "-E", "-x", "c", "-"], input=f"#include <{header}>\n",
                         capture_output=True, text=True)
    if run.returncode != 0:
        return {}
    text = run.stdout
    macros = dict(re.findall(r"^#define (\w+) (.+)$", text, re.M))

    def value(name: str, depth: int = 0):
        expr = macros.get(name)
        if expr is None or depth > 8:
            return None
        expr = re.sub(r"\b(__NR\w*|__ARM_NR\w*)\b",
                      lambda m: str(value(m[1], depth + 1)), expr)
        if not re.fullmatch(r"[\d\s()+\-xa-fA-FuUlL]*", expr) or "None" in expr:
            return None
        try:
            return int(eval(re.sub(r"(?<=\d)[uUlL]+", "", expr), {}))
        except Exception:
            return None

    table = {}
    for name in macros:
        m = re.fullmatch(r"__NR_(\w+)", name)
        if m and m[1] not in ("syscalls", "arch_specific_syscall"):
            nr = value(name)
            if nr is not None:
                table[m[1]] = nr
    return table


def main(out: str, cc: list[str]) -> None:
    table = numbers(cc, "asm/unistd.h")
    for name, nr in UNIFIED.items():
        table.setdefault(name, nr)
    machine = subprocess.run(cc + ["-dumpmachine"], capture_output=True, text=True).stdout
    ia32 = numbers(cc, "asm/unistd_32.h") if machine.startswith("x86_64") else {}
    with open(out, "w") as f:
        f.write("# Generated at build time from <asm/unistd.h> (and <asm/unistd_32.h>) by "
                "gen_syscall_numbers.py.\n")
        for var, t in (("NUMBERS", table), ("NUMBERS_IA32", ia32)):
            f.write(f"{var} = " + json.dumps(dict(sorted(t.items(), key=lambda kv: kv[1]))) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
