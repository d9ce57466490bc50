"""Table rows (from sheets, CSV, Word tables, ruled PDF tables) to passages: one row, one passage.

A passage reads like a progress-table row from the text splitter: the initiative (具体的取組, 取組名,
事業名 …; in a sheet without one, its 取組項目) on the first line, then `column：value` for the other
cells. Merged cells of grouping columns (改革項目, 具体的取組) come out blank below their first row and
are filled from the row above.
"""

from __future__ import annotations

from corpus.columns import GROUPING, table_roles
from corpus.document import Document
from corpus.extract import Record
from corpus.passage import Passage, document_passage


def split_records(doc: Document) -> list[Passage]:
    """One passage per record of the document, with its page (PDF) or row number (sheets, tables)."""
    out = []
    previous: dict[str, str] = {}
    table: tuple = ()
    roles: dict[str, str | None] = {}
    for record in doc.records:
        names = tuple(name for name, _ in record.cells)
        if (record.sheet, names) != table:  # a new table: nothing to fill down from
            table, previous, roles = (record.sheet, names), {}, table_roles(names)
        cells = _filled(record, roles, previous)
        if passage := _passage(doc, record, cells, roles):
            out.append(passage)
    return out


def _filled(record: Record, roles: dict[str, str | None], previous: dict[str, str]) -> list[tuple[str, str]]:
    """The record's cells, blank grouping cells taken from the previous row of the same table."""
    cells = []
    content = any(v for name, v in record.cells if roles[name] not in GROUPING)
    for name, value in record.cells:
        if roles[name] in GROUPING:
            if value:
                previous[name] = value
            elif content:
                value = previous.get(name, "")
        cells.append((name, value))
    return cells


def _passage(
    doc: Document, record: Record, cells: list[tuple[str, str]], roles: dict[str, str | None]
) -> Passage | None:
    values = {roles[name]: value for name, value in cells if value}
    initiative = values.get("initiative", "")
    grouping = {name for name, _ in cells if roles[name] in GROUPING}
    fields = tuple((name, value) for name, value in cells if value and name not in grouping)
    if not fields and not initiative:
        return None
    body = "\n".join(f"{name}：{value}" for name, value in fields)
    text = f"{initiative}\n{body}".strip() if initiative else body
    section = " > ".join(x for x in (record.sheet, values.get("item", "")) if x)
    return document_passage(
        doc,
        initiative,
        text,
        section,
        initiative=initiative or None,
        department=values.get("department", "").replace("\n", "") or None,
        kind="row",
        line_start=record.row,
        line_end=record.row,
        page=record.page,
        fields=fields,
    )
