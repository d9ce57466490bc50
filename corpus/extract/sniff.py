"""What a file is, judged by its first bytes and by its name; the two must agree."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath

from corpus.refusal import Refusal

# Extension → format. Text formats are told apart by name only; binary ones must also look the part.
SUFFIXES = {
    ".pdf": "pdf",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".csv": "csv",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".md": "text",
    ".text": "text",
}
TEXT_FORMATS = ("text", "csv", "html")
_DESCRIPTION = {
    "pdf": "a PDF",
    "xlsx": "an Excel workbook (.xlsx)",
    "docx": "a Word document (.docx)",
    "zip": "a zip archive",
    "ole": "an old-format (.xls/.doc) or password-protected Office file",
    "image": "an image",
    "binary": "binary data",
    "html": "an HTML page",
    "text": "text",
    "csv": "CSV text",
}
_DESCRIPTION_JA = {
    "pdf": "PDF",
    "xlsx": "Excel ブック（.xlsx）",
    "docx": "Word 文書（.docx）",
    "zip": "zip 圧縮ファイル",
    "ole": "旧形式（.xls/.doc）かパスワード付きの Office ファイル",
    "image": "画像",
    "binary": "文字のファイルではないデータ",
    "html": "HTML のページ",
    "text": "テキスト",
    "csv": "CSV",
}
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_IMAGES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"RIFF")
_HTML_TAG = re.compile(rb"<(!doctype\s+html|html|head|body)\b", re.IGNORECASE)


def sniff(data: bytes) -> str:
    """The format `data` looks like: pdf, xlsx, docx, zip, ole, image, binary, html or text."""
    head = data[:8192]
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    if head.startswith(_IMAGES):
        return "image"
    if is_utf16(head):  # UTF-16 text (Windows Notepad's "Unicode"): judged by its characters
        head = head[: len(head) // 2 * 2].decode("utf-16", "replace").encode("utf-8")
    if b"\x00" in head:
        return "binary"
    if _looks_html(head.removeprefix(b"\xef\xbb\xbf")):
        return "html"
    return "text"


def _looks_html(head: bytes) -> bool:
    """Whether `head` opens, after blanks and comments, with <!DOCTYPE html>, <html>, <head> or <body>.
    Read comment by comment: one pattern with a repeated group of comments and blanks had
    backtracked without end on 282 bytes of empty comments."""
    at = 0
    while True:
        while at < len(head) and head[at : at + 1].isspace():
            at += 1
        if not head.startswith(b"<!--", at):
            return _HTML_TAG.match(head, at) is not None
        end = head.find(b"-->", at + 4)
        if end < 0:
            return False
        at = end + 3


def is_utf16(data: bytes) -> bool:
    """UTF-16 text with its BOM: the BOM, and the zero bytes of its ASCII (a newline, a digit) that no
    UTF-8 or Shift_JIS text has (binary that merely opens with FF FE has none, or is caught later)."""
    return data.startswith(UTF16_BOMS) and b"\x00" in data[:8192]


def _zip_kind(data: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "zip"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "docx"
    return "zip"


def check_format(data: bytes, name: str) -> str:
    """The format of a file named `name`, after checking that its content is what the name says."""
    suffix = PurePath(name).suffix.lower()
    expected = SUFFIXES.get(suffix)
    if expected is None:
        known = ", ".join(SUFFIXES)
        raise Refusal(
            f"{name}: files of type {suffix or '(no extension)'!r} cannot be added; use {known}",
            f"{name}：この種類のファイル（{suffix or '拡張子なし'}）は追加できません。"
            f"{known} のいずれかにしてください",
        )
    if not data.strip():
        raise Refusal(f"{name} is empty", f"{name} は空です")
    found = sniff(data)
    ok = found in ("text", "html") if expected in TEXT_FORMATS else found == expected
    if not ok and found == "zip" and expected in ("xlsx", "docx"):  # a workbook is a zip: say what is wrong
        what = _DESCRIPTION[expected].split(" ", 1)[1]  # "Excel workbook (.xlsx)"
        raise Refusal(
            f"{name} is a zip archive but no readable {what} (damaged, or another kind of file)",
            f"{name} は {_DESCRIPTION_JA[expected]} として読めません（壊れているか、別の種類のファイルです）",
        )
    if not ok:
        hint = f"; rename it to {_suffix_of(found)}" if _suffix_of(found) else ""
        raise Refusal(
            f"{name} is not {_DESCRIPTION[expected]} (it looks like {_DESCRIPTION[found]}){hint}",
            f"{name} の中身は拡張子と合いません（{_DESCRIPTION_JA[found]}のようです）"
            + (f"。{_suffix_of(found)} に名前を変えてください" if hint else ""),
        )
    return expected


def _suffix_of(kind: str) -> str:
    return next((s for s, k in SUFFIXES.items() if k == kind and kind not in TEXT_FORMATS), "")
