"""Searcher: ranking invariants per mode, oracles for dense and lexical, filters, validation, crowding."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import FIXTURE_WORDS
from fakes import FakeEmbedder
from hypothesis import example, given, settings
from hypothesis import strategies as st

from index.store import load_index
from index.tokenize import tokenize
from search.crowding import DEMOTION, crowd
from search.engine import MODES, Searcher
from search.hit import Hit
from search.query import CUT_LOOKBACK, acronyms, check_query, japanese_share

CITY_FILTERS = [None, ["テスト市"], ["Samplecho"], ["テスト市", "サンプル町"]]
queries = st.lists(st.sampled_from(FIXTURE_WORDS), min_size=1, max_size=3).map(" ".join)


def _allowed_count(searcher, cities) -> int:
    mask = searcher.mask(cities)
    return len(searcher.passages) if mask is None else int(mask.sum())


def _assert_ranking(hits: list[Hit], k: int) -> None:
    assert all(isinstance(h, Hit) for h in hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({h.passage.id for h in hits}) == len(hits) <= k


@settings(max_examples=40, deadline=None)
@given(
    query=queries,
    k=st.integers(1, 15),
    mode=st.sampled_from(MODES),
    cities=st.sampled_from(CITY_FILTERS),
)
def test_every_mode_ranks_1_to_n_with_non_increasing_scores(searcher, query, k, mode, cities):
    hits = searcher.search(query, k, mode, searcher.mask(cities))
    _assert_ranking(hits, k)
    assert len(hits) <= _allowed_count(searcher, cities)
    if mode != "lexical":  # dense candidates cover every allowed passage
        assert len(hits) == min(k, _allowed_count(searcher, cities))


@settings(max_examples=30, deadline=None)
@given(
    query=queries,
    pool=st.integers(1, 6),
    k=st.integers(1, 15),
    fusion=st.sampled_from(["convex", "rrf"]),
    mode=st.sampled_from(["hybrid", "lexical"]),
    cities=st.sampled_from(CITY_FILTERS),
)
# found by Hypothesis: beyond the pool, a passage its parts raised had moved ahead of those fetched before it
@example(query="ごみ有料化 電子決裁", pool=1, k=7, fusion="convex", mode="hybrid", cities=None)
# and two BM25 ties beyond the dense pool, ordered by their dense places, which depend on the depth fetched
@example(query="電子決裁 ごみ有料化 ごみ有料化", pool=2, k=1, fusion="convex", mode="hybrid", cities=None)
def test_the_first_hits_are_the_same_however_many_are_asked(searcher, query, pool, k, fusion, mode, cities):
    # The fusion normalizes the first CANDIDATES of each list alone: asking for more than CANDIDATES had
    # lowered the dense floor and reordered the first hits (`--top-k 3` against `--top-k 132`). The
    # fixture is small, so CANDIDATES is made smaller than it.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("search.engine.CANDIDATES", pool)
        mp.setattr(searcher, "ranking", replace(searcher.ranking, fusion=fusion))
        allowed = searcher.mask(cities)
        few = [(h.passage.id, h.score) for h in searcher.search(query, k, mode, allowed)]
        every = [
            (h.passage.id, h.score) for h in searcher.search(query, len(searcher.passages), mode, allowed)
        ]
    assert few == every[: len(few)]
    assert len(few) == min(k, len(every))


@settings(max_examples=25, deadline=None)
@given(query=queries, k=st.integers(1, 15), cities=st.sampled_from(CITY_FILTERS))
def test_dense_returns_min_k_n_in_brute_force_order(searcher, query, k, cities):
    hits = searcher.search(query, k, "dense", searcher.mask(cities))
    allowed = np.ones(len(searcher.passages), bool) if cities is None else searcher.mask(cities)
    assert len(hits) == min(k, int(allowed.sum()))
    # Oracle: inner products with the stored vectors, each raised by λ towards its best part's (every
    # part of every passage scored, owners found by walking the offsets), computed with NumPy.
    q = FakeEmbedder(32).embed_queries([query])[0]
    scores = np.asarray(searcher.index.vectors) @ q
    parts = searcher.index.parts
    assert len(parts.vectors) > 0  # the fixture's brochure has packed passages
    for i in range(len(scores)):
        own = np.asarray(parts.vectors[parts.indptr[i] : parts.indptr[i + 1]]) @ q
        if len(own):
            scores[i] += searcher.ranking.part_weight * max(0.0, float(own.max()) - scores[i])
    scores[~allowed] = -np.inf
    best = np.sort(scores)[::-1][: len(hits)]
    np.testing.assert_allclose([h.score for h in hits], best, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("word", FIXTURE_WORDS)
def test_lexical_finds_exactly_the_passages_sharing_a_token(searcher, word):
    query_tokens = set(tokenize(word))
    sharing = {p.id for p in searcher.passages if query_tokens & set(tokenize(p.text))}
    hits = searcher.search(word, len(searcher.passages), "lexical")
    assert {h.passage.id for h in hits} == sharing
    assert all(h.score > 0 and h.matched for h in hits)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("names", "city"),
    [
        (["テスト市"], "テスト市"),
        (["Testshi"], "テスト市"),
        (["testshi"], "テスト市"),
        (["テスト"], "テスト市"),
        (["Samplecho"], "サンプル町"),
        (["サンプル町"], "サンプル町"),
    ],
)
def test_city_filter_by_name_or_alias(searcher, names, city, mode):
    hits = searcher.search("テレワーク 電子決裁", 20, mode, searcher.mask(names))
    assert hits, "the fixture has passages on these words in both cities"
    assert {h.passage.city for h in hits} == {city}
    unfiltered = searcher.search("テレワーク 電子決裁", 20, mode)
    assert {h.passage.city for h in unfiltered} == {"テスト市", "サンプル町"}


def test_a_title_two_documents_share_filters_to_both(built_index):
    # `--document TITLE` had kept only the last document of that title (a dict by title)
    manifest = built_index.corpus.read_text(encoding="utf-8")
    built_index.corpus.write_text(
        manifest.replace("サンプル町 架空の改革メモ", "テスト市 架空の改革メモ"), "utf-8"
    )
    built_index.build()
    searcher = Searcher(load_index(built_index.index_dir), FakeEmbedder(32))
    title = "テスト市 架空の改革メモ（テスト用）"
    hits = searcher.search("テレワーク 電子決裁", 20, "dense", searcher.mask(documents=[title]))
    assert {h.passage.city for h in hits} == {"テスト市", "サンプル町"}
    by_id = searcher.search("テレワーク 電子決裁", 20, "dense", searcher.mask(documents=["samplecho-memo"]))
    assert {h.passage.city for h in by_id} == {"サンプル町"}


@pytest.mark.parametrize(
    "invisible", ["\u200b", "\u00ad", "\ufeff", "\x00", "\u202e", "\ud800", "\ufe00", "\U000e0100", "\u180e"]
)
def test_invisible_characters_in_a_query_change_nothing(searcher, invisible):
    # pasted from a PDF or a web page with a zero-width space or a soft hyphen, テレワーク had been split,
    # and its label changed (as the passages are, the query is read without them)
    plain = [(h.passage.id, h.score) for h in searcher.search("テレワーク 電子決裁", 10)]
    pasted = searcher.search(f"{invisible}テレ{invisible}ワーク 電子{invisible}決裁{invisible}", 10)
    assert [(h.passage.id, h.score) for h in pasted] == plain and plain
    assert check_query(f"{invisible}テレワーク").text == "テレワーク"
    assert searcher.resolve_cities([f"テスト{invisible}市"]) == ["テスト市"]  # a filter too
    with pytest.raises(ValueError, match="empty"):
        check_query(invisible * 3)


def test_year_and_document_filters(searcher):
    # サンプル町's 令和5年度
    by_year = searcher.search("テレワーク", 20, "dense", searcher.mask(years=[2023]))
    assert by_year and {h.passage.city for h in by_year} == {"サンプル町"}
    doc = searcher.index.documents[0]
    for name in (doc.id, doc.title):
        hits = searcher.search("テレワーク", 20, "dense", searcher.mask(documents=[name]))
        assert hits and {h.passage.doc_id for h in hits} == {doc.id}
    with pytest.raises(ValueError, match="unknown document 'nope'"):
        searcher.search("テレワーク", 5, "hybrid", searcher.mask(documents=["nope"]))
    # a year no document has is said, as an unknown document is ("no passages match" had read as an
    # answer); a year beside one that is there narrows nothing away
    with pytest.raises(
        ValueError, match=r"no document of fiscal year 1999; indexed fiscal years: 2023, 2024"
    ):
        searcher.mask(years=[1999])
    assert searcher.mask(years=[1999, 2023]).tolist() == searcher.mask(years=[2023]).tolist()


def test_unknown_city_lists_the_known_ones(searcher):
    with pytest.raises(ValueError) as error:
        searcher.search("テレワーク", 5, "hybrid", searcher.mask(["アトランティス市"]))
    message = str(error.value)
    assert "アトランティス市" in message
    assert all(name in message for name in ("テスト市", "Testshi", "サンプル町", "Samplecho"))


@pytest.mark.parametrize("query", ["", "   ", "\u3000\n\t"])
def test_empty_query_is_refused(searcher, query):
    with pytest.raises(ValueError, match="empty"):
        check_query(query)
    with pytest.raises(ValueError, match="empty"):
        searcher.search(query, 5)


def test_long_query_is_truncated():
    long = "電子決裁" * 2500
    q = check_query(long)
    assert q.truncated and q.text == long[:1000]
    assert check_query(long, max_chars=50).text == long[:50]  # no boundary near the limit: cut there
    # the limit inside a word: the cut moves back to the last space or punctuation, not past CUT_LOOKBACK
    words = "行政手続のデジタル化、" * 200
    assert check_query(words, max_chars=25).text == "行政手続のデジタル化、行政手続のデジタル化、"
    assert check_query("窓口 " * 10 + "デジタル", max_chars=32).text == ("窓口 " * 10).strip()
    assert check_query("a" * 50 + " " + "b" * 60, max_chars=80).text == "a" * 50
    far = "a" * (79 - CUT_LOOKBACK) + " " + "b" * 80  # its only boundary lies beyond the lookback
    assert check_query(far, max_chars=80).text == far[:80]
    short = check_query("  電子決裁 \n テレワーク ")
    assert not short.truncated and short.text == "電子決裁 テレワーク"


@pytest.mark.parametrize("mode", MODES)
def test_long_query_still_searches(searcher, mode):
    hits = searcher.search("電子決裁" * 2500, 3, mode)
    _assert_ranking(hits, 3)
    assert hits
    if mode == "lexical":
        assert all("決裁" in h.passage.text for h in hits)


@pytest.mark.parametrize("top_k", [0, -1, -10])
def test_non_positive_top_k_is_refused(searcher, top_k):
    with pytest.raises(ValueError, match=str(top_k)):
        searcher.search("テレワーク", top_k)


def test_unknown_mode_is_refused_naming_the_choices(searcher):
    with pytest.raises(ValueError, match="fuzzy") as error:
        searcher.search("テレワーク", 5, "fuzzy")
    assert all(mode in str(error.value) for mode in MODES)


@pytest.mark.parametrize("allowed", [["テスト市"], np.ones(3, dtype=bool), np.ones(1, dtype=int)])
def test_filters_are_a_mask_of_every_passage(searcher, allowed):
    with pytest.raises(ValueError, match=r"Searcher\.mask"):
        searcher.search("テレワーク", 5, "hybrid", allowed)


def _weight(query: str) -> float:
    return japanese_share(tokenize(query), query)


def test_lexical_weight_follows_the_script_of_the_query():
    assert _weight("ごみ処理の有料化") == 1.0
    assert _weight("waste collection fees") == 0.0
    assert 0.0 < _weight("ごみ処理 fees") < 1.0
    assert japanese_share([], "") == 0.0


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("DXの取り組み", {"dx"}),
        ("ＡＩ/RPAの導入", {"ai", "rpa"}),  # full-width letters are NFKC-folded first
        ("IoT sensors", {"iot"}),
        ("PPP/PFI", {"ppp", "pfi"}),
        ("Ai and R6 and COVIDCASES", set()),  # one capital; a letter and a digit; over six letters
        ("telework", set()),
    ],
)
def test_acronyms_are_short_latin_words_with_two_capitals(text, found):
    assert acronyms(text) == found


def test_lexical_weight_counts_acronyms_as_written_words_only_when_asked():
    # ranking leaves "AI" to the embedding; a label counts it among the words the city writes
    assert _weight("AI") == 0.0
    assert japanese_share(tokenize("AI"), "AI", acronyms_japanese=True) == 1.0
    assert japanese_share(tokenize("AI chatbot"), "AI chatbot", acronyms_japanese=True) == 0.5
    assert japanese_share(tokenize("DXの推進"), "DXの推進", acronyms_japanese=True) == 1.0
    assert _weight("DXの推進") == 0.5


def test_lexical_weight_of_a_japanese_query_with_a_loanword_is_one():
    # The tokenizer adds the gloss "telework"; it is not a word of the query.
    assert "telework" in tokenize("テレワークの推進")
    assert _weight("テレワークの推進") == 1.0


# --- crowding -----------------------------------------------------------------------------------------


def test_crowd_hand_computed():
    # Five rows of initiative A scored above two passages of B; free = 2, demotion = 0.7.
    ranked = [(0, 1.0), (1, 0.95), (2, 0.9), (3, 0.85), (4, 0.8), (5, 0.5), (6, 0.4)]
    groups = ["A"] * 5 + ["B"] * 2
    out = crowd(ranked, groups, k=7, free=2, demotion=0.7)
    expected = [
        (0, 1.0),
        (1, 0.95),
        (2, 0.9 * 0.7),  # third A: one demotion; still above B's 0.5
        (5, 0.5),
        (3, 0.85 * 0.7**2),  # 0.4165
        (6, 0.4),
        (4, 0.8 * 0.7**3),  # 0.2744
    ]
    assert [i for i, _ in out] == [i for i, _ in expected]
    np.testing.assert_allclose([s for _, s in out], [s for _, s in expected])


def test_crowd_lets_others_in_after_two_of_a_group():
    # Seven rows of one initiative, each only slightly above the other cities' passages.
    ranked = [(i, 0.9 - 0.001 * i) for i in range(7)] + [(7, 0.8), (8, 0.79), (9, 0.78)]
    groups = ["row"] * 7 + ["x", "y", "z"]
    for demotion in (0.7, 0.85):  # the third row (0.898) falls to 0.629 and 0.763, below x's 0.8
        out = crowd(ranked, groups, k=5, demotion=demotion)
        assert [groups[i] for i, _ in out[:3]] == ["row", "row", "x"]
        assert sum(groups[i] == "row" for i, _ in out) < 5
        assert [s for _, s in out] == sorted((s for _, s in out), reverse=True)
    # by default (search/crowding.py DEMOTION, 0.9), a third row well above the others keeps its place
    out = crowd(ranked, groups, k=5)
    assert [groups[i] for i, _ in out[:3]] == ["row", "row", "row"]
    assert out[2][1] == pytest.approx(0.898 * DEMOTION)


def test_crowd_without_groups_changes_nothing():
    ranked = [(3, 0.9), (1, 0.5), (2, 0.1)]
    assert crowd(ranked, {1: "a", 2: "b", 3: "c"}, k=10) == ranked


def test_crowd_refuses_a_bad_demotion():
    with pytest.raises(ValueError, match="demotion"):
        crowd([(0, 1.0)], ["a"], k=1, demotion=0)


def _ranking(scores: list[float]) -> list[tuple[int, float]]:
    return list(enumerate(sorted(scores, reverse=True)))


@settings(max_examples=200, deadline=None)
@given(
    scores=st.lists(st.floats(0, 1), min_size=1, max_size=30),
    groups=st.lists(st.integers(0, 3), min_size=30, max_size=30),
    k=st.integers(1, 35),
)
def test_crowd_properties(scores, groups, k):
    ranked = _ranking(scores)
    out = crowd(ranked, groups, k)
    ids = [i for i, _ in out]
    assert len(out) == min(k, len(ranked)) and len(set(ids)) == len(ids)
    got = [s for _, s in out]
    assert got == sorted(got, reverse=True)
    original = dict(ranked)
    assert all(s <= original[i] for i, s in out)  # crowding only ever demotes


def test_crowd_demotes_negative_scores_too():
    ranked = [(0, -0.1), (1, -0.1), (2, -0.12)]
    out = crowd(ranked, ["A"] * 3, k=3)
    got = [s for _, s in out]
    assert got == sorted(got, reverse=True)
    assert all(s <= dict(ranked)[i] for i, s in out)


def test_a_lexical_ranking_in_both_languages_goes_past_the_fused_first_hundred():
    # the two BM25 lists fused on their first CANDIDATES alone: a deeper search had stopped at 100 hits
    from search.engine import CANDIDATES
    from search.query import LexicalQuery

    japanese = (np.arange(150, dtype=np.int64), np.linspace(10, 1, 150).astype(np.float32))
    english = (np.arange(200, 360, dtype=np.int64)[::-1].copy(), np.linspace(5, 1, 160).astype(np.float32))
    for share in (0.7, 0.3):
        q = LexicalQuery(("窓口",), {"窓口": 1.0}, ("digital",), share)
        ranked = Searcher._lexical(japanese, english, q)
        ids = [i for i, _ in ranked]
        assert len(ids) == len(set(ids)) == 150 + 160  # every passage either list holds, once
        scores = [s for _, s in ranked]
        assert scores == sorted(scores, reverse=True)
        first = japanese if share >= 0.5 else english  # past the fused pool, the main language's tail first
        assert ids[2 * CANDIDATES] == int(first[0][CANDIDATES])
