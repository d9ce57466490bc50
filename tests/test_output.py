"""Snippets for people: which window of a passage is shown."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reform_search.output import snippet
from search.hit import spans


def test_snippet_shows_the_window_with_the_most_matched_terms():
    # 窓口 first occurs far from 書かない; the window holding both is shown, not the first 窓口's
    text = "スマート申請窓口の導入。" + "あ" * 100 + "書かない窓口の導入を進めた。" + "い" * 100
    got = snippet(text, ("窓口", "書かない"), 40)
    assert "書かない窓口" in got and got.startswith("…") and got.endswith("…")


def test_snippet_shows_a_word_where_it_is_marked_not_inside_another():
    # いわき市's report: 可 stands alone in 利用可 (marked there), and is written inside 可能 before it
    text = "手続きが可能になり、" + "う" * 100 + "65サービスがスマホから利用可。" + "え" * 100
    got = snippet(text, ("可",), 40)
    assert "利用可" in got


def test_snippet_without_terms_is_the_opening():
    text = "一行目の文。" + "う" * 300
    assert snippet(text, (), 20) == text[:20] + "…"
    assert snippet(text, ("無い語",), 20) == text[:20] + "…"
    assert snippet("短い文", ("文",), 20) == "短い文"


@given(
    st.text(alphabet="あいう窓口書か ", min_size=1, max_size=400),
    st.lists(st.sampled_from(["窓口", "書か", "あい"]), max_size=3),
    st.integers(min_value=5, max_value=80),
)
def test_snippet_is_a_window_of_the_text_holding_a_mark_when_there_is_one(text, terms, limit):
    flat = " ".join(text.split())
    got = snippet(text, tuple(terms), limit)
    piece = got.removeprefix("…").removesuffix("…")
    assert piece in flat and len(piece) <= limit
    marked = [p for p, m in spans(flat, terms) if m]
    if any(len(p) <= limit - limit // 4 for p in marked):  # a window opening before it holds it
        assert any(p in piece for p in marked)
