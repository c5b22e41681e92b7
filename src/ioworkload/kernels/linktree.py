"""Lay out an editable install's files as a plain package tree of symlinks:
`python3 linktree.py TREE.json DEST`. Run in the guest before anything imports ioworkload.

An editable install (meson-python) finds its modules through a loader that runs the build
tool on every interpreter start: in a guest that reads the host's root over 9p under software
emulation that costs tens of seconds a process, and it needs a writable build directory. With
the same files linked under DEST (on the guest's tmpfs) and the loader told to step aside
(MESONPY_EDITABLE_SKIP), every process there imports the package like an installed one.
Standalone on purpose: it runs before the package can be imported.
"""

import json
import os
import sys


def main(tree_file: str, dest: str) -> int:
    with open(tree_file) as f:
        files = json.load(f)
    for relpath, source in files.items():
        target = os.path.join(dest, relpath)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(source, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
