"""Exact search with faiss.IndexFlatIP (the default below APPROXIMATE_THRESHOLD vectors)."""

from __future__ import annotations

import faiss
import numpy as np

from index.dense.base import FaissIndex, check_vectors, flat_search, selector_params


class FlatFaissIndex(FaissIndex):
    """Exact search with faiss.IndexFlatIP; same results as ExactNumpyIndex, faster."""

    kind = "flat"

    @classmethod
    def build(cls, vectors: np.ndarray) -> FlatFaissIndex:
        """Index validated, normalized vectors."""
        vectors = check_vectors(vectors)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    def _top(
        self, q: np.ndarray, k: int, n_allowed: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        return flat_search(self.index, q, k, n_allowed, selector_params(allowed, faiss.SearchParameters))
