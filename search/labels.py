"""Match labels as a calibrated decision: does this city have what the query asks for?

Each candidate passage of a city is described by evidence that means the same for every query:

    z        its cosine to the query in standard deviations above the city's null (its best cosines
             for generic probe texts, measured at index time: index/calibration.py); a packed
             passage's cosine is that of its best sentence (index/parts.py), as its own vector is the
             mean of several topics, near many queries without answering any
    words    the share of the query's content words it holds, each weighted by its IDF among the
             city's own passages (a word every passage has says little; particles, symbols, markup
             and bare numbers are no content words), times the query's share of Japanese words; plus
             the same share of its English words among the passage's English words (the glosses of its
             Japanese words, index/glossary.py), times the query's share of English words
    phrase   1 when it holds the query's content words written together as the query writes them
             (an initiative title typed as it stands)
    length   log(1 + its characters): a long passage holds a query's words together by chance more
             often, and the model discounts that
    missing  the IDF-weighted share of the query's content words that none of the city's passages
             holds, times the query's share of Japanese words: a topic whose own noun the city never
             writes ("議員定数" where no passage says 議員) is seldom there, however near its cosine
    missing pairs
             the share of the query's noun pairs (two adjacent nouns as it writes them: 電子入札,
             市立) that none of the city's candidate passages writes, times the query's share of Japanese
             words: a city that writes 入札 and 電子 but never 電子入札 has not said what was asked
    terms    log(1 + the number of the query's content words), alone and times words: a two-word topic
             that a city has is held nearly whole, while a long question in the asker's own words
             shares only some of its words with the passage that answers it

A small logistic model (search/label_model.py) turns them into the probability that the passage
answers the query, each feature read within the range it was fitted on. A city's label is that of its
best passage: at or above `weak` it matches, at or above `strong` strongly. "N 件が該当" counts the
passages that match: the best one, and any other at or above the stricter `passage` threshold (the
model is fitted on cities, and a passage below a city's best at 0.5 is seldom an answer on its own).
The coefficients were fitted on the visible judgments (judged cities positive; none-probes, cities an
exhaustively judged query leaves out, generated off-topic queries and hand-checked reform topics a
city lacks negative) and the thresholds chosen by 5-fold cross-validation (bench/fit_labels.py, which
also measures more hand-checked topics it never fits: bench/label_topics_check.jsonl); they ship in
label_model.json.
Everything is computed from the query and the city's own passages, so adding another city's
documents never changes a city's label.

A query with no content word ("の", "12345", "!!!???", markup) matches nothing anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise

import numpy as np

from corpus.normalize import has_japanese, is_japanese
from index.bm25 import BM25
from index.tokenize import tokenize
from search.markup import strip_markup

# The longest compound a column names as written apart: a longer run is no word a reader typed as one
# (a query of one word repeated hundreds of times had filled both columns with it)
APART_CHARS = 24
KEY_CACHE = 8192  # passages whose phrase key (and, apart, whose run tokens) are kept


class Match(StrEnum):
    """How well a city (or one passage) answers a query."""

    STRONG = "strong"
    WEAK = "weak"
    NONE = "none"

    @property
    def mark(self) -> str:
        return _NAMES[self][0]

    @property
    def ja(self) -> str:
        return _NAMES[self][1]

    @property
    def label(self) -> str:
        """Mark, Japanese and English name: "◎ 該当あり strong"."""
        return f"{self.mark} {self.ja} {self.value}"


_NAMES = {Match.STRONG: ("◎", "該当あり"), Match.WEAK: ("○", "関連あり"), Match.NONE: ("×", "該当なし")}
MATCHES = tuple(m.value for m in Match)


def _is_number(token: str) -> bool:
    return not any(c.isalpha() or is_japanese(c) for c in token)


def content_terms(tokens: list[str]) -> list[str]:
    """Distinct tokens that carry a topic: bare numbers and symbol runs are dropped (a lone Latin letter
    is kept: the G of 5G, the R of 3R, which the tokenizer splits from their digit)."""
    return list(dict.fromkeys(t for t in tokens if not _is_number(t)))


def has_content(tokens: Sequence[str], text: str = "") -> bool:
    """Whether a query's tokens (of its `text` without markup: Prepared.lexical) hold a content word
    (particles, symbols and numbers are none): one without finds nothing, in a search as in a comparison.
    Latin letters each typed alone are none either ("x", "x y", the x of `<b>x</b>`); one written with a
    number or a mark is a word (5G, 3R, Q&A, B/C: the tokenizer splits the letter from the rest)."""
    terms = content_terms(list(tokens))
    letters = all(len(t) == 1 and t.isascii() and t.isalpha() for t in terms)
    return bool(terms) and not (letters and all(len(word) == 1 for word in text.split()))


def phrase_key(text: str) -> str:
    """NFKC, lower-cased, without whitespace and markup: how a phrase is looked for in passages."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", strip_markup(text)).lower())


def idf_of(df: np.ndarray, n: int) -> np.ndarray:
    """BM25's IDF of terms held by `df` of `n` passages (a term none holds gets the highest)."""
    return np.log1p((n - df + 0.5) / (df + 0.5))


def city_idf(bm25: BM25, terms: list[str], allowed: np.ndarray) -> np.ndarray:
    """IDF of each term among the allowed passages only (a term the city lacks gets the highest IDF)."""
    return idf_of(bm25.df(terms, allowed), int(allowed.sum()))


def missing_share(idf: np.ndarray, df: np.ndarray) -> float:
    """IDF-weighted share of the terms that no allowed passage holds (0..1), from their `idf_of` and
    `BM25.df`."""
    if not len(idf) or idf.sum() <= 0:
        return 0.0
    return float(idf[df == 0].sum() / idf.sum())


def written_df(terms: list[str], df: np.ndarray, texts: list[str]) -> np.ndarray:
    """`df` (from `BM25.df`) with each term that no passage holds as a token counted once when one of
    `texts` (passages of the city) holds it with each of its lines and spaced runs read on its own
    (`run_terms`). The tokenizer reads a word by its context, through line breaks: after マネジメント on
    the line before, a brochure's 「しごと効率化」 was し + ごと, so its 仕事 was no token and the city
    was said never to write しごと. (Looking for the query's characters instead would find 定数 in
    予定数.)"""
    out = np.array(df, copy=True)
    for j, term in enumerate(terms):
        if out[j] == 0 and any(term in run_terms(text) for text in texts):
            out[j] = 1
    return out


@lru_cache(maxsize=KEY_CACHE)
def run_terms(text: str) -> frozenset[str]:
    """The tokens of a passage with each line and each whitespace-separated run of it read on its own
    (cached: a passage is read once)."""
    return frozenset(t for run in text.split() for t in tokenize(run))


def absent_words(
    terms: list[str], df: np.ndarray, words: list[tuple[str, str, str]], shown: set[str]
) -> tuple[str, ...]:
    """The query's nouns that no allowed passage holds (their `BM25.df` is 0), as the query writes them
    (its `written_words`): an affix with the word it belongs to (市立 when the city writes 市 but never
    立; おくやみ), adjacent ones together (議員定数), one character alone with the nouns it is written
    with (公文書 when the city writes 文書 but never 公): its nouns in Japanese script and its acronyms
    (`shown`), the words met among the passages' own. Its English words are met among the passages'
    English words instead (the glosses of their Japanese words)."""
    absent = {t for t, held in zip(terms, df, strict=True) if held == 0 and (has_japanese(t) or t in shown)}
    # a word with its affixes as written; whether a noun of it is absent; whether it is a noun
    units: list[tuple[str, bool, bool]] = []
    prefix: tuple[str, bool] | None = None
    for token, surface, kind in words:
        missing = bool(kind) and token in absent
        if kind == "suffix" and units and prefix is None:
            units[-1] = (units[-1][0] + surface, units[-1][1] or missing, units[-1][2])
            continue
        if prefix is not None:
            surface, missing, prefix = prefix[0] + surface, prefix[1] or missing, None
        if kind == "prefix":
            prefix = (surface, missing)
        else:
            units.append((surface, missing, bool(kind)))
    if prefix is not None:
        units.append((*prefix, True))
    spans: list[tuple[int, int]] = []
    n = 0
    while n < len(units):
        if not units[n][1]:
            n += 1
            continue
        first, last = n, n
        while last + 1 < len(units) and units[last + 1][1]:
            last += 1
        n = last + 1
        # one character alone (公 of 公文書): named with the compound it is written in
        if first == last and len(units[first][0]) == 1:
            while first > 0 and units[first - 1][2] and units[first - 1][0].strip():
                first -= 1
            while last + 1 < len(units) and units[last + 1][2] and units[last + 1][0].strip():
                last += 1
        spans.append((first, last))
    return tuple(dict.fromkeys("".join(u[0] for u in units[f : e + 1]) for f, e in merged(spans)))


def apart_words(
    words: list[tuple[str, str, str]], unwritten: set[str], absent: Sequence[str] = ()
) -> tuple[str, ...]:
    """The query's compounds that no candidate writes as one, as the query writes them: two adjacent
    nouns in Japanese script (its `written_words`, as `noun_pairs` reads them, but not across a space or
    a line break: 「デジタル 推進」 is two words as typed) whose pair's phrase key is in `unwritten`, each
    with the whole words it is written with (a suffix's head noun, a noun's prefix and suffixes), runs
    that share a word named as one (ペーパーレス化 where the city writes ペーパーレスの推進; 職員駐車場有料化
    where it writes 職員, 駐車場 and 有料化 apart), leaving out those that hold or lie in an `absent` word
    (already named)."""
    spans: list[tuple[int, int]] = []
    for n, (a, b) in enumerate(pairwise(words)):
        if not (a[2] and b[2] and has_japanese(a[1]) and has_japanese(b[1])):
            continue
        if phrase_key(a[1] + b[1]) not in unwritten:
            continue
        first, last = n, n + 1
        while first > 0 and _joined(words[first - 1], words[first]):
            first -= 1
        if words[first][2] == "suffix":  # no word to stand on (「の方改革」): not a compound to name
            continue
        while last + 1 < len(words) and words[last + 1][2] == "suffix":
            last += 1
        spans.append((first, last))
    runs = ["".join(w[1] for w in words[first : last + 1]) for first, last in merged(spans)]
    return tuple(
        r for r in dict.fromkeys(runs) if len(r) <= APART_CHARS and not any(x in r or r in x for x in absent)
    )


def _joined(before: tuple[str, str, str], word: tuple[str, str, str]) -> bool:
    """Whether `before` is written as one word with `word`: a noun's prefix, or the word a suffix stands
    on, a noun or a verb's stem (the 働き of 働き方改革; not a particle, written in hiragana alone)."""
    if word[2] == "suffix":  # a word of letters (a mark, a bracket, is none: 「行政（デジタル）化」)
        return bool(before[2]) or (any(c.isalnum() for c in before[1]) and not _hiragana(before[1]))
    return before[2] == "prefix" and bool(word[2])


def _hiragana(text: str) -> bool:
    return all("\u3041" <= ch <= "\u309f" for ch in text)


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans (first, last, inclusive) joined where they share an item, in order."""
    out: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if out and first <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def word_evidence(bm25: BM25, terms: list[str], idf: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """IDF-weighted share of `terms` that each passage of `ids` holds (0..1); `idf` from `city_idf`."""
    if not terms or not len(ids):
        return np.zeros(len(ids))
    held = np.zeros(len(ids))
    for term, weight in zip(terms, idf, strict=True):
        held += weight * np.isin(ids, bm25.postings(term)[0])
    return held / idf.sum()


@lru_cache(maxsize=KEY_CACHE)
def passage_key(text: str) -> str:
    """A passage's text as `phrase_key` writes it (cached: a passage is normalized once)."""
    return phrase_key(text)
