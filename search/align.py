"""Alignment of two cities: each initiative of A with its best counterpart in B, and what only one has."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corpus.passage import Passage
from search.compare import similar
from search.engine import Searcher
from search.hit import Hit

INITIATIVE_KINDS = ("row", "item")


@dataclass(frozen=True)
class Pair:
    """An initiative of one city and its best counterpart in the other (None when nothing matches)."""

    source: Passage
    counterpart: Hit | None
    match: str
    z: float


@dataclass(frozen=True)
class Alignment:
    """Both directions of the comparison of two cities."""

    city_a: str
    city_b: str
    pairs: tuple[Pair, ...]
    only_a: tuple[Passage, ...]
    only_b: tuple[Passage, ...]


def initiatives(searcher: Searcher, city: str) -> list[int]:
    """Positions of a city's initiative-level passages (table rows, list items); all passages if none."""
    # Read from the passage columns: nothing is decoded but the passages that are returned.
    own = np.flatnonzero(searcher.passages.isin("city", [city]))
    chosen = own[searcher.passages.isin("kind", INITIATIVE_KINDS)[own]]
    return (chosen if len(chosen) else own).tolist()


def _direction(searcher: Searcher, source_city: str, target_city: str) -> list[Pair]:
    pairs = []
    for i in initiatives(searcher, source_city):
        p = searcher.passages[i]
        column = similar(searcher, p.id, [target_city], top_k=1).columns[0]
        best = column.hits[0] if column.hits and column.match != "none" else None
        pairs.append(Pair(p, best, column.match, column.evidence.z))
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
    return Alignment(a, b, tuple(forward), only_a, only_b)
