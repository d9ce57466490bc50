"""Brute-force exact search in NumPy: the reference the FAISS indexes are tested against."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.dense.base import Searchable, check_vectors, save_file
from index.topk import top_k


class ExactNumpyIndex(Searchable):
    """Brute-force reference: scores every vector, so it is exact and needs no FAISS."""

    kind = "numpy"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = check_vectors(vectors)
        self.dim = self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.vectors)

    def _top(
        self, q: np.ndarray, k: int, n_allowed: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
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

        save_file(Path(path), write)

    def params(self) -> dict:
        """Settings to record in the manifest."""
        return {"kind": self.kind, "dim": self.dim, "metric": "inner_product"}
