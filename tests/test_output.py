"""Snippets for people: which window of a passage is shown."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reform_search.output import snippet


def test_snippet_shows_the_window_with_the_most_matched_terms():
    # 窓口 first occurs far from 書か; the window holding both is shown, not the first 窓口's
    text = "スマート申請窓口の導入。" + "あ" * 100 + "書かない窓口の導入を進めた。" + "い" * 100
    got = snippet(text, ("窓口", "書か"), 40)
    assert "書かない窓口" in got and got.startswith("…") and got.endswith("…")


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
def test_snippet_is_a_window_of_the_text_holding_a_term_when_one_occurs(text, terms, limit):
    flat = " ".join(text.split())
    got = snippet(text, tuple(terms), limit)
    piece = got.removeprefix("…").removesuffix("…")
    assert piece in flat and len(piece) <= limit
    if any(t in flat for t in terms):
        assert any(t in piece for t in terms)
