"""Okapi BM25 (Lucene variant) over pre-tokenized documents, with scores precomputed per term."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from corpus.atomic import replace_atomic
from index.topk import top_k

K1 = 1.2
B = 0.75
FORMAT_VERSION = 1
META_FILE = "bm25.json"
ARRAY_FILES = {
    "indptr": "bm25_indptr.npy",
    "doc_ids": "bm25_doc_ids.npy",
    "weights": "bm25_weights.npy",
}
REBUILD_HINT = "rebuild with `reform-search index --rebuild`"


class BM25:
    """A BM25 index stored as term postings: `indptr[t]:indptr[t+1]` slices `doc_ids` and `weights`."""

    def __init__(
        self,
        vocab: Sequence[str],
        indptr: np.ndarray,
        doc_ids: np.ndarray,
        weights: np.ndarray,
        n_docs: int,
        avgdl: float,
        k1: float = K1,
        b: float = B,
    ) -> None:
        self.vocab = {term: column for column, term in enumerate(vocab)}
        self.indptr = indptr
        self.doc_ids = doc_ids
        self.weights = weights
        self.n_docs = n_docs
        self.avgdl = avgdl
        self.k1 = k1
        self.b = b

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]], k1: float = K1, b: float = B) -> BM25:
        """Index token lists; the whole BM25 formula is evaluated here so queries only add weights."""
        if not k1 >= 0:
            raise ValueError(f"k1 of {k1} is invalid; use a value >= 0 (default {K1})")
        if not 0 <= b <= 1:
            raise ValueError(f"b of {b} is invalid; use a value between 0 and 1 (default {B})")
        vocab: dict[str, int] = {}
        terms: list[int] = []
        docs_of: list[int] = []
        tfs: list[int] = []
        lengths = np.zeros(len(docs), dtype=np.int64)
        for d, doc in enumerate(docs):
            if isinstance(doc, str):
                raise ValueError(f"document {d} is a str, not a token list; tokenize it before indexing")
            counts = Counter(doc)
            lengths[d] = sum(counts.values())
            terms.extend(vocab.setdefault(term, len(vocab)) for term in counts)
            docs_of.extend([d] * len(counts))
            tfs.extend(counts.values())

        n_docs = len(docs)
        avgdl = float(lengths.mean()) if n_docs else 0.0
        term_arr = np.asarray(terms, dtype=np.int64)
        # Stable sort keeps each term's postings in ascending doc order, as collected.
        order = np.argsort(term_arr, kind="stable")
        doc_ids = np.asarray(docs_of, dtype=np.int32)[order]
        tf = np.asarray(tfs, dtype=np.float64)[order]
        df = np.bincount(term_arr, minlength=len(vocab))
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])

        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        posting_idf = np.repeat(idf, df)
        # avgdl is 0 only when every document is empty, and then there are no postings to score.
        norm = 1 - b + b * lengths[doc_ids] / avgdl if len(doc_ids) else np.zeros(0)
        weights = (posting_idf * tf * (k1 + 1) / (tf + k1 * norm)).astype(np.float32)
        return cls(list(vocab), indptr, doc_ids, weights, n_docs, avgdl, k1, b)

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every document; a term repeated in the query counts once per occurrence."""
        if isinstance(query, str):
            raise ValueError("query is a str, not a token list; tokenize the query first")
        scores = np.zeros(self.n_docs, dtype=np.float32)
        for term, times in Counter(query).items():
            column = self.vocab.get(term)
            if column is None:
                continue
            start, end = self.indptr[column], self.indptr[column + 1]
            # A term lists each document once, so fancy-index += is safe (no np.add.at needed).
            scores[self.doc_ids[start:end]] += self.weights[start:end] * np.float32(times)
        return scores

    def coverage(self, query: Sequence[str]) -> np.ndarray:
        """Share of the distinct query terms that each document contains (0..1), independent of idf."""
        distinct = set(query)
        found = np.zeros(self.n_docs, dtype=np.float32)
        for term in distinct:
            column = self.vocab.get(term)
            if column is not None:
                found[self.doc_ids[self.indptr[column] : self.indptr[column + 1]]] += 1
        return found / max(len(distinct), 1)

    def search(
        self, query: Sequence[str], k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (doc indices, scores) with score > 0, best first, ties to the lower index."""
        if k <= 0:
            raise ValueError(f"k of {k} is invalid; ask for at least 1 result")
        n = self.n_docs
        if allowed is not None and (
            not isinstance(allowed, np.ndarray) or allowed.dtype != np.bool_ or allowed.shape != (n,)
        ):
            raise ValueError(
                f"allowed must be a bool array of shape ({self.n_docs},), got "
                f"{getattr(allowed, 'dtype', type(allowed).__name__)} {getattr(allowed, 'shape', '')}"
            )
        scores = self.scores(query)
        hit = scores > 0
        if allowed is not None:
            hit &= allowed
        ids = np.flatnonzero(hit)
        return top_k(ids, scores[ids], k)

    def save(self, directory: Path) -> list[str]:
        """Write bm25.json and three .npy files into `directory`; return the file names written."""
        directory = Path(directory)
        if not directory.is_dir():
            raise ValueError(f"cannot save BM25 index: {directory} is not a directory; create it first")
        meta = {
            "format_version": FORMAT_VERSION,
            "k1": self.k1,
            "b": self.b,
            "n_docs": self.n_docs,
            "avgdl": self.avgdl,
            "vocab": list(self.vocab),
        }
        for name, array in ((ARRAY_FILES[key], getattr(self, key)) for key in ARRAY_FILES):
            replace_atomic(directory / name, lambda tmp, a=array: _save_npy(tmp, a))
        data = json.dumps(meta, ensure_ascii=False).encode("utf-8")
        replace_atomic(directory / META_FILE, lambda tmp: tmp.write_bytes(data))
        return [META_FILE, *ARRAY_FILES.values()]

    @classmethod
    def load(cls, directory: Path) -> BM25:
        """Read an index written by `save`, refusing missing, corrupt or inconsistent files."""
        directory = Path(directory)
        for name in (META_FILE, *ARRAY_FILES.values()):
            if not (directory / name).is_file():
                raise ValueError(f"BM25 index file {directory / name} is missing; {REBUILD_HINT}")
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            version = meta["format_version"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise _corrupt(directory, error) from error
        if version != FORMAT_VERSION:
            raise ValueError(
                f"BM25 index in {directory} has format version {version!r}, "
                f"this program reads {FORMAT_VERSION}; {REBUILD_HINT}"
            )
        try:
            arrays = {key: np.load(directory / name, allow_pickle=False) for key, name in ARRAY_FILES.items()}
            index = cls(
                list(meta["vocab"]),
                arrays["indptr"],
                arrays["doc_ids"],
                arrays["weights"],
                int(meta["n_docs"]),
                float(meta["avgdl"]),
                float(meta["k1"]),
                float(meta["b"]),
            )
        except (OSError, ValueError, EOFError, KeyError, TypeError) as error:
            raise _corrupt(directory, error) from error
        problem = index._inconsistency()
        if problem:
            raise _corrupt(directory, problem)
        return index

    def _inconsistency(self) -> str:
        """Describe the first way the arrays disagree with each other, or return ''."""
        indptr, doc_ids, weights = self.indptr, self.doc_ids, self.weights
        if indptr.dtype != np.int64 or doc_ids.dtype != np.int32 or weights.dtype != np.float32:
            return f"unexpected dtypes {indptr.dtype}, {doc_ids.dtype}, {weights.dtype}"
        if indptr.shape != (len(self.vocab) + 1,) or doc_ids.ndim != 1 or weights.shape != doc_ids.shape:
            return (
                f"array shapes {indptr.shape}, {doc_ids.shape}, {weights.shape} disagree with the vocabulary"
            )
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
