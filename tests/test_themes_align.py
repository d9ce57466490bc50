"""Theme × city matrix (read_themes, theme_matrix) and the alignment of two cities (align)."""

from __future__ import annotations

import copy
import itertools
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import KeywordEmbedder, KeywordIndex

from corpus.document import load_corpus
from index.build import build_index
from index.cache import EmbeddingCache
from index.store import load_index
from search.align import align, initiatives
from search.compare import MATCHES, compare
from search.counterparts import similar
from search.engine import Searcher
from search.query import MAX_QUERY_CHARS
from search.themes import DEFAULT_THEMES, MAX_THEMES, Matrix, read_themes, theme_matrix

# --- read_themes --------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "themes.txt"
    path.write_bytes(text.encode(encoding))
    return path


def test_read_themes_skips_blank_lines_and_comments(tmp_path: Path) -> None:
    text = "\n# テスト用のテーマ一覧\n  電子決裁  \n\n   # 字下げしたコメント\nテレワーク\n\t\n"
    assert read_themes(_write(tmp_path, text)) == ["電子決裁", "テレワーク"]


def test_read_themes_drops_duplicates_keeping_the_first_order(tmp_path: Path) -> None:
    text = "ごみ有料化\n電子決裁\n ごみ有料化 \n電子決裁\n窓口\n"
    assert read_themes(_write(tmp_path, text)) == ["ごみ有料化", "電子決裁", "窓口"]


def test_read_themes_ignores_a_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    path = _write(tmp_path, "\ufeff電子決裁\r\nテレワーク\r\n")
    assert read_themes(path) == ["電子決裁", "テレワーク"]


@pytest.mark.parametrize("text", ["", "\n\n  \n", "# コメントだけ\n# もう一行\n", "\ufeff"])
def test_read_themes_without_themes_is_an_error(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match="no themes") as err:
        read_themes(path)
    assert str(path) in str(err.value)


def test_read_themes_limit(tmp_path: Path) -> None:
    at_limit = [f"テスト用テーマ{i}" for i in range(MAX_THEMES)]
    assert read_themes(_write(tmp_path, "\n".join(at_limit))) == at_limit
    over = [*at_limit, "ひとつ多いテーマ"]
    with pytest.raises(ValueError, match=f"{MAX_THEMES + 1} themes.*limit is {MAX_THEMES}"):
        read_themes(_write(tmp_path, "\n".join(over)))
    # Duplicates don't count against the limit.
    assert read_themes(_write(tmp_path, "\n".join(["電子決裁", "窓口"] * MAX_THEMES))) == ["電子決裁", "窓口"]


def test_read_themes_unreadable_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read themes file"):
        read_themes(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="cannot read themes file"):
        read_themes(_write(tmp_path, "電子決裁\nテレワーク\n", encoding="shift_jis"))


# --- theme_matrix on the fixture indexes ----------------------------------------------------------------

KEYWORD_THEMES = ["予算", "基金", "窓口", "雪かき", "港湾の浚渫工事"]


def _check_matrix(m: Matrix, themes: list[str], cities: list[str]) -> None:
    """Every theme × city cell once, in order, with a consistent label, count and best passage."""
    assert list(m.themes) == themes and list(m.cities) == cities
    assert [(c.theme, c.city) for c in m.cells] == list(itertools.product(themes, cities))
    for cell in m.cells:
        assert m.cell(cell.theme, cell.city) is cell
        assert cell.match in MATCHES
        assert cell.matching >= 0
        assert (cell.best is None) == (cell.match == "none"), (cell.theme, cell.city)
        if cell.best is not None:
            assert cell.best.passage.city == cell.city
    json.dumps(m.to_dict(), ensure_ascii=False, allow_nan=False)


def test_themes_are_read_as_queries_are(searcher: Searcher, tmp_path: Path) -> None:
    # a control character had crashed the workbook, and a 200,000-character theme was echoed whole
    m = theme_matrix(searcher, ["DX\x01推進", "窓口\x1b[31m", "窓口 " * 100_000])
    assert list(m.themes[:2]) == ["DX推進", "窓口[31m"] and len(m.themes[2]) <= MAX_QUERY_CHARS
    with pytest.raises(ValueError, match="theme 2 is empty"):
        theme_matrix(searcher, ["DX推進", "  \u200b "])
    path = tmp_path / "themes.txt"
    path.write_text("# テーマ\n\nDX\x01推進\n\u200b\nDX推進\n", encoding="utf-8")
    assert read_themes(path) == ["DX推進"]  # the same theme once; a zero-width line is blank
    junk = theme_matrix(searcher, ["DX推進", "の", "12345"])  # said, not a silent row of ×
    assert junk.empty == ("の", "12345") and junk.to_dict()["no_content"] == ["の", "12345"]
    assert all(c.match == "none" for c in junk.cells if c.theme in junk.empty)
    short = copy.copy(searcher)
    short.max_query_chars = 20  # the searcher's limit (max_query_chars), not the built-in 1000
    assert [len(t) <= 20 for t in theme_matrix(short, ["窓口 " * 50]).themes] == [True]


def test_theme_matrix_default_themes_on_the_fixture(searcher: Searcher) -> None:
    m = theme_matrix(searcher)
    _check_matrix(m, list(DEFAULT_THEMES), searcher.cities)


def test_theme_matrix_cells_agree_with_compare(keyword_searcher: Searcher) -> None:
    m = theme_matrix(keyword_searcher, KEYWORD_THEMES)
    _check_matrix(m, KEYWORD_THEMES, keyword_searcher.cities)
    for theme in KEYWORD_THEMES:
        for column in compare(keyword_searcher, theme, top_k=1).columns:
            cell = m.cell(theme, column.city)
            assert (cell.match, cell.matching) == (column.match, column.matching)
            if cell.best is not None:
                assert cell.best == column.hits[0]


def test_theme_matrix_obvious_cells(keyword_searcher: Searcher) -> None:
    m = theme_matrix(keyword_searcher, KEYWORD_THEMES)
    unmatched = {
        city: {c.theme for c in m.cells if c.city == city and c.match == "none"} for city in m.cities
    }
    assert unmatched == {"テスト市": {"雪かき", "港湾の浚渫工事"}, "サンプル町": {"基金", "港湾の浚渫工事"}}
    for cell in m.cells:
        if cell.best is not None:
            assert cell.theme in cell.best.passage.text
            assert cell.matching >= 1


def test_theme_matrix_named_cities(keyword_searcher: Searcher) -> None:
    m = theme_matrix(keyword_searcher, ["窓口"], ["samplecho"])
    _check_matrix(m, ["窓口"], ["サンプル町"])
    m = theme_matrix(keyword_searcher, ["窓口"], ["サンプル町", "テスト市"])
    assert m.cities == ("サンプル町", "テスト市")
    with pytest.raises(ValueError, match="known cities"):
        theme_matrix(keyword_searcher, ["窓口"], ["架空村"])


def test_theme_matrix_names_its_english_themes_as_compare_does(keyword_searcher: Searcher) -> None:
    # The comparison warned that an English question's labels are less certain; the matrix did not
    themes = ["窓口", "preventive maintenance of public buildings", "telework テレワーク 試行"]
    m = theme_matrix(keyword_searcher, themes)
    assert m.english == tuple(t for t in themes if compare(keyword_searcher, t).english)
    assert m.english == ("preventive maintenance of public buildings",)
    assert m.to_dict()["english"] == list(m.english)
    from reform_search.export import render_matrix
    from reform_search.output import ENGLISH_NOTE
    from reform_search.render import english_note

    assert ENGLISH_NOTE[0] in render_matrix(m, "md") and ENGLISH_NOTE[1] in english_note(m.english)
    assert english_note(()) == "" and ENGLISH_NOTE[0] not in render_matrix(
        theme_matrix(keyword_searcher, ["窓口"]), "md"
    )


def test_theme_matrix_refuses_an_empty_theme(keyword_searcher: Searcher) -> None:
    with pytest.raises(ValueError, match="empty"):
        theme_matrix(keyword_searcher, ["窓口", "   "])


def test_theme_matrix_is_deterministic(keyword_searcher: Searcher) -> None:
    first = theme_matrix(keyword_searcher, KEYWORD_THEMES).to_dict()
    assert theme_matrix(keyword_searcher, KEYWORD_THEMES).to_dict() == first


# --- align on the fixture (obvious answers) --------------------------------------------------------------


def _check_alignment(searcher: Searcher, a: str, b: str) -> None:
    """The alignment's invariants, for any index and pair of cities."""
    result = align(searcher, a, b)
    assert (result.city_a, result.city_b) == (a, b)
    # Every initiative-level passage of A appears once, in document order.
    expected = [searcher.passages[i].id for i in initiatives(searcher, a)]
    assert [p.source.id for p in result.pairs] == expected
    assert len(set(expected)) == len(expected)
    for pair in result.pairs:
        assert pair.source.city == a
        assert pair.match in MATCHES
        assert (pair.counterpart is None) == (pair.match == "none")
        if pair.counterpart is not None:
            assert pair.counterpart.passage.city == b
    # only_a: exactly the pairs without a counterpart.
    assert [p.id for p in result.only_a] == [pair.source.id for pair in result.pairs if pair.match == "none"]
    # only_b: B's initiatives without a counterpart in A, read from the reverse direction.
    reverse = [searcher.passages[i] for i in initiatives(searcher, b)]
    lonely_b = [p.id for p in reverse if similar(searcher, p.id, [a], top_k=1).columns[0].match == "none"]
    assert [p.id for p in result.only_b] == lonely_b
    assert [p.id for p in result.only_b] == [p.id for p in align(searcher, b, a).only_a]


def test_align_invariants_on_the_fixtures(searcher: Searcher, keyword_searcher: Searcher) -> None:
    _check_alignment(searcher, "テスト市", "サンプル町")
    _check_alignment(keyword_searcher, "テスト市", "サンプル町")
    _check_alignment(keyword_searcher, "サンプル町", "テスト市")


def test_align_obvious_answers(keyword_searcher: Searcher) -> None:
    result = align(keyword_searcher, "テスト市", "サンプル町")
    # テスト市 is a table: its initiatives are its rows, all of them.
    assert len(result.pairs) == sum(p.city == "テスト市" for p in keyword_searcher.passages)
    # Rows about 予算 and 窓口 have a counterpart in サンプル町; those about 基金, 清掃, 電子決済 don't.
    for pair in result.pairs:
        shared = "予算" in pair.source.text or "窓口" in pair.source.text
        assert (pair.counterpart is not None) == shared, pair.source.text
        if shared:
            assert pair.match == "strong"
    assert len(result.only_a) == 3
    # サンプル町's initiatives are its bullet items (not its opening paragraph); 雪かき is its own.
    assert ["雪かき" in p.text for p in result.only_b] == [True]
    reverse = align(keyword_searcher, "サンプル町", "テスト市")
    assert all(pair.source.kind == "item" for pair in reverse.pairs) and len(reverse.pairs) == 3
    # each pair names the source's words the other city never writes, in every export (a ○ is read with
    # them, as the README says; align had named none)
    from reform_search.export import alignment_json, alignment_markdown, alignment_table

    named = [p for p in result.pairs if p.absent]
    assert named and all(p.absent == p.column.evidence.absent for p in result.pairs)
    header, rows = alignment_table(result)
    assert header[-1] == "absent" and [r["absent"] for r in rows[: len(result.pairs)]] == [
        "、".join(p.absent) for p in result.pairs
    ]
    assert [p["absent"] for p in json.loads(alignment_json(result))["pairs"]] == [
        list(p.absent) for p in result.pairs
    ]
    shown = [p for p in named if p.counterpart]  # named beside a counterpart in the Markdown table
    assert all("、".join(p.absent) in alignment_markdown(result) for p in shown)


def test_align_cities_by_alias_and_not_twice(keyword_searcher: Searcher) -> None:
    by_alias = align(keyword_searcher, "Testshi", "samplecho")
    assert (by_alias.city_a, by_alias.city_b) == ("テスト市", "サンプル町")
    assert by_alias == align(keyword_searcher, "テスト市", "サンプル町")
    with pytest.raises(ValueError, match="two different cities"):
        align(keyword_searcher, "テスト市", "テスト市")
    with pytest.raises(ValueError, match="two different cities"):
        align(keyword_searcher, "テスト市", "testshi")
    with pytest.raises(ValueError, match="known cities"):
        align(keyword_searcher, "テスト市", "架空村")


# --- the real corpus with the real model --------------------------------------------------------------

AIZU, IWAKI = "会津若松市", "いわき市"


@pytest.mark.model
def test_real_default_theme_matrix_is_full(real_searcher: Searcher) -> None:
    m = theme_matrix(real_searcher)
    _check_matrix(m, list(DEFAULT_THEMES), [AIZU, IWAKI])
    assert len(m.cells) == len(DEFAULT_THEMES) * 2


@pytest.mark.model
def test_real_nonsense_theme_is_none_in_both_cities(real_searcher: Searcher) -> None:
    m = theme_matrix(real_searcher, ["港湾の浚渫工事"])
    assert [(c.city, c.match, c.best) for c in m.cells] == [(AIZU, "none", None), (IWAKI, "none", None)]


@pytest.mark.model
def test_real_align_invariants(real_searcher: Searcher) -> None:
    _check_alignment(real_searcher, AIZU, IWAKI)
    result = align(real_searcher, AIZU, IWAKI)
    # 会津若松市 is a progress table: one pair per 具体的取組 row, every row.
    assert len(result.pairs) == sum(p.city == AIZU and p.kind == "row" for p in real_searcher.passages)
    # いわき市's brochure has bullet items: only those count as its initiatives.
    assert all(p.kind == "item" for p in result.only_b)


@pytest.mark.model
def test_real_align_aliases_and_same_city(real_searcher: Searcher) -> None:
    assert align(real_searcher, "Aizuwakamatsu", "Iwaki") == align(real_searcher, AIZU, IWAKI)
    with pytest.raises(ValueError, match="two different cities"):
        align(real_searcher, "いわき市", "Iwaki")


def test_align_takes_each_documents_initiatives(keyword_index: KeywordIndex, tmp_path: Path) -> None:
    """A city with a progress table and a report in paragraphs: the table's rows and every paragraph of
    the report are its initiatives (the table had hidden the report); a document with items keeps its
    items alone."""
    corpus = tmp_path / "corpus"
    shutil.copytree(keyword_index.corpus.parent, corpus)
    (corpus / "testshi_memo.txt").write_text(
        "テスト市の架空の清掃事業を見直した。これはテスト用の作り話です。\n\n"
        "テスト市の架空の雪かき当番を町内会と決めた。これもテスト用の作り話です。\n",
        encoding="utf-8",
    )
    with open(corpus / "corpus.toml", "a", encoding="utf-8") as f:
        f.write(
            '\n[[document]]\nid = "testshi-memo"\nfile = "testshi_memo.txt"\ncity = "テスト市"\n'
            'title = "テスト市 架空の改革メモ（テスト用）"\nfiscal_year = "R6"\nlayout = "blocks"\n'
        )
    with EmbeddingCache(tmp_path / "cache.sqlite3") as cache:
        build_index(tmp_path / "index", load_corpus(corpus / "corpus.toml"), KeywordEmbedder(), cache)
    s = Searcher(load_index(tmp_path / "index"), KeywordEmbedder())
    kinds = Counter(s.passages[i].kind for i in initiatives(s, "テスト市"))
    rows = sum(p.city == "テスト市" and p.kind == "row" for p in s.passages)
    memo = [p for p in s.passages if p.doc_id == "testshi-memo"]
    assert memo and all(p.kind == "paragraph" for p in memo)
    assert kinds == {"row": rows, "paragraph": len(memo)}
    sources = {pair.source.id for pair in align(s, "テスト市", "サンプル町").pairs}
    assert {p.id for p in memo} <= sources
    assert [s.passages[i].kind for i in initiatives(s, "サンプル町")] == ["item"] * 3
