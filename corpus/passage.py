"""The passage: one citable unit of a report (an initiative row, a paragraph, a list item)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corpus.document import Document


@dataclass(frozen=True)
class Passage:
    """A focused piece of a document with the metadata needed to cite it."""

    id: str
    doc_id: str
    city: str
    document: str
    text: str
    fiscal_year: int | None = None
    section: str = ""
    initiative: str | None = None
    department: str | None = None
    kind: str = "paragraph"
    line_start: int | None = None
    line_end: int | None = None
    page: int | None = None
    fields: tuple[tuple[str, str], ...] = field(default=())

    def to_dict(self) -> dict:
        """Plain JSON-ready dict; `fields` becomes an ordered mapping."""
        d = asdict(self)
        d["fields"] = dict(self.fields)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Passage:
        """Inverse of `to_dict`."""
        d = dict(d)
        d["fields"] = tuple((str(k), str(v)) for k, v in (d.get("fields") or {}).items())
        return cls(**d)

    @property
    def context(self) -> str:
        """Section path and initiative, as one line for display and citations."""
        parts = [p for p in (self.section, self.initiative) if p]
        return " > ".join(parts)

    @property
    def field_names(self) -> tuple[str, ...]:
        """A table row's column names, as its text writes them before each value (「R6取組状況：」)."""
        return tuple(name for name, _ in self.fields)

    def lines(self, dash: str = "–") -> str:
        """The passage's line span as cited ("12–18"; one line: "12"), or "" when it has none."""
        if not self.line_start:
            return ""
        if self.line_end == self.line_start:
            return str(self.line_start)
        return f"{self.line_start}{dash}{self.line_end}"


def passage_id(doc_id: str, *parts: str) -> str:
    """Stable id from the document id and the passage's identifying content."""
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:10]
    return f"{doc_id}:{digest}"


def document_passage(doc: Document, key: str, text: str, section: str = "", **meta: Any) -> Passage:
    """A passage of `doc` (its id, city, title and year filled in), its id from section, `key` and text."""
    return Passage(
        id=passage_id(doc.id, section, key, text),
        doc_id=doc.id,
        city=doc.city,
        document=doc.title,
        text=text,
        fiscal_year=doc.fiscal_year,
        section=section,
        **meta,
    )
