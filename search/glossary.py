"""English words → Japanese words, from JMdict, so that an English question has lexical evidence too.

BM25 over Japanese text cannot match an English word, so an English question used to lean on the
multilingual embedding alone. A bilingual dictionary gives the lexical side the Japanese words it
means: "maintenance" → 保全, 維持, 整備, メンテナンス …; "population decline" → 人口減少. Each English
word, or the longest run of 2–3 words that is a gloss of its own, becomes one group of Japanese forms;
the engine scores a group by the mean BM25 of its forms' terms, so a word with many senses weighs no
more than a word with one (search/engine.py).

The table holds JMdict's noun senses (nouns name what reports are about; verb and adverb senses
brought in common words such as 持つ, 出る): gloss → written forms. It is read once from the
jamdict-data package's compressed SQLite file (a few seconds) into the cache directory, and loaded
on the first English question. Without jamdict-data, or with the `glossary` setting "off", English
questions lean on the embedding alone, as before. JMdict is the property of the Electronic Dictionary
Research and Development Group, used under its licence (CC BY-SA 4.0; README, "Credits").
"""

from __future__ import annotations

import json
import lzma
import re
import sqlite3
import sys
import tempfile
import threading
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from corpus.atomic import write_text_atomic

GLOSSARIES = ("jmdict", "off")
TABLE_VERSION = 1  # bump when the table's reading of JMdict changes: cached tables are rebuilt
MAX_PHRASE = 3  # words in the longest gloss looked up as one
MAX_WORDS = 64  # English words of one question that are looked up

# English function words: they name no topic, and JMdict glosses them with common Japanese words.
# (Wider than the tokenizer's few: changing those would change every index's BM25 tokens.)
_FUNCTION_WORDS = (
    "a about above after again all also am an and any are as at be been before being below between "
    "both but by can could did do does doing done during each either else even ever every few for "
    "from further get gets got had has have having he her here hers him his how however i if in "
    "into is it its itself just let like many may me might more most much must my no nor not of off "
    "often on once only or other our ours out over own per same shall she should since so some such "
    "than that the their theirs them then there these they this those though through thus to too "
    "under until up upon us very via was we well were what whatever when where whether which while "
    "who whom whose why will with within without would yet you your yours"
)
STOP_WORDS = frozenset(_FUNCTION_WORDS.split())
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def english_words(text: str) -> list[str]:
    """The lower-cased English words of a text, in order (hyphens split words; Japanese is skipped)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())[:MAX_WORDS]


def word_forms(word: str) -> list[str]:
    """The word and the forms it may be an inflection of, most likely first (policies → policy)."""
    forms = [word]
    if len(word) > 3:
        if word.endswith("ies"):
            forms.append(word[:-3] + "y")
        if word.endswith("es"):
            forms.append(word[:-2])
        if word.endswith("s") and not word.endswith("ss"):
            forms.append(word[:-1])
        if word.endswith("ing"):
            forms += [word[:-3], word[:-3] + "e"]
        if word.endswith("ed"):
            forms += [word[:-2], word[:-1]]
    return forms


def gloss_key(gloss: str) -> str:
    """A JMdict gloss as the table keys it: lower-case, notes in parentheses and a leading "to " dropped."""
    gloss = re.sub(r"\([^)]*\)", " ", unicodedata.normalize("NFKC", gloss).lower())
    gloss = re.sub(r"^\s*to\s+", "", gloss)
    return " ".join(english_words(gloss))


@dataclass(frozen=True)
class Group:
    """English words of a question (one, or a gloss of 2–3) and the Japanese forms they translate to."""

    words: tuple[str, ...]
    forms: tuple[str, ...]


class Glossary:
    """Gloss → Japanese forms; `groups` turns a question's English words into groups of forms."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def groups(self, text: str) -> list[Group]:
        """One group of Japanese forms per English word of `text` (or per gloss of 2–3 words), in order;
        function words and words the dictionary lacks give none."""
        words = english_words(text)
        out: list[Group] = []
        i = 0
        while i < len(words):
            for n in range(min(MAX_PHRASE, len(words) - i), 1, -1):
                forms = self.table.get(" ".join(words[i : i + n]))
                if forms:
                    out.append(Group(tuple(words[i : i + n]), tuple(forms)))
                    i += n
                    break
            else:
                word, i = words[i], i + 1
                if word in STOP_WORDS or len(word) < 2:
                    continue
                forms = next((self.table[f] for f in word_forms(word) if f in self.table), None)
                if forms:
                    out.append(Group((word,), tuple(forms)))
        return out


def read_jmdict(source: Path) -> dict[str, list[str]]:
    """Gloss → written forms of JMdict's noun senses, from jamdict-data's SQLite file (as installed,
    or xz-compressed as shipped).

    An entry's kanji forms are its written forms (its kana when it has none); a sense without a
    part of speech has the one of the sense before it, as JMdict states.
    """
    if source.suffix != ".xz":
        return _read_db(source)
    with tempfile.TemporaryDirectory(prefix="reform-search-jmdict-") as tmp:
        db = Path(tmp) / "jmdict.db"
        with lzma.open(source) as src, open(db, "wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
        return _read_db(db)


def _read_db(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return _noun_glosses(conn)
    finally:
        conn.close()


def _noun_glosses(conn: sqlite3.Connection) -> dict[str, list[str]]:
    written: dict[int, list[str]] = defaultdict(list)
    for entry, text in conn.execute("SELECT idseq, text FROM Kanji ORDER BY ID"):
        written[entry].append(text)
    kana: dict[int, list[str]] = defaultdict(list)
    for entry, text in conn.execute("SELECT idseq, text FROM Kana ORDER BY ID"):
        kana[entry].append(text)
    parts: dict[int, list[str]] = defaultdict(list)
    for sense, text in conn.execute("SELECT sid, text FROM pos"):
        parts[sense].append(text)
    noun: dict[int, bool] = {}
    last: dict[int, list[str]] = {}
    for sense, entry in conn.execute("SELECT ID, idseq FROM Sense ORDER BY ID"):
        last[entry] = parts.get(sense) or last.get(entry, [])
        noun[sense] = any("noun" in p for p in last[entry])
    table: dict[str, dict[str, None]] = defaultdict(dict)
    query = "SELECT g.sid, s.idseq, g.text FROM SenseGloss g JOIN Sense s ON g.sid = s.ID ORDER BY g.sid"
    for sense, entry, gloss in conn.execute(query):
        key = gloss_key(gloss or "")
        if not noun.get(sense) or not key or len(key.split()) > MAX_PHRASE:
            continue
        for form in written.get(entry) or kana.get(entry, []):
            table[key][form] = None
    return {k: list(v) for k, v in table.items()}


def jmdict_source() -> tuple[Path, str] | None:
    """jamdict-data's dictionary file (its install unpacks it; the source ships it compressed) and
    its version, or None where it is not installed."""
    try:
        import jamdict_data
    except ImportError:
        return None
    folder = Path(jamdict_data.__file__).resolve().parent
    path = next((p for p in (folder / "jamdict.db", folder / "jamdict.db.xz") if p.is_file()), None)
    return (path, str(jamdict_data.__version__)) if path else None


class LazyGlossary:
    """The glossary of a cache directory, read (or built, once per dictionary version) on first use;
    None from `get` where no dictionary is installed or the setting is "off". Safe across threads."""

    def __init__(self, cache_dir: Path, kind: str = GLOSSARIES[0]) -> None:
        if kind not in GLOSSARIES:
            raise ValueError(f"unknown glossary {kind!r}; choose one of: {', '.join(GLOSSARIES)}")
        self.cache_dir = Path(cache_dir)
        self.kind = kind
        self._lock = threading.Lock()
        self._loaded = False
        self._glossary: Glossary | None = None

    @classmethod
    def ready(cls, glossary: Glossary | None) -> LazyGlossary:
        """One already loaded with `glossary` (a made-up table, in tests; or one read elsewhere)."""
        lazy = cls(Path(), GLOSSARIES[-1])
        lazy._glossary, lazy._loaded = glossary, True
        return lazy

    def get(self) -> Glossary | None:
        with self._lock:
            if not self._loaded:
                self._glossary = self._load()
                self._loaded = True
            return self._glossary

    def _load(self) -> Glossary | None:
        source = jmdict_source() if self.kind == "jmdict" else None
        if source is None:
            return None
        dictionary, version = source
        path = self.cache_dir / f"glossary-jmdict-{version}-t{TABLE_VERSION}.json"
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(table, dict):
                return Glossary(table)
        except (OSError, ValueError):
            pass  # not built yet, or damaged: build it again
        print("reading the English–Japanese dictionary (JMdict), once per machine …", file=sys.stderr)
        table = read_jmdict(dictionary)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, json.dumps(table, ensure_ascii=False, separators=(",", ":")))
        except OSError as err:  # a read-only cache still answers, it only reads the dictionary again
            print(f"warning: could not keep the glossary in {path.parent}: {err}", file=sys.stderr)
        return Glossary(table)
