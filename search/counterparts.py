"""Counterparts of a passage in other cities (`similar`): what another city does about the same thing.

A passage's counterparts are sought in one of three ways:

    query     a passage of at most QUERY_LIKE_CHARS characters (a timeline or list line such as
              「テレワークを制度化（10月）」) is a query in all but name: each city's column is the
              column `compare` gives for its text (hybrid ranking, labels as in search/compare.py)
    content   a longer table row whose table states what each initiative is (a 内容 / 概要 column) is
              sought like a query by its initiative and that content: what the initiative is, not how
              far it got, is what another city's counterpart shares
    profile   any other longer passage is compared by its profile vector (index/build.py: the passage
              and each of its fields), labelled by z against the passage null alone:
              strong z ≥ Z_STRONG_ALONE, weak z ≥ Z_WEAK, else none; the best passage counts as
              matching at Z_WEAK, any other at Z_STRONG_ALONE

e5 models embed short queries and long passages asymmetrically; a one-line item embedded as a passage
sits near every passage about dates and progress. Measured on the default corpus, the query route
raised the mean reciprocal rank of judged counterparts from 0.62 to 0.73 (18 pairs: the eval pairs and
the two-city judgments of the eval queries) and lost none. The content route raised the visible pairs'
hit@3 (28 pairs) from 0.571 (profile) to 0.679; a row's initiative alone gave 0.500, its 内容 alone 0.643.

The query and content routes then lean a little towards the passage itself (`toward`): the hybrid
ranking of its text is fused with the passage's own similarity to each candidate (its profile vector
against theirs) at γ = SOURCE_WEIGHT (search/fusion.py `with_source`), which a typed query cannot do:
passage-to-passage similarity is symmetric and sees the source's context. It raised the visible
pairs' hit@3 from 0.750 to 0.821, cross-validated over 5 folds (bench/tune.py pairs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from corpus.columns import column_role
from corpus.passage import Passage
from index.tokenize import tokenize
from search.compare import (
    COLUMN_TOP_K,
    MATCH_DEPTH,
    Column,
    Evidence,
    Scored,
    city_size,
    labelled_column,
    score_query,
)
from search.crowding import COUNTERPART_DEMOTION, crowd
from search.engine import CANDIDATES, Searcher
from search.fusion import with_source
from search.hit import Hit
from search.label_model import shipped_model
from search.labels import Match, content_terms

Z_STRONG_ALONE = 4.0  # profile route only
Z_WEAK = 2.5
QUERY_LIKE_CHARS = 64  # passages this short are sought like a typed query (module docstring)


def profile_label(z: float) -> Match:
    """The label of a counterpart found by profile vector: z against the passage null alone."""
    if z >= Z_STRONG_ALONE:
        return Match.STRONG
    return Match.WEAK if z >= Z_WEAK else Match.NONE


def sought_by(p: Passage) -> tuple[str, str | None]:
    """How a passage's counterparts are sought, and the query text when it is sought like a query:
    ("query", its text) when short; ("content", initiative + content fields) for a table row that states
    what the initiative is (a 内容 / 概要 column); ("profile", None) otherwise (module docstring)."""
    content = [value for label, value in p.fields if column_role(label) == "content" and value.strip()]
    if content:  # a row that says what it is, however short: not its field names as query words
        return "content", "\n".join([p.initiative or "", *content]).strip()
    if is_query_like(p.text):
        return "query", p.text
    return "profile", None


def is_query_like(text: str) -> bool:
    """Whether a passage is short enough to be sought like a typed query (whitespace not counted)."""
    return len("".join(text.split())) <= QUERY_LIKE_CHARS


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


def similar(
    searcher: Searcher,
    passage_id: str,
    cities: Sequence[str] | None = None,
    top_k: int = COLUMN_TOP_K,
) -> Counterparts:
    """Counterparts of a passage in every other city (or the named ones): by its text when it is
    query-like, by its initiative and content when it is a row that states them (either way re-ranked
    towards the passage itself), else by its profile vector (module docstring)."""
    if top_k <= 0:
        raise ValueError(f"top-k must be a positive number of hits, got {top_k}")
    index = searcher.position(passage_id)
    source = searcher.passages[index]
    chosen = searcher.resolve_cities(cities) if cities else [c for c in searcher.cities if c != source.city]
    by, text = sought_by(source)
    q = score_query(searcher, text) if text else None
    columns = []
    for city in dict.fromkeys(chosen):
        allowed = searcher.mask(cities=[city])
        allowed[index] = False
        if not allowed.any():
            columns.append(Column(city, Match.NONE, (), Evidence(float("-inf"))))
        elif q is not None:

            def rank(depth: int, allowed=allowed) -> list[tuple[int, float]]:
                return toward(searcher, q, index, allowed, depth)

            column = labelled_column(searcher, q, city, allowed, rank, top_k)
            columns.append(initiative_held(column, source) if by == "content" else column)
        else:
            columns.append(profile_column(searcher, index, city, allowed, top_k))
    return Counterparts(source, tuple(columns))


def toward(
    searcher: Searcher, q: Scored, source: int, allowed: np.ndarray, top_k: int
) -> list[tuple[int, float]]:
    """The best `top_k` counterparts of passage `source` sought by its text `q`, as (passage position,
    score) pairs, best first (hits are built of those a column shows: search/compare.py
    labelled_column): the hybrid ranking of the text among `allowed` (as `search` ranks it, CANDIDATES
    deep), re-scored towards the source's profile (`with_source`), then crowded (once: the pool is the
    ranking before crowding)."""
    if searcher.ranking.source_weight == 0:  # the text's own ranking: compare's column
        return searcher.ranked(q.prepared, top_k, "hybrid", allowed, COUNTERPART_DEMOTION)
    pool = searcher.fused(q.prepared, max(CANDIDATES, top_k), "hybrid", allowed)[: max(CANDIDATES, top_k)]
    if not pool:
        return []
    rows = np.array([i for i, _ in pool], dtype=np.int64)
    profile = np.asarray(searcher.index.profiles[source], dtype=np.float32)
    cosines = np.asarray(searcher.index.vectors[rows], dtype=np.float32) @ profile
    ids, scores = with_source(rows, [s for _, s in pool], cosines, searcher.ranking.source_weight)
    ranked = list(zip(ids.tolist(), scores.tolist(), strict=True))
    return crowd(ranked, searcher.group_of(ids.tolist()), top_k, demotion=COUNTERPART_DEMOTION)


def profile_column(searcher: Searcher, index: int, city: str, allowed: np.ndarray, top_k: int) -> Column:
    """One city's counterparts of passage `index` by its profile vector, labelled by z alone."""
    depth = min(int(allowed.sum()), max(top_k, MATCH_DEPTH))  # the count must not depend on top_k
    ids, scores = searcher.index.dense.search(np.asarray(searcher.index.profiles[index]), depth, allowed)
    z = dict(
        zip(ids.tolist(), searcher.index.calibration.null(city, "passage").z(scores).tolist(), strict=True)
    )
    evidence = Evidence(float(z[int(ids[0])]), few=shipped_model().few(city_size(searcher, city)))
    # As for a query (LabelModel.matching): the best passage counts at Z_WEAK, any other only when it
    # is strong on its own (a brochure page's profile is near half of another city's passages at Z_WEAK)
    counted = {i for i, zi in z.items() if zi >= Z_STRONG_ALONE}
    if evidence.z >= Z_WEAK:
        counted.add(int(ids[0]))
    ranked = list(zip(ids.tolist(), scores.tolist(), strict=True))
    ranked = crowd(ranked, searcher.groups, top_k, demotion=COUNTERPART_DEMOTION)
    hits = tuple(Hit(searcher.passages[i], rank, s) for rank, (i, s) in enumerate(ranked, 1))
    labels = tuple(profile_label(z[i]) if i in counted else Match.NONE for i, _ in ranked)
    matching = len(counted)
    return Column(city, profile_label(evidence.z), hits, evidence, matching, labels)


def initiative_held(column: Column, source: Passage) -> Column:
    """A row's counterparts column, ◎ only where the city writes the words of the row's initiative: ○
    (related: read the passage) where one of them is among the words the city never writes, and ×
    where all of them are. A row is sought by its initiative and its content together, some forty words,
    of which a city lacking the initiative still shares many: `align` had labelled 52 of 会津若松市's 78
    rows ◎ in いわき市, most of them with the initiative's own words named absent (AI/RPA → RPA,
    コンビニ交付の拡大 → コンビニ交付); 46 of them lacked one. A city that writes none of them has no
    counterpart, whatever else it shares: a five-row table had been ○ for 77 of the 78 rows
    (中期財政見通しの策定 ↔ 動物園の入園料見直し). No judged pair's source lies so (visible 28, blind 40).
    Which passages are shown is unchanged."""
    initiative = source.initiative or ""
    absent = column.evidence.absent
    if column.match == Match.NONE or not any(w in initiative for w in absent):
        return column
    if none_written(initiative, absent):
        marks = tuple(Match.NONE for _ in column.hit_matches)
        return replace(column, match=Match.NONE, hit_matches=marks, matching=0)
    if column.match != Match.STRONG:
        return column
    marks = tuple(Match.WEAK if m == Match.STRONG else m for m in column.hit_matches)
    return replace(column, match=Match.WEAK, hit_matches=marks)


def none_written(text: str, absent: Sequence[str]) -> bool:
    """Whether every content word of `text` lies in one of the `absent` words (longest first)."""
    rest = text
    for word in sorted(absent, key=len, reverse=True):
        rest = rest.replace(word, " ")
    return bool(text.strip()) and not content_terms(tokenize(rest))
