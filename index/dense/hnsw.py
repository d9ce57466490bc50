"""Approximate search with faiss.IndexHNSWFlat (on request: builds slower than IVF at 1M)."""

from __future__ import annotations

import faiss
import numpy as np

from index.dense.base import ApproximateIndex, check_vectors, flat_search, selector_params

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128


class HNSWFaissIndex(ApproximateIndex):
    """Approximate search with faiss.IndexHNSWFlat; falls back to exact search when a filter starves it."""

    kind = "hnsw"

    def __init__(self, index: faiss.IndexHNSWFlat) -> None:
        super().__init__(index)
        # The graph's vector storage is a flat index: exact filtered search comes for free.
        self.storage = faiss.downcast_index(index.storage)

    @classmethod
    def build(cls, vectors: np.ndarray) -> HNSWFaissIndex:
        """Index validated, normalized vectors with M, efConstruction and efSearch from this module."""
        vectors = check_vectors(vectors)
        index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        index.add(vectors)
        return cls(index)

    def _search_params(self, allowed: np.ndarray | None, n_allowed: int, k: int) -> faiss.SearchParameters:
        params = selector_params(allowed, faiss.SearchParametersHNSW) or faiss.SearchParametersHNSW()
        params.efSearch = max(self.index.hnsw.efSearch, k)  # a shorter walk could not return k
        return params

    def _exact(
        self, q: np.ndarray, k: int, n_allowed: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        params = selector_params(allowed, faiss.SearchParameters)
        return flat_search(self.storage, q, k, n_allowed, params)

    def params(self) -> dict:
        """Settings to record in the manifest."""
        hnsw = self.index.hnsw
        return {
            **super().params(),
            "M": int(hnsw.nb_neighbors(1)),
            "efConstruction": int(hnsw.efConstruction),
            "efSearch": int(hnsw.efSearch),
        }
