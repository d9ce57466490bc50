"""Atomic file writes, used by every layer that stores something: write a temporary sibling, then rename."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path


def replace_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Let `write` fill a temporary sibling of `path`, flush it to disk, then rename it over `path`.

    A crash at any point leaves either the old file or the new one, never a half-written file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        _create(tmp)
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
        tmp.unlink(missing_ok=True)


def _create(tmp: Path) -> None:
    """Create `tmp` as a new empty file: whatever stood at its name (a file a killed run left, or a link
    planted in a shared folder to have the write overwrite another file) is removed, not followed. (The
    writer opens it again by name; in a folder others may write to, use a private one.)"""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        os.close(os.open(tmp, flags, 0o666))
    except FileExistsError:
        tmp.unlink()
        os.close(os.open(tmp, flags, 0o666))


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


def remove_stale_temps(directory: Path) -> None:
    """Delete temporary files of `replace_atomic` (".name.tmp<pid>") whose writer is no longer running."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        head, sep, pid = path.name.rpartition(".tmp")
        if path.name.startswith(".") and sep and pid.isdigit() and head and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
