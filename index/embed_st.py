"""The sentence-transformers embedder: any model name or local path, offline unless the user opts in.

Bulk embedding: `device="cuda"` with `precision="fp16"` on a GPU; `devices=["cuda:0", "cuda:1"]` splits
each batch of passages across one worker process per device (sentence-transformers' multi-process pool).
Neither changes the embedder's name, so an index embedded on a GPU is served with the same model anywhere.

A model in a local folder is named by its path and a fingerprint of its files (`fingerprint`): a model
replaced in place (fine-tuned again, another one copied there) is another model, whose passages are
embedded again rather than read from the cache, and an index built with the old one is rebuilt, not
searched with vectors of two models. A model named as on the hub is named as given (its files are the
revision the hub cache holds).
"""

from __future__ import annotations

import atexit
import hashlib
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embedder import BATCH_SIZE, as_text_list

FINGERPRINT_BYTES = 1 << 20  # read from each end of each file of a model folder (`fingerprint`)
# Prompt keys sentence-transformers models use for documents, in the order encode_document tries them.
_DOCUMENT_PROMPTS = ("document", "passage", "corpus")


class SentenceTransformerEmbedder:
    """A SentenceTransformer model; uses the model's own query/document prompts when it defines them."""

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        batch_size: int = BATCH_SIZE,
        precision: str = "fp32",
        devices: str | Sequence[str] = (),
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.devices = parse_devices(devices)
        if len(self.devices) == 1:  # one device listed is simply the device to use
            device, self.devices = self.devices[0], ()
        _check_precision(precision, [device, *self.devices])
        local = _local_dir(model)
        # We never reach a model hub unless the user opted in with HF_HUB_OFFLINE=0. The env var covers a
        # first import of huggingface_hub; local_files_only covers one that was imported before us.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        offline = os.environ["HF_HUB_OFFLINE"].strip().lower() in ("1", "on", "yes", "true")
        import torch
        from sentence_transformers import SentenceTransformer

        for d in dict.fromkeys([device, *self.devices]):
            _check_device(torch, d)
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
        if precision == "fp16":
            self._model.half()
        # Device and precision stay out of the name: the vectors are the same model's, so an index built
        # on a GPU in fp16 is served with fp32 on a CPU (MiniLM's fp16 and fp32 vectors of a text differ
        # by about 1e-3 in cosine).
        self.name = (
            f"sentence-transformers/{local}@{fingerprint(local)}"
            if local
            else f"sentence-transformers/{model}"
        )
        self.dim = _dimension(self._model)
        self.batch_size = batch_size
        self.precision = precision
        self._pool: dict | None = None

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries with the model's "query" prompt, if it has one: (n, dim) float32, normalized."""
        texts = as_text_list(texts)
        if hasattr(self._model, "encode_query"):
            return self._encode(self._model.encode_query, texts)
        return self._encode(self._model.encode, texts, prompt_name=self._prompt(("query",)))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the model's document prompt, if it has one: (n, dim) float32, normalized."""
        texts = as_text_list(texts)
        pooled = {}
        if self.devices and len(texts) >= len(self.devices):
            # One chunk per device, each encoded in one batch: the caller's batch is split evenly.
            chunk = math.ceil(len(texts) / len(self.devices))
            pooled = {"pool": self._start_pool(), "chunk_size": chunk, "batch_size": chunk}
        if hasattr(self._model, "encode_document"):
            return self._encode(self._model.encode_document, texts, **pooled)
        return self._encode(self._model.encode, texts, prompt_name=self._prompt(_DOCUMENT_PROMPTS), **pooled)

    def _start_pool(self) -> dict:
        if self._pool is None:
            # Workers get a copy of the model, and the model itself is moved to the CPU (queries and
            # small batches then run there): that is how sentence-transformers shares it with them.
            self._pool = self._model.start_multi_process_pool(list(self.devices))
            atexit.register(self.close)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes of `devices`, if any were started (also done at exit)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            self._model.stop_multi_process_pool(pool)
            atexit.unregister(self.close)

    def _prompt(self, keys: tuple[str, ...]) -> str | None:
        # Only for sentence-transformers < 5, which has no encode_query / encode_document.
        prompts = getattr(self._model, "prompts", None) or {}
        return next((k for k in keys if k in prompts), None)

    def _encode(self, encode, texts: list[str], **kwargs) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        kwargs.setdefault("batch_size", self.batch_size)
        vectors = encode(
            texts,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
            **kwargs,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def fingerprint(folder: Path) -> str:
    """A short hash of a model folder's files: each one's path, size, first and last FINGERPRINT_BYTES
    (hidden files and folders left out). Another model's weights, or the same model trained again,
    differ there; reading a few MiB per file, not the whole weights, keeps loading fast."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in name.split("/")):  # .cache, .git: not the model
            continue
        size = path.stat().st_size
        digest.update(f"{name}\0{size}\0".encode())
        with path.open("rb") as f:
            digest.update(f.read(FINGERPRINT_BYTES))
            if size > 2 * FINGERPRINT_BYTES:
                f.seek(-FINGERPRINT_BYTES, os.SEEK_END)
                digest.update(f.read(FINGERPRINT_BYTES))
    return digest.hexdigest()[:12]


def _local_dir(model: str) -> Path | None:
    """The absolute path of `model` if it names a local directory; None if it is a hub-style name."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    # Something written as a path that does not exist would otherwise be sent to the hub as a repo id.
    if model.startswith(("/", ".", "~")) or model.count("/") > 1:
        raise ValueError(f"model {model!r} not found locally; pass a local path or pre-download it")
    return None


def parse_devices(devices: str | Sequence[str]) -> tuple[str, ...]:
    """Devices from "cuda:0,cuda:1" (or a list); empty when none are given."""
    items = devices.split(",") if isinstance(devices, str) else list(devices)
    return tuple(d.strip() for d in items if d.strip())


def _check_precision(precision: str, devices: Sequence[str]) -> None:
    if precision not in ("fp32", "fp16"):
        raise ValueError(f"precision {precision!r} is not one of: fp32, fp16")
    if precision == "fp16":
        cpu = [d for d in devices if not d.startswith("cuda")]
        if cpu:
            raise ValueError(
                f"precision fp16 needs CUDA devices, but {cpu[0]!r} is not one; "
                "use --precision fp32, or --device cuda (and CUDA devices in --devices)"
            )


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
