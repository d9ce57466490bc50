"""Split brochures and plain text into passages: list items one by one, prose in small groups.

Brochure PDFs come out as blank-line-separated blocks in no reliable reading order: headings may
follow their text, numbers float free of their labels. So nothing here infers a section from a
nearby heading; structure is taken only where the text marks it (bullets, Markdown headings, the
one-space indent that opens each extracted page).

    bullet lists (・ • ● …)       one passage per item, continuation lines joined
    prose, names and numbers      consecutive blocks of a page packed up to TARGET_CHARS
    long prose                    split at sentence ends

Names laid out as a cloud (a brochure's list of initiatives) are packed like prose: measured on the
default corpus, one-name passages are near every query in embedding space and crowd out real matches.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace

from corpus.document import Document
from corpus.headings import MARKDOWN, heading, nested, section_path
from corpus.normalize import collapse_letterspacing, is_japanese, join_lines, width
from corpus.passage import Passage, document_passage

# Chosen with the fusion weight by 5-fold cross-validation over the visible judgments (200 … 700):
# packing a page's blocks up to 600 characters rather than 200 raised nDCG@10 0.771 → 0.782 and column
# recall@3 0.709 → 0.727 (cross-validated), counterpart hit@3 0.679 → 0.750: a brochure page's figures,
# captions and sentences about one initiative stay together instead of falling into separate passages.
TARGET_CHARS = 600
MAX_CHARS = 700

_BULLET = re.compile(r"^\s*[・•●○■◆▪◇□\-*]\s*")
# Headings (Markdown, and numbered: 第2章 … ①) are read by corpus/headings.py
TITLE_CHARS = 60  # a document's opening line at most this long, with no sentence end, is its title (`_title`)
NUMBERED_BELOW = 10  # a numbered heading's level in the section path is its own plus this: under any # one
# A table of contents: an entry led by dots to its page number (「1 改革の背景・・・・・2」), and its 目次
# heading. Neither is a passage, nor a section over the text that follows.
_CONTENTS_TITLES = ("目次", "もくじ", "contents")
_LEADERS = "・.…‥･·．"
_DIGITS = "0123456789０１２３４５６７８９"


def _contents(line: str) -> bool:
    """Whether a line (its spaces taken out) is a table of contents' entry, led by two or more dots to
    its page number, or its 目次 heading. Read from the line's end: an unanchored pattern had tried every
    dot of a line of 80,000 ・ against the rest of it."""
    if line.removesuffix("\n").casefold() in _CONTENTS_TITLES:
        return True
    head = line.rstrip()
    number = head.rstrip(_DIGITS)
    if number == head:
        return False
    leaders = number.rstrip()
    return len(leaders) >= 2 and leaders[-1] in _LEADERS and leaders[-2] in _LEADERS


SENTENCE = re.compile(r"[^。！？!?]*[。！？!?]+|[^。！？!?]+$")  # a sentence, or a last one unclosed


# A brochure's heading mark: 「■ 窓口が変わります」 written straight above its text heads it (a ■ line alone
# is a list item, as the default brochure writes them). Such headings nest beneath numbered ones.
_MARK = re.compile(r"^[■◆□]\s*(.+)$")
MARK_TITLE_CHARS = 30
MARK_LEVEL = NUMBERED_BELOW + 6


@dataclass(frozen=True)
class _Block:
    start: int
    lines: tuple[str, ...]
    new_page: bool = False
    marked: bool = False  # a mark's heading over the text after it (`_marked`)

    @property
    def end(self) -> int:
        return self.start + len(self.lines) - 1

    @property
    def text(self) -> str:
        """Its lines joined as wrapped text; a line that opens with a mark (■ 職員の働き方を変える)
        starts a line of its own, and ends there when it stops short of the block's width (it was not
        wrapped): neither is glued to the text around it."""
        full = max(width(x) for x in self.lines)
        groups: list[list[str]] = []
        ended = True
        for line in self.lines:
            if ended or _BULLET.match(line):
                groups.append([])
            groups[-1].append(line)
            ended = bool(_BULLET.match(line)) and width(line) < full - 2
        return "\n".join(join_lines(g) for g in groups)

    @property
    def kind(self) -> str:
        if self.marked:
            return "marked"
        if len(self.lines) == 1 and heading(self.lines[0]):
            return "heading"
        if sum(bool(_BULLET.match(x)) for x in self.lines) >= max(1, len(self.lines) // 3):
            return "list"
        return "prose"


def split_blocks(doc: Document, running: set[str] | frozenset[str] = frozenset()) -> list[Passage]:
    """Passages for a brochure or plain-text document."""
    lines = doc.text.split("\n")
    # a PDF's text opens each page with one space; so may a text its paragraphs (`_indented`)
    paged = bool(doc.page_starts) or not _indented(lines)
    blocks = [part for block in _blocks(lines, running, paged) for part in _marked(block)]
    out: list[Passage] = []
    section = ""
    path: list[tuple[int, str]] = []  # the open headings, outermost first, with their levels
    pending: list[_Block] = []

    def flush() -> None:
        if pending:
            out.extend(_prose(doc, section, pending))
            pending.clear()

    for n, block in enumerate(blocks):
        kind = block.kind
        if kind == "heading" and (MARKDOWN.match(block.lines[0]) or _heads(block, blocks[n + 1 : n + 2])):
            # Markdown headings (a DOCX's or a web page's h1–h6) nest by their level, and numbered ones
            # by theirs beneath the Markdown ones: 第2章 > 1 デジタル化 > (1) 行政手続のオンライン化
            if not out and not path and _title(pending):  # the document's title line, over its first heading
                path = [(0, pending.pop().text)]
            flush()
            level, title = heading(block.lines[0])
            level += 0 if MARKDOWN.match(block.lines[0]) else NUMBERED_BELOW
            path = nested(path, level, title)
            section = section_path(path)
        elif kind == "marked":  # ■ 窓口が変わります, over its text
            flush()
            path = nested(path, MARK_LEVEL, block.lines[0])
            section = section_path(path)
        elif kind == "list":
            if lead := _lead(block):  # 「主な成果は次のとおり。」 over the list: prose, packed as prose is
                if block.new_page:
                    flush()
                pending.append(lead)
            flush()
            out.extend(_items(doc, section, block))
        else:
            if block.new_page:
                flush()
            pending.append(block)
            if sum(len(b.text) for b in pending) >= TARGET_CHARS:
                flush()
    flush()
    return _paged(out, [b.start for b in blocks if b.new_page])


def _marked(block: _Block) -> list[_Block]:
    """A block whose first line is a marked title (■ 窓口が変わります: short, no sentence, well short of the
    lines after it, which are no list) as that heading and the text it heads; else the block itself.
    The heading had been glued to its text as one list item (「窓口が変わります令和6年度から…」)."""
    m = _MARK.match(block.lines[0])
    if not m or len(block.lines) < 2 or any(_BULLET.match(x) for x in block.lines[1:]):
        return [block]
    title = m.group(1).strip()
    if len(title) > MARK_TITLE_CHARS or title.endswith((*_ENDS, "、")):
        return [block]
    if width(block.lines[0]) >= 0.7 * max(width(x) for x in block.lines[1:]):  # a wrapped item's first line
        return [block]
    rest = _Block(block.start + 1, block.lines[1:])
    return [_Block(block.start, (title,), block.new_page, marked=True), rest]


def _title(pending: list[_Block]) -> bool:
    """Whether the text before a document's first heading is its title: one short line that is no
    sentence (「見本町 窓口改革 追加資料」). It heads the sections below it, as a Markdown or web page's
    title does, instead of being a passage that cites nothing but the title."""
    if len(pending) != 1 or len(pending[0].lines) != 1:
        return False
    line = pending[0].lines[0].strip()
    if not 0 < len(line) <= TITLE_CHARS or _is_number(line) or _OPENING.match(line):
        return False  # too long for a title; a page number; a section of its own (はじめに, 資料1)
    bare = re.sub(r"[（(［\[][^）)］\]]*[）)］\]]$", "", line).strip() or line  # 「…（令和6年4月）」
    return not (_MONTH.search(line) or _SENTENCE_END.search(bare))


# A month names a date (令和7年3月, 2025年3月31日, 令和七年三月, R7.3.31, March 2025): a cover's date line,
# not its title; a title names years alone (令和6年度 行財政改革実施計画)
_MONTH = re.compile(
    r"[0-9０-９〇一二三四五六七八九十]{1,2}月|^[RHSＲＨＳ]?[0-9０-９]{1,4}[./／][0-9０-９]{1,2}([./／][0-9０-９]{1,2})?$"
    r"|\b(January|February|March|April|May|June|July|August|September|October|November|December)\b",
    re.IGNORECASE,
)
# How a sentence ends, 。 or not: its stop, or a predicate in kana (改めた, 見直している, 図る, 進めたい,
# ご覧ください, 進めましょう); a title in kana ends with a particle (…に向けて, はじめに) or a noun
_SENTENCE_END = re.compile(r"([。．.！？!?]|[たるうすいだ]|ません|ましょう|ください)$")
# Words that open a section of a report rather than title it
_OPENING = re.compile(r"(はじめに|おわりに|目次|概要|別紙|別添|資料|参考|付録)")


def _heads(block: _Block, following: list[_Block]) -> bool:
    """Whether a numbered heading line heads something: a block follows it that is not a heading of the
    same or an outer level (else the line is text, and stays in a passage)."""
    if not following or _is_number("".join(following[0].lines)):
        return False  # nothing follows, or only numbers or one letter (which make no passage of their own)
    after = heading(following[0].lines[0]) if following[0].kind == "heading" else None
    return after is None or after[0] > heading(block.lines[0])[0]


def _paged(passages: list[Passage], page_starts: list[int]) -> list[Passage]:
    """Passages with the page their first line is on, counting the pages the text marks (one-space
    indents); text that marks none has no pages to cite. Extracted PDFs carry exact page starts, which
    replace these (corpus/split.py)."""
    if not page_starts:
        return passages
    return [
        replace(p, page=1 + bisect_right(page_starts, p.line_start)) if p.line_start else p for p in passages
    ]


def _blocks(lines: list[str], running: set[str] | frozenset[str], paged: bool = True) -> Iterator[_Block]:
    block: list[str] = []
    start, new_page, page_pending, previous = 0, False, False, ""
    for n, raw in enumerate(lines, 1):
        # A heading keeps its spacing ("2 ペーパーレス化の推進"); other lines are un-letter-spaced.
        titled = heading(raw.strip()) is not None
        line = raw.strip() if titled else collapse_letterspacing(raw.strip())
        page_pending = page_pending or (paged and _page_start(raw, previous))
        previous = raw if raw.strip() else previous
        if block and page_pending:
            yield _Block(start, tuple(block), new_page)
            block = []
        if not line or line in running or _contents(line.replace(" ", "").replace("\u3000", "")):
            if block:
                yield _Block(start, tuple(block), new_page)
            block = []
            continue
        if titled and block:  # a heading written straight above its text still heads it
            yield _Block(start, tuple(block), new_page)
            block = []
        if not block:
            start, new_page, page_pending = n, page_pending, False
        block.append(line)
        if titled and len(block) == 1:  # its text, on the next line, is a block of its own
            yield _Block(start, tuple(block), new_page)
            block = []
    if block:
        yield _Block(start, tuple(block), new_page)


_ENDS = ("。", "．", "！", "？", "!", "?")


def _indented(lines: list[str]) -> bool:
    """Whether a text indents its paragraphs by one space, so that a one-space opening is no page's start
    (an uploaded text had cited each paragraph as a page of its own). Read where a paragraph may start,
    after a sentence's end: a text that indents opens nearly every such line so, a PDF's text only the
    few that start a page (a deck of three-line slides: half). Without three such lines, most lines
    opening so."""
    written = [raw for raw in lines if raw.strip()]
    after = [
        raw for raw, before in zip(written[1:], written, strict=False) if before.rstrip().endswith(_ENDS)
    ]
    opens = [bool(re.match(r"^ [^ ]", raw)) for raw in (after if len(after) >= 3 else written)]
    return sum(opens) > len(opens) * (3 / 4 if len(after) >= 3 else 1 / 2)


def _page_start(raw: str, previous: str) -> bool:
    """PDF text extraction starts each page with one space; inside an open bullet item it is a wrap."""
    if not re.match(r"^ [^ ]", raw) or not previous.strip():
        return False
    in_item = (
        _BULLET.match(previous) and not _BULLET.match(raw) and not previous.rstrip().endswith((")", "）"))
    )
    return not in_item or _is_number(raw.strip())


def _is_number(text: str) -> bool:
    return sum(is_japanese(c) or c.isalpha() for c in text) < 2


def _passage(doc: Document, section: str, text: str, start: int, end: int, kind: str) -> Passage:
    return document_passage(
        doc,
        str(start),
        text,
        section,
        kind=kind,
        line_start=start,
        line_end=end,
    )


def _items(doc: Document, section: str, block: _Block) -> list[Passage]:
    """One passage per bullet, its continuation lines joined to it (lines before the first bullet are
    `_lead`'s)."""
    items: list[tuple[int, list[str]]] = []
    for n, line in enumerate(block.lines):
        if _BULLET.match(line):
            items.append((block.start + n, [_BULLET.sub("", line)]))
        elif items:
            items[-1][1].append(line)
    if not items:  # no bullet after all: its lines are prose
        return _prose(doc, section, [block])
    out = []
    for start, lines in items:
        text = join_lines(lines)
        if not _is_number(text):  # 「- 1 -」, a page number, is no item
            out.append(_passage(doc, section, text, start, start + len(lines) - 1, "item"))
    return out


def _lead(block: _Block) -> _Block | None:
    """The lines of a list's block before its first bullet (「主な成果は次のとおり。」), as a block of prose:
    they had been in no passage, and no search found them."""
    first = next((n for n, line in enumerate(block.lines) if _BULLET.match(line)), 0)
    if not first or _is_number("".join(block.lines[:first])):
        return None  # a figure whose label extraction put elsewhere says nothing on its own
    return _Block(block.start, block.lines[:first], block.new_page)


def _pieces(text: str) -> Iterator[str]:
    """Its sentences, one longer than MAX_CHARS cut every TARGET_CHARS (a line with no sentence end,
    such as a table flattened into one line, had made one passage of 100,000 characters)."""
    for sentence in SENTENCE.findall(text):
        if len(sentence) <= MAX_CHARS:
            yield sentence
        else:
            yield from (sentence[i : i + TARGET_CHARS] for i in range(0, len(sentence), TARGET_CHARS))


def _prose(doc: Document, section: str, blocks: list[_Block]) -> list[Passage]:
    """Packed prose: paragraphs joined by newlines; over MAX_CHARS, split at sentence ends."""
    text = "\n".join(b.text for b in blocks)
    start, end = blocks[0].start, blocks[-1].end
    if _is_number(text):
        return []  # figures whose labels extraction put elsewhere say nothing on their own
    if len(text) <= MAX_CHARS:
        return [_passage(doc, section, text, start, end, "paragraph")]
    out, piece = [], ""
    for sentence in _pieces(text):
        if piece and len(piece) + len(sentence) > TARGET_CHARS:
            out.append(piece)
            piece = ""
        piece += sentence
    if piece:
        out.append(piece)
    return [_passage(doc, section, p.strip(), start, end, "paragraph") for p in out if p.strip()]
