"""Excel workbooks of exports: one sheet per table, header row frozen and bold, text wrapped, columns sized
to their content, match labels as ◎ ○ × with their names, source URLs as links; and the rule that keeps
untrusted document text from running as a formula in any spreadsheet (CSV included)."""

from __future__ import annotations

import io
import re

from search.labels import Match


def inert(value: object) -> object:
    """Text a spreadsheet would run as a formula (=, +, -, @ first) is quoted in CSV, which has no types:
    documents are untrusted (a workbook's cells are typed as text instead: `xlsx`)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not is_number(value):
        return "'" + value
    return value


def is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# A column's name in a workbook's header row: Japanese first, then the key the CSV and JSON use (a
# workbook is read by people; a script reads the CSV or the JSON)
HEADINGS = {
    "query": "検索語",
    "theme": "テーマ",
    "theme_en": "テーマ（英）",
    "match": "判定",
    "matching": "該当件数",
    "absent": "資料にない語",
    "apart": "一続きでは書かれていない語",
    "few_passages": "資料が少ない市",
    "english_query": "英語の質問（判定は参考程度）",
    "rank": "順位",
    "score": "スコア",
    "passage_match": "箇所の判定",
    "city": "市町村",
    "city_en": "市町村（ローマ字）",
    "document": "資料",
    "section": "節",
    "initiative": "取組",
    "department": "所管課",
    "page": "頁",
    "lines": "行",
    "passage_id": "箇所ID",
    "url": "URL",
    "source_url": "出典URL",
    "text": "本文",
    "row": "種類",
}
PREFIXES = {"source_": "元の", "counterpart_": "対応する"}  # align's two sides


def heading(key: str, sides: bool = False) -> str:
    """A column's header cell: 「市町村 / city」, 「対応する取組 / counterpart_initiative」; a key without a
    Japanese name (a city's name in the theme grid, z) as it stands. `sides`: a table of two sides
    (align's), where source_url is the first side's URL, not a passage's source."""
    prefix = next((p for p in PREFIXES if key.startswith(p)), "")
    rest = key[len(prefix) :]
    if prefix and rest in HEADINGS and (sides or key not in HEADINGS):
        return f"{PREFIXES[prefix]}{HEADINGS[rest]} / {key}"
    return f"{HEADINGS[key]} / {key}" if key in HEADINGS else key


MATCH_COLUMNS = ("match", "passage_match")  # shown as ◎ 該当あり strong, not the bare name
NUMBER_COLUMNS = ("page", "z")  # numbers a table carries as text (CSV writes them alike)
WIDTHS = {"text": 80, "source_text": 60, "counterpart_text": 60, "document": 30, "section": 30}


def xlsx(sheets: list[tuple[str, list[str], list[dict]]]) -> bytes:
    """A workbook with one sheet per (name, header, rows): header frozen, text wrapped, widths set."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment as Align
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    for name, header, rows in sheets:
        sheet = book.create_sheet(_sheet_name(name))
        sides = any(k.startswith("counterpart_") for k in header)
        names = [heading(k, sides) for k in header]
        for line in (names, *([_cell(k, row.get(k, "")) for k in header] for row in rows)):
            sheet.append(line)
            for cell in sheet[sheet.max_row]:  # the header too: the theme grid's heads are city names
                if cell.data_type == "f":  # text that starts with = is kept as text, never a formula
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for n, key in enumerate(header, 1):
            longest = max([len(names[n - 1]), *(len(str(r.get(key, ""))) for r in rows)])
            sheet.column_dimensions[get_column_letter(n)].width = min(
                WIDTHS.get(key, 40), max(8, longest + 2)
            )
        links = [n for n, key in enumerate(header) if key.endswith("source_url")]
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                cell.alignment = Align(wrap_text=True, vertical="top")
            for n in links:  # only web addresses link: a document's URL is untrusted text
                if re.match(r"https?://[^\s\"<>]+$", str(line[n].value or "")):
                    line[n].hyperlink = line[n].value
                    line[n].font = Font(color="0563C1", underline="single")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(key: str, value: object) -> object:
    """A table's value as its cell holds it: a label with its mark, a page or z as a number (Excel had
    flagged "number stored as text" and sorted them as text), text as it stands (no formula: `xlsx`)."""
    if key.endswith(MATCH_COLUMNS) and value:
        return Match(str(value)).label
    if key.endswith(NUMBER_COLUMNS) and isinstance(value, str) and value and is_number(value):
        return int(value) if value.isdigit() else float(value)
    return value


def _sheet_name(name: str) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
