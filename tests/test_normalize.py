"""Japanese text normalization: look-alikes, clean-up, matching form, line joining, letter-spacing."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.normalize import (
    clean_text,
    collapse_letterspacing,
    compact,
    fix_lookalikes,
    is_japanese,
    join_lines,
    normalize,
    running_headers,
    width,
)

# Characters a property test draws from: kana, kanji, full-width forms, ASCII letters and digits.
JAPANESE = "あいうえおかきくけこをはのがにでとテストマネジメントー公共施設改革市役所窓口。、「」（）ＡＩ"
LATIN = "abcdefgXYZ0123456789-/()."
NO_SPACE = st.text(alphabet=JAPANESE + LATIN, min_size=1, max_size=12)


# --- look-alikes and clean-up ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\u2f45針", "方針"),  # KANGXI RADICAL SQUARE ⽅ → 方
        ("\u2f08材", "人材"),  # KANGXI RADICAL MAN ⼈ → 人
        ("\u2ed1期", "長期"),  # CJK RADICAL LONG ONE ⻑: no NFKC mapping, listed by hand
        ("\u2ed8年", "青年"),  # CJK RADICAL BLUE ⻘
        ("\ufa30", "\u4fae"),  # CJK COMPATIBILITY IDEOGRAPH-FA30 → 侮
        ("人材ﾏﾈｼﾞﾒﾝﾄ", "人材マネジメント"),  # half-width katakana, voiced marks recombined
        ("ｵﾝﾗｲﾝ申請", "オンライン申請"),
    ],
)
def test_fix_lookalikes_maps_to_ordinary_characters(raw: str, expected: str) -> None:
    assert fix_lookalikes(raw) == expected


@pytest.mark.parametrize(
    "text", ["ＡＩ会議録", "令和６年度", "①安定的な財政運営", "⑴　持続可能な財政運営", "DX推進"]
)
def test_fix_lookalikes_keeps_display_forms(text: str) -> None:
    # Full-width Latin, full-width digits and circled numbers are what the report shows: keep them.
    assert fix_lookalikes(text) == text


def test_clean_text_unifies_newlines_and_drops_control_characters() -> None:
    raw = "\ufeff公共\u200b施設\r\n見直し\rテスト\f次の頁\tタブ\x07"
    assert clean_text(raw) == "公共施設\n見直し\nテスト\n次の頁 タブ"


@pytest.mark.parametrize(
    "invisible",
    [
        *("\u200b", "\u00ad", "\ufeff", "\u200e", "\u202e", "\u2060", "\u2066", "\x00", "\x9b", "\ud800"),
        *("\ufe00", "\ufe0f", "\U000e0100", "\u180e", "\u034f", "\u3164"),  # variation selectors, fillers
    ],
)
def test_clean_text_drops_invisible_formatting(invisible) -> None:
    # soft hyphens, direction marks and overrides, word joiners and lone surrogates split words apart
    # (and an override shows text otherwise than it reads); tab and newline stay what they mean
    assert clean_text(f"公共{invisible}施設\tの{invisible}見直し\n") == "公共施設 の見直し\n"


def test_clean_text_fixes_lookalikes() -> None:
    assert clean_text("行政\u2f45針と\u2ed1期計画\r\n人材ﾏﾈｼﾞﾒﾝﾄ") == "行政方針と長期計画\n人材マネジメント"


# --- matching form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＩ会議録", "ai会議録"),
        ("ＤＸ　推進", "dx 推進"),  # the ideographic space is whitespace too
        ("  公共\n\t施設  ", "公共 施設"),
        ("令和６年度", "令和6年度"),
        ("\u2ed1期", "長期"),
        ("ﾏﾈｼﾞﾒﾝﾄ", "マネジメント"),
        ("LINE", "line"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_leaves_single_inner_spaces_only(text: str) -> None:
    out = normalize(text)
    assert out == out.strip()
    assert "  " not in out
    assert not any(c.isspace() and c != " " for c in out)


def test_compact_removes_all_whitespace_after_nfkc() -> None:
    assert compact("Ｒ６ 取組\n状況　です") == "R6取組状況です"


# --- character classes and widths ------------------------------------------------------------


@pytest.mark.parametrize("ch", ["あ", "ア", "公", "。", "「", "\u3000", "Ａ", "ｱ", "①", "⑴", "\u2f45"])
def test_is_japanese_true(ch: str) -> None:
    assert is_japanese(ch)


@pytest.mark.parametrize("ch", ["a", "Z", "0", " ", "/", "-", "é"])
def test_is_japanese_false(ch: str) -> None:
    assert not is_japanese(ch)


def test_width_counts_half_width_as_half() -> None:
    assert width("公共施設") == 4
    assert width("R6") == 1
    assert width("R6取組状況") == 5
    assert width("") == 0


# --- joining wrapped lines -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["公共施設の", "見直しを行", "った。"], "公共施設の見直しを行った。"),
        (["digital", "transformation"], "digital transformation"),
        (["DXの", "推進"], "DXの推進"),
        (["AI", "会議録"], "AI会議録"),
        (["会議録", "AI"], "会議録AI"),
        (["https://example.com/", "page"], "https://example.com/page"),
        (["self-", "service"], "self-service"),
        (["（広報、", "市民対話）"], "（広報、市民対話）"),
        (["  公共  ", "", "施設 "], "公共施設"),
        ([], ""),
    ],
)
def test_join_lines(lines: list[str], expected: str) -> None:
    assert join_lines(lines) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(NO_SPACE, max_size=8))
def test_join_lines_only_inserts_spaces_between_non_japanese(lines: list[str]) -> None:
    out = join_lines(lines)
    # The lines have no spaces of their own: every space in the result was inserted.
    assert out.replace(" ", "") == "".join(lines)
    for n, ch in enumerate(out):
        if ch == " ":
            assert not is_japanese(out[n - 1]) and not is_japanese(out[n + 1]), out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=JAPANESE, min_size=1, max_size=10), max_size=8))
def test_join_lines_never_spaces_japanese_lines(lines: list[str]) -> None:
    assert join_lines(lines) == "".join(lines)


# --- letter-spacing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("公 共 施 設", "公共施設"),
        ("公 共 施 設 の 集 中 保 全", "公共施設の集中保全"),
        ("L I N Eを使った申請", "LINEを使った申請"),
        ("2 4時間いつでも", "24時間いつでも"),
        ("B P R 研 修", "BPR研修"),
        ("オ ン ラ イ ン 施 設 予 約", "オンライン施設予約"),
    ],
)
def test_collapse_letterspacing_removes_letter_spaces(line: str, expected: str) -> None:
    assert collapse_letterspacing(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "AI会議録システム運用 BIツール",  # two words side by side, neither letter-spaced
        "digital transformation",
        "a b",  # two one-letter Latin tokens are not yet a spaced-out word
        "2021 2022 2023 2024",
        "公共施設",
        "",
    ],
)
def test_collapse_letterspacing_keeps_word_spaces(line: str) -> None:
    assert collapse_letterspacing(line) == line


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=JAPANESE + LATIN, max_size=4), max_size=10).map(" ".join))
def test_collapse_letterspacing_only_removes_spaces(line: str) -> None:
    out = collapse_letterspacing(line)
    assert out.replace(" ", "") == line.replace(" ", "")
    assert out.count(" ") <= line.count(" ")
    # Removing spaces only: the result is the input with some spaces deleted, in order.
    rest = iter(line)
    assert all(any(ch == c for c in rest) for ch in out)


# --- running headers -------------------------------------------------------------------------


def test_running_headers_finds_long_lines_repeated_three_times() -> None:
    header = "テスト市行財政改革の取組状況（架空の例）"
    lines = [header, "本文一", " " + header, "本文二", header, "短い行", "短い行", "短い行"]
    assert running_headers(lines) == {header}


def test_running_headers_needs_three_repeats() -> None:
    header = "テスト市行財政改革の取組状況（架空の例）"
    assert running_headers([header, "本文", header]) == set()


def test_running_headers_of_default_progress_report() -> None:
    from corpus.document import DEFAULT_CORPUS

    path = DEFAULT_CORPUS.parent / "aizuwakamatsu_r6_gyozaisei_kaikaku.txt"
    lines = path.read_text(encoding="utf-8").split("\n")
    headers = running_headers(lines)
    assert "「行財政改革～未来へつなぐ自治体経営に向けて～」における令和6年度の取組状況" in headers
    assert all(unicodedata.is_normalized("NFC", h) and h == h.strip() for h in headers)
