"""Side-by-side comparison: one column per city with its best passages and a strong / weak / none label.

Labels come from search/labels.py: each candidate passage of the city (its best by cosine and by BM25)
gets a probability of answering the query from calibrated evidence (cosine z against the city's
null, IDF-weighted word coverage among the city's own passages, an exact phrase, the query's words
the city never writes); the city's label is its best passage's, `matching` counts the passages that
match (`LabelModel.matching`), and every shown hit carries its own label. All of it depends only on
the query and the city's own passages: another city's documents never change a label.

A column shows its passages in reading order (`reading_order`): those counted as matching first
(wherever the ranking puts them: `with_counted`), then the likely answers (probability PROMOTE or
more), then the rest, each tier in rank order. Column recall@3 0.794 → 0.812, cross-validated with the
label model refitted per fold (bench/tune.py order).

Counterparts of a passage (`similar`) are in search/counterparts.py. The module is over 300 lines
because a column's label, its count and the passages it shows are one decision: split apart, the count
and the marks it names could drift from each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.tokenize import noun_pairs, written_words
from search.engine import Searcher
from search.hit import Hit
from search.label_model import FEATURES, LabelModel, shipped_model
from search.labels import (
    MATCHES,
    Match,
    absent_words,
    apart_words,
    city_idf,
    content_terms,
    has_content,
    idf_of,
    missing_share,
    passage_key,
    phrase_key,
    word_evidence,
    written_df,
)
from search.query import Prepared, acronyms, japanese_share

__all__ = ["MATCHES", "Column", "Comparison", "Evidence", "Match", "compare"]

COLUMN_TOP_K = 3  # passages a comparison shows per city unless asked for more
MORE_TOP_K = 10  # passages a column can show at most (the UI folds those after COLUMN_TOP_K)
MATCH_DEPTH = 200  # candidates examined per ranker when counting a city's matching passages
# A passage this likely to answer (label probability) is shown before the city's other passages that are
# not counted as matching (`reading_order`); chosen by nested 5-fold cross-validation (bench/tune.py order)
PROMOTE = 0.75


@dataclass(frozen=True)
class Evidence:
    """What a column's label rests on: its best passage's evidence and probability of matching."""

    z: float
    words: float = 0.0
    phrase: bool = False
    probability: float | None = None
    absent: tuple[str, ...] = ()  # the query's words that none of the city's passages holds
    # the query's compounds that none of its candidates writes as one, though it holds each part
    apart: tuple[str, ...] = ()
    few: bool = False  # the city has fewer passages than any the label model was fitted on (LabelModel.few)
    # a content word of the query none of the city's passages holds, a verb too (`absent` names nouns only:
    # 書く of 「書かない窓口」 where no passage writes it)
    unwritten: bool = False

    def to_dict(self) -> dict:
        """Rounded numbers for JSON (z is null when the city had no passage to compare)."""
        z = round(self.z, 2) if math.isfinite(self.z) else None
        p = None if self.probability is None else round(self.probability, 3)
        return {
            "z": z,
            "words": round(self.words, 2),
            "phrase": self.phrase,
            "probability": p,
            "absent": list(self.absent),
            "apart": list(self.apart),
            "few_passages": self.few,
        }


@dataclass(frozen=True)
class Column:
    """One city's answer: its best hits, ranked within the city, and how well it matches."""

    city: str
    match: Match
    hits: tuple[Hit, ...]
    evidence: Evidence
    matching: int = 0  # passages of the city that match on their own (LabelModel.matching)
    hit_matches: tuple[Match, ...] = ()  # the label of each shown hit (empty: not judged one by one)

    def to_dict(self) -> dict:
        """JSON shape of the CLI contract: city, match, hits (plus the evidence, the matching count and
        each hit's own label)."""
        hits = [h.to_dict() for h in self.hits]
        for h, m in zip(hits, self.hit_matches, strict=False):
            h["match"] = str(m)
        return {
            "city": self.city,
            "match": str(self.match),
            "matching": self.matching,
            "evidence": self.evidence.to_dict(),
            "hits": hits,
        }


@dataclass(frozen=True)
class Comparison:
    """A query answered city by city."""

    query: str
    columns: tuple[Column, ...]
    content: bool = True  # False: the query has no content word, so nothing can match (say why)
    # True: the query is mostly English, so its labels are less certain (say so): on English renderings of
    # the hand-checked topics they were right 0.61 of the time, against 0.92–0.95 (bench/fit_labels.py)
    english: bool = False

    def to_dict(self) -> dict:
        """{"query", "columns"} as in the CLI contract; whether it had a content word; whether English."""
        head = {"query": self.query, "content": self.content, "english": self.english}
        return head | {"columns": [c.to_dict() for c in self.columns]}


@dataclass(frozen=True)
class Scored:
    """A query prepared once (checked, tokenized, embedded), with what its labels read: content words,
    phrase, English words, its words as written, acronyms and noun pairs, and its share of Japanese
    words."""

    prepared: Prepared
    terms: list[str]  # content words, for the label's word evidence
    phrase: str  # the query as a phrase key ("" when it has no content word)
    english: list[str]  # distinct stems of its English words, met among the passages' English words
    words: list[tuple[str, str, str]]  # its words as it writes them (index/tokenize.py written_words)
    acronyms: set[str]  # its acronyms (search/query.py), met among the passages' Japanese words
    pairs: tuple[str, ...]  # its noun pairs as phrase keys (index/tokenize.py noun_pairs)
    # its share of the words Japanese text writes (Japanese script and acronyms: search/query.py
    # japanese_share): how far its Japanese word evidence counts (its English words count for the rest)
    share: float

    @property
    def text(self) -> str:
        return self.prepared.text

    @property
    def vector(self) -> np.ndarray:
        return self.prepared.vector

    @property
    def kind(self) -> str:
        """Which null the cosine is read against: that of queries mostly in Japanese script or not (an
        acronym is embedded as the Latin letters it is)."""
        return "query_ja" if self.prepared.lexical.share >= 0.5 else "query_en"


def score_query(searcher: Searcher, query: str) -> Scored:
    prepared = searcher.prepare(query)
    unmarked = prepared.read  # the query without its markup, as it is ranked
    tokens = list(prepared.lexical.tokens)
    terms = content_terms(tokens) if has_content(tokens, unmarked) else []  # as search reads it: "x" is none
    initials = acronyms(unmarked)  # met among the Japanese words, not the English ones
    english = [w for w in dict.fromkeys(prepared.lexical.english) if w not in initials]
    words = written_words(unmarked) if terms else []
    pairs = tuple(dict.fromkeys(phrase_key(p) for p in noun_pairs(words)))
    share = japanese_share(prepared.lexical.tokens, unmarked, acronyms_japanese=True)
    phrase = phrase_key(prepared.text) if terms else ""
    return Scored(prepared, terms, phrase, english, words, initials, pairs, share)


@dataclass(frozen=True)
class _Judged:
    """A city's candidate passages, their evidence (columns in search/label_model.py FEATURES order) and
    their probability of matching."""

    ids: np.ndarray
    features: np.ndarray
    probability: np.ndarray
    absent: tuple[str, ...] = ()  # the query's words the city never writes (labels.absent_words)
    few: bool = False  # fewer passages than the label model's cities (LabelModel.few)
    apart: tuple[str, ...] = ()  # its compounds no candidate writes as one (labels.apart_words)
    unwritten: bool = False  # a content word of the query no passage of the city holds (Evidence)

    def evidence(self, n: int) -> Evidence:
        """What candidate `n`'s label rests on."""
        z, words, phrase = self.features[n, :3]
        p = float(self.probability[n])
        return Evidence(
            float(z), float(words), bool(phrase), p, self.absent, self.apart, self.few, self.unwritten
        )


def city_size(searcher: Searcher, city: str) -> int:
    """The city's passages, all of them (a counterpart's column leaves its source out of its mask)."""
    return int(searcher.passages.isin("city", [city]).sum())


def judge(
    searcher: Searcher, q: Scored, city: str, allowed: np.ndarray, model: LabelModel | None = None
) -> _Judged:
    """Evidence and probability for the city's candidates: its best MATCH_DEPTH by cosine and by BM25."""
    model = model or shipped_model()
    n = int(allowed.sum())
    if not q.terms or n == 0:  # no content word: nothing to match (the UI says why)
        return _Judged(np.zeros(0, dtype=np.int64), np.zeros((0, len(FEATURES))), np.zeros(0))
    depth = min(MATCH_DEPTH, n)
    dense_ids, _ = searcher.index.dense.search(q.vector, depth, allowed)
    lex_ids, _ = searcher.index.bm25.search(q.terms, depth, allowed)
    ids = np.unique(np.concatenate([dense_ids, lex_ids]).astype(np.int64))
    vectors = np.asarray(searcher.index.vectors[ids], dtype=np.float32)
    # A packed passage's cosine is that of its best sentence (index/parts.py): its own vector is the mean
    # of several topics, near many queries without answering any (a brochure's cloud of names)
    query = np.asarray(q.vector, dtype=np.float32)
    cosines = vectors @ query
    best_part = searcher.index.parts.best(ids, query)
    cosines = np.where(np.isfinite(best_part), best_part, cosines)
    z = searcher.index.calibration.null(city, q.kind).z(cosines)
    texts: dict[int, str] = {}  # candidates' texts, each decoded once

    def text_of(i: int) -> str:
        if i not in texts:
            texts[i] = searcher.passages[i].text
        return texts[i]

    df = searcher.index.bm25.df(q.terms, allowed)  # read once: IDF, missing and absent words
    if (df == 0).any():  # a word a passage writes may still be no token of it (labels.written_df)
        df = written_df(q.terms, df, [text_of(i) for i in ids.tolist()])
    idf = idf_of(df, n)
    words = word_evidence(searcher.index.bm25, q.terms, idf, ids) * q.share
    if q.english and q.share < 1:  # its English words, among the passages' English words (glossary)
        english_idf = city_idf(searcher.index.english, q.english, allowed)
        words += word_evidence(searcher.index.english, q.english, english_idf, ids) * (1 - q.share)
    phrase = np.zeros(len(ids))
    written = np.zeros(len(q.pairs), dtype=bool)  # which of the query's noun pairs a candidate writes
    for n_, i in enumerate(ids.tolist()):
        if words[n_] > 0:  # only passages holding a query word are read
            key = passage_key(text_of(i))
            written |= np.array([p in key for p in q.pairs], dtype=bool)
            if words[n_] >= q.share - 1e-9:  # every content word present: look for the phrase
                phrase[n_] = q.phrase in key
    log_chars = np.log1p(searcher.passages.column("chars")[ids].astype(np.float64))
    missing = np.full(len(ids), missing_share(idf, df) * q.share)
    missing_pairs = np.full(len(ids), (1 - written.mean()) * q.share if len(written) else 0.0)
    log_terms = np.full(len(ids), math.log1p(len(q.terms)))
    features = np.column_stack(
        [z, words, phrase, log_chars, missing, missing_pairs, log_terms, words * log_terms]
    )
    size = city_size(searcher, city)
    shown_df = df
    if size != int(allowed.sum()):  # a passage's own city, itself left out (similar): it holds its words
        # (its written words, as df reads them, kept: しごと, which the tokenizer splits, had been named)
        shown_df = np.maximum(df, searcher.index.bm25.df(q.terms, searcher.mask(cities=[city])))
    absent = absent_words(q.terms, shown_df, q.words, q.acronyms)
    apart = apart_words(q.words, {p for p, w in zip(q.pairs, written, strict=True) if not w}, absent)
    few, unwritten = model.few(size), bool((shown_df == 0).any())
    probability = model.probability(features)
    return _Judged(ids, features.astype(np.float64), probability, absent, few, apart, unwritten)


def compare(
    searcher: Searcher,
    query: str,
    cities: Sequence[str] | None = None,
    top_k: int = COLUMN_TOP_K,
    mode: str = "hybrid",
) -> Comparison:
    """Rank passages within each city separately and label each city's match. A query without a content
    word ("の", markup) matches nothing and shows no passage either: none is nearer than another."""
    if top_k <= 0:
        raise ValueError(f"top-k must be a positive number of hits, got {top_k}")
    q = score_query(searcher, query)
    chosen = searcher.resolve_cities(cities) if cities else searcher.cities
    columns = []
    for city in dict.fromkeys(chosen):
        allowed = searcher.mask(cities=[city])

        def rank(depth: int, allowed=allowed) -> list[tuple[int, float]]:
            return searcher.ranked(q.prepared, depth, mode, allowed) if q.terms else []

        columns.append(labelled_column(searcher, q, city, allowed, rank, top_k))
    return Comparison(q.text, tuple(columns), bool(q.terms), bool(q.terms) and q.share < 0.5)


def labelled_column(
    searcher: Searcher,
    q: Scored,
    city: str,
    allowed: np.ndarray,
    rank: Callable[[int], list[tuple[int, float]]],
    top_k: int,
) -> Column:
    """One city's column for a query: the city's label, its matching count, and `top_k` of the city's
    ranked passages (`rank(depth)`: the best `depth` among `allowed` as (passage position, score) pairs,
    best first) with their own labels, in reading order (`reading_order`), the passages counted as
    matching among them wherever they rank (`with_counted`). Hits, ranked from 1 as shown, are built of
    the shown passages alone (Searcher.hits decodes and tokenizes each one)."""
    model = shipped_model()
    judged = judge(searcher, q, city, allowed, model)
    ranked = rank(max(top_k, MORE_TOP_K))
    if not len(judged.ids):
        _, best = searcher.index.dense.search(q.vector, 1, allowed)
        null = searcher.index.calibration.null(city, q.kind)
        # no z for a query without a content word: its vector is near everything ("の" had z 4.8)
        evidence = Evidence(float(null.z(best[0])) if len(best) and q.terms else float("-inf"))
        shown = tuple(searcher.hits(q.prepared, ranked[:top_k]))
        return Column(city, Match.NONE, shown, evidence, 0, tuple(Match.NONE for _ in shown))
    best = int(np.argmax(judged.probability))
    evidence = judged.evidence(best)
    position = {int(i): n for n, i in enumerate(judged.ids)}
    # the city's first COLUMN_TOP_K as ranked, whatever top_k shows: the count must not depend on it
    first = [position.get(i) for i, _ in ranked[:COLUMN_TOP_K]]
    matches = model.matching(judged.probability, [n for n in first if n is not None])
    ranked = with_counted(ranked, judged.ids[matches], rank, top_k)
    at = [position.get(i) for i, _ in ranked]
    probability = [0.0 if n is None else float(judged.probability[n]) for n in at]
    labels = [
        Match.NONE if n is None or not matches[n] else model.label(probability[k]) for k, n in enumerate(at)
    ]
    order = reading_order(labels, probability)[:top_k]
    shown = tuple(searcher.hits(q.prepared, [ranked[n] for n in order]))
    matching = int(matches.sum())
    label = model.label(evidence.probability)
    if label == Match.STRONG:  # the compounds written apart explain a × or ○; a ◎ needs no excuse
        evidence = replace(evidence, apart=())
    return Column(city, label, shown, evidence, matching, tuple(labels[n] for n in order))


def with_counted(
    ranked: list[tuple[int, float]],
    counted: np.ndarray,
    rank: Callable[[int], list[tuple[int, float]]],
    top_k: int,
) -> list[tuple[int, float]]:
    """`ranked` ((passage position, score) pairs), then the passages counted as matching (positions
    `counted`) that it lacks, in the order a deeper ranking (`rank(depth)`, pairs as `ranked`) gives
    them (one outside it too, scored 0), when the column's first `top_k` would otherwise show fewer
    counted passages than there are. The label rests on the candidates of both rankers, MATCH_DEPTH
    deep (`judge`), the column on their fusion: an English question's counted passage, near by its
    cosine alone, can rank below the city's first ten, and a column had said "1 件が該当" without
    showing it."""
    lacking = {int(i) for i in counted} - {i for i, _ in ranked}
    if not lacking or len(counted) - len(lacking) >= top_k:  # the first top_k are counted ones already
        return ranked
    deeper = [(i, s) for i, s in rank(2 * MATCH_DEPTH) if i in lacking]
    found = {i for i, _ in deeper}
    return [*ranked, *deeper, *((i, 0.0) for i in sorted(lacking - found))]


def reading_order(labels: Sequence[Match], probability: Sequence[float]) -> list[int]:
    """The positions of a column's ranked hits in the order shown: the passages counted as matching
    first, then those whose probability of answering reaches PROMOTE, then the rest, each tier in rank
    order. "N 件が該当" then names the cards a reader sees first (the ◎ 該当 mark had sat on the third
    card under two that did not count), and a passage the label model deems a likely answer comes
    before the city's near misses (module docstring: measured)."""

    def tier(n: int) -> int:
        return 0 if labels[n] != Match.NONE else 1 if probability[n] >= PROMOTE else 2

    return sorted(range(len(labels)), key=tier)
