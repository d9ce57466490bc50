"""Split a document into passages with the splitter its layout calls for."""

from __future__ import annotations

from corpus.document import Document
from corpus.normalize import running_headers
from corpus.passage import Passage
from corpus.split_blocks import split_blocks
from corpus.split_table import find_labels, split_table

# Bump when passages change for the same input: indexes built with another version are rebuilt.
SPLITTER_VERSION = 2


def split_passages(doc: Document) -> list[Passage]:
    """Passages of one document: table rows for progress tables, items and paragraphs otherwise."""
    layout = doc.layout
    if layout == "auto":
        layout = "table" if find_labels(doc.text) else "blocks"
    if layout == "table":
        passages = split_table(doc)
    else:
        passages = split_blocks(doc, running_headers(doc.text.split("\n")))
    return _unique_ids(passages)


def _unique_ids(passages: list[Passage]) -> list[Passage]:
    """Identical passages within a document keep distinct ids (suffix -2, -3 ...)."""
    seen: dict[str, int] = {}
    out = []
    for p in passages:
        n = seen.get(p.id, 0) + 1
        seen[p.id] = n
        out.append(p if n == 1 else Passage.from_dict({**p.to_dict(), "id": f"{p.id}-{n}"}))
    return out
