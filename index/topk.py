"""What every ranker shares: the check of a filter mask, and the k best of a set of scored ids with a
deterministic tie-break."""

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


def allowed_count(allowed: np.ndarray | None, n: int, hint: str = "") -> int:
    """How many of n items a filter mask lets through (None: all); ValueError, with `hint` on how to make
    one, when it is not a bool array of shape (n,)."""
    if allowed is None:
        return n
    if not isinstance(allowed, np.ndarray) or allowed.dtype != np.bool_ or allowed.shape != (n,):
        raise ValueError(
            f"allowed must be a bool array of shape ({n},), got "
            f"{getattr(allowed, 'dtype', type(allowed).__name__)} {getattr(allowed, 'shape', '')}"
            + (f"; {hint}" if hint else "")
        )
    return int(allowed.sum())
