"""The one result type returned by lexical, dense and hybrid search alike."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from corpus.passage import Passage
from index.marks import word_bounds

# A table row's field label as its text writes it: 「R6取組状況：」 opening a line or after a space
_FIELD_LABEL = re.compile(r"(?:^|(?<=\s))[^\s：:]{1,16}[：:]", re.MULTILINE)


def spans(text: str, terms: Sequence[str], fields: Sequence[str] = ()) -> list[tuple[str, bool]]:
    """`text` cut into (piece, matched) at every occurrence of the matched terms that is whole words as
    the tagger reads `text` (index/marks.py `word_bounds`: 可 is not marked inside 可能), longest first
    and ignoring case (terms side by side as one piece); what the terminal and the browser each mark in
    their own way. A term inside a field label of the passage's (`fields`: a table row's column names)
    is not marked: every row writes 「R6取組状況：」, and 取組 marked there says nothing. A list item's
    own 「書かない窓口の導入：…」 is no field label: its name is marked."""
    terms = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return [(text, False)] if text else []
    named = set(fields)
    labels = [m.span() for m in _FIELD_LABEL.finditer(text) if m.group()[:-1] in named]
    bounds = word_bounds(text)
    folded = [(t.lower(), len(t)) for t in terms]
    out, last = [], 0
    for start in sorted(bounds):
        if start < last:
            continue
        end = next(
            (start + n for t, n in folded if start + n in bounds and text[start : start + n].lower() == t),
            None,
        )
        if end is None or any(a <= start and end <= b for a, b in labels):
            continue
        out += [(text[last:start], False), (text[start:end], True)]
        last = end
    out.append((text[last:], False))
    # words marked side by side are one mark: 【時間外勤務】, not 【時間】【外】【勤務】
    merged: list[tuple[str, bool]] = []
    for piece, marked in out:
        if not piece:
            continue
        if merged and marked and merged[-1][1]:
            merged[-1] = (merged[-1][0] + piece, True)
        else:
            merged.append((piece, marked))
    return merged


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


@dataclass(frozen=True)
class Results:
    """A query's ranked hits: what a search answers, in the CLI's JSON and the API alike."""

    query: str
    hits: tuple[Hit, ...]
    content: bool = True  # False: the query has no content word, so nothing is found (say why)

    def to_dict(self) -> dict:
        """{"query", "hits"}: the CLI contract's shape, and whether the query had a content word."""
        return {"query": self.query, "content": self.content, "hits": [h.to_dict() for h in self.hits]}
