"""Index persistence: plain files plus manifest.json, written as a new generation and switched atomically.

    INDEX_DIR/
      CURRENT                 name of the live generation (replaced atomically with os.replace)
      gen-<time>-<pid>/       manifest.json, passages* (index/passages.py), vectors.npy, profiles.npy,
                              part_*.npy (index/parts.py), dense.faiss, bm25*.{json,npy} (the passages'
                              Japanese words; bm25_en*: their English words, index/glossary.py)

A crash while writing leaves CURRENT pointing at the previous complete generation; unfinished
generations are removed by the next write. Nothing is ever unpickled.

Loading maps files rather than reading them (passages, vectors, profiles, BM25 postings, the FAISS
index): a million-passage index opens in well under a second and its pages stay in the page cache,
shared by every process serving it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from corpus.atomic import fsync_dir, fsync_tree, remove_stale_temps, write_text_atomic
from corpus.passage import Passage
from index.bm25 import BM25
from index.calibration import Calibration
from index.dense import DenseIndex, load_dense_index
from index.documents import IndexedDocument
from index.manifest import DENSE, ENGLISH, PROFILES, VECTORS, validate_manifest
from index.parts import Parts
from index.passages import LINES, PassageTable, write_passages
from index.problems import REBUILD_HINT, CorruptIndex, IndexProblem, MismatchedIndex, MissingIndex

__all__ = ["REBUILD_HINT", "CorruptIndex", "IndexProblem", "MismatchedIndex", "MissingIndex"]

# 2: passages read on demand (offsets, columns, id hashes); BM25 vocabulary by hash. 3: part vectors.
# 4: the passages' English words (bm25_en*)
FORMAT_VERSION = 4
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
PASSAGES = LINES


@dataclass
class StoredIndex:
    """A loaded index: passages with their vectors, the dense and lexical indexes, and the manifest."""

    path: Path
    manifest: dict
    passages: PassageTable
    vectors: np.ndarray
    profiles: np.ndarray
    parts: Parts
    dense: DenseIndex
    bm25: BM25
    english: BM25  # the passages' English words (empty where the index was built without a glossary)

    @cached_property
    def calibration(self) -> Calibration:
        """The per-city nulls that match labels read cosines against (index/calibration.py)."""
        return Calibration.from_manifest(self.manifest["calibration"])

    @cached_property
    def documents(self) -> tuple[IndexedDocument, ...]:
        """The indexed documents, as the manifest records them."""
        return tuple(IndexedDocument.from_dict(d) for d in self.manifest["documents"])

    @property
    def city_pairs(self) -> list[tuple[str, str]]:
        """(city, English name) of every indexed city, in the order documents were added."""
        return list(self._city_pairs)

    @cached_property
    def _city_pairs(self) -> tuple[tuple[str, str], ...]:
        # Asked on every filtered search: with thousands of documents, walking them each time shows.
        return tuple(dict.fromkeys((d.city, d.city_en) for d in self.documents))


def index_directory(index_dir: Path) -> Path:
    """The index directory, refused in one line when the path names a file."""
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise MissingIndex(f"{index_dir} is a file, not an index directory; give --index-dir a directory")
    return index_dir


def current_generation(index_dir: Path) -> Path | None:
    """The live generation directory, or None when the index directory holds no index.

    CURRENT is resolved once, here: whatever it names (a plain name, a symlink, a path with "..") must
    resolve to a generation directory directly inside the index directory, and the resolved path is
    what every caller sees, so nothing that compares generations can mistake the live one for stale.
    """
    pointer = index_directory(index_dir) / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise CorruptIndex(f"cannot read {pointer}: {e}; {REBUILD_HINT}") from None
    home = Path(index_dir).resolve()
    try:
        gen = (home / name).resolve(strict=True) if name and "\0" not in name else None
    except (OSError, RuntimeError):  # missing, or a loop of symlinks
        gen = None
    if gen is None or gen.parent != home or not gen.name.startswith("gen-") or not gen.is_dir():
        raise CorruptIndex(f"{pointer} names {name!r}, which is not an index generation; {REBUILD_HINT}")
    return gen


def read_manifest(index_dir: Path) -> dict | None:
    """The live manifest, or None when there is no index yet; MismatchedIndex when it is of another
    format (an index an older version built: `index` rebuilds it), CorruptIndex when it is damaged."""
    gen = current_generation(index_dir)
    if gen is None:
        return None
    try:
        manifest = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        problem = "nested too deeply" if isinstance(e, RecursionError) else str(e)
        raise CorruptIndex(
            f"index manifest {gen / MANIFEST} is unreadable ({problem}); {REBUILD_HINT}"
        ) from None
    if isinstance(manifest, dict) and isinstance(manifest.get("format"), int):
        _check_format(manifest)  # another format's manifest lists other files: not a damaged one
    return validate_manifest(manifest, gen / MANIFEST)


def _check_format(manifest: dict) -> None:
    if manifest.get("format") != FORMAT_VERSION:
        have = manifest.get("format")
        raise MismatchedIndex(
            f"index format {have} is not the current format {FORMAT_VERSION}; {REBUILD_HINT}"
        )


def check_compatible(manifest: dict, expected: dict) -> None:
    """Refuse an index built with other settings, naming the difference and the fix."""
    _check_format(manifest)
    for key, want in expected.items():
        have = manifest.get(key)
        if have != want:
            raise MismatchedIndex(
                f"index was built with {key} {_show(have)}, but the current setting is {_show(want)}; "
                f"{REBUILD_HINT} (or use the settings it was built with)"
            )


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def load_index(index_dir: Path, expected: dict | None = None) -> StoredIndex:
    """Load the live generation; `expected` manifest entries (embedder, tokenizer...) must match."""
    index_dir = Path(index_dir)
    gen = current_generation(index_dir)
    if gen is None:
        raise MissingIndex(f"no index at {index_dir}; build it with `reform-search index`")
    manifest = read_manifest(index_dir)
    if expected:
        check_compatible(manifest, expected)
    problems = size_problems(gen, manifest)
    if problems:
        name, problem = problems[0]
        raise CorruptIndex(f"index file {gen / name} is damaged ({problem}); {REBUILD_HINT}")
    try:
        passages = PassageTable.open(gen)
        vectors = np.load(gen / VECTORS, allow_pickle=False, mmap_mode="r")
        profiles = np.load(gen / PROFILES, allow_pickle=False, mmap_mode="r")
        parts = Parts.load(gen, len(passages), manifest["embedder"]["dim"])
        dense = load_dense_index(gen / DENSE, manifest["dense"]["kind"], manifest["embedder"]["dim"])
        bm25 = BM25.load(gen)
        english = BM25.load(gen, ENGLISH)
    except (OSError, ValueError, LookupError, TypeError, AttributeError, ArithmeticError) as e:
        raise CorruptIndex(f"index at {index_dir} is damaged ({e!r}); {REBUILD_HINT}") from None
    sizes = (len(passages), len(vectors), len(profiles), len(parts), len(dense), bm25.n_docs)
    sizes += (english.n_docs, manifest["passages"])
    if len(set(sizes)) != 1:
        raise CorruptIndex(f"index at {index_dir} has files of inconsistent sizes {sizes}; {REBUILD_HINT}")
    return StoredIndex(gen, manifest, passages, vectors, profiles, parts, dense, bm25, english)


def size_problems(gen: Path, manifest: dict) -> list[tuple[str, str]]:
    """(file, what is wrong) for each file of a generation that is missing or not at the size the
    manifest records: a truncated or replaced file is caught before use."""
    problems = []
    for name, info in manifest["files"].items():
        path = gen / name
        if not path.is_file():
            problems.append((name, "missing"))
        elif path.stat().st_size != info["bytes"]:
            problems.append((name, f"{path.stat().st_size} bytes, the manifest says {info['bytes']}"))
    return problems


def checksum_problems(index_dir: Path) -> list[tuple[str, str]]:
    """(file, what is wrong) for each index file that cannot be read or whose SHA-256 differs from the
    manifest (empty when all are intact)."""
    gen = current_generation(index_dir)
    if gen is None:
        raise MissingIndex(f"no index at {index_dir}; build it with `reform-search index`")
    problems = []
    for name, info in read_manifest(index_dir)["files"].items():
        digest = file_sha256(gen / name)
        if digest is None:
            problems.append((name, "cannot be read"))
        elif digest != info["sha256"]:
            problems.append((name, "content differs from the manifest's SHA-256"))
    return problems


def save_index(
    index_dir: Path,
    manifest: dict,
    passages: Iterable[Passage],
    vectors: np.ndarray,
    profiles: np.ndarray,
    parts: Parts,
    dense: DenseIndex,
    bm25: BM25,
    english: BM25,
) -> Path:
    """Write a new generation and make it live atomically; returns its directory.

    `passages` may be any iterable (a generator, a PassageTable): they are streamed to disk.
    """
    index_dir = index_directory(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    clean_stale(index_dir)
    gen = index_dir / f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = gen.with_name(gen.name + ".tmp")
    tmp.mkdir()
    count = write_passages(tmp, passages)
    np.save(tmp / VECTORS, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    np.save(tmp / PROFILES, np.ascontiguousarray(profiles, dtype=np.float32), allow_pickle=False)
    parts.save(tmp)
    dense.save(tmp / DENSE)
    bm25.save(tmp)
    english.save(tmp, ENGLISH)
    files = sorted(p.name for p in tmp.iterdir())
    manifest = {
        **manifest,
        "format": FORMAT_VERSION,
        "passages": count,
        "files": {n: {"bytes": (tmp / n).stat().st_size, "sha256": _sha256(tmp / n)} for n in files},
    }
    write_text_atomic(tmp / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    fsync_tree(tmp)  # every file's data on disk before the generation can go live
    os.replace(tmp, gen)
    write_text_atomic(index_dir / CURRENT, gen.name + "\n")
    fsync_dir(index_dir)
    clean_stale(index_dir)
    return gen


def clean_stale(index_dir: Path) -> None:
    """Remove generations other than the live one, unfinished ones, and temporary files of dead writers.

    With a damaged CURRENT nothing complete is removed: the run that writes a new CURRENT cleans after.
    Symlinks are never followed or removed: what CURRENT resolves to is compared, not its spelling.
    """
    index_dir = Path(index_dir)
    try:
        live = current_generation(index_dir)
    except CorruptIndex:
        live, keep_complete = None, True
    else:
        keep_complete = False
    for child in index_dir.iterdir():
        if not child.name.startswith("gen-") or child.is_symlink() or not child.is_dir():
            continue
        if child.resolve() == live or (keep_complete and not child.name.endswith(".tmp")):
            continue
        shutil.rmtree(child, ignore_errors=True)
    remove_stale_temps(index_dir)


def file_sha256(path: Path) -> str | None:
    """The file's SHA-256 in hex, or None when it cannot be read."""
    try:
        return _sha256(path)
    except OSError:
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
