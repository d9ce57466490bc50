"""What every dense index shares: the interface, input checks, FAISS search with exact ties on one
thread, atomic saving, and the base of the FAISS-backed and the approximate indexes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import faiss
import numpy as np

from corpus.atomic import replace_atomic
from index.topk import allowed_count, top_k

NORM_TOLERANCE = 1e-3
# Filtered HNSW or IVF over this few allowed vectors is scored exactly: cheaper than walking a graph
# or lists whose entries are mostly filtered out, and it never misses.
HNSW_EXACT_BELOW = 2_048


@runtime_checkable
class DenseIndex(Protocol):
    """What search needs from a dense index: top-k by inner product, optionally restricted by a mask."""

    kind: str
    dim: int

    def __len__(self) -> int: ...

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, path: Path) -> None: ...

    def params(self) -> dict: ...


class Searchable:
    """The search every index answers alike: the call checked (prepare), nothing asked of an empty
    selection, then the backend's own top-k over what is allowed (`_top`)."""

    kind = ""
    dim = 0

    def __len__(self) -> int:
        raise NotImplementedError

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (indices, inner products), best first, ties to the lower index (approximate
        indexes: always min(k, allowed) hits)."""
        q, n_allowed, k = prepare(query, k, allowed, self.dim, len(self))
        if k == 0:
            return empty()
        return self._top(q, k, n_allowed, allowed)

    def _top(
        self, q: np.ndarray, k: int, n_allowed: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class FaissIndex(Searchable):
    """What the FAISS-backed indexes share: the wrapped index, its size, atomic save, manifest basics."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index
        self.dim = index.d

    def __len__(self) -> int:
        return self.index.ntotal

    def save(self, path: Path) -> None:
        """Write the FAISS index (with its search settings) atomically."""
        save_file(Path(path), lambda tmp: faiss.write_index(self.index, str(tmp)))

    def params(self) -> dict:
        """Settings to record in the manifest."""
        return {"kind": self.kind, "dim": self.dim, "metric": "inner_product"}


class ApproximateIndex(FaissIndex):
    """Approximate search that never comes up short: a filter leaving few vectors, or a search that
    reached fewer than k of them, is answered exactly instead."""

    def _top(
        self, q: np.ndarray, k: int, n_allowed: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if allowed is not None and n_allowed <= HNSW_EXACT_BELOW:
            return self._exact(q, k, n_allowed, allowed)
        scores, ids = faiss_search(self.index, q, k, self._search_params(allowed, n_allowed, k))
        if ids[0, -1] < 0:
            return self._exact(q, k, n_allowed, allowed)
        return top_k(ids[0], scores[0], k)

    def _search_params(self, allowed: np.ndarray | None, n_allowed: int, k: int) -> faiss.SearchParameters:
        raise NotImplementedError

    def _exact(
        self, q: np.ndarray, k: int, n_allowed: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


def check_vectors(vectors: np.ndarray) -> np.ndarray:
    """Return `vectors` as C-contiguous float32 (n, dim), or raise naming what is wrong."""
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or vectors.shape[1] == 0:
        shape = getattr(vectors, "shape", type(vectors).__name__)
        raise ValueError(f"vectors must be a 2-D array (n, dim) with dim >= 1, got shape {shape}")
    if not np.issubdtype(vectors.dtype, np.floating):
        raise ValueError(f"vectors must be floating point (float32), got dtype {vectors.dtype}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if not np.isfinite(vectors).all():
        row = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
        raise ValueError(f"vector {row} contains NaN or infinity; check the embedder output")
    norms = np.linalg.norm(vectors, axis=1)
    off = np.flatnonzero(np.abs(norms - 1) > NORM_TOLERANCE)
    if len(off):
        raise ValueError(
            f"vector {off[0]} has L2 norm {norms[off[0]]:.6g}, not 1 "
            f"({len(off)} of {len(vectors)} vectors are not normalized); "
            "normalize with vectors / np.linalg.norm(vectors, axis=1, keepdims=True)"
        )
    return vectors


def prepare(
    query: np.ndarray, k: int, allowed: np.ndarray | None, dim: int, n: int
) -> tuple[np.ndarray, int, int]:
    """Validate a search call; return (float32 query, number allowed, number of hits to return)."""
    if k <= 0:
        raise ValueError(f"k of {k} is invalid; ask for at least 1 result")
    if not isinstance(query, np.ndarray) or query.shape != (dim,):
        shape = getattr(query, "shape", type(query).__name__)
        raise ValueError(f"query must have shape ({dim},), got {shape}")
    if not np.issubdtype(query.dtype, np.floating):
        raise ValueError(f"query must be floating point (float32), got dtype {query.dtype}")
    q = query.astype(np.float32)
    norm = float(np.linalg.norm(q))
    if not abs(norm - 1) <= NORM_TOLERANCE:
        raise ValueError(f"query has L2 norm {norm:.6g}, not 1; normalize it with q / np.linalg.norm(q)")
    n_allowed = allowed_count(allowed, n)
    return q, n_allowed, min(k, n_allowed)


def selector_params(allowed: np.ndarray | None, params_class: type) -> faiss.SearchParameters | None:
    """FAISS search parameters restricting results to `allowed`, or None when unrestricted."""
    if allowed is None:
        return None
    # IDSelectorBitmap tests bit (id & 7) of byte id >> 3, i.e. little-endian bit order within a byte;
    # the wrapper keeps a reference to the packed array alive.
    return params_class(sel=faiss.IDSelectorBitmap(np.packbits(allowed, bitorder="little")))


def flat_search(
    index: faiss.Index, q: np.ndarray, k: int, n_allowed: int, params: faiss.SearchParameters | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact FAISS top-k with ties broken by lower index, which FAISS itself does not guarantee."""
    fetch = min(k + 1, n_allowed)
    while True:
        scores, ids = faiss_search(index, q, fetch, params)
        scores, ids = scores[0], ids[0]
        # FAISS picks arbitrarily among vectors tied at the cut-off, so fetch past the k-th score
        # until something strictly worse shows up: then every vector tied with it is in hand.
        if fetch == n_allowed or scores[-1] < scores[k - 1]:
            return top_k(ids, scores, k)
        fetch = min(2 * fetch, n_allowed)


def faiss_search(
    index: faiss.Index, q: np.ndarray, k: int, params: faiss.SearchParameters | None
) -> tuple[np.ndarray, np.ndarray]:
    """One query on one OpenMP thread: measured, two threads made a single query ~3x slower.

    OpenMP's thread count is a per-thread setting, so it is set here, in whichever thread searches
    (a web server's workers included), and restored so that a build in the same thread keeps every core.
    The same thread count also gives the same rounding, hence the same order of near-ties, in every thread.
    """
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(q[None], k, params=params)
    finally:
        faiss.omp_set_num_threads(before)


def empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)


def save_file(path: Path, write: Callable[[Path], object]) -> None:
    if not path.parent.is_dir():
        raise ValueError(f"cannot save dense index: {path.parent} is not a directory; create it first")
    replace_atomic(path, write)
