"""Japanese tokens for BM25: fugashi + unidic-lite content words, NFKC, lower-cased, lemmatized."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from itertools import pairwise
from typing import Any, NamedTuple

from corpus.normalize import has_japanese

# Bump when tokens change for the same text: BM25 indexes built with another version are rebuilt.
TOKENIZER_VERSION = 6

_CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞", "副詞", "接頭辞", "接尾辞", "記号", "代名詞"}
# Light verbs and formal nouns carry no topic; neither do English function words (queries are
# sometimes English, and unidic glosses loanwords in English: テレワーク → "telework").
_STOP_LEMMAS = {
    "為る",
    "有る",
    "居る",
    "成る",
    "出来る",
    "行う",
    "事",
    "物",
    "為",
    "等",
    "毎",
    "様",
    "的",
    "此れ",
    "其の",
    "此の",
    "其れ",
    "所",
    "中",
    "上",
    "下",
    "方",
    "後",
    "前",
    "化",
    # question words: a question's どこ, いつ, 何, どれ, 誰, どう, なぜ, どちら, いくつ, いかが ask, and
    # name no topic (どこまで進んだか had marked どこ in どこでも, and weighed it in BM25)
    "何処",
    "何時",
    "何",
    "何れ",
    "誰",
    "どう",
    "何故",
    "何方",
    "幾",
    "如何",
}
_STOP_ASCII = {
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "by",
    "do",
    "for",
    "from",
    "how",
    "in",
    "is",
    "it",
    "my",
    "of",
    "on",
    "or",
    "the",
    "to",
    "up",
    "using",
    "was",
    "what",
    "which",
    "with",
}


# A Tagger used by two threads at once returns words of the other thread's text (measured: garbage
# tokens under 4 concurrent searches). Parses take turns: fugashi holds the GIL while it parses, so
# the lock costs no parallelism, and one tagger maps its dictionary once (one per thread: ~75 MB each).
_TAGGER_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _tagger():
    import fugashi  # imported here so that listing or help commands stay fast

    return fugashi.Tagger()


class Word(NamedTuple):
    """A word as the tagger reads it: as the text writes it, its unidic features, and where it stands."""

    surface: str
    feature: Any
    start: int
    end: int


def tagged(text: str) -> list[Word]:
    """Every word of `text` as the tagger reads it, in order, with its place (what lies between words,
    spaces and line breaks, belongs to none)."""
    with _TAGGER_LOCK:  # a word reads its surface and features from the tagger's buffers
        pairs = [(w.surface, w.feature) for w in _tagger()(text)]
    words, at = [], 0
    for surface, feature in pairs:
        start = text.find(surface, at)
        start = at if start < 0 else start
        words.append(Word(surface, feature, start, start + len(surface)))
        at = start + len(surface)
    return words


# What an inflected word writes after its stem, as one word to a reader: 書か + ない, 見直し + ます,
# 書い + て, 書かなけれ + ば
_ENDING_PARTICLES = {"て", "で", "ば"}


def inflected_end(words: Sequence[Word], n: int) -> int:
    """Where word `n` ends as a reader reads it: past the auxiliaries (ない, ます, た, せる) and the
    conjunctive て, で or ば written right after a verb or an adjective (書か of 書かない: 書かない is the
    word, 書か a fragment of it); n + 1 for any other word."""
    end = n + 1
    if words[n].feature.pos1 not in ("動詞", "形容詞"):
        return end
    while end < len(words) and words[end].start == words[end - 1].end:
        word = words[end]
        if word.feature.pos1 == "助動詞":
            end += 1
        elif word.surface in _ENDING_PARTICLES and word.feature.pos2 == "接続助詞":
            return end + 1
        else:
            break
    return end


def fold(token: str) -> str:
    """NFKC + lower-case; English plural endings folded so "services" meets "service"."""
    token = unicodedata.normalize("NFKC", token).lower()
    if token.isascii() and token.isalpha() and len(token) > 3:
        if token.endswith("ies"):
            return token[:-3] + "y"
        if token.endswith(("sses", "xes", "ches", "shes", "zes")):
            return token[:-2]
        if token.endswith("s") and not token.endswith(("ss", "us", "is")):
            return token[:-1]
    return token


def _lemma(surface: str, feature) -> str:
    """A word's dictionary form (its surface where unidic gives none, as for numbers)."""
    return feature.lemma if feature.lemma not in (None, "*") else surface


def tokenize(text: str) -> list[str]:
    """Content-word tokens of a Japanese (or English) text, in order, with English glosses of loanwords."""
    words = tagged(unicodedata.normalize("NFKC", text))
    tokens: list[str] = []
    previous = ""
    for n, (surface, feature, *_) in enumerate(words):
        after_te, previous = previous in ("て", "で"), surface
        if feature.pos1 not in _CONTENT_POS:
            continue
        if after_te and feature.pos1 == "動詞" and feature.pos2 == "非自立可能":
            continue  # 検討していく, 進めてきた: the auxiliary verb after て adds no topic
        lemma = _lemma(surface, feature)
        lemma, _, gloss = lemma.partition("-")
        if lemma in _STOP_LEMMAS or not lemma.strip():
            continue
        if feature.pos1 == "記号" and not any(c.isalnum() for c in surface):
            continue
        token = fold(lemma if lemma.strip() else surface)
        if token in _STOP_ASCII:
            continue
        tokens.append(token)
        if gloss and gloss.isascii() and (g := fold(gloss)) not in _STOP_ASCII and g != token:
            tokens.append(g)
        if _compounded(words, n) and (noun := _noun_form(surface)) != token:
            tokens.append(noun)
    return tokens


@lru_cache(maxsize=4096)
def _noun_form(surface: str) -> str:
    """The token a verb's 連用形 is read as when it stands alone, as a noun: 待ち → 待ち, 立上げ → 立ち上げ
    (the noun's dictionary form, whatever its okurigana); its surface where it is not read as one noun."""
    words = tagged(surface)
    if len(words) == 1 and words[0].feature.pos1 == "名詞":
        return fold(_lemma(surface, words[0].feature).partition("-")[0] or surface)
    return fold(surface)


def _compounded(words: list, n: int) -> bool:
    """Whether word `n` (of `tagged` words) is a verb in its 連用形 before a noun, as the first
    part of a compound (待ち of 待ち時間): the noun it is read as alone is then a token too, as the same
    compound typed alone is read (「待ち時間」 gives 待ち + 時間; 「窓口での待ち時間を」, 待つ + 時間). Not
    after a particle that governs it as a verb (により, に基づき, を通じ) nor in kana alone (につき, かけ):
    those are grammar, and their noun readings (辺り, 欠け) say nothing of the text."""
    surface, feature, *_ = words[n]
    return (
        feature.pos1 == "動詞"
        and str(feature.cForm).startswith("連用形")
        and any("\u4e00" <= c <= "\u9fff" for c in surface)
        and n + 1 < len(words)
        # before a suffix too (引継ぎ書, 進め方): visible nDCG@10 0.867 → 0.862, blind 0.777 → 0.778
        and words[n + 1].feature.pos1 == "名詞"
        and not (n > 0 and words[n - 1].surface in _GOVERNING)
    )


# Particles after which a verb is a verb of the sentence, not part of a compound
_GOVERNING = {"に", "を", "が", "と", "で", "へ", "から", "より", "にて"}


def surface_keys(text: str) -> list[tuple[str, str]]:
    """(surface form, token it matches as) for every content word of `text`, glosses included, in order;
    an inflected word's surface whole (書かない, whose token is 書く: `inflected_end`)."""
    words = tagged(text)
    pairs: list[tuple[str, str]] = []
    for n, (surface, feature, *_) in enumerate(words):
        lemma = _lemma(surface, feature)
        lemma, _, gloss = lemma.partition("-")
        if lemma in _STOP_LEMMAS:
            continue
        shown = "".join(w.surface for w in words[n : inflected_end(words, n)])
        pairs.append((shown, fold(lemma)))
        if gloss:
            pairs.append((shown, fold(gloss)))
        if _compounded(words, n):  # as `tokenize` reads it too (待ち of 待ち時間)
            pairs.append((shown, _noun_form(surface)))
    return pairs


def written_words(text: str) -> list[tuple[str, str, str]]:
    """Every word of `text` in order, as (token it matches as, how the text writes it, its kind of
    noun: "noun", "prefix" (お, 各), "suffix" (立 of 市立, 化) or "" for any other word): what to show
    its writer of its tokens (ごみ, whose token is its lemma 塵)."""
    out: list[tuple[str, str, str]] = []
    for run in unicodedata.normalize("NFKC", text).split():
        if out:  # a space or a line break between two words: shown apart (noun_pairs reads past it)
            out.append(("", " ", ""))
        for surface, feature, *_ in tagged(run):
            lemma = _lemma(surface, feature)
            out.append((fold(lemma.partition("-")[0] or surface), surface, _NOUNISH.get(feature.pos1, "")))
    return out


_NOUNISH = {"名詞": "noun", "接頭辞": "prefix", "接尾辞": "suffix"}


def noun_pairs(words: list[tuple[str, str, str]]) -> list[str]:
    """Each two adjacent nouns of a text's `written_words` (affixes included) written together, as it
    writes them, when both are in Japanese script: a compound's parts side by side (電子入札, 市立,
    病院経営), distinct, in order. A Japanese compound means more than its words apart: 電子入札 is
    not any 電子 and 入札."""
    # across a space too (「施設 統廃合」: 施設統廃合), as the label model was fitted: read apart, the labels
    # were no better (docs/METHODS.md, "In stop 29")
    written = [w for w in words if w[1].strip()]
    pairs = [
        a + b
        for (_, a, noun_a), (_, b, noun_b) in pairwise(written)
        if noun_a and noun_b and has_japanese(a) and has_japanese(b)
    ]
    return list(dict.fromkeys(pairs))


def tokenizer_info() -> dict:
    """What produced the tokens, for the index manifest: a change means the BM25 index must be rebuilt."""
    return {
        "name": "fugashi+unidic-lite content words",
        "version": TOKENIZER_VERSION,
        "fugashi": metadata.version("fugashi"),
        "unidic_lite": metadata.version("unidic-lite"),
    }
