"""Approximate search with faiss.IndexIVFFlat (the default from APPROXIMATE_THRESHOLD vectors)."""

from __future__ import annotations

import math

import faiss
import numpy as np

from index.dense.base import ApproximateIndex, check_vectors, flat_search, selector_params

IVF_NPROBE = 96  # lists scanned per query (unfiltered); recall@10 0.98 at 1M with 4,096 lists
IVF_TRAIN_PER_LIST = 64  # k-means training sample: this many vectors per list (faiss warns below 39)
IVF_TRAIN_ITERATIONS = 10
IVF_SEED = 1234


class IVFFaissIndex(ApproximateIndex):
    """Approximate search with faiss.IndexIVFFlat: the query's nearest `nprobe` of `nlist` k-means lists.

    Vectors are stored uncompressed (as in flat), so a search over every list is exact: that is the
    fallback when a filter leaves too few allowed vectors in the probed lists.
    """

    kind = "ivf"

    @classmethod
    def build(cls, vectors: np.ndarray, nlist: int | None = None, nprobe: int = IVF_NPROBE) -> IVFFaissIndex:
        """Train `nlist` lists (default: ivf_lists(n)) on a fixed-seed sample, then add every vector."""
        vectors = check_vectors(vectors)
        n, dim = vectors.shape
        nlist = nlist or ivf_lists(n)
        quantizer = faiss.IndexFlatIP(dim)
        if n == 0:
            # Nothing to train on: one arbitrary list keeps the index valid and empty.
            quantizer.add(np.eye(1, dim, dtype=np.float32))
            nlist = 1
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        if not index.is_trained:
            index.cp.niter = IVF_TRAIN_ITERATIONS
            index.cp.seed = IVF_SEED
            index.cp.max_points_per_centroid = IVF_TRAIN_PER_LIST
            index.cp.spherical = True  # unit centroids: lists by cosine, as the vectors are searched
            rng = np.random.default_rng(IVF_SEED)
            size = min(n, IVF_TRAIN_PER_LIST * nlist)
            sample = vectors if size == n else vectors[np.sort(rng.choice(n, size, replace=False))]
            index.train(sample)
        index.add(vectors)
        index.nprobe = min(nprobe, nlist)
        return cls(index)

    def _search_params(self, allowed: np.ndarray | None, n_allowed: int, k: int) -> faiss.SearchParameters:
        params = selector_params(allowed, faiss.SearchParametersIVF) or faiss.SearchParametersIVF()
        # A filter keeping a fraction f of the vectors keeps about f of each list: probe 1/f times as
        # many lists to see as many allowed candidates as an unfiltered search does.
        params.nprobe = min(self.index.nlist, math.ceil(self.index.nprobe * len(self) / n_allowed))
        return params

    def _exact(
        self, q: np.ndarray, k: int, n_allowed: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        params = selector_params(allowed, faiss.SearchParametersIVF) or faiss.SearchParametersIVF()
        params.nprobe = self.index.nlist
        return flat_search(self.index, q, k, n_allowed, params)

    def params(self) -> dict:
        """Settings to record in the manifest."""
        return {
            **super().params(),
            "nlist": int(self.index.nlist),
            "nprobe": int(self.index.nprobe),
        }


def ivf_lists(n: int) -> int:
    """Lists for n vectors: the power of two nearest 4·sqrt(n) (4,096 at 1M), at most n / 39 so that
    k-means has the 39 points per centroid faiss asks for.
    """
    if n < 78:
        return 1
    lists = 2 ** round(math.log2(4 * math.sqrt(n)))
    return max(1, min(lists, n // 39))
