"""Dense inner-product indexes over L2-normalized vectors: exact NumPy, flat, HNSW and IVF FAISS.

"auto" is exact (flat) below APPROXIMATE_THRESHOLD vectors and IVF from there. Measured on 1M
synthetic 384-d passages on 2 cores (bench/scale.py, docs/BENCHMARKS.md): IVF4096,Flat with nprobe 96
reaches recall@10 0.98 of exact search at ~4 ms a query and builds in under 2 minutes; HNSW32 needs
efSearch 384-512 for that recall (~3 ms a query), but takes over 9 minutes to build and more memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import faiss
import numpy as np

from corpus.atomic import replace_atomic
from index.topk import top_k

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
# Exact search up to here: IndexFlatIP takes ~14 ms a query at 100k vectors, ~130 ms at 1M.
APPROXIMATE_THRESHOLD = 200_000
APPROXIMATE = "ivf"  # what "auto" builds from the threshold up
# Filtered HNSW or IVF over this few allowed vectors is scored exactly: cheaper than walking a graph
# or lists whose entries are mostly filtered out, and it never misses.
HNSW_EXACT_BELOW = 2_048
IVF_NPROBE = 96  # lists scanned per query (unfiltered); recall@10 0.98 at 1M with 4,096 lists
IVF_TRAIN_PER_LIST = 64  # k-means training sample: this many vectors per list (faiss warns below 39)
IVF_TRAIN_ITERATIONS = 10
IVF_SEED = 1234
NORM_TOLERANCE = 1e-3
KINDS = ("numpy", "flat", "hnsw", "ivf")
REBUILD_HINT = "rebuild with `reform-search index --rebuild`"


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


class ExactNumpyIndex:
    """Brute-force reference: scores every vector, so it is exact and needs no FAISS."""

    kind = "numpy"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = _check_vectors(vectors)
        self.dim = self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.vectors)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (indices, inner products), best first, ties to the lower index."""
        q, _, k = _prepare(query, k, allowed, self.dim, len(self))
        if k == 0:
            return _empty()
        # einsum scores each row with the same loop; BLAS matmul can round identical rows
        # differently, which would break exact ties between duplicate passages.
        scores = np.einsum("ij,j->i", self.vectors, q)
        ids = np.arange(len(self)) if allowed is None else np.flatnonzero(allowed)
        return top_k(ids, scores[ids], k)

    def save(self, path: Path) -> None:
        """Write the vectors as one .npy file, atomically."""

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.save(f, self.vectors, allow_pickle=False)

        _save(Path(path), write)

    def params(self) -> dict:
        """Settings to record in the manifest."""
        return {"kind": self.kind, "dim": self.dim, "metric": "inner_product"}


class _FaissIndex:
    """What the FAISS-backed indexes share: the wrapped index, its size, atomic save, manifest basics."""

    kind = ""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index
        self.dim = index.d

    def __len__(self) -> int:
        return self.index.ntotal

    def save(self, path: Path) -> None:
        """Write the FAISS index (with its search settings) atomically."""
        _save(Path(path), lambda tmp: faiss.write_index(self.index, str(tmp)))

    def params(self) -> dict:
        """Settings to record in the manifest."""
        return {"kind": self.kind, "dim": self.dim, "metric": "inner_product"}


class FlatFaissIndex(_FaissIndex):
    """Exact search with faiss.IndexFlatIP; same results as ExactNumpyIndex, faster."""

    kind = "flat"

    @classmethod
    def build(cls, vectors: np.ndarray) -> FlatFaissIndex:
        """Index validated, normalized vectors."""
        vectors = _check_vectors(vectors)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (indices, inner products), best first, ties to the lower index."""
        q, n_allowed, k = _prepare(query, k, allowed, self.dim, len(self))
        if k == 0:
            return _empty()
        return _flat_search(self.index, q, k, n_allowed, _selector_params(allowed, faiss.SearchParameters))


class _ApproximateIndex(_FaissIndex):
    """Approximate search that never comes up short: a filter leaving few vectors, or a search that
    reached fewer than k of them, is answered exactly instead."""

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k (indices, inner products), best first; always min(k, allowed) hits."""
        q, n_allowed, k = _prepare(query, k, allowed, self.dim, len(self))
        if k == 0:
            return _empty()
        if allowed is not None and n_allowed <= HNSW_EXACT_BELOW:
            return self._exact(q, k, n_allowed, allowed)
        scores, ids = _faiss_search(self.index, q, k, self._search_params(allowed, n_allowed, k))
        if ids[0, -1] < 0:
            return self._exact(q, k, n_allowed, allowed)
        return top_k(ids[0], scores[0], k)

    def _search_params(self, allowed: np.ndarray | None, n_allowed: int, k: int) -> faiss.SearchParameters:
        raise NotImplementedError

    def _exact(
        self, q: np.ndarray, k: int, n_allowed: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class HNSWFaissIndex(_ApproximateIndex):
    """Approximate search with faiss.IndexHNSWFlat; falls back to exact search when a filter starves it."""

    kind = "hnsw"

    def __init__(self, index: faiss.IndexHNSWFlat) -> None:
        super().__init__(index)
        # The graph's vector storage is a flat index: exact filtered search comes for free.
        self.storage = faiss.downcast_index(index.storage)

    @classmethod
    def build(cls, vectors: np.ndarray) -> HNSWFaissIndex:
        """Index validated, normalized vectors with M, efConstruction and efSearch from this module."""
        vectors = _check_vectors(vectors)
        index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        index.add(vectors)
        return cls(index)

    def _search_params(self, allowed: np.ndarray | None, n_allowed: int, k: int) -> faiss.SearchParameters:
        params = _selector_params(allowed, faiss.SearchParametersHNSW) or faiss.SearchParametersHNSW()
        params.efSearch = max(self.index.hnsw.efSearch, k)  # a shorter walk could not return k
        return params

    def _exact(
        self, q: np.ndarray, k: int, n_allowed: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        params = _selector_params(allowed, faiss.SearchParameters)
        return _flat_search(self.storage, q, k, n_allowed, params)

    def params(self) -> dict:
        """Settings to record in the manifest."""
        hnsw = self.index.hnsw
        return {
            **super().params(),
            "M": int(hnsw.nb_neighbors(1)),
            "efConstruction": int(hnsw.efConstruction),
            "efSearch": int(hnsw.efSearch),
        }


class IVFFaissIndex(_ApproximateIndex):
    """Approximate search with faiss.IndexIVFFlat: the query's nearest `nprobe` of `nlist` k-means lists.

    Vectors are stored uncompressed (as in flat), so a search over every list is exact: that is the
    fallback when a filter leaves too few allowed vectors in the probed lists.
    """

    kind = "ivf"

    @classmethod
    def build(cls, vectors: np.ndarray, nlist: int | None = None, nprobe: int = IVF_NPROBE) -> IVFFaissIndex:
        """Train `nlist` lists (default: ivf_lists(n)) on a fixed-seed sample, then add every vector."""
        vectors = _check_vectors(vectors)
        n, dim = vectors.shape
        nlist = nlist or ivf_lists(n)
        quantizer = faiss.IndexFlatIP(dim)
        if n == 0:
            # Nothing to train on: one arbitrary list keeps the index valid and empty.
            quantizer.add(np.eye(1, dim, dtype=np.float32))
            nlist = 1
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        if not index.is_trained:
            index.cp.niter = IVF_TRAIN_ITERATIONS
            index.cp.seed = IVF_SEED
            index.cp.max_points_per_centroid = IVF_TRAIN_PER_LIST
            index.cp.spherical = True  # unit centroids: lists by cosine, as the vectors are searched
            rng = np.random.default_rng(IVF_SEED)
            size = min(n, IVF_TRAIN_PER_LIST * nlist)
            sample = vectors if size == n else vectors[np.sort(rng.choice(n, size, replace=False))]
            index.train(sample)
        index.add(vectors)
        index.nprobe = min(nprobe, nlist)
        return cls(index)

    def _search_params(self, allowed: np.ndarray | None, n_allowed: int, k: int) -> faiss.SearchParameters:
        params = _selector_params(allowed, faiss.SearchParametersIVF) or faiss.SearchParametersIVF()
        # A filter keeping a fraction f of the vectors keeps about f of each list: probe 1/f times as
        # many lists to see as many allowed candidates as an unfiltered search does.
        params.nprobe = min(self.index.nlist, math.ceil(self.index.nprobe * len(self) / n_allowed))
        return params

    def _exact(
        self, q: np.ndarray, k: int, n_allowed: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        params = _selector_params(allowed, faiss.SearchParametersIVF) or faiss.SearchParametersIVF()
        params.nprobe = self.index.nlist
        return _flat_search(self.index, q, k, n_allowed, params)

    def params(self) -> dict:
        """Settings to record in the manifest."""
        return {
            **super().params(),
            "nlist": int(self.index.nlist),
            "nprobe": int(self.index.nprobe),
        }


def ivf_lists(n: int) -> int:
    """Lists for n vectors: the power of two nearest 4·sqrt(n) (4,096 at 1M), at most n / 39 so that
    k-means has the 39 points per centroid faiss asks for.
    """
    if n < 78:
        return 1
    lists = 2 ** round(math.log2(4 * math.sqrt(n)))
    return max(1, min(lists, n // 39))


def build_dense_index(
    vectors: np.ndarray,
    kind: str = "auto",
    threshold: int = APPROXIMATE_THRESHOLD,
    approximate: str = APPROXIMATE,
) -> DenseIndex:
    """Build the index `kind` names; "auto" is flat below `threshold` vectors, `approximate` from there."""
    if kind not in ("auto", *KINDS):
        raise ValueError(f"dense index kind {kind!r} is unknown; choose one of auto, {', '.join(KINDS)}")
    vectors = _check_vectors(vectors)
    if kind == "auto":
        kind = "flat" if len(vectors) < threshold else approximate
    if kind == "numpy":
        return ExactNumpyIndex(vectors)
    if kind == "flat":
        return FlatFaissIndex.build(vectors)
    if kind == "ivf":
        return IVFFaissIndex.build(vectors)
    return HNSWFaissIndex.build(vectors)


def load_dense_index(path: Path, kind: str, dim: int) -> DenseIndex:
    """Map an index written by `save` (read-only), checking it is the `kind` and `dim` the manifest promises.

    Memory-mapped: opening a 1M-vector index is instant and its pages live in the page cache.
    """
    path = Path(path)
    if kind not in KINDS:
        raise ValueError(f"dense index kind {kind!r} is unknown; choose one of {', '.join(KINDS)}")
    if not path.is_file():
        raise ValueError(f"dense index file {path} is missing; {REBUILD_HINT}")
    corrupt = f"dense index file {path} is corrupt; {REBUILD_HINT}"
    if kind == "numpy":
        try:
            vectors = np.load(path, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError, EOFError) as error:
            raise ValueError(corrupt) from error
        if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or vectors.dtype != np.float32:
            raise ValueError(corrupt)
        found_dim = vectors.shape[1]
    else:
        try:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as error:
            raise ValueError(corrupt) from error
        found_kind = _faiss_kind(index)
        if found_kind != kind:
            raise ValueError(
                f"dense index file {path} holds a {found_kind} index, not {kind}; {REBUILD_HINT}"
            )
        found_dim = index.d
    if found_dim != dim:
        raise ValueError(f"dense index file {path} has dimension {found_dim}, expected {dim}; {REBUILD_HINT}")
    if kind == "numpy":
        return ExactNumpyIndex(vectors.view(np.ndarray))
    return {"flat": FlatFaissIndex, "hnsw": HNSWFaissIndex, "ivf": IVFFaissIndex}[kind](index)


def _faiss_kind(index: faiss.Index) -> str:
    """Which of our kinds a loaded FAISS index is, or a description of what it is instead."""
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        return f"non-inner-product {type(index).__name__}"
    if isinstance(index, faiss.IndexHNSWFlat):
        return "hnsw"
    if isinstance(index, faiss.IndexIVFFlat):
        return "ivf"
    if isinstance(index, faiss.IndexFlat):
        return "flat"
    return type(index).__name__


def _check_vectors(vectors: np.ndarray) -> np.ndarray:
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


def _prepare(
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
    if allowed is None:
        return q, n, min(k, n)
    if not isinstance(allowed, np.ndarray) or allowed.dtype != np.bool_ or allowed.shape != (n,):
        raise ValueError(
            f"allowed must be a bool array of shape ({n},), got "
            f"{getattr(allowed, 'dtype', type(allowed).__name__)} {getattr(allowed, 'shape', '')}"
        )
    n_allowed = int(allowed.sum())
    return q, n_allowed, min(k, n_allowed)


def _selector_params(allowed: np.ndarray | None, params_class: type) -> faiss.SearchParameters | None:
    """FAISS search parameters restricting results to `allowed`, or None when unrestricted."""
    if allowed is None:
        return None
    # IDSelectorBitmap tests bit (id & 7) of byte id >> 3, i.e. little-endian bit order within a byte;
    # the wrapper keeps a reference to the packed array alive.
    return params_class(sel=faiss.IDSelectorBitmap(np.packbits(allowed, bitorder="little")))


def _flat_search(
    index: faiss.Index, q: np.ndarray, k: int, n_allowed: int, params: faiss.SearchParameters | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact FAISS top-k with ties broken by lower index, which FAISS itself does not guarantee."""
    fetch = min(k + 1, n_allowed)
    while True:
        scores, ids = _faiss_search(index, q, fetch, params)
        scores, ids = scores[0], ids[0]
        # FAISS picks arbitrarily among vectors tied at the cut-off, so fetch past the k-th score
        # until something strictly worse shows up: then every vector tied with it is in hand.
        if fetch == n_allowed or scores[-1] < scores[k - 1]:
            return top_k(ids, scores, k)
        fetch = min(2 * fetch, n_allowed)


def _faiss_search(
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


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)


def _save(path: Path, write: Callable[[Path], object]) -> None:
    if not path.parent.is_dir():
        raise ValueError(f"cannot save dense index: {path.parent} is not a directory; create it first")
    replace_atomic(path, write)
