"""Split a document into passages: its text with the splitter its layout calls for, then its table rows."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import replace

from corpus.document import Document
from corpus.normalize import running_headers
from corpus.passage import Passage
from corpus.split_blocks import split_blocks
from corpus.split_records import split_records
from corpus.split_table import find_labels, split_table

# Bump when passages change for the same input: indexes built with another version are rebuilt.
SPLITTER_VERSION = 17


def split_passages(doc: Document) -> list[Passage]:
    """Passages of one document: table rows for progress tables, items and paragraphs otherwise."""
    passages = _split_text(doc) if doc.text.strip() else []
    if doc.page_starts:
        # Text extracted per page: a passage is on the page its first line is on.
        passages = [
            replace(p, page=bisect_right(doc.page_starts, p.line_start)) if p.line_start else p
            for p in passages
        ]
    return _unique_ids(passages + split_records(doc))


def _split_text(doc: Document) -> list[Passage]:
    layout = doc.layout
    if layout == "auto":  # the table splitter reads a PDF's text (its wrap widths); other formats have
        # their tables as records, and a page whose text names two column labels is no such table
        layout = "table" if doc.format in ("text", "pdf") and find_labels(doc.text) else "blocks"
    if layout == "table":
        return split_table(doc)
    # A running header runs over pages: a text without pages (DOCX, a note) that repeats a paragraph
    # means it, and had lost it (a document of one paragraph written three times, all of it)
    # (on every page of a two-page one: three repeats are asked of longer ones)
    pages = len(doc.page_starts)
    running = running_headers(doc.text.split("\n"), min_count=min(3, pages)) if pages >= 2 else set()
    return split_blocks(doc, running)


def _unique_ids(passages: list[Passage]) -> list[Passage]:
    """Identical passages within a document keep distinct ids (suffix -2, -3 ...)."""
    seen: dict[str, int] = {}
    out = []
    for p in passages:
        n = seen.get(p.id, 0) + 1
        seen[p.id] = n
        out.append(p if n == 1 else Passage.from_dict({**p.to_dict(), "id": f"{p.id}-{n}"}))
    return out
