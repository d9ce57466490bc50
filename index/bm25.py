"""Okapi BM25 (Lucene variant) over pre-tokenized documents, with scores precomputed per term.

Postings are CSR arrays (`indptr[t]:indptr[t+1]` slices `doc_ids` and `weights`), built with one
vectorized sort rather than a loop over documents, and memory-mapped on load. The vocabulary is an
array of sorted 64-bit term hashes plus the terms' UTF-8 bytes: a query term is found by binary search
and checked byte for byte, so no dictionary of Python strings is built when an index is opened.

About 345 lines: the scorer, its hashed vocabulary and its file format belong together (a change to one
is a change to the format of all three).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from corpus.atomic import replace_atomic
from index.hashing import stable_hash as term_hash
from index.problems import REBUILD_HINT
from index.topk import allowed_count, top_k

K1 = 1.2
B = 0.75
# The English word bags (index/glossary.py) are normalized by their whole length: each Japanese word
# brings every gloss of its noun senses, so a long passage's bag holds some English word of almost any
# question (a brochure page naming forty initiatives led every English question's BM25). Chosen by
# 5-fold cross-validation with k1 (bench/tune.py english-bm25): b = 1.0 and k1 = K1 in four folds of five.
ENGLISH_B = 1.0
FORMAT_VERSION = 2  # 2: vocabulary as hashes + UTF-8 bytes, columns in hash order
PREFIX = "bm25"  # an index's files are PREFIX.json and PREFIX_<array>.npy (a generation holds two)
DTYPES = {
    "indptr": np.int64,
    "doc_ids": np.int32,
    "weights": np.float32,
    "term_hashes": np.uint64,
    "term_offsets": np.int64,
    "term_bytes": np.uint8,
}


def meta_file(prefix: str = PREFIX) -> str:
    """The JSON file of a BM25 index saved under `prefix`."""
    return f"{prefix}.json"


def array_files(prefix: str = PREFIX) -> dict[str, str]:
    """The .npy file of each array of a BM25 index saved under `prefix`."""
    return {key: f"{prefix}_{key}.npy" for key in DTYPES}


def file_names(prefix: str = PREFIX) -> list[str]:
    """Every file of a BM25 index saved under `prefix`."""
    return [meta_file(prefix), *array_files(prefix).values()]


META_FILE = meta_file()
ARRAY_FILES = array_files()


class Vocabulary:
    """Terms by column: sorted hashes (`hashes[c]` is column c's) and the terms' bytes, all plain arrays."""

    def __init__(self, hashes: np.ndarray, offsets: np.ndarray, data: np.ndarray) -> None:
        self.hashes = hashes
        self.offsets = offsets
        self.data = data

    @classmethod
    def from_terms(cls, terms: Sequence[str]) -> tuple[Vocabulary, np.ndarray]:
        """The vocabulary of distinct `terms`, and the column each input position was given."""
        hashes = np.fromiter((term_hash(t) for t in terms), dtype=np.uint64, count=len(terms))
        order = np.argsort(hashes, kind="stable")
        encoded = [terms[i].encode("utf-8") for i in order]
        offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        column_of = np.empty(len(terms), dtype=np.int64)
        column_of[order] = np.arange(len(terms))
        return cls(hashes[order], offsets, data), column_of

    def __len__(self) -> int:
        return len(self.hashes)

    def column(self, term: str) -> int | None:
        """The column of `term`, or None when no document contains it."""
        h = np.uint64(term_hash(term))
        at = int(np.searchsorted(self.hashes, h))
        encoded = term.encode("utf-8")
        # Terms whose hashes collide sit side by side; the bytes tell them apart.
        while at < len(self.hashes) and self.hashes[at] == h:
            if self.data[self.offsets[at] : self.offsets[at + 1]].tobytes() == encoded:
                return at
            at += 1
        return None

    def term(self, column: int) -> str:
        """The term of one column."""
        return self.data[self.offsets[column] : self.offsets[column + 1]].tobytes().decode("utf-8")

    def terms(self) -> list[str]:
        """Every term, in column order."""
        return [self.term(c) for c in range(len(self))]


class BM25:
    """A BM25 index stored as term postings: `indptr[t]:indptr[t+1]` slices `doc_ids` and `weights`."""

    def __init__(
        self,
        terms: Vocabulary,
        indptr: np.ndarray,
        doc_ids: np.ndarray,
        weights: np.ndarray,
        n_docs: int,
        avgdl: float,
        k1: float = K1,
        b: float = B,
    ) -> None:
        self.terms = terms
        self.indptr = indptr
        self.doc_ids = doc_ids
        self.weights = weights
        self.n_docs = n_docs
        self.avgdl = avgdl
        self.k1 = k1
        self.b = b

    @property
    def vocab(self) -> dict[str, int]:
        """{term: column}, decoded from the arrays (for inspection; searches never build it)."""
        return {term: column for column, term in enumerate(self.terms.terms())}

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]], k1: float = K1, b: float = B) -> BM25:
        """Index token lists; the whole BM25 formula is evaluated here so queries only add weights."""
        vocab: dict[str, int] = {}
        ids: list[int] = []
        lengths = np.zeros(len(docs), dtype=np.int64)
        for d, doc in enumerate(docs):
            if isinstance(doc, str):
                raise ValueError(f"document {d} is a str, not a token list; tokenize it before indexing")
            ids.extend(vocab.setdefault(term, len(vocab)) for term in doc)
            lengths[d] = len(doc)
        return cls.from_token_ids(np.asarray(ids, dtype=np.int64), lengths, list(vocab), k1, b)

    @classmethod
    def from_token_ids(
        cls,
        token_ids: np.ndarray,
        lengths: np.ndarray,
        vocab: Sequence[str],
        k1: float = K1,
        b: float = B,
    ) -> BM25:
        """Index documents given as one flat array of term ids (`vocab[id]` is the term), `lengths[d]`
        ids per document in order: the path for millions of documents, with no loop over them.
        """
        if not k1 >= 0:
            raise ValueError(f"k1 of {k1} is invalid; use a value >= 0 (default {K1})")
        if not 0 <= b <= 1:
            raise ValueError(f"b of {b} is invalid; use a value between 0 and 1 (default {B})")
        token_ids = np.asarray(token_ids, dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        if token_ids.ndim != 1 or lengths.ndim != 1 or lengths.sum() != len(token_ids) or (lengths < 0).any():
            raise ValueError(
                f"lengths must count the {len(token_ids)} token ids document by document, "
                f"got {len(lengths)} lengths summing to {int(lengths.sum())}"
            )
        if len(token_ids) and (token_ids.min() < 0 or token_ids.max() >= len(vocab)):
            raise ValueError(f"token ids must index the vocabulary of {len(vocab)} terms")
        if len(set(vocab)) != len(vocab):
            raise ValueError("the vocabulary lists a term twice; give each term one id")
        terms, column_of = Vocabulary.from_terms(vocab)
        n_docs, n_terms = len(lengths), len(vocab)
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        # One sort of (term, doc) keys gives the postings grouped by term, docs ascending, with their tf.
        keys, tf = np.unique(column_of[token_ids] * max(n_docs, 1) + doc_of, return_counts=True)
        term_of = keys // max(n_docs, 1)
        doc_ids = (keys - term_of * max(n_docs, 1)).astype(np.int32)
        df = np.bincount(term_of, minlength=n_terms)
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])

        avgdl = float(lengths.mean()) if n_docs else 0.0
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        posting_idf = np.repeat(idf, df)
        tf = tf.astype(np.float64)
        # avgdl is 0 only when every document is empty, and then there are no postings to score.
        norm = 1 - b + b * lengths[doc_ids] / avgdl if len(doc_ids) else np.zeros(0)
        weights = (posting_idf * tf * (k1 + 1) / (tf + k1 * norm)).astype(np.float32)
        return cls(terms, indptr, doc_ids, weights, n_docs, avgdl, k1, b)

    def scores(self, query: Sequence[str] | Mapping[str, float]) -> np.ndarray:
        """BM25 score of every document: Σ weight · BM25 of each term. A token list weighs a term by
        how often it occurs; a mapping gives each term its weight."""
        if isinstance(query, str):
            raise ValueError("query is a str, not a token list; tokenize the query first")
        scores = np.zeros(self.n_docs, dtype=np.float32)
        weights = query if isinstance(query, Mapping) else Counter(query)
        for term, times in weights.items():
            docs, bm25 = self.postings(term)
            # A term lists each document once, so fancy-index += is safe (no np.add.at needed).
            scores[docs] += bm25 * np.float32(times)
        return scores

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The documents that hold `term` (ascending) and its BM25 weight in each; empty when none do."""
        column = self.terms.column(term)
        if column is None:
            return self.doc_ids[:0], self.weights[:0]
        start, end = self.indptr[column], self.indptr[column + 1]
        return self.doc_ids[start:end], self.weights[start:end]

    def df(self, terms: Sequence[str], allowed: np.ndarray) -> np.ndarray:
        """How many of the `allowed` documents (a boolean mask) hold each of `terms`."""
        return np.array([int(allowed[self.postings(t)[0]].sum()) for t in terms], dtype=np.int64)

    def search(
        self, query: Sequence[str] | Mapping[str, float], k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (doc indices, scores) with score > 0, best first, ties to the lower index."""
        if k <= 0:
            raise ValueError(f"k of {k} is invalid; ask for at least 1 result")
        allowed_count(allowed, self.n_docs)
        scores = self.scores(query)
        hit = scores > 0
        if allowed is not None:
            hit &= allowed
        ids = np.flatnonzero(hit)
        return top_k(ids, scores[ids], k)

    def _arrays(self) -> dict[str, np.ndarray]:
        t = self.terms
        return {
            "indptr": self.indptr,
            "doc_ids": self.doc_ids,
            "weights": self.weights,
            "term_hashes": t.hashes,
            "term_offsets": t.offsets,
            "term_bytes": t.data,
        }

    def save(self, directory: Path, prefix: str = PREFIX) -> list[str]:
        """Write PREFIX.json and the .npy arrays into `directory`; return the file names written."""
        directory = Path(directory)
        if not directory.is_dir():
            raise ValueError(f"cannot save BM25 index: {directory} is not a directory; create it first")
        meta = {
            "format_version": FORMAT_VERSION,
            "k1": self.k1,
            "b": self.b,
            "n_docs": self.n_docs,
            "avgdl": self.avgdl,
            "terms": len(self.terms),
            "term_hash": "blake2b-64",
        }
        arrays = array_files(prefix)
        for key, array in self._arrays().items():
            replace_atomic(directory / arrays[key], lambda tmp, a=array: _save_npy(tmp, a))
        data = json.dumps(meta, ensure_ascii=False).encode("utf-8")
        replace_atomic(directory / meta_file(prefix), lambda tmp: tmp.write_bytes(data))
        return file_names(prefix)

    @classmethod
    def load(cls, directory: Path, prefix: str = PREFIX) -> BM25:
        """Map an index written by `save` (read-only), refusing missing, corrupt or inconsistent files."""
        directory = Path(directory)
        for name in file_names(prefix):
            if not (directory / name).is_file():
                raise ValueError(f"BM25 index file {directory / name} is missing; {REBUILD_HINT}")
        try:
            meta = json.loads((directory / meta_file(prefix)).read_text(encoding="utf-8"))
            version = meta["format_version"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise _corrupt(directory, error) from error
        if version != FORMAT_VERSION:
            raise ValueError(
                f"BM25 index in {directory} has format version {version!r}, "
                f"this program reads {FORMAT_VERSION}; {REBUILD_HINT}"
            )
        try:
            arrays = {
                key: np.load(directory / name, mmap_mode="r", allow_pickle=False).view(np.ndarray)
                for key, name in array_files(prefix).items()
            }
            terms = Vocabulary(arrays["term_hashes"], arrays["term_offsets"], arrays["term_bytes"])
            index = cls(
                terms,
                arrays["indptr"],
                arrays["doc_ids"],
                arrays["weights"],
                int(meta["n_docs"]),
                float(meta["avgdl"]),
                float(meta["k1"]),
                float(meta["b"]),
            )
            problem = index._inconsistency(int(meta["terms"]))
        except (OSError, ValueError, EOFError, KeyError, TypeError) as error:
            raise _corrupt(directory, error) from error
        if problem:
            raise _corrupt(directory, problem)
        return index

    def _inconsistency(self, n_terms: int) -> str:
        """Describe the first way the arrays disagree with each other, or return ''.

        Every check but the last reads a few bytes per term; the last reads the postings once,
        which also brings them into the page cache before the first query.
        """
        arrays = self._arrays()
        wrong = [f"{k} {a.dtype}" for k, a in arrays.items() if a.dtype != DTYPES[k] or a.ndim != 1]
        if wrong:
            return f"unexpected arrays: {', '.join(wrong)}"
        indptr, doc_ids, weights = self.indptr, self.doc_ids, self.weights
        if indptr.shape != (n_terms + 1,) or weights.shape != doc_ids.shape:
            return (
                f"array shapes {indptr.shape}, {doc_ids.shape}, {weights.shape} disagree with the "
                f"{n_terms} terms"
            )
        t = self.terms
        if t.hashes.shape != (n_terms,) or t.offsets.shape != (n_terms + 1,):
            return f"the vocabulary arrays do not hold {n_terms} terms"
        if t.offsets[0] != 0 or t.offsets[-1] != len(t.data) or np.any(np.diff(t.offsets) < 0):
            return "term offsets are out of order"
        if np.any(np.diff(t.hashes) < 0):
            return "term hashes are not sorted"
        if indptr[0] != 0 or indptr[-1] != len(doc_ids) or np.any(np.diff(indptr) < 0):
            return "postings offsets are out of order"
        if len(doc_ids) and (doc_ids.min() < 0 or doc_ids.max() >= self.n_docs):
            return f"a posting points outside the {self.n_docs} documents"
        return ""


def _corrupt(directory: Path, problem: object) -> ValueError:
    """The error for an index directory whose files cannot be trusted."""
    detail = f"{type(problem).__name__}: {problem}" if isinstance(problem, Exception) else problem
    return ValueError(f"BM25 index in {directory} is corrupt ({detail}); {REBUILD_HINT}")


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save would append ".npy" to a temporary name
        np.save(f, array, allow_pickle=False)
