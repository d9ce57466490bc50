"""Alignment of two cities: each initiative of A with its best counterpart in B, and what only one has."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corpus.passage import Passage
from search.compare import Column
from search.counterparts import similar
from search.engine import Searcher
from search.hit import Hit

INITIATIVE_KINDS = ("row", "item")


@dataclass(frozen=True)
class Pair:
    """An initiative of one city and the other city's column of its counterparts (top 1)."""

    source: Passage
    column: Column

    @property
    def match(self) -> str:
        return str(self.column.match)

    @property
    def counterpart(self) -> Hit | None:
        """The best counterpart, or None when nothing matches."""
        return self.column.hits[0] if self.column.hits and self.match != "none" else None

    @property
    def absent(self) -> tuple[str, ...]:
        """The source's words the other city never writes (a ○ is read with them: search/labels.py)."""
        return self.column.evidence.absent

    @property
    def z(self) -> float:
        """The cosine z of the best candidate against the other city's null."""
        return self.column.evidence.z


@dataclass(frozen=True)
class Alignment:
    """Both directions of the comparison of two cities."""

    city_a: str
    city_b: str
    pairs: tuple[Pair, ...]
    only_a: tuple[Passage, ...]
    only_b: tuple[Passage, ...]
    few: tuple[str, ...] = ()  # of the two, cities of fewer passages than the label model's (less certain)


def initiatives(searcher: Searcher, city: str) -> list[int]:
    """Positions of a city's initiative-level passages, document by document: a document's table rows
    and list items, or all its passages where it has none (a report written in paragraphs, one per
    initiative). A city's progress table had hidden every initiative of its paragraph report."""
    # Read from the passage columns: nothing is decoded but the passages that are returned.
    own = np.flatnonzero(searcher.passages.isin("city", [city]))
    documents = searcher.passages.column("document")[own]
    listed = searcher.passages.isin("kind", INITIATIVE_KINDS)[own]
    keep = np.zeros(len(own), dtype=bool)
    for document in np.unique(documents):
        its = documents == document
        keep |= its & listed if (its & listed).any() else its
    return own[keep].tolist()


def _direction(searcher: Searcher, source_city: str, target_city: str) -> list[Pair]:
    pairs = []
    for i in initiatives(searcher, source_city):
        p = searcher.passages[i]
        pairs.append(Pair(p, similar(searcher, p.id, [target_city], top_k=1).columns[0]))
    return pairs


def align(searcher: Searcher, city_a: str, city_b: str) -> Alignment:
    """Every initiative of A with its best counterpart in B; initiatives without one, in either direction."""
    a, b = searcher.resolve_cities([city_a, city_b])
    if a == b:
        raise ValueError(f"align needs two different cities, got {a!r} twice")
    forward = _direction(searcher, a, b)
    backward = _direction(searcher, b, a)
    only_a = tuple(p.source for p in forward if p.counterpart is None)
    only_b = tuple(p.source for p in backward if p.counterpart is None)
    shown_few = {p.column.city for p in (*forward, *backward) if p.column.evidence.few}
    few = tuple(c for c in (a, b) if c in shown_few)
    return Alignment(a, b, tuple(forward), only_a, only_b, few)
