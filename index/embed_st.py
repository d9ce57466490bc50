"""The sentence-transformers embedder: any model name or local path, offline unless the user opts in."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embed import as_text_list

# Prompt keys sentence-transformers models use for documents, in the order encode_document tries them.
_DOCUMENT_PROMPTS = ("document", "passage", "corpus")


class SentenceTransformerEmbedder:
    """A SentenceTransformer model; uses the model's own query/document prompts when it defines them."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 32) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        local = _local_dir(model)
        # We never reach a model hub unless the user opted in with HF_HUB_OFFLINE=0. The env var covers a
        # first import of huggingface_hub; local_files_only covers one that was imported before us.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        offline = os.environ["HF_HUB_OFFLINE"].strip().lower() in ("1", "on", "yes", "true")
        import torch
        from sentence_transformers import SentenceTransformer

        _check_device(torch, device)
        try:
            self._model = SentenceTransformer(str(local or model), device=device, local_files_only=offline)
        except (OSError, ValueError) as err:
            if local is not None:
                reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise ValueError(f"model directory {str(local)!r} could not be loaded: {reason}") from None
            if not isinstance(err, OSError):  # found, but broken: its own message says more than ours would
                raise
            hint = " (or set HF_HUB_OFFLINE=0 to allow a download)" if offline else ""
            raise ValueError(
                f"model {model!r} not found locally; pass a local path or pre-download it{hint}"
            ) from None
        self.name = f"sentence-transformers/{local or model}"
        self.dim = _dimension(self._model)
        self.batch_size = batch_size

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries with the model's "query" prompt, if it has one: (n, dim) float32, normalized."""
        texts = as_text_list(texts)
        if hasattr(self._model, "encode_query"):
            return self._encode(self._model.encode_query, texts)
        return self._encode(self._model.encode, texts, prompt_name=self._prompt(("query",)))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the model's document prompt, if it has one: (n, dim) float32, normalized."""
        texts = as_text_list(texts)
        if hasattr(self._model, "encode_document"):
            return self._encode(self._model.encode_document, texts)
        return self._encode(self._model.encode, texts, prompt_name=self._prompt(_DOCUMENT_PROMPTS))

    def _prompt(self, keys: tuple[str, ...]) -> str | None:
        # Only for sentence-transformers < 5, which has no encode_query / encode_document.
        prompts = getattr(self._model, "prompts", None) or {}
        return next((k for k in keys if k in prompts), None)

    def _encode(self, encode, texts: list[str], **kwargs) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
            **kwargs,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def _local_dir(model: str) -> Path | None:
    """The absolute path of `model` if it names a local directory; None if it is a hub-style name."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    # Something written as a path that does not exist would otherwise be sent to the hub as a repo id.
    if model.startswith(("/", ".", "~")) or model.count("/") > 1:
        raise ValueError(f"model {model!r} not found locally; pass a local path or pre-download it")
    return None


def _check_device(torch, device: str) -> None:
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ValueError(f"device {device!r} is not a torch device; use cpu, cuda, cuda:0 or mps") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} is not available (this torch has no usable CUDA); use device 'cpu'"
        )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} is not available on this machine; use device 'cpu'")


def _dimension(model) -> int:
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = get()
    if dim is None:  # some module stacks do not declare it; measure it instead
        dim = model.encode(["dimension probe"], convert_to_numpy=True).shape[1]
    return int(dim)
