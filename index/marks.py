"""What a passage shows marked for a query: its words that share a token with it (`matched_terms`), a
query's one-character words kept to the compounds it writes them in (`bound_singles`, `joined_singles`),
and the places a mark may begin and end, the bounds of the words as the tagger reads them
(`word_bounds`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence, Set
from functools import lru_cache

from index.tokenize import inflected_end, surface_keys, tagged, tokenize


def matched_terms(text: str, query_tokens: set[str], keys: list[tuple[str, str]] | None = None) -> list[str]:
    """Surface forms in `text` whose tokens occur in the query: the words to highlight, in text order.

    `keys` is `surface_keys(text)` when the caller has it already (it is the costly part).
    """
    found: list[str] = []
    for surface, token in surface_keys(text) if keys is None else keys:
        if token in query_tokens and surface not in found:
            found.append(surface)
    return found


@lru_cache(maxsize=4096)  # a shown passage is marked once per field, excerpt and whole text
def word_bounds(text: str) -> frozenset[int]:
    """Where the words of `text` begin and end as the tagger reads them, an inflected word whole
    (書かない, not 書か + ない: index/tokenize.py `inflected_end`): the only places a mark may begin or
    end, so that a word is never marked inside another (可 inside 可能), nor a fragment of one (書か)."""
    words = tagged(text)
    bounds: set[int] = set()
    n = 0
    while n < len(words):
        end = inflected_end(words, n)
        bounds.update((words[n].start, words[end - 1].end))
        n = end
    return frozenset(bounds)


def _joins(ch: str) -> bool:
    """Whether `ch` writes one word with its neighbour: a kanji, katakana, Latin letter or digit
    (hiragana are mostly particles and okurigana)."""
    return (ch.isascii() and ch.isalnum()) or unicodedata.name(ch, "").startswith(("CJK", "KATAKANA"))


@lru_cache(maxsize=1024)  # a comparison asks it once per city column
def bound_singles(query: str) -> frozenset[str]:
    """The query's one-character words that it writes only inside a compound (館 of 児童館): a passage
    shows them within the same compound, not in every word that holds them (本館, 公民館), unless they are all
    it shares with the query (`joined_singles`)."""
    text = unicodedata.normalize("NFKC", query)
    words = set(tokenize(text))
    singles = {s for s, token in surface_keys(text) if len(s) == 1 and token in words}
    tagged_words = tagged(text)
    bound = set()
    for ch in singles:
        # where it stands as a word of its own: the 書 of 申請書, not that of the verb 書かない
        places = [w.start for w in tagged_words if w.surface == ch]
        if all(
            (i > 0 and _joins(text[i - 1])) or (i + 1 < len(text) and _joins(text[i + 1])) for i in places
        ):
            bound.add(ch)
    return frozenset(bound)


def joined_singles(text: str, found: Sequence[str], bound: Set[str]) -> list[str]:
    """`found` (the words of `text` to highlight) with each of `bound`'s characters replaced by the
    runs where `text` writes it next to another found word (児童 + 館 → 児童館), or left out; kept as it
    is when it is the only word found, as it is then why the passage matched."""
    if all(word in bound for word in found):
        return list(found)
    out: list[str] = []
    for word in found:
        if word not in bound:
            out.append(word)
            continue
        for other in found:
            for run in (other + word, word + other):
                if other != word and run in text:
                    out.append(run)
    return list(dict.fromkeys(out))  # a run may also be a word found on its own (c + e and ce)
