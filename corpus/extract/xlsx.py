"""Excel progress sheets (進捗管理表): each row under a detected header row becomes one record."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl

from corpus.extract.base import CellCount, Extracted, Limits
from corpus.extract.safezip import open_checked
from corpus.extract.table import sheet_records
from corpus.refusal import Refusal


def extract(data: bytes, name: str, limits: Limits) -> Extracted:
    """Records of every sheet (rows numbered as in Excel); rows above a header, headerless sheets as text."""
    open_checked(data, name, limits)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds on a damaged workbook
        raise Refusal(
            f"{name} is not a readable Excel workbook ({type(e).__name__}: {e})",
            f"{name} は Excel ブックとして読めません",
        ) from None
    try:
        sheets = book.worksheets
        if len(sheets) > limits.max_pages:
            raise Refusal(
                f"{name} has {len(sheets):,} sheets; the limit is {limits.max_pages:,} (max_pages)",
                f"{name} には {len(sheets):,} シートあります。上限は {limits.max_pages:,} です（max_pages）",
            )
        records, text = [], []
        cells = CellCount(name, limits.max_cells)
        for sheet in sheets:
            if getattr(sheet, "sheet_state", "visible") != "visible":
                continue
            cells.declared(sheet.max_row or 0, sheet.max_column or 0, f"sheet {sheet.title!r}")
            if hasattr(sheet, "reset_dimensions"):  # read every row there is, not what the header claims
                sheet.reset_dimensions()
            rows = []
            for row in sheet.iter_rows(values_only=True):
                cells.add(len(row))  # a sheet that declares too little is stopped as it is read
                rows.append([_cell(v) for v in row])
            found, lead = sheet_records(rows, sheet=sheet.title, first_row=1)
            records += found
            if lead:
                text += ["", f"# {sheet.title}", *lead]
    finally:
        book.close()
    return Extracted("\n".join(text).strip(), "xlsx", (), tuple(records))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()
