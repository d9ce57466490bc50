"""Rows of a table to records: find the header row, name the columns, keep the rest as data; CSV files."""

from __future__ import annotations

import csv
import io
import re

from corpus.columns import NOTE_MARKS, column_role
from corpus.extract.base import CellCount, Extracted, Limits, Record
from corpus.extract.text import decode_text
from corpus.normalize import clean_text, join_lines, width

HEADER_SEARCH = 10  # rows above the header (a title, a date) are looked through, no further
_NUMBER = re.compile(r"^[\d,.\-+%％()（）\s]+$")
_PARAGRAPH_START = re.compile(r"^[\u3000・【※■●○◆◇□▪•]|^[（(]\d")


def _label_like(cell: str) -> bool:
    return bool(cell) and len(cell) <= 30 and "。" not in cell and not _NUMBER.match(cell)


def is_header(row: list[str]) -> bool:
    """A row that names columns: two progress-table labels, or two or more short non-numeric cells only."""
    cells = [c for c in row if c]
    if sum(column_role(c) is not None for c in cells) >= 2:
        return True
    return len(cells) >= 2 and len(cells) >= len(row) / 2 and all(_label_like(c) for c in cells)


def header_index(rows: list[list[str]]) -> int | None:
    """Index of the header row: the first with progress-table labels, else the first header-like row."""
    top = rows[:HEADER_SEARCH]
    for n, row in enumerate(top):
        if sum(column_role(c) is not None for c in row if c) >= 2:
            return n
    return next((n for n, row in enumerate(top) if is_header(row)), None)


def column_names(header: list[str]) -> list[str]:
    """Header cells as column names: blanks become 列N, repeats get (2), (3)."""
    names: list[str] = []
    for n, cell in enumerate(header, 1):
        name = re.sub(r"\s+", "", cell) or f"列{n}"
        base, k = name, 1
        while name in names:
            k += 1
            name = f"{base}({k})"
        names.append(name)
    return names


def sheet_records(
    rows: list[list[str]], sheet: str = "", first_row: int | None = 1, page: int | None = None
) -> tuple[list[Record], list[str]]:
    """Records of one table or sheet (row numbers counted from `first_row`; None: a table within a text,
    whose rows are cited by its heading, not by a number a reader would take for a line of the text),
    and its lines of non-table text.

    Rows above the header that title it (one cell of a line, no sentence: 「令和6年度 行財政改革 取組状況」,
    「9月末現在」) are its caption, the last part of its rows' section: as a passage of its own, a bare
    title ranked first in its city's column for questions it names no answer to. Other rows above it
    (notes, sentences) become text, each a paragraph of its own (a blank line after it); with no header
    found, every row is text.
    """
    # cells read as text is: no invisible characters, look-alikes fixed
    rows = [[clean_text(c) for c in row] for row in rows]
    h = header_index(rows)
    if h is None:
        return [], _paragraphs(rows)
    header, first = rows[h], h + 1
    if first < len(rows) and sub_header(header, rows[first]):  # 令和6年度 over 実績 | 評価
        padded = header + [""] * (len(rows[first]) - len(header))  # a trailing merged cell reads short
        header, first = joined_header(padded, rows[first]), first + 1
    columns = column_names(header)
    caption = " ".join(c for row in rows[:h] if _caption(row) for c in row if c)
    # the caption follows the sheet's name, unless it says it again (進捗管理表 in 「…進捗管理表」)
    if caption:
        sheet = caption if sheet in caption else f"{sheet} > {caption}"
    lead = _paragraphs([row for row in rows[:h] if not _caption(row)])
    records = [
        Record(
            tuple(zip(columns, _fit(row, len(columns)), strict=True)),
            page,
            None if first_row is None else first_row + n,
            sheet,
        )
        for n, row in enumerate(rows[first:], first)
        if any(row)
    ]
    return records, lead


CAPTION_CHARS = 80  # the longest line above a table's header read as its title


def _caption(row: list[str]) -> bool:
    """A line titling the table below it: one cell, short, no sentence, no note (※…)."""
    cells = [c for c in row if c]
    return (
        len(cells) == 1
        and len(cells[0]) <= CAPTION_CHARS
        and "。" not in cells[0]
        and not cells[0].startswith(NOTE_MARKS)
    )


def _paragraphs(rows: list[list[str]]) -> list[str]:
    """Rows as lines of text, each followed by a blank line."""
    return [line for row in rows if any(row) for line in (" ".join(c for c in row if c), "")]


def sub_header(header: list[str], row: list[str]) -> bool:
    """Whether `row` is the second line of a two-level header: short labels only, and either a few of
    them with at least one under a group, or two or more all under groups. A header cell spanning two
    columns reads as the cell and a blank beside it; a group is such a cell or a blank that continues
    one (`header` padded to the row: a sheet's trailing merged cell reads short). The second form is a
    grouped header's usual row (令和6年度 over 目標 | 実績 | 評価, 令和7年度 over 目標 | 効果額), its other
    columns merged down over both rows and so blank in it."""
    filled = [n for n, c in enumerate(row) if c]
    if not filled or not all(_label_like(row[n]) for n in filled):
        return False
    header = header + [""] * (len(row) - len(header))

    def grouped(n: int) -> bool:
        return not header[n] or (n + 1 < len(header) and not header[n + 1])

    if len(filled) <= len(row) / 2 and any(grouped(n) for n in filled):
        return True
    return len(filled) >= 2 and all(grouped(n) for n in filled)


def joined_header(header: list[str], sub: list[str]) -> list[str]:
    """Column names from a two-level header: the upper cell (a blank one continues the merged cell to
    its left) followed by the lower one."""
    out, upper = [], ""
    for n in range(max(len(header), len(sub))):
        top = header[n] if n < len(header) else ""
        upper = top or (upper if n < len(sub) and sub[n] else "")
        below = sub[n] if n < len(sub) else ""
        out.append(f"{upper}{below}" if below else top)
    return out


def _fit(row: list[str], n: int) -> list[str]:
    """A row cut or padded to n cells; text past the last named column joins the last cell."""
    if len(row) <= n:
        return row + [""] * (n - len(row))
    return [*row[: n - 1], " ".join(c for c in row[n - 1 :] if c)]


# A line naming a whole section of the city hall (市民課, 情報政策室, 庶務係): two such lines in a cell are
# two names, one per line (a 担当課 cell of 市民課 / 税務課 had read 「市民課税務課」), not one name wrapped
_SECTION_NAME = re.compile(r"^\S{2,12}[課室係]$")


def unwrap(cell: str) -> str:
    """PDF cell text: lines wrapped at the cell's width joined; bullets, short lines and the names of two
    sections of the city hall one under the other end paragraphs."""
    lines = [x.strip() for x in cell.split("\n") if x.strip()]
    if not lines:
        return ""
    full = max(width(x) for x in lines)
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        prev = paragraphs[-1][-1] if paragraphs[-1] else ""
        ended = prev.endswith(("。", "】")) and width(prev) < full - 1.5
        named = bool(_SECTION_NAME.match(prev) and _SECTION_NAME.match(line))
        if prev and (ended or named or _PARAGRAPH_START.match(line)):
            paragraphs.append([])
        paragraphs[-1].append(line)
    return "\n".join(join_lines(p) for p in paragraphs)


def extract_csv(data: bytes, name: str, limits: Limits) -> Extracted:
    """A CSV file (any of the text encodings, comma or tab separated): one record per row under the header."""
    text = decode_text(data, name)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    cells = CellCount(name, limits.max_cells)
    rows = []
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            cells.add(len(row))
            rows.append([c.strip() for c in row])
    except csv.Error as e:
        raise ValueError(f"{name} is not valid CSV: {e}") from None
    records, lead = sheet_records(rows)
    return Extracted("\n".join(lead), "csv", (), tuple(records))
