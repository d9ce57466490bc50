"""The Embedder interface: what every embedding backend provides, and the check of its input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

BATCH_SIZE = 32  # texts per embedding call while indexing (a setting: batch_size)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors; queries and passages may be embedded differently."""

    name: str  # stable identity: written to the index manifest and part of every cache key
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries: (n, dim) float32, rows L2-normalized."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages to be indexed: (n, dim) float32, rows L2-normalized."""
        ...


def as_text_list(texts: Sequence[str]) -> list[str]:
    """Check that `texts` is a sequence of strings (not one bare string) and return it as a list."""
    # A bare str is itself a Sequence[str]; embedding it would silently give one vector per character.
    if isinstance(texts, str):
        raise ValueError(f"expected a list of texts, got the single string {texts[:40]!r}; wrap it in a list")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise ValueError(f"text {i} is a {type(t).__name__}, not a str: {t!r:.60}")
    return out
