"""Table rows (from sheets, CSV, Word tables, ruled PDF tables) to passages: one row, one passage.

A passage reads like a progress-table row from the text splitter: the initiative (具体的取組, 取組名,
事業名 …; in a sheet without one, its 取組項目) on the first line, then `column：value` for the other
cells. Merged cells of grouping columns (改革項目, 具体的取組) come out blank below their first row and
are filled from the row above.
"""

from __future__ import annotations

import re

from corpus.columns import GROUPING, NOTE_MARKS, table_roles
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
        if note := _note(record, roles):
            out.append(_note_passage(doc, record, note))
            continue
        if all(value == name for name, value in record.cells if value):  # the header again (a new page)
            continue
        cells = _filled(record, roles, previous)
        if passage := _passage(doc, record, cells, roles):
            out.append(passage)
    return out


def _note(record: Record, roles: dict[str, str | None]) -> str | None:
    """The text of a note under a table (「※評価 A：計画どおり…」): a row whose only cell is its first,
    merged across the row, in a column that groups nothing. Read as a row, it had taken the initiative
    of the row above it and ranked before it."""
    filled = [(name, value) for name, value in record.cells if value]
    if len(filled) != 1 or filled[0][0] != record.cells[0][0]:
        return None
    text = filled[0][1]
    if roles[filled[0][0]] in GROUPING and not text.startswith(NOTE_MARKS):
        return None  # a group's label over the rows below it; 「※評価 A：…」 is a note all the same
    return text if sum(c.isalpha() for c in text) >= 2 else None


def _note_passage(doc: Document, record: Record, text: str) -> Passage:
    """A note under a table: a paragraph of its section, with no initiative."""
    return document_passage(
        doc,
        "note",
        text,
        record.sheet,
        kind="paragraph",
        line_start=record.row,
        line_end=record.row,
        page=record.page,
    )


def _filled(record: Record, roles: dict[str, str | None], previous: dict[str, str]) -> list[tuple[str, str]]:
    """The record's cells, blank grouping cells taken from the previous row of the same table; but after
    a grouping cell that opens a new group in this row, one left blank is that cell's own continuation
    (merged across: a colspan's blank), never the row above's, which belongs to the group before (it
    had named another initiative: 公民館の複合化 for 「ふるさと納税の返礼品拡充」). A group written again
    on every row opens none: its rows' blank initiatives are merged down from above."""
    cells = []
    content = any(v for name, v in record.cells if roles[name] not in GROUPING)
    opened = ""  # the text of a grouping cell that opens a new group in this row, left of the cell read
    for name, value in record.cells:
        if roles[name] in GROUPING:
            if value:
                opened = value if value != previous.get(name) else ""  # written on every row: no new group
                previous[name] = value
            elif content:
                value = opened or previous.get(name, "")
                previous[name] = value
        cells.append((name, value))
    return cells


_UNIT = re.compile(r"[課室局部係所館]$")


def _departments(cell: str) -> str:
    """A 所管課 cell's departments, one per line joined with 、 (企画政策課 / 観光物産課); a line that
    continues the one before (a wrapped name, 「（情報政策係）」) is joined to it as it stands."""
    out = ""
    for line in (x.strip() for x in cell.split("\n")):
        if line:
            apart = out and _UNIT.search(out) and not line.startswith(("（", "("))
            out += f"、{line}" if apart else line
    return out


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
        department=_departments(values.get("department", "")) or None,
        kind="row",
        line_start=record.row,
        line_end=record.row,
        page=record.page,
        fields=fields,
    )
