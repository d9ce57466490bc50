"""One writer at a time: an exclusive, non-blocking lock on a file, released even when the process dies."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def busy(index_dir: Path) -> str:
    """What a second indexing run of the same index directory is told."""
    return f"another indexing run holds {index_dir}; wait for it to finish"


@contextmanager
def exclusive(path: Path, busy: str) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the block; if another process holds it,
    refuse at once with ValueError(`busy`) instead of waiting. The kernel drops the lock with the process."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(busy) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
