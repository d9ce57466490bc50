"""PDF: text per page with pypdfium2 (fast), ruled tables rebuilt row by row with pdfplumber.

Only pages that draw lines are given to pdfplumber; it finds tables from ruling lines and places each
word in its cell by position, so a row comes back whole instead of as interleaved column fragments.
Each table row becomes a record (its page, the heading above the table, cells under the header
row's names, a two-level header's joined); a table continued on the next page without its header keeps
the previous names, and a row a page break cuts is one record on the page where it starts.

Over 300 lines, as one reader of one format: the page text, the tables found on it and the records
read from them depend on each other (a table's cells are left out of the text, its heading is read from
the text above it, a cut row's rest is found on the next page's table), and are read together.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from corpus.columns import GROUPING, NOTE_MARKS, column_role, table_roles
from corpus.extract.base import Extracted, Limits, Record, join_pages
from corpus.extract.table import column_names, header_index, joined_header, sub_header, unwrap
from corpus.headings import heading
from corpus.normalize import clean_text, join_lines
from corpus.refusal import Refusal

MIN_PATHS = 3  # drawn paths on a page before it is searched for ruled tables
MAX_HEADING_CHARS = 40
MIN_CLOSING = 3  # vertical rules that end together where a table lacks its horizontal rule


@dataclass
class _Line:
    text: str
    top: float  # PDF user space: y grows upwards
    bottom: float


@dataclass
class _Table:
    bbox: tuple[float, float, float, float]  # left, bottom, right, top in PDF user space
    rows: list[list[str]]
    # per row, the columns whose cell a merged cell above covers (pdfplumber gives no cell there)
    covered: list[frozenset[int]] | None = None

    def merged(self, column: int) -> bool:
        """Whether the column has a cell merged over rows (its blank own cell then starts a group)."""
        return any(column in c for c in self.covered or ())


def extract(data: bytes, name: str, limits: Limits) -> Extracted:
    """Text with page boundaries and one record per table row; refuses encrypted and image-only PDFs."""
    if b"%%EOF" not in data[-2048:]:
        raise Refusal(
            f"{name} is truncated or damaged (no %%EOF marker at its end); get a complete copy",
            f"{name} は途中で切れているか壊れています（末尾に %%EOF がありません）。"
            "完全なファイルを用意してください",
        )
    pdf = _open(data, name)
    try:
        if len(pdf) > limits.max_pages:
            raise Refusal(
                f"{name} has {len(pdf):,} pages; the limit is {limits.max_pages:,} (max_pages)",
                f"{name} は {len(pdf):,} ページあります。上限は {limits.max_pages:,} ページです（max_pages）",
            )
        ruled = [n for n in range(len(pdf)) if _draws_lines(pdf[n])]
        tables = _tables(data, ruled)
        pages = [_lines(pdf[n], tables.get(n, [])) for n in range(len(pdf))]
    finally:
        pdf.close()
    records = _records(pages, tables)
    # One leading space marks a page's first line, as the text splitter expects of extracted PDF text.
    text, starts = join_pages(
        [[(" " if k == 0 else "") + x.text for k, x in enumerate(page)] for page in pages]
    )
    extracted = Extracted(clean_text(text), "pdf", starts, tuple(records))
    if extracted.empty:
        raise Refusal(
            f"{name} has no text layer: OCR is not supported (it is scanned images only)",
            f"{name} には文字情報がありません（画像だけのスキャンPDF）。文字認識（OCR）には対応していません",
        )
    return extracted


def _open(data: bytes, name: str) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise Refusal(
                f"{name} is encrypted (password-protected); add an unprotected copy",
                f"{name} はパスワードで保護されています。保護のないコピーを追加してください",
            ) from None
        raise Refusal(
            f"{name} is damaged and cannot be opened as a PDF ({e})",
            f"{name} は壊れていてPDFとして開けません",
        ) from None


def _draws_lines(page: pdfium.PdfPage) -> bool:
    paths = page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=2)
    return sum(1 for _, _ in zip(range(MIN_PATHS), paths, strict=False)) >= MIN_PATHS


def _tables(data: bytes, page_numbers: list[int]) -> dict[int, list[_Table]]:
    """Ruled tables of the given pages (0-based), top to bottom, each with its rows of cell text."""
    if not page_numbers:
        return {}
    out: dict[int, list[_Table]] = {}
    with pdfplumber.open(io.BytesIO(data), pages=[n + 1 for n in page_numbers]) as pdf:
        for n, page in zip(page_numbers, pdf.pages, strict=True):
            found = []
            closing = _closing_lines(page)
            for table in page.find_tables({"explicit_horizontal_lines": closing} if closing else None):
                cells = table.extract()
                rows = [[unwrap(clean_text(c or "")) for c in row] for row in cells]  # as the page's text
                if rows and max(len(r) for r in rows) >= 2:
                    x0, top, x1, bottom = table.bbox
                    covered = [frozenset(k for k, c in enumerate(row) if c is None) for row in cells]
                    found.append(_Table((x0, page.height - bottom, x1, page.height - top), rows, covered))
            if found:
                out[n] = sorted(found, key=lambda t: -t.bbox[3])
            page.close()
    return _one_row_continuations_only(out)


def _closing_lines(page) -> list[dict]:
    """The rules a table's cut row lacks: where three or more of a page's vertical rules end together with
    no horizontal rule there (the page's bottom under a row a page break cuts, the line under a header
    repeated over its rest, as some programs draw them), a rule across those verticals; without it the
    table is not found at all and its cells run into the text."""
    ends: dict[int, list[float]] = {}
    for edge in page.edges:
        if edge["orientation"] == "v":
            for y in (edge["top"], edge["bottom"]):
                ends.setdefault(round(y), []).append(edge["x0"])
    ruled = [edge["top"] for edge in page.edges if edge["orientation"] == "h"]
    return [
        _rule(min(xs), max(xs), y)
        for y, xs in ends.items()
        if len(xs) >= MIN_CLOSING and not any(abs(y - r) <= 1 for r in ruled)
    ]


def _rule(x0: float, x1: float, y: float) -> dict:
    return {"object_type": "line", "x0": x0, "x1": x1, "top": y, "bottom": y, "width": x1 - x0}


def _one_row_continuations_only(tables: dict[int, list[_Table]]) -> dict[int, list[_Table]]:
    """The tables without those of one row, unless it continues the table that ends the page before (the
    rest of a row a page break cut, alone on its page: it had become loose paragraphs); any other box
    of one row (a framed title or note) is text."""
    out: dict[int, list[_Table]] = {}
    for n in sorted(tables):
        kept = []
        for k, table in enumerate(tables[n]):
            before = tables.get(n - 1)
            width = max(len(r) for r in table.rows)
            continues = k == 0 and before and max(len(r) for r in before[-1].rows) == width
            if len(table.rows) >= 2 or continues:
                kept.append(table)
        if kept:
            out[n] = kept
    return out


def _lines(page: pdfium.PdfPage, tables: list[_Table]) -> list[_Line]:
    """Text lines of a page outside its tables, a blank line where the gap between lines is a paragraph's."""
    textpage = page.get_textpage()
    try:
        runs = _runs(textpage, tables)
    finally:
        textpage.close()
    lines: list[_Line] = []
    for text, top, bottom in runs:
        prev = lines[-1] if lines else None
        if prev and bottom < prev.top and top > prev.bottom:  # overlaps vertically: same line
            prev.text += " " + text
            prev.top, prev.bottom = max(prev.top, top), min(prev.bottom, bottom)
            continue
        if prev and prev.text and (prev.bottom - top > 0.8 * (prev.top - prev.bottom) or top > prev.top):
            lines.append(_Line("", prev.bottom, prev.bottom))
        lines.append(_Line(text, top, bottom))
    return lines


def _runs(textpage: pdfium.PdfTextPage, tables: list[_Table]) -> list[tuple[str, float, float]]:
    """(text, top, bottom) of each stretch of a text line outside the tables, in pdfium's reading order.

    Chars are placed by their loose boxes (font size and the font's ascent and descent), not by pdfium's
    text rects or tight boxes: those are measured on glyph outlines, so where a PDF's font is not embedded
    and no installed font has its glyphs (a Japanese font on a machine without one), they are empty and
    whole lines of text are lost.
    """
    runs: list[tuple[str, float, float]] = []
    codes: list[int] = []
    top, bottom = -math.inf, math.inf

    def end_run() -> None:
        nonlocal top, bottom
        # Characters outside the Basic Multilingual Plane may come as two UTF-16 surrogates.
        text = "".join(map(chr, codes)).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        if text.strip():
            runs.append((text.strip(), top, bottom))
        codes.clear()
        top, bottom = -math.inf, math.inf

    for k in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage, k)
        if code in (0x0A, 0x0D):  # pdfium's line break
            end_run()
            continue
        if not code or code > 0x10FFFF:
            continue
        if pdfium_c.FPDFText_IsGenerated(textpage, k) != 1:  # a generated space has no box of its own
            left, b, right, t = textpage.get_charbox(k, loose=True)
            cx, cy = (left + right) / 2, (b + t) / 2
            if any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in (x.bbox for x in tables)):
                end_run()  # table cells are records, not text
                continue
            top, bottom = max(top, t), min(bottom, b)
        codes.append(code)
    end_run()
    return runs


def _records(pages: list[list[_Line]], tables: dict[int, list[_Table]]) -> list[Record]:
    """Rows of every table under its column names; a table without a header row continues the last one,
    and a row a page break cut in two is one record (`_continued`), on the page where it starts."""
    records: list[Record] = []
    columns: list[str] | None = None
    heading = ""
    blank: dict[int, int] = {}  # grouping column -> record whose merged group the page left unlabelled
    for n in sorted(tables):
        for k, table in enumerate(tables[n]):
            rows = table.rows
            width = max(len(r) for r in rows)
            names, start = _header(rows, width)
            labelled = sum(column_role(c) is not None for c in rows[0] if c) >= 2
            repeated = k == 0 and n > min(tables) and names == columns  # its header again on a new page
            # Only the top table of a page can continue the previous page's table.
            continues = k == 0 and columns is not None and len(columns) == width and not repeated
            if continues and not labelled:
                first = 0
            else:
                # a repeated header's table stays under its heading, not under the new page's top line;
                # a numbered heading above it on the new page starts a new section all the same
                heading = _heading_above(pages[n], table, numbered_only=repeated) or heading
                columns, first = names, start
            if not (continues or repeated):
                blank = {}
            roles = table_roles(columns)
            grouping = [c for c, name in enumerate(columns) if roles[name] in GROUPING]
            for j, row in enumerate(rows[first:]):
                if any(row):
                    cells = tuple(zip(columns, row + [""] * (width - len(row)), strict=True))
                    if j == 0 and blank:
                        _label_blank_groups(records, blank, cells)
                    if j == 0 and (continues or repeated) and records and _continued(records[-1], cells):
                        records[-1] = replace(records[-1], cells=_joined(records[-1].cells, cells))
                        continue
                    records.append(Record(cells, page=n + 1, sheet=heading))
                    for c in grouping:
                        if cells[c][1]:
                            blank.pop(c, None)
                        elif table.merged(c) and c not in table.covered[first + j]:
                            blank[c] = len(records) - 1  # a merged group's own blank cell: a new group
    return records


def _label_blank_groups(
    records: list[Record], blank: dict[int, int], cells: tuple[tuple[str, str], ...]
) -> None:
    """A merged grouping cell that a page break cuts is printed once, often on the later page (centred in
    its rows there): the rows above the break stand in a blank merged cell of their own, a new group,
    whose label is the one the next page's first row carries. Without it they took the group above's."""
    for c, k in blank.items():
        if cells[c][1]:
            name = cells[c][0]
            filled = tuple((m, cells[c][1] if m == name else v) for m, v in records[k].cells)
            records[k] = replace(records[k], cells=filled)
    blank.clear()


def _header(rows: list[list[str]], width: int) -> tuple[list[str], int]:
    """A table's column names and where its data starts: the header row (`header_index`; else the
    first), joined with the line below it when that is a two-level header's second line (「令和6年度」
    over 「取組状況」「評価」: 令和6年度取組状況, 令和6年度評価)."""
    h = header_index(rows)
    h = 0 if h is None else h
    header = rows[h] + [""] * (width - len(rows[h]))
    if h + 1 < len(rows) and sub_header(header, rows[h + 1]):
        return column_names(joined_header(header, rows[h + 1])), h + 2
    return column_names(header), h + 1


MIN_PROSE_CHARS = 20  # a cell this long is prose that a page break can cut mid-sentence (not 架空市民課, A)
_SENTENCE_END = ("。", "．", ".", "！", "？", "!", "?", "）", ")", "」")


def _continued(previous: Record, cells: tuple[tuple[str, str], ...]) -> bool:
    """Whether the first row of a page continues the last row of the page before, cut by the page break:
    its initiative, grouping and department cells are blank, it fills only cells the row above filled,
    and the row above left one of those mid-sentence (「…四号状況の文17は架空の」 | 「記述である。…」). A
    row that starts afresh (its own department, every sentence above ended) is a row of its own, its
    initiative filled down."""
    roles = table_roles(name for name, _ in cells)
    above = dict(previous.cells)
    if tuple(above) != tuple(name for name, _ in cells):  # another table's row
        return False
    filled = [(name, value) for name, value in cells if value]
    if not filled or any(roles[name] in (*GROUPING, "department") for name, _ in filled):
        return False  # a sub-row of its own: the merged initiative's next department
    if any(not above.get(name) for name, _ in filled):
        return False
    prose = [above[name].rstrip() for name, _ in filled if len(above[name]) >= MIN_PROSE_CHARS]
    return any(not text.endswith(_SENTENCE_END) for text in prose)


def _joined(
    cells: tuple[tuple[str, str], ...], more: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """Each cell with its continuation on the next page, joined as wrapped lines are."""
    extra = dict(more)
    return tuple(
        (name, join_lines([value, extra[name]]) if extra.get(name) else value) for name, value in cells
    )


def _heading_above(lines: list[_Line], table: _Table, numbered_only: bool = False) -> str:
    """The heading a table stands under on its page: the nearest numbered short line above it (「2 取組項目
    別の進捗状況」, not the legend 「評価基準 A：…」 between them), else (unless `numbered_only`) the nearest
    short line that is no note (「※評価 A：計画どおり…」), if any."""
    above = [x for x in lines if x.text and x.bottom >= table.bbox[3] - 1]
    numbered = [x for x in above if heading(x.text)]
    if numbered_only and not numbered:
        return ""
    above = [x for x in above if not x.text.startswith(NOTE_MARKS)]
    nearest = min(numbered or above, key=lambda x: x.bottom, default=None)
    if nearest is None or len(nearest.text) > MAX_HEADING_CHARS or nearest.text.endswith(("。", "、")):
        return ""  # the end of a paragraph, not a heading
    return nearest.text
