"""What extraction returns (text with page boundaries, table rows as records) and the limits it obeys."""

from __future__ import annotations

import json
from dataclasses import dataclass

from corpus.refusal import Refusal

MAX_CELLS = 1_000_000  # spreadsheet cells per document: a progress sheet of 500 rows × 40 columns is 20,000
MAX_PASSAGES = 5_000  # passages per document: each costs an embedding (about 0.3 s on a laptop CPU)
PARSER_MEMORY_BYTES = 3 * 2**30  # address space of the child process a PDF, XLSX or DOCX is parsed in


@dataclass(frozen=True)
class Limits:
    """Bounds on an untrusted file: its size, pages (or sheets), unzipped size, parse time, the cells it
    may hold, the passages it may make, and the parser's memory."""

    max_bytes: int
    max_pages: int
    max_unzipped_bytes: int
    timeout_s: float
    max_cells: int = MAX_CELLS
    max_passages: int = MAX_PASSAGES
    memory_bytes: int = PARSER_MEMORY_BYTES


class CellCount:
    """Cells read so far from one document, refused the moment they pass the limit."""

    def __init__(self, name: str, limit: int) -> None:
        self.name, self.limit, self.seen = name, limit, 0

    def declared(self, rows: int, columns: int, where: str) -> None:
        """Refuse a sheet whose own header claims more cells than the limit, before reading a row."""
        if rows * columns > self.limit:
            raise Refusal(
                f"{self.name}: {where} declares {rows:,} rows × {columns:,} columns; the limit is "
                f"{self.limit:,} cells (max_cells)",
                f"{self.name}：{where} は {rows:,} 行 × {columns:,} 列あり、"
                f"上限の {self.limit:,} セルを超えます",
            )

    def add(self, cells: int) -> None:
        self.seen += cells
        if self.seen > self.limit:
            raise Refusal(
                f"{self.name} holds more than {self.limit:,} cells; the limit is {self.limit:,} (max_cells)",
                f"{self.name} のセル数が上限の {self.limit:,} を超えます（max_cells）",
            )


@dataclass(frozen=True)
class Record:
    """One row of a table: its cells under their column names, in column order, and where it was found."""

    cells: tuple[tuple[str, str], ...]
    page: int | None = None  # PDF page, 1-based
    row: int | None = None  # row number as the reader sees it (spreadsheet row, table row)
    sheet: str = ""  # sheet name, or the heading the table stands under

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return {
            "cells": [list(c) for c in self.cells],
            "page": self.page,
            "row": self.row,
            "sheet": self.sheet,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Record:
        """Inverse of `to_dict`."""
        cells = tuple((str(k), str(v)) for k, v in d["cells"])
        return cls(cells, d.get("page"), d.get("row"), str(d.get("sheet", "")))


@dataclass(frozen=True)
class Extracted:
    """The content of one file: running text (pages start at `page_starts` lines) plus table rows."""

    text: str
    format: str
    page_starts: tuple[int, ...] = ()
    records: tuple[Record, ...] = ()

    def to_json(self) -> str:
        """The stored form (UTF-8 JSON): what the library keeps instead of the uploaded file."""
        return json.dumps(
            {
                "format": self.format,
                "text": self.text,
                "page_starts": list(self.page_starts),
                "records": [r.to_dict() for r in self.records],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Extracted:
        """Inverse of `to_json`."""
        d = json.loads(text)
        records = tuple(Record.from_dict(r) for r in d.get("records", []))
        return cls(str(d["text"]), str(d["format"]), tuple(int(n) for n in d.get("page_starts", [])), records)

    @property
    def empty(self) -> bool:
        """True when the file held no text at all."""
        return not self.text.strip() and not any(v.strip() for r in self.records for _, v in r.cells)


def join_pages(pages: list[list[str]]) -> tuple[str, tuple[int, ...]]:
    """Text of pages (lists of lines) with a blank line between pages, and each page's first line number."""
    lines: list[str] = []
    starts = []
    for page in pages:
        if lines:
            lines.append("")
        starts.append(len(lines) + 1)
        lines.extend(page)
    return "\n".join(lines), tuple(starts)
