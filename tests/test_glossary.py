"""English questions through the glossary: JMdict read into a table, words into groups of Japanese
forms, groups into BM25 terms. The dictionary here is a made-up one of a few entries; the real one
is read once in the slow test at the end."""

from __future__ import annotations

import json
import lzma
import sqlite3
from pathlib import Path

import pytest
from fakes import FakeEmbedder

import search.glossary as glossary_module
from index.store import load_index
from search.engine import Searcher
from search.glossary import Glossary, LazyGlossary, english_words, gloss_key, read_jmdict, word_forms

# (entry, kanji forms, kana forms, senses: [(parts of speech, glosses)]); made up for the tests.
FAKE_JMDICT = [
    (1, ["電子決裁"], ["でんしけっさい"], [(["noun (common) (futsuumeishi)"], ["electronic approval"])]),
    (2, ["保全", "保善"], ["ほぜん"], [(["noun (common) (futsuumeishi)"], ["maintenance (of a facility)"])]),
    (3, ["持つ"], ["もつ"], [(["Godan verb with 'tsu' ending"], ["to hold", "maintenance"])]),
    (4, [], ["テレワーク"], [(["noun (common) (futsuumeishi)"], ["telework", "teleworking"])]),
    # the second sense states no part of speech: it has the one of the sense before it
    (5, ["ごみ"], ["ごみ"], [(["noun (common) (futsuumeishi)"], ["rubbish"]), ([], ["garbage", "trash"])]),
]


def write_fake_jmdict(path: Path) -> Path:
    """A SQLite file with jamdict-data's tables (the columns the glossary reads) holding FAKE_JMDICT."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE Kanji (ID INTEGER PRIMARY KEY, idseq INTEGER, text TEXT);"
        "CREATE TABLE Kana (ID INTEGER PRIMARY KEY, idseq INTEGER, text TEXT, nokanji BOOLEAN);"
        "CREATE TABLE Sense (ID INTEGER PRIMARY KEY, idseq INTEGER);"
        "CREATE TABLE SenseGloss (sid INTEGER, lang TEXT, gend TEXT, text TEXT);"
        "CREATE TABLE pos (sid INTEGER, text TEXT);"
    )
    for entry, kanji, kana, senses in FAKE_JMDICT:
        conn.executemany("INSERT INTO Kanji (idseq, text) VALUES (?, ?)", [(entry, k) for k in kanji])
        conn.executemany("INSERT INTO Kana (idseq, text) VALUES (?, ?)", [(entry, k) for k in kana])
        for parts, glosses in senses:
            sense = conn.execute("INSERT INTO Sense (idseq) VALUES (?)", (entry,)).lastrowid
            conn.executemany("INSERT INTO pos VALUES (?, ?)", [(sense, p) for p in parts])
            conn.executemany("INSERT INTO SenseGloss VALUES (?, 'eng', '', ?)", [(sense, g) for g in glosses])
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def fake_db(tmp_path: Path) -> Path:
    return write_fake_jmdict(tmp_path / "jamdict.db")


def test_read_jmdict_keeps_noun_senses_with_their_written_forms(fake_db: Path) -> None:
    table = read_jmdict(fake_db)
    assert table["maintenance"] == ["保全", "保善"]  # notes in parentheses dropped; not the verb 持つ
    assert "hold" not in table  # a verb sense
    assert table["electronic approval"] == ["電子決裁"]
    assert table["telework"] == ["テレワーク"]  # kana where an entry has no kanji
    assert table["garbage"] == ["ごみ"] and table["trash"] == ["ごみ"]  # part of speech carried over


def test_read_jmdict_reads_the_compressed_file_alike(fake_db: Path, tmp_path: Path) -> None:
    packed = tmp_path / "jamdict.db.xz"
    packed.write_bytes(lzma.compress(fake_db.read_bytes()))
    assert read_jmdict(packed) == read_jmdict(fake_db)


def test_gloss_keys_and_word_forms() -> None:
    assert gloss_key("To Maintain (a building)") == "maintain"
    assert gloss_key("life-cycle cost") == "life cycle cost"
    assert english_words("ＤＸ and 電子決裁 for counters") == ["dx", "and", "for", "counters"]
    assert word_forms("policies")[:2] == ["policies", "policy"]
    assert "process" in word_forms("processed") and "reduce" in word_forms("reducing")
    assert word_forms("bus") == ["bus"]  # short words are taken as they are


def test_groups_take_the_longest_gloss_and_skip_function_words(fake_db: Path) -> None:
    g = Glossary(read_jmdict(fake_db))
    groups = g.groups("How is electronic approval and maintenance of the garbage plants done?")
    assert [x.words for x in groups] == [("electronic", "approval"), ("maintenance",), ("garbage",)]
    assert groups[0].forms == ("電子決裁",)
    assert g.groups("teleworking") and g.groups("the of and") == []
    assert g.groups("電子決裁の状況") == []  # Japanese text has no English word to look up


def test_lazy_glossary_builds_once_then_reads_the_cache(
    fake_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(glossary_module, "jmdict_source", lambda: (fake_db, "9.9"))
    cache = tmp_path / "cache"
    built = LazyGlossary(cache).get()
    assert built is not None and built.table == read_jmdict(fake_db)
    stored = list(cache.glob("glossary-jmdict-9.9-*.json"))
    assert len(stored) == 1 and json.loads(stored[0].read_text(encoding="utf-8")) == built.table

    def no_rebuild(path: Path) -> dict:
        raise AssertionError("the cached table should have been read")

    monkeypatch.setattr(glossary_module, "read_jmdict", no_rebuild)
    assert LazyGlossary(cache).get().table == built.table


def test_a_damaged_cached_table_is_built_again(
    fake_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(glossary_module, "jmdict_source", lambda: (fake_db, "9.9"))
    LazyGlossary(tmp_path).get()
    (stored,) = tmp_path.glob("glossary-jmdict-*.json")
    for damage in ("[1, 2]", '{"maintenance": ["保'):
        stored.write_text(damage, encoding="utf-8")
        assert LazyGlossary(tmp_path).get().table["maintenance"] == ["保全", "保善"]


def test_off_or_no_dictionary_means_no_glossary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert LazyGlossary(tmp_path, "off").get() is None
    monkeypatch.setattr(glossary_module, "jmdict_source", lambda: None)
    assert LazyGlossary(tmp_path).get() is None
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="unknown glossary 'edict'; choose one of: jmdict, off"):
        LazyGlossary(tmp_path, "edict")


# ---- the engine: English words stand for their Japanese terms ---------------------------------------


@pytest.fixture
def glossed(shared_index, fake_db: Path) -> Searcher:
    lazy = LazyGlossary.ready(Glossary(read_jmdict(fake_db)))
    return Searcher(load_index(shared_index.index_dir), FakeEmbedder(32), glossary=lazy)


def test_an_english_query_finds_japanese_passages_through_the_glossary(glossed: Searcher, searcher) -> None:
    hits = glossed.search("electronic approval", top_k=5, mode="lexical")
    assert {h.passage.city for h in hits} == {"テスト市", "サンプル町"}
    assert all("電子決裁" in h.passage.text for h in hits)
    assert {"電子", "決裁"} <= set(hits[0].matched)  # the Japanese words are what is highlighted
    assert searcher.search("electronic approval", top_k=5, mode="lexical") == []  # no glossary


def test_translated_words_replace_their_own_token_and_share_one_weight(glossed: Searcher) -> None:
    q = glossed.lexical_query("teleworking 窓口")
    # テレワーク's own terms (its token and the tokenizer's gloss of it) stand for "teleworking"
    assert q.translated and "teleworking" not in q.terms and "テレワーク" in q.terms
    assert q.terms["窓口"] == 1.0
    translations = {t: w for t, w in q.terms.items() if t != "窓口"}
    assert translations and abs(sum(translations.values()) - 1.0) < 1e-9
    assert 0 < q.share < 1
    untranslated = glossed.lexical_query("kominkan 窓口")
    assert not untranslated.translated and "kominkan" in untranslated.terms


def test_the_glossary_is_read_only_for_queries_with_english_words(shared_index) -> None:
    class Counting(LazyGlossary):
        calls = 0

        def get(self):
            Counting.calls += 1
            return None

    s = Searcher(load_index(shared_index.index_dir), FakeEmbedder(32), glossary=Counting(Path(), "off"))
    s.search("電子決裁", top_k=3)
    assert Counting.calls == 0
    s.search("electronic approval", top_k=3)
    assert Counting.calls == 1


def test_hybrid_weight_of_english_words_follows_the_setting(glossed: Searcher) -> None:
    glossed.translated_weight = 0.0
    off = glossed.search("electronic approval", top_k=10)
    glossed.translated_weight = 1.0
    on = glossed.search("electronic approval", top_k=10)
    assert all("電子決裁" in h.passage.text for h in on[:2])
    assert [h.passage.id for h in off] != [h.passage.id for h in on]
    with pytest.raises(ValueError, match=r"translated weight of 1\.5 is invalid"):
        Searcher(glossed.index, glossed.embedder, translated_weight=1.5)


@pytest.mark.slow
def test_the_real_dictionary_gives_the_words_reports_use() -> None:
    source = glossary_module.jmdict_source()
    assert source is not None, "jamdict-data is a dependency: reinstall with `make install`"
    g = Glossary(read_jmdict(source[0]))
    assert len(g) > 100_000
    forms = {f for group in g.groups("maintenance of infrastructure") for f in group.forms}
    assert {"保全", "維持", "インフラ"} <= forms
    assert "予防保全" in g.groups("preventive maintenance")[0].forms  # a two-word gloss as one
    assert {f for group in g.groups("population decline") for f in group.forms} >= {"人口減少"}


@pytest.mark.model
def test_an_english_question_reaches_the_real_reports_words(real_searcher) -> None:
    # 会津若松市's sewer row plans 予防保全型の維持管理; no English word occurs in the reports.
    hits = real_searcher.search("preventive maintenance", top_k=3, mode="lexical")
    assert hits and "予防保全" in hits[0].passage.text
    assert hits[0].passage.city == "会津若松市" and "保全" in " ".join(hits[0].matched)
