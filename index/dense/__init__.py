"""Dense inner-product indexes over L2-normalized vectors: exact NumPy, flat, HNSW and IVF FAISS.

"auto" is exact (flat) below APPROXIMATE_THRESHOLD vectors and IVF from there. Measured on 1M
synthetic 384-d passages on 2 cores (bench/scale.py, docs/BENCHMARKS.md): IVF4096,Flat with nprobe 96
reaches recall@10 0.98 of exact search at ~4 ms a query and builds in under 2 minutes; HNSW32 needs
efSearch 384-512 for that recall (~3 ms a query), but takes over 9 minutes to build and more memory.

Each backend has a room of its own (exact.py, flat.py, hnsw.py, ivf.py), as their shared parts do
(base.py); this module chooses, builds and loads them.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from index.dense.base import HNSW_EXACT_BELOW, NORM_TOLERANCE, DenseIndex, check_vectors
from index.dense.exact import ExactNumpyIndex
from index.dense.flat import FlatFaissIndex
from index.dense.hnsw import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, HNSWFaissIndex
from index.dense.ivf import IVF_NPROBE, IVFFaissIndex, ivf_lists
from index.problems import REBUILD_HINT

__all__ = [
    "APPROXIMATE",
    "APPROXIMATE_THRESHOLD",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_EF_SEARCH",
    "HNSW_EXACT_BELOW",
    "HNSW_M",
    "IVF_NPROBE",
    "KINDS",
    "NORM_TOLERANCE",
    "DenseIndex",
    "ExactNumpyIndex",
    "FlatFaissIndex",
    "HNSWFaissIndex",
    "IVFFaissIndex",
    "build_dense_index",
    "ivf_lists",
    "load_dense_index",
]

# Exact search up to here: IndexFlatIP takes ~14 ms a query at 100k vectors, ~130 ms at 1M.
APPROXIMATE_THRESHOLD = 200_000
APPROXIMATE = "ivf"  # what "auto" builds from the threshold up
KINDS = ("numpy", "flat", "hnsw", "ivf")


def build_dense_index(
    vectors: np.ndarray,
    kind: str = "auto",
    threshold: int = APPROXIMATE_THRESHOLD,
    approximate: str = APPROXIMATE,
) -> DenseIndex:
    """Build the index `kind` names; "auto" is flat below `threshold` vectors, `approximate` from there."""
    if kind not in ("auto", *KINDS):
        raise ValueError(f"dense index kind {kind!r} is unknown; choose one of auto, {', '.join(KINDS)}")
    vectors = check_vectors(vectors)
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
