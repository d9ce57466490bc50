"""A query made ready for ranking: checked (empty refused, too long cut), its lexical side (the
tokens two BM25 indexes look for) and its embedding, computed once for every ranking it enters."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from corpus.normalize import has_japanese, without_invisible
from index.glossary import LazyGlossary, query_words
from index.tokenize import tokenize

MAX_QUERY_CHARS = 1000
CUT_LOOKBACK = 40  # how far back an over-long query's cut may move to end at a word boundary
_BOUNDARY = re.compile(r"[\s、。，．,.!?！？；;：:）)」』]")  # not ・: ワーク・ライフ・バランス is one


@dataclass(frozen=True)
class Query:
    """A validated query: its text (truncated if it was too long) and the filters it carries."""

    text: str
    truncated: bool = False


def check_query(text: str, max_chars: int = MAX_QUERY_CHARS) -> Query:
    """Refuse an empty query; cut an over-long one to `max_chars` (the caller warns). Invisible
    characters are left out, as they are of the passages (corpus/normalize.py): a zero-width space or a
    soft hyphen pasted with 窓口 had split it, and changed its label."""
    if isinstance(text, str):
        text = without_invisible(text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the query is empty; type the words to search for")
    text = " ".join(text.split())
    if len(text) > max_chars:
        return Query(cut(text, max_chars), truncated=True)
    return Query(text)


def cut(text: str, max_chars: int) -> str:
    """`text` cut to at most `max_chars`, at the last space or punctuation within CUT_LOOKBACK of the
    limit when the limit falls inside a word: a word cut in two is a word no passage writes (「デ」 of
    デジタル had been named as absent from every city)."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    if _BOUNDARY.match(text, max_chars) or _BOUNDARY.match(text, max_chars - 1):
        return head.rstrip()
    ends = [m.end() for m in _BOUNDARY.finditer(head, max(0, max_chars - CUT_LOOKBACK))]
    return head[: ends[-1]].rstrip() if ends else head


_LATIN_RUN = re.compile(r"[A-Za-z0-9]+")


def acronyms(text: str) -> set[str]:
    """The acronyms a text writes (DX, AI, RPA, BPR, IoT: 2–6 Latin letters or digits, two or more of
    them capitals), lower-cased as tokens are. Japanese reports write them as they stand (保育DX,
    AI/RPAの導入), so in a query they are words of the Japanese text, not English words to translate."""
    runs = _LATIN_RUN.findall(unicodedata.normalize("NFKC", text))
    return {r.lower() for r in runs if 2 <= len(r) <= 6 and sum(c.isupper() for c in r) >= 2}


def japanese_share(tokens: Sequence[str], query: str, acronyms_japanese: bool = False) -> float:
    """The share of the query's words in Japanese script, which weighs its Japanese BM25 ranking in
    hybrid fusion (the setting `lexical_weight` times it); with `acronyms_japanese`, of the words
    Japanese text writes: acronyms (`acronyms`) count too, as a label reads them.

    BM25 over Japanese text matches Japanese query words; English words reach it only through the
    few loanword glosses of the dictionary, so an English query leans on the multilingual embedding.
    Glosses the tokenizer adds (テレワーク → "telework") are not words of the query and don't count.
    Ranking leaves acronyms to the embedding (measured: counting them moved AI/RPA rows above the
    topic of "water pipe renewal using AI"); a label counts them as words the city writes or not.
    """
    folded = unicodedata.normalize("NFKC", query).lower()
    kept = acronyms(query) if acronyms_japanese else set()
    words = [t for t in tokens if has_japanese(t) or t in folded]
    if not words:
        return 0.0
    return sum(has_japanese(t) or t in kept for t in words) / len(words)


@dataclass(frozen=True)
class LexicalQuery:
    """What the two BM25 indexes of a query look for: its own tokens among the passages' Japanese words
    (each weighing how often it occurs), and the stems of its English words among the passages' English
    words (index/glossary.py)."""

    tokens: tuple[str, ...]  # the query's own tokens, in order
    terms: dict[str, float]
    english: tuple[str, ...]  # stems of its English content words
    share: float  # the query's share of Japanese words (japanese_share)
    # stems of the English glosses of its Japanese words (index/glossary.py Glossary.bag), each once:
    # where the passages' English words meet its Japanese words' synonyms
    bridge: tuple[str, ...] = ()


def read_lexical(text: str, glossary: LazyGlossary | None, bridging: bool) -> LexicalQuery:
    """The BM25 side of a (checked) query: its tokens, the stems of its English words, and those of its
    Japanese words' English glosses (neither with the glossary setting "off"; no glosses unless
    `bridging`, or without a dictionary: the dictionary is not read for nothing)."""
    tokens = tokenize(text)
    terms: dict[str, float] = dict(Counter(tokens))
    off = glossary is not None and glossary.kind == "off"  # English leans on the embedding
    english = () if off else tuple(query_words(text))
    bridge: tuple[str, ...] = ()
    if not off and glossary is not None and bridging:
        words = glossary.get()
        bridge = tuple(dict.fromkeys(words.bag(tokens))) if words is not None else ()
    return LexicalQuery(tuple(tokens), terms, english, japanese_share(tokens, text), bridge)


class Prepared:
    """A query made ready once for every ranking it enters (search, each column of compare, similar):
    its checked text, its lexical side and, when a ranking needs it, its embedding (computed at most
    once, or given)."""

    def __init__(
        self,
        query: Query,
        lexical: LexicalQuery,
        embed: Callable[[str], np.ndarray],
        vector=None,
        read: str | None = None,
    ) -> None:
        self.text = query.text
        self.read = query.text if read is None else read  # what is ranked: the text without markup
        self.truncated = query.truncated
        self.lexical = lexical
        self._embed = embed
        self._vector = vector
        self._lock = threading.Lock()

    @property
    def vector(self) -> np.ndarray:
        """The query's embedding (the embedder is asked on first use only)."""
        with self._lock:
            if self._vector is None:
                self._vector = self._embed(self.read)
            return self._vector
