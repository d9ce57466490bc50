"""Build or update an index from documents: split, embed (through the cache), BM25 + FAISS, save."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpus.document import Document
from corpus.lock import busy, exclusive
from corpus.passage import Passage
from corpus.split import SPLITTER_VERSION, split_passages
from index.bm25 import BM25, ENGLISH_B
from index.cache import EmbeddingCache, embed_with_cache
from index.calibration import CALIBRATION_VERSION, calibrate
from index.context import CONTEXT_VERSION, embedding_text, lexical_text, part_texts
from index.dense import DenseIndex, build_dense_index
from index.embedder import BATCH_SIZE, Embedder
from index.glossary import Glossary, LazyGlossary
from index.parts import Parts
from index.passages import FORMAT_VERSION as PASSAGES_FORMAT
from index.reuse import Held, Texts, held_vectors
from index.store import (
    MismatchedIndex,
    check_compatible,
    clean_stale,
    current_generation,
    read_manifest,
    save_index,
    size_problems,
)
from index.tokenize import tokenize, tokenizer_info


@dataclass(frozen=True)
class BuildReport:
    """What an index run did."""

    documents: int
    passages: int
    embedded: int
    seconds: float
    changed: bool

    def to_dict(self) -> dict:
        """JSON summary for `reform-search index --json`."""
        return dict(self.__dict__)


def expected_manifest(embedder: Embedder) -> dict:
    """The manifest entries an index must share with the current settings to be usable."""
    return {
        "embedder": {"name": embedder.name, "dim": embedder.dim},
        "tokenizer": tokenizer_info(),
        "splitter_version": SPLITTER_VERSION,
        "calibration_version": CALIBRATION_VERSION,
        "context_version": CONTEXT_VERSION,
        "passages_format": PASSAGES_FORMAT,
    }


def profile_texts(p: Passage, own: str) -> list[str]:
    """The parts a passage is compared by when its counterparts in other cities are sought.

    A table row is the passage itself plus each of its fields (内容, 取組状況, 今後…) under the row's
    initiative: a counterpart often matches one statement of a long row, not the row as a whole.
    `own` is the passage's embedding text (its vector is a cache hit).
    """
    head = p.initiative or ""
    fields = [f"{head}\n{label}：{value}" for label, value in p.fields if value != p.department]
    return [own, *fields]


def texts_of(p: Passage) -> Texts:
    """What a build embeds of a passage: its embedding text, its profile's texts and its parts' texts."""
    own = embedding_text(p)
    return Texts(own, tuple(profile_texts(p, own)), tuple(part_texts(p)))


def _assembled(
    texts: list[Texts], held: dict[int, Held], new: tuple[np.ndarray, np.ndarray, np.ndarray], dim: int
) -> tuple[np.ndarray, np.ndarray, Parts]:
    """Vectors, profiles and parts of every passage in order: those `held` as the live index holds them,
    the others from `new` (the fresh passages' vectors, profiles and part vectors, in their order)."""
    vectors = np.empty((len(texts), dim), dtype=np.float32)
    profiles = np.empty((len(texts), dim), dtype=np.float32)
    blocks: list[np.ndarray] = []
    k = part = 0  # the next fresh passage, and its first part vector
    for n, t in enumerate(texts):
        if n in held:
            vectors[n], profiles[n] = held[n].vector, held[n].profile
            blocks.append(held[n].parts)
        else:
            vectors[n], profiles[n] = new[0][k], new[1][k]
            blocks.append(new[2][part : part + len(t.parts)])
            k, part = k + 1, part + len(t.parts)
    counts = [len(b) for b in blocks]
    stacked = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float32)
    return vectors, profiles, Parts.from_counts(counts, stacked.astype(np.float32, copy=False))


def _profiles(vectors: np.ndarray, counts: list[int]) -> np.ndarray:
    """One unit vector per passage: the normalized mean of its parts' vectors."""
    if not counts:
        return np.zeros((0, vectors.shape[1]), dtype=np.float32)
    ends = np.cumsum(counts)
    out = np.stack([vectors[e - n : e].mean(axis=0) for e, n in zip(ends, counts, strict=True)])
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def english_bags(words: Glossary | None, tokens: list[list[str]]) -> list[list[str]]:
    """Each passage's English words, from its lexical tokens (none without a glossary), read through a
    glossary of the build's own (`Glossary.for_build`)."""
    if words is None:
        return [[] for _ in tokens]
    words = words.for_build()
    return [words.bag(t) for t in tokens]


def build_index(
    index_dir: Path,
    documents: list[Document],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    dense_kind: str = "auto",
    batch_size: int = BATCH_SIZE,
    rebuild: bool = False,
    progress: Callable[[int, int], None] | None = None,
    package_version: str = "",
    glossary: LazyGlossary | None = None,
) -> BuildReport:
    """Bring the index at `index_dir` up to date with `documents`; unchanged input writes nothing.
    `package_version` (the application's) is recorded in the manifest; `glossary` gives passages their
    English words (index/glossary.py; None: none)."""
    started = time.monotonic()
    expected = expected_manifest(embedder)
    # Which dictionary gave the passages their English words, and how their bags are weighed: another
    # one rebuilds the index, but an index built with another is still searched (its English words are
    # what they are).
    glossed = {
        "glossary": glossary.info() if glossary is not None else {"name": "off"},
        "english_bm25": {"b": ENGLISH_B},
    }
    with _lock(Path(index_dir)):
        clean_stale(Path(index_dir))  # what a killed run left, even when this run has nothing to write
        current = None if rebuild else _current(index_dir)
        # a file of the live generation at another size than its manifest says (truncated, replaced) is
        # no index to keep: it is built again, as --rebuild would (`check --full` reads every byte)
        whole = current is not None and not size_problems(current_generation(index_dir), current)
        if whole and _up_to_date(current, expected | glossed, documents, dense_kind):
            return BuildReport(len(documents), current["passages"], 0, time.monotonic() - started, False)
        per_document = {d.id: split_passages(d) for d in documents}
        empty = [d for d in documents if not per_document[d.id]]
        if empty:
            d = empty[0]
            raise ValueError(f"document {d.id} ({d.source}) yields no passages; check that it contains text")
        passages = [p for d in documents for p in per_document[d.id]]
        texts = [texts_of(p) for p in passages]
        # what the live index holds of unchanged passages is taken again, neither embedded nor looked up
        held = held_vectors(index_dir, expected, passages) if whole else {}
        fresh = [t for n, t in enumerate(texts) if n not in held]
        own = [t.own for t in fresh]
        asked = own + [x for t in fresh for x in t.profiled] + [x for t in fresh for x in t.parts]
        embedded_all, embedded = embed_with_cache(embedder, asked, cache, batch_size, progress=progress)
        n_profiled = sum(len(t.profiled) for t in fresh)
        new = (
            embedded_all[: len(fresh)],
            _profiles(embedded_all[len(fresh) : len(fresh) + n_profiled], [len(t.profiled) for t in fresh]),
            embedded_all[len(fresh) + n_profiled :],
        )
        vectors, profiles, parts = _assembled(texts, held, new, embedder.dim)
        tokens = [tokenize(lexical_text(p)) for p in passages]
        bm25 = BM25.build(tokens)
        english = BM25.build(
            english_bags(glossary.get() if glossary is not None else None, tokens), b=ENGLISH_B
        )
        dense = build_dense_index(vectors, dense_kind)
        counts = Counter(p.doc_id for p in passages)
        manifest = index_manifest(
            expected | glossed,
            [{**d.meta(), "passages": counts[d.id]} for d in documents],
            calibrate(embedder, vectors, [p.city for p in passages], cache),
            dense,
            dense_kind,
            bm25,
            package_version,
        )
        save_index(index_dir, manifest, passages, vectors, profiles, parts, dense, bm25, english)
    return BuildReport(len(documents), len(passages), embedded, time.monotonic() - started, True)


def index_manifest(
    expected: dict,
    documents: list[dict],
    calibration: dict,
    dense: DenseIndex,
    dense_kind: str,
    bm25: BM25,
    package_version: str = "",
) -> dict:
    """The manifest of a new index: settings it must match, documents, calibration and index parameters."""
    return {
        **expected,
        "package_version": package_version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "dense": {"kind": dense.kind, "setting": dense_kind, **dense.params()},
        "bm25": {"k1": bm25.k1, "b": bm25.b, "terms": len(bm25.terms)},
        "documents": documents,
        "calibration": calibration,
    }


def _up_to_date(manifest: dict, expected: dict, documents: list[Document], dense_kind: str) -> bool:
    try:
        check_compatible(manifest, expected)
    except MismatchedIndex:
        return False
    # every field a document is known by, as its manifest entry states it (a changed layout splits it
    # otherwise; a changed city_en, url or kind is shown and cited): only where its file lies may move
    have = [{k: v for k, v in d.items() if k not in ("source", "passages")} for d in manifest["documents"]]
    want = [{k: v for k, v in d.meta().items() if k != "source"} for d in documents]
    return have == want and manifest.get("dense", {}).get("setting") == dense_kind


def _current(index_dir: Path) -> dict | None:
    """The live manifest, or None when there is none or it is of an older format (then rebuilt)."""
    try:
        return read_manifest(index_dir)
    except MismatchedIndex:
        return None


def _lock(index_dir: Path) -> AbstractContextManager[None]:
    """One indexer at a time per index directory; searches never take this lock."""
    return exclusive(Path(index_dir) / ".lock", busy(index_dir))
