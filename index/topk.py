"""The k best of a set of scored ids, with a deterministic tie-break shared by every ranker."""

from __future__ import annotations

import numpy as np


def top_k(ids: np.ndarray, vals: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (ids, vals) by descending value, equal values ordered by ascending id."""
    if len(vals) > k:
        # Keep everything tied with the k-th best value so the id tie-break below sees all of them.
        kth = np.partition(vals, len(vals) - k)[len(vals) - k]
        keep = vals >= kth
        ids, vals = ids[keep], vals[keep]
    order = np.lexsort((ids, -vals))[:k]
    return ids[order].astype(np.int64), vals[order].astype(np.float32)
