"""Test doubles: a deterministic, hash-based embedder that needs no model; and what a refusal prints."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np


class FakeEmbedder:
    """Same text, same unit vector, in any process; `calls` counts the texts embedded so far."""

    def __init__(self, dim: int = 32, fail_on_call: int | None = None) -> None:
        self.dim = dim
        self.name = f"fake/{dim}"
        self.calls = 0
        self.batches = 0
        # When set, the n-th embed_passages call (1-based) raises, to simulate an interrupted build.
        self.fail_on_call = fail_on_call

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for queries (distinct from the passage vector of the same text)."""
        return self._embed(texts, "query")

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for passages."""
        self.batches += 1
        if self.fail_on_call is not None and self.batches == self.fail_on_call:
            raise RuntimeError(f"fake embedder failing on batch {self.batches} as asked")
        return self._embed(texts, "passage")

    def _embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        texts = list(texts)
        self.calls += len(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(f"{kind}\x1f{text}".encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


def json_refusal(out: str, err: str) -> dict:
    """What a command refused with `--json` printed on stdout: one JSON object holding the message of its
    one line on stderr (reform_search/output.py `refuse`); asserts that it is nothing else."""
    assert out.count("\n") == 1, out
    refusal = json.loads(out)
    assert set(refusal) == {"error", "exit"} and refusal["error"] in err, (refusal, err)
    return refusal
