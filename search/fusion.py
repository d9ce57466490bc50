"""Fusion of a dense and a lexical ranking: convex combination of normalized scores, or reciprocal ranks.

    convex   fused = (1 − Σ w_i) · dense' + Σ w_i · lexical_i'   (the default)
             dense'     = (cos − min) / (max − min) over the dense candidates of this query
             lexical_i' = bm25 / max over the candidates of lexical ranking i (the passages' Japanese
                          words, their English words), 0 without a query word
             A document missing from one list scores 0 there; a lexical list without hits gives its
             weight back to the dense one.
    rrf      Σ w_i / (k + rank_i)

Convex fusion keeps how strong each piece of evidence is: a passage the embedding ranks first by a
wide margin stays first when the lexical list holds only passages sharing one common word, which RRF
flattens to equal steps. Both lists are normalized per query (and per filter: compare normalizes each
city's candidates on their own), so the weight means the same for every query, and over the first
CANDIDATES of each list alone (search/engine.py), so that asking for more hits never reorders the first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RRF_K = 60
FUSIONS = ("convex", "rrf")
LEXICAL_WEIGHT = 0.6  # w of convex fusion, chosen by 5-fold cross-validation (bench/tune.py)
# w for a question's English words, against the passages' English words (index/glossary.py); chosen by
# 5-fold cross-validation (bench/tune.py english)
ENGLISH_WEIGHT = 0.4
# β: the share of a query's Japanese-word weight that the English glosses of its words take, met among
# the passages' English words: a bridge between synonyms (はんこ and 押印 meet at *seal*, 命名権 and
# ネーミングライツ at *naming rights*); chosen by 5-fold cross-validation (bench/tune.py bridge)
BRIDGE_WEIGHT = 0.4
# λ of `with_parts`: how far a packed passage's cosine rises towards its best sentence's; chosen by
# 5-fold cross-validation (bench/tune.py parts)
PART_WEIGHT = 0.3
# γ of `with_source`: how far a counterpart ranking leans towards the source passage's own similarity;
# chosen by 5-fold cross-validation over the judged pairs (bench/tune.py pairs)
SOURCE_WEIGHT = 0.2


@dataclass(frozen=True)
class Ranking:
    """How a Searcher fuses its rankings: the fusion, its weights and RRF's k. The defaults are the
    constants above, each chosen by cross-validation; the settings of the same names override them."""

    fusion: str = FUSIONS[0]
    lexical_weight: float = LEXICAL_WEIGHT  # the query's Japanese words among the passages'
    english_weight: float = ENGLISH_WEIGHT  # its English words among the passages' English words
    bridge_weight: float = BRIDGE_WEIGHT  # of the Japanese words' weight, their glosses' share
    part_weight: float = PART_WEIGHT  # a packed passage's cosine raised towards its best sentence's
    source_weight: float = SOURCE_WEIGHT  # counterparts lean towards their source (search/counterparts.py)
    rrf_k: int = RRF_K

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; choose one of: {', '.join(FUSIONS)}")
        weights = {"lexical": self.lexical_weight, "English": self.english_weight}
        weights |= {"bridge": self.bridge_weight, "part": self.part_weight, "source": self.source_weight}
        for name, weight in weights.items():
            check_weight(name, weight)


def check_weight(name: str, weight: object) -> None:
    """Refuse a weight that is not a number from 0 to 1, naming it (every weight of a fusion is one)."""
    if not (isinstance(weight, int | float) and math.isfinite(weight) and 0 <= weight <= 1):
        raise ValueError(f"{name} weight of {weight} is invalid; use a number from 0 to 1")


def normalized(scores: np.ndarray, floor: str, pool: int | None = None) -> np.ndarray:
    """Scores mapped to [0, 1]: "min" maps the lowest to 0 (cosines), "zero" keeps 0 at 0 (BM25). With
    `pool`, only the first `pool` scores are mapped, on their own scale, and the rest are 0, as if they
    had not been fetched: a deeper list leaves the first ones' values as they were."""
    scores = np.asarray(scores, dtype=np.float64)
    if pool is not None and len(scores) > pool:
        return np.concatenate([normalized(scores[:pool], floor), np.zeros(len(scores) - pool)])
    if not len(scores):
        return scores
    low = scores.min() if floor == "min" else 0.0
    span = scores.max() - low
    return (scores - low) / span if span > 0 else np.ones_like(scores)


def with_parts(
    ids: np.ndarray, scores: np.ndarray, best: np.ndarray, weight: float = PART_WEIGHT
) -> tuple[np.ndarray, np.ndarray]:
    """Dense candidates re-scored by their parts (index/parts.py): cos + λ·max(0, best part − cos),
    best first (ties keep the given order). A passage without parts (best = −inf) keeps its cosine; one
    whose best sentence answers the query better than the whole passage rises by λ of the difference.
    """
    check_weight("part", weight)
    ids, scores = np.asarray(ids), np.asarray(scores, dtype=np.float32)
    if weight == 0 or not len(ids):
        return ids, scores
    raised = scores + np.float32(weight) * np.maximum(0, np.asarray(best, dtype=np.float32) - scores)
    order = np.argsort(-raised, kind="stable")
    return ids[order], raised[order]


def with_source(
    ids: np.ndarray, scores: Sequence[float], cosines: np.ndarray, weight: float = SOURCE_WEIGHT
) -> tuple[np.ndarray, np.ndarray]:
    """Counterpart candidates re-scored towards their source passage: (1 − γ)·score' + γ·cos', both
    min–max normalized over the candidates (`normalized`, "min"), where score is the candidates' ranking
    score for the source's text and cos their cosine to the source itself; best first (ties keep the
    given order)."""
    check_weight("source", weight)
    ids = np.asarray(ids)
    if not len(ids):
        return ids, np.zeros(0)
    fused = (1 - weight) * normalized(scores, "min") + weight * normalized(cosines, "min")
    order = np.argsort(-fused, kind="stable")
    return ids[order], fused[order]


def convex(
    dense: tuple[Sequence[int], Sequence[float]],
    *lexical: tuple[tuple[Sequence[int], Sequence[float]], float],
    pool: int | None = None,
) -> list[tuple[int, float]]:
    """Fuse (ids, scores) of a dense ranking and of lexical rankings, each given with its weight w_i, by
    (1 − Σ w_i)·dense' + Σ w_i·lexical_i' (module docstring; Σ counts the lists with hits and must not
    exceed 1); (doc, score) best first, ties to the earlier place in the dense list (given best first)
    within `pool`; beyond it, to a passage of the dense list's tail that no lexical list holds, in its
    order, then to the lower doc.

    `pool`: only the first `pool` of each list are fused, on their own scale (`normalized`); the rest of
    the dense list follows, scored 0, in its order. The same passages then rank alike however deep the
    lists were fetched: a deeper list had lowered the dense floor, and reordered the first hits."""
    for _, weight in lexical:
        check_weight("lexical", weight)
    used = [(ranking, w) for ranking, w in lexical if len(ranking[0])]
    total = math.fsum(w for _, w in used)
    if total > 1 + 1e-9:
        raise ValueError(f"lexical weights add up to {total:g}; they may add up to 1 at most")
    fused: dict[int, float] = {}
    place: dict[int, int] = {}
    for n, (doc, s) in enumerate(zip(dense[0], normalized(dense[1], "min", pool).tolist(), strict=True)):
        place[int(doc)] = n
        fused[int(doc)] = (1 - total) * s
    for (ids, scores), weight in used:
        ids, scores = ids[:pool], scores[:pool]
        for doc, s in zip(ids, normalized(scores, "zero").tolist(), strict=True):
            fused[int(doc)] = fused.get(int(doc), 0.0) + weight * s
    lexed = {int(doc) for (ids, _), _ in used for doc in ids[:pool]}

    def order(item: tuple[int, float]) -> tuple[float, float, float, int]:
        # a tie goes to the earlier place in the dense pool; beyond it, a passage no lexical list holds
        # keeps its dense place (the tail), and one a lexical list brought is ordered by doc: its dense
        # place depends on how deep the list was fetched (Hypothesis found two BM25 ties that swapped)
        doc, score = item
        at = place.get(doc, math.inf)
        pooled = at if pool is None or at < pool else math.inf
        return (-score, pooled, math.inf if doc in lexed else at, doc)

    return sorted(fused.items(), key=order)


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
