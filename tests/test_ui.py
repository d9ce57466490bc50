"""The web UI without a browser: HTML builders escape document text, handlers, uploads, concurrency."""

from __future__ import annotations

import html
import re
import threading
import time
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import gradio as gr
import pytest
from conftest import HTML_ITEMS
from fakes import FakeEmbedder
from markdown_it import MarkdownIt

import ui
from corpus.passage import Passage
from index.documents import IndexedDocument
from index.marks import matched_terms
from index.store import current_generation, load_index, read_manifest
from index.tokenize import tokenize
from reform_search import heatmap, render
from reform_search.manage import add_document, indexed_documents
from reform_search.settings import Settings
from reform_search.web import handlers, server
from reform_search.web import state as ui_state
from reform_search.web.state import CHANGED, DOWNLOADS, GONE
from search.compare import Column, Comparison, Evidence, compare
from search.counterparts import Counterparts
from search.engine import Searcher
from search.hit import Hit, Results
from search.labels import Match
from search.themes import DEFAULT_THEMES, MAX_THEMES, THEMES_EN, Cell, Matrix, themed

EVIL = "<script>alert(1)</script><img src=x onerror=alert(1)> & \"q\" 's'"
ALLOWED_TAGS = {
    "article", "button", "dd", "details", "div", "dl", "dt", "g", "h2", "h3", "header", "mark", "p", "rect",
    "section", "span", "summary", "svg", "table", "tbody", "td", "text", "th", "thead", "title", "tr", "br",
    "tspan", "nav", "a",
}  # fmt: skip


class Tags(HTMLParser):
    """Every tag and attribute of an HTML fragment, and its text."""

    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def assert_inert(fragment: str) -> Tags:
    """No tag outside the builders' own, no event-handler attribute, no javascript: URL."""
    parsed = Tags(fragment)
    assert set(parsed.tags) <= ALLOWED_TAGS, set(parsed.tags) - ALLOWED_TAGS
    assert not [a for a, _ in parsed.attrs if a.startswith("on")]
    assert not [v for _, v in parsed.attrs if v and "javascript:" in v.lower()]
    assert all(v.startswith("#rs-") for a, v in parsed.attrs if a == "href")  # links within the page only
    return parsed


def evil_passage(**overrides) -> Passage:
    """A passage whose every field holds markup."""
    fields = {
        "id": 'doc:1" onclick="alert(1)',
        "doc_id": "doc",
        "city": f"市{EVIL}",
        "document": f"資料{EVIL}",
        "text": f"電子決裁の{EVIL}推進\n内容：{EVIL}",
        "fiscal_year": 2024,
        "section": f"⑴ 章{EVIL} > 節",
        "initiative": f"取組{EVIL}",
        "department": f"課{EVIL}",
        "kind": "row",
        "line_start": 3,
        "line_end": 9,
        "page": 2,
        "fields": (("内容", EVIL), ("所管課", f"課{EVIL}")),
    }
    return Passage(**{**fields, **overrides})


def hit(passage: Passage, rank: int = 1, matched: tuple[str, ...] = ("電子決裁",)) -> Hit:
    return Hit(passage, rank, 0.5, matched)


# ---------------------------------------------------------------- builders


def test_highlight_escapes_text_and_marks_terms():
    out = render.highlight("<b>電子決裁</b> & 電子決裁", ["電子決裁"])
    assert out == (
        '&lt;b&gt;<mark class="rs-hl">電子決裁</mark>&lt;/b&gt; &amp; <mark class="rs-hl">電子決裁</mark>'
    )


def test_highlight_skips_the_field_labels_every_row_writes():
    text = "窓口の取組 内容：申請の取組\nR6取組状況：取組を進めた 今後の課題・方向性：課題"
    fields = ("内容", "R6取組状況", "今後の課題・方向性")  # the row's column names
    out = render.highlight(text, ["取組", "課題"], fields)
    assert out.count('<mark class="rs-hl">取組</mark>') == 3  # in the text, never in 「R6取組状況：」
    assert "R6取組状況：" in out and "今後の課題・方向性：" in out
    assert out.count('<mark class="rs-hl">課題</mark>') == 1  # after the label, not inside it
    # a list item's own 「name：…」 is no field label: the initiative's name is marked
    item = render.highlight("書かない窓口の導入：申請書を書かずに済む", ["書かない窓口"])
    assert item.startswith('<mark class="rs-hl">書かない窓口</mark>の導入：')


# いわき市's report (構造改革レポート vol.5, p.7): 可 stands alone once (利用可) and is written inside 可能
IWAKI_P7 = "証明などの手続きが可能になり、\n65サービスがスマホから利用可\n持続可能な財政運営を目指します"


def test_highlight_marks_a_one_character_word_only_where_it_stands_alone():
    # "paperless approval" glosses approval as 可: marked in 利用可, never inside 可能
    out = render.highlight(IWAKI_P7, ["可"])
    assert out.count("<mark") == 1 and '利用<mark class="rs-hl">可</mark>' in out
    assert "可能" in out


def test_highlight_marks_an_inflected_word_whole():
    # 書かない窓口 as a reader reads it: 書かない (書か of it alone reads as a fragment), then 窓口
    text = "書かない窓口の導入（12月）"
    found = matched_terms(text, set(tokenize("書かない窓口")))
    assert found == ["書かない", "窓口"]
    assert render.highlight(text, found) == '<mark class="rs-hl">書かない窓口</mark>の導入（12月）'
    # a fragment given as a term is no word of the text: not marked
    assert "<mark" not in render.highlight("書かない", ["書か"])


def test_highlight_prefers_the_longest_term_and_escapes_terms():
    out = render.highlight("電子決裁システム <R&D>", ["電子", "電子決裁", "<R&D>"])
    assert out.count("<mark") == 2
    assert '<mark class="rs-hl">電子決裁</mark>' in out
    assert '<mark class="rs-hl">&lt;R&amp;D&gt;</mark>' in out


def test_highlight_without_terms_only_escapes():
    assert render.highlight(EVIL, ()) == render.esc(EVIL)
    assert "<" not in render.highlight(EVIL, ("",))


def test_card_escapes_every_field():
    out = render.card(hit(evil_passage()), with_city=True)
    parsed = assert_inert(out)
    text = "".join(parsed.text)
    assert "<script>alert(1)</script>" in text  # shown, as text
    assert "<img src=x onerror=alert(1)>" in text
    assert ("data-passage", 'doc:1" onclick="alert(1)') in parsed.attrs  # the id survives as a value
    assert '<mark class="rs-hl">電子決裁</mark>' in out


def test_card_shows_citation_department_and_full_text():
    p = evil_passage(text="電子決裁を全庁に広げる", fields=(("内容", "電子決裁を全庁に広げる"),))
    out = render.card(hit(p))
    assert "所管課 / department: 課" in out
    assert "(1) 章" in out  # ⑴ drawn as (1): not every Japanese font has the enclosed digits
    assert "p.2" in out and "3–9行" in out and "score 0.5000" in out and "2024年度" in out
    assert "<details>" in out  # the row's fields, on demand
    assert '<dt>内容 <span class="rs-en" lang="en">/ what it is</span></dt>' in out  # in English too
    labelled = render.card(hit(replace(p, fields=(("R6取組状況", "x"), ("備考", "y")))))
    assert "R6取組状況 <span" in labelled and "/ progress" in labelled and "<dt>備考</dt>" in labelled
    assert 'class="rs-cp-btn"' in out
    assert 'class="rs-cp-btn"' not in render.card(hit(p), action=False)


def test_card_without_heading_leads_with_its_text():
    p = evil_passage(
        initiative=None, section="", department=None, fields=(), text="保育DX（3月）", kind="item"
    )
    out = render.card(hit(p, matched=("DX",)))
    assert 'rs-title"' not in out
    assert '保育<mark class="rs-hl">DX</mark>（3月）' in out
    assert "<details>" not in out  # nothing more to show


def column(match: str, n: int = 2) -> Column:
    hits = tuple(hit(evil_passage(id=f"doc:{i}"), rank=i + 1) for i in range(n))
    return Column("テスト市", match, hits, Evidence(3.5 if match != "none" else 0.2), 4)


@pytest.mark.parametrize(
    ("match", "label"), [("strong", "◎ 該当あり"), ("weak", "○ 関連あり"), ("none", "× 該当なし")]
)
def test_column_badge_and_passages(match, label):
    out = render.column(column(match), "Testshi")
    assert_inert(out)
    text = re.sub(r"<[^>]+>", "", out)
    assert label in text and f'rs-badge-{match}"' in out
    # its mark is hidden from screen readers, which read the names; the English name is marked English
    assert (
        f'<span aria-hidden="true">{label[0]}</span> {label[2:]} <span class="rs-en" lang="en">{match}<'
        in out
    )
    assert "テスト市" in out and "Testshi" in out
    assert out.count('class="rs-card"') == 2
    if match == "none":
        assert "該当なし — この市の資料に該当する取組は見つかりませんでした。" in out
        # an English question's 該当なし is less sure, and says to try the question in Japanese
        asked = render.column(column(match), "Testshi", english=True)
        assert "try it in Japanese too" in asked and "この市の資料に該当する取組は" not in asked
        # and shows its closest passages as a Japanese question's does (they had been left out)
        assert '<details class="rs-closest">' in asked and asked.count('class="rs-card"') == 2
        assert "件が該当" not in out
        assert '<details class="rs-closest">' in out  # the closest passages, folded away, not as answers
    else:
        assert "4 件が該当 / matching · 上位 2 件を表示 / top 2 shown" in out  # 4 match, 2 are shown
        assert "rs-closest" not in out


def test_shown_passages_that_the_count_includes_are_marked():
    hits = tuple(hit(evil_passage(id=f"doc:{i}"), rank=i + 1) for i in range(3))
    marks = (Match.STRONG, Match.NONE, Match.WEAK)
    out = render.column(Column("テスト市", Match.STRONG, hits, Evidence(3.5), 2, marks))
    assert_inert(out)
    cards = out.split('class="rs-card"')[1:]
    assert ["rs-hit-match" in c for c in cards] == [True, False, True]
    # named as the column's badge names them (a weak one had read 「○ 該当 / match」 under 「○ 関連あり」)
    named = [re.sub(r"<[^>]+>", "", c) for c in cards]
    assert "◎ 該当あり strong" in named[0] and "○ 関連あり weak" in named[2]
    assert "2 件が該当 / matching" in out and "shown" not in out  # all that match are shown


def test_column_names_the_query_words_the_city_never_writes():
    absent = ("議員定数", "<b>PPP</b>")
    out = render.column(Column("テスト市", Match.NONE, (), Evidence(0.1, absent=absent), 0))
    assert "資料にない語 / not in this city's documents: 議員定数、&lt;b&gt;PPP&lt;/b&gt;" in out
    assert_inert(out)
    quiet = render.column(
        Column("テスト市", Match.NONE, (), Evidence(0.1), 0)
    )  # no word to name: why it is ×
    assert "rs-absent" not in quiet.replace('class="rs-absent rs-held"', "") and "rs-held" in quiet
    few = render.column(Column("テスト市", Match.STRONG, (), Evidence(3.0, few=True), 0))
    assert 'class="rs-absent rs-few"' in few and "資料が少ない市のため" in few and "less certain" in few


def test_column_names_a_compound_written_only_apart():
    out = render.column(Column("テスト市", Match.WEAK, (), Evidence(2.0, apart=("ペーパーレス<化>",)), 0))
    said = "近い箇所に一続きでは書かれていない語 / written only apart in this city's nearest passages"
    assert f"{said}: ペーパーレス&lt;化&gt;" in out and 'class="rs-absent rs-apart"' in out
    assert_inert(out)
    assert "rs-apart" not in render.column(Column("テスト市", Match.WEAK, (), Evidence(2.0), 0))


@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_more_than_three_cities_lie_in_one_row_that_scrolls_sideways(n):
    columns = tuple(Column(f"テスト市{k}", Match.NONE, (), Evidence(0.0), 0) for k in range(n))
    out = render.comparison_html(Comparison("電子決裁", columns))
    many = n > render.MANY_CITIES
    assert ('class="rs-grid rs-many"' in out) is many and ('class="rs-grid"' in out) is not many
    assert (f"{n} 市町村: 横にスクロールできます / {n} cities: scroll sideways" in out) is many
    assert out.count('class="rs-col ') == n


def test_a_long_query_is_named_in_part_above_its_results():
    empty = Column("テスト市", Match.NONE, (), Evidence(0.0), 0)
    long = "<b>窓口</b>" + "デジタル化" * 300
    out = render.comparison_html(Comparison(long, (empty,)))
    heading = re.search(r'<h2 class="rs-query"[^>]*>(.*?)</h2>', out).group(1)
    assert heading.startswith("「&lt;b&gt;窓口&lt;/b&gt;デジタル化") and "…」の比較" in heading
    assert len(re.sub(r"&[a-z]+;", "_", heading)) < render.QUERY_SHOWN + 20
    assert f'data-query="{html.escape(long)}"' in out  # the whole query stays with its results
    assert_inert(out)


def test_a_comparison_says_what_its_marks_mean():
    # an English reader had found ○ explained only in the README
    col = Column("テスト市", Match.WEAK, (), Evidence(2.0), 1)
    out = render.comparison_html(Comparison("電子決裁", (col,)))
    legend = out[out.index('<details class="rs-legend">') :]
    assert "what the marks mean" in legend and "related: read the passage" in legend
    assert "nothing on it in this city&#x27;s documents" in legend and "counted as matching" in legend
    assert 'title="関連する記述があります。本文を確認してください / related: read the passage"' in out
    assert_inert(out)
    empty = Column("テスト市", Match.NONE, (), Evidence(0.0), 0)
    assert "rs-legend" not in render.comparison_html(Comparison("の", (empty,), content=False))


def test_an_english_question_offers_the_japanese_words_its_passages_matched():
    # 「try it in Japanese too」 had offered an English reader no Japanese to try
    hits = (
        hit(evil_passage(id="doc:1"), 1, ("ペーパーレス", "paperless", "化")),
        hit(evil_passage(id="doc:2"), 2, ("<b>委託</b>", "ペーパーレス")),
    )
    col = Column("テスト市", Match.WEAK, hits, Evidence(2.0), 1)
    out = render.comparison_html(Comparison("going paperless", (col,), english=True))
    assert "日本語で試す / try in Japanese: " in out
    tried = re.findall(
        r'<button type="button" class="rs-try-word" lang="ja" data-try="([^"]*)">([^<]*)</button>', out
    )
    assert tried == [("ペーパーレス",) * 2, ("&lt;b&gt;委託&lt;/b&gt;",) * 2]  # Japanese, 2+ characters, once
    assert_inert(out)
    assert "try in Japanese" not in render.comparison_html(Comparison("ペーパーレス", (col,)))


def test_a_query_without_content_words_says_why():
    empty = Column("テスト市", Match.NONE, (), Evidence(0.0), 0)
    out = render.comparison_html(Comparison("の", (empty,), content=False))
    assert "検索語に内容を表す語がない" in out and "no content word" in out
    assert "no content word" not in render.comparison_html(Comparison("電子決裁", (empty,)))


def test_an_english_query_says_its_labels_are_less_certain():
    strong = column("strong")
    out = render.comparison_html(Comparison("naming rights", (strong,), english=True))
    assert_inert(out)
    assert "英語の質問では" in out and "Labels are less certain for English questions" in out
    assert out.index("rs-why") < out.index('class="rs-grid"')
    assert "英語の質問では" not in render.comparison_html(Comparison("ネーミングライツ", (strong,)))


def test_comparison_is_a_grid_of_columns_in_order():
    result = Comparison("電子決裁", (column("strong"), Column("サンプル町", "none", (), Evidence(0.0), 0)))
    out = render.comparison_html(result, {"テスト市": "Testshi"})
    assert_inert(out)
    assert 'class="rs-grid"' in out
    assert out.index('data-city="テスト市"') < out.index('data-city="サンプル町"')
    assert "該当なし" in out
    # ranks, not raw scores: a column is in reading order (counted passages first), not score order
    assert "score" not in out and '<span class="rs-rank">1</span>' in out


@pytest.mark.parametrize(("n", "fold", "open_cards"), [(5, 3, 3), (3, 3, 3), (2, 3, 2), (5, None, 5)])
def test_column_folds_the_passages_after_the_first_few(n, fold, open_cards):
    out = render.column(column("strong", n), fold=fold)
    assert_inert(out)
    assert out.count('class="rs-card"') == n  # every passage is there, the later ones folded
    folded = out.split('<details class="rs-more">', 1)
    assert folded[0].count('class="rs-card"') == open_cards
    if n > open_cards:
        assert f"さらに {n - open_cards} 件を表示 / {n - open_cards} more" in out
    else:
        assert len(folded) == 1


def test_comparison_opens_with_every_verdict_linked_to_its_column():
    strong, none = column("strong"), replace(column("none"), city="サンプル町")
    out = render.comparison_html(Comparison("電子決裁", (strong, none)))
    parsed = assert_inert(out)
    links = [v for a, v in parsed.attrs if a == "href"]
    assert links == ["#rs-verdict-0", "#rs-verdict-1"]
    assert (
        'id="rs-verdict-0" data-city="テスト市"' in out and 'id="rs-verdict-1" data-city="サンプル町"' in out
    )
    verdicts = out.split('<nav class="rs-verdicts"', 1)[1].split("</nav>", 1)[0]
    assert "rs-badge-strong" in verdicts and "rs-badge-none" in verdicts
    assert out.index("rs-verdicts") < out.index('class="rs-grid"')
    # a verdict's link moves the focus to its column; a city's romaji name follows its own there too
    assert 'data-city="テスト市" tabindex="-1"' in out
    named = render.comparison_html(Comparison("電子決裁", (strong, none)), {"テスト市": "Tesutoshi"})
    assert (
        '<span class="rs-verdict-city">テスト市 <span class="rs-city-en" lang="en">Tesutoshi</span>' in named
    )
    # one city, or a query without a content word: no line of verdicts
    assert "rs-verdicts" not in render.comparison_html(Comparison("電子決裁", (strong,)))
    assert "rs-verdicts" not in render.comparison_html(Comparison("の", (strong, none), content=False))


def test_counterparts_panel_has_the_source_and_other_cities_without_actions():
    source = evil_passage()
    out = render.counterparts_html(Counterparts(source, (column("weak"),)))
    assert_inert(out)
    assert "他市の類似取組 / counterparts" in out
    assert 'class="rs-cp-btn"' not in out
    assert "score 1.0000" not in out  # the source is not a result
    empty = render.counterparts_html(Counterparts(source, ()))
    assert "no other city is indexed" in empty
    assert 'data-by="content"' in out and render.CP_HOW["content"] in out  # a row with a 内容 field
    long_prose = evil_passage(fields=(), text="い" * 80)
    by_profile = render.counterparts_html(Counterparts(long_prose, (column("weak"),)))
    # a passage without fields is compared as a whole, not "by each of its fields"
    assert 'data-by="profile"' in by_profile and render.CP_HOW["whole"] in by_profile
    assert render.CP_HOW["profile"] not in by_profile
    row = evil_passage(fields=(("R6取組状況", "い" * 80),), text="R6取組状況：" + "い" * 80)
    by_fields = render.counterparts_html(Counterparts(row, (column("weak"),)))
    assert 'data-by="profile"' in by_fields and render.CP_HOW["profile"] in by_fields
    short = evil_passage(text="電子決裁の<b>推進</b>", fields=())  # a list line: sought as a query
    by_query = render.counterparts_html(Counterparts(short, (column("weak"),)))
    assert_inert(by_query)
    assert 'data-by="query"' in by_query and render.CP_HOW["query"] in by_query
    # with two cities or more, every verdict in one line, each a link to its own column in the panel
    two = render.counterparts_html(
        Counterparts(source, (column("weak"), replace(column("none"), city="サンプル町")))
    )
    links = [v for a, v in assert_inert(two).attrs if a == "href"]
    assert links == ["#rs-cp-verdict-0", "#rs-cp-verdict-1"] and 'id="rs-cp-verdict-1"' in two


def test_hits_list_and_empty_result():
    out = render.hits_html(Results("電子決裁", (hit(evil_passage()),)))
    assert_inert(out)
    assert "1 件 / hits" in out and 'class="rs-city-chip"' in out
    city = evil_passage().city  # an English reader tells the cities apart by their romaji names
    named = render.hits_html(Results("電子決裁", (hit(evil_passage()),)), {city: "Tesuto"})
    assert f'rs-city-chip">{render.esc(city)} <span class="rs-en" lang="en">Tesuto</span>' in named
    cell = render.cell_html("電子決裁", column("weak"), "Testshi")
    assert "テスト市 (Testshi)</h2>" in cell and '<span class="rs-city-en" lang="en">Testshi</span>' in cell
    heading = cell.split("<h2", 1)[1].split("</h2>", 1)[0]  # × is 該当なし's mark: never "theme × city"
    assert "×" not in heading and "· 市町村 / city テスト市" in heading
    asked = render.cell_html("garbage fees", column("none"), english=True)  # less sure, and says so
    assert "less certain" in asked and "try it in Japanese too" in asked and "less certain" not in cell
    assert "no passages match" in render.hits_html(Results("<x>", ()))
    assert "<x>" not in render.hits_html(Results("<x>", ()))
    said = render.hits_html(Results("<b>の</b>", (), content=False))
    assert "no content word" in said and "<b>" not in said


def test_heatmap_has_one_cell_per_theme_and_city_colored_by_match():
    themes, cities = ("DX", f"テーマ{EVIL}"), ("テスト市", "サンプル町")
    matches = iter(("strong", "weak", "none", "strong"))
    cells = tuple(
        Cell(t, Column(c, Match(next(matches)), (), Evidence(0.0), 3)) for t in themes for c in cities
    )
    out = heatmap.heatmap_svg(Matrix(themes, cities, cells))
    parsed = assert_inert(out)
    assert out.count('class="rs-hm-cell') == 4
    assert ("data-theme", f"テーマ{EVIL}") in parsed.attrs
    for match in ("strong", "weak", "none"):
        assert f"fill:{heatmap.HEAT[match][0]}" in out
    assert "× 該当なし" in out and "◎ 3件" in out and "○ 3件" in out


@pytest.mark.parametrize("cities", [("会津若松市", "いわき市"), ("A市", "B市", "C町", "D村", "E市")])
def test_heatmap_is_as_narrow_as_its_labels_and_its_legend_follows(cities):
    # Two cities and short themes fit a phone's 400 px at full size (an SVG wider than its box is scaled
    # down, and its 14 px labels with it); the legend says what each colour means.
    themes = (*DEFAULT_THEMES, "ごみ処理の有料化", "DX")  # the defaults run to 15 characters
    cells = tuple(Cell(t, Column(c, Match.NONE, (), Evidence(0.0), 0)) for t in themes for c in cities)
    out = heatmap.heatmap_svg(Matrix(themes, cities, cells))
    width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', out).groups())
    if len(cities) == 2:
        assert width <= 400
    # never drawn smaller than 80 %: five cities scroll sideways on a phone rather than shrink to 8 px
    smallest = float(re.search(r'style="min-width:([\d.]+)px"', out).group(1))
    assert smallest == pytest.approx(width * heatmap.MIN_HEATMAP_SCALE, abs=1)
    # the legend is a line of HTML under the picture (it wraps to a phone's screen), each key's mark hidden
    # from screen readers, which read its names
    drawn, legend = out.split('<div class="rs-hm-keys">')
    assert "rs-hm-legend" not in drawn and re.search(r"height=\"(\d+)\"", drawn).group(1) == f"{height:.0f}"
    keys = re.findall(r'<span aria-hidden="true">(.)</span> (\S+) (\w+)</span>', legend)
    assert keys == [(Match(m).mark, Match(m).ja, m) for m in ("strong", "weak", "none")]
    for m in ("strong", "weak", "none"):
        assert f"background:{heatmap.HEAT[m][0]}" in legend
    # a long theme is written on two lines, neither starting with 、 or ・, and keeps its whole name
    drawn, pinned = out.split('<svg class="rs-hm-pinned"')
    lines = re.findall(r'<tspan x="[\d.]+" y="[\d.]+">([^<]+)</tspan>', drawn)
    assert "".join(lines) == "".join(themes) and len(lines) > len(themes)
    # a built-in theme's English name on a line of its own under it, for a reader of English
    english = re.findall(
        r'<tspan x="[\d.]+" y="[\d.]+" class="rs-hm-row-en" lang="en">([^<]+)</tspan>', drawn
    )
    assert english == [THEMES_EN[t] for t in themes if t in THEMES_EN] and len(english) == len(DEFAULT_THEMES)
    # the same labels, pinned over the left edge while a phone scrolls the cells sideways, at the same
    # place and scale (their width the labels' share of the heatmap's), hidden from screen readers
    assert re.findall(r'<tspan x="[\d.]+" y="[\d.]+">([^<]+)</tspan>', pinned) == lines
    assert re.findall(r'class="rs-hm-row-en" lang="en">([^<]+)</tspan>', pinned) == english
    label_w = float(re.search(r'viewBox="0 0 ([\d.]+) ', pinned).group(1))
    share = float(re.search(r'style="width:([\d.]+)%"', pinned).group(1))
    assert share == pytest.approx(100 * label_w / width, abs=0.01) and 'aria-hidden="true"' in pinned
    assert not any(line[0] in "・、。" for line in lines)
    # between words where the label has room (行政手続のオ|ンライン化 had cut a word in two)
    assert heatmap._label_lines("行政手続のオンライン化", 14) == ["行政手続の", "オンライン化"]
    assert heatmap._label_lines("AI・RPAによる業務効率化", 14) == ["AI・RPAによる", "業務効率化"]
    assert heatmap._label_lines("働き方改革と業務の見直し", 14) == ["働き方改革と", "業務の見直し"]
    # one too long for two lines ends its first between words too (it had been 「Administrative p」)
    long_english = heatmap._label_lines("Administrative procedures moved online for residents", 14)
    assert long_english[0] == "Administrative "
    assert all(f"<title>{themed(t)}</title>" in out for t in themes)  # built-in ones in English too


def test_heatmap_names_each_city_in_romaji_under_its_head():
    # Search cards, verdicts and the cell's heading name a city in romaji too; the matrix's heads had not
    themes, cities = ("DX",), ("会津若松市", "いわき市", "テスト町")
    cells = tuple(Cell(t, Column(c, Match.NONE, (), Evidence(0.0), 0)) for t in themes for c in cities)
    long_name = "Aizuwakamatsu-Kitakata"
    out = heatmap.heatmap_svg(
        Matrix(themes, cities, cells), {"会津若松市": long_name, "いわき市": f"Iwaki{EVIL}"}
    )
    assert_inert(out)
    heads = re.findall(
        r'<text x="([\d.]+)" y="39" class="rs-hm-col-en" text-anchor="middle" lang="en">(.*?)</text>', out
    )
    assert len(heads) == 2 and heads[0][1] == long_name  # テスト町 has none
    assert heads[1][1].startswith(render.esc("Iwaki<script>"))  # escaped (and cut: EVIL is long)
    # each romaji name fits its column, and sits under its city's head
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', out).group(1))
    cols = re.findall(r'<text x="([\d.]+)" y="22" class="rs-hm-col"', out)
    assert [x for x, _ in heads] == cols[:2]
    cell_w = (width - float(cols[0])) / 2.5
    assert heatmap._text_width(long_name, 11) <= cell_w
    # one wider than the widest column is cut, not drawn over its neighbour
    huge = heatmap.heatmap_svg(Matrix(themes, cities, cells), {"会津若松市": "Aizuwakamatsu" * 5})
    cut = re.search(r'class="rs-hm-col-en"[^>]*>([^<]+)</text>', huge).group(1)
    assert cut.endswith("…") and ("Aizuwakamatsu" * 5).startswith(cut[:-1])
    assert heatmap._text_width(cut, 11) <= 220
    # without romaji names the heads stay one line high
    plain = heatmap.heatmap_svg(Matrix(themes, cities, cells))
    assert "rs-hm-col-en" not in plain
    assert float(re.search(r'viewBox="0 0 [\d.]+ ([\d.]+)"', plain).group(1)) < float(
        re.search(r'viewBox="0 0 [\d.]+ ([\d.]+)"', out).group(1)
    )


def test_a_theme_too_long_for_three_lines_is_cut_and_keeps_the_matrix_narrow():
    # One long line typed as a theme had widened the matrix until the browser scaled every label down
    themes = ("DX推進", "窓口" * 100)
    cities = ("会津若松市", "いわき市")
    cells = tuple(Cell(t, Column(c, Match.NONE, (), Evidence(0.0), 0)) for t in themes for c in cities)
    out = heatmap.heatmap_svg(Matrix(themes, cities, cells))
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', out).group(1))
    assert width <= 400
    drawn = out.split('<svg class="rs-hm-pinned"')[0]  # (its labels pinned again after it)
    lines = re.findall(r'<tspan x="[\d.]+" y="[\d.]+">([^<]+)</tspan>', drawn)
    assert lines[0] == "DX推進" and len(lines) == 1 + heatmap.LABEL_LINES and lines[-1].endswith("…")
    assert all(heatmap._text_width(line, 14) <= heatmap.LABEL_WIDTH for line in lines)
    assert ("窓口" * 100).startswith("".join(lines[1:])[:-1])
    # a theme of three lines is written whole, its rows taller (「窓口のデジタル化（書かない窓口・オンライン
    # 申請）」 had been cut after two), a line ending before a bracket rather than inside a word
    assert heatmap._label_lines("窓口のデジタル化（書かない窓口・オンライン申請）", 14) == [
        "窓口のデジタル化",
        "（書かない窓口・",
        "オンライン申請）",
    ]
    # nor does one of three lines open with ー or a small kana (「…ファシリティ／ーマネージャー」)
    for line in heatmap._label_lines("公共施設マネジメントにおけるファシリティーマネージャーの育成", 14):
        assert line[0] not in heatmap._NO_LINE_START
    for line in heatmap._label_lines("職員の働き方改革（テレワーク・フレックス）？の推進と検証について", 14):
        assert line[-1] not in heatmap._OPENING  # nor end with （
    theme = "窓口のデジタル化（書かない窓口・オンライン申請）"
    tall_cells = tuple(Cell(theme, Column(c, Match.NONE, (), Evidence(0.0), 0)) for c in cities)
    tall = heatmap.heatmap_svg(Matrix((theme,), cities, tall_cells))
    cell = re.search(r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" rx="5"', tall)
    assert float(cell.group(2)) >= heatmap.LABEL_LINES * heatmap.LABEL_LINE_H
    assert f"<title>{'窓口' * 100}</title>" in out  # whole in its tooltip


def test_documents_table_escapes():
    out = render.documents_html([IndexedDocument(id="d", city=EVIL, title="t", passages=3, source="a.txt")])
    assert_inert(out)
    assert "<td" in out and "&lt;script&gt;" in out
    assert "no documents" in render.documents_html([])


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        ("progress-report", "進捗報告 / progress report"),
        ("Brochure", "広報冊子 / brochure"),
        ("白書", "白書"),
    ],
)
def test_documents_table_names_known_kinds_in_both_languages(kind, shown):
    out = render.documents_html([IndexedDocument(id="d", city="市", title="t", passages=1, kind=kind)])
    assert f'<td class="rs-td-kind">{shown}</td>' in out


def test_parse_themes():
    assert ui.parse_themes(" DX \n\n窓口\nDX\n") == ["DX", "窓口"]
    assert ui.parse_themes("") == list(DEFAULT_THEMES)
    with pytest.raises(ValueError, match="limit"):
        ui.parse_themes("\n".join(f"t{i}" for i in range(MAX_THEMES + 1)))


def test_auth_setting():
    assert ui.parse_auth("") is None
    assert ui.parse_auth("ann:se:cret") == ("ann", "se:cret")
    for bad in ("ann", ":x", "ann:"):
        with pytest.raises(ValueError, match="user:password"):
            ui.parse_auth(bad)


def test_python_ui_py_takes_the_options_of_serve(tmp_path):
    # `python ui.py --port 7893` had served on 7860, the option silently unread
    import subprocess
    import sys

    ran = [sys.executable, str(Path(ui.__file__)), "--port", "7893", "--auth", "nocolon"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "REFORM_SEARCH_INDEX_DIR": str(tmp_path / "never")}
    run = subprocess.run(ran, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2 and "user:password" in run.stderr  # read, and refused before indexing
    assert not (tmp_path / "never").exists()
    helped = subprocess.run(
        [sys.executable, ran[1], "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert helped.returncode == 0 and "--port" in helped.stdout and "serve" in helped.stdout


def test_serve_refuses_a_malformed_auth_before_indexing(tmp_path):
    with pytest.raises(ValueError, match="user:password"):
        ui.serve(Settings().override(auth="nocolon", index_dir=tmp_path / "never"))
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("setting", ["on", "off"])
def test_serve_maps_model_and_dictionary_before_launch_unless_told_not_to(
    setting, searcher, shared_index, monkeypatch, capsys
):
    events = []
    monkeypatch.setattr(server, "index_all", lambda settings, progress: events.append("index") or Report())
    monkeypatch.setattr(server, "open_searcher", lambda settings: events.append("open") or searcher)
    monkeypatch.setattr(server, "prefault", lambda: events.append("prefault") or 3 * 10**8)
    monkeypatch.setattr(server, "launch", lambda app, settings, **kw: events.append(("launch", app)))
    ui.serve(Settings().override(index_dir=shared_index.index_dir, prefault=setting))
    assert events[:2] == ["index", "open"] and events[-1][0] == "launch"
    assert isinstance(events[-1][1], gr.Blocks)
    if setting == "on":
        assert events[2] == "prefault" and "mapped into memory: 300 MB" in capsys.readouterr().err
    else:
        assert "prefault" not in events


class Report:
    changed, documents, passages = False, 2, 10


def test_launch_options_follow_settings():
    options = ui.launch_options(Settings().override(port=8123, auth="a:b", max_upload_mb=3))
    assert options["server_name"] == "127.0.0.1" and options["server_port"] == 8123
    assert options["auth"] == ("a", "b") and options["share"] is False
    assert options["max_file_size"] == "3mb"


def test_css_and_js_come_from_the_package_data():
    assert ui.launch_options(Settings())["css"] == ui.CSS and ".rs-card {" in ui.CSS
    assert set(ui.JS) == {"counterparts", "pick_cell", "history", "page"}
    assert "trigger('counterparts'" in ui.JS["counterparts"] and "trigger('pick_cell'" in ui.JS["pick_cell"]
    assert "trigger('restore'" in ui.JS["history"]
    assert "document.documentElement" in ui.JS["page"]  # the page script, handed to launch(head=...)
    assert not ui.JS["pick_cell"].startswith("//")  # the section's comment is not passed on


# ---------------------------------------------------------------- the app over the fixture index


def settings_for(built) -> Settings:
    return Settings().override(index_dir=built.index_dir, cache_dir=built.cache_dir, corpus=built.corpus)


def handlers_for(built, embedder=None) -> ui.Handlers:
    searcher = Searcher(load_index(built.index_dir), embedder or FakeEmbedder(32))
    return ui.Handlers(ui.AppState(settings_for(built), searcher))


def test_build_app_has_the_tabs_and_the_named_endpoints(shared_index, searcher):
    app = ui.build_app(settings_for(shared_index), searcher)
    assert isinstance(app, gr.Blocks)
    assert app.reform_state.searcher is searcher
    public = {fn.api_name for fn in app.fns.values() if fn.api_visibility == "public"}
    assert public == {"search", "compare", "similar", "themes"}
    labels = {b.label for b in app.blocks.values() if isinstance(b, gr.Tab)}
    assert labels == {"比較 / Compare", "検索 / Search", "テーマ / Themes", "資料 / Corpus"}
    # each handler that refreshes the pickers is wired to as many outputs as it gives: a picker added to
    # the page but not to the count had failed only when a document was added in a browser
    wired = {getattr(fn.fn, "__qualname__", ""): len(fn.outputs) for fn in app.fns.values()}
    assert wired["Handlers.on_load"] == ui.REFRESHED
    assert wired["Handlers.on_add"] == ui.REFRESHED + 1 and wired["Handlers.on_remove"] == ui.REFRESHED + 2


def test_compare_and_counterparts_handlers(shared_index):
    h = handlers_for(shared_index)
    out, panel, csv_file, xlsx_file, md_file = h.on_compare("電子決裁", ["テスト市", "サンプル町"], 2)
    # the comparison downloads as CSV (Excel-ready) and Markdown, written to fresh files
    assert Path(csv_file["value"]).read_text(encoding="utf-8").startswith("\ufeffquery,match,")
    assert Path(md_file["value"]).read_text(encoding="utf-8").startswith("# 「電子決裁」の比較")
    assert csv_file["interactive"] and md_file["interactive"] and xlsx_file["value"].endswith(".xlsx")
    # named by what was compared (several saved comparisons are told apart), never a path from the query
    assert Path(csv_file["value"]).name.startswith("reform-search-compare-電子決裁-")
    hostile = h.on_compare("../<x>/電子決裁 ..\\", ["テスト市", "サンプル町"], 2)[2]
    named = Path(hostile["value"])
    assert named.parent == h.state.downloads and named.name.startswith("reform-search-compare-電子決裁-")
    # the query's markup is left out, as it is when it is ranked
    assert ui_state.slug("../<b>x</b>/ごみ 有料化") == "x_ごみ_有料化" and ui_state.slug("<script>") == ""
    assert panel == ""
    assert_inert(out)
    assert 'data-city="テスト市"' in out and 'data-city="サンプル町"' in out
    first = h.state.searcher.search("電子決裁", 1, "hybrid", h.state.searcher.mask(["テスト市"]))[0].passage
    panel = h.counterparts_of(first.id, ["テスト市", "サンプル町"])
    assert 'data-city="サンプル町"' in panel and 'data-city="テスト市"' not in panel.split("rs-grid")[1]
    # asked without a city or a question: a hint in place of the results, nothing raised (an error had
    # left the last comparison on screen), and the downloads emptied (they had saved that comparison)
    for query, cities, hint in (
        ("電子決裁", [], "Choose at least one city"),
        ("   ", ["テスト市"], "Type what"),
    ):
        out, panel, *files = h.on_compare(query, cities, 2)
        assert hint in out and "rs-grid" not in out and panel == ""
        assert all(f["value"] is None and f["interactive"] is False for f in files)
    out, panel, *_ = h.on_search("", ["テスト市"], [], [], "hybrid", 5)
    assert "検索語を入力してください" in out and panel == ""
    out, panel, *files = h.on_compare("の", ["テスト市"], 2)  # no content word: said, nothing to save
    assert "no content word" in out and all(f["value"] is None and not f["interactive"] for f in files)
    out, panel, *_ = h.on_search("電子決裁", [], [], [], "hybrid", 5)
    assert "Choose at least one city" in out and panel == ""


def test_search_handler_filters(shared_index):
    h = handlers_for(shared_index)
    out, *_ = h.on_search("テレワーク", ["サンプル町"], [], [], "lexical", 5)
    assert "サンプル町" in out and "テスト市</span>" not in out
    out, *_ = h.on_search("テレワーク", ["テスト市", "サンプル町"], ["testshi-memo"], [2024], "hybrid", 5)
    assert 'rs-city-chip">テスト市' in out and 'rs-city-chip">サンプル町' not in out
    with pytest.raises(gr.Error, match="unknown mode"):
        h.on_search("テレワーク", ["テスト市"], [], [], "fuzzy", 5)
    # a document of one city with only the other city ticked: the filters exclude each other, said so
    out, *_ = h.on_search("テレワーク", ["サンプル町"], ["testshi-memo"], [], "hybrid", 5)
    assert "No passage is in the chosen cities, documents and years at once" in out
    # the hits download as the comparison does (they had no download at all), and nothing when none
    out, _, *files = h.on_search("テレワーク", ["テスト市", "サンプル町"], [], [], "lexical", 3)
    assert all(f["interactive"] for f in files) and len(files) == len(DOWNLOADS)
    csv_file = Path(next(f["value"] for f in files if f["value"].endswith(".csv")))
    assert csv_file.name.startswith("reform-search-search-テレワーク-")
    rows = csv_file.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("query,rank,score,city") and len(rows) == 1 + out.count("<article")
    for nothing in (("の", ["テスト市"]), ("テレワーク", ["サンプル町"], ["testshi-memo"])):
        query, cities, *docs = nothing
        _, _, *files = h.on_search(query, cities, docs[0] if docs else [], [], "hybrid", 5)
        assert not any(f["interactive"] for f in files), nothing


def test_a_download_pruned_by_another_request_meanwhile_is_passed_over(shared_index, monkeypatch):
    # two requests pruning at once: the file one lists, the other has deleted (FileNotFoundError had
    # failed the request with a generic error)
    h = handlers_for(shared_index)
    gone = h.state.downloads / "reform-search-compare-old.csv"
    gone.write_text("x", encoding="utf-8")
    real_glob = Path.glob

    def glob(self, pattern):
        found = list(real_glob(self, pattern))
        gone.unlink(missing_ok=True)  # the other request's prune, between listing and reading
        return iter(found)

    monkeypatch.setattr(Path, "glob", glob)
    path = h.state.export_path("csv", "compare", "電子決裁")
    assert path.parent == h.state.downloads and path.name.startswith("reform-search-compare-電子決裁-")


@pytest.mark.parametrize("top_k", [0, 11, 10**9, 2.5, "x"])
def test_a_crafted_count_is_refused_as_the_slider_would(shared_index, top_k):
    # the sliders stop at 10 and 50, but a queue call can send anything: 10**9 passages per city
    h = handlers_for(shared_index)
    with pytest.raises(gr.Error, match="件数"):
        h.on_compare("電子決裁", ["テスト市", "サンプル町"], top_k)
    if top_k != 11:
        with pytest.raises(gr.Error, match="件数"):
            h.on_search("電子決裁", ["テスト市"], [], [], "hybrid", top_k)
    assert "rs-col" in h.on_compare("電子決裁", ["テスト市", "サンプル町"], 10)[0]


def test_themes_handler_writes_safe_downloads(shared_index):
    h = handlers_for(shared_index)
    too_many = "\n".join(f"t{i}" for i in range(MAX_THEMES + 1))  # a refusal the page shows as such
    for built in (
        lambda: h.on_themes(too_many, ["テスト市"]),
        lambda: h.on_themes_edited(too_many, ["テスト市"], ""),
    ):
        with pytest.raises(gr.Error, match="limit"):
            built()
    heatmap, themes, cities, csv, book, md, cell, built = h.on_themes(
        "電子決裁\nテレワーク", ["テスト市", "サンプル町"]
    )
    assert heatmap.count('class="rs-hm-cell') == 4 and cell == "" and built == "電子決裁\nテレワーク"
    assert themes["choices"] == [("電子決裁", "電子決裁"), ("テレワーク", "テレワーク")]
    # the cell's city picker names the cities as the page did, in romaji too (it had dropped it)
    assert cities["choices"] == ui_state.city_choices(h.state) and "Samplecho" in str(cities["choices"])
    # the box left without an edit keeps the matrix and an opened cell; an edit builds it again
    left = h.on_themes_edited(built, ["テスト市", "サンプル町"], built)
    assert len(left) == 8 and all(isinstance(x, type(gr.skip())) for x in left)
    assert h.on_themes_edited("電子決裁", ["テスト市"], built)[0].count('class="rs-hm-cell') == 1
    csv_path, md_path = Path(csv["value"]), Path(md["value"])
    assert csv_path.parent == h.state.downloads == md_path.parent
    assert csv_path.name.startswith("reform-search-themes-") and csv_path.suffix == ".csv"
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    assert "| テーマ / theme |" in md_path.read_text(encoding="utf-8")
    assert Path(book["value"]).suffix == ".xlsx" and Path(book["value"]).read_bytes()[:2] == b"PK"
    out = h.on_cell("電子決裁", "テスト市")
    assert "Choose a theme and a city" in h.on_cell("", "テスト市")  # said in place, not raised
    assert 'data-city="テスト市"' in out and "電子決裁" in out
    heatmap, *_ = h.on_themes("  ", ["テスト市", "サンプル町"])  # nothing typed: said, the built-in ones
    assert "No themes typed: the built-in ones were used" in heatmap
    assert heatmap.count('class="rs-hm-cell') > 4
    assert "No themes typed" not in h.on_themes("電子決裁", ["テスト市"])[0]
    heatmap, *_, csv, book, md, cell, built = h.on_themes("電子決裁", [])
    assert "Choose at least one city" in heatmap and "rs-hm-cell" not in heatmap and cell == ""
    assert all(f["value"] is None and not f["interactive"] for f in (csv, book, md))


def test_html_in_documents_reaches_the_page_as_text(html_index):
    h = handlers_for(html_index)
    out, *_ = h.on_search("電子決裁 テレワーク", ["テスト市", "サンプル町"], [], [], "lexical", 20)
    parsed = assert_inert(out)
    text = "".join(parsed.text)
    for literal in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "${1+1}", "{{value}}"):
        assert literal in HTML_ITEMS and literal in text
    out, *_ = h.on_compare("電子決裁", ["テスト市", "サンプル町"], 10)
    assert_inert(out)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


# ---------------------------------------------------------------- uploads


def library_state(built) -> tuple:
    manifest = (
        (built.index_dir / "library" / "library.toml").read_bytes()
        if (built.index_dir / "library" / "library.toml").exists()
        else None
    )
    return read_manifest(built.index_dir)["documents"], manifest


def refusal(out: tuple) -> str:
    """The message of a refused corpus change: in the message area, every other output left alone."""
    assert out[0].startswith(ui.ERROR_PREFIX), out[0]
    assert all(isinstance(x, type(gr.skip())) for x in out[1:])
    return out[0]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("report.exe", b"MZ\x90\x00 not a report", r"追加できません.* / .*\.exe"),
        ("big.txt", "改革".encode() * 400_000, r"上限の 1 MB を超えます.* / .*is 2\.3 MB; the limit is 1 MB"),
        ("empty.txt", b"", "は空です / .*empty"),
        ("blank.txt", b"   \n\n", "は空です / .*empty"),
        ("binary.txt", b"\x00\x01\x02binary\x00" * 100, "ではないデータのようです.* / .*binary"),
    ],
)
def test_refused_uploads_leave_the_index_as_it_was(built_index, tmp_path, name, data, message):
    # Japanese first, then English: the form is a planner's, Japanese-first
    h = handlers_for(built_index)
    h.state.settings = h.settings = h.settings.override(max_upload_mb=1)
    before, searcher = library_state(built_index), h.state.searcher
    path = tmp_path / name
    path.write_bytes(data)
    refused = refusal(h.on_add(str(path), "郡山市", "", "改革プラン", "2024", ""))
    assert re.search(message, refused) and "\n" not in refused
    assert library_state(built_index) == before
    assert h.state.searcher is searcher


def test_upload_needs_a_file_a_city_and_a_title(built_index, tmp_path):
    h = handlers_for(built_index)
    before = library_state(built_index)
    path = tmp_path / "plan.txt"
    path.write_text("郡山市の改革。\n\n・電子決裁を始める\n", encoding="utf-8")
    assert "choose a file" in refusal(h.on_add(None, "郡山市", "", "改革プラン", "", ""))
    assert "市町村を入力してください / plan.txt: give the document's city" in refusal(
        h.on_add(str(path), "  ", "", "改革プラン", "", "")
    )
    assert "資料名を入力" in refusal(h.on_add(str(path), "郡山市", "", "", "", ""))
    assert "年度「someday」を読み取れません" in refusal(
        h.on_add(str(path), "郡山市", "", "改革プラン", "someday", "")
    )
    assert library_state(built_index) == before


def test_upload_then_remove_swaps_the_searcher(built_index, tmp_path):
    h = handlers_for(built_index)
    old = h.state.searcher
    path = tmp_path / "koriyama plan.txt"
    path.write_text("郡山市の架空の改革。\n\n・ペーパーレス会議を全庁で始める\n", encoding="utf-8")
    out = h.on_add(str(path), "郡山市", "Koriyama", "郡山市 架空の計画", "R6", "")
    assert len(out) == ui.REFRESHED + 1 and out[-1] is None  # the file input is cleared
    message, table, status = out[:3]
    assert "郡山市" in message and "郡山市" in table and "3 市町村" in status
    # the document's own passages, then the index's (a total alone had read as the file's)
    added = re.search(
        r"added 郡山市「郡山市 架空の計画」 \(`doc-[0-9a-f]+`\): (\d+) 箇所 / passages（索引全体", message
    )
    assert added and int(added.group(1)) == sum(p.city == "郡山市" for p in h.state.searcher.passages)
    assert "追加しました / added" in message
    # the same file under another title replaces it, and says so (it had said 追加しました / added)
    again = h.on_add(str(path), "郡山市", "Koriyama", "郡山市 架空の計画（改題）", "R6", "")[0]
    assert again.startswith("置き換えました / replaced 郡山市「郡山市 架空の計画（改題）」")
    assert sum(d.city == "郡山市" for d in indexed_documents(h.settings)) == 1
    assert h.state.searcher is not old and "郡山市" in h.state.searcher.cities
    assert "郡山市" not in old.cities  # a search that held the old Searcher still sees the old index
    # What was compared or searched before is asked again, not shown or saved: it lacked the new city
    compared, cards, *saved = out[3 : 5 + len(DOWNLOADS)]
    searched, found = out[5 + len(DOWNLOADS) : 7 + len(DOWNLOADS)]
    assert compared == searched == CHANGED and cards == found == ""
    assert all(not b["interactive"] and b["value"] is None for b in saved)
    doc = next(d for d in indexed_documents(h.settings) if d.city == "郡山市")
    assert doc.fiscal_year == 2024
    out, *_ = h.on_compare("ペーパーレス会議", ["郡山市", "テスト市"], 1)
    assert 'data-city="郡山市"' in out
    koriyama = next(p.id for p in h.state.searcher.passages if p.city == "郡山市")

    message, pending, question, shown = h.on_remove_ask(doc.id)  # the server holds what would go
    assert message == "" and pending["id"] == doc.id and "郡山市" in question and shown["visible"]
    assert h.on_remove_cancel() == (None, gr.update(visible=False))
    assert "郡山市" in h.state.searcher.cities
    out = h.on_remove(pending)
    assert len(out) == ui.REFRESHED + 2 and out[-2] is None
    assert out[0].startswith("削除しました / removed 郡山市「郡山市 架空の計画（改題）」")  # named, not an id
    assert out[3] == CHANGED  # the comparison that showed 郡山市 is gone from the screen
    assert "郡山市" not in h.state.searcher.cities
    # a card of the removed document still on another tab's screen: its counterparts are said to be gone
    assert h.counterparts_of(koriyama) == GONE
    assert "unknown document" in refusal(h.on_remove_ask("no-such-doc"))


def test_two_documents_of_one_title_are_told_apart_by_their_files(built_index, tmp_path):
    # two uploads under one city and title had been two identical entries in the pickers, and the
    # removal's question named neither file nor id
    h = handlers_for(built_index)
    for name, line in (("plan a.txt", "電子決裁を始める"), ("plan b.txt", "窓口を見直す")):
        path = tmp_path / name
        path.write_text(f"郡山市の架空の改革。\n\n・{line}\n", encoding="utf-8")
        assert "追加しました" in h.on_add(str(path), "郡山市", "", "架空の計画", "", "")[0]
    named = {label: doc_id for label, doc_id in ui_state.doc_choices(h.state) if label.startswith("郡山市")}
    assert len(named) == 2
    for label, doc_id in named.items():
        assert label.startswith("郡山市「架空の計画」 · plan ") and label.endswith(f" · id {doc_id}")
        question = h.on_remove_ask(doc_id)[2]
        assert f"plan {'a' if 'plan a' in label else 'b'}.txt · id {doc_id}" in question
    others = [label for label, _ in ui_state.doc_choices(h.state) if not label.startswith("郡山市")]
    assert others and all(" · " not in label for label in others)  # a title of its own is named alone


def test_a_removal_needs_the_servers_own_first_step(built_index, monkeypatch):
    h = handlers_for(built_index)
    before = [d.id for d in indexed_documents(h.settings)]
    for forged in (None, {}, {"id": "samplecho-memo"}, {"id": "samplecho-memo", "until": 0}):
        assert "press Remove again" in refusal(h.on_remove(forged))  # not asked, or asked too long ago
    _, pending, *_ = h.on_remove_ask("samplecho-memo")
    monkeypatch.setattr(handlers.time, "monotonic", lambda: pending["until"] + 1)
    assert "press Remove again" in refusal(h.on_remove(pending))
    assert [d.id for d in indexed_documents(h.settings)] == before


def test_read_only_refuses_every_change_and_wires_none(built_index, tmp_path):
    settings = settings_for(built_index).override(read_only="on")
    searcher = Searcher(load_index(built_index.index_dir), FakeEmbedder(32))
    h = ui.Handlers(ui.AppState(settings, searcher))
    path = tmp_path / "memo.txt"
    path.write_text("架空の改革メモ（テスト用）。\n\n・会議を減らす\n", encoding="utf-8")
    assert "read-only" in refusal(h.on_add(str(path), "郡山市", "", "郡山市 架空の計画", "", ""))
    assert "read-only" in refusal(h.on_remove_ask("samplecho-memo"))
    assert "read-only" in refusal(h.on_remove({"id": "samplecho-memo", "until": float("inf")}))
    app = ui.build_app(settings, searcher)
    wired = {fn.name for fn in app.fns.values()}
    assert not wired & {"on_add", "on_remove", "on_remove_ask"}
    assert {"on_compare", "on_search"} <= wired
    writable = ui.build_app(settings_for(built_index), searcher)
    assert {"on_add", "on_remove", "on_remove_ask"} <= {fn.name for fn in writable.fns.values()}


@pytest.mark.parametrize(
    ("host", "auth", "read_only", "refused"),
    [
        ("0.0.0.0", "", "off", True),
        ("192.168.1.5", "", "off", True),
        ("0.0.0.0", "", "on", False),
        ("0.0.0.0", "planner:pw", "off", False),
        ("127.0.0.1", "", "off", False),
        ("localhost", "", "off", False),
    ],
)
def test_a_network_host_without_auth_must_be_read_only(host, auth, read_only, refused):
    settings = Settings().override(host=host, auth=auth or None, read_only=read_only)
    if refused:
        with pytest.raises(ValueError, match="without --auth would let anyone"):
            ui.check_exposure(settings)
    else:
        ui.check_exposure(settings)


class BlockingEmbedder(FakeEmbedder):
    """The fake embedder, stopping inside embed_passages until released (an indexing run in progress)."""

    def __init__(self) -> None:
        super().__init__(32)
        self.inside = threading.Event()
        self.release = threading.Event()

    def embed_passages(self, texts):
        self.inside.set()
        assert self.release.wait(30), "never released"
        return super().embed_passages(texts)


def test_searches_answer_while_an_upload_is_indexing(built_index, tmp_path):
    embedder = BlockingEmbedder()
    h = handlers_for(built_index, embedder)
    path = tmp_path / "plan.txt"
    path.write_text("郡山市の架空の改革。\n\n・窓口のオンライン予約を始める\n", encoding="utf-8")
    errors: list[BaseException] = []

    def upload():
        try:
            h.on_add(str(path), "郡山市", "", "郡山市 架空の計画", "", "")
        except BaseException as e:
            errors.append(e)

    worker = threading.Thread(target=upload)
    worker.start()
    try:
        assert embedder.inside.wait(30)
        assert h.state.lock.locked()
        started = time.monotonic()
        out, *_ = h.on_search("テレワーク", ["テスト市", "サンプル町"], [], [], "lexical", 5)
        compared, *_ = h.on_compare("テレワーク", ["テスト市", "サンプル町"], 2)
        assert time.monotonic() - started < 5
        assert "テレワーク" in out and 'data-city="サンプル町"' in compared
        assert "郡山市" not in h.state.searcher.cities
        _, pending, *_ = h.on_remove_ask("samplecho-memo")
        assert "being updated" in refusal(h.on_remove(pending))
    finally:
        embedder.release.set()
        worker.join(60)
    assert not errors
    assert "郡山市" in h.state.searcher.cities
    assert not h.state.lock.locked()


def test_compare_matches_the_library(shared_index, searcher):
    h = ui.Handlers(ui.AppState(settings_for(shared_index), searcher))
    out, *_ = h.on_compare("電子決裁", ["テスト市", "サンプル町"], 3)
    expected = compare(searcher, "電子決裁", None, 3)
    for col in expected.columns:
        assert f'data-city="{col.city}"' in out
        assert f"rs-badge-{col.match}" in out
        for x in col.hits:
            assert f'data-passage-id="{render.esc(x.passage.id)}"' in out


# ---------------------------------------------------------------- index changes made outside the app


def add_outside(built, name: str = "koriyama.txt") -> None:
    """What `reform-search add` in a terminal does while the UI runs: a new live index generation."""
    add_document(
        settings_for(built),
        "郡山市の架空の改革。\n\n・ペーパーレス会議を全庁で始める\n".encode(),
        name,
        embedder=FakeEmbedder(32),
        city="郡山市",
        title="郡山市 架空の計画",
    )


def test_a_request_reloads_an_index_changed_outside_the_app(built_index):
    h = handlers_for(built_index)
    old = h.state.searcher
    assert all(isinstance(x, type(gr.skip())) for x in h.on_load())
    add_outside(built_index)
    assert h.state.searcher is old  # nothing is reloaded until a request comes
    out, *_ = h.on_compare("ペーパーレス会議", ["郡山市", "テスト市"], 1)
    assert 'data-city="郡山市"' in out
    assert h.state.searcher is not old and "郡山市" in h.state.searcher.cities
    assert h.state.searcher.index.path == current_generation(built_index.index_dir)
    refreshed = h.on_load()  # a page opened now gets the new city in its pickers
    assert len(refreshed) == ui.REFRESHED and "郡山市" in refreshed[1] and "3 市町村" in refreshed[2]
    # it asked nothing before: its first hints stay (no "the documents changed: ask again")
    assert all(isinstance(x, type(gr.skip())) for x in refreshed[3 : 7 + len(DOWNLOADS)])
    assert ("郡山市", "郡山市") in refreshed[7 + 2 * len(DOWNLOADS)]["choices"]  # compare's cities


def test_many_requests_that_notice_a_change_reload_once(built_index):
    h = handlers_for(built_index)
    reloads = []
    reload = h.state.reload

    def slow_reload():
        reloads.append(threading.current_thread().name)
        time.sleep(0.3)  # long enough for every request to notice the change while it runs
        reload()

    h.state.reload = slow_reload
    add_outside(built_index)
    start = threading.Barrier(8)
    results, errors = [], []

    def search():
        start.wait(10)
        try:
            results.append(h.on_search("テレワーク", ["テスト市", "サンプル町"], [], [], "lexical", 5)[0])
        except BaseException as e:
            errors.append(e)

    workers = [threading.Thread(target=search) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert not errors and len(results) == 8 and all("テレワーク" in r for r in results)
    assert len(reloads) == 1
    assert "郡山市" in h.state.searcher.cities
    h.on_search("テレワーク", ["テスト市"], [], [], "lexical", 5)
    assert len(reloads) == 1  # loaded now: no more reloads


def test_no_reload_while_the_app_is_indexing(built_index):
    h = handlers_for(built_index)
    old = h.state.searcher
    add_outside(built_index)
    with h.state.indexing():  # an upload in the app holds the lock and reloads when it is done
        out, *_ = h.on_search("テレワーク", ["テスト市", "サンプル町"], [], [], "lexical", 5)
        assert "テレワーク" in out and h.state.searcher is old
    h.on_search("テレワーク", ["テスト市", "サンプル町"], [], [], "lexical", 5)
    assert h.state.searcher is not old and "郡山市" in h.state.searcher.cities


def test_search_results_show_ranks_not_scores_of_different_scales():
    hits = [hit(evil_passage(id=f"doc:{i}"), rank=i + 1) for i in range(3)]
    out = render.hits_html(Results("電子決裁", tuple(hits)))
    assert_inert(out)
    assert "score" not in out and "by rank" in out
    assert [f'<span class="rs-rank">{n}</span>' in out for n in (1, 2, 3)] == [True, True, True]


def test_a_document_s_title_is_shown_as_written_not_as_markdown(built_index, tmp_path):
    # a title's ![t](http://…) had been an image the browser fetched, in the corpus messages (Markdown)
    h = handlers_for(built_index)
    path = tmp_path / "memo.txt"
    path.write_text("郡山市の架空の改革。\n\n・電子決裁を始める\n", encoding="utf-8")
    title = "MD ![t](http://127.0.0.1:9/p.png) [c](http://127.0.0.1:9/l) **b** <i>x</i>"
    added = h.on_add(str(path), "郡山市", "", title, "", "")[0]
    assert "変更なし / unchanged" in h.on_add(str(path), "郡山市", "", title, "", "")[0]  # as it was
    assert "置き換えました / replaced" in h.on_add(str(path), "郡山市", "", title + "2", "", "")[0]
    doc_id = next(d for label, d in ui_state.doc_choices(h.state) if label.startswith("郡山市"))
    question = h.on_remove_ask(doc_id)[2]
    for said in (added, question):
        assert "](" not in said and "![" not in said and "**b**" not in said and "<i>" not in said, said
        rendered = MarkdownIt().render(said)  # as a Markdown renderer shows it: text, no image, no link
        assert "<img" not in rendered and "<a " not in rendered and "<strong>b</strong>" not in rendered
        assert "![t](http://127.0.0.1:9/p.png)" in rendered


@pytest.mark.model
def test_the_downloads_folder_goes_when_the_server_is_stopped(real_index, tmp_path):
    # each server start had left a /tmp/reform-search-ui-* folder behind, with its exports; and one
    # stopped by kill, systemd or docker (SIGTERM) ran no exit handler
    import signal
    import socket
    import subprocess
    import sys

    env = real_index.env() | {
        "TMPDIR": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    args = [
        sys.executable,
        "-m",
        "reform_search.cli",
        "serve",
        "--port",
        port,
        "--prefault",
        "off",
        "--mcp",
        "off",
    ]
    server = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for line in server.stderr:
            if "reform-search UI:" in line:
                break
        assert list(tmp_path.glob("reform-search-ui-*")), "the server keeps its downloads in TMPDIR"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        server.kill()
    assert not list(tmp_path.glob("reform-search-ui-*"))


def test_a_none_whose_words_the_city_all_writes_says_why():
    # 「書かない窓口」 had been × in a city that writes 窓口 and 書く, with no word named and no reason
    from reform_search.export import comparison_markdown
    from reform_search.output import NOT_ANSWERED, WORDS_HELD

    held = column("none")
    assert render.esc(WORDS_HELD) in render.column(held)
    named = replace(held, evidence=replace(held.evidence, absent=("議員",)))
    apart = replace(held, evidence=replace(held.evidence, apart=("ペーパーレス化",)))
    for quiet in (named, apart, column("weak"), column("strong")):
        assert render.esc(WORDS_HELD) not in render.column(quiet)
    assert render.esc(WORDS_HELD) not in render.column(held, english=True)  # it says it is less sure instead
    assert WORDS_HELD in comparison_markdown(Comparison("書かない窓口", (held,)))
    # a city that never writes a verb of the query (書く) is not said to write every word
    lacking = replace(held, evidence=replace(held.evidence, unwritten=True))
    assert render.esc(WORDS_HELD) not in render.column(lacking)
    assert render.esc(NOT_ANSWERED) in render.column(lacking)
    assert NOT_ANSWERED in comparison_markdown(Comparison("書かない窓口", (lacking,)))


def test_a_theme_without_a_content_word_is_named_above_the_matrix(shared_index):
    # a line of 「の」 or 「12345」 had been a silent row of × in the heatmap
    h = handlers_for(shared_index)
    shown = h.on_themes("電子決裁\nの\n12345", ["テスト市", "サンプル町"])[0]
    assert "「の」、「12345」：内容を表す語がないため" in shown and "No content word" in shown
    assert "内容を表す語がない" not in h.on_themes("電子決裁", ["テスト市", "サンプル町"])[0]


def test_a_link_is_read_as_its_tab_query_and_cities_and_never_refused():
    from starlette.datastructures import QueryParams

    from reform_search.web.link import MAX_LINK_VALUES, Link, read_link

    cities = (("テスト市", "Testshi"), ("サンプル町", "Samplecho"))

    def read(query: str) -> Link:
        return read_link(QueryParams(query), cities)

    assert read("") == Link() and not read("").asks
    assert read("q=%E9%9B%BB%E5%AD%90") == Link("compare", "電子", None)  # a query alone: compared
    assert read("tab=SEARCH&q=+a+&city=サンプル町,テスト市") == Link(
        "search", "a", ("サンプル町", "テスト市")
    )
    assert read("tab=themes&q=x").tab == "themes" and not read("tab=themes&q=x").asks  # themes take no q
    assert read("tab=nowhere") == Link()  # an unknown tab: the page as it opens
    assert read("q=x&city=廃止村&city=") == Link("compare", "x", None)  # no indexed city named: every one
    assert read("q=x&city=テスト市&city=テスト市").cities == ("テスト市",)
    # a city's alias, as the command line reads it (Testshi, テスト); it had been left out, silently
    assert read("q=x&city=testshi,サンプル").cities == ("テスト市", "サンプル町")
    assert read("q=x&city=テスト町").cities is None  # another kind of municipality: no alias
    assert read("q=x&tab=search&tab=compare").tab == "compare"  # the last of a repeated parameter
    # a hostile address: only the first MAX_LINK_VALUES values are read
    many = "&".join(["city=廃止村"] * MAX_LINK_VALUES + ["city=テスト市"])
    assert read(f"q=x&{many}").cities is None


def test_a_link_carries_each_control_and_one_out_of_range_keeps_its_first_value():
    # a copied link had reopened at the default 件数, mode and filters, not the page it was copied from
    from starlette.datastructures import QueryParams

    from reform_search.settings import Settings
    from reform_search.web.checks import MAX_SHOWN
    from reform_search.web.link import MAX_LINK_VALUES, Link, defaults, read_link
    from search.compare import MORE_TOP_K

    cities, docs, years = (("テスト市", "Testshi"),), ("memo", "plan"), (2023, 2024)

    def read(query: str) -> Link:
        return read_link(QueryParams(query), cities, docs, years)

    assert read("q=x&k=7") == Link("compare", "x", top_k=7)  # compare: 件数 alone
    assert read("q=x&k=7&mode=dense&doc=memo&year=2024") == Link("compare", "x", top_k=7)
    assert read("tab=search&q=x&k=40&mode=LEXICAL&doc=plan&doc=memo&year=R5,2024") == Link(
        "search", "x", None, 40, "lexical", ("plan", "memo"), (2023, 2024)
    )
    assert read(f"q=x&k={MORE_TOP_K}").top_k == MORE_TOP_K
    # out of range, not whole, not a number: the control's first value (None), as the slider bounds it
    for k in (0, -1, MORE_TOP_K + 1, "2.5", "abc", "", "nan", "inf", "1e400", "9" * 5000):
        assert read(f"q=x&k={k}").top_k is None, k
    assert read(f"tab=search&q=x&k={MAX_SHOWN}").top_k == MAX_SHOWN
    assert read(f"tab=search&q=x&k={MAX_SHOWN + 1}").top_k is None
    assert read("tab=search&q=x&k=5.0").top_k == 5  # as a hand may write it
    # an unknown mode, document or year is left out: every document, every year
    odd = read("tab=search&q=x&mode=bm25&doc=gone&doc=&year=1999&year=R99&year=abc&year=")
    assert odd == Link("search", "x")
    assert read("tab=search&q=x&doc=memo&doc=memo&year=2024,2024").docs == ("memo",)
    assert read("tab=search&q=x&mode=dense&mode=hybrid").mode == "hybrid"  # the last, as for tab
    # a hostile address: at most MAX_LINK_VALUES of each repeated parameter are read
    many = "&".join(["doc=gone"] * MAX_LINK_VALUES + ["doc=memo"] + ["year=1999"] * MAX_LINK_VALUES)
    assert read(f"tab=search&q=x&{many}&year=2024") == Link("search", "x")
    # the values a link sets, the first ones where it sets none
    first = defaults(Settings().override(mode="dense", top_k=500))
    assert first == {
        "compare": {"k": 3},
        "search": {"doc": [], "year": [], "mode": "dense", "k": MAX_SHOWN},
    }
    assert read("q=x").values(first["compare"]) == [3]
    linked = read("tab=search&q=x&k=4&year=2023")
    assert linked.values(first["search"]) == [[], [2023], "dense", 4]


def test_an_address_brought_back_sets_its_tab_even_when_it_asks_nothing(shared_index, searcher):
    # Back to the address the page opened at (no question) had left the later question on screen
    from reform_search.web.link import Link, opened

    app = ui.build_app(settings_for(shared_index), searcher)
    wired = {
        getattr(fn.fn, "__qualname__", "").rsplit(".", 1)[-1]: len(fn.outputs) for fn in app.fns.values()
    }
    h = handlers_for(shared_index)
    assert wired["on_link"] == wired["on_back"] == len(opened(h, Link()))
    untouched = opened(h, Link())
    assert untouched[-1] is None and all(isinstance(v, type(gr.skip())) for v in untouched[:-1])
    back = opened(h, Link(), restored=True)
    assert back[-1] == "compare" and back[1] == "" and "rs-hint" in back[4]  # the box emptied, the hint
    assert back[3] == 3  # 件数 at its first value
    # the search tab's box, cities, documents, years, mode and 件数, then its results; compare untouched
    search = opened(h, Link("search", "電子決裁", top_k=2, mode="lexical"), restored=True)
    assert search[-1] == "search" and all(isinstance(v, type(gr.skip())) for v in search[1:9])
    assert list(search[9:15]) == ["電子決裁", h.every_city(), [], [], "lexical", 2]
    assert "「電子決裁」: 2 件 / hits" in search[15]


def test_a_scripts_years_with_a_blank_entry_are_refused_and_cities_split_at_commas():
    from reform_search.web.checks import city_names, fiscal_years

    assert fiscal_years(["R6", 2023]) == [2024, 2023] and fiscal_years([]) is None
    for blank in ([""], ["2024", ""], [None]):  # [""] had meant every year, silently
        with pytest.raises(ValueError, match="blank entry"):
            fiscal_years(blank)
    assert city_names("会津若松市, いわき市") == ["会津若松市", "いわき市"]
    assert city_names(["会津若松市、いわき市", "郡山市"]) == ["会津若松市", "いわき市", "郡山市"]
    assert city_names(",") is None and city_names(None) is None
