"""Word documents: paragraphs in order (headings as `#` headings, list items as bullets), tables as rows."""

from __future__ import annotations

import io
import re

import docx
from docx.table import Table

from corpus.extract.base import Extracted, Limits
from corpus.extract.safezip import open_checked
from corpus.extract.table import sheet_records
from corpus.headings import nested, section_path
from corpus.normalize import clean_text
from corpus.refusal import Refusal

_HEADING = re.compile(r"^(?:Heading|見出し)\s*(\d)$|^Title$", re.IGNORECASE)


def extract(data: bytes, name: str, limits: Limits) -> Extracted:
    """Paragraph text, headings marked `#`, and one record per table row under the table's header row."""
    open_checked(data, name, limits)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises many kinds on a damaged package
        raise Refusal(
            f"{name} is not a readable Word document ({type(e).__name__}: {e})",
            f"{name} は Word 文書として読めません",
        ) from None
    lines: list[str] = []
    records = []
    path: list[tuple[int, str]] = []  # the open headings (level, text): a table's section
    tables = 0
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            tables += 1
            found, lead = sheet_records(
                _rows(block), sheet=section_path(path) or f"表{tables}", first_row=None
            )
            records += found
            lines += ["", *lead, ""]
            continue
        text = clean_text(block.text).strip()
        if not text:
            lines.append("")
            continue
        style = block.style.name if block.style is not None else ""
        if m := _HEADING.match(style):
            path = nested(path, int(m.group(1) or 1), text)
            lines += ["", "#" * int(m.group(1) or 1) + " " + text, ""]
        elif "List" in style or (block._p.pPr is not None and block._p.pPr.numPr is not None):
            lines.append("・" + text)
        else:
            lines += [text, ""]
    return Extracted(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip(), "docx", (), tuple(records))


def _rows(table: Table) -> list[list[str]]:
    """Cell text per row, on the table's grid: a cell merged across columns is its text, then blanks, as a
    spreadsheet's merged cells read (dropped, the cells after it had moved under the wrong column)."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            cells.append("" if id(cell._tc) in seen else cell.text.strip())
            seen.add(id(cell._tc))
        rows.append(cells)
    return rows
