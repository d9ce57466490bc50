"""Atomic file writes, used by every layer that stores something: write a temporary sibling, then rename."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


def replace_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Let `write` fill a temporary file of `path`'s name, flush it to disk, then rename it over `path`.

    A crash at any point leaves either the old file or the new one, never a half-written file. The
    temporary file lies in a private (0700) folder of an unpredictable name beside `path`, created for
    this write: in a folder others may write to (an export to /tmp), nobody can plant or swap in a link
    there for the writer, which opens the file by name, to follow.
    """
    path = Path(path)
    private = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp{os.getpid()}.", dir=path.parent))
    tmp = private / path.name
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        # a replaced file keeps its mode (a private 0600 one), set once the data is written and synced:
        # a read-only (0444) one set before had refused its own sync
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
        fsync_dir(path.parent)  # the rename itself on disk: a library manifest must not come back older
    finally:
        shutil.rmtree(private, ignore_errors=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Replace a UTF-8 text file atomically."""
    replace_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """Make every file under `path`, and the directories holding them, durable: a directory renamed
    into place after a power loss must not hold empty files (a rename is durable before the data is)."""
    for p in sorted(path.rglob("*"), reverse=True):  # deepest first: a directory after what it holds
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        elif p.is_dir():
            fsync_dir(p)
    fsync_dir(path)


# what replace_atomic leaves when killed: ".name.tmp<pid>.<random>" (a folder), or ".name.tmp<pid>" (a
# file, as versions before 0.1.0 wrote)
STALE = re.compile(r"\..+\.tmp(\d+)(\.[A-Za-z0-9_]+)?")


def remove_stale_temps(directory: Path) -> None:
    """Delete what `replace_atomic` left behind whose writer is no longer running."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        if (m := STALE.fullmatch(path.name)) and not _alive(int(m[1])):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
