"""A document as an index records it: its metadata and how many passages it gave (the manifest's
"documents"). Before indexing a document is a corpus.document.Document, with its content."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class IndexedDocument:
    """One indexed document: who published it, what it is, where it came from, its passages."""

    id: str
    city: str
    title: str
    passages: int = 0
    city_en: str = ""
    prefecture: str = ""
    fiscal_year: int | None = None
    period: str = ""
    kind: str = ""
    layout: str = ""
    url: str = ""
    format: str = ""
    sha256: str = ""
    source: str = ""

    @classmethod
    def from_dict(cls, d: dict) -> IndexedDocument:
        """From a manifest entry (validated by index/manifest.py); unknown keys are ignored."""
        text = {f.name for f in fields(cls)} - {"passages", "fiscal_year"}
        values = {k: str(d.get(k) or "") for k in text}
        return cls(**values, passages=int(d.get("passages") or 0), fiscal_year=d.get("fiscal_year"))

    def to_dict(self) -> dict:
        """The manifest's shape: the fields that are set."""
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}
