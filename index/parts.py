"""Part vectors: the sentences of a packed passage, embedded one by one beside the passage itself.

    part_indptr.npy    int64 (n + 1,): passage i's parts are rows indptr[i]:indptr[i + 1]
    part_vectors.npy   float32 (parts, dim), L2-normalized, in passage order

A brochure page's blocks are packed into passages of up to 600 characters (corpus/split_blocks.py):
that keeps a figure with its caption and a page's sentences about one initiative together, but the
passage's one vector is the mean of several topics, and a sentence that answers a question exactly is
diluted by its neighbours. Search reads both: a dense candidate's cosine is raised towards its best
part's (search/fusion.py, `with_parts`). Only passages whose text splits into two or more parts have
any (index/context.py, `part_texts`); table rows, which state one initiative, have none.

Both files are memory-mapped; a search reads the parts of its candidates only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INDPTR = "part_indptr.npy"
VECTORS = "part_vectors.npy"
FILES = (INDPTR, VECTORS)


@dataclass(frozen=True)
class Parts:
    """The part vectors of every passage, by passage (CSR: `indptr` into `vectors`)."""

    indptr: np.ndarray
    vectors: np.ndarray

    @classmethod
    def from_counts(cls, counts: Sequence[int], vectors: np.ndarray) -> Parts:
        """Parts given as `counts[i]` vectors for passage i, all of them in passage order."""
        indptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(np.asarray(counts, dtype=np.int64), out=indptr[1:])
        vectors = np.asarray(vectors, dtype=np.float32)
        if indptr[-1] != len(vectors):
            raise ValueError(f"counts add up to {int(indptr[-1])} parts, but {len(vectors)} vectors came")
        return cls(indptr, vectors)

    @classmethod
    def none(cls, passages: int, dim: int) -> Parts:
        """No passage has parts (an index built from vectors alone, as the scale benchmark's)."""
        return cls(np.zeros(passages + 1, dtype=np.int64), np.zeros((0, dim), dtype=np.float32))

    def __len__(self) -> int:
        """Number of passages (not parts)."""
        return len(self.indptr) - 1

    def best(self, ids: np.ndarray, query: np.ndarray) -> np.ndarray:
        """For each passage in `ids`, the highest inner product of its parts with `query` (−inf: none)."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.full(len(ids), -np.inf, dtype=np.float32)
        if not len(self.vectors) or not len(ids):
            return out
        starts, ends = self.indptr[ids], self.indptr[ids + 1]
        has = np.flatnonzero(ends > starts)
        if not len(has):
            return out
        rows = np.concatenate([np.arange(starts[n], ends[n]) for n in has.tolist()])
        # each row summed on its own in float64, then rounded: a float32 product's last bit had depended
        # on how many rows were multiplied together (BLAS blocks them), so the same passage scored apart
        # in a shallow and a deep search
        vectors = np.asarray(self.vectors[rows], dtype=np.float64)
        scores = (vectors * np.asarray(query, dtype=np.float64)).sum(axis=1).astype(np.float32)
        owner = np.repeat(has, (ends - starts)[has])
        np.maximum.at(out, owner, scores)
        return out

    def save(self, directory: Path) -> list[str]:
        """Write both files into `directory` (a fresh generation); returns their names."""
        for name, array, dtype in ((INDPTR, self.indptr, np.int64), (VECTORS, self.vectors, np.float32)):
            np.save(Path(directory) / name, np.ascontiguousarray(array, dtype=dtype), allow_pickle=False)
        return list(FILES)

    @classmethod
    def load(cls, directory: Path, passages: int, dim: int) -> Parts:
        """Map both files; ValueError when they do not fit `passages` passages of `dim` dimensions."""
        indptr = np.load(Path(directory) / INDPTR, allow_pickle=False, mmap_mode="r")
        vectors = np.load(Path(directory) / VECTORS, allow_pickle=False, mmap_mode="r")
        if indptr.shape != (passages + 1,) or indptr.dtype != np.int64:
            raise ValueError(f"{INDPTR} should hold {passages + 1} int64 offsets")
        if vectors.ndim != 2 or vectors.shape[1] != dim or vectors.dtype != np.float32:
            raise ValueError(f"{VECTORS} should hold float32 vectors of {dim} dimensions")
        if indptr[0] != 0 or indptr[-1] != len(vectors) or (np.diff(indptr) < 0).any():
            raise ValueError(f"{INDPTR} does not count the {len(vectors)} part vectors in order")
        return cls(indptr, vectors)
