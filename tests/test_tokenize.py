"""The BM25 tokenizer: content words, lemmas, NFKC, glosses, English folding; highlighted terms."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.marks import bound_singles, joined_singles, matched_terms, word_bounds
from index.tokenize import (
    TOKENIZER_VERSION,
    noun_pairs,
    tokenize,
    tokenizer_info,
    written_words,
)

PARTICLES = ["を", "が", "に", "は", "の", "で", "と", "も", "へ", "から", "まで"]
AUXILIARIES = ["ます", "まし", "た", "です", "ない", "れる", "られる", "せる"]


# --- what is kept and what is dropped --------------------------------------------------------


def test_drops_particles_and_auxiliaries() -> None:
    tokens = tokenize("テスト市は公共施設の見直しを市民と進めました。窓口でも手続きができます")
    for word in PARTICLES + AUXILIARIES + ["。", "、"]:
        assert word not in tokens
    for word in ("公共", "施設", "見直し", "市民", "窓口", "手続き"):
        assert word in tokens


def test_keeps_content_words_in_order() -> None:
    tokens = tokenize("窓口業務の委託")
    assert tokens.index("窓口") < tokens.index("業務") < tokens.index("委託")


@pytest.mark.parametrize(
    "form", ["見直す", "見直します", "見直した", "見直して", "見直さない", "見直しました"]
)
def test_lemmatizes_verbs(form: str) -> None:
    assert tokenize(form) == ["見直す"]


def test_lemmatizes_adjectives() -> None:
    assert "新しい" in tokenize("新しく制度を作る")
    assert "新しい" in tokenize("新しかった")


@pytest.mark.parametrize("text", ["導入する", "導入しました", "導入を行う", "導入等"])
def test_drops_light_verbs_and_formal_nouns(text: str) -> None:
    assert tokenize(text) == ["導入"]


def test_drops_symbols_without_letters_or_digits() -> None:
    tokens = tokenize("「家庭ごみ」（テスト）・【案】※")
    assert tokens
    assert all(any(c.isalnum() for c in t) for t in tokens)


def test_empty_and_blank_text() -> None:
    assert tokenize("") == []
    assert tokenize("  \n　") == []
    assert tokenize("をもでへ") == []


# --- normalization ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("ＡＩ", "ai"),
        ("AI", "ai"),
        ("ＤＸ推進", "dx"),
        ("LINE", "line"),
        ("２０２４年", "2024"),
        ("ｺﾋﾟｰ", "コピー"),
    ],
)
def test_nfkc_and_lower_case(text: str, token: str) -> None:
    assert token in tokenize(text)


def test_full_width_and_half_width_queries_meet() -> None:
    assert tokenize("ＡＩ会議録") == tokenize("AI会議録") == tokenize("ai会議録")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=30))
def test_tokens_are_folded_and_non_empty(text: str) -> None:
    for token in tokenize(text):
        assert token
        assert token == unicodedata.normalize("NFKC", token).lower()
        assert not token.isspace()


# --- loanword glosses and English ------------------------------------------------------------


@pytest.mark.parametrize(
    ("loanword", "gloss"),
    [("テレワーク", "telework"), ("キャッシュレス", "cashless"), ("デジタル", "digital")],
)
def test_adds_english_gloss_of_loanwords(loanword: str, gloss: str) -> None:
    tokens = tokenize(f"{loanword}を導入")
    assert loanword in tokens and gloss in tokens
    assert tokens.index(gloss) == tokens.index(loanword) + 1


def test_english_query_meets_japanese_loanword() -> None:
    assert set(tokenize("telework")) <= set(tokenize("テレワークを制度化"))


@pytest.mark.parametrize(
    ("plural", "singular"),
    [("services", "service"), ("cities", "city"), ("policies", "policy"), ("citizens", "citizen")],
)
def test_folds_english_plurals(plural: str, singular: str) -> None:
    assert tokenize(plural) == tokenize(singular) == [singular]


@pytest.mark.parametrize("word", ["process", "address", "bus", "gas"])
def test_keeps_words_that_only_look_plural(word: str) -> None:
    assert tokenize(word) == [word]


@pytest.mark.parametrize(
    ("plural", "singular"), [("processes", "process"), ("taxes", "tax"), ("matches", "match")]
)
def test_folds_es_plurals(plural: str, singular: str) -> None:
    assert tokenize(plural) == tokenize(singular)


def test_drops_english_stop_words() -> None:
    tokens = tokenize("What is the use of AI for the services of a city")
    assert tokens == ["use", "ai", "service", "city"]


def test_mixed_language_query() -> None:
    tokens = tokenize("テスト市 telework and cashless payment")
    assert {"telework", "cashless", "payment"} <= set(tokens)
    assert "and" not in tokens


@pytest.mark.parametrize("text", ["検討していく", "検討してくる", "検討してみる"])
def test_drops_subsidiary_verbs(text: str) -> None:
    assert tokenize(text) == tokenize("検討する") == ["検討"]


# --- matched terms ---------------------------------------------------------------------------


def test_matched_terms_finds_surface_forms() -> None:
    text = "公共施設の窓口を見直し、テレワークを制度化した"
    assert matched_terms(text, set(tokenize("施設"))) == ["施設"]
    assert matched_terms(text, set(tokenize("見直す"))) == ["見直し"]  # by lemma, shown as written
    assert matched_terms(text, set(tokenize("telework"))) == ["テレワーク"]  # by English gloss


def test_matched_terms_keeps_text_order_without_repeats() -> None:
    text = "窓口のデジタル化。デジタル窓口と窓口業務"
    assert matched_terms(text, set(tokenize("窓口 デジタル"))) == ["窓口", "デジタル"]


def test_matched_terms_shows_the_text_form_not_the_query_form() -> None:
    assert matched_terms("ＡＩ会議録とServices", set(tokenize("ai service"))) == ["ＡＩ", "Services"]


def test_matched_terms_without_query_tokens() -> None:
    assert matched_terms("公共施設の見直し", set()) == []
    assert matched_terms("公共施設の見直し", set(tokenize("テレワーク"))) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(alphabet="公共施設の見直しを進めテレワーク窓口デジタル化AIservices市民。、 ", max_size=30),
    st.text(alphabet="施設見直すテレワーク窓口aiservice市民 ", max_size=12),
)
def test_matched_terms_are_in_the_text(text: str, query: str) -> None:
    terms = matched_terms(text, set(tokenize(query)))
    assert len(terms) == len(set(terms))
    assert all(term and term in text for term in terms)
    joined = joined_singles(text, terms, bound_singles(query))  # what a hit highlights
    assert len(joined) == len(set(joined)) and all(term in text for term in joined)


def test_a_joined_run_that_is_also_a_word_found_is_marked_once() -> None:
    # found by the property above: c + e makes ce, which the text also holds as a word of its own
    assert joined_singles("c ce e", ["c", "ce", "e"], {"c"}) == ["ce", "e"]


def test_a_one_character_word_is_bound_by_where_it_stands_as_a_word() -> None:
    # 書 of 申請書 is bound to it; the 書 of the verb 書かない is another word (書く), which had made 書
    # free, marked inside 請求書 and 証明書
    assert bound_singles("申請書の書かない窓口") == {"書"}
    text = "請求書のデジタル化と書かない窓口"
    found = matched_terms(text, set(tokenize("申請書の書かない窓口")))
    assert "書" in found and "書" not in joined_singles(text, found, bound_singles("申請書の書かない窓口"))


def test_a_one_character_word_of_a_compound_is_marked_only_within_it() -> None:
    assert bound_singles("児童館の統廃合") == {"館"}  # the query writes 館 only inside 児童館
    assert bound_singles("館") == set() and bound_singles("税の滞納") == set()  # written alone
    assert bound_singles("市税の滞納と税の減免") == set()  # alone once: marked wherever it stands
    text = "児童館の見直しと本館の改修"
    found = matched_terms(text, set(tokenize("児童館の統廃合")))
    assert found == ["児童", "館"]  # as tokens: the 館 of 本館 would be marked too
    assert joined_singles(text, found, {"館"}) == ["児童", "児童館"]
    assert joined_singles("児童クラブと本館", ["児童", "館"], {"館"}) == ["児童"]  # not beside 児童
    assert joined_singles("本館と公民館", ["館"], {"館"}) == ["館"]  # the only word: why it matched


@pytest.mark.parametrize(
    ("text", "query", "marked"),
    [
        ("書かない窓口の導入", "書く", ["書かない"]),  # the verb with its auxiliary, not 書か
        ("業務を見直します", "見直す", ["見直します"]),
        ("申請書を書かせない", "書く", ["書かせない"]),
        ("書いて済む", "書く", ["書いて"]),
        ("書かなければならない", "書く", ["書かなければ"]),
        ("書かずに済む", "書く", ["書かず"]),  # the particle に is no part of it
        ("窓口を見直し、案内を変えた", "見直す", ["見直し"]),  # before a comma: as written
        ("待ち時間の削減", "待ち時間", ["待ち", "時間"]),  # a compound's verb: nothing follows it
    ],
)
def test_an_inflected_word_is_matched_whole(text: str, query: str, marked: list[str]) -> None:
    assert matched_terms(text, set(tokenize(query))) == marked


def test_word_bounds_are_where_the_tagger_reads_words_an_inflected_one_whole() -> None:
    text = "書かない窓口と持続可能な運営"
    bounds = word_bounds(text)
    assert {0, 4, 6} <= bounds and 2 not in bounds  # 書かない|窓口, not 書か|ない
    at = text.index("可能")
    assert at in bounds and at + 1 not in bounds  # 可 is no word of 可能
    assert word_bounds("窓口 の\n案内") >= {0, 2, 3, 4, 5, 7}  # places in the text as written


# --- provenance ------------------------------------------------------------------------------


def test_tokenizer_info_names_versions() -> None:
    info = tokenizer_info()
    assert info["version"] == TOKENIZER_VERSION
    assert info["fugashi"] and info["unidic_lite"]
    assert "fugashi" in info["name"] and "unidic-lite" in info["name"]


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        ("電子入札の導入", ["電子入札"]),  # the particle breaks the run: 入札の導入 is no pair
        ("市立病院の経営改善", ["市立", "立病院", "経営改善"]),  # a suffix (立) joins its nouns
        ("補助金の見直し", ["補助金"]),
        ("はんこを押す", []),  # a single noun, then a verb
        ("naming rights", []),  # English words make no pair
        ("ＤＸの推進", []),  # nor Latin letters beside Japanese
        ("電子入札、電子入札", ["電子入札"]),  # distinct
        ("施設 統廃合", ["施設統廃合"]),  # read across a space, as the label model was fitted
    ],
)
def test_noun_pairs_are_adjacent_japanese_nouns_as_written(text: str, pairs: list[str]) -> None:
    assert noun_pairs(written_words(text)) == pairs


@pytest.mark.parametrize(
    ("typed", "written", "marked"),
    [
        ("待ち時間", "窓口での待ち時間を短縮するため", "待ち"),
        ("待ち時間の削減", "窓口の待ち時間の削減に取り組んだ", "待ち"),
        ("立上げ支援", "市では立上げ支援を見直した。", "立上げ"),  # its noun is spelled 立ち上げ
        ("建替え計画", "市では建替え計画を見直した。", "建替え"),
    ],
)
def test_a_compound_typed_alone_meets_it_written_in_a_sentence(typed: str, written: str, marked: str) -> None:
    # typed alone, 待ち of 待ち時間 is read as a noun; in a sentence, as the verb 待つ: they never met,
    # and a city writing 待ち時間 was said never to write 待ち
    assert set(tokenize(typed)) <= set(tokenize(written))
    assert marked in matched_terms(written, set(tokenize(typed)))  # it had matched, unmarked


def test_the_verb_of_a_compound_is_kept() -> None:
    assert {"待つ", "待ち"} <= set(tokenize("窓口での待ち時間を短縮するため"))


def test_a_verb_before_a_particle_gives_no_noun() -> None:
    assert tokenize("取り組みを進めている") == ["取り組み", "進める"]


@pytest.mark.parametrize(
    ("text", "not_a_token"),
    [
        ("総枠配分方式により予算編成を行う。", "より"),
        ("計画に基づき事業を進める", "基づき"),
        ("一件につき手数料", "突き"),
    ],
)
def test_a_verb_governed_by_a_particle_gives_no_noun(text: str, not_a_token: str) -> None:
    # grammar, not a compound: により had been highlighted for 「より一層」
    assert not_a_token not in tokenize(text)


def test_question_words_name_no_topic() -> None:
    # どこまで進んだか had weighed どこ in BM25 and marked it in どこでも
    for question, topic in (
        ("窓口のデジタル化はどこまで進んだか", ["窓口", "デジタル", "digital", "進む"]),
        ("いつから誰が何をどう進めているか", ["進める"]),
        ("なぜ遅れたのか、どちらの市か", ["遅れる", "市"]),
        ("どれくらいの施設を減らしたか", ["施設", "減らす"]),
    ):
        assert tokenize(question) == topic, question
    assert tokenize("どこ") == tokenize("いつ") == []  # a question word alone asks for nothing
