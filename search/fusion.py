"""Reciprocal rank fusion: merge several rankings of the same documents into one."""

from __future__ import annotations

import math
from collections.abc import Sequence

RRF_K = 60


def rrf(
    rankings: Sequence[Sequence[int]], k: float = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Fuse rankings by sum of w_i / (k + rank_i), ranks 1-based; (doc, score) best first.

    Ties go to the document with the best single rank, then to the lower doc index.
    """
    if not k > 0:
        raise ValueError(f"RRF k of {k} is invalid; use a positive constant (default {RRF_K})")
    if weights is None:
        weights = [1.0] * len(rankings)
    elif len(weights) != len(rankings):
        raise ValueError(
            f"got {len(weights)} weights for {len(rankings)} rankings; pass one weight per ranking"
        )
    for i, weight in enumerate(weights):
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"weight {i} of {weight} is invalid; weights must be finite and >= 0")

    contributions: dict[int, list[float]] = {}
    best_rank: dict[int, int] = {}
    for i, (ranking, weight) in enumerate(zip(rankings, weights, strict=True)):
        seen: set[int] = set()
        for rank, doc in enumerate(ranking, start=1):
            doc = int(doc)
            if doc in seen:
                raise ValueError(f"ranking {i} lists doc {doc} twice; list each document at most once")
            seen.add(doc)
            contributions.setdefault(doc, []).append(weight / (k + rank))
            best_rank[doc] = min(best_rank.get(doc, rank), rank)

    # fsum is exactly rounded, so documents whose contributions are equal as multisets tie exactly
    # regardless of the order the rankings were listed in.
    fused = [(doc, math.fsum(parts)) for doc, parts in contributions.items()]
    fused.sort(key=lambda item: (-item[1], best_rank[item[0]], item[0]))
    return fused
