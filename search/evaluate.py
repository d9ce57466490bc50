"""A user's own relevance judgments in, retrieval measures out (the same measures as shared/eval/score.py).

Three kinds of judgment, one JSON object per line:

    queries   {"id", "query", "relevant": [{"city", "key"}, ...]}   nDCG@10, recall@10, MRR, column recall@3
    pairs     {"id", "from": {"city", "key"}, "to": {"city", "key"}}  counterparts hit@3
    labels    {"id", "query", "expect": {city: "strong" | "none" | "any"}}   match-label accuracy

A hit counts for a judged item when its city is the item's city and its text holds the key, both
compared after NFKC with all whitespace removed, within the first CREDIT_CHARS characters.

Every measure is a mean over judged items, so it can be taken over any subset of them: `folds` splits
the items into K folds (by id, the same split every run) for cross-validation and for the spread of a
measure across folds.

About 325 lines: the per-item results, the measures over them and the fold split are one idea, the
scorer's, kept in one place so that they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from corpus.normalize import compact
from search.compare import compare
from search.counterparts import similar
from search.engine import Searcher
from search.hit import Hit

K = 10  # depth of nDCG, recall and MRR
COLUMN_K = 3  # a judged item must be in its city's top 3 of `compare`
PAIR_K = 3
CREDIT_CHARS = 800


def credited(text: str) -> str:
    """The part of a passage's text a judged key phrase is looked for in, as `holds` compares it."""
    return compact(text or "")[:CREDIT_CHARS]


def holds(hit_city: str, hit_text: str, city: str, key: str) -> bool:
    """Whether a hit credits a judged item: same city, key within the first CREDIT_CHARS characters."""
    return hit_city == city and compact(key) in credited(hit_text)


def first_rank(hits: Sequence[Hit], city: str, key: str) -> int | None:
    """1-based position of the first hit that credits (city, key), or None."""
    return next((n for n, h in enumerate(hits, 1) if holds(h.passage.city, h.passage.text, city, key)), None)


# ---- per-item results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryResult:
    """One judged query: first ranks of its items in the ranking and within their city's column."""

    id: object
    query: str
    relevant: tuple[tuple[str, str], ...]
    ranks: tuple[int | None, ...]
    column_hits: tuple[bool, ...] = ()

    @property
    def ndcg(self) -> float:
        dcg = sum(1 / math.log2(r + 1) for r in self.ranks if r and r <= K)
        return dcg / sum(1 / math.log2(i + 2) for i in range(min(len(self.relevant), K)))

    @property
    def recall(self) -> float:
        return sum(1 for r in self.ranks if r and r <= K) / len(self.relevant)

    @property
    def rr(self) -> float:
        found = [r for r in self.ranks if r and r <= K]
        return 1 / min(found) if found else 0.0


@dataclass(frozen=True)
class PairResult:
    """One judged counterpart pair: whether the target is among the source's top PAIR_K in its city."""

    id: object
    source: tuple[str, str]
    target: tuple[str, str]
    found_source: bool
    hit: bool


@dataclass(frozen=True)
class LabelResult:
    """One judged (probe, city): the label compare gave and the one expected."""

    id: object
    query: str
    city: str
    want: str
    got: str | None

    @property
    def right(self) -> bool:
        return self.got == self.want


def run_queries(
    searcher: Searcher, queries: Sequence[dict], columns: bool = True, mode: str = "hybrid"
) -> list[QueryResult]:
    """Rank every judged query (in `mode`, top K) and, with `columns`, compare it city by city."""
    out = []
    for q in queries:
        relevant = tuple((r["city"], r["key"]) for r in q["relevant"])
        hits = searcher.search(q["query"], K, mode)
        ranks = tuple(first_rank(hits, c, k) for c, k in relevant)
        column_hits: tuple[bool, ...] = ()
        if columns:
            comparison = compare(searcher, q["query"], top_k=COLUMN_K, mode=mode)
            by_city = {c.city: c.hits[:COLUMN_K] for c in comparison.columns}
            column_hits = tuple(first_rank(by_city.get(c, ()), c, k) is not None for c, k in relevant)
        out.append(QueryResult(q["id"], q["query"], relevant, ranks, column_hits))
    return out


def run_pairs(searcher: Searcher, pairs: Sequence[dict]) -> list[PairResult]:
    """For each pair, the source passage (the first of its city holding the key) and its counterparts."""
    out = []
    for p in pairs:
        src, dst = (p["from"]["city"], p["from"]["key"]), (p["to"]["city"], p["to"]["key"])
        position = _first_passage(searcher, *src)
        hit = False
        if position is not None and dst[0] in searcher.cities:  # a city not indexed: a miss, as in queries
            result = similar(searcher, searcher.passages[position].id, [dst[0]], top_k=PAIR_K)
            top = [h for c in result.columns if c.city == dst[0] for h in c.hits][:PAIR_K]
            hit = first_rank(top, *dst) is not None
        out.append(PairResult(p["id"], src, dst, position is not None, hit))
    return out


def _first_passage(searcher: Searcher, city: str, key: str) -> int | None:
    return next((i for i, p in enumerate(searcher.passages) if holds(p.city, p.text, city, key)), None)


def run_labels(searcher: Searcher, probes: Sequence[dict], mode: str = "hybrid") -> list[LabelResult]:
    """compare each probe and read its label in every judged city ("any" is not judged)."""
    out = []
    for p in probes:
        got = {c.city: c.match for c in compare(searcher, p["query"], top_k=1, mode=mode).columns}
        for city, want in p["expect"].items():
            if want != "any":
                out.append(LabelResult(p["id"], p["query"], city, want, got.get(city)))
    return out


# ---- measures ------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def query_measures(results: Sequence[QueryResult]) -> dict:
    """{"n", "ndcg@10", "recall@10", "mrr", "column_recall@3"} over the given queries."""
    columns = [h for r in results for h in r.column_hits]
    out = {
        "n": len(results),
        "ndcg@10": _mean([r.ndcg for r in results]),
        "recall@10": _mean([r.recall for r in results]),
        "mrr": _mean([r.rr for r in results]),
    }
    if columns:
        out["column_recall@3"] = _mean(columns)
    return out


def pair_measures(results: Sequence[PairResult]) -> dict:
    """{"n", "hit@3"}."""
    return {"n": len(results), "hit@3": _mean([r.hit for r in results])}


def label_measures(results: Sequence[LabelResult]) -> dict:
    """{"n", "accuracy", "wrong_match_where_none", "none_where_strong"}."""
    return {
        "n": len(results),
        "accuracy": _mean([r.right for r in results]),
        "wrong_match_where_none": sum(r.want == "none" and r.got != "none" for r in results),
        "none_where_strong": sum(r.want == "strong" and r.got == "none" for r in results),
    }


def misses(
    queries: Sequence[QueryResult], pairs: Sequence[PairResult], labels: Sequence[LabelResult]
) -> list[dict]:
    """Every judged item the search missed, as plain dicts (what, id, query or source, city, key, ...)."""
    out: list[dict] = []
    for r in queries:
        for (city, key), rank, col in zip(
            r.relevant, r.ranks, r.column_hits or (None,) * len(r.ranks), strict=True
        ):
            if rank is None or col is False:
                out.append(
                    {
                        "what": "query",
                        "id": r.id,
                        "query": r.query,
                        "city": city,
                        "key": key,
                        "rank": rank,
                        "in_column_top3": col,
                    }
                )
    for p in pairs:
        if not p.hit:
            out.append(
                {
                    "what": "pair",
                    "id": p.id,
                    "from": dict(zip(("city", "key"), p.source, strict=True)),
                    "to": dict(zip(("city", "key"), p.target, strict=True)),
                    "source_found": p.found_source,
                }
            )
    for lab in labels:
        if not lab.right:
            out.append(
                {
                    "what": "label",
                    "id": lab.id,
                    "query": lab.query,
                    "city": lab.city,
                    "want": lab.want,
                    "got": lab.got,
                }
            )
    return out


def assign_folds(ids: Sequence[object], folds: int) -> dict[object, int]:
    """{id: fold 0..folds-1}: distinct ids ordered by a stable hash and dealt out in turn, so folds
    differ in size by at most one and the same ids always land in the same folds."""
    distinct = sorted(
        {str(i) for i in ids}, key=lambda k: hashlib.blake2b(k.encode("utf-8"), digest_size=8).digest()
    )
    fold = {k: n % folds for n, k in enumerate(distinct)}
    return {i: fold[str(i)] for i in ids}  # 1 and "1" are one id, in one fold


def by_fold(results: Sequence, folds: int, measure: Callable[[Sequence], dict]) -> list[dict]:
    """`measure` over each fold's items (every item of one id in one fold)."""
    fold = assign_folds([r.id for r in results], folds)
    groups: list[list] = [[] for _ in range(folds)]
    for r in results:
        groups[fold[r.id]].append(r)
    return [measure(g) for g in groups if g]


@dataclass(frozen=True)
class Report:
    """Measures of every judgment kind given, their misses, and (with folds) the per-fold measures."""

    queries: list[QueryResult] = field(default_factory=list)
    pairs: list[PairResult] = field(default_factory=list)
    labels: list[LabelResult] = field(default_factory=list)
    folds: int = 0

    def to_dict(self) -> dict:
        """{"queries": {...}, "pairs": {...}, "labels": {...}, "misses": [...]}, plus "folds" when asked."""
        out: dict = {}
        kinds = (
            ("queries", self.queries, query_measures),
            ("pairs", self.pairs, pair_measures),
            ("labels", self.labels, label_measures),
        )
        for name, results, measure in kinds:
            if results:
                out[name] = _rounded(measure(results))
        if self.folds:
            out["folds"] = {
                name: [_rounded(m) for m in by_fold(results, self.folds, measure)]
                for name, results, measure in kinds
                if results
            }
        out["misses"] = misses(self.queries, self.pairs, self.labels)
        return out


def _rounded(measures: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in measures.items()}


def evaluate(
    searcher: Searcher,
    queries: Sequence[dict] = (),
    pairs: Sequence[dict] = (),
    labels: Sequence[dict] = (),
    folds: int = 0,
    columns: bool = True,
    mode: str = "hybrid",
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Run every judgment against the index (ranking in `mode`) and collect the per-item results;
    `progress(done, total)` is called after each judgment line."""
    check_folds(folds, queries=queries, pairs=pairs, labels=labels)
    total, done = len(queries) + len(pairs) + len(labels), 0

    def each(run: Callable[[Sequence[dict]], list], items: Sequence[dict]) -> list:
        nonlocal done
        out = []
        for item in items:
            out.extend(run([item]))
            done += 1
            if progress:
                progress(done, total)
        return out

    return Report(
        each(lambda q: run_queries(searcher, q, columns, mode), queries),
        each(lambda p: run_pairs(searcher, p), pairs),
        each(lambda p: run_labels(searcher, p, mode), labels),
        folds,
    )


def check_folds(folds: int, **judgments: Sequence[dict]) -> None:
    """Refuse a fold count that is not 0 or 2 or more, or that exceeds the distinct ids of a kind given."""
    if folds < 0 or folds == 1:
        raise ValueError(f"folds of {folds} is invalid; use 0 (none) or at least 2")
    for kind, items in judgments.items():
        ids = len({str(j["id"]) for j in items})
        if items and folds > ids:
            fix = f"use at most {ids}" if ids >= 2 else f"judge at least {folds} or leave --folds out"
            raise ValueError(f"folds of {folds} is more than the {ids} distinct {kind} ids; {fix}")
