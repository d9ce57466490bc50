"""Side-by-side comparison: one column per city with its best passages and a strong / weak / none label.

Labels come from search/labels.py: each candidate passage of the city (its best by cosine and by BM25)
gets a probability of answering the query from calibrated evidence (cosine z against the city's
null, IDF-weighted word coverage among the city's own passages, an exact phrase); the city's label is
its best passage's, `matching` counts the passages at or above the weak threshold, and every shown
hit carries its own label. All of it depends only on the query and the city's own passages, so a
label never changes when another city's documents are added, and repeating a query repeats it.

Counterparts (`similar`) of a passage are sought in one of two ways:

    query     a passage of at most QUERY_LIKE_CHARS characters (a timeline or list line such as
              「テレワークを制度化（10月）」) is a query in all but name: each city's column is the
              column `compare` gives for its text (hybrid ranking, labels as above)
    content   a longer table row whose table states what each initiative is (a 内容 / 概要 column) is
              sought like a query by its initiative and that content: what the initiative is, not how
              far it got, is what another city's counterpart shares
    profile   any other longer passage is compared by its profile vector (index/build.py: the passage
              and each of its fields), labelled by z against the passage null alone:
              strong z ≥ Z_STRONG_ALONE, weak z ≥ Z_WEAK, else none

e5 models embed short queries and long passages asymmetrically; a one-line item embedded as a passage
sits near every passage about dates and progress. Measured on the default corpus, the query route
raised the mean reciprocal rank of judged counterparts from 0.62 to 0.73 (18 pairs: the eval pairs and
the two-city judgments of the eval queries) and lost none. The content route raised the visible pairs'
hit@3 (28 pairs) from 0.571 (profile) to 0.679; a row's initiative alone gave 0.500, its 内容 alone 0.643.

About 300 lines: the column, its labels and the routes of `similar` read the same evidence and are kept
side by side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from corpus.columns import column_role
from corpus.passage import Passage
from index.tokenize import tokenize
from search.crowding import crowd
from search.engine import Prepared, Searcher
from search.hit import Hit
from search.labels import (
    FEATURES,
    MATCHES,
    LabelModel,
    Match,
    city_idf,
    content_terms,
    near_evidence,
    phrase_key,
    shipped_model,
    strip_markup,
    word_evidence,
)

__all__ = ["MATCHES", "Column", "Comparison", "Counterparts", "Evidence", "Match", "compare", "similar"]

Z_STRONG_ALONE = 4.0  # profile route only
Z_WEAK = 2.5
COLUMN_TOP_K = 3  # passages a comparison shows per city unless asked for more
MATCH_DEPTH = 200  # candidates examined per ranker when counting a city's matching passages
QUERY_LIKE_CHARS = 64  # passages this short are sought like a typed query (module docstring)


@dataclass(frozen=True)
class Evidence:
    """What a column's label rests on: its best passage's evidence and probability of matching."""

    z: float
    words: float = 0.0
    phrase: bool = False
    probability: float | None = None

    def to_dict(self) -> dict:
        """Rounded numbers for JSON (z is null when the city had no passage to compare)."""
        z = round(self.z, 2) if math.isfinite(self.z) else None
        p = None if self.probability is None else round(self.probability, 3)
        return {"z": z, "words": round(self.words, 2), "phrase": self.phrase, "probability": p}


def profile_label(z: float) -> Match:
    """The label of a counterpart found by profile vector: z against the passage null alone."""
    if z >= Z_STRONG_ALONE:
        return Match.STRONG
    return Match.WEAK if z >= Z_WEAK else Match.NONE


def sought_by(p: Passage) -> tuple[str, str | None]:
    """How a passage's counterparts are sought, and the query text when it is sought like a query:
    ("query", its text) when short; ("content", initiative + content fields) for a table row that states
    what the initiative is (a 内容 / 概要 column); ("profile", None) otherwise (module docstring)."""
    if is_query_like(p.text):
        return "query", p.text
    content = [value for label, value in p.fields if column_role(label) == "content" and value.strip()]
    if content:
        return "content", "\n".join([p.initiative or "", *content]).strip()
    return "profile", None


def is_query_like(text: str) -> bool:
    """Whether a passage is short enough to be sought like a typed query (whitespace not counted)."""
    return len("".join(text.split())) <= QUERY_LIKE_CHARS


@dataclass(frozen=True)
class Column:
    """One city's answer: its best hits, ranked within the city, and how well it matches."""

    city: str
    match: Match
    hits: tuple[Hit, ...]
    evidence: Evidence
    matching: int = 0  # passages of the city labelled weak or strong on their own
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

    def to_dict(self) -> dict:
        """{"query", "columns"} as in the CLI contract, and whether the query had a content word."""
        return {"query": self.query, "content": self.content, "columns": [c.to_dict() for c in self.columns]}


@dataclass(frozen=True)
class Counterparts:
    """The counterparts of one passage in other cities."""

    source: Passage
    columns: tuple[Column, ...]

    @property
    def by(self) -> str:
        """How the source was compared: "query" (its text, being short), "content" (a row's initiative
        and stated content, searched as a query) or "profile" (its vector)."""
        return sought_by(self.source)[0]

    def to_dict(self) -> dict:
        """{"source", "by", "columns"}: the CLI contract's shape (the source as a HIT: rank 1, score 1.0,
        itself) plus how the source was compared."""
        columns = [c.to_dict() for c in self.columns]
        return {"source": Hit(self.source, 1, 1.0).to_dict(), "by": self.by, "columns": columns}


@dataclass(frozen=True)
class _Scored:
    """A query prepared once (checked, tokenized, embedded), with what its labels read: content words
    and phrase."""

    prepared: Prepared
    terms: list[str]  # content words, for the label's word evidence
    phrase: str  # the query as a phrase key ("" when it has no content word)

    @property
    def text(self) -> str:
        return self.prepared.text

    @property
    def vector(self) -> np.ndarray:
        return self.prepared.vector

    @property
    def share(self) -> float:
        """The query's share of Japanese words: how far word evidence counts."""
        return self.prepared.lexical.share

    @property
    def kind(self) -> str:
        """Which null the cosine is read against."""
        return "query_ja" if self.share >= 0.5 else "query_en"


def _score(searcher: Searcher, query: str) -> _Scored:
    prepared = searcher.prepare(query)
    unmarked = strip_markup(prepared.text)
    tokens = prepared.lexical.tokens if unmarked == prepared.text else tokenize(unmarked)
    terms = content_terms(tokens)
    return _Scored(prepared, terms, phrase_key(prepared.text) if terms else "")


@dataclass(frozen=True)
class _Judged:
    """A city's candidate passages, their evidence (columns in search/labels.py FEATURES order) and
    their probability of matching."""

    ids: np.ndarray
    features: np.ndarray
    probability: np.ndarray

    def evidence(self, n: int) -> Evidence:
        """What candidate `n`'s label rests on."""
        z, words, phrase = self.features[n, :3]
        return Evidence(float(z), float(words), bool(phrase), float(self.probability[n]))


def judge(
    searcher: Searcher, q: _Scored, city: str, allowed: np.ndarray, model: LabelModel | None = None
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
    z = searcher.index.calibration.null(city, q.kind).z(vectors @ np.asarray(q.vector, dtype=np.float32))
    idf = city_idf(searcher.index.bm25, q.terms, allowed)
    words = word_evidence(searcher.index.bm25, q.terms, idf, ids) * q.share
    phrase = np.zeros(len(ids))
    near = np.zeros(len(ids))
    for n_, i in enumerate(ids.tolist()):
        if words[n_] > 0:  # only passages holding a query word are read
            text = searcher.passages[i].text
            near[n_] = near_evidence(q.terms, idf, text) * q.share
            if words[n_] >= q.share - 1e-9:  # every content word present: look for the phrase
                phrase[n_] = q.phrase in phrase_key(text)
    log_chars = np.log1p(searcher.passages.column("chars")[ids].astype(np.float64))
    features = np.column_stack([z, words, phrase, log_chars, near]).astype(np.float64)
    return _Judged(ids, features, model.probability(features))


def compare(
    searcher: Searcher,
    query: str,
    cities: Sequence[str] | None = None,
    top_k: int = COLUMN_TOP_K,
    mode: str = "hybrid",
) -> Comparison:
    """Rank passages within each city separately and label each city's match."""
    q = _score(searcher, query)
    chosen = searcher.resolve_cities(cities) if cities else searcher.cities
    columns = [_column(searcher, q, c, searcher.mask(cities=[c]), top_k, mode) for c in dict.fromkeys(chosen)]
    return Comparison(q.text, tuple(columns), bool(q.terms))


def _column(searcher: Searcher, q: _Scored, city: str, allowed: np.ndarray, top_k: int, mode: str) -> Column:
    """One city's column for a query: its best hits among `allowed`, the labels and the matching count."""
    model = shipped_model()
    judged = judge(searcher, q, city, allowed, model)
    hits = searcher.search(q.prepared, top_k, mode, allowed=allowed)
    if not len(judged.ids):
        _, best = searcher.index.dense.search(q.vector, 1, allowed)
        null = searcher.index.calibration.null(city, q.kind)
        evidence = Evidence(float(null.z(best[0])) if len(best) else float("-inf"))
        return Column(city, Match.NONE, tuple(hits), evidence, 0, tuple(Match.NONE for _ in hits))
    best = int(np.argmax(judged.probability))
    evidence = judged.evidence(best)
    position = {int(i): n for n, i in enumerate(judged.ids)}
    rows = [searcher.passages.position(h.passage.id) for h in hits]
    hit_matches = tuple(
        model.label(float(judged.probability[position[r]])) if r in position else Match.NONE for r in rows
    )
    matching = int((judged.probability >= model.weak).sum())
    return Column(city, model.label(evidence.probability), tuple(hits), evidence, matching, hit_matches)


def similar(
    searcher: Searcher,
    passage_id: str,
    cities: Sequence[str] | None = None,
    top_k: int = COLUMN_TOP_K,
) -> Counterparts:
    """Counterparts of a passage in every other city (or the named ones): by its text when it is
    query-like, by its initiative and content when it is a row that states them, else by its profile
    vector (module docstring)."""
    if top_k <= 0:
        raise ValueError(f"top-k must be a positive number of hits, got {top_k}")
    index = searcher.position(passage_id)
    source = searcher.passages[index]
    chosen = searcher.resolve_cities(cities) if cities else [c for c in searcher.cities if c != source.city]
    _, text = sought_by(source)
    q = _score(searcher, text) if text else None
    columns = []
    for city in dict.fromkeys(chosen):
        allowed = searcher.mask(cities=[city])
        allowed[index] = False
        if not allowed.any():
            columns.append(Column(city, Match.NONE, (), Evidence(float("-inf"))))
        elif q is not None:
            columns.append(_column(searcher, q, city, allowed, top_k, "hybrid"))
        else:
            columns.append(profile_column(searcher, index, city, allowed, top_k))
    return Counterparts(source, tuple(columns))


def profile_column(searcher: Searcher, index: int, city: str, allowed: np.ndarray, top_k: int) -> Column:
    """One city's counterparts of passage `index` by its profile vector, labelled by z alone."""
    depth = min(int(allowed.sum()), max(top_k * 10, 50))
    ids, scores = searcher.index.dense.search(np.asarray(searcher.index.profiles[index]), depth, allowed)
    null = searcher.index.calibration.null(city, "passage")
    evidence = Evidence(float(null.z(scores[0])))
    matching = sum(profile_label(null.z(c)) != Match.NONE for c in scores.tolist())
    ranked = crowd(list(zip(ids.tolist(), scores.tolist(), strict=True)), searcher.groups, top_k)
    hits = tuple(Hit(searcher.passages[i], rank, s) for rank, (i, s) in enumerate(ranked, 1))
    labels = tuple(profile_label(null.z(s)) for _, s in ranked)
    return Column(city, profile_label(evidence.z), hits, evidence, matching, labels)
