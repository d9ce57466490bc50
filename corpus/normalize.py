"""Japanese text normalization: display clean-up, line joining, and the NFKC form used for matching."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# CJK Radicals Supplement characters that PDF extractors emit in place of ordinary kanji.
# Unlike the Kangxi radicals (U+2F00–U+2FD5) these have no NFKC mapping, so they are listed here
# (values from Unicode's EquivalentUnifiedIdeograph data, whole characters only).
_RADICAL_LOOKALIKES = str.maketrans(
    {
        "\u2e9f": "母",
        "\u2ea0": "民",
        "\u2ea9": "王",
        "\u2eac": "示",
        "\u2ec4": "西",
        "\u2ec6": "角",
        "\u2ed1": "長",
        "\u2ed8": "青",
        "\u2edd": "食",
        "\u2ee4": "鬼",
        "\u2ee9": "黄",
        "\u2eeb": "斉",
        "\u2eed": "歯",
        "\u2eef": "竜",
        "\u2ef2": "亀",
        "\u2ef3": "亀",
    }
)
# Kangxi radicals, CJK compatibility ideographs, half-width katakana (ﾏﾈｼﾞﾒﾝﾄ): NFKC maps them to
# the ordinary characters a reader expects; everything else keeps its original form for display.
_LOOKALIKE_RANGES = re.compile("[\u2f00-\u2fd5\uf900-\ufaff\U0002f800-\U0002fa1f]|[\uff61-\uff9f]+")
# Control characters and invisible formatting: zero-width spaces and joiners, soft hyphens, direction
# marks and overrides (which also make text display otherwise than it reads), byte-order marks, variation
# selectors (a glyph's variant: 葛󠄀 in a PDF), fillers and tags, and lone surrogates. Text pasted from a
# PDF or a web page often carries them; they split words apart.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\u00ad\u034f\u115f\u1160\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u2069\u3164\ufe00-\ufe0f\ufeff\uffa0\ud800-\udfff"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_SPACES = re.compile(r"\s+")


def fix_lookalikes(text: str) -> str:
    """Map Kangxi-radical and CJK-compatibility look-alikes to kanji (⽅→方), half-width kana to full."""
    text = _LOOKALIKE_RANGES.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text.translate(_RADICAL_LOOKALIKES)


def without_invisible(text: str) -> str:
    """Text without control characters (other than tab and newline) and invisible formatting."""
    return _CONTROL.sub("", text)


def clean_text(text: str) -> str:
    """Display form of extracted text: unified newlines, no control characters, look-alikes fixed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = without_invisible(text.replace("\t", " "))
    return fix_lookalikes(text)


def normalize(text: str) -> str:
    """Matching form: NFKC, look-alikes fixed, lower-cased, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFKC", fix_lookalikes(text)).lower()
    return _SPACES.sub(" ", text).strip()


def is_japanese(ch: str) -> bool:
    """True for kana, kanji and full-width forms: characters that take no space between them."""
    o = ord(ch)
    return (
        0x3000 <= o <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF  # full-width and half-width forms
        or 0x2460 <= o <= 0x24FF  # circled and parenthesized numbers
        or 0x2E80 <= o <= 0x2FDF
        or 0x20000 <= o <= 0x3FFFF
    )


def width(text: str) -> float:
    """Display width in full-width character units (half-width characters count 0.5)."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "FWA" else 0.5 for c in text)


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines into one paragraph, adding a space only where both sides are non-Japanese."""
    out = ""
    for line in lines:
        line = line.strip(" ")
        if not line:
            continue
        if out and not (is_japanese(out[-1]) or is_japanese(line[0])) and out[-1] not in "/-(":
            out += " "
        out += line
    return out


def collapse_letterspacing(line: str) -> str:
    """Remove the spaces of letter-spaced words ("公 共 施 設" → "公共施設", "2 4時間" → "24時間").

    A space goes when a one-character token stands on one side of it and Japanese text touches it,
    or when it sits inside a run of three or more one-character tokens (spaced-out Latin: "L I N E").
    """
    tokens = line.split(" ")
    if len(tokens) < 2:
        return line
    single = [len(t) == 1 for t in tokens]
    in_run = [False] * len(tokens)
    start = 0
    for n in range(len(tokens) + 1):
        if n == len(tokens) or not single[n]:
            if n - start >= 3:
                in_run[start:n] = [True] * (n - start)
            start = n + 1
    out = tokens[0]
    for n in range(1, len(tokens)):
        prev, tok = tokens[n - 1], tokens[n]
        glue = bool(prev and tok) and (
            (in_run[n - 1] and in_run[n])
            or ((single[n - 1] or single[n]) and (has_japanese(prev) or has_japanese(tok)))
        )
        out += ("" if glue else " ") + tok
    return out


def has_japanese(text: str) -> bool:
    """Whether any character of `text` is Japanese script."""
    return any(is_japanese(c) for c in text)


def compact(text: str) -> str:
    """NFKC with all whitespace removed: the form used to test whether a phrase occurs in a text."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text))


def running_headers(lines: list[str], min_width: float = 15, min_count: int = 3) -> set[str]:
    """Long lines repeated on three or more pages: running page headers, dropped from passages."""
    counts = Counter(s for s in (line.strip() for line in lines) if width(s) >= min_width)
    return {line for line, n in counts.items() if n >= min_count}


def readable_name(name: str) -> str:
    """A file name as text: one whose bytes were no UTF-8 (Python holds them as surrogates; a zip from
    Japanese Windows unpacks with CP932 names) read as CP932 where it can be, else with U+FFFD. Stored
    JSON holds text: a surrogate had failed to be written with a codec error."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("cp932")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")
