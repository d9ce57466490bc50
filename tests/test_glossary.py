"""English questions through the passages' English words: JMdict read into a table of written forms
and their glosses, each passage's Japanese words into English words at build time, an English question
matched against them. The dictionary here is a made-up one of a few entries; the real one is read once
in the slow test at the end."""

from __future__ import annotations

import lzma
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import RecordingEmbedder, write_fixture_corpus
from fakes import FakeEmbedder

import index.build as build_module
import index.glossary as glossary_module
from corpus.document import load_corpus
from index.bm25 import ENGLISH_B, B
from index.build import build_index
from index.glossary import (
    BAG_VERSION,
    Glossary,
    LazyGlossary,
    english_words,
    gloss_key,
    query_words,
    read_jmdict,
    stem,
)
from index.glossary_table import StoredTable
from index.store import load_index, read_manifest
from index.tokenize import tokenize
from search.engine import Searcher
from search.fusion import Ranking
from search.query import LexicalQuery

# (entry, kanji forms, kana forms, senses: [(parts of speech, glosses)]); made up for the tests.
FAKE_JMDICT = [
    (1, ["電子決裁"], ["でんしけっさい"], [(["noun (common) (futsuumeishi)"], ["electronic approval"])]),
    (2, ["保全", "保善"], ["ほぜん"], [(["noun (common) (futsuumeishi)"], ["maintenance (of a facility)"])]),
    (3, ["持つ"], ["もつ"], [(["Godan verb with 'tsu' ending"], ["to hold", "maintenance"])]),
    (4, [], ["テレワーク"], [(["noun (common) (futsuumeishi)"], ["telework", "teleworking"])]),
    (6, ["予防保全"], ["よぼうほぜん"], [(["noun (common) (futsuumeishi)"], ["preventive maintenance"])]),
    (7, ["ＰＰＰ"], [], [(["noun (common) (futsuumeishi)"], ["public-private partnership"])]),
    # the second sense states no part of speech: it has the one of the sense before it
    (5, ["ごみ"], ["ごみ"], [(["noun (common) (futsuumeishi)"], ["rubbish"]), ([], ["garbage", "trash"])]),
]


# the written forms of the noun entries above
FAKE_TABLE_FORMS = ["電子決裁", "保全", "保善", "テレワーク", "ごみ", "予防保全", "ppp"]


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


def test_read_jmdict_keeps_noun_senses_with_their_glosses(fake_db: Path) -> None:
    table = read_jmdict(fake_db)
    assert table["保全"] == table["保善"] == ["maintenance"]  # notes in parentheses dropped
    assert "持つ" not in table  # a verb's senses are left out
    assert table["電子決裁"] == ["electronic approval"]
    assert table["テレワーク"] == ["telework", "teleworking"]  # kana where an entry has no kanji
    assert table["ごみ"] == ["rubbish", "garbage", "trash"]  # part of speech carried over
    assert table["ppp"] == ["public private partnership"]  # forms as tokens are: NFKC, lower case


def test_read_jmdict_reads_the_compressed_file_alike(fake_db: Path, tmp_path: Path) -> None:
    packed = tmp_path / "jamdict.db.xz"
    packed.write_bytes(lzma.compress(fake_db.read_bytes()))
    assert read_jmdict(packed) == read_jmdict(fake_db)


PREVENTIVE_MAINTENANCE = [stem(w) for w in ("preventive", "maintenance", "maintenance")]  # 予防保全's bag


def test_gloss_keys_stems_and_query_words() -> None:
    assert gloss_key("To Maintain (a building)") == "maintain"
    assert gloss_key("life-cycle cost") == "life cycle cost"
    assert english_words("ＤＸ and 電子決裁 for counters") == ["dx", "and", "for", "counters"]
    assert stem("policies") == "policy" and stem("reducing") == stem("reduced") == "reduc"
    assert stem("recruitment") == "recruit" and stem("Facilities") == "facility"
    assert stem("bus") == "bus" and stem("teams") == "team"  # short words lose only a plural ending
    # a verb meets its forms that drop its e, and an adverb its adjective (a gloss says "reduce" and
    # "electronic", a question "reducing" and "electronically")
    assert stem("reduce") == stem("reducing") and stem("charge") == stem("charging") == stem("charges")
    assert stem("service") == stem("services") and stem("electronically") == stem("electronic")
    assert stem("manage") == stem("management") and stem("fee") == "fee"
    assert query_words("How is the maintenance of ＤＸ done?") == [stem("maintenance"), "dx"]


def test_a_passage_gets_the_english_words_of_its_words_and_compounds(fake_db: Path) -> None:
    g = Glossary(read_jmdict(fake_db))
    assert g.words("保全") == (stem("maintenance"),) and g.words("窓口") == ()
    assert g.words("ごみ") == ("rubbish", stem("garbage"), "trash")  # every sense's glosses
    # 予防 alone is not in the table; 予防保全 is, and so is 保全 within it
    assert g.bag(tokenize("予防保全を進める")) == PREVENTIVE_MAINTENANCE
    assert g.bag(tokenize("電子決裁")) == ["electronic", "approval"]


def test_the_words_looked_up_are_kept_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # a question's own runs of words are looked up too: a stream of made-up ones must not grow memory.
    # A served glossary keeps only forms JMdict has, a build's (which meets each run again) all, bounded
    monkeypatch.setattr(glossary_module, "BUILD_CACHE", 50)
    served = Glossary({"保全": ["maintenance"]})
    build = served.for_build()
    for n in range(500):
        assert served.words(f"造語{n}") == () == build.words(f"造語{n}")
        assert not served._words and len(build._words) <= 50
    assert served.words("保全") == (stem("maintenance"),) == build.words("保全")
    assert served._words == {"保全": (stem("maintenance"),)} and build.table is served.table


def test_lazy_glossary_builds_once_then_reads_the_cache(
    fake_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(glossary_module, "jmdict_source", lambda: (fake_db, "9.9"))
    cache = tmp_path / "cache"
    built = LazyGlossary(cache).get()
    table = read_jmdict(fake_db)
    assert built is not None and isinstance(built.table, StoredTable)  # looked up, not held in memory
    assert dict(built.table.items()) == table and len(built) == len(table)
    assert built.table.get("保全") == ["maintenance"] and built.table.get("窓口") == ()
    (stored,) = cache.glob("glossary-jmdict-9.9-*")
    assert stored.suffix == ".sqlite3" and dict(StoredTable(stored).items()) == table
    assert LazyGlossary(cache).info() == {"name": "jmdict", "version": "9.9", "table": 2, "bag": BAG_VERSION}

    def no_rebuild(path: Path) -> dict:
        raise AssertionError("the cached table should have been read")

    monkeypatch.setattr(glossary_module, "read_jmdict", no_rebuild)
    again = LazyGlossary(cache).get()
    assert dict(again.table.items()) == table
    assert again.bag(tokenize("予防保全を進める")) == PREVENTIVE_MAINTENANCE


def test_a_damaged_cached_table_is_built_again(
    fake_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(glossary_module, "jmdict_source", lambda: (fake_db, "9.9"))
    LazyGlossary(tmp_path).get()
    (stored,) = tmp_path.glob("glossary-jmdict-*")
    whole = stored.read_bytes()
    for damage in (b"[1, 2]", whole[: len(whole) // 2], b""):
        stored.write_bytes(damage)
        assert LazyGlossary(tmp_path).get().table.get("保全") == ["maintenance"]


def test_off_or_no_dictionary_means_no_glossary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert LazyGlossary(tmp_path, "off").get() is None
    assert LazyGlossary(tmp_path, "off").info() == {"name": "off"}
    monkeypatch.setattr(glossary_module, "jmdict_source", lambda: None)
    assert LazyGlossary(tmp_path).get() is None and LazyGlossary(tmp_path).info() == {"name": "off"}
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="unknown glossary 'edict'; choose one of: jmdict, off"):
        LazyGlossary(tmp_path, "edict")


# ---- the index and the engine: English questions meet the passages' English words --------------------


@pytest.fixture
def fake_glossary(fake_db: Path) -> LazyGlossary:
    return LazyGlossary.ready(Glossary(read_jmdict(fake_db)))


@pytest.fixture
def glossed(tmp_path: Path, fake_glossary: LazyGlossary) -> Searcher:
    """The fixture corpus indexed with the made-up dictionary."""
    corpus = write_fixture_corpus(tmp_path / "corpus")
    build_index(tmp_path / "index", load_corpus(corpus), RecordingEmbedder(32), None, glossary=fake_glossary)
    return Searcher(load_index(tmp_path / "index"), FakeEmbedder(32), glossary=fake_glossary)


def test_an_english_query_finds_japanese_passages_through_their_english_words(
    glossed: Searcher, searcher: Searcher
) -> None:
    hits = glossed.search("electronic approval", top_k=5, mode="lexical")
    assert {h.passage.city for h in hits} == {"テスト市", "サンプル町"}
    assert all("電子決裁" in h.passage.text for h in hits)
    assert {"電子", "決裁"} <= set(hits[0].matched)  # the Japanese words are what is highlighted
    assert searcher.search("electronic approval", top_k=5, mode="lexical") == []  # built without one


def test_highlights_through_glosses_do_not_depend_on_what_was_asked_before(glossed: Searcher) -> None:
    # A passage's glossed runs are kept after its first highlight (Glossary.glossed): another question's
    # highlights in it must be those a searcher that never saw it gives
    questions = ("electronic approval", "approval", "electronic", "telework approval", "approval electronic")
    warm = {
        q: [(h.passage.id, h.matched) for h in glossed.search(q, top_k=5, mode="lexical")] for q in questions
    }
    for q in questions:
        fresh = Searcher(glossed.index, FakeEmbedder(32), glossary=glossed.glossary)
        assert warm[q] == [(h.passage.id, h.matched) for h in fresh.search(q, top_k=5, mode="lexical")], q
    assert any(matched for hits in warm.values() for _, matched in hits)


def test_the_manifest_names_the_dictionary_and_another_one_rebuilds(
    tmp_path: Path, fake_glossary: LazyGlossary
) -> None:
    documents = load_corpus(write_fixture_corpus(tmp_path / "corpus"))
    index_dir = tmp_path / "index"
    assert build_index(index_dir, documents, RecordingEmbedder(32), None).changed
    assert read_manifest(index_dir)["glossary"] == {"name": "off"}
    assert build_index(index_dir, documents, RecordingEmbedder(32), None, glossary=fake_glossary).changed
    given = {"name": "given", "entries": len(FAKE_TABLE_FORMS), "bag": BAG_VERSION}
    assert read_manifest(index_dir)["glossary"] == given
    assert not build_index(index_dir, documents, RecordingEmbedder(32), None, glossary=fake_glossary).changed
    stored = load_index(index_dir)
    assert stored.english.n_docs == len(stored.passages) and len(stored.english.terms) > 0


def test_english_bags_are_normalized_by_their_whole_length_and_another_b_rebuilds(
    tmp_path: Path, fake_glossary: LazyGlossary, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = load_corpus(write_fixture_corpus(tmp_path / "corpus"))
    index_dir = tmp_path / "index"
    build_index(index_dir, documents, RecordingEmbedder(32), None, glossary=fake_glossary)
    stored = load_index(index_dir)
    assert (stored.english.b, stored.bm25.b) == (ENGLISH_B, B)
    assert read_manifest(index_dir)["english_bm25"] == {"b": ENGLISH_B}
    monkeypatch.setattr(build_module, "ENGLISH_B", 0.5)
    assert build_index(index_dir, documents, RecordingEmbedder(32), None, glossary=fake_glossary).changed
    again = load_index(index_dir)
    assert again.english.b == 0.5 and again.bm25.b == B
    # the same postings, weighed by the other b
    assert np.array_equal(again.english.doc_ids, stored.english.doc_ids)
    assert not np.array_equal(again.english.weights, stored.english.weights)


def test_glossary_off_at_search_time_leaves_english_to_the_embedding(glossed: Searcher) -> None:
    assert glossed.lexical_query("electronic approval 窓口").english == ("electronic", "approval")
    off = Searcher(glossed.index, glossed.embedder, glossary=LazyGlossary(Path(), "off"))
    assert off.lexical_query("electronic approval").english == ()
    assert off.search("electronic approval", top_k=5, mode="lexical") == []


def test_the_glossary_is_read_only_where_a_question_needs_it(glossed: Searcher) -> None:
    class Counting(LazyGlossary):
        calls = 0

        def get(self):
            Counting.calls += 1
            return None

    # without the bridge, only an English question reads it (for highlights); with it, any question
    s = Searcher(
        glossed.index, FakeEmbedder(32), Ranking(bridge_weight=0.0), glossary=Counting(Path(), "jmdict")
    )
    s.search("電子決裁", top_k=3)
    s.search("電子決裁", top_k=3, mode="lexical")
    assert Counting.calls == 0
    s.search("electronic approval", top_k=3)
    assert Counting.calls > 0
    Counting.calls = 0
    Searcher(glossed.index, FakeEmbedder(32), glossary=Counting(Path(), "jmdict")).search("電子決裁", top_k=3)
    assert Counting.calls > 0


@pytest.fixture
def bridged(tmp_path: Path) -> Searcher:
    """The fixture corpus indexed with a made-up dictionary in which 廃棄, a word no passage writes,
    shares a gloss with ごみ (whose token is its lemma 塵), which two passages write."""
    glossary = LazyGlossary.ready(Glossary({"塵": ["garbage"], "廃棄": ["garbage", "disposal"]}))
    corpus = write_fixture_corpus(tmp_path / "corpus")
    build_index(tmp_path / "index", load_corpus(corpus), RecordingEmbedder(32), None, glossary=glossary)
    return Searcher(load_index(tmp_path / "index"), FakeEmbedder(32), glossary=glossary)


def test_a_japanese_question_meets_its_synonyms_through_their_english_glosses(bridged: Searcher) -> None:
    words = bridged.glossary.get()
    assert (
        set(bridged.lexical_query("廃棄の削減").bridge)
        == set(words.words("廃棄"))
        == {stem("garbage"), "disposal"}
    )
    assert not bridged.search("廃棄", top_k=3, mode="lexical")  # words as typed: no passage writes it
    everything = len(bridged.passages)
    on = {h.passage.id: h for h in bridged.search("廃棄", top_k=everything)}
    off = Searcher(bridged.index, bridged.embedder, Ranking(bridge_weight=0.0), glossary=bridged.glossary)
    assert off.lexical_query("廃棄").bridge == ()
    before = {h.passage.id: h for h in off.search("廃棄", top_k=everything)}
    raised = [i for i, h in on.items() if "ごみ" in h.passage.text]
    assert len(raised) == 2
    for i in raised:  # the bridge raised the passages that write ごみ, and only them
        assert on[i].score > before[i].score and on[i].rank < before[i].rank
    assert all(on[i].score < before[i].score for i in on if i not in raised)
    with pytest.raises(ValueError, match=r"bridge weight of -0\.1 is invalid"):
        Searcher(bridged.index, bridged.embedder, Ranking(bridge_weight=-0.1))


def test_the_bridge_takes_its_share_of_the_japanese_words_weight(bridged: Searcher) -> None:
    # hand-computed: w = 0.5 for a query all in Japanese, β = 0.25 of it to the glosses
    s = Searcher(bridged.index, bridged.embedder, Ranking(lexical_weight=0.5, bridge_weight=0.25))
    query = LexicalQuery(("廃棄",), {"廃棄": 1.0}, (), 1.0, ("garbag",))
    dense = (np.array([0, 1, 2]), np.array([0.9, 0.7, 0.5]))  # normalized: 1, 0.5, 0
    japanese = (np.array([1]), np.array([2.0]))  # normalized: 1
    glossed = (np.array([2, 0]), np.array([4.0, 1.0]))  # normalized: 1, 0.25
    nothing = (np.zeros(0, dtype=np.int64), np.zeros(0))
    got = dict(s._fuse(dense, japanese, nothing, query, glossed))
    assert got[0] == pytest.approx(0.5 * 1 + 0.125 * 0.25)
    assert got[1] == pytest.approx(0.5 * 0.5 + 0.375 * 1)
    assert got[2] == pytest.approx(0.125 * 1)
    # a bridge without hits gives its share back to the Japanese words
    assert dict(s._fuse(dense, japanese, nothing, query, nothing))[1] == pytest.approx(0.5 * 0.5 + 0.5)


def test_hybrid_weight_of_english_words_follows_the_setting(glossed: Searcher) -> None:
    glossed.ranking = replace(glossed.ranking, english_weight=0.0)
    off = glossed.search("electronic approval", top_k=10)
    glossed.ranking = replace(glossed.ranking, english_weight=1.0)
    on = glossed.search("electronic approval", top_k=10)
    assert all("電子決裁" in h.passage.text for h in on[:2])
    assert [h.passage.id for h in off] != [h.passage.id for h in on]
    with pytest.raises(ValueError, match=r"English weight of 1\.5 is invalid"):
        Searcher(glossed.index, glossed.embedder, Ranking(english_weight=1.5))


@pytest.mark.slow
def test_the_real_dictionary_gives_the_words_reports_use() -> None:
    source = glossary_module.jmdict_source()
    assert source is not None, "jamdict-data is a dependency: reinstall with `make install`"
    g = Glossary(read_jmdict(source[0]))
    assert len(g) > 100_000
    maintenance = stem("maintenance")
    assert maintenance in g.words("保全") and {"prevent", maintenance} & set(g.words("予防保全"))
    assert {"public", "facility"} <= set(g.bag(tokenize("公共施設の長寿命化")))
    assert {stem("population"), stem("decline")} <= set(g.words("人口減少"))


@pytest.mark.model
def test_an_english_question_reaches_the_real_reports_words(real_searcher) -> None:
    # 会津若松市's sewer row plans 予防保全型の維持管理; no English word occurs in the reports.
    hits = real_searcher.search("preventive maintenance", top_k=3, mode="lexical")
    assert hits and "予防保全" in hits[0].passage.text
    assert hits[0].passage.city == "会津若松市" and "保全" in " ".join(hits[0].matched)
