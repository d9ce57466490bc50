"""Rebuild the rows of a progress table whose PDF text came out with its columns interleaved.

Japanese reform progress reports (行財政改革 取組状況) are tables: 改革項目 / 具体的取組 / 内容 /
所管課 / R6取組状況 / 今後の課題・方向性. Text extraction emits each cell as a block of lines wrapped
at the column's width, cells of a row in column order, and moves one-line 所管課 cells to the top of
the page. Line width therefore tells the column of a block, and the order tells the row:

    narrow (≈5 full-width chars)   改革項目 (starts with ①) or 具体的取組 — opens a row
    medium (≈9–10)                 内容 — opens a row unless the row has only its 内容 so far
    very narrow (≈4), after 内容    所管課
    wide (≈20)                     R6取組状況; the next column (≈21) is 今後の課題・方向性

One passage per row (split in two when long), with section, 改革項目, 具体的取組, 所管課, page and
line span. The column labels are read from the table's own header line.

About 305 lines: one reconstruction algorithm (columns from wrap widths, rows from order), read best in
one piece.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from corpus.columns import DEFAULT_LABELS
from corpus.columns import LABEL as _LABEL
from corpus.document import Document
from corpus.normalize import join_lines, running_headers, width
from corpus.passage import Passage, document_passage

MAX_PASSAGE_CHARS = 700

_SECTION = re.compile(r"^\s*([⑴-⒇]|\(\d{1,2}\)|（\d{1,2}）)[\s\u3000]*(\S.{0,40})$")
_SECTION_LINE = re.compile(r"^\s*[⑴-⒇][\s\u3000]*\S")  # always a line of its own, even when glued to a block
_ITEM = re.compile(r"^[①-⑳]")
_DEPT_END = re.compile(r"(課|室|局|所|館|部|係|班|ター|）|\))$")
_PARAGRAPH_START = re.compile(r"^[\u3000・【※■●○◆]")
_CELL_GAP = " \u3000"  # a column gap followed by a paragraph indent: two cells on one line


@dataclass
class _Row:
    section: str
    item: str
    initiative: str
    page: int
    cells: dict[str, list[list[str]]] = field(default_factory=dict)
    span: list[int] = field(default_factory=list)
    last: str = "content"

    def add(self, role: str, block: list[str], start: int) -> None:
        self.cells.setdefault(role, []).append(block)
        self.span += [start, start + len(block) - 1]
        self.last = role

    def has(self, *roles: str) -> bool:
        return any(r in self.cells for r in roles)


def find_labels(text: str) -> dict[str, str] | None:
    """Column labels from the table's header line, or None when the text has no such line."""
    for line in text.split("\n"):
        found = {m.lastgroup: m.group() for m in _LABEL.finditer(line)}
        if len(found) >= 3 and width(line) < 60:
            return found
    return None


def split_table(doc: Document) -> list[Passage]:
    """Passages for a progress-table document: one per row (two when a row is long)."""
    parser = _TableParser(find_labels(doc.text) or {})
    lines = doc.text.split("\n")
    for start, block in _blocks(lines, _running_headers(lines)):
        parser.feed(start, block)
    parser.close_page()
    return [p for row in parser.rows if row.cells for p in _passages(doc, row, parser.labels)]


class _TableParser:
    """Reads blocks in extraction order and assigns them to rows and columns."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = {**DEFAULT_LABELS, **labels}
        self.rows: list[_Row] = []
        self.section = self.item = self.initiative = ""
        self.page = 0
        self.page_rows: list[_Row] = []
        self.hoisted: list[tuple[str, str, int]] = []
        self.preamble = False
        self.row: _Row | None = None

    def new_row(self) -> _Row:
        self.row = _Row(self.section, self.item, self.initiative, self.page)
        self.rows.append(self.row)
        self.page_rows.append(self.row)
        return self.row

    def close_page(self) -> None:
        _assign_hoisted(self.page_rows, self.hoisted)
        self.page_rows, self.hoisted = [], []

    def feed(self, start: int, block: list[str]) -> None:
        first = block[0].strip()
        if len(block) == 1 and (m := _SECTION.match(first)) and width(first) < 30:
            self.section = f"{m.group(1)} {m.group(2).strip()}"
            return
        found = {m.lastgroup: m.group() for m in _LABEL.finditer(first)}
        if len(found) >= 3:  # the column header line opens every page
            self.close_page()
            self.page += 1
            self.preamble = True
            self.labels.update(found)
            return
        if self.preamble and len(block) == 1 and self._preamble_line(first, found, start):
            return
        role = _classify(block)
        if role != "wide" and role != "other":
            self.preamble = False
        if role == "item":
            item = join_lines(block)
            if item != self.item:
                self.initiative = ""
            self.item = item
            return
        if role == "initiative":
            self.initiative = join_lines(block)
            self.new_row()
            return
        row = self.row
        if row is None or (role == "content" and row.page != self.page):
            row = self.new_row()
        if role == "content":
            if row.has("content") and row.has("department", "status", "direction"):
                row = self.new_row()
            row.add("content", block, start)
        elif role == "department":
            row.add("department", block, start)
        elif role == "wide":
            cells = _cells(block)
            if len(cells) > 1:  # two cells on one line: 取組状況 then 今後の課題
                for cell, cell_role in zip(cells, ("status", "direction"), strict=False):
                    row.add(cell_role, cell, start)
            else:
                row.add(_wide_role(row, block), block, start)
        else:  # a list or small table inside a cell: kept line by line in the cell being read
            for n, line in enumerate(block):
                row.add(row.last, [line], start + n)

    def _preamble_line(self, line: str, found: dict[str, str], lineno: int) -> bool:
        """One-line blocks above the first row: the status label, or 所管課 cells moved up by extraction."""
        if "status" in found and width(line) < 12:
            self.labels["status"] = found["status"]
            return True
        dept, _, rest = line.partition(_CELL_GAP)
        if width(dept) <= 8 and _DEPT_END.search(dept.strip()):
            self.hoisted.append((dept.strip(), rest.strip(), lineno))
            return True
        return False


def _running_headers(lines: list[str]) -> set[str]:
    """Repeated page headers, except the column header line and section lines that structure the table."""
    return {h for h in running_headers(lines) if len(_LABEL.findall(h)) < 3 and not _SECTION_LINE.match(h)}


def _blocks(lines: list[str], running: set[str]):
    """(first line number, lines) of each blank-line-separated block, running headers removed."""
    block: list[str] = []
    start = 0
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.strip() in running or _SECTION_LINE.match(line):
            if block:
                yield start, block
            block = []
            if _SECTION_LINE.match(line):
                yield n, [line.strip()]
            continue
        if not block:
            start = n
        block.append(line.rstrip())
    if block:
        yield start, block


def _classify(block: list[str]) -> str:
    """Column role of a block from its wrap width: item, initiative, content, department, wide or other."""
    first = block[0].strip(" ")
    if _ITEM.match(first):
        return "item"
    if any(_CELL_GAP in line for line in block) or max(width(x) for x in block) >= 17:
        return "wide"
    wrap = max(width(x) for x in block[:-1]) if len(block) > 1 else width(block[0])
    if len(block) > 1 and wrap <= 4.5:
        return "department"
    if wrap <= 6 and len(block) > 1:
        return "initiative"
    if 7.5 <= wrap <= 11.5 and len(block) > 1:
        return "content"
    if len(block) == 1 and _DEPT_END.search(first) and wrap <= 6:
        return "department"
    return "other"


def _cells(block: list[str]) -> list[list[str]]:
    """Split a wide block into cells where one line holds two (``"…完了 　…完了。"``)."""
    if len(block) == 1 and _CELL_GAP in block[0]:
        return [[part] for part in block[0].split(_CELL_GAP) if part.strip()]
    return [block]


def _wide_role(row: _Row, block: list[str]) -> str:
    """取組状況 or 今後の課題・方向性: the latter column is one character wider, and comes second."""
    if row.has("direction"):
        return "direction"
    # Measure the wrap on wrapped lines (not the last of a paragraph) made only of full-width
    # characters: half-width digits and letters have uncertain widths in a proportional font.
    wrapped = [
        width(line)
        for line, nxt in zip(block, [*block[1:], ""], strict=True)
        if nxt and not _PARAGRAPH_START.match(nxt) and _full_width_only(line)
    ]
    if wrapped:
        return "direction" if max(wrapped) >= 20.5 else "status"
    if (tag := re.match(r"【[^】]+】", block[0].strip())) and row.has("status"):
        # Sub-blocks per department (【人事課】…): a tag seen before starts the next column.
        seen = any(line.strip().startswith(tag.group()) for b in row.cells["status"] for line in b)
        return "direction" if seen else "status"
    return "direction" if row.has("status") else "status"


def _full_width_only(line: str) -> bool:
    return all(unicodedata.east_asian_width(c) in "FWA" for c in line.strip(" "))


def _assign_hoisted(rows: list[_Row], hoisted: list[tuple[str, str, int]]) -> None:
    """Give one-line 所管課 cells, moved to the top of the page by extraction, to the rows lacking one."""
    lacking = [r for r in rows if not r.has("department")]
    if not hoisted or len(lacking) != len(hoisted):
        return  # ambiguous: an unknown department beats a wrong one
    for r, (dept, status, _line) in zip(lacking, hoisted, strict=True):
        r.cells["department"] = [[dept]]  # its line stays out of the span: it sits above other rows
        if status and not r.has("status"):
            r.cells["status"] = [[status]]


def _paragraphs(blocks: list[list[str]]) -> str:
    """Cell text: wrapped lines joined, a new paragraph at indents, bullets and 【labels】."""
    paragraphs: list[list[str]] = []
    for block in blocks:
        paragraphs.append([])
        for line in block:
            prev = paragraphs[-1][-1] if paragraphs[-1] else ""
            if prev and (
                _PARAGRAPH_START.match(line.lstrip(" "))
                or prev.endswith("】")
                or (prev.endswith("。") and line.lstrip(" ").startswith(("（", "(")))
            ):
                paragraphs.append([])
            paragraphs[-1].append(line.strip(" \u3000"))
    return "\n".join(t for t in (join_lines(p) for p in paragraphs) if t)


def _passages(doc: Document, row: _Row, labels: dict[str, str]) -> list[Passage]:
    values = {role: _paragraphs(blocks) for role, blocks in row.cells.items()}
    department = values.get("department", "").replace("\n", "") or None
    if department:
        values["department"] = department
    fields = [
        (labels[r], values[r]) for r in ("content", "department", "status", "direction") if values.get(r)
    ]
    head = row.initiative or (values.get("content", "").split("\n")[0][:40])
    parts = [fields]
    if len(_render(head, fields)) > MAX_PASSAGE_CHARS and values.get("direction"):
        # Long rows become two focused passages: what was done, and what comes next.
        keep = {labels["direction"]}
        parts = [
            [f for f in fields if f[0] not in keep],
            [f for f in fields if f[0] in keep or f[0] == labels["department"]],
        ]
    path = " > ".join(x for x in (row.section, row.item) if x)
    out = []
    for part in parts:
        text = _render(row.initiative, part)
        out.append(
            document_passage(
                doc,
                row.initiative,
                text,
                path,
                initiative=row.initiative or None,
                department=department,
                kind="row",
                line_start=min(row.span),
                line_end=max(row.span),
                page=row.page or None,
                fields=tuple(part),
            )
        )
    return out


def _render(initiative: str, fields: list[tuple[str, str]]) -> str:
    body = "\n".join(f"{label}：{value}" for label, value in fields)
    return f"{initiative}\n{body}" if initiative else body
