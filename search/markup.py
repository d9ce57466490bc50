"""Markup in a query or a passage: HTML tags, entities, and script and style elements with what they hold
(code, not words of a question). A query is ranked and labelled without it; a passage's phrase key leaves
it out."""

from __future__ import annotations

import re

# Tags and entities, and script and style elements with what they hold (code, not words of a question).
# The elements are found by scanning, not by one pattern: `<(script|style)\b[^>]*>.*?</\1\s*>` tried every
# opening tag against the whole rest of the text, and a passage of 12,500 unclosed <script> tags had
# taken 13 s at each comparison that read it.
_TAGS = re.compile(r"<[^<>]*>|&[a-zA-Z#0-9]+;")
_OPEN = re.compile(r"<(script|style)\b", re.I)
_CLOSE = {name: re.compile(rf"</{name}\s*>", re.I) for name in ("script", "style")}


def has_markup(text: str) -> bool:
    """Whether the text holds a tag, an entity or a script (`strip_markup` would change it)."""
    return _TAGS.search(text) is not None or bool(_elements(text))


def strip_markup(text: str) -> str:
    """The query without HTML tags, entities and scripts: markup is no content. Each is one space."""
    pieces, at = [], 0
    for start, end in _elements(text):
        pieces += [_TAGS.sub(" ", text[at:start]), " "]
        at = end
    return "".join([*pieces, _TAGS.sub(" ", text[at:])])


def _elements(text: str) -> list[tuple[int, int]]:
    """The spans of the closed script and style elements of `text`, in order, in linear time: an opening
    tag with no closing one after it is a tag like another (`_TAGS`), and once one name has none, the
    rest of the text holds none for a later opening of it either."""
    spans: list[tuple[int, int]] = []
    unclosed: set[str] = set()
    at = 0
    while (opening := _OPEN.search(text, at)) is not None:
        name = opening.group(1).lower()
        end_of_tag = text.find(">", opening.end())
        if end_of_tag < 0:
            break  # no later opening tag ends either
        closing = None if name in unclosed else _CLOSE[name].search(text, end_of_tag + 1)
        if closing is None:
            unclosed.add(name)
            at = opening.end()
            continue
        spans.append((opening.start(), closing.end()))
        at = closing.end()
    return spans
