"""A document as an index records it: what it is known by and how many passages it gave (the manifest's
"documents"). Before indexing a document is a corpus.document.Document, with its content."""

from __future__ import annotations

from collections.abc import Sequence
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
        """Every field, in one shape for every document (`documents --json`): an unset text is "", an
        unknown year null (the fields that are set alone had made each document's keys differ)."""
        return asdict(self)


def named_documents(documents: Sequence[IndexedDocument], names: Sequence[str]) -> list[str]:
    """The ids of the documents `names` name, by id or by title (every document of that title: two
    cities may use one); ValueError naming the known ids for a name no document has."""
    known: dict[str, set[str]] = {}
    for d in documents:
        known.setdefault(d.id, set()).add(d.id)
        known.setdefault(d.title, set()).add(d.id)
    unknown = [name for name in names if name not in known]
    if unknown:
        ids = sorted(d.id for d in documents)
        raise ValueError(f"unknown document {unknown[0]!r}; known ids: {', '.join(ids)}")
    return sorted(set().union(*(known[name] for name in names)))


def indexed_years(documents: Sequence[IndexedDocument], years: Sequence[int]) -> list[int]:
    """`years` as numbers; ValueError naming the indexed years when no document is of any of them (as an
    unknown city or document is said: "no passages match" had read as an answer)."""
    indexed = sorted({d.fiscal_year for d in documents if d.fiscal_year})
    wanted = [int(y) for y in years]
    if not set(wanted) & set(indexed):
        have = ", ".join(map(str, indexed)) or "none"
        raise ValueError(f"no document of fiscal year {wanted[0]}; indexed fiscal years: {have}")
    return wanted
