"""The one result type returned by lexical, dense and hybrid search alike."""

from __future__ import annotations

from dataclasses import dataclass

from corpus.passage import Passage


@dataclass(frozen=True)
class Hit:
    """A passage at a rank, with its score and the query terms it matched."""

    passage: Passage
    rank: int
    score: float
    matched: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """Flat JSON-ready dict following the CLI contract (id, rank, score, city, document, text, ...)."""
        p = self.passage.to_dict()
        return {
            "id": p.pop("id"),
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "city": p.pop("city"),
            "document": p.pop("document"),
            "text": p.pop("text"),
            **p,
            "highlights": list(self.matched),
        }
