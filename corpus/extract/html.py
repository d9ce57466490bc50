"""Web pages: the main text (inside <main> or <article> when there is one), h1–h6 as Markdown headings,
and each table's rows as records under its header row (corpus/extract/table.py), named by the heading
above it — a city's 取組状況 page is often one table; read as text it had become one paragraph."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from corpus.extract.base import Extracted, Limits
from corpus.extract.table import sheet_records
from corpus.extract.text import decode_text
from corpus.headings import nested, section_path
from corpus.normalize import clean_text

SKIP = {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "head"}
MAIN = {"main", "article"}
BLOCK = {"p", "div", "section", "br", "tr", "table", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "hr"}
PARAGRAPH = {"p", "table", "ul", "ol", "dl", "blockquote", "pre", "section"}
_HEADING = re.compile(r"h[1-6]")
# Elements without an end tag: one never opens a block to leave out (an <img class="sns-icon"> had left
# out the rest of the page, waiting for its end)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
MAX_COLSPAN = 50  # a cell spans at most this many columns (a hostile colspan=10**9 is not drawn out)
# Blocks a municipal site's CMS puts inside the page body, named by their class or id: the contact box,
# the "was this page useful?" survey, breadcrumbs, share buttons, "back to top"
_BOILERPLATE = re.compile(
    r"\b(contact|inquiry|toiawase|enquete|questionnaire|survey|breadcrumb|pankuzu|topicpath|sns|share|"
    r"pagetop|page-top)\b",
    re.IGNORECASE,
)
# A link to a file (「計画本編（PDF：1.2MB）」 under 関連資料) points to a document; it is none itself
_FILE_LINK = re.compile(r"\.(pdf|xlsx?|xlsm|docx?|csv|pptx?|zip|jtd|odt|ods)(?:[?#].*)?$", re.IGNORECASE)
_LINK_OPEN, _LINK_CLOSE = "\ue000", "\ue001"  # around a file link's text until the lines are read
_ONLY_LINKS = re.compile(rf"[・\s]*(?:{_LINK_OPEN}[^{_LINK_CLOSE}]*{_LINK_CLOSE}[\s、,/／|｜]*)+")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


def _span(value: str | None) -> int:
    """A colspan or rowspan attribute as a count (1 when absent or not a positive number)."""
    try:
        return max(1, int(str(value).strip()))
    except ValueError:
        return 1


def grid(rows: list[list[str]], spans: list[list[tuple[int, int]]]) -> list[list[str]]:
    """A table's cells on its grid: a cell spanning columns is followed by blanks, and one spanning rows
    leaves its column blank in the rows below, as a spreadsheet's merged cells read (a grouping column's
    blanks are filled down: corpus/split_records.py). Read cell by cell, the row under a
    <td rowspan=2>①窓口改革</td> had shifted its cells one column left: its 所管課 under 具体的取組."""
    out: list[list[str]] = []
    below: dict[int, int] = {}  # column → rows below that a cell above still spans
    for row, sizes in zip(rows, spans, strict=True):
        line: list[str] = []
        cells = list(zip(row, sizes, strict=True))
        while cells or any(n > 0 and c >= len(line) for c, n in below.items()):
            col = len(line)
            if below.get(col, 0) > 0:
                below[col] -= 1
                line.append("")
                continue
            if not cells:  # a gap before a column spanned from above further right
                line.append("")
                continue
            text, (across, down) = cells.pop(0)
            for k in range(across):
                line.append("" if k else text)
                if down > 1:
                    below[col + k] = down - 1
        out.append(line)
    return out


class _Text(HTMLParser):
    """Collects lines of text, the whole page's and the main element's."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.main = 0
        self.all: list[str] = [""]
        self.main_lines: list[str] = [""]
        self.tables = 0  # depth of <table>: the outermost one's cells are collected, not emitted
        self.rows: list[list[str]] = []  # the open table's rows of cells
        self.spans: list[list[tuple[int, int]]] = []  # (colspan, rowspan) of each of those cells
        self.found: list[tuple[list[list[str]], str, bool]] = []  # (rows, heading above, in main)
        self.heading = ""  # the text of the heading being read
        self.path: list[tuple[int, str]] = []  # the open headings (level, text): a table's section
        self.in_heading = False
        self.aside: list = []  # [tag, depth] of the page block being left out (_BOILERPLATE)
        self.file_link = 0  # depth of <a> elements that link to a file
        # the open lists and items, outermost first: ["list"] or ["li", its nested items so far]
        self.lists: list[list] = []

    def _targets(self) -> tuple[list[str], ...]:
        return (self.all, self.main_lines) if self.main else (self.all,)

    def _emit(self, text: str) -> None:
        if self.tables:  # a cell's text (an inner table's too)
            if self.rows and self.rows[-1]:
                self.rows[-1][-1] += text
            return
        for lines in self._targets():
            lines[-1] += text
        if self.in_heading:
            self.heading += text

    def _break(self, paragraph: bool = False) -> None:
        """End the current line (and leave a blank line after it for a paragraph), never twice."""
        for lines in self._targets():
            if lines[-1].strip():
                lines.append("")
            if paragraph and len(lines) > 1 and lines[-2].strip():
                lines.append("")

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if self.aside:  # inside a page block a CMS adds (its own tag nests: count it)
            self.aside[1] += tag == self.aside[0]
            return
        if tag in SKIP:
            self.skip += 1
        elif tag in MAIN:
            self.main += 1
        elif tag not in VOID and _BOILERPLATE.search(
            " ".join(v or "" for k, v in attrs if k in ("class", "id"))
        ):
            self.aside = [tag, 1]
            return
        if self.skip:  # a heading or a list inside a menu is none of the page's (its headings kept open)
            return
        if tag == "table":
            self._break(paragraph=True)
            self.tables += 1
            if self.tables == 1:
                self.rows, self.spans = [], []
            return
        if self.tables == 1 and tag == "tr":
            self.rows.append([])
            self.spans.append([])
            return
        if self.tables == 1 and tag in ("td", "th"):
            if not self.rows:
                self.rows.append([])
                self.spans.append([])
            self.rows[-1].append("")
            given = dict(attrs)
            self.spans[-1].append(
                (min(_span(given.get("colspan")), MAX_COLSPAN), _span(given.get("rowspan")))
            )
            return
        if self.tables:  # inside a cell: its line breaks are spaces
            if tag in BLOCK or tag == "li":
                self._emit(" ")
            return
        if tag == "a" and not self.skip and _FILE_LINK.search(dict(attrs).get("href") or ""):
            self.file_link += 1
            self._emit(_LINK_OPEN)
        elif _HEADING.fullmatch(tag):
            self._break(paragraph=True)
            self._emit("#" * int(tag[1]) + " ")
            self.in_heading, self.heading = True, ""
        elif tag == "li":
            self._item()
        elif tag in ("td", "th"):
            self._emit(" ")
        elif tag in ("ul", "ol"):
            if not self._in_item():  # a list nested in an item goes on the item's line
                self._break()
            self.lists.append(["list"])
        elif tag in BLOCK:
            self._break()

    def _in_item(self) -> bool:
        return any(entry[0] == "li" for entry in self.lists)

    def _item(self) -> None:
        """An item: on a line of its own, or, nested in another (電子申請の拡大 over 子育て関連手続…), on
        its parent's line after 「：」, so that one passage cites the item with what it lists (the
        children had been passages without their parent, the parent one of seven characters)."""
        if self.lists and self.lists[-1][0] == "li":  # an item left open: the next one closes it
            self.lists.pop()
        parent = next((entry for entry in reversed(self.lists) if entry[0] == "li"), None)
        if parent is None:
            self._break()
            self._emit("・")
        else:
            for lines in self._targets():  # the space the markup's line break left before the child
                lines[-1] = lines[-1].rstrip()
            line = self._targets()[-1][-1]
            self._emit("：" if not parent[1] else ("" if line.endswith(("。", "！", "？")) else "、"))
            parent[1] += 1
        self.lists.append(["li", 0])

    def handle_endtag(self, tag: str) -> None:
        if self.aside:
            self.aside[1] -= tag == self.aside[0]
            if not self.aside[1]:
                self.aside = []
            return
        if tag in SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in MAIN:
            self.main = max(0, self.main - 1)
        if tag == "table" and self.tables:
            self.tables -= 1
            if not self.tables:
                rows = [[re.sub(r"\s+", " ", c).strip() for c in row] for row in self.rows]
                self.found.append((grid(rows, self.spans), section_path(self.path), bool(self.main)))
            return
        if self.tables:
            return
        if tag == "a" and self.file_link:
            self.file_link -= 1
            self._emit(_LINK_CLOSE)
        if _HEADING.fullmatch(tag) and self.in_heading:
            self.in_heading = False
            heading = self.heading.replace(_LINK_OPEN, "").replace(_LINK_CLOSE, "")
            self.path = nested(self.path, int(tag[1]), heading.strip())
        if tag in ("li", "ul", "ol") and not self.skip:
            if tag == "li" and self.lists and self.lists[-1][0] == "li":
                self.lists.pop()
            elif tag != "li":  # the list ends, and any item it left open
                while self.lists and self.lists.pop()[0] != "list":
                    pass
            if self._in_item():  # still within an item: its line goes on
                return
        if _HEADING.fullmatch(tag) or tag in PARAGRAPH:
            self._break(paragraph=True)
        elif tag in BLOCK or tag == "li":
            self._break()

    def handle_data(self, data: str) -> None:
        if not self.skip and not self.aside:
            self._emit(re.sub(r"\s+", " ", data))


def extract(data: bytes, name: str, limits: Limits) -> Extracted:
    """Text of a web page in its declared charset (else as a text file is), scripts and menus left out."""
    parser = _Text()
    parser.feed(_decode(data, name))
    parser.close()
    in_main = any(x.strip() for x in parser.main_lines)
    lines = _without_file_links(parser.main_lines if in_main else parser.all)
    records, lead = [], []
    for n, (rows, heading, main) in enumerate(parser.found, 1):
        if main or not in_main:
            found, above = sheet_records(
                [r for r in rows if any(r)], sheet=heading or f"表{n}", first_row=None
            )
            records += found
            lead += above  # a table without a header row, or the rows above its header, as text
    text = "\n".join([*(x.strip() for x in lines), "", *lead])
    return Extracted(clean_text(re.sub(r"\n{3,}", "\n\n", text)).strip(), "html", (), tuple(records))


def _without_file_links(lines: list[str]) -> list[str]:
    """The lines with those that only link to files (a 関連資料 list: 「・計画本編（PDF：1.2MB）」) left out:
    they name a document without saying what it holds, and ranked for any question on its title."""
    kept = [x for x in lines if not (_LINK_OPEN in x and _ONLY_LINKS.fullmatch(x))]
    return [x.replace(_LINK_OPEN, "").replace(_LINK_CLOSE, "") for x in kept]


def _decode(data: bytes, name: str) -> str:
    if m := _CHARSET.search(data[:4096]):
        try:
            return data.decode(m.group(1).decode("ascii")).removeprefix("\ufeff")
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data, name)
