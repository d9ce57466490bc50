"""The glossary's table (written form → JMdict glosses) stored as a SQLite file of the cache directory,
each form read when it is first asked for (index/glossary.py): held in memory, the table took some
240 MB of a server that reads a few dozen forms per question, and reading it 0.3 s of a one-shot search.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from corpus.atomic import replace_atomic

MMAP_BYTES = 1 << 26  # the table is some 9 MB
SEPARATOR = "\x1f"  # between a form's glosses in the stored table (no gloss holds it)


class StoredTable:
    """The table in its SQLite file (`write_table`): each written form's glosses read when asked for.
    Safe across threads."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        # Pages are read through a memory map (file-backed, shared with the page cache), and SQLite's own
        # cache on the heap is kept small: a server's heap should not grow with the forms questions reach
        self._conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        self._conn.execute("PRAGMA cache_size = -64")
        try:  # a damaged or foreign file fails here, not at the first question
            self._len = int(self._conn.execute("SELECT count(*) FROM forms").fetchone()[0])
        except sqlite3.DatabaseError:
            self._conn.close()
            raise

    def __len__(self) -> int:
        return self._len

    def get(self, form: str, default: list[str] | tuple = ()) -> list[str] | tuple:
        with self._lock:
            row = self._conn.execute("SELECT glosses FROM forms WHERE form = ?", (form,)).fetchone()
        return row[0].split(SEPARATOR) if row else default

    def items(self) -> Iterator[tuple[str, list[str]]]:
        """Every (written form, glosses), in form order."""
        with self._lock:
            rows = self._conn.execute("SELECT form, glosses FROM forms ORDER BY form").fetchall()
        return ((form, glosses.split(SEPARATOR)) for form, glosses in rows)


def write_table(path: Path, table: dict[str, list[str]]) -> None:
    """Store the table as a SQLite file for `StoredTable`, atomically."""

    def write(tmp: Path) -> None:
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("CREATE TABLE forms (form TEXT PRIMARY KEY, glosses TEXT NOT NULL) WITHOUT ROWID")
            conn.executemany(
                "INSERT INTO forms VALUES (?, ?)", ((f, SEPARATOR.join(g)) for f, g in table.items())
            )
            conn.commit()
        finally:
            conn.close()

    replace_atomic(path, write)
