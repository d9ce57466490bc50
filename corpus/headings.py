"""Heading lines of a report's text: Markdown ones (what DOCX and HTML extraction write) and numbered ones.

Read by the text splitter (corpus/split_blocks.py: a heading makes the section path of what follows) and
by the PDF extractor (corpus/extract/pdf.py: the heading a table's rows stand under).
"""

from __future__ import annotations

import re

from corpus.normalize import is_japanese

MARKDOWN = re.compile(r"^(#{1,6})\s+(.+)$")
# Numbered headings of plain-text reports, by level: 第2章 / 第1節 / 2 ペーパーレス化の推進 (or 2. 2．) and
# 取組1 … / (1) （１） ⑴ … / ① …. A heading is a one-line block of at most HEADING_CHARS with a title
# after its number and no sentence end; a line numbered more than once (①… ②…) is a list, not a heading.
_NUMBERED = (
    (1, re.compile(r"^第[0-9０-９一二三四五六七八九十]+[章部編]\s*(.*)$")),
    (2, re.compile(r"^第[0-9０-９一二三四五六七八九十]+節\s*(.*)$")),
    (3, re.compile(r"^[0-9０-９]{1,2}(?:[\.．]|\s)\s*((?![0-9０-９]).+)$")),
    # an initiative's own number: 取組1 地域公共交通の再編, 施策② …, as a report of boxed cards heads them
    (3, re.compile(r"^(?:重点)?(?:取組み?|取り組み|施策)\s*[0-9０-９①-⑳]{1,2}[\s\.．:：]\s*(.+)$")),
    (4, re.compile(r"^(?:[（(][0-9０-９]{1,2}[）)]|[⑴-⒇])\s*(.+)$")),
    (5, re.compile(r"^[①-⑳]\s*(.+)$")),
)
HEADING_CHARS = 40


def heading(line: str) -> tuple[int, str] | None:
    """(level, title) of a heading line — Markdown (# … ######: levels 1–6) or numbered — or None."""
    if m := MARKDOWN.match(line):
        return len(m.group(1)), m.group(2).strip()
    text = line.strip()
    if len(text) > HEADING_CHARS or re.search(r"[。！？!?]$|[、，,]$", text):
        return None
    for level, pattern in _NUMBERED:
        if (m := pattern.match(text)) and sum(is_japanese(c) or c.isalpha() for c in m.group(1)) >= 2:
            if len(re.findall(r"[（(][0-9０-９]{1,2}[）)]|[⑴-⒇①-⑳]", text)) > 1:
                return None  # several numbered items on one line
            return level, text
    return None


def nested(path: list[tuple[int, str]], level: int, title: str) -> list[tuple[int, str]]:
    """The open headings (level, title) once a heading of `level` is met: those above it, then it."""
    return [(lv, t) for lv, t in path if lv < level] + [(level, title)]


def section_path(path: list[tuple[int, str]]) -> str:
    """The open headings as a section path (第2章 > 1 デジタル化 > (1) …), as the text splitter writes it."""
    return " > ".join(t for _, t in path if t)
