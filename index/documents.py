"""A document as an index records it: what it is known by and how many passages it gave (the manifest's
"documents"). Before indexing a document is a corpus.document.Document, with its content."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from corpus.document import DocumentInfo


@dataclass(frozen=True, kw_only=True)
class IndexedDocument(DocumentInfo):
    """One indexed document: its DocumentInfo and its passages."""

    passages: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> IndexedDocument:
        """From a manifest entry (validated by index/manifest.py); unknown keys are ignored."""
        text = {f.name for f in fields(cls)} - {"passages", "fiscal_year"}
        values = {k: str(d.get(k) or "") for k in text}
        return cls(**values, passages=int(d.get("passages") or 0), fiscal_year=d.get("fiscal_year"))

    def to_dict(self) -> dict:
        """The manifest's shape: the fields that are set."""
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}
