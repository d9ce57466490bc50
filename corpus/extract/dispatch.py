"""Choose the parser for a file: by name and content, in this process or in a child process."""

from __future__ import annotations

from corpus.extract.base import Extracted, Limits
from corpus.extract.sniff import check_format
from corpus.refusal import Refusal, too_large

# Parsed in a child process, stopped at parse_timeout_s: their parsers can be driven to take far longer
# than a file's size suggests (Python's HTMLParser slows with the square of a page of unclosed tags:
# 56 s for 100 KB of 「<a 」), and would hold the one indexing slot and a CPU meanwhile
_ISOLATED = {
    "pdf": "corpus.extract.pdf:extract",
    "xlsx": "corpus.extract.xlsx:extract",
    "docx": "corpus.extract.docx:extract",
    "html": "corpus.extract.html:extract",
}


def extract(data: bytes, filename: str, limits: Limits) -> Extracted:
    """The text and table rows of one file, or a ValueError that says in one line why it was refused."""
    if len(data) > limits.max_bytes:
        raise too_large(filename, len(data), limits.max_bytes)
    kind = check_format(data, filename)
    if kind in _ISOLATED:
        from corpus.extract.isolate import run_isolated

        extracted = run_isolated(_ISOLATED[kind], data, filename, limits)
    elif kind == "csv":
        from corpus.extract.table import extract_csv

        extracted = extract_csv(data, filename, limits)
    else:
        from corpus.extract.text import extract as extract_text

        extracted = extract_text(data, filename, limits)
    if extracted.empty:
        raise Refusal(f"{filename} holds no text to index", f"{filename} には索引にする文字がありません")
    return extracted
